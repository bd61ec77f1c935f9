package cim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Broker is the CIM object manager: it routes the intrinsic operations
// (GetInstance, EnumerateInstances, Associators, References, DeleteInstance,
// ModifyInstance) and extrinsic method calls (InvokeMethod) to the
// providers registered for each class, and answers requests that name a
// superclass polymorphically from the providers of its descendants.
//
// Providers are registered at startup with Register; the operations are
// safe for concurrent use, also with a concurrent Register. Every error a
// Broker returns is an *Error; a provider's error that is not one is wrapped
// with StatusFailed (the original stays reachable with errors.Is/As, so a
// context deadline can still be told apart).
type Broker struct {
	reg Registry
	log *slog.Logger

	mu        sync.RWMutex
	routes    []brokerRoute            // registration order: the order of polymorphic results
	byClass   map[string]brokerRoute   // brokerRouteKey(ns, class) -> brokerRoute
	nsNames   map[string]string        // lower-case namespace -> canonical spelling
	polyCache map[string][]brokerRoute // brokerRouteKey(ns, class) -> routes of class and descendants
	observer  ChangeObserver           // nil: none
}

// ChangeObserver is told of instance changes: the lifecycle indications'
// source (cim/indication.Publisher implements it). Its methods must not
// block, and must not modify the instances, which are the observer's to
// keep.
type ChangeObserver interface {
	Created(inst *Instance)
	Modified(prev, inst *Instance)
	Deleted(inst *Instance)
}

// Observe makes o the observer of the changes made through the Broker's
// intrinsic operations: ModifyInstance (Modified, with the instance as it
// was and as it is after the change) and DeleteInstance (Deleted, as it
// was). Changes providers make on their own (a job moving on) are theirs
// to report to the same observer.
func (b *Broker) Observe(o ChangeObserver) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.observer = o
}

func (b *Broker) changeObserver() ChangeObserver {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.observer
}

// brokerRoute is one (namespace, class) served by a provider.
type brokerRoute struct {
	ns    string // canonical namespace
	class *Class
	p     InstanceProvider
}

// NewBroker returns a Broker over the classes of reg with no providers.
// A nil logger discards logs.
func NewBroker(reg Registry, logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{
		reg:       reg,
		log:       logger,
		byClass:   make(map[string]brokerRoute),
		nsNames:   make(map[string]string),
		polyCache: make(map[string][]brokerRoute),
	}
}

// Registry returns the class registry the Broker was built over.
func (b *Broker) Registry() Registry { return b.reg }

// Register adds p as the provider of the classes it names. It panics when a
// class is unknown to the registry or already has a provider in that
// namespace: both are programming errors found at startup.
func (b *Broker) Register(p InstanceProvider) {
	refs := p.Classes()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ref := range refs {
		c, ok := b.reg.Class(ref.Class)
		if !ok {
			panic(fmt.Sprintf("cim: Broker.Register: provider %T names unknown class %q", p, ref.Class))
		}
		ns := brokerCanonicalNS(ref.Namespace)
		if ns == "" {
			panic(fmt.Sprintf("cim: Broker.Register: provider %T registers class %s without a namespace", p, c.Name))
		}
		if known, ok := b.nsNames[strings.ToLower(ns)]; ok {
			ns = known
		} else {
			b.nsNames[strings.ToLower(ns)] = ns
		}
		k := brokerRouteKey(ns, c.Name)
		if old, dup := b.byClass[k]; dup {
			panic(fmt.Sprintf("cim: Broker.Register: class %s in namespace %s registered by both %T and %T", c.Name, ns, old.p, p))
		}
		r := brokerRoute{ns: ns, class: c, p: p}
		b.byClass[k] = r
		b.routes = append(b.routes, r)
	}
	clear(b.polyCache)
}

// Namespaces returns the namespaces that have at least one provider, in the
// order they were first registered.
func (b *Broker) Namespaces() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []string
	seen := make(map[string]bool)
	for _, r := range b.routes {
		if !seen[r.ns] {
			seen[r.ns] = true
			out = append(out, r.ns)
		}
	}
	return out
}

// brokerCanonicalNS normalizes the spellings clients use for a namespace:
// Windows-style backslashes become slashes and surrounding slashes go.
func brokerCanonicalNS(ns string) string {
	if strings.IndexByte(ns, '\\') >= 0 {
		ns = strings.ReplaceAll(ns, "\\", "/")
	}
	return strings.Trim(ns, "/ ")
}

