// Package cimxml reads and writes CIM instances in the DMTF CIM-XML form
// (DSP0201): <INSTANCE CLASSNAME="X"> with PROPERTY, PROPERTY.ARRAY and
// PROPERTY.REFERENCE children. WS-Man clients that talk to Hyper-V (and
// PowerShell's CIM cmdlets) pass embedded-instance method parameters as
// such text, often produced by WMI's GetText_(1), so decoding tolerates
// what WMI writes; encoding is used for CIM_Error in job GetError output.
//
// Imports: the standard library, github.com/beevik/etree, cim and
// cim/internal/xmlcim (what this package shares with the other XML encoding).
package cimxml

import (
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// Limits on untrusted input.
const (
	// MaxTextSize is the largest CIM-XML text DecodeInstance accepts.
	MaxTextSize = 1 << 20
	// maxXMLDepth bounds element nesting of one document.
	maxXMLDepth = 32
	// maxEmbedDepth bounds instances embedded (as escaped text) in
	// instances.
	maxEmbedDepth = xmlcim.MaxEmbedDepth
)

// Errors of DecodeInstance, wrapped with the position in the document.
// They are the errors of wscim.DecodeInstance too.
var (
	ErrUnknownClass    = xmlcim.ErrUnknownClass
	ErrUnknownProperty = xmlcim.ErrUnknownProperty
	ErrClassMismatch   = xmlcim.ErrClassMismatch
)

// DecodeInstance parses one CIM-XML instance: the text of an
// EmbeddedInstance parameter after XML unescaping (whether it arrived in
// CDATA or escaped). Optionally preceded by an XML declaration; a DOCTYPE
// is rejected. The root may also be a VALUE.NAMEDINSTANCE or VALUE.OBJECT
// wrapping the INSTANCE.
//
// Tolerated as WMI's GetText_(1) writes them: system properties (NAME
// starting with "__", ignored), CLASSORIGIN, PROPAGATED, EmbeddedObject
// and xml:lang attributes, QUALIFIER elements (ignored), a property
// without VALUE (NULL; an empty VALUE is the empty string), and TYPE
// attributes, which are ignored in favour of the class's own property
// types (values must parse as those).
//
// The class is CLASSNAME. When it is in reg it must be expect or derive
// from it (ErrClassMismatch), and every non-system property must be a
// property of the class (ErrUnknownProperty). When it is not in reg and
// expect is set, the instance is decoded as an instance of expect and
// properties that expect does not define are ignored - they belong to the
// unknown subclass, such as Msvm_VirtualSystemMigrationSettingData for
// CIM_VirtualSystemMigrationSettingData. Without expect an unknown class is
// ErrUnknownClass.
//
// Embedded instances inside properties (EmbeddedInstance string
// properties) may be escaped CIM-XML text in VALUE or an INSTANCE element
// directly inside VALUE; other text is kept as a string. The decoded
// instance has no namespace; the caller sets it.
func DecodeInstance(text string, reg cim.Registry, expect string) (*cim.Instance, error) {
	return decodeText(text, reg, expect, 0)
}

func decodeText(text string, reg cim.Registry, expect string, depth int) (*cim.Instance, error) {
	if depth > maxEmbedDepth {
		return nil, errors.New("cimxml: embedded instances nested too deeply")
	}
	root, err := parseDocument(text)
	if err != nil {
		return nil, err
	}
	inst := root
	if inst.Tag != "INSTANCE" {
		inst = findInstance(root)
		if inst == nil {
			return nil, fmt.Errorf("cimxml: %s: expected INSTANCE", where(root))
		}
	}
	return decodeInstance(inst, reg, expect, depth)
}

// parseDocument parses text with the package limits and returns the root.
func parseDocument(text string) (*etree.Element, error) {
	if len(text) > MaxTextSize {
		return nil, fmt.Errorf("cimxml: text of %d bytes exceeds the limit of %d", len(text), MaxTextSize)
	}
	if i := indexFold(text, "<!DOCTYPE"); i >= 0 {
		return nil, fmt.Errorf("cimxml: offset %d: DOCTYPE is not allowed", i)
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: maxXMLDepth}
	if err := doc.ReadFromString(text); err != nil {
		return nil, fmt.Errorf("cimxml: malformed XML: %w", err)
	}
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Directive:
			return nil, errors.New("cimxml: XML directives (DOCTYPE) are not allowed")
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, errors.New("cimxml: text outside the root element")
			}
		}
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("cimxml: no root element")
	}
	if len(doc.ChildElements()) > 1 {
		return nil, errors.New("cimxml: more than one root element")
	}
	return root, nil
}

