package wscim

import (
	"strings"

	"github.com/vsmig/vsmig/cim"
)

// Namespace URIs used in WS-CIM instances and endpoint references.
const (
	// CIMSchemaURI is the ResourceURI prefix of DMTF classes (DSP0227 §5):
	// the ResourceURI of CIM_Foo is CIMSchemaURI + "CIM_Foo".
	CIMSchemaURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	// VendorSchemaURI is the ResourceURI prefix of vsmig's own classes
	// (VendorPrefix + "_Foo").
	VendorSchemaURI = "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/"
	// VendorPrefix is the schema prefix of vsmig's classes.
	VendorPrefix = "VSMIG"
	// AllClassesURI addresses every class (DSP0227 §5), used with a filter.
	AllClassesURI = "http://schemas.dmtf.org/wbem/wscim/1/*"

	NSCommon     = "http://schemas.dmtf.org/wbem/wscim/1/common" // cim: prefix
	NSXSI        = "http://www.w3.org/2001/XMLSchema-instance"
	NSAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"

	// AddressAnonymous is the wsa:Address written in every EPR.
	AddressAnonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
	// NamespaceSelector names the selector that carries the CIM namespace
	// in an EPR (DSP0227 §6.3).
	NamespaceSelector = "__cimnamespace"
)

// ResourceURI returns the ResourceURI of the class named className: under
// VendorSchemaURI for VSMIG_ classes, under CIMSchemaURI for all others.
func ResourceURI(className string) string {
	if hasSchemaPrefix(className, VendorPrefix) {
		return VendorSchemaURI + className
	}
	return CIMSchemaURI + className
}

func hasSchemaPrefix(class, schema string) bool {
	return len(class) > len(schema) && class[len(schema)] == '_' && strings.EqualFold(class[:len(schema)], schema)
}

// ClassName returns the class that resourceURI names, reversing
// ResourceURI. Both prefixes are accepted for any class, the prefix is
// compared case-insensitively, and a trailing ".xsd" (as in schema
// locations) is dropped. It reports false for AllClassesURI and for URIs
// outside the two schema trees, and when the last segment is not a valid
// class name.
func ClassName(resourceURI string) (string, bool) {
	for _, prefix := range []string{CIMSchemaURI, VendorSchemaURI} {
		if len(resourceURI) > len(prefix) && strings.EqualFold(resourceURI[:len(prefix)], prefix) {
			name := strings.TrimSuffix(resourceURI[len(prefix):], ".xsd")
			if validClassName(name) {
				return name, true
			}
			return "", false
		}
	}
	return "", false
}

// validClassName reports whether s is a schema-qualified CIM class name
// (DSP0004: schema "_" name, letters, digits and underscores).
func validClassName(s string) bool {
	if s == "" || !strings.Contains(s[1:], "_") {
		return false
	}
	return cim.ValidName(s)
}
