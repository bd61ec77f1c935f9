package wql

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors returned by Match, wrapped with the property name. A WS-Man
// service answers both with wsen:CannotProcessFilter.
var (
	ErrUnknownProperty = errors.New("wql: unknown property")
	ErrTypeMismatch    = errors.New("wql: type mismatch")
)

// ClassTester is implemented by values that a get function returns for a
// property tested with ISA (typically "__CLASS"): IsA reports whether the
// value's class is ancestor or derives from it. A plain string value is
// compared with the class name instead (exact class only, case-insensitive).
type ClassTester interface {
	IsA(ancestor string) bool
}

// truth is a three-valued logic value: comparisons with NULL are unknown,
// as in SQL, and only a true condition selects an instance.
type truth uint8

const (
	tFalse truth = iota
	tTrue
	tUnknown
)

func truthOf(b bool) truth {
	if b {
		return tTrue
	}
	return tFalse
}

// Match evaluates the WHERE condition against one instance. get returns the
// value of a property (case-insensitive name) and whether the class has it;
// a property it does not know makes Match fail with ErrUnknownProperty.
//
// Values use the cim package's Go representation: nil (NULL), uint64,
// int64, float64, bool, string, slices of those, and any other type that
// implements fmt.Stringer (cim.Datetime, cim.ObjectPath), compared by its
// string form. Other integer and float kinds are accepted too.
//
// Rules, chosen to behave like WMI:
//   - Numbers compare numerically with numeric literals, exactly across
//     signed and unsigned ranges (uint64 max > -1). A string literal
//     compared with a number is converted to a number; if it is not one,
//     Match fails with ErrTypeMismatch.
//   - Strings compare case-insensitively (= , <> and the ordering
//     operators on the lower-cased text). A numeric or boolean literal
//     compared with a string property is compared in its WQL text form.
//   - Booleans compare with TRUE/FALSE, 0/1 and 'true'/'false'.
//   - An array property matches when any element matches; IS NULL is true
//     only for a nil value (an empty array is not NULL).
//   - A comparison involving NULL is unknown; NOT unknown is unknown; only a
//     true condition matches. Both sides of AND and OR are always
//     evaluated, so an unknown property is reported even when the result
//     is already decided.
//
// Match without a WHERE clause returns true without calling get.
func (q *Query) Match(get func(property string) (value any, ok bool)) (bool, error) {
	if q.Where == nil {
		return true, nil
	}
	t, err := eval(q.Where, get)
	return t == tTrue, err
}

func eval(e Expr, get func(string) (any, bool)) (truth, error) {
	switch e := e.(type) {
	case *And:
		l, err := eval(e.L, get)
		if err != nil {
			return tUnknown, err
		}
		r, err := eval(e.R, get)
		if err != nil {
			return tUnknown, err
		}
		switch {
		case l == tFalse || r == tFalse:
			return tFalse, nil
		case l == tTrue && r == tTrue:
			return tTrue, nil
		}
		return tUnknown, nil
	case *Or:
		l, err := eval(e.L, get)
		if err != nil {
			return tUnknown, err
		}
		r, err := eval(e.R, get)
		if err != nil {
			return tUnknown, err
		}
		switch {
		case l == tTrue || r == tTrue:
			return tTrue, nil
		case l == tFalse && r == tFalse:
			return tFalse, nil
		}
		return tUnknown, nil
	case *Not:
		x, err := eval(e.X, get)
		switch x {
		case tTrue:
			return tFalse, err
		case tFalse:
			return tTrue, err
		}
		return tUnknown, err
	case *IsNull:
		v, err := lookup(get, e.Property)
		if err != nil {
			return tUnknown, err
		}
		null := isNil(v)
		return truthOf(null != e.Not), nil
	case *Compare:
		v, err := lookup(get, e.Property)
		if err != nil {
			return tUnknown, err
		}
		return anyElem(v, e.Property, func(x any) (truth, error) { return compareValue(x, e.Op, e.Value) })
	case *Like:
		v, err := lookup(get, e.Property)
		if err != nil {
			return tUnknown, err
		}
		t, err := anyElem(v, e.Property, func(x any) (truth, error) {
			s, ok := textOf(x)
			if !ok {
				return tUnknown, fmt.Errorf("%w: LIKE needs a string, %s is %T", ErrTypeMismatch, e.Property, x)
			}
			return truthOf(like(s, e.Pattern)), nil
		})
		if e.Not && t != tUnknown {
			t = truthOf(t == tFalse)
		}
		return t, err
	case *IsA:
		v, err := lookup(get, e.Property)
		if err != nil {
			return tUnknown, err
		}
		return anyElem(v, e.Property, func(x any) (truth, error) {
			switch x := x.(type) {
			case ClassTester:
				return truthOf(x.IsA(e.Class)), nil
			case string:
				return truthOf(strings.EqualFold(x, e.Class)), nil
			}
			return tUnknown, fmt.Errorf("%w: ISA needs a class, %s is %T", ErrTypeMismatch, e.Property, x)
		})
	}
	return tUnknown, fmt.Errorf("wql: unknown expression %T", e)
}

