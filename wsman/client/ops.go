package client

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Identity is an IdentifyResponse.
type Identity struct {
	ProtocolVersion  string
	ProductVendor    string
	ProductVersion   string
	SecurityProfiles []string
}

// Identify sends a WS-Management Identify.
func (c *Client) Identify(ctx context.Context) (*Identity, error) {
	doc := etree.NewDocument()
	env := doc.CreateElement("s:Envelope")
	env.CreateAttr("xmlns:s", NSSOAP)
	env.CreateAttr("xmlns:wsmid", NSIdentity)
	env.CreateElement("s:Header")
	env.CreateElement("s:Body").CreateElement("wsmid:Identify")
	payload, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	body, err := c.post(ctx, payload)
	if err != nil {
		return nil, err
	}
	r := find(body, NSIdentity, "IdentifyResponse")
	if r == nil {
		return nil, fmt.Errorf("client: no IdentifyResponse in the reply")
	}
	id := &Identity{
		ProtocolVersion: text(find(r, NSIdentity, "ProtocolVersion")),
		ProductVendor:   text(find(r, NSIdentity, "ProductVendor")),
		ProductVersion:  text(find(r, NSIdentity, "ProductVersion")),
	}
	for _, e := range r.FindElements(".//*") {
		if e.Tag == "SecurityProfileName" {
			id.SecurityProfiles = append(id.SecurityProfiles, strings.TrimSpace(e.Text()))
		}
	}
	return id, nil
}

// Value is one value of a property or output parameter: text, NULL, or a
// reference.
type Value struct {
	Text string
	Nil  bool
	Ref  *Ref
}

// Ref is an endpoint reference as a ResourceURI and selectors.
type Ref struct {
	ResourceURI string
	Selectors   map[string]string
}

// Object is a decoded resource representation or method output: its element
// name and its properties (repeated elements give several values).
type Object struct {
	Name       string
	URI        string // the element's namespace: the ResourceURI of its class
	Properties map[string][]Value
	Order      []string // property names in wire order
}

// Get returns the text of the first value of name, "" if absent or NULL.
func (o *Object) Get(name string) string {
	vs := o.Properties[name]
	if len(vs) == 0 {
		return ""
	}
	return vs[0].Text
}

// Ref returns the first value of name as a reference, nil if it is not one.
func (o *Object) Ref(name string) *Ref {
	vs := o.Properties[name]
	if len(vs) == 0 {
		return nil
	}
	return vs[0].Ref
}

// Uint returns the first value of name as an unsigned integer.
func (o *Object) Uint(name string) (uint64, bool) {
	n, err := strconv.ParseUint(o.Get(name), 10, 64)
	return n, err == nil
}

// Texts returns every value of name as text.
func (o *Object) Texts(name string) []string {
	var out []string
	for _, v := range o.Properties[name] {
		out = append(out, v.Text)
	}
	return out
}

// DecodeObject decodes a WS-CIM instance element or a method output element.
func DecodeObject(e *etree.Element) *Object {
	o := &Object{Name: e.Tag, URI: e.NamespaceURI(), Properties: map[string][]Value{}}
	for _, c := range e.ChildElements() {
		if _, seen := o.Properties[c.Tag]; !seen {
			o.Order = append(o.Order, c.Tag)
		}
		o.Properties[c.Tag] = append(o.Properties[c.Tag], decodeValue(c))
	}
	return o
}

func decodeValue(e *etree.Element) Value {
	for _, a := range e.Attr {
		if a.Key == "nil" && (a.Value == "true" || a.Value == "1") {
			return Value{Nil: true}
		}
	}
	if r := DecodeRef(e); r != nil {
		return Value{Ref: r}
	}
	if kids := e.ChildElements(); len(kids) > 0 {
		// cim:Datetime / cim:Interval wrappers carry the value as text.
		return Value{Text: strings.TrimSpace(kids[0].Text())}
	}
	return Value{Text: e.Text()}
}

// DecodeRef reads an EPR-valued element (with or without an
// EndpointReference wrapper); nil if e is not one.
func DecodeRef(e *etree.Element) *Ref {
	if w := find(e, NSAddressing, "EndpointReference"); w != nil {
		e = w
	}
	rp := find(e, NSAddressing, "ReferenceParameters")
	if rp == nil {
		return nil
	}
	r := &Ref{ResourceURI: text(find(rp, NSWSMan, "ResourceURI")), Selectors: map[string]string{}}
	if ss := find(rp, NSWSMan, "SelectorSet"); ss != nil {
		for _, s := range ss.ChildElements() {
			if s.Tag == "Selector" {
				r.Selectors[s.SelectAttrValue("Name", "")] = strings.TrimSpace(s.Text())
			}
		}
	}
	return r
}

// AppendRef writes r as EPR content (Address + ReferenceParameters, no
// wrapper, as Windows does) under parent.
func AppendRef(parent *etree.Element, r *Ref) {
	parent.CreateElement("a:Address").SetText(Anonymous)
	rp := parent.CreateElement("a:ReferenceParameters")
	rp.CreateElement("w:ResourceURI").SetText(r.ResourceURI)
	ss := rp.CreateElement("w:SelectorSet")
	for _, k := range sortedKeys(r.Selectors) {
		s := ss.CreateElement("w:Selector")
		s.CreateAttr("Name", k)
		s.SetText(r.Selectors[k])
	}
}

// Get fetches the resource selected by resourceURI and selectors.
func (c *Client) Get(ctx context.Context, resourceURI string, selectors map[string]string) (*Object, error) {
	body, err := c.Do(ctx, Request{Action: NSTransfer + "/Get", ResourceURI: resourceURI, Selectors: selectors})
	if err != nil {
		return nil, err
	}
	kids := body.ChildElements()
	if len(kids) == 0 {
		return nil, fmt.Errorf("client: empty Get response")
	}
	return DecodeObject(kids[0]), nil
}

