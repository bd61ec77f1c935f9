package cimxml

import (
	"reflect"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// EncodeInstance returns inst as CIM-XML text (DSP0201), without an XML
// declaration, in the form DecodeInstance reads: every property of the
// class in class order, NULL properties as PROPERTY elements without VALUE,
// arrays as PROPERTY.ARRAY/VALUE.ARRAY, references as PROPERTY.REFERENCE
// with a LOCALINSTANCEPATH (or INSTANCENAME without namespace), datetimes
// in the CIM text form, and embedded instances as escaped CIM-XML text in
// VALUE with EmbeddedObject="instance". This is the text of the
// Errors[] output of CIM_ConcreteJob.GetErrors and of GetError's Error.
func EncodeInstance(inst *cim.Instance) string {
	return writeElement(encodeElement(inst, 0))
}

// writeElement serializes el, writing CR as &#xD; so that it survives
// parsing (CanonicalText).
func writeElement(el *etree.Element) string {
	doc := etree.NewDocument()
	doc.WriteSettings.CanonicalText = true
	doc.SetRoot(el)
	s, err := doc.WriteToString()
	if err != nil { // writing to a strings.Builder does not fail
		panic("cimxml: " + err.Error())
	}
	return s
}

func encodeElement(inst *cim.Instance, depth int) *etree.Element {
	el := etree.NewElement("INSTANCE")
	el.CreateAttr("CLASSNAME", inst.Class.Name)
	for p, v := range inst.Properties() {
		switch {
		case p.Type == cim.Reference && !p.Array:
			pe := el.CreateElement("PROPERTY.REFERENCE")
			pe.CreateAttr("NAME", p.Name)
			if p.RefClass != "" {
				pe.CreateAttr("REFERENCECLASS", p.RefClass)
			}
			if path, ok := v.(cim.ObjectPath); ok {
				encodeValueReference(pe, path, 0)
			}
		case p.Array:
			pe := el.CreateElement("PROPERTY.ARRAY")
			pe.CreateAttr("NAME", p.Name)
			pe.CreateAttr("TYPE", p.Type.String())
			if p.EmbeddedInstance != "" {
				pe.CreateAttr("EmbeddedObject", "instance")
			}
			rv := reflect.ValueOf(v)
			if v == nil || rv.Kind() != reflect.Slice || rv.IsNil() {
				continue
			}
			va := pe.CreateElement("VALUE.ARRAY")
			for i := range rv.Len() {
				va.CreateElement("VALUE").SetText(scalarText(p.Type, rv.Index(i).Interface(), depth))
			}
		default:
			pe := el.CreateElement("PROPERTY")
			pe.CreateAttr("NAME", p.Name)
			pe.CreateAttr("TYPE", p.Type.String())
			if p.EmbeddedInstance != "" {
				pe.CreateAttr("EmbeddedObject", "instance")
			}
			if v != nil {
				if in, ok := v.(*cim.Instance); ok && in == nil {
					continue
				}
				pe.CreateElement("VALUE").SetText(scalarText(p.Type, v, depth))
			}
		}
	}
	return el
}

// scalarText is the VALUE text of one scalar.
func scalarText(t cim.Type, v any, depth int) string {
	if v, ok := v.(*cim.Instance); ok {
		if v == nil || depth >= maxEmbedDepth {
			return ""
		}
		return writeElement(encodeElement(v, depth+1))
	}
	return xmlcim.ValueText(t, v)
}
