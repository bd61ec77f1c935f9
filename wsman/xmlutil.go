package wsman

import (
	"strings"

	"github.com/beevik/etree"
)

// is reports whether e is the element {ns}local. The local name is
// compared first because it is cheap; the namespace is resolved through the
// in-scope declarations (etree's Space is the prefix).
func is(e *etree.Element, ns, local string) bool {
	return e != nil && e.Tag == local && e.NamespaceURI() == ns
}

// child returns the first child element {ns}local of e, or nil.
func child(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, t := range e.Child {
		if c, ok := t.(*etree.Element); ok && is(c, ns, local) {
			return c
		}
	}
	return nil
}

// firstChild returns the first child element of e, or nil.
func firstChild(e *etree.Element) *etree.Element {
	if e == nil {
		return nil
	}
	for _, t := range e.Child {
		if c, ok := t.(*etree.Element); ok {
			return c
		}
	}
	return nil
}

// textOf returns the concatenated character data (text and CDATA) directly
// inside e. Unlike etree's Text it does not stop at the first child.
func textOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	var first string
	var b *strings.Builder
	n := 0
	for _, t := range e.Child {
		cd, ok := t.(*etree.CharData)
		if !ok {
			continue
		}
		switch n {
		case 0:
			first = cd.Data
		case 1:
			b = &strings.Builder{}
			b.WriteString(first)
			b.WriteString(cd.Data)
		default:
			b.WriteString(cd.Data)
		}
		n++
	}
	if n > 1 {
		return b.String()
	}
	return first
}

// trimmedText is textOf without surrounding XML whitespace, for values
// whose schema type collapses whitespace (URIs, numbers, durations).
func trimmedText(e *etree.Element) string {
	return strings.TrimSpace(textOf(e))
}

// attr returns the value of the attribute with local name key and namespace
// ns ("" for an unqualified attribute), and whether it is present.
func attr(e *etree.Element, ns, key string) (string, bool) {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key != key {
			continue
		}
		if ns == "" {
			if a.Space == "" {
				return a.Value, true
			}
			continue
		}
		if a.Space != "" && a.Space != "xmlns" && a.NamespaceURI() == ns {
			return a.Value, true
		}
	}
	return "", false
}

// isTrue reports whether an xs:boolean attribute value is true.
func isTrue(v string) bool {
	v = strings.TrimSpace(v)
	return v == "true" || v == "1"
}

// mustUnderstand reports whether header element e carries
// mustUnderstand="true" or "1", qualified with the SOAP 1.2 namespace or,
// as pywinrm and masterzen/winrm send it, unqualified.
func mustUnderstand(e *etree.Element) bool {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key != "mustUnderstand" {
			continue
		}
		if a.Space == "" || a.NamespaceURI() == NSSOAP12 {
			return isTrue(a.Value)
		}
	}
	return false
}

// xsiNil reports whether e has xsi:nil="true".
func xsiNil(e *etree.Element) bool {
	v, ok := attr(e, NSXSI, "nil")
	return ok && isTrue(v)
}
