package wsbind

import (
	"context"
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wql"
)

// Enumerate serves WS-Enumeration Enumerate on a class ResourceURI
// (DSP0227 §8): all instances of the class and its subclasses, or those a
// filter selects. With an association or WQL filter the ResourceURI's
// class does not restrict the result (the filter names the classes), as in
// openwsman.
func (r classResource) Enumerate(ctx context.Context, req *wsman.EnumerateRequest) ([]wsman.Item, error) {
	ctx = withRequester(ctx, req.Request)
	ci, err := r.requestClass(req.ResourceURI)
	if err != nil {
		return nil, err
	}
	ns := r.requestNamespace(req.Request)
	if req.Filter == nil {
		insts, err := r.b.EnumerateInstances(ctx, ns, ci.class.Name)
		if err != nil {
			return nil, r.toFault(ctx, err)
		}
		return r.items(req, r.polymorphic(req, ci, insts), nil, ns), nil
	}
	if req.Filter.Dialect == wsman.DialectSelector {
		return r.selectorFilter(ctx, req, ci, ns)
	}
	if req.Polymorphism != wsman.IncludeSubClassProperties {
		return nil, polymorphismWithFilter()
	}
	return r.enumerateFiltered(ctx, req, ns)
}

// polymorphic applies the request's wsmb:PolymorphismMode (DSP0227 §9.3)
// to the instances of class ci and its subclasses: None keeps the
// instances of ci itself, ExcludeSubClassProperties writes each as an
// instance of ci (its properties only; the EPR still names the actual
// class), IncludeSubClassProperties (the default) keeps them as they are.
func (r *binding) polymorphic(req *wsman.EnumerateRequest, ci *classInfo, insts []*cim.Instance) []*cim.Instance {
	switch req.Polymorphism {
	case wsman.PolymorphismNone:
		kept := insts[:0:0]
		for _, inst := range insts {
			if inst.Class == ci.class || strings.EqualFold(inst.Class.Name, ci.class.Name) {
				kept = append(kept, inst)
			}
		}
		return kept
	case wsman.ExcludeSubClassProperties:
		out := make([]*cim.Instance, len(insts))
		for i, inst := range insts {
			out[i] = asClass(inst, ci.class)
		}
		return out
	}
	return insts
}

// asClass returns inst seen as an instance of its superclass c: c's
// properties only. The key values are those of inst, so the EPR written
// for it (instanceEPR) still names the instance.
func asClass(inst *cim.Instance, c *cim.Class) *cim.Instance {
	if inst.Class == c {
		return inst
	}
	out := cim.NewInstance(c, inst.Namespace)
	for _, p := range c.Properties {
		if v, ok := inst.Get(p.Name); ok && v != nil {
			out.Set(p.Name, v)
		}
	}
	return out
}

// polymorphismWithFilter refuses a PolymorphismMode other than the default
// with an association or WQL filter: the filter, not the ResourceURI's
// class, decides the classes of the result (DSP0227 §9.3).
func polymorphismWithFilter() error {
	return wsman.NewFault(wsman.SubcodePolymorphismModeNotSupported, "",
		"wsmb:PolymorphismMode None and ExcludeSubClassProperties apply to enumerations without a filter or with a selector filter; the association and WQL filters name their own classes.")
}

// Enumerate serves WS-Enumeration Enumerate on wscim.AllClassesURI. It
// needs an association or WQL filter: without one the answer is
// wsman:UnsupportedFeature with detail FilteringRequired (DSP0227 §8,
// openwsman); a selector filter is wsen:CannotProcessFilter, as selectors
// mean nothing without a class.
func (r allClassesResource) Enumerate(ctx context.Context, req *wsman.EnumerateRequest) ([]wsman.Item, error) {
	ctx = withRequester(ctx, req.Request)
	if req.Filter == nil {
		return nil, wsman.NewFault(wsman.SubcodeUnsupportedFeature, wsman.DetailFilteringRequired,
			"Enumerating all classes requires an association or WQL filter.")
	}
	if req.Filter.Dialect == wsman.DialectSelector {
		return nil, cannotProcessFilter("A selector filter needs the ResourceURI of a class.")
	}
	if req.Polymorphism != wsman.IncludeSubClassProperties {
		return nil, polymorphismWithFilter()
	}
	return r.enumerateFiltered(ctx, req, r.requestNamespace(req.Request))
}

