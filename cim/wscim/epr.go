package wscim

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// maxEPRDepth bounds EPRs nested in selectors (a reference-valued key of a
// reference-valued key ...).
const maxEPRDepth = 8

// EncodeEPR appends to parent the content of an endpoint reference for
// path, in the form WS-Management uses for reference values and out
// parameters (DSP0227 §7.2):
//
//	<a:Address>…/role/anonymous</a:Address>
//	<a:ReferenceParameters>
//	  <w:ResourceURI>ResourceURI(path.ClassName)</w:ResourceURI>
//	  <w:SelectorSet>
//	    <w:Selector Name="Key">value</w:Selector> …
//	    <w:Selector Name="__cimnamespace">path.Namespace</w:Selector>
//	  </w:SelectorSet>
//	</a:ReferenceParameters>
//
// Key values are written in their CIM text form (cim.FormatValue); a
// reference-valued key becomes a nested wsa:EndpointReference. The a and w
// prefixes are declared on parent unless an ancestor already binds them to
// the right URIs. The namespace selector is left out when path has no
// namespace.
func EncodeEPR(parent *etree.Element, path cim.ObjectPath) {
	encodeEPR(parent, path, 0)
}

func encodeEPR(parent *etree.Element, path cim.ObjectPath, depth int) {
	declare(parent, "a", NSAddressing)
	declare(parent, "w", NSWSMan)
	parent.CreateElement("a:Address").SetText(AddressAnonymous)
	rp := parent.CreateElement("a:ReferenceParameters")
	rp.CreateElement("w:ResourceURI").SetText(ResourceURI(path.ClassName))
	ss := rp.CreateElement("w:SelectorSet")
	for _, k := range path.Keys {
		sel := ss.CreateElement("w:Selector")
		sel.CreateAttr("Name", k.Name)
		if ref, ok := k.Value.(cim.ObjectPath); ok && depth < maxEPRDepth {
			encodeEPR(sel.CreateElement("a:EndpointReference"), ref, depth+1)
			continue
		}
		sel.SetText(xmlcim.Sanitize(cim.FormatValue(k.Value)))
	}
	if path.Namespace != "" {
		sel := ss.CreateElement("w:Selector")
		sel.CreateAttr("Name", NamespaceSelector)
		sel.SetText(xmlcim.Sanitize(path.Namespace))
	}
}

// declare adds xmlns:prefix="uri" to el unless el or an ancestor already
// binds prefix to uri.
func declare(el *etree.Element, prefix, uri string) {
	if boundURI(el, prefix) != uri {
		el.CreateAttr("xmlns:"+prefix, uri)
	}
}

// boundURI returns the URI that prefix is bound to at el, "" if none.
func boundURI(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// DecodeEPR reads the endpoint reference in el: either el holds Address and
// ReferenceParameters (a reference property or parameter element) or el is
// or wraps a wsa:EndpointReference. Elements are matched by local name, so
// WS-Addressing 2004/08 and 2005/08 and any prefixes work.
//
// The class comes from the ResourceURI (ClassName, or for other URIs such as
// Windows' .../wmi/root/cimv2/Win32_Foo the last path segment); the
// namespace from the __cimnamespace selector, which is not kept as a key.
// Other selectors become keys with string values (or ObjectPath values for
// nested EPRs) in wire order; cim.ObjectPath.ResolveKeys types them for a
// class. Duplicate selector names are an error.
func DecodeEPR(el *etree.Element) (cim.ObjectPath, error) {
	return decodeEPR(el, 0)
}

func decodeEPR(el *etree.Element, depth int) (cim.ObjectPath, error) {
	if depth > maxEPRDepth {
		return cim.ObjectPath{}, fmt.Errorf("wscim: %s: endpoint references nested too deeply", where(el))
	}
	epr := el
	if child := childByLocal(el, "EndpointReference"); child != nil && childByLocal(el, "ReferenceParameters") == nil {
		epr = child
	}
	rp := childByLocal(epr, "ReferenceParameters")
	if rp == nil {
		return cim.ObjectPath{}, fmt.Errorf("wscim: %s: endpoint reference without ReferenceParameters", where(el))
	}
	uriEl := childByLocal(rp, "ResourceURI")
	if uriEl == nil {
		return cim.ObjectPath{}, fmt.Errorf("wscim: %s: endpoint reference without ResourceURI", where(rp))
	}
	uri := strings.TrimSpace(xmlcim.Text(uriEl))
	class, ok := classFromURI(uri)
	if !ok {
		return cim.ObjectPath{}, fmt.Errorf("wscim: %s: ResourceURI %q names no class", where(uriEl), uri)
	}
	path := cim.ObjectPath{ClassName: class}
	seen := map[string]bool{}
	if ss := childByLocal(rp, "SelectorSet"); ss != nil {
		for _, sel := range ss.ChildElements() {
			if sel.Tag != "Selector" {
				continue
			}
			name := strings.TrimSpace(sel.SelectAttrValue("Name", ""))
			if name == "" {
				return cim.ObjectPath{}, fmt.Errorf("wscim: %s: selector without Name", where(sel))
			}
			lname := strings.ToLower(name)
			if seen[lname] {
				return cim.ObjectPath{}, fmt.Errorf("wscim: %s: duplicate selector %s", where(sel), name)
			}
			seen[lname] = true
			if nested := childByLocal(sel, "EndpointReference"); nested != nil {
				ref, err := decodeEPR(nested, depth+1)
				if err != nil {
					return cim.ObjectPath{}, err
				}
				path.Keys = append(path.Keys, cim.KeyBinding{Name: name, Value: ref})
				continue
			}
			if strings.EqualFold(name, NamespaceSelector) {
				path.Namespace = strings.TrimSpace(xmlcim.Text(sel))
				continue
			}
			path.Keys = append(path.Keys, cim.KeyBinding{Name: name, Value: xmlcim.Text(sel)})
		}
	}
	return path, nil
}

// classFromURI is ClassName, falling back to the last path segment of
// other ResourceURIs when it is a class name.
func classFromURI(uri string) (string, bool) {
	if c, ok := ClassName(uri); ok {
		return c, true
	}
	if i := strings.LastIndexByte(uri, '/'); i >= 0 && strings.Contains(uri[:i], "://") {
		if c := strings.TrimSuffix(uri[i+1:], ".xsd"); validClassName(c) {
			return c, true
		}
	}
	return "", false
}

// childByLocal returns the first child element with local name local.
func childByLocal(el *etree.Element, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == local {
			return c
		}
	}
	return nil
}

// where describes the position of el for error messages: its path of
// prefixed names from the root, with the 1-based index among same-named
// siblings where there are several.
func where(el *etree.Element) string { return xmlcim.Locator{}.Where(el) }
