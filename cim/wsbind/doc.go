// Package wsbind binds the CIM object manager (cim.Broker) to a
// wsman.Service: it is the one package that knows both the WS-Management
// protocol and the CIM model, the way DSP0227 (WS-Management CIM Binding)
// relates them.
//
// Register installs resources for the ResourceURI trees of the model: DMTF
// classes under http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/, vsmig's
// own VSMIG_ classes under wscim.VendorSchemaURI, and the all-classes URI
// http://schemas.dmtf.org/wbem/wscim/1/* (enumeration with an association
// or WQL filter only). The mapping, per DSP0227:
//
//   - Get, Put, Delete: ResourceURI names the class, the SelectorSet its
//     keys, the __cimnamespace selector the namespace (Options.
//     DefaultNamespace when absent). Selector values are converted with the
//     key property's CIM type; a ResourceURI naming a superclass finds the
//     instance among its subclasses, and the representation sent back is
//     that of the instance's actual class.
//   - Enumerate: polymorphic over the class; SelectorFilter keeps the
//     instances whose properties equal the selectors; AssociationFilter is
//     CIM Associators (AssociatedInstances) or References
//     (AssociationInstances), where the ResourceURI only selects the
//     resource; WQL enumerates the FROM class, evaluates WHERE and projects
//     the SELECT list (keys are always kept). Every item carries its EPR.
//   - Invoke: the method is the last segment of the Action; the children of
//     <Method>_INPUT become typed IN arguments (see invoke.go for the
//     encodings accepted) and the reply is <Method>_OUTPUT with the OUT
//     parameters, then ReturnValue (the order Windows uses).
//
// CIM errors become WS-Man faults through one table (faults.go).
//
// Imports: the standard library, github.com/beevik/etree, cim and its
// encoding subpackages, and wsman. Nothing imports wsbind but the daemon.
package wsbind
