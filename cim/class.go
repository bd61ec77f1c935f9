package cim

import "strings"

// Qualifier is a named qualifier value from MOF (Key, ValueMap, Description,
// EmbeddedInstance, ...). Value uses the package's value representation.
type Qualifier struct {
	Name  string
	Value any
}

// Qualifiers is an ordered qualifier list, looked up case-insensitively.
type Qualifiers []Qualifier

// Get returns the qualifier named name.
func (qs Qualifiers) Get(name string) (Qualifier, bool) {
	for _, q := range qs {
		if strings.EqualFold(q.Name, name) {
			return q, true
		}
	}
	return Qualifier{}, false
}

// Property is a property definition of a class.
type Property struct {
	Name  string
	Type  Type
	Array bool
	// RefClass is the referenced class when Type is Reference.
	RefClass string
	Key      bool
	// EmbeddedInstance is the class named by the EmbeddedInstance qualifier
	// of a string property, empty otherwise.
	EmbeddedInstance string
	ValueMap, Values []string
	Qualifiers       Qualifiers
	// ClassOrigin is the class that first declared the property.
	ClassOrigin string
	// Default is the MOF default value, nil if none.
	Default any
}

// Parameter is a method parameter definition.
type Parameter struct {
	Name             string
	Type             Type
	Array            bool
	RefClass         string
	In, Out          bool
	EmbeddedInstance string
	ValueMap, Values []string
	Qualifiers       Qualifiers
}

// Method is a method definition of a class.
type Method struct {
	Name             string
	ReturnType       Type
	Params           []*Parameter
	ValueMap, Values []string
	Qualifiers       Qualifiers
	ClassOrigin      string
}

// Param returns the parameter named name (case-insensitive), or nil.
func (m *Method) Param(name string) *Parameter {
	for _, p := range m.Params {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// Class is a resolved class: Properties and Methods include the inherited
// ones, superclass members first, overrides in place.
type Class struct {
	Name        string
	SuperClass  string
	Abstract    bool
	Association bool
	Qualifiers  Qualifiers
	Properties  []*Property
	Methods     []*Method
}

// Property returns the property named name (case-insensitive), or nil.
func (c *Class) Property(name string) *Property {
	// Callers almost always use the declared spelling: try that first.
	for _, p := range c.Properties {
		if p.Name == name {
			return p
		}
	}
	for _, p := range c.Properties {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// Method returns the method named name (case-insensitive), or nil.
func (c *Class) Method(name string) *Method {
	for _, m := range c.Methods {
		if strings.EqualFold(m.Name, name) {
			return m
		}
	}
	return nil
}

// Keys returns the key properties in declaration order.
func (c *Class) Keys() []*Property {
	var keys []*Property
	for _, p := range c.Properties {
		if p.Key {
			keys = append(keys, p)
		}
	}
	return keys
}

// Registry holds the resolved classes of the model. Implementations are
// safe for concurrent reads.
type Registry interface {
	// Class returns the class named name (case-insensitive).
	Class(name string) (*Class, bool)
	// Classes returns every class, sorted by name.
	Classes() []*Class
	// IsA reports whether class is ancestor or derives from it.
	IsA(class, ancestor string) bool
	// Descendants returns name's class and every class deriving from it.
	Descendants(name string) []*Class
}