func brokerRouteKey(ns, class string) string {
	return strings.ToLower(ns) + ":" + strings.ToLower(class)
}

// resolve checks namespace and class of a request and returns their
// canonical forms: StatusInvalidNamespace for a namespace no provider
// lives in, StatusInvalidClass for a class the registry does not know.
func (b *Broker) resolve(ns, class string) (string, *Class, error) {
	canon := brokerCanonicalNS(ns)
	b.mu.RLock()
	known, ok := b.nsNames[strings.ToLower(canon)]
	b.mu.RUnlock()
	if !ok {
		return "", nil, Errorf(StatusInvalidNamespace, "invalid namespace %q", ns)
	}
	c, ok := b.reg.Class(class)
	if !ok {
		return "", nil, Errorf(StatusInvalidClass, "invalid class %q", class)
	}
	return known, c, nil
}

// polymorphic returns the routes of class and of every class deriving from
// it in namespace ns, in registration order. The result is cached and must
// not be modified.
func (b *Broker) polymorphic(ns, class string) []brokerRoute {
	k := brokerRouteKey(ns, class)
	b.mu.RLock()
	rs, ok := b.polyCache[k]
	b.mu.RUnlock()
	if ok {
		return rs
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if rs, ok := b.polyCache[k]; ok {
		return rs
	}
	rs = []brokerRoute{} // non-nil: cached "no provider" too
	for _, r := range b.routes {
		if strings.EqualFold(r.ns, ns) && b.reg.IsA(r.class.Name, class) {
			rs = append(rs, r)
		}
	}
	b.polyCache[k] = rs
	return rs
}

// exact returns the brokerRoute of class itself in namespace ns.
func (b *Broker) exact(ns, class string) (brokerRoute, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	r, ok := b.byClass[brokerRouteKey(ns, class)]
	return r, ok
}

// GetInstance returns the instance at path. A path naming a superclass
// (CIM_ConcreteJob for a VSMIG_MigrationJob, or CIM_ManagedElement) finds
// the instance among the providers of descendant classes, each asked with
// the same keys; when the keys include a CreationClassName that names such
// a class, its provider is asked first.
func (b *Broker) GetInstance(ctx context.Context, path ObjectPath) (*Instance, error) {
	ns, c, err := b.resolve(path.Namespace, path.ClassName)
	if err != nil {
		return nil, err
	}
	inst, _, err := b.getInstance(ctx, ns, c, path.Keys)
	return inst, err
}

// getInstance is GetInstance after resolve; it also returns the brokerRoute that
// served the instance.
func (b *Broker) getInstance(ctx context.Context, ns string, c *Class, keys []KeyBinding) (*Instance, brokerRoute, error) {
	rs := b.polymorphic(ns, c.Name)
	if hint := brokerCreationClass(keys); hint != "" && len(rs) > 1 {
		if h, ok := b.exact(ns, hint); ok && b.reg.IsA(h.class.Name, c.Name) {
			ordered := make([]brokerRoute, 0, len(rs))
			ordered = append(ordered, h)
			for _, r := range rs {
				if r.class != h.class {
					ordered = append(ordered, r)
				}
			}
			rs = ordered
		}
	}
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return nil, brokerRoute{}, brokerWrap(err, "get instance")
		}
		inst, err := r.p.GetInstance(ctx, ObjectPath{Namespace: ns, ClassName: r.class.Name, Keys: keys})
		if err != nil {
			if brokerIsStatus(err, StatusNotFound) {
				continue
			}
			return nil, brokerRoute{}, brokerWrap(err, "get instance of "+r.class.Name)
		}
		if inst == nil {
			continue
		}
		return inst, r, nil
	}
	return nil, brokerRoute{}, &Error{Status: StatusNotFound, Message: "no instance " + brokerDescribeKeys(c.Name, keys) + " in namespace " + ns}
}

func brokerCreationClass(keys []KeyBinding) string {
	for _, k := range keys {
		if strings.EqualFold(k.Name, "CreationClassName") {
			s, _ := k.Value.(string)
			return s
		}
	}
	return ""
}

