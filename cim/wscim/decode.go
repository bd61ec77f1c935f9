package wscim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
	"github.com/vsmig/vsmig/wsman/xsd"
)

// Errors of DecodeInstance, wrapped with the position in the document.
// They are the errors of cimxml.DecodeInstance too.
var (
	ErrUnknownClass    = xmlcim.ErrUnknownClass
	ErrUnknownProperty = xmlcim.ErrUnknownProperty
	ErrClassMismatch   = xmlcim.ErrClassMismatch
)

// DecodeOptions tunes DecodeInstance.
type DecodeOptions struct {
	// Expect is the class the caller expects (the EmbeddedInstance class of
	// a parameter, or the class of the ResourceURI of a Put), "" for none.
	//
	// When the element's class is in the registry it must be Expect or
	// derive from it (else ErrClassMismatch), and every property element
	// must name a property of that class (else ErrUnknownProperty).
	//
	// When the element's class is not in the registry - a vendor subclass
	// such as Msvm_VirtualSystemMigrationSettingData sent by a Hyper-V
	// client - the instance is decoded as an instance of Expect, and
	// property elements that Expect does not define are ignored, because
	// they belong to the unknown subclass. Without Expect an unknown class
	// is ErrUnknownClass.
	Expect string
	// Namespace is the CIM namespace given to the decoded instance.
	Namespace string
}

// DecodeInstance reads the WS-CIM instance element el, in the forms
// EncodeInstance writes and Windows MI clients send:
//
//	<p0:Class xmlns:p0="…/Class" xsi:type="p0:Class_Type">
//	  <p0:Prop xsi:type="cim:cimString">text</p0:Prop>
//	  <p0:Arr>1</p0:Arr><p0:Arr>2</p0:Arr>
//	  <p0:When><cim:Datetime>2024-05-01T10:00:00Z</cim:Datetime></p0:When>
//	  <p0:Ref><a:Address>…</a:Address><a:ReferenceParameters>…</a:ReferenceParameters></p0:Ref>
//	  <p0:Missing xsi:nil="true"/>
//	</p0:Class>
//
// The class is the element's local name, or when that is not a class in
// reg the name in its xsi:type attribute (minus "_Type"); see
// DecodeOptions.Expect for unknown classes. Property elements are matched
// by local name, case-insensitively, in any namespace except the WS-CIM
// common one (whose cim:Location and similar elements are skipped).
// Attribute QNames (xsi:type values) are not resolved, so undeclared
// prefixes are harmless; xsi:nil is recognised by namespace or by the
// prefix "xsi". Repeated elements form arrays (a single nil element is a
// NULL array); a scalar property given twice is an error. Datetimes may be
// wrapped in cim:Datetime (xs:dateTime), cim:Interval (xs:duration),
// cim:Date, cim:Time or cim:CIM_DateTime (CIM text form), or be plain
// text in any of these forms. An EmbeddedInstance string property may hold
// a nested instance element, or the embedded instance's properties
// directly with the class in the property element's xsi:type; it may also
// hold plain text, kept as a string. Values are range-checked for their
// CIM types.
func DecodeInstance(el *etree.Element, reg cim.Registry, opt DecodeOptions) (*cim.Instance, error) {
	if el == nil {
		return nil, errors.New("wscim: no instance element")
	}
	return decodeInstance(el, reg, opt.Expect, opt.Namespace, 0)
}

// xsiAttr returns the value of el's xsi: attribute named key, recognised
// by namespace or by the prefix "xsi" (clients forget to declare it), and
// whether there is one.
func xsiAttr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Key == key && (a.Space == "xsi" || a.Space != "" && a.NamespaceURI() == NSXSI) {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

// typeAttrClass returns the class named by el's xsi:type ("p0:X_Type" or
// "X"), or "".
func typeAttrClass(el *etree.Element) string {
	v, _ := xsiAttr(el, "type")
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSuffix(v, "_Type")
}

// isNilElement reports xsi:nil="true" (or "1") on el.
func isNilElement(el *etree.Element) bool {
	v, _ := xsiAttr(el, "nil")
	return v == "true" || v == "1"
}

// resolveClass picks the class of an instance element, named by its local
// name or else by its xsi:type; lenient reports that the element's own
// class is unknown and expect is used instead (see xmlcim.ResolveClass).
func resolveClass(el *etree.Element, reg cim.Registry, expect string) (c *cim.Class, lenient bool, err error) {
	c, lenient, err = xmlcim.ResolveClass(reg, expect, el.Tag, typeAttrClass(el))
	if err != nil {
		return nil, false, fmt.Errorf("wscim: %s: %w", where(el), err)
	}
	return c, lenient, nil
}

func decodeInstance(el *etree.Element, reg cim.Registry, expect, ns string, depth int) (*cim.Instance, error) {
	if depth > maxEmbedDepth {
		return nil, fmt.Errorf("wscim: %s: embedded instances nested too deeply", where(el))
	}
	c, lenient, err := resolveClass(el, reg, expect)
	if err != nil {
		return nil, err
	}
	// Group the property elements by property, in order of appearance.
	var order []*cim.Property
	groups := map[*cim.Property][]*etree.Element{}
	for _, pe := range el.ChildElements() {
		if pe.Space != "" && pe.NamespaceURI() == NSCommon {
			continue
		}
		p := c.Property(pe.Tag)
		if p == nil {
			if lenient {
				continue
			}
			return nil, fmt.Errorf("wscim: %s: %w %s in class %s", where(pe), ErrUnknownProperty, pe.Tag, c.Name)
		}
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], pe)
	}
	inst := cim.NewInstance(c, ns)
	for _, p := range order {
		elems := groups[p]
		v, err := decodeProperty(p, elems, reg, ns, depth)
		if err != nil {
			return nil, err
		}
		if err := inst.Set(p.Name, v); err != nil {
			return nil, fmt.Errorf("wscim: %s: %w", where(elems[0]), err)
		}
	}
	return inst, nil
}

