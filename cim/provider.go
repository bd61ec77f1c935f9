package cim

import "context"

// InstanceProvider serves the instances of the classes it names. The Broker
// routes operations on those exact classes to it (a request for a superclass
// reaches every provider of a descendant class). Associations are served
// like any other class: their instances carry REF properties, and the Broker
// answers Associators and References from them.
type InstanceProvider interface {
	// Classes returns the names of the classes it serves, with the
	// namespace each lives in.
	Classes() []ClassRef
	// GetInstance returns the instance at path; an *Error with
	// StatusNotFound if there is none.
	GetInstance(ctx context.Context, path ObjectPath) (*Instance, error)
	// EnumerateInstances returns every instance of class (exact class).
	EnumerateInstances(ctx context.Context, namespace, class string) ([]*Instance, error)
}

// ClassRef names a class in a namespace.
type ClassRef struct {
	Namespace string
	Class     string
}

// MethodProvider is implemented by providers whose classes have extrinsic
// methods. in holds the IN parameters converted to their CIM types, keyed by
// the canonical parameter name; out is keyed the same way. A method's own
// return codes (4096, 4, 5, ...) are returned as ret; err is for failures
// of the operation itself (no such instance, bad parameters that the method
// does not model as a return code).
type MethodProvider interface {
	InvokeMethod(ctx context.Context, path ObjectPath, method string, in map[string]any) (ret any, out map[string]any, err error)
}

// ArgRefuser is implemented by a MethodProvider that answers formally
// invalid arguments itself, to say why in an OUT parameter (vsm's Error):
// when the Broker refuses a method's arguments with its "Invalid
// Parameter" return code rc, it returns what RefuseArgs returns instead of
// rc alone. problems says what is wrong; the provider is not called with
// the arguments.
type ArgRefuser interface {
	RefuseArgs(ctx context.Context, path ObjectPath, method string, rc any, problems string) (ret any, out map[string]any, err error)
}

// InstanceDeleter is implemented by providers that allow DeleteInstance.
type InstanceDeleter interface {
	DeleteInstance(ctx context.Context, path ObjectPath) error
}

// InstanceModifier is implemented by providers that allow ModifyInstance.
// Only the properties present in inst (non-nil) are changed.
type InstanceModifier interface {
	ModifyInstance(ctx context.Context, inst *Instance) error
}
