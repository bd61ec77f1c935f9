// Package cim is the CIM object model that vsmig serves: classes loaded from
// the MOF files in schemas/, typed values, instances and object paths, the
// class registry, and the object manager (Broker) that routes intrinsic
// operations (get, enumerate, associators, references, delete, invoke) to
// providers.
//
// Subpackages: cim/mof parses MOF; cim/wscim and cim/cimxml encode and decode
// instances in the DSP0230 WS-CIM and DSP0201 CIM-XML forms; cim/vsm holds
// the providers of the Virtual System Migration Profile (DSP1081), whose
// jobs the migration engine keeps (migrate.Job); cim/wsbind binds the
// Broker to a wsman.Service.
//
// Value representation: a property or parameter value is a Go value of one
// of these types, chosen by the CIM type: nil (NULL); uint64 for uint8..uint64;
// int64 for sint8..sint64; float64 for real32/real64; bool; string for string
// and char16; Datetime; ObjectPath for references; *Instance for embedded
// instances. Arrays are slices of those element types ([]uint64, []string,
// []ObjectPath, []*Instance, ...).
//
// Text and conversions: ParseValue and FormatValue convert between a
// scalar and its text (CIM-XML VALUE, WS-CIM element, selector);
// ConvertValue turns ordinary Go values (int, time.Time, []int, ...) into
// the representation with range checks; ValuesEqual compares values;
// ParseDatetime and Datetime.String handle the CIM datetime forms;
// ParseObjectPath and ObjectPath.String the WBEM URI-like path form;
// ValueMapEntry looks integers up in ValueMap/Values qualifiers.
//
// Classes: cim/mof parses the MOF in schemas/ into classes holding only
// their declared members; NewRegistry resolves inheritance into the
// read-only Registry every other package uses. Classes from a Registry
// are shared and must not be modified.
//
// Imports: the standard library and github.com/google/uuid. Never wsman
// (except cim/wsbind) or net/http.
package cim
