package cim

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// uintMax returns the largest value of the unsigned type t.
func uintMax(t Type) uint64 {
	switch t {
	case Uint8:
		return math.MaxUint8
	case Uint16:
		return math.MaxUint16
	case Uint32:
		return math.MaxUint32
	}
	return math.MaxUint64
}

// sintRange returns the bounds of the signed type t.
func sintRange(t Type) (lo, hi int64) {
	switch t {
	case Sint8:
		return math.MinInt8, math.MaxInt8
	case Sint16:
		return math.MinInt16, math.MaxInt16
	case Sint32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func isUnsigned(t Type) bool { return t == Uint8 || t == Uint16 || t == Uint32 || t == Uint64 }
func isSigned(t Type) bool   { return t == Sint8 || t == Sint16 || t == Sint32 || t == Sint64 }
func isReal(t Type) bool     { return t == Real32 || t == Real64 }

func checkUint(t Type, n uint64) error {
	if n > uintMax(t) {
		return fmt.Errorf("value %d out of range for %s", n, t)
	}
	return nil
}

func checkSint(t Type, n int64) error {
	if lo, hi := sintRange(t); n < lo || n > hi {
		return fmt.Errorf("value %d out of range for %s", n, t)
	}
	return nil
}

func checkReal(t Type, f float64) error {
	if t == Real32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
		return fmt.Errorf("value %g out of range for real32", f)
	}
	return nil
}

func checkChar16(s string) error {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || n != len(s) || r > 0xFFFF || r == utf8.RuneError && n == 1 {
		return fmt.Errorf("char16 value %q is not a single UCS-2 character", s)
	}
	return nil
}

// checkValue reports whether v is a valid Go representation of a value of
// type t (array when array is set), including the range of integer types.
// nil is always valid (NULL).
func checkValue(t Type, array bool, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	var err error
	switch t {
	case Uint8, Uint16, Uint32, Uint64:
		if array {
			var a []uint64
			if a, ok = v.([]uint64); ok {
				for _, n := range a {
					if err = checkUint(t, n); err != nil {
						break
					}
				}
			}
		} else {
			var n uint64
			if n, ok = v.(uint64); ok {
				err = checkUint(t, n)
			}
		}
	case Sint8, Sint16, Sint32, Sint64:
		if array {
			var a []int64
			if a, ok = v.([]int64); ok {
				for _, n := range a {
					if err = checkSint(t, n); err != nil {
						break
					}
				}
			}
		} else {
			var n int64
			if n, ok = v.(int64); ok {
				err = checkSint(t, n)
			}
		}
	case Real32, Real64:
		if array {
			var a []float64
			if a, ok = v.([]float64); ok {
				for _, f := range a {
					if err = checkReal(t, f); err != nil {
						break
					}
				}
			}
		} else {
			var f float64
			if f, ok = v.(float64); ok {
				err = checkReal(t, f)
			}
		}
	case Boolean:
		if array {
			_, ok = v.([]bool)
		} else {
			_, ok = v.(bool)
		}
	case String:
		if array {
			switch v.(type) {
			case []string, []*Instance:
				ok = true
			}
		} else {
			switch v.(type) {
			case string, *Instance:
				ok = true
			}
		}
	case Char16:
		if array {
			var a []string
			if a, ok = v.([]string); ok {
				for _, s := range a {
					if err = checkChar16(s); err != nil {
						break
					}
				}
			}
		} else {
			var s string
			if s, ok = v.(string); ok {
				err = checkChar16(s)
			}
		}
	case DatetimeType:
		if array {
			_, ok = v.([]Datetime)
		} else {
			_, ok = v.(Datetime)
		}
	case Reference:
		if array {
			_, ok = v.([]ObjectPath)
		} else {
			_, ok = v.(ObjectPath)
		}
	}
	if !ok {
		return fmt.Errorf("value of Go type %T does not fit CIM type %s (array %t)", v, t, array)
	}
	return err
}

// ParseValue converts the text s (as found in CIM-XML VALUE, WS-CIM
// elements, WS-Man selectors and MOF after unquoting) to a scalar of type
// t in the package's value representation. Integers are decimal (an
// optional sign; a 0x prefix is accepted for hex) and range-checked for
// their type; booleans are true or false in any case; datetimes use the
// CIM text form; references use the form ObjectPath.String writes.
// Leading and trailing white space is ignored except for strings.
func ParseValue(t Type, s string) (any, error) {
	if t != String && t != Char16 {
		s = strings.TrimSpace(s)
	}
	switch {
	case isUnsigned(t):
		n, err := parseUint(strings.TrimPrefix(s, "+"))
		if err != nil {
			return nil, fmt.Errorf("cim: %q is not a valid %s", s, t)
		}
		if err := checkUint(t, n); err != nil {
			return nil, fmt.Errorf("cim: %w", err)
		}
		return n, nil
	case isSigned(t):
		neg := strings.HasPrefix(s, "-")
		u, err := parseUint(strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+"))
		if err != nil || (!neg && u > math.MaxInt64) || (neg && u > 1<<63) {
			return nil, fmt.Errorf("cim: %q is not a valid %s", s, t)
		}
		n := int64(u)
		if neg {
			n = int64(-u) // wraps correctly for 1<<63
		}
		if err := checkSint(t, n); err != nil {
			return nil, fmt.Errorf("cim: %w", err)
		}
		return n, nil
	case isReal(t):
		bits := 64
		if t == Real32 {
			bits = 32
		}
		f, err := strconv.ParseFloat(s, bits)
		if err != nil {
			return nil, fmt.Errorf("cim: %q is not a valid %s", s, t)
		}
		return f, nil
	case t == Boolean:
		switch {
		case strings.EqualFold(s, "true"):
			return true, nil
		case strings.EqualFold(s, "false"):
			return false, nil
		}
		return nil, fmt.Errorf("cim: %q is not a valid boolean", s)
	case t == String:
		return s, nil
	case t == Char16:
		if err := checkChar16(s); err != nil {
			return nil, fmt.Errorf("cim: %w", err)
		}
		return s, nil
	case t == DatetimeType:
		return ParseDatetime(s)
	case t == Reference:
		return ParseObjectPath(s)
	}
	return nil, fmt.Errorf("cim: cannot parse a value of type %s", t)
}

// parseUint parses decimal digits, or hex digits after 0x.
func parseUint(s string) (uint64, error) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return strconv.ParseUint(s[2:], 16, 64)
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 64)
}

