package cim

// ValidName reports whether s is a CIM identifier: letters, digits and
// underscores, not starting with a digit (DSP0004 §5.1; characters above
// U+007F are accepted as the grammar's UNICODE-S/UNICODE-C). Encodings use
// it to check class and property names read from the wire.
func ValidName(s string) bool { return validName(s) }
