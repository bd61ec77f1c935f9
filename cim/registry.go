package cim

import (
	"fmt"
	"slices"
	"strings"
)

// restrictedQualifiers are the DSP0004 qualifiers with the Restricted
// flavor: they apply to the element that carries them and are not
// inherited by subclasses or overriding members. All other qualifiers
// (Key, ValueMap, Values, EmbeddedInstance, Description, Units, IN, OUT,
// Association, ...) propagate (ToSubclass) unless overridden.
var restrictedQualifiers = []string{"Abstract", "Override", "Version", "Experimental", "Terminal", "Deprecated", "UMLPackagePath"}

func isRestricted(name string) bool {
	for _, r := range restrictedQualifiers {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// registry is the immutable Registry built by NewRegistry.
type registry struct {
	byName   map[string]*Class // lower-case name -> class
	sorted   []*Class
	children map[string][]*Class // lower-case name -> direct subclasses
}

// NewRegistry resolves classes (each holding only the members it declares,
// as cim/mof parses them) into a Registry: every class gets its
// superclass's properties and methods first, in the superclass's order,
// with overriding declarations (same name, case-insensitive) taking the
// inherited member's place; non-restricted qualifiers of the overridden
// member are inherited when the override does not restate them, the Key,
// ValueMap, Values and EmbeddedInstance of a member are inherited, and
// ClassOrigin names the class that first declared the member. Class-level
// qualifiers other than restricted ones (Abstract, Version, ...) are
// inherited too, so a subclass of an association is an association.
//
// The inputs are not modified. NewRegistry fails on a duplicate class name,
// an unknown superclass, or an inheritance cycle.
func NewRegistry(classes ...*Class) (Registry, error) {
	decl := make(map[string]*Class, len(classes))
	for _, c := range classes {
		if c == nil || !validName(c.Name) {
			return nil, fmt.Errorf("cim: invalid class name %q", nameOf(c))
		}
		k := strings.ToLower(c.Name)
		if _, dup := decl[k]; dup {
			return nil, fmt.Errorf("cim: duplicate class %s", c.Name)
		}
		decl[k] = c
	}
	r := &registry{byName: make(map[string]*Class, len(classes)), children: make(map[string][]*Class)}
	state := make(map[string]int) // 1 resolving, 2 done
	var resolve func(c *Class, chain []string) (*Class, error)
	resolve = func(c *Class, chain []string) (*Class, error) {
		k := strings.ToLower(c.Name)
		switch state[k] {
		case 2:
			return r.byName[k], nil
		case 1:
			return nil, fmt.Errorf("cim: inheritance cycle %s -> %s", strings.Join(chain, " -> "), c.Name)
		}
		state[k] = 1
		var super *Class
		if c.SuperClass != "" {
			sd, ok := decl[strings.ToLower(c.SuperClass)]
			if !ok {
				return nil, fmt.Errorf("cim: class %s: unknown superclass %s", c.Name, c.SuperClass)
			}
			var err error
			if super, err = resolve(sd, append(chain, c.Name)); err != nil {
				return nil, err
			}
		}
		rc, err := derive(super, c)
		if err != nil {
			return nil, err
		}
		state[k] = 2
		r.byName[k] = rc
		if super != nil {
			sk := strings.ToLower(super.Name)
			r.children[sk] = append(r.children[sk], rc)
		}
		return rc, nil
	}
	for _, c := range classes {
		if _, err := resolve(c, nil); err != nil {
			return nil, err
		}
	}
	for _, c := range r.byName {
		r.sorted = append(r.sorted, c)
	}
	byName := func(a, b *Class) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }
	slices.SortFunc(r.sorted, byName)
	for _, ch := range r.children {
		slices.SortFunc(ch, byName)
	}
	return r, nil
}

// MustNewRegistry is NewRegistry for classes defined in code: it panics on
// error, which is a programming error found at startup.
func MustNewRegistry(classes ...*Class) Registry {
	r, err := NewRegistry(classes...)
	if err != nil {
		panic(err)
	}
	return r
}

func nameOf(c *Class) string {
	if c == nil {
		return "<nil>"
	}
	return c.Name
}

// derive builds the resolved class c from its resolved superclass super
// (nil for a root class).
func derive(super, c *Class) (*Class, error) {
	out := &Class{Name: c.Name, SuperClass: c.SuperClass}
	if super != nil {
		out.SuperClass = super.Name // canonical spelling
		for _, q := range super.Qualifiers {
			if !isRestricted(q.Name) {
				out.Qualifiers = append(out.Qualifiers, q)
			}
		}
	}
	out.Qualifiers = mergeQualifiers(out.Qualifiers, c.Qualifiers)
	out.Abstract = c.Abstract || qualifierTrue(c.Qualifiers, "Abstract")
	out.Association = c.Association || qualifierTrue(out.Qualifiers, "Association") || (super != nil && super.Association)

	seen := make(map[string]bool)
	if super != nil {
		for _, p := range super.Properties {
			cp := *p
			out.Properties = append(out.Properties, &cp)
		}
		for _, m := range super.Methods {
			cm := *m
			out.Methods = append(out.Methods, &cm)
		}
	}
	for _, p := range c.Properties {
		k := strings.ToLower(p.Name)
		if seen[k] {
			return nil, fmt.Errorf("cim: class %s: duplicate property %s", c.Name, p.Name)
		}
		seen[k] = true
		i := slices.IndexFunc(out.Properties, func(q *Property) bool { return strings.EqualFold(q.Name, p.Name) })
		if i < 0 {
			np := *p
			np.Qualifiers = slices.Clone(p.Qualifiers)
			np.ClassOrigin = c.Name
			out.Properties = append(out.Properties, &np)
			continue
		}
		out.Properties[i] = overrideProperty(out.Properties[i], p)
	}
	clear(seen)
	for _, m := range c.Methods {
		k := strings.ToLower(m.Name)
		if seen[k] {
			return nil, fmt.Errorf("cim: class %s: duplicate method %s", c.Name, m.Name)
		}
		seen[k] = true
		i := slices.IndexFunc(out.Methods, func(q *Method) bool { return strings.EqualFold(q.Name, m.Name) })
		if i < 0 {
			nm := *m
			nm.Qualifiers = slices.Clone(m.Qualifiers)
			nm.ClassOrigin = c.Name
			out.Methods = append(out.Methods, &nm)
			continue
		}
		out.Methods[i] = overrideMethod(out.Methods[i], m)
	}
	return out, nil
}

// overrideProperty merges the overriding declaration p into the inherited
// property base.
func overrideProperty(base, p *Property) *Property {
	np := *p
	np.Name = base.Name
	np.ClassOrigin = base.ClassOrigin
	np.Qualifiers = mergeQualifiers(inheritable(base.Qualifiers), p.Qualifiers)
	np.Key = base.Key || p.Key
	if np.EmbeddedInstance == "" {
		np.EmbeddedInstance = base.EmbeddedInstance
	}
	if np.ValueMap == nil {
		np.ValueMap = base.ValueMap
	}
	if np.Values == nil {
		np.Values = base.Values
	}
	if np.Default == nil {
		np.Default = base.Default
	}
	if np.Type == TypeInvalid {
		np.Type, np.Array, np.RefClass = base.Type, base.Array, base.RefClass
	}
	return &np
}

// overrideMethod merges the overriding declaration m into the inherited
// method base. The parameter list is the override's.
func overrideMethod(base, m *Method) *Method {
	nm := *m
	nm.Name = base.Name
	nm.ClassOrigin = base.ClassOrigin
	nm.Qualifiers = mergeQualifiers(inheritable(base.Qualifiers), m.Qualifiers)
	if nm.ValueMap == nil {
		nm.ValueMap = base.ValueMap
	}
	if nm.Values == nil {
		nm.Values = base.Values
	}
	if nm.Params == nil {
		nm.Params = base.Params
	}
	return &nm
}

func inheritable(qs Qualifiers) Qualifiers {
	var out Qualifiers
	for _, q := range qs {
		if !isRestricted(q.Name) {
			out = append(out, q)
		}
	}
	return out
}

// mergeQualifiers returns base with each qualifier of over replacing the
// one of the same name or appended.
func mergeQualifiers(base, over Qualifiers) Qualifiers {
	out := slices.Clone(base)
	for _, q := range over {
		i := slices.IndexFunc(out, func(b Qualifier) bool { return strings.EqualFold(b.Name, q.Name) })
		if i >= 0 {
			out[i] = q
		} else {
			out = append(out, q)
		}
	}
	return out
}

func qualifierTrue(qs Qualifiers, name string) bool {
	q, ok := qs.Get(name)
	if !ok {
		return false
	}
	b, isBool := q.Value.(bool)
	return q.Value == nil || (isBool && b)
}

func (r *registry) Class(name string) (*Class, bool) {
	c, ok := r.byName[strings.ToLower(name)]
	return c, ok
}

func (r *registry) Classes() []*Class { return slices.Clone(r.sorted) }

func (r *registry) IsA(class, ancestor string) bool {
	c, ok := r.Class(class)
	for ok {
		if strings.EqualFold(c.Name, ancestor) {
			return true
		}
		if c.SuperClass == "" {
			return false
		}
		c, ok = r.Class(c.SuperClass)
	}
	return false
}

func (r *registry) Descendants(name string) []*Class {
	c, ok := r.Class(name)
	if !ok {
		return nil
	}
	out := []*Class{c}
	for i := 0; i < len(out); i++ {
		out = append(out, r.children[strings.ToLower(out[i].Name)]...)
	}
	return out
}