// requestNamespace is the request's __cimnamespace, or the default.
func (r *binding) requestNamespace(req *wsman.Request) string {
	if ns := req.Selectors.Namespace(); ns != "" {
		return ns
	}
	return r.defNS
}

// enumerateFiltered serves the association and WQL dialects.
func (r *binding) enumerateFiltered(ctx context.Context, req *wsman.EnumerateRequest, ns string) ([]wsman.Item, error) {
	switch f := req.Filter; {
	case f.Association != nil:
		return r.associationFilter(ctx, req, f.Association, ns)
	case f.WQL != nil:
		return r.wqlFilter(ctx, req, f.WQL, ns)
	}
	return nil, cannotProcessFilter("The filter dialect " + req.Filter.Dialect + " is not supported for CIM resources.")
}

// items turns instances into enumeration items: the WS-CIM object (limited
// to include, when non-nil) unless only EPRs were asked for, and the EPR
// unless only objects were.
func (r *binding) items(req *wsman.EnumerateRequest, insts []*cim.Instance, include []string, ns string) []wsman.Item {
	opt := encodeOptions(req.Request)
	opt.IncludeProperties = include
	items := make([]wsman.Item, len(insts))
	for i, inst := range insts {
		if req.Mode != wsman.EnumerateEPR {
			items[i].Object = r.encode(inst, opt)
		}
		if req.Mode != wsman.EnumerateObjects {
			items[i].EPR = r.instanceEPR(inst, ns)
		}
	}
	return items
}

// selectorFilter serves the DSP0226 Annex E SelectorFilter: the instances
// of the class whose properties equal every selector (names
// case-insensitive, values converted to the property types; a
// __cimnamespace selector picks the namespace).
func (r classResource) selectorFilter(ctx context.Context, req *wsman.EnumerateRequest, ci *classInfo, ns string) ([]wsman.Item, error) {
	sels := req.Filter.Selectors
	if v := sels.Namespace(); v != "" {
		ns = v
	}
	type cond struct {
		prop *cim.Property
		want any
	}
	conds := make([]cond, 0, len(sels))
	for _, s := range sels {
		if strings.EqualFold(s.Name, wsman.SelectorNamespace) {
			continue
		}
		p := ci.class.Property(s.Name)
		if p == nil {
			return nil, cannotProcessFilter(fmt.Sprintf("Class %s has no property %s.", ci.class.Name, s.Name))
		}
		if p.Array {
			return nil, cannotProcessFilter(fmt.Sprintf("Selector filters cannot test array property %s.", p.Name))
		}
		v, err := r.selectorValue(p.Type, s, ns)
		if err != nil {
			return nil, cannotProcessFilter(fmt.Sprintf("The value of selector %s is not a valid %s: %v", p.Name, p.Type, err))
		}
		conds = append(conds, cond{p, v})
	}
	insts, err := r.b.EnumerateInstances(ctx, ns, ci.class.Name)
	if err != nil {
		return nil, r.toFault(ctx, err)
	}
	kept := insts[:0:0]
	for _, inst := range insts {
		ok := true
		for _, c := range conds {
			v, _ := inst.Get(c.prop.Name)
			if !valueMatches(v, c.want) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, inst)
		}
	}
	return r.items(req, r.polymorphic(req, ci, kept), nil, ns), nil
}

// valueMatches compares a property value with a selector value; an object
// path matches as ObjectPath.Equal says (an unqualified reference matches
// in any namespace).
func valueMatches(v, want any) bool {
	if p, ok := v.(cim.ObjectPath); ok {
		w, ok := want.(cim.ObjectPath)
		return ok && p.Equal(w)
	}
	return cim.ValuesEqual(v, want)
}