// FormatValue returns the text of a scalar value as ParseValue reads it:
// decimal integers, shortest round-trip reals, true/false, strings as
// they are, the CIM form of datetimes and the String form of references.
// nil formats as "". An embedded instance is written as MOF
// (Instance.String). Arrays, meant for messages and logs, are written as
// "{a, b}". Other Go integer, float and bool kinds are formatted too.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case uint64:
		return strconv.FormatUint(v, 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case bool:
		return strconv.FormatBool(v)
	case Datetime:
		return v.String()
	case time.Time:
		return Timestamp(v).String()
	case time.Duration:
		return IntervalOf(v).String()
	case ObjectPath:
		return v.String()
	case *ObjectPath:
		if v == nil {
			return ""
		}
		return v.String()
	case *Instance:
		if v == nil {
			return ""
		}
		return v.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool())
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64)
	case reflect.Slice, reflect.Array:
		var b strings.Builder
		b.WriteByte('{')
		for i := range rv.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(FormatValue(rv.Index(i).Interface()))
		}
		b.WriteByte('}')
		return b.String()
	}
	return fmt.Sprint(v)
}

// ConvertValue converts a Go value to the package's value representation
// for CIM type t (an array when array is set), checking ranges: any Go
// integer kind to uint64 or int64, float32 to float64, time.Time to a
// timestamp, time.Duration to an interval, *ObjectPath to ObjectPath, a
// string to any scalar type through ParseValue, and for arrays any slice
// of such values. nil stays nil. A value already in the representation
// is returned as it is.
func ConvertValue(t Type, array bool, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if checkValue(t, array, v) == nil {
		return v, nil
	}
	if !array {
		return convertScalar(t, v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("cim: %T is not an array of %s", v, t)
	}
	n := rv.Len()
	elems := make([]any, n)
	embedded := false
	for i := range n {
		e, err := convertScalar(t, rv.Index(i).Interface())
		if err != nil {
			return nil, fmt.Errorf("cim: element %d: %w", i, unwrapCIM(err))
		}
		if e == nil {
			return nil, fmt.Errorf("cim: element %d of a %s array is NULL", i, t)
		}
		if _, ok := e.(*Instance); ok {
			embedded = true
		}
		elems[i] = e
	}
	switch {
	case isUnsigned(t):
		return sliceOf[uint64](elems), nil
	case isSigned(t):
		return sliceOf[int64](elems), nil
	case isReal(t):
		return sliceOf[float64](elems), nil
	case t == Boolean:
		return sliceOf[bool](elems), nil
	case t == String && embedded:
		out := make([]*Instance, n)
		for i, e := range elems {
			inst, ok := e.(*Instance)
			if !ok {
				return nil, fmt.Errorf("cim: element %d: array mixes strings and embedded instances", i)
			}
			out[i] = inst
		}
		return out, nil
	case t == String || t == Char16:
		return sliceOf[string](elems), nil
	case t == DatetimeType:
		return sliceOf[Datetime](elems), nil
	case t == Reference:
		return sliceOf[ObjectPath](elems), nil
	}
	return nil, fmt.Errorf("cim: cannot convert to type %s", t)
}

func sliceOf[T any](elems []any) []T {
	out := make([]T, len(elems))
	for i, e := range elems {
		out[i] = e.(T)
	}
	return out
}

// unwrapCIM strips the "cim: " prefix of nested messages.
func unwrapCIM(err error) error {
	if s := err.Error(); strings.HasPrefix(s, "cim: ") {
		return fmt.Errorf("%s", s[len("cim: "):])
	}
	return err
}

func convertScalar(t Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok && t != String {
		return ParseValue(t, s)
	}
	switch x := v.(type) {
	case time.Time:
		if t == DatetimeType {
			return Timestamp(x), nil
		}
	case time.Duration:
		if t == DatetimeType {
			return IntervalOf(x), nil
		}
	case *ObjectPath:
		if t == Reference && x != nil {
			return *x, nil
		}
	case ObjectPath:
		if t == Reference {
			return x, nil
		}
	case Datetime:
		if t == DatetimeType {
			return x, nil
		}
	case *Instance:
		if t == String && x != nil {
			return x, nil
		}
	}
	rv := reflect.ValueOf(v)
	switch {
	case isUnsigned(t):
		switch rv.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			n := rv.Uint()
			if err := checkUint(t, n); err != nil {
				return nil, fmt.Errorf("cim: %w", err)
			}
			return n, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n := rv.Int()
			if n < 0 {
				return nil, fmt.Errorf("cim: value %d out of range for %s", n, t)
			}
			if err := checkUint(t, uint64(n)); err != nil {
				return nil, fmt.Errorf("cim: %w", err)
			}
			return uint64(n), nil
		}
	case isSigned(t):
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			n := rv.Int()
			if err := checkSint(t, n); err != nil {
				return nil, fmt.Errorf("cim: %w", err)
			}
			return n, nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			n := rv.Uint()
			if n > math.MaxInt64 {
				return nil, fmt.Errorf("cim: value %d out of range for %s", n, t)
			}
			if err := checkSint(t, int64(n)); err != nil {
				return nil, fmt.Errorf("cim: %w", err)
			}
			return int64(n), nil
		}
	case isReal(t):
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64:
			f := rv.Float()
			if err := checkReal(t, f); err != nil {
				return nil, fmt.Errorf("cim: %w", err)
			}
			return f, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return float64(rv.Int()), nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return float64(rv.Uint()), nil
		}
	case t == Boolean:
		if rv.Kind() == reflect.Bool {
			return rv.Bool(), nil
		}
	case t == String || t == Char16:
		if rv.Kind() == reflect.String {
			s := rv.String()
			if t == Char16 {
				if err := checkChar16(s); err != nil {
					return nil, fmt.Errorf("cim: %w", err)
				}
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("cim: value of Go type %T does not convert to CIM type %s", v, t)
}

// ValuesEqual reports whether a and b are the same CIM value. Integers
// compare by number across uint64 and int64, reals by ==, strings
// exactly, datetimes with Datetime.Equal, references with
// ObjectPath.Equal, embedded instances property by property, and arrays
// element by element. nil equals only nil.
func ValuesEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case uint64:
		switch y := b.(type) {
		case uint64:
			return x == y
		case int64:
			return y >= 0 && uint64(y) == x
		}
		return false
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case uint64:
			return x >= 0 && uint64(x) == y
		}
		return false
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case Datetime:
		y, ok := b.(Datetime)
		return ok && x.Equal(y)
	case ObjectPath:
		y, ok := b.(ObjectPath)
		return ok && x.Equal(y)
	case *Instance:
		y, ok := b.(*Instance)
		return ok && instancesEqual(x, y)
	}
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() != reflect.Slice || rb.Kind() != reflect.Slice || ra.Len() != rb.Len() {
		return false
	}
	for i := range ra.Len() {
		if !ValuesEqual(ra.Index(i).Interface(), rb.Index(i).Interface()) {
			return false
		}
	}
	return true
}

// instancesEqual compares class name (case-insensitive) and every
// property value; namespaces are not compared.
func instancesEqual(a, b *Instance) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !strings.EqualFold(a.Class.Name, b.Class.Name) {
		return false
	}
	for _, p := range a.Class.Properties {
		av, _ := a.Get(p.Name)
		bv, ok := b.Get(p.Name)
		if !ok && av != nil {
			return false
		}
		if !ValuesEqual(av, bv) {
			return false
		}
	}
	return true
}