func indexFold(s, sub string) int {
	return strings.Index(strings.ToUpper(s), strings.ToUpper(sub))
}

// findInstance returns the INSTANCE inside a VALUE.NAMEDINSTANCE,
// VALUE.OBJECT or VALUE.OBJECTWITHPATH wrapper.
func findInstance(el *etree.Element) *etree.Element {
	switch el.Tag {
	case "VALUE.NAMEDINSTANCE", "VALUE.OBJECT", "VALUE.OBJECTWITHPATH", "VALUE.OBJECTWITHLOCALPATH":
		return el.SelectElement("INSTANCE")
	}
	return nil
}

func decodeInstance(el *etree.Element, reg cim.Registry, expect string, depth int) (*cim.Instance, error) {
	name, _ := xmlcim.Attr(el, "CLASSNAME")
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("cimxml: %s: INSTANCE without CLASSNAME", where(el))
	}
	c, lenient, err := resolveClass(el, name, reg, expect)
	if err != nil {
		return nil, err
	}
	inst := cim.NewInstance(c, "")
	seen := map[string]bool{}
	for _, pe := range el.ChildElements() {
		switch pe.Tag {
		case "QUALIFIER":
			continue
		case "PROPERTY", "PROPERTY.ARRAY", "PROPERTY.REFERENCE", "PROPERTY.OBJECT":
		default:
			return nil, fmt.Errorf("cimxml: %s: unexpected element in INSTANCE", where(pe))
		}
		pname, _ := xmlcim.Attr(pe, "NAME")
		if pname == "" {
			return nil, fmt.Errorf("cimxml: %s: %s without NAME", where(pe), pe.Tag)
		}
		if strings.HasPrefix(pname, "__") {
			continue // WMI system property
		}
		p := c.Property(pname)
		if p == nil {
			if lenient {
				continue
			}
			return nil, fmt.Errorf("cimxml: %s: %w %s in class %s", where(pe), ErrUnknownProperty, pname, c.Name)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("cimxml: %s: property %s given twice", where(pe), p.Name)
		}
		seen[p.Name] = true
		v, err := decodeProperty(pe, p, reg, depth)
		if err != nil {
			return nil, err
		}
		if err := inst.Set(p.Name, v); err != nil {
			return nil, fmt.Errorf("cimxml: %s: %w", where(pe), err)
		}
	}
	return inst, nil
}

func resolveClass(el *etree.Element, name string, reg cim.Registry, expect string) (*cim.Class, bool, error) {
	c, lenient, err := xmlcim.ResolveClass(reg, expect, name)
	if err != nil {
		return nil, false, fmt.Errorf("cimxml: %s: %w", where(el), err)
	}
	return c, lenient, nil
}