// associationFilter serves the DSP0227 §8.2 association filter: CIM
// Associators for AssociatedInstances, References for AssociationInstances,
// with the result limited to IncludeResultProperty when given.
func (r *binding) associationFilter(ctx context.Context, req *wsman.EnumerateRequest, af *wsman.AssociationFilter, ns string) ([]wsman.Item, error) {
	src, err := r.eprPath(&af.Object, ns)
	if err != nil {
		msg := err.Error()
		if ke, ok := cim.AsKeyError(err); ok {
			msg = ke.Error()
		}
		return nil, cannotProcessFilter("The association filter's object is not valid: " + strings.TrimPrefix(msg, "cim: ") + ".")
	}
	assoc, result := af.AssociationClassName, af.ResultClassName
	if af.Kind == wsman.AssociationInstances && result != "" {
		// References: ResultClassName is the association class.
		if assoc != "" && !r.reg.IsA(result, assoc) {
			if !r.reg.IsA(assoc, result) {
				return nil, nil // no association is of both classes
			}
			result = assoc
		}
		assoc, result = result, ""
	}
	for _, name := range []string{assoc, result} {
		if name == "" {
			continue
		}
		if _, known := r.reg.Class(name); !known {
			if !wellFormedClassName(name) {
				return nil, cannotProcessFilter("The association filter names " + name + ", which is not a CIM class name.")
			}
			// A class of the CIM schema (or a vendor's) this service does
			// not model: no instance of it exists here (DSP0227 §8.2).
			return nil, nil
		}
	}
	var insts []*cim.Instance
	if af.Kind == wsman.AssociationInstances {
		insts, err = r.b.References(ctx, src, assoc, af.Role)
	} else {
		insts, err = r.b.Associators(ctx, src, assoc, result, af.Role, af.ResultRole)
	}
	if err != nil {
		return nil, r.filterFault(ctx, err)
	}
	var include []string
	if len(af.IncludeResultProperty) > 0 {
		include = af.IncludeResultProperty
	}
	return r.items(req, insts, include, ns), nil
}

// wellFormedClassName reports whether name has the form of a CIM class
// name, schema_Name (DSP0004 §5.1.2.2), such as CIM_SystemDevice.
func wellFormedClassName(name string) bool {
	schema, rest, ok := strings.Cut(name, "_")
	if !ok || schema == "" || rest == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// wqlFilter serves the WQL dialect: the FROM class enumerated
// polymorphically, the WHERE condition evaluated on each instance, the
// SELECT list projected with the key properties always kept (a result
// without keys could not be addressed). Properties the FROM class does not
// have, and comparisons of incompatible types, are wsen:CannotProcessFilter.
// The pseudo-property __CLASS is the instance's class (for ISA and =).
func (r *binding) wqlFilter(ctx context.Context, req *wsman.EnumerateRequest, q *wql.Query, ns string) ([]wsman.Item, error) {
	ci, ok := r.class(q.Class)
	if !ok {
		return nil, cannotProcessFilter("The class " + q.Class + " in the WQL query does not exist.")
	}
	var include []string
	if q.Properties != nil {
		include = append(include, ci.keyNames...)
		for _, name := range q.Properties {
			if ci.class.Property(name) == nil {
				return nil, cannotProcessFilter(fmt.Sprintf("Class %s has no property %s.", ci.class.Name, name))
			}
			include = append(include, name)
		}
	}
	for _, name := range q.WhereProperties() {
		if ci.class.Property(name) == nil && !strings.EqualFold(name, "__CLASS") {
			return nil, cannotProcessFilter(fmt.Sprintf("Class %s has no property %s.", ci.class.Name, name))
		}
	}
	insts, err := r.b.EnumerateInstances(ctx, ns, ci.class.Name)
	if err != nil {
		return nil, r.filterFault(ctx, err)
	}
	kept := insts[:0:0]
	for _, inst := range insts {
		ok, err := q.Match(func(name string) (any, bool) {
			if strings.EqualFold(name, "__CLASS") {
				return classOf{r.reg, inst.Class.Name}, true
			}
			return inst.Get(name)
		})
		if err != nil { // wql.ErrTypeMismatch, wql.ErrUnknownProperty
			f := wsman.NewFault(wsman.SubcodeCannotProcessFilter, "", "The WQL condition cannot be evaluated: "+err.Error())
			f.Err = err
			return nil, f
		}
		if ok {
			kept = append(kept, inst)
		}
	}
	return r.items(req, kept, include, ns), nil
}

// classOf is the value of the WQL pseudo-property __CLASS.
type classOf struct {
	reg  cim.Registry
	name string
}

func (c classOf) IsA(ancestor string) bool { return c.reg.IsA(c.name, ancestor) }
func (c classOf) String() string           { return c.name }
