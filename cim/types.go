package cim

import "strings"

// Type is a CIM intrinsic data type (DSP0004 §5.2).
type Type uint8

const (
	TypeInvalid Type = iota
	Uint8
	Sint8
	Uint16
	Sint16
	Uint32
	Sint32
	Uint64
	Sint64
	Real32
	Real64
	Boolean
	String
	Char16
	DatetimeType
	Reference
)

var typeNames = [...]string{
	TypeInvalid:  "invalid",
	Uint8:        "uint8",
	Sint8:        "sint8",
	Uint16:       "uint16",
	Sint16:       "sint16",
	Uint32:       "uint32",
	Sint32:       "sint32",
	Uint64:       "uint64",
	Sint64:       "sint64",
	Real32:       "real32",
	Real64:       "real64",
	Boolean:      "boolean",
	String:       "string",
	Char16:       "char16",
	DatetimeType: "datetime",
	Reference:    "reference",
}

// String returns the MOF/CIM-XML name of t ("uint16", "datetime", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "invalid"
}

// ParseType returns the Type named s (case-insensitive; "ref" and
// "reference" both name Reference).
func ParseType(s string) (Type, bool) {
	s = strings.ToLower(s)
	if s == "ref" {
		return Reference, true
	}
	for i, n := range typeNames {
		if i > 0 && n == s {
			return Type(i), true
		}
	}
	return TypeInvalid, false
}
