package wsbind

import (
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman"
)

// Conversions between the WS-Man addressing of an instance (ResourceURI +
// SelectorSet + __cimnamespace, DSP0227 §6-7) and cim.ObjectPath.

// requestPath returns the object path a Get, Put, Delete or Invoke
// addresses: the class of the ResourceURI, the namespace of the
// __cimnamespace selector (the default namespace when absent) and the keys
// of the other selectors, checked against the class keys
// (wsman:InvalidSelectors: DuplicateSelectors, InsufficientSelectors,
// UnexpectedSelectors, or TypeMismatch when a value does not convert).
func (r *binding) requestPath(ci *classInfo, sel wsman.SelectorSet) (cim.ObjectPath, error) {
	ns := sel.Namespace()
	if ns == "" {
		ns = r.defNS
	}
	kc := ci
	if len(ci.keys) == 0 {
		// A keyless (abstract) superclass such as CIM_ManagedElement:
		// the CreationClassName selector names the class whose keys apply.
		if ccn := sel.Value("CreationClassName"); ccn != "" {
			if sub, ok := r.class(ccn); ok && r.reg.IsA(sub.class.Name, ci.class.Name) {
				kc = sub
			}
		}
	}
	if err := sel.Check(kc.keyNames); err != nil {
		return cim.ObjectPath{}, err
	}
	path := cim.ObjectPath{Namespace: ns, ClassName: ci.class.Name, Keys: make([]cim.KeyBinding, 0, len(kc.keys))}
	for _, p := range kc.keys {
		s, _ := sel.Get(p.Name)
		v, err := r.selectorValue(p.Type, s, ns)
		if err != nil {
			return cim.ObjectPath{}, invalidSelectors(wsman.DetailTypeMismatch,
				fmt.Sprintf("The value of selector %s is not a valid %s: %v", p.Name, p.Type, err))
		}
		path.Keys = append(path.Keys, cim.KeyBinding{Name: p.Name, Value: v})
	}
	if err := cim.CheckPath(r.reg, path); err != nil {
		return cim.ObjectPath{}, selectorFault(err)
	}
	return path, nil
}

// selectorFault maps the cim.CheckPath error of a request's selectors to
// wsman:InvalidSelectors with the DSP0226 detail of the problem.
func selectorFault(err error) error {
	ke, ok := cim.AsKeyError(err)
	if !ok {
		return err
	}
	detail := map[cim.KeyProblem]string{
		cim.MissingKey:         wsman.DetailInsufficientSelectors,
		cim.UnexpectedKey:      wsman.DetailUnexpectedSelectors,
		cim.DuplicateKey:       wsman.DetailDuplicateSelectors,
		cim.KeyTypeMismatch:    wsman.DetailTypeMismatch,
		cim.WrongCreationClass: wsman.DetailInvalidValue,
	}[ke.Problem]
	f := wsman.NewFault(wsman.SubcodeInvalidSelectors, detail, "The selectors for the resource are not valid: "+strings.TrimPrefix(ke.Error(), "cim: ")+".")
	f.Err = err
	return f
}

// selectorValue converts one selector to a key value of type t. A
// reference key is a nested EPR (or, leniently, an object path in text).
func (r *binding) selectorValue(t cim.Type, s wsman.Selector, ns string) (any, error) {
	if t == cim.Reference {
		if s.EPR != nil {
			return r.eprPath(s.EPR, ns)
		}
		return cim.ParseObjectPath(s.Value)
	}
	if s.EPR != nil {
		return nil, fmt.Errorf("an endpoint reference is not a %s", t)
	}
	return cim.ParseValue(t, s.Value)
}

