package mof

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vsmig/vsmig/cim"
)

// buildClass turns a class declaration into an unresolved cim.Class
// holding only the members it declares.
func (b *builder) buildClass(ca *classAST) (*cim.Class, *ParseError) {
	quals, err := b.qualifiers(ca.quals)
	if err != nil {
		return nil, err
	}
	c := &cim.Class{
		Name:        ca.name,
		SuperClass:  ca.super,
		Qualifiers:  quals,
		Abstract:    qualTrue(quals, "Abstract"),
		Association: qualTrue(quals, "Association"),
	}
	seen := make(map[string]bool)
	for _, f := range ca.features {
		k := strings.ToLower(f.name)
		if seen[k] {
			return nil, b.errorf(f.pos, "class %s declares %s twice", ca.name, f.name)
		}
		seen[k] = true
		quals, err := b.qualifiers(f.quals)
		if err != nil {
			return nil, err
		}
		t, refClass, terr := b.dataType(f.typeName, f.isRef, f.typePos)
		if terr != nil {
			return nil, terr
		}
		if f.method {
			if f.isRef {
				return nil, b.errorf(f.pos, "method %s: reference return types are not supported", f.name)
			}
			m := &cim.Method{Name: f.name, ReturnType: t, Qualifiers: quals}
			m.ValueMap, m.Values = qualStrings(quals, "ValueMap"), qualStrings(quals, "Values")
			for _, pa := range f.params {
				prm, err := b.buildParam(pa)
				if err != nil {
					return nil, err
				}
				if m.Param(prm.Name) != nil {
					return nil, b.errorf(pa.pos, "method %s declares parameter %s twice", f.name, pa.name)
				}
				m.Params = append(m.Params, prm)
			}
			c.Methods = append(c.Methods, m)
			continue
		}
		prop := &cim.Property{
			Name:             f.name,
			Type:             t,
			Array:            f.array,
			RefClass:         refClass,
			Key:              qualTrue(quals, "Key"),
			EmbeddedInstance: qualString(quals, "EmbeddedInstance"),
			ValueMap:         qualStrings(quals, "ValueMap"),
			Values:           qualStrings(quals, "Values"),
			Qualifiers:       quals,
		}
		if f.def != nil {
			v, err := b.value(prop.Type, prop.Array, prop.EmbeddedInstance, f.def)
			if err != nil {
				return nil, b.errorf(f.def.pos, "default of %s: %v", f.name, err)
			}
			prop.Default = v
		}
		c.Properties = append(c.Properties, prop)
	}
	return c, nil
}

func (b *builder) buildParam(pa paramAST) (*cim.Parameter, *ParseError) {
	quals, err := b.qualifiers(pa.quals)
	if err != nil {
		return nil, err
	}
	t, refClass, err := b.dataType(pa.typeName, pa.isRef, pa.typePos)
	if err != nil {
		return nil, err
	}
	prm := &cim.Parameter{
		Name:             pa.name,
		Type:             t,
		Array:            pa.array,
		RefClass:         refClass,
		In:               true, // DSP0004: IN defaults to true
		EmbeddedInstance: qualString(quals, "EmbeddedInstance"),
		ValueMap:         qualStrings(quals, "ValueMap"),
		Values:           qualStrings(quals, "Values"),
		Qualifiers:       quals,
	}
	if q, ok := quals.Get("OUT"); ok {
		prm.Out = q.Value == nil || q.Value == true
		// DSP0004 defaults IN to true, but schemas and servers alike
		// read [OUT] alone as an output-only parameter (GetError).
		prm.In = !prm.Out
	}
	if q, ok := quals.Get("IN"); ok {
		prm.In = q.Value == nil || q.Value == true
	}
	return prm, nil
}

// dataType resolves a declared type: a CIM data type, or the referenced
// class of a REF.
func (b *builder) dataType(name string, isRef bool, at pos) (cim.Type, string, *ParseError) {
	if isRef {
		return cim.Reference, name, nil
	}
	t, ok := cim.ParseType(name)
	if !ok || t == cim.Reference {
		return cim.TypeInvalid, "", b.errorf(at, "unknown data type %q", name)
	}
	return t, "", nil
}

