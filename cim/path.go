package cim

// KeyBinding is one key of an object path. Value uses the package's value
// representation (a string, uint64, bool, ObjectPath, ...).
type KeyBinding struct {
	Name  string
	Value any
}

// ObjectPath names one instance: namespace, class and key values. It is the
// CIM form of a WS-Man EPR (ResourceURI + SelectorSet + __cimnamespace).
type ObjectPath struct {
	Namespace string
	ClassName string
	Keys      []KeyBinding
}
