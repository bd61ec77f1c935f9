// Package xmlcim holds what the two XML encodings of CIM instances, CIM-XML
// (cim/cimxml) and WS-CIM (cim/wscim), do alike: the text of scalar
// values, the characters XML can carry, reading the text and attributes of
// etree elements, describing an element's position in error messages, and
// the rule that picks the class of a decoded instance.
//
// Imports: the standard library, github.com/beevik/etree and cim.
package xmlcim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
)

// MaxEmbedDepth bounds instances embedded in instances, when encoding and
// when decoding.
const MaxEmbedDepth = 8

// Errors of instance decoding, shared by both encodings (cimxml and wscim
// export them under their own names) and wrapped with the position in the
// document.
var (
	ErrUnknownClass    = errors.New("unknown class")
	ErrUnknownProperty = errors.New("unknown property")
	ErrClassMismatch   = errors.New("class mismatch")
)

// ResolveClass picks the class of a decoded instance element: the first
// of names (the candidates the element offers, empty ones skipped) that
// is a class in reg. expect is the class the caller expects, "" for none.
//
// A class in reg must be expect or derive from it (else ErrClassMismatch).
// When no name is a class in reg the instance is decoded as expect and
// lenient is true: the caller then ignores properties that expect does
// not define, because they belong to the unknown subclass (a vendor
// subclass such as Msvm_VirtualSystemMigrationSettingData). Without
// expect an unknown class is ErrUnknownClass, named by the last name
// tried. Errors carry no position; the caller wraps them.
func ResolveClass(reg cim.Registry, expect string, names ...string) (c *cim.Class, lenient bool, err error) {
	name := ""
	for _, n := range names {
		if n == "" {
			continue
		}
		name = n
		if c, ok := reg.Class(n); ok {
			if expect != "" && !reg.IsA(c.Name, expect) {
				return nil, false, fmt.Errorf("%w: %s is not a %s", ErrClassMismatch, c.Name, expect)
			}
			return c, false, nil
		}
	}
	if expect == "" {
		return nil, false, fmt.Errorf("%w %s", ErrUnknownClass, name)
	}
	c, ok := reg.Class(expect)
	if !ok {
		return nil, false, fmt.Errorf("%w %s (the expected class)", ErrUnknownClass, expect)
	}
	return c, true, nil
}

// ValueText returns the element text of the scalar value v of CIM type t:
// cim.FormatValue, except that a real is written with the shortest text
// that reads back as the same value at the precision of t (float32 for
// real32), and that characters XML 1.0 cannot carry are replaced (see
// Sanitize). Infinities and NaN come out as strconv writes them (+Inf,
// -Inf, NaN).
func ValueText(t cim.Type, v any) string {
	if f, ok := v.(float64); ok {
		bits := 64
		if t == cim.Real32 {
			bits = 32
		}
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return Sanitize(cim.FormatValue(v))
}

// Sanitize replaces the characters XML 1.0 cannot carry (C0 controls other
// than tab, LF and CR; surrogates; U+FFFE, U+FFFF; bytes that are not
// UTF-8) with '?', as Windows WinRM does, so that the text survives
// serialization. Text that needs no change is returned as is, without
// allocating.
func Sanitize(s string) string {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !legal(r, w) {
			break
		}
		i += w
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if legal(r, w) {
			b.WriteString(s[i : i+w])
		} else {
			b.WriteByte('?')
		}
		i += w
	}
	return b.String()
}

// legal reports whether the rune r, decoded from w bytes, is an XML 1.0
// Char (and not the decoding error of a byte that is not UTF-8).
func legal(r rune, w int) bool {
	if r == utf8.RuneError && w == 1 {
		return false
	}
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// Text returns the character data directly inside el: its text and CDATA
// sections, without comments or the text of child elements.
func Text(el *etree.Element) string {
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

// Attr returns the value of el's attribute named name, matched
// case-insensitively and whatever its prefix (namespace declarations
// excepted), and whether there is one.
func Attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if strings.EqualFold(a.Key, name) && a.Space != "xmlns" {
			return a.Value, true
		}
	}
	return "", false
}

// Locator describes positions of elements for error messages. The zero
// Locator writes the path of prefixed element names from the root,
// /a/b[2]/c, with the 1-based index of an element among its same-named
// siblings where there are several.
type Locator struct {
	// KeyAttr, when set, names an attribute (see Attr) that identifies an
	// element better than its index: an element that has it is written
	// b[@NAME=x] instead of b[2].
	KeyAttr string
	// LocalNames counts siblings as same-named when their local names are
	// equal, whatever their prefixes.
	LocalNames bool
}

// Where returns the position of el.
func (l Locator) Where(el *etree.Element) string {
	var parts []string
	for e := el; e != nil && e.Tag != ""; e = e.Parent() {
		part := e.FullTag()
		if key, _ := l.key(e); key != "" {
			part += "[@" + l.KeyAttr + "=" + key + "]"
		} else if p := e.Parent(); p != nil {
			n, idx := 0, 0
			for _, s := range p.ChildElements() {
				if s.Tag == e.Tag && (l.LocalNames || s.Space == e.Space) {
					n++
					if s == e {
						idx = n
					}
				}
			}
			if n > 1 {
				part += "[" + strconv.Itoa(idx) + "]"
			}
		}
		parts = append(parts, part)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func (l Locator) key(e *etree.Element) (string, bool) {
	if l.KeyAttr == "" {
		return "", false
	}
	return Attr(e, l.KeyAttr)
}