func decodeProperty(pe *etree.Element, p *cim.Property, reg cim.Registry, depth int) (any, error) {
	switch pe.Tag {
	case "PROPERTY.REFERENCE":
		if p.Type != cim.Reference || p.Array {
			return nil, fmt.Errorf("cimxml: %s: %s is a %s property, not a reference", where(pe), p.Name, typeName(p))
		}
		vr := pe.SelectElement("VALUE.REFERENCE")
		if vr == nil {
			return nil, nil
		}
		return decodeValueReference(vr, 0)
	case "PROPERTY.ARRAY":
		if !p.Array {
			return nil, fmt.Errorf("cimxml: %s: %s is a %s property, not an array", where(pe), p.Name, typeName(p))
		}
		va := pe.SelectElement("VALUE.ARRAY")
		if va == nil {
			return nil, nil
		}
		var items []any
		for _, ve := range va.ChildElements() {
			switch ve.Tag {
			case "VALUE":
				v, err := decodeValue(ve, p, reg, depth)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			case "VALUE.NULL":
				return nil, fmt.Errorf("cimxml: %s: NULL elements in array %s are not supported", where(ve), p.Name)
			default:
				return nil, fmt.Errorf("cimxml: %s: unexpected element in VALUE.ARRAY", where(ve))
			}
		}
		if items == nil {
			items = []any{}
		}
		v, err := cim.ConvertValue(p.Type, true, items)
		if err != nil {
			return nil, fmt.Errorf("cimxml: %s: %w", where(va), err)
		}
		return v, nil
	case "PROPERTY.OBJECT": // WMI's embedded object form
		if p.EmbeddedInstance == "" || p.Array {
			return nil, fmt.Errorf("cimxml: %s: %s is not an embedded instance property", where(pe), p.Name)
		}
		vo := pe.SelectElement("VALUE.OBJECT")
		if vo == nil {
			return nil, nil
		}
		ie := vo.SelectElement("INSTANCE")
		if ie == nil {
			return nil, fmt.Errorf("cimxml: %s: VALUE.OBJECT without INSTANCE", where(vo))
		}
		return decodeInstance(ie, reg, p.EmbeddedInstance, depth+1)
	}
	if p.Array {
		return nil, fmt.Errorf("cimxml: %s: %s is an array property; PROPERTY.ARRAY expected", where(pe), p.Name)
	}
	if p.Type == cim.Reference {
		return nil, fmt.Errorf("cimxml: %s: %s is a reference property; PROPERTY.REFERENCE expected", where(pe), p.Name)
	}
	ve := pe.SelectElement("VALUE")
	if ve == nil {
		if vo := pe.SelectElement("VALUE.OBJECT"); vo != nil && p.EmbeddedInstance != "" {
			ie := vo.SelectElement("INSTANCE")
			if ie == nil {
				return nil, fmt.Errorf("cimxml: %s: VALUE.OBJECT without INSTANCE", where(vo))
			}
			return decodeInstance(ie, reg, p.EmbeddedInstance, depth+1)
		}
		return nil, nil
	}
	return decodeValue(ve, p, reg, depth)
}

func typeName(p *cim.Property) string {
	if p.Array {
		return p.Type.String() + "[]"
	}
	return p.Type.String()
}

// decodeValue converts one VALUE element for property p.
func decodeValue(ve *etree.Element, p *cim.Property, reg cim.Registry, depth int) (any, error) {
	if ie := ve.SelectElement("INSTANCE"); ie != nil {
		if p.EmbeddedInstance == "" {
			return nil, fmt.Errorf("cimxml: %s: INSTANCE in a property that is not an embedded instance", where(ie))
		}
		return decodeInstance(ie, reg, p.EmbeddedInstance, depth+1)
	}
	if len(ve.ChildElements()) > 0 {
		return nil, fmt.Errorf("cimxml: %s: unexpected element in VALUE", where(ve.ChildElements()[0]))
	}
	text := xmlcim.Text(ve)
	if p.EmbeddedInstance != "" && p.Type == cim.String {
		if t := strings.TrimSpace(text); strings.HasPrefix(t, "<") {
			inst, err := decodeText(t, reg, p.EmbeddedInstance, depth+1)
			if err != nil {
				return nil, fmt.Errorf("cimxml: %s: embedded instance: %w", where(ve), err)
			}
			return inst, nil
		}
	}
	v, err := cim.ParseValue(p.Type, text)
	if err != nil {
		return nil, fmt.Errorf("cimxml: %s: property %s: %w", where(ve), p.Name, err)
	}
	return v, nil
}

// where describes the position of el: the path of element names from the
// root, each named by its NAME attribute where it has one (PROPERTY,
// KEYBINDING) and otherwise by its 1-based index among same-named siblings
// where there are several.
func where(el *etree.Element) string {
	return xmlcim.Locator{KeyAttr: "NAME", LocalNames: true}.Where(el)
}