// qualifiers converts a qualifier list. Qualifier values keep the types
// they were written with: string, uint64 (int64 when negative), float64,
// bool, and arrays of those; a qualifier without a value is true.
func (b *builder) qualifiers(qs []qualifierAST) (cim.Qualifiers, *ParseError) {
	if len(qs) == 0 {
		return nil, nil
	}
	out := make(cim.Qualifiers, 0, len(qs))
	for _, q := range qs {
		var v any = true
		if q.value != nil {
			var err error
			if v, err = untyped(q.value); err != nil {
				return nil, b.errorf(q.value.pos, "qualifier %s: %v", q.name, err)
			}
		}
		out = append(out, cim.Qualifier{Name: q.name, Value: v})
	}
	return out, nil
}

// untyped converts a qualifier literal without a declared type.
func untyped(l *lit) (any, error) {
	switch l.kind {
	case litNull:
		return nil, nil
	case litString, litChar:
		return l.text, nil
	case litBool:
		return l.b, nil
	case litInt:
		neg, mag, err := parseIntLiteral(l.text)
		if err != nil {
			return nil, err
		}
		if neg {
			if mag > 1<<63 {
				return nil, fmt.Errorf("integer %s out of range", l.text)
			}
			return -int64(mag), nil
		}
		return mag, nil
	case litReal:
		return strconv.ParseFloat(l.text, 64)
	case litArray:
		vals := make([]any, len(l.items))
		for i, it := range l.items {
			v, err := untyped(it)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return homogeneous(vals), nil
	}
	return nil, fmt.Errorf("value not allowed in a qualifier")
}

// homogeneous turns []any into a typed slice when all elements share a
// type ([]string, []uint64, []int64, []float64, []bool); an empty array is
// []string.
func homogeneous(vals []any) any {
	if len(vals) == 0 {
		return []string{}
	}
	switch vals[0].(type) {
	case string:
		if out, ok := allOf[string](vals); ok {
			return out
		}
	case uint64:
		if out, ok := allOf[uint64](vals); ok {
			return out
		}
	case int64:
		if out, ok := allOf[int64](vals); ok {
			return out
		}
	case float64:
		if out, ok := allOf[float64](vals); ok {
			return out
		}
	case bool:
		if out, ok := allOf[bool](vals); ok {
			return out
		}
	}
	return vals
}

func allOf[T any](vals []any) ([]T, bool) {
	out := make([]T, len(vals))
	for i, v := range vals {
		t, ok := v.(T)
		if !ok {
			return nil, false
		}
		out[i] = t
	}
	return out, true
}

func qualTrue(qs cim.Qualifiers, name string) bool {
	q, ok := qs.Get(name)
	return ok && (q.Value == nil || q.Value == true)
}

func qualString(qs cim.Qualifiers, name string) string {
	q, ok := qs.Get(name)
	if !ok {
		return ""
	}
	s, _ := q.Value.(string)
	return s
}

// qualStrings returns an array qualifier as strings (ValueMap entries may
// be written as numbers in some MOF).
func qualStrings(qs cim.Qualifiers, name string) []string {
	q, ok := qs.Get(name)
	if !ok {
		return nil
	}
	switch v := q.Value.(type) {
	case []string:
		return v
	case string:
		return []string{v}
	case nil:
		return nil
	}
	return strings.Split(strings.Trim(cim.FormatValue(q.Value), "{}"), ", ")
}

// value converts a literal to the package's value representation of
// type t. embedded is the EmbeddedInstance class of a string property or
// parameter, "" otherwise.
func (b *builder) value(t cim.Type, array bool, embedded string, l *lit) (any, error) {
	if l.kind == litNull {
		return nil, nil
	}
	if array {
		if l.kind != litArray {
			return nil, fmt.Errorf("array value must be written as {...}")
		}
		vals := make([]any, len(l.items))
		for i, it := range l.items {
			if it.kind == litNull {
				return nil, fmt.Errorf("element %d is NULL", i)
			}
			v, err := b.value(t, false, embedded, it)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			vals[i] = v
		}
		return cim.ConvertValue(t, true, vals)
	}
	if l.kind == litArray {
		return nil, fmt.Errorf("%s value must not be an array", t)
	}
	switch t {
	case cim.Uint8, cim.Uint16, cim.Uint32, cim.Uint64, cim.Sint8, cim.Sint16, cim.Sint32, cim.Sint64:
		if l.kind != litInt {
			return nil, fmt.Errorf("%s value must be an integer", t)
		}
		neg, mag, err := parseIntLiteral(l.text)
		if err != nil {
			return nil, err
		}
		if neg {
			if mag > 1<<63 {
				return nil, fmt.Errorf("value %s out of range for %s", l.text, t)
			}
			return cim.ConvertValue(t, false, -int64(mag))
		}
		return cim.ConvertValue(t, false, mag)
	case cim.Real32, cim.Real64:
		if l.kind != litInt && l.kind != litReal {
			return nil, fmt.Errorf("%s value must be a number", t)
		}
		if l.kind == litInt {
			neg, mag, err := parseIntLiteral(l.text)
			if err != nil {
				return nil, err
			}
			f := float64(mag)
			if neg {
				f = -f
			}
			return f, nil
		}
		f, err := strconv.ParseFloat(l.text, 64)
		if err != nil {
			return nil, err
		}
		if t == cim.Real32 && math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("value %s out of range for real32", l.text)
		}
		return f, nil
	case cim.Boolean:
		if l.kind != litBool {
			return nil, fmt.Errorf("boolean value must be true or false")
		}
		return l.b, nil
	case cim.Char16:
		if l.kind != litChar && l.kind != litString {
			return nil, fmt.Errorf("char16 value must be a character")
		}
		return cim.ParseValue(cim.Char16, l.text)
	case cim.DatetimeType:
		if l.kind != litString {
			return nil, fmt.Errorf("datetime value must be a string")
		}
		return cim.ParseDatetime(l.text)
	case cim.Reference:
		switch l.kind {
		case litString:
			return cim.ParseObjectPath(l.text)
		case litAlias:
			if b.aliases == nil {
				return nil, fmt.Errorf("alias $%s cannot be resolved here", l.text)
			}
			target, ok := b.aliases[strings.ToLower(l.text)]
			if !ok {
				return nil, fmt.Errorf("unknown alias $%s", l.text)
			}
			return target.Path(), nil
		}
		return nil, fmt.Errorf("reference value must be an object path string or $alias")
	case cim.String:
		switch l.kind {
		case litString:
			if embedded != "" && looksLikeInstance(l.text) {
				return b.embeddedText(l.text, embedded)
			}
			return l.text, nil
		case litInstance:
			return b.nested(l.inst, embedded)
		}
		return nil, fmt.Errorf("string value must be a string")
	}
	return nil, fmt.Errorf("values of type %s are not supported", t)
}

// looksLikeInstance reports whether s starts with "instance of".
func looksLikeInstance(s string) bool {
	f := strings.Fields(s)
	return len(f) >= 2 && strings.EqualFold(f[0], "instance") && strings.EqualFold(f[1], "of")
}

// embeddedText parses a string holding an embedded MOF instance.
func (b *builder) embeddedText(s, embedded string) (any, error) {
	if b.depth >= maxDepth {
		return nil, fmt.Errorf("embedded instances nested too deeply")
	}
	if b.reg == nil {
		return nil, fmt.Errorf("embedded instance in a class declaration")
	}
	opts := b.opts
	if opts.AsClass != "" {
		opts.AsClass = embedded
	}
	inner := &builder{reg: b.reg, opts: opts, depth: b.depth + 1}
	inst, err := inner.parseOne("", s)
	if err != nil {
		return nil, fmt.Errorf("embedded instance: %w", err)
	}
	return inst, nil
}