// eprPath converts an endpoint reference (a REF argument, a reference key,
// the object of an association filter) to an object path. The namespace
// is the EPR's __cimnamespace, else defNS. Selectors that name key
// properties of the class are converted to the key types; the path is then
// checked by cim.CheckPath, the one key validation of every EPR: a missing
// key, a selector that is not a key, or a CreationClassName of an
// unrelated class is an error (a *cim.Error around a *cim.KeyError).
func (r *binding) eprPath(epr *wsman.EPR, defNS string) (cim.ObjectPath, error) {
	name, ok := wscim.ClassName(epr.ResourceURI)
	if !ok {
		return cim.ObjectPath{}, fmt.Errorf("ResourceURI %q does not name a CIM class", epr.ResourceURI)
	}
	ci, ok := r.class(name)
	if !ok {
		return cim.ObjectPath{}, fmt.Errorf("no class %s", name)
	}
	ns := epr.Selectors.Namespace()
	if ns == "" {
		ns = defNS
	}
	path := cim.ObjectPath{Namespace: ns, ClassName: ci.class.Name}
	for _, s := range epr.Selectors {
		if strings.EqualFold(s.Name, wsman.SelectorNamespace) {
			continue
		}
		p := ci.class.Property(s.Name)
		if p == nil || !p.Key && s.EPR == nil {
			path.Keys = append(path.Keys, cim.KeyBinding{Name: s.Name, Value: s.Value})
			continue
		}
		v, err := r.selectorValue(p.Type, s, ns)
		if err != nil {
			return cim.ObjectPath{}, fmt.Errorf("selector %s: %w", s.Name, err)
		}
		path.Keys = append(path.Keys, cim.KeyBinding{Name: p.Name, Value: v})
	}
	if err := cim.CheckPath(r.reg, path); err != nil {
		return cim.ObjectPath{}, err
	}
	return path, nil
}

// pathEPR returns the endpoint reference of the instance at path: the
// ResourceURI of its class, one selector per key (reference keys as nested
// EPRs) and __cimnamespace when the path has a namespace.
func (r *binding) pathEPR(path cim.ObjectPath) *wsman.EPR {
	epr := &wsman.EPR{
		Address:     wsman.AddressAnonymous,
		ResourceURI: r.resourceURI(path.ClassName),
		Selectors:   make(wsman.SelectorSet, 0, len(path.Keys)+1),
	}
	for _, k := range path.Keys {
		s := wsman.Selector{Name: k.Name}
		if ref, ok := k.Value.(cim.ObjectPath); ok {
			if ref.Namespace == "" {
				ref.Namespace = path.Namespace
			}
			s.EPR = r.pathEPR(ref)
		} else {
			s.Value = cim.FormatValue(k.Value)
		}
		epr.Selectors = append(epr.Selectors, s)
	}
	if path.Namespace != "" {
		epr.Selectors = append(epr.Selectors, wsman.Selector{Name: wsman.SelectorNamespace, Value: path.Namespace})
	}
	return epr
}

// instanceEPR is pathEPR(instancePath(inst, ns)) without building the
// path: enumerations call it once per instance.
func (r *binding) instanceEPR(inst *cim.Instance, ns string) *wsman.EPR {
	ci, ok := r.class(inst.Class.Name)
	if !ok || inst.Class != ci.class {
		return r.pathEPR(instancePath(inst, ns))
	}
	if inst.Namespace != "" {
		ns = inst.Namespace
	}
	epr := &wsman.EPR{
		Address:     wsman.AddressAnonymous,
		ResourceURI: ci.uri,
		Selectors:   make(wsman.SelectorSet, 0, len(ci.keys)+1),
	}
	for p, v := range inst.Properties() {
		if !p.Key {
			continue
		}
		s := wsman.Selector{Name: p.Name}
		if ref, ok := v.(cim.ObjectPath); ok {
			if ref.Namespace == "" {
				ref.Namespace = ns
			}
			s.EPR = r.pathEPR(ref)
		} else {
			s.Value = cim.FormatValue(v)
		}
		epr.Selectors = append(epr.Selectors, s)
	}
	if ns != "" {
		epr.Selectors = append(epr.Selectors, wsman.Selector{Name: wsman.SelectorNamespace, Value: ns})
	}
	return epr
}

// instancePath is the path of inst, in ns when the instance has none.
func instancePath(inst *cim.Instance, ns string) cim.ObjectPath {
	p := inst.Path()
	if p.Namespace == "" {
		p.Namespace = ns
	}
	return p
}
