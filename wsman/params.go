package wsman

import (
	"github.com/beevik/etree"
)

// Param is one input parameter of a custom action (DSP0227 §11): the
// children of the <Method>_INPUT element that share a local name. More than
// one value means an array.
type Param struct {
	Name   string // local name of the element(s)
	Values []ParamValue
}

// ParamValue is one element of a parameter.
type ParamValue struct {
	// Text is the element's character data; CDATA sections and escaped
	// text give the same Text (embedded CIM-XML instances arrive either way).
	Text string
	// Nil is set by xsi:nil="true" (a NULL value, MS-WSMV §3.1.4.1.26).
	Nil bool
	// EPR is set for a reference value: an element holding
	// wsa:ReferenceParameters (or wsa:Address), or a wsa:EndpointReference
	// wrapper.
	EPR *EPR
	// Element is the raw element, for values given as nested XML (an
	// embedded instance with xsi:type, as the Windows MI client sends it).
	Element *etree.Element
}

// ParseParams reads the parameters of a <Method>_INPUT element, matching
// children by local name in first-seen order (the namespace varies between
// clients: the ResourceURI, ResourceURI + ".xsd", or none). input may be nil
// (no parameters). A malformed reference value yields a
// wsman:InvalidParameter *Fault.
func ParseParams(input *etree.Element) ([]Param, error) {
	if input == nil {
		return nil, nil
	}
	var params []Param
	for _, t := range input.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		v := ParamValue{Element: c, Nil: xsiNil(c)}
		if !v.Nil {
			if child(c, NSAddressing, "ReferenceParameters") != nil ||
				child(c, NSAddressing, "EndpointReference") != nil ||
				child(c, NSAddressing, "Address") != nil {
				epr, err := DecodeEPR(c)
				if err != nil {
					f := NewFault(SubcodeInvalidParameter, DetailInvalidValue, "Parameter "+c.Tag+": "+err.Error())
					f.Err = err
					return nil, f
				}
				v.EPR = epr
			} else {
				v.Text = textOf(c)
			}
		}
		i := 0
		for i < len(params) && params[i].Name != c.Tag {
			i++
		}
		if i == len(params) {
			params = append(params, Param{Name: c.Tag})
		}
		params[i].Values = append(params[i].Values, v)
	}
	return params, nil
}

// FindParam returns the parameter named name (case-sensitive, as CIM method
// parameters are matched by DSP0230), or nil.
func FindParam(params []Param, name string) *Param {
	for i := range params {
		if params[i].Name == name {
			return &params[i]
		}
	}
	return nil
}

// Option returns the wsman:Option named name (case-sensitive, as
// DSP0226 §6.4 names are compared) from the request's OptionSet.
func (r *Request) Option(name string) (Option, bool) {
	for _, o := range r.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}
