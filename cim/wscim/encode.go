package wscim

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
)

// maxEmbedDepth bounds instances embedded in instances, when encoding and
// when decoding.
const maxEmbedDepth = 8

// EncodeOptions tunes EncodeInstance.
type EncodeOptions struct {
	// IncludeProperties, when non-nil, limits the output to the named
	// properties (case-insensitive), for DSP0227 IncludeResultProperty.
	// Names the class does not have are ignored.
	IncludeProperties []string
	// ExcludeNil leaves NULL properties out instead of writing them with
	// xsi:nil="true" (the wsman:OptionSet option ExcludeNilProperties).
	ExcludeNil bool
	// TypeAttr writes xsi:type="p:Class_Type" on the instance element, as
	// Windows WinRM does. DSP0230 does not require it; off by default.
	// Embedded instances always carry it.
	TypeAttr bool
}

// EncodeInstance returns the WS-CIM element of inst (DSP0230 §8):
//
//	<p:Class xmlns:p="ResourceURI(Class)" xmlns:cim="…/wscim/1/common"
//	    xmlns:xsi="…/XMLSchema-instance">
//	  <p:Prop>value</p:Prop> …
//	</p:Class>
//
// Properties come in class order. NULL is <p:X xsi:nil="true"/>; an array
// is one element per item, a NULL array a single nil element (MS-WSMV
// §3.1.4.1.26) and an empty array nothing at all. Booleans are true/false,
// reals xs:double (INF, -INF, NaN), timestamps
// <cim:Datetime>xs:dateTime</cim:Datetime>, intervals
// <cim:Interval>xs:duration</cim:Interval>, references EPR content (see
// EncodeEPR), and embedded instances (a *cim.Instance in a string
// property) a nested instance element with xsi:type inside the property
// element. Characters XML cannot carry are written as '?'.
func EncodeInstance(inst *cim.Instance, opt EncodeOptions) *etree.Element {
	var include map[string]bool
	if opt.IncludeProperties != nil {
		include = make(map[string]bool, len(opt.IncludeProperties))
		for _, n := range opt.IncludeProperties {
			include[strings.ToLower(n)] = true
		}
	}
	e := &encoder{opt: opt, include: include}
	return e.instance(nil, inst, "p", 0)
}

type encoder struct {
	opt     EncodeOptions
	include map[string]bool
}

// instance writes inst as a child of parent (a new root when parent is
// nil) with the given prefix for the class namespace.
func (e *encoder) instance(parent *etree.Element, inst *cim.Instance, prefix string, depth int) *etree.Element {
	class := inst.Class.Name
	var el *etree.Element
	if parent == nil {
		el = etree.NewElement(prefix + ":" + class)
	} else {
		el = parent.CreateElement(prefix + ":" + class)
	}
	el.CreateAttr("xmlns:"+prefix, ResourceURI(class))
	declare(el, "cim", NSCommon)
	declare(el, "xsi", NSXSI)
	for _, p := range inst.Class.Properties {
		if p.Type == cim.Reference {
			declare(el, "a", NSAddressing)
			declare(el, "w", NSWSMan)
			break
		}
	}
	if e.opt.TypeAttr || depth > 0 {
		el.CreateAttr("xsi:type", prefix+":"+class+"_Type")
	}
	name := func(p *cim.Property) string { return prefix + ":" + p.Name }
	for p, v := range inst.Properties() {
		if depth == 0 && e.include != nil && !e.include[strings.ToLower(p.Name)] {
			continue
		}
		if isNil(v) {
			if !e.opt.ExcludeNil {
				el.CreateElement(name(p)).CreateAttr("xsi:nil", "true")
			}
			continue
		}
		rv := reflect.ValueOf(v)
		if p.Array && rv.Kind() == reflect.Slice {
			for i := range rv.Len() {
				e.value(el.CreateElement(name(p)), p, rv.Index(i).Interface(), depth)
			}
			continue
		}
		e.value(el.CreateElement(name(p)), p, v, depth)
	}
	return el
}

// value writes one (scalar) value into the property element pe.
func (e *encoder) value(pe *etree.Element, p *cim.Property, v any, depth int) {
	switch v := v.(type) {
	case cim.ObjectPath:
		EncodeEPR(pe, v)
	case cim.Datetime:
		if v.Interval {
			pe.CreateElement("cim:Interval").SetText(formatDuration(v.Duration))
		} else {
			pe.CreateElement("cim:Datetime").SetText(formatDateTime(v.Time))
		}
	case *cim.Instance:
		if v == nil || depth >= maxEmbedDepth {
			pe.CreateAttr("xsi:nil", "true")
			return
		}
		e.instance(pe, v, "p"+strconv.Itoa(depth+1), depth+1)
	default:
		pe.SetText(formatScalar(p.Type, v))
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Slice, reflect.Pointer:
		return rv.IsNil()
	}
	return false
}
