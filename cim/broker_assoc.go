package cim

import (
	"context"
	"strings"
)

// Associations are served like any other class (see InstanceProvider): the
// Broker answers Associators and References generically, by enumerating the
// association instances and following the reference properties that point
// at the source object. This keeps providers of associations trivial (they
// only list their instances) at the cost of one enumeration per request,
// which is cheap at the scale of one host's model.

// References returns the association instances that refer to the object at
// path (CIM References, WS-Man AssociationInstances): every instance of an
// association class (of resultClass and its subclasses when resultClass is
// set) in any namespace with a reference property (named role, when role is
// set) whose value names the object. A reference without a namespace is
// taken to be in its association's namespace. The object must exist.
func (b *Broker) References(ctx context.Context, path ObjectPath, resultClass, role string) ([]*Instance, error) {
	src, err := b.associationSource(ctx, path)
	if err != nil {
		return nil, err
	}
	assocs, err := b.associationInstances(ctx, resultClass)
	if err != nil {
		return nil, err
	}
	var out []*Instance
	for _, a := range assocs {
		if len(b.sourceRoles(a, src, role)) > 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// Associators returns the objects associated with the object at path (CIM
// Associators, WS-Man AssociatedInstances): for every association instance
// (of assocClass and its subclasses when set) that refers to the object
// through a reference property named role (any, when empty), the objects
// named by its other reference properties (named resultRole, when set)
// whose class is resultClass or a subclass (any, when empty). Each object
// is returned once, in the order first reached; references to objects that
// no longer exist are skipped.
func (b *Broker) Associators(ctx context.Context, path ObjectPath, assocClass, resultClass, role, resultRole string) ([]*Instance, error) {
	src, err := b.associationSource(ctx, path)
	if err != nil {
		return nil, err
	}
	var result *Class
	if resultClass != "" {
		c, ok := b.reg.Class(resultClass)
		if !ok {
			return nil, Errorf(StatusInvalidParameter, "invalid result class %q", resultClass)
		}
		result = c
	}
	assocs, err := b.associationInstances(ctx, assocClass)
	if err != nil {
		return nil, err
	}
	var out []*Instance
	var seen []ObjectPath
	for _, a := range assocs {
		roles := b.sourceRoles(a, src, role)
		if len(roles) == 0 {
			continue
		}
		for _, p := range a.Class.Properties {
			if p.Type != Reference || p.Array || brokerContainsProp(roles, p) {
				continue
			}
			if resultRole != "" && !strings.EqualFold(p.Name, resultRole) {
				continue
			}
			ref, ok := a.values[p.Name].(ObjectPath)
			if !ok {
				continue
			}
			if ref.Namespace == "" {
				ref.Namespace = a.Namespace
			}
			if result != nil && !b.reg.IsA(ref.ClassName, result.Name) && !b.reg.IsA(result.Name, ref.ClassName) {
				continue // cannot be of the result class: skip the lookup
			}
			inst, err := b.GetInstance(ctx, ref)
			if err != nil {
				if brokerIsStatus(err, StatusNotFound) || brokerIsStatus(err, StatusInvalidClass) || brokerIsStatus(err, StatusInvalidNamespace) {
					b.log.DebugContext(ctx, "association refers to a missing object",
						"association", a.Class.Name, "role", p.Name, "ref", brokerDescribeKeys(ref.ClassName, ref.Keys))
					continue
				}
				return nil, err
			}
			if result != nil && !b.reg.IsA(inst.Class.Name, result.Name) {
				continue
			}
			ip := brokerInstancePath(inst, ref.Namespace)
			if brokerContainsPath(seen, ip) {
				continue
			}
			seen = append(seen, ip)
			out = append(out, inst)
		}
	}
	return out, nil
}

// associationSource resolves the source object of Associators and
// References to the path of the stored instance, so that a request naming
// a superclass still matches references that name the actual class.
func (b *Broker) associationSource(ctx context.Context, path ObjectPath) (ObjectPath, error) {
	ns, c, err := b.resolve(path.Namespace, path.ClassName)
	if err != nil {
		return ObjectPath{}, err
	}
	inst, _, err := b.getInstance(ctx, ns, c, path.Keys)
	if err != nil {
		return ObjectPath{}, err
	}
	return brokerInstancePath(inst, ns), nil
}

// associationInstances enumerates, in every namespace, the instances of the
// association classes that are class or derive from it (all association
// classes when class is empty).
func (b *Broker) associationInstances(ctx context.Context, class string) ([]*Instance, error) {
	if class != "" {
		c, ok := b.reg.Class(class)
		if !ok {
			return nil, Errorf(StatusInvalidParameter, "invalid association class %q", class)
		}
		if !brokerIsAssociation(c) {
			return nil, Errorf(StatusInvalidParameter, "class %s is not an association", c.Name)
		}
		class = c.Name
	}
	b.mu.RLock()
	var rs []brokerRoute
	for _, r := range b.routes {
		if !brokerIsAssociation(r.class) {
			continue
		}
		if class != "" && !b.reg.IsA(r.class.Name, class) {
			continue
		}
		rs = append(rs, r)
	}
	b.mu.RUnlock()

	var out []*Instance
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return nil, brokerWrap(err, "enumerate associations")
		}
		insts, err := r.p.EnumerateInstances(ctx, r.ns, r.class.Name)
		if err != nil {
			return nil, brokerWrap(err, "enumerate instances of "+r.class.Name)
		}
		for _, inst := range insts {
			if inst == nil {
				continue
			}
			if inst.Namespace == "" {
				inst = &Instance{Class: inst.Class, Namespace: r.ns, values: inst.values}
			}
			out = append(out, inst)
		}
	}
	return out, nil
}

// sourceRoles returns the reference properties of association instance a
// (named role, when set) whose value names the object at src.
func (b *Broker) sourceRoles(a *Instance, src ObjectPath, role string) []*Property {
	var roles []*Property
	for _, p := range a.Class.Properties {
		if p.Type != Reference || p.Array {
			continue
		}
		if role != "" && !strings.EqualFold(p.Name, role) {
			continue
		}
		ref, ok := a.values[p.Name].(ObjectPath)
		if ok && b.refersTo(ref, a.Namespace, src) {
			roles = append(roles, p)
		}
	}
	return roles
}

// refersTo reports whether reference ref, held by an association in
// namespace assocNS, names the instance at target (a resolved path: actual
// class, canonical namespace). The reference may name the class of the
// instance or one of its superclasses.
func (b *Broker) refersTo(ref ObjectPath, assocNS string, target ObjectPath) bool {
	ns := ref.Namespace
	if ns == "" {
		ns = assocNS
	}
	if !strings.EqualFold(brokerCanonicalNS(ns), brokerCanonicalNS(target.Namespace)) {
		return false
	}
	if !strings.EqualFold(ref.ClassName, target.ClassName) && !b.reg.IsA(target.ClassName, ref.ClassName) {
		return false
	}
	ref.Namespace, ref.ClassName = target.Namespace, target.ClassName
	return ref.Equal(target)
}

// brokerIsAssociation reports whether c is an association class. Besides
// the Association qualifier it accepts any class with a scalar reference
// property, which DSP0004 allows only in associations.
func brokerIsAssociation(c *Class) bool {
	if c.Association {
		return true
	}
	for _, p := range c.Properties {
		if p.Type == Reference && !p.Array {
			return true
		}
	}
	return false
}

func brokerContainsProp(ps []*Property, p *Property) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func brokerContainsPath(ps []ObjectPath, p ObjectPath) bool {
	for _, q := range ps {
		if q.Equal(p) {
			return true
		}
	}
	return false
}
