package wsman

import (
	"bytes"
	"sort"

	"github.com/beevik/etree"
)

// serializeDetached writes e as a standalone fragment: like writeElement,
// plus declarations on e for every prefix the subtree uses but declares
// above e, so that the fragment keeps its meaning when copied into another
// document (a NotifyTo reference parameter into an event's header).
func serializeDetached(e *etree.Element) string {
	decl := map[string]string{} // prefix ("" for the default) -> URI
	declared := func(el *etree.Element, prefix string) bool {
		for p := el; p != nil; p = p.Parent() {
			for _, a := range p.Attr {
				if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (a.Space == "xmlns" && a.Key == prefix) {
					return true
				}
			}
			if p == e {
				return false
			}
		}
		return false
	}
	var visit func(el *etree.Element)
	visit = func(el *etree.Element) {
		if !declared(el, el.Space) {
			if _, ok := decl[el.Space]; !ok {
				if uri := el.NamespaceURI(); uri != "" || el.Space != "" {
					decl[el.Space] = uri
				}
			}
		}
		for _, a := range el.Attr {
			if a.Space == "" || a.Space == "xmlns" || a.Space == "xml" {
				continue
			}
			if !declared(el, a.Space) {
				if _, ok := decl[a.Space]; !ok {
					decl[a.Space] = a.NamespaceURI()
				}
			}
		}
		for _, c := range el.ChildElements() {
			visit(c)
		}
	}
	visit(e)
	cp := e.Copy()
	prefixes := make([]string, 0, len(decl))
	for p := range decl {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		if p == "" {
			cp.CreateAttr("xmlns", decl[p])
		} else {
			cp.CreateAttr("xmlns:"+p, decl[p])
		}
	}
	var b bytes.Buffer
	writeElement(&b, cp)
	return b.String()
}
