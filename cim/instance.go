package cim

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
	if i.values == nil {
		i.values = make(map[string]any)
	}
	i.values[p.Name] = nilSlice(v)
	return nil
}

// nilSlice turns a nil slice into a nil interface, so that a nil array
// reads as NULL and an empty non-nil one as the empty array.
func nilSlice(v any) any {
	switch s := v.(type) {
	case []uint64:
		if s == nil {
			return nil
		}
	case []int64:
		if s == nil {
			return nil
		}
	case []float64:
		if s == nil {
			return nil
		}
	case []bool:
		if s == nil {
			return nil
		}
	case []string:
		if s == nil {
			return nil
		}
	case []Datetime:
		if s == nil {
			return nil
		}
	case []ObjectPath:
		if s == nil {
			return nil
		}
	case []*Instance:
		if s == nil {
			return nil
		}
	case *Instance:
		if s == nil {
			return nil
		}
	}
	return v
}

// MustSet assigns the property named name after converting v with
// ConvertValue, so that providers can write i.MustSet("EnabledState", 2).
// It panics if the class has no such property or v does not convert:
// both are programming errors in fixed provider values, not bad input.
func (i *Instance) MustSet(name string, v any) {
	p := i.Class.Property(name)
	if p == nil {
		panic("cim: MustSet: no property " + name + " in class " + i.Class.Name)
	}
	cv, err := ConvertValue(p.Type, p.Array, v)
	if err != nil {
		panic(fmt.Sprintf("cim: MustSet %s.%s: %v", i.Class.Name, p.Name, err))
	}
	if err := i.Set(p.Name, cv); err != nil {
		panic("cim: MustSet: " + err.Error())
	}
}

// SetNamespace sets the namespace the instance lives in.
func (i *Instance) SetNamespace(ns string) { i.Namespace = ns }

// Properties iterates over every property of the class in class order
// (inherited properties first), yielding its definition and its value (nil
// if NULL or never set).
func (i *Instance) Properties() iter.Seq2[*Property, any] {
	return func(yield func(*Property, any) bool) {
		for _, p := range i.Class.Properties {
			if !yield(p, i.values[p.Name]) {
				return
			}
		}
	}
}

// Clone returns a deep copy of i: arrays, embedded instances and the key
// lists of references are copied; the Class is shared.
func (i *Instance) Clone() *Instance {
	if i == nil {
		return nil
	}
	c := &Instance{Class: i.Class, Namespace: i.Namespace, values: make(map[string]any, len(i.values))}
	for k, v := range i.values {
		c.values[k] = cloneValue(v)
	}
	return c
}

// cloneValue deep-copies one value of the package's representation.
func cloneValue(v any) any {
	switch v := v.(type) {
	case []uint64:
		return append([]uint64(nil), v...)
	case []int64:
		return append([]int64(nil), v...)
	case []float64:
		return append([]float64(nil), v...)
	case []bool:
		return append([]bool(nil), v...)
	case []string:
		return append([]string(nil), v...)
	case []Datetime:
		return append([]Datetime(nil), v...)
	case ObjectPath:
		return v.Clone()
	case []ObjectPath:
		out := make([]ObjectPath, len(v))
		for j, p := range v {
			out[j] = p.Clone()
		}
		return out
	case *Instance:
		return v.Clone()
	case []*Instance:
		out := make([]*Instance, len(v))
		for j, e := range v {
			out[j] = e.Clone()
		}
		return out
	}
	return v
}

// Path returns the object path of the instance, built from its keys.
func (i *Instance) Path() ObjectPath {
	op := ObjectPath{Namespace: i.Namespace, ClassName: i.Class.Name}
	for _, k := range i.Class.Keys() {
		op.Keys = append(op.Keys, KeyBinding{Name: k.Name, Value: i.values[k.Name]})
	}
	return op
}

// String returns the instance as a MOF instance declaration
// ("instance of CIM_X {\n\tP = 1;\n};"), listing the non-NULL properties in
// class order. cim/mof parses it back.
func (i *Instance) String() string {
	var b strings.Builder
	b.WriteString("instance of ")
	b.WriteString(i.Class.Name)
	b.WriteString(" {\n")
	for p, v := range i.Properties() {
		if v == nil {
			continue
		}
		b.WriteString("\t")
		b.WriteString(p.Name)
		b.WriteString(" = ")
		writeMOFValue(&b, v)
		b.WriteString(";\n")
	}
	b.WriteString("};")
	return b.String()
}

// QuoteMOF returns s as a MOF string literal with DSP0221 escapes.
func QuoteMOF(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				b.WriteByte(s[i]) // keep invalid UTF-8 bytes as they are
				continue
			}
		}
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\x`)
				b.WriteString(strconv.FormatInt(int64(r), 16))
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeMOFValue writes v as a MOF value literal.
func writeMOFValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(QuoteMOF(v))
	case Datetime:
		b.WriteString(QuoteMOF(v.String()))
	case ObjectPath:
		b.WriteString(QuoteMOF(v.String()))
	case *Instance:
		// An embedded instance is a string holding MOF (DSP0004
		// EmbeddedInstance), which every MOF reader accepts.
		b.WriteString(QuoteMOF(v.String()))
	case []string:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []uint64:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []int64:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []float64:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []bool:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []Datetime:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []ObjectPath:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	case []*Instance:
		writeMOFArray(b, len(v), func(i int) any { return v[i] })
	default:
		b.WriteString(FormatValue(v))
	}
}

func writeMOFArray(b *strings.Builder, n int, at func(int) any) {
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		writeMOFValue(b, at(i))
	}
	b.WriteByte('}')
}
