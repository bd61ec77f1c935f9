package cim

// Instance is an instance of a Class. Property values use the package's
// value representation; a property that was never set reads as nil (NULL).
// An Instance is not safe for concurrent mutation.
type Instance struct {
	Class     *Class
	Namespace string
	values    map[string]any // keyed by canonical (class-declared) property name
}

// NewInstance returns an empty instance of c in namespace ns.
func NewInstance(c *Class, ns string) *Instance {
	return &Instance{Class: c, Namespace: ns, values: make(map[string]any, len(c.Properties))}
}

// Get returns the value of the property named name (case-insensitive) and
// whether the class defines such a property.
func (i *Instance) Get(name string) (any, bool) {
	p := i.Class.Property(name)
	if p == nil {
		return nil, false
	}
	return i.values[p.Name], true
}

// Set assigns the property named name (case-insensitive). The value must
// have the Go type that the property's CIM type maps to (see the package
// doc), or be nil; Set returns an *Error with StatusInvalidParameter or
// StatusNoSuchProperty otherwise.
func (i *Instance) Set(name string, v any) error {
	p := i.Class.Property(name)
	if p == nil {
		return &Error{Status: StatusNoSuchProperty, Message: "no property " + name + " in class " + i.Class.Name}
	}
	if err := checkValue(p.Type, p.Array, v); err != nil {
		return &Error{Status: StatusInvalidParameter, Message: p.Name + ": " + err.Error()}
	}
	i.values[p.Name] = v
	return nil
}

// Path returns the object path of the instance, built from its keys.
func (i *Instance) Path() ObjectPath {
	op := ObjectPath{Namespace: i.Namespace, ClassName: i.Class.Name}
	for _, k := range i.Class.Keys() {
		op.Keys = append(op.Keys, KeyBinding{Name: k.Name, Value: i.values[k.Name]})
	}
	return op
}