func brokerDescribeKeys(class string, keys []KeyBinding) string {
	var sb strings.Builder
	sb.WriteString(class)
	for i, k := range keys {
		if i == 0 {
			sb.WriteByte('.')
		} else {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%s=%v", k.Name, k.Value)
	}
	return sb.String()
}

// EnumerateInstances returns the instances of class and of every class
// deriving from it in namespace ns: provider by provider in registration
// order, each provider's instances in the order it returned them. An error
// from any provider fails the whole enumeration.
func (b *Broker) EnumerateInstances(ctx context.Context, ns, class string) ([]*Instance, error) {
	ns, c, err := b.resolve(ns, class)
	if err != nil {
		return nil, err
	}
	return b.enumerate(ctx, ns, c.Name)
}

func (b *Broker) enumerate(ctx context.Context, ns, class string) ([]*Instance, error) {
	var out []*Instance
	for _, r := range b.polymorphic(ns, class) {
		if err := ctx.Err(); err != nil {
			return nil, brokerWrap(err, "enumerate instances")
		}
		insts, err := r.p.EnumerateInstances(ctx, ns, r.class.Name)
		if err != nil {
			return nil, brokerWrap(err, "enumerate instances of "+r.class.Name)
		}
		for _, inst := range insts {
			if inst != nil {
				out = append(out, inst)
			}
		}
	}
	return out, nil
}

// DeleteInstance deletes the instance at path through the provider of its
// class: StatusNotSupported when that provider cannot delete.
func (b *Broker) DeleteInstance(ctx context.Context, path ObjectPath) error {
	ns, c, err := b.resolve(path.Namespace, path.ClassName)
	if err != nil {
		return err
	}
	inst, r, err := b.getInstance(ctx, ns, c, path.Keys)
	if err != nil {
		return err
	}
	d, ok := r.p.(InstanceDeleter)
	if !ok {
		return Errorf(StatusNotSupported, "instances of %s cannot be deleted", r.class.Name)
	}
	if err := d.DeleteInstance(ctx, brokerInstancePath(inst, ns)); err != nil {
		return brokerWrap(err, "delete instance of "+r.class.Name)
	}
	if o := b.changeObserver(); o != nil {
		o.Deleted(inst.Clone())
	}
	return nil
}

// ModifyInstance changes the existing instance that inst names (by its
// class and keys) through the provider of the instance's class; only the
// non-nil properties of inst are changed. inst may be of a superclass of
// the stored instance (a Put on a CIM_ResourceURI); it is handed to the
// provider as an instance of the stored instance's class.
func (b *Broker) ModifyInstance(ctx context.Context, inst *Instance) error {
	if inst == nil || inst.Class == nil {
		return Errorf(StatusInvalidParameter, "no instance to modify")
	}
	ns, c, err := b.resolve(inst.Namespace, inst.Class.Name)
	if err != nil {
		return err
	}
	cur, r, err := b.getInstance(ctx, ns, c, inst.Path().Keys)
	if err != nil {
		return err
	}
	m, ok := r.p.(InstanceModifier)
	if !ok {
		return Errorf(StatusNotSupported, "instances of %s cannot be modified", r.class.Name)
	}
	mod := inst
	if cur.Class != inst.Class || inst.Namespace != ns {
		mod = &Instance{Class: cur.Class, Namespace: ns, values: make(map[string]any, len(inst.values))}
		for name, v := range inst.values {
			p := cur.Class.Property(name)
			if p == nil {
				return Errorf(StatusNoSuchProperty, "no property %s in class %s", name, cur.Class.Name)
			}
			mod.values[p.Name] = v
		}
	}
	o := b.changeObserver()
	var prev *Instance
	if o != nil {
		prev = cur.Clone() // a provider may hand out the instance it then changes
	}
	if err := m.ModifyInstance(ctx, mod); err != nil {
		return brokerWrap(err, "modify instance of "+r.class.Name)
	}
	if o != nil {
		if now, err := r.p.GetInstance(ctx, brokerInstancePath(cur, ns)); err == nil && now != nil {
			o.Modified(prev, now.Clone())
		}
	}
	return nil
}

// brokerInstancePath is inst's object path, in namespace ns when the instance
// does not say.
func brokerInstancePath(inst *Instance, ns string) ObjectPath {
	p := inst.Path()
	if p.Namespace == "" {
		p.Namespace = ns
	}
	return p
}

// brokerWrap returns err as an *Error: unchanged if it is one, else with
// StatusFailed and err as the cause.
func brokerWrap(err error, what string) error {
	if ce, ok := err.(*Error); ok {
		return ce
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	return &Error{Status: StatusFailed, Message: what + " failed", Err: err}
}

// brokerIsStatus reports whether err is an *Error with status s.
func brokerIsStatus(err error, s Status) bool {
	var ce *Error
	return errors.As(err, &ce) && ce.Status == s
}