func decodeProperty(p *cim.Property, elems []*etree.Element, reg cim.Registry, ns string, depth int) (any, error) {
	if !p.Array {
		if len(elems) > 1 {
			return nil, fmt.Errorf("wscim: %s: property %s is not an array but is given %d times", where(elems[1]), p.Name, len(elems))
		}
		return decodeValue(elems[0], p, reg, ns, depth)
	}
	if len(elems) == 1 && isNilElement(elems[0]) {
		return nil, nil
	}
	items := make([]any, len(elems))
	for i, pe := range elems {
		v, err := decodeValue(pe, p, reg, ns, depth)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("wscim: %s: NULL element in array %s", where(pe), p.Name)
		}
		items[i] = v
	}
	v, err := cim.ConvertValue(p.Type, true, items)
	if err != nil {
		return nil, fmt.Errorf("wscim: %s: %w", where(elems[0]), err)
	}
	return v, nil
}

// decodeValue decodes the value of one property element.
func decodeValue(pe *etree.Element, p *cim.Property, reg cim.Registry, ns string, depth int) (any, error) {
	if isNilElement(pe) {
		return nil, nil
	}
	children := pe.ChildElements()
	switch {
	case p.Type == cim.Reference:
		path, err := DecodeEPR(pe)
		if err != nil {
			return nil, err
		}
		return path, nil
	case p.Type == cim.DatetimeType && len(children) > 0:
		return decodeDatetimeElement(children[0])
	case len(children) > 0 && (p.Type == cim.String && p.EmbeddedInstance != ""):
		inst, err := decodeEmbedded(pe, children, p, reg, ns, depth)
		if err != nil {
			return nil, err
		}
		return inst, nil
	case len(children) > 0:
		return nil, fmt.Errorf("wscim: %s: unexpected element content in %s property %s", where(children[0]), p.Type, p.Name)
	}
	text := xmlcim.Text(pe)
	v, err := parseScalar(p.Type, text)
	if err != nil {
		return nil, fmt.Errorf("wscim: %s: property %s: %w", where(pe), p.Name, err)
	}
	return v, nil
}

// decodeEmbedded decodes an embedded instance: a single nested instance
// element, or the instance's properties directly inside pe. The nested
// form is recognised by a child named after (or typed as) a class in reg;
// failing that, an xsi:type class name on pe selects the direct form, and
// a single child that has element children of its own the nested form.
func decodeEmbedded(pe *etree.Element, children []*etree.Element, p *cim.Property, reg cim.Registry, ns string, depth int) (*cim.Instance, error) {
	nested := false
	if len(children) == 1 {
		c := children[0]
		_, known := reg.Class(c.Tag)
		if !known {
			_, known = reg.Class(typeAttrClass(c))
		}
		switch {
		case known:
			nested = true
		case validClassName(typeAttrClass(pe)):
			nested = false
		default:
			nested = len(c.ChildElements()) > 0 || validClassName(typeAttrClass(c))
		}
	}
	if nested {
		return decodeInstance(children[0], reg, p.EmbeddedInstance, ns, depth+1)
	}
	return decodeInstance(pe, reg, p.EmbeddedInstance, ns, depth+1)
}

// decodeDatetimeElement decodes the cim:Datetime, cim:Interval, cim:Date,
// cim:Time or cim:CIM_DateTime wrapper of a datetime value.
func decodeDatetimeElement(el *etree.Element) (any, error) {
	text := strings.TrimSpace(xmlcim.Text(el))
	var (
		d   cim.Datetime
		err error
	)
	switch el.Tag {
	case "Datetime":
		t, e := xsd.ParseDateTime(text)
		d, err = cim.Timestamp(t), e
	case "Interval":
		dur, e := ParseInterval(text)
		d, err = cim.IntervalOf(dur), e
	case "Date":
		t, e := xsd.ParseDate(text)
		d, err = cim.Timestamp(t), e
	case "Time":
		t, e := xsd.ParseTime(text)
		d, err = cim.Timestamp(t), e
	case "CIM_DateTime":
		d, err = cim.ParseDatetime(text)
	default:
		return nil, fmt.Errorf("wscim: %s: unexpected element in datetime property", where(el))
	}
	if err != nil {
		return nil, fmt.Errorf("wscim: %s: %w", where(el), err)
	}
	return d, nil
}

// DecodeEmbedded decodes the embedded instance carried as element content
// by pe, a property or method parameter element (for example
// <p:MigrationSettingData> of an Invoke): either one nested instance
// element, <p:X><q:Class …>…</q:Class></p:X>, or the instance's properties
// directly inside pe with the class in pe's xsi:type. The class rules of
// DecodeInstance apply with opt.Expect (typically the EmbeddedInstance
// class of the parameter).
func DecodeEmbedded(pe *etree.Element, reg cim.Registry, opt DecodeOptions) (*cim.Instance, error) {
	if pe == nil {
		return nil, errors.New("wscim: no element")
	}
	children := pe.ChildElements()
	if len(children) == 0 {
		return nil, fmt.Errorf("wscim: %s: no embedded instance element", where(pe))
	}
	return decodeEmbedded(pe, children, &cim.Property{Type: cim.String, EmbeddedInstance: opt.Expect}, reg, opt.Namespace, 0)
}