func lookup(get func(string) (any, bool), name string) (any, error) {
	v, ok := get(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProperty, name)
	}
	return v, nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Pointer, reflect.Map, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// anyElem applies f to v, or to each element when v is a slice (not a
// ClassTester or Stringer slice type), and is true if any result is true.
func anyElem(v any, name string, f func(any) (truth, error)) (truth, error) {
	if isNil(v) {
		return tUnknown, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return f(v)
	}
	if _, ok := v.(fmt.Stringer); ok {
		return f(v)
	}
	result := tFalse
	for i := range rv.Len() {
		t, err := f(rv.Index(i).Interface())
		if err != nil {
			return tUnknown, err
		}
		if t == tTrue {
			return tTrue, nil
		}
		if t == tUnknown {
			result = tUnknown
		}
	}
	return result, nil
}

// textOf returns the string form of a value for LIKE and string
// comparisons.
func textOf(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case fmt.Stringer:
		return v.String(), true
	}
	return "", false
}

// number is an exact integer (neg, mag) or a float.
type number struct {
	isFloat bool
	neg     bool
	mag     uint64
	f       float64
}

func (n number) float() float64 {
	if n.isFloat {
		return n.f
	}
	if n.neg {
		return -float64(n.mag)
	}
	return float64(n.mag)
}

// numberOf returns v as a number if it is one.
func numberOf(v any) (number, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return number{mag: rv.Uint()}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i := rv.Int()
		if i < 0 {
			return number{neg: true, mag: uint64(-(i + 1)) + 1}, true
		}
		return number{mag: uint64(i)}, true
	case reflect.Float32, reflect.Float64:
		return number{isFloat: true, f: rv.Float()}, true
	}
	return number{}, false
}

func literalNumber(l Literal) (number, bool) {
	switch l.Kind {
	case KindInt:
		return number{neg: l.Neg, mag: l.Mag}, true
	case KindReal:
		return number{isFloat: true, f: l.Real}, true
	case KindString:
		return parseNumber(strings.TrimSpace(l.Str))
	}
	return number{}, false
}

func parseNumber(s string) (number, bool) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	if u, err := strconv.ParseUint(body, 0, 64); err == nil && (!neg || u <= 1<<63) {
		return number{neg: neg && u != 0, mag: u}, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return number{isFloat: true, f: f}, true
	}
	return number{}, false
}

// cmpNumbers returns -1, 0, 1, or ok=false when a NaN is involved.
func cmpNumbers(a, b number) (int, bool) {
	if a.isFloat || b.isFloat {
		x, y := a.float(), b.float()
		if math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	switch {
	case a.neg && !b.neg:
		return -1, true
	case !a.neg && b.neg:
		return 1, true
	}
	c := 0
	switch {
	case a.mag < b.mag:
		c = -1
	case a.mag > b.mag:
		c = 1
	}
	if a.neg {
		c = -c
	}
	return c, true
}

func applyOp(op Op, c int) truth {
	switch op {
	case OpEq:
		return truthOf(c == 0)
	case OpNe:
		return truthOf(c != 0)
	case OpLt:
		return truthOf(c < 0)
	case OpLe:
		return truthOf(c <= 0)
	case OpGt:
		return truthOf(c > 0)
	case OpGe:
		return truthOf(c >= 0)
	}
	return tUnknown
}

func compareValue(v any, op Op, lit Literal) (truth, error) {
	switch x := v.(type) {
	case bool:
		var b bool
		switch {
		case lit.Kind == KindBool:
			b = lit.Bool
		case lit.Kind == KindInt && !lit.Neg && lit.Mag <= 1:
			b = lit.Mag == 1
		case lit.Kind == KindString && (strings.EqualFold(lit.Str, "true") || strings.EqualFold(lit.Str, "false")):
			b = strings.EqualFold(lit.Str, "true")
		default:
			return tUnknown, fmt.Errorf("%w: boolean compared with %s", ErrTypeMismatch, lit)
		}
		return applyOp(op, boolInt(x)-boolInt(b)), nil
	case string:
		return applyOp(op, compareFold(x, literalText(lit))), nil
	}
	if n, ok := numberOf(v); ok {
		ln, ok := literalNumber(lit)
		if !ok {
			return tUnknown, fmt.Errorf("%w: number compared with %s", ErrTypeMismatch, lit)
		}
		c, ok := cmpNumbers(n, ln)
		if !ok {
			return tUnknown, nil
		}
		return applyOp(op, c), nil
	}
	if s, ok := textOf(v); ok {
		return applyOp(op, compareFold(s, literalText(lit))), nil
	}
	return tUnknown, fmt.Errorf("%w: cannot compare a value of type %T", ErrTypeMismatch, v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// literalText is the text a literal is compared as against a string.
func literalText(l Literal) string {
	if l.Kind == KindString {
		return l.Str
	}
	if l.Kind == KindBool {
		if l.Bool {
			return "true"
		}
		return "false"
	}
	return l.String()
}

// compareFold compares a and b case-insensitively, rune by rune with simple
// case folding (lower case).
func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		la, lb := toLower(ra), toLower(rb)
		if la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}