// Delete deletes the resource selected by resourceURI and selectors.
func (c *Client) Delete(ctx context.Context, resourceURI string, selectors map[string]string) error {
	_, err := c.Do(ctx, Request{Action: NSTransfer + "/Delete", ResourceURI: resourceURI, Selectors: selectors})
	return err
}

// Item is one enumerated item: the object and, when requested, its EPR.
type Item struct {
	Object *Object
	Ref    *Ref
}

// EnumerateOptions shape an enumeration.
type EnumerateOptions struct {
	// Filter is the filter element's content; Dialect its dialect.
	Dialect string
	Filter  *etree.Element // for the association dialect: the b:AssociatedInstances element
	Query   string         // for text dialects such as WQL
	// WithEPR asks for EnumerateObjectAndEPR.
	WithEPR bool
	// Namespace is sent as the __cimnamespace selector.
	Namespace   string
	MaxElements int // per batch, default 100
}

// Enumerate runs an optimized enumeration and pulls to the end.
func (c *Client) Enumerate(ctx context.Context, resourceURI string, opt EnumerateOptions) ([]Item, error) {
	if opt.MaxElements <= 0 {
		opt.MaxElements = 100
	}
	var sel map[string]string
	if opt.Namespace != "" {
		sel = map[string]string{"__cimnamespace": opt.Namespace}
	}
	en := etree.NewElement("n:Enumerate")
	en.CreateElement("w:OptimizeEnumeration")
	en.CreateElement("w:MaxElements").SetText(strconv.Itoa(opt.MaxElements))
	if opt.WithEPR {
		en.CreateElement("w:EnumerationMode").SetText("EnumerateObjectAndEPR")
	}
	if opt.Dialect != "" {
		f := en.CreateElement("w:Filter")
		f.CreateAttr("Dialect", opt.Dialect)
		if opt.Filter != nil {
			f.AddChild(opt.Filter)
		} else {
			f.SetText(opt.Query)
		}
	}
	body, err := c.Do(ctx, Request{Action: NSEnumeration + "/Enumerate", ResourceURI: resourceURI, Selectors: sel, Body: en})
	if err != nil {
		return nil, err
	}
	resp := find(body, NSEnumeration, "EnumerateResponse")
	if resp == nil {
		return nil, fmt.Errorf("client: no EnumerateResponse")
	}
	items := decodeItems(find(resp, NSWSMan, "Items"))
	ctxID := text(find(resp, NSEnumeration, "EnumerationContext"))
	done := find(resp, NSWSMan, "EndOfSequence") != nil
	for !done && ctxID != "" {
		pull := etree.NewElement("n:Pull")
		pull.CreateElement("n:EnumerationContext").SetText(ctxID)
		pull.CreateElement("n:MaxElements").SetText(strconv.Itoa(opt.MaxElements))
		body, err := c.Do(ctx, Request{Action: NSEnumeration + "/Pull", ResourceURI: resourceURI, Selectors: sel, Body: pull})
		if err != nil {
			return items, err
		}
		resp := find(body, NSEnumeration, "PullResponse")
		if resp == nil {
			return items, fmt.Errorf("client: no PullResponse")
		}
		items = append(items, decodeItems(find(resp, NSEnumeration, "Items"))...)
		ctxID = text(find(resp, NSEnumeration, "EnumerationContext"))
		done = find(resp, NSEnumeration, "EndOfSequence") != nil
	}
	return items, nil
}

func decodeItems(e *etree.Element) []Item {
	if e == nil {
		return nil
	}
	var out []Item
	for _, c := range e.ChildElements() {
		switch {
		case c.Tag == "Item" && c.NamespaceURI() == NSWSMan:
			var it Item
			for _, k := range c.ChildElements() {
				if k.Tag == "EndpointReference" && k.NamespaceURI() == NSAddressing {
					it.Ref = DecodeRef(k)
				} else {
					it.Object = DecodeObject(k)
				}
			}
			out = append(out, it)
		case c.Tag == "EndpointReference" && c.NamespaceURI() == NSAddressing:
			out = append(out, Item{Ref: DecodeRef(c)})
		default:
			out = append(out, Item{Object: DecodeObject(c)})
		}
	}
	return out
}

// Param is one input parameter of Invoke. Exactly one of Text, Ref,
// Element is used; several Params with the same Name make an array.
type Param struct {
	Name    string
	Text    string
	Ref     *Ref
	Element *etree.Element // e.g. an embedded instance in element form
}

// Invoke calls method on the resource selected by resourceURI and
// selectors and returns the decoded <Method>_OUTPUT.
func (c *Client) Invoke(ctx context.Context, resourceURI, method string, selectors map[string]string, params []Param) (*Object, error) {
	in := etree.NewElement("p:" + method + "_INPUT")
	in.CreateAttr("xmlns:p", resourceURI)
	for _, p := range params {
		e := in.CreateElement("p:" + p.Name)
		switch {
		case p.Ref != nil:
			AppendRef(e, p.Ref)
		case p.Element != nil:
			e.AddChild(p.Element)
		default:
			e.SetText(p.Text)
		}
	}
	body, err := c.Do(ctx, Request{Action: resourceURI + "/" + method, ResourceURI: resourceURI, Selectors: selectors, Body: in})
	if err != nil {
		return nil, err
	}
	kids := body.ChildElements()
	if len(kids) == 0 {
		return nil, fmt.Errorf("client: empty %s response", method)
	}
	return DecodeObject(kids[0]), nil
}

func text(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Text())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
