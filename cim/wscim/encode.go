package wscim

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/internal/xmlcim"
)

// maxEmbedDepth bounds instances embedded in instances, when encoding and
// when decoding.
const maxEmbedDepth = xmlcim.MaxEmbedDepth

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
	return sharedEncoder.Encode(inst, opt)
}

// sharedEncoder serves EncodeInstance, so that callers that encode many
// instances of the same classes (enumerations) reuse the per-class names
// without holding an Encoder of their own. It is safe for concurrent use,
// and bounded (see maxCachedClasses).
var sharedEncoder Encoder

// maxCachedClasses bounds the classes an Encoder remembers; past it the
// cache starts again empty. A model has a few hundred classes at most, so
// only a process that builds many models (tests) ever reaches it.
const maxCachedClasses = 4096

// Encoder writes instances as WS-CIM elements, as EncodeInstance does,
// remembering per class what does not depend on the instance: the
// ResourceURI, the namespace declarations and the prefixed element names
// of the properties. Those strings were most of the garbage an
// enumeration of many instances of one class made.
//
// The zero Encoder is ready to use. An Encoder is safe for concurrent use
// and is meant to live as long as the model it serves. Classes are
// remembered by pointer; a class whose name or properties change after it
// was first encoded is noticed and its names are made again.
type Encoder struct {
	classes sync.Map     // *cim.Class -> *classForm
	n       atomic.Int64 // entries stored in classes, about
}

// Encode returns the WS-CIM element of inst; see EncodeInstance.
func (enc *Encoder) Encode(inst *cim.Instance, opt EncodeOptions) *etree.Element {
	var include map[string]bool
	if opt.IncludeProperties != nil {
		include = make(map[string]bool, len(opt.IncludeProperties))
		for _, n := range opt.IncludeProperties {
			include[strings.ToLower(n)] = true
		}
	}
	e := &encoder{opt: opt, include: include}
	return e.instance(nil, enc.form(inst.Class), inst, 0)
}

// form returns the names of class c for the top-level prefix "p", from
// the cache when they are still right for c.
func (enc *Encoder) form(c *cim.Class) *classForm {
	if v, ok := enc.classes.Load(c); ok {
		if f := v.(*classForm); f.matches(c) {
			return f
		}
	}
	f := newClassForm(c, "p")
	if enc.n.Add(1) > maxCachedClasses {
		enc.classes.Clear()
		enc.n.Store(1)
	}
	enc.classes.Store(c, f)
	return f
}

// classForm holds the names an instance element of one class is written
// with, for one namespace prefix.
type classForm struct {
	name     string // class name it was made for
	elem     string // prefix:Class
	uri      string // ResourceURI(Class)
	xmlnsKey string // xmlns:prefix
	typeAttr string // prefix:Class_Type
	hasRef   bool   // the class has reference properties (declare a: and w:)

	props  []*cim.Property // the class's properties it was made for
	pnames []string        // their names then
	names  []string        // prefix:Prop, per property
	lower  []string        // the property names in lower case, per property

	// How many property elements with text and with xsi:nil the last
	// instance had: the sizes of the slabs of the next one.
	textHint, nilHint atomic.Int32
}

// slab hands out empty slices of capacity one, cut from shared arrays,
// for elements that get one child or attribute (more still fit: append
// then allocates as usual). It allocates hint slots first, then as many
// as the instance may still want.
type slab[T any] struct {
	free []T
	used int32
	hint *atomic.Int32
}

// slot returns an empty slice with room for one T. left bounds how many
// more slots the instance can want.
func (s *slab[T]) slot(left int) []T {
	if len(s.free) == 0 {
		n := int(s.hint.Load()) - int(s.used)
		if n <= 0 || n > left {
			n = left
		}
		s.free = make([]T, n)
	}
	s.used++
	t := s.free[:0:1]
	s.free = s.free[1:]
	return t
}

// done records how many slots the instance used, as the next one's hint.
func (s *slab[T]) done() { s.hint.Store(s.used) }

func newClassForm(c *cim.Class, prefix string) *classForm {
	f := &classForm{
		name:     c.Name,
		elem:     prefix + ":" + c.Name,
		uri:      ResourceURI(c.Name),
		xmlnsKey: "xmlns:" + prefix,
		typeAttr: prefix + ":" + c.Name + "_Type",
		props:    slices.Clone(c.Properties),
		pnames:   make([]string, len(c.Properties)),
		names:    make([]string, len(c.Properties)),
		lower:    make([]string, len(c.Properties)),
	}
	for i, p := range c.Properties {
		f.pnames[i] = p.Name
		f.names[i] = prefix + ":" + p.Name
		f.lower[i] = strings.ToLower(p.Name)
		f.hasRef = f.hasRef || p.Type == cim.Reference
	}
	return f
}

// matches reports whether f was made for c as c is now.
func (f *classForm) matches(c *cim.Class) bool {
	if f.name != c.Name || len(f.props) != len(c.Properties) {
		return false
	}
	for i, p := range c.Properties {
		if f.props[i] != p || f.pnames[i] != p.Name {
			return false
		}
	}
	return true
}

type encoder struct {
	opt     EncodeOptions
	include map[string]bool
}

// instance writes inst as a child of parent (a new root when parent is
// nil), with the names of f, which was made for inst.Class.
func (e *encoder) instance(parent *etree.Element, f *classForm, inst *cim.Instance, depth int) *etree.Element {
	var el *etree.Element
	if parent == nil {
		el = etree.NewElement(f.elem)
	} else {
		el = parent.CreateElement(f.elem)
	}
	// One allocation for the attributes and the property elements each,
	// instead of growing the slices one append at a time.
	el.Attr = make([]etree.Attr, 0, 6)
	el.Child = make([]etree.Token, 0, len(f.props))
	el.CreateAttr(f.xmlnsKey, f.uri)
	if parent == nil { // nothing is declared yet
		el.CreateAttr("xmlns:cim", NSCommon)
		el.CreateAttr("xmlns:xsi", NSXSI)
		if f.hasRef {
			el.CreateAttr("xmlns:a", NSAddressing)
			el.CreateAttr("xmlns:w", NSWSMan)
		}
	} else {
		declare(el, "cim", NSCommon)
		declare(el, "xsi", NSXSI)
		if f.hasRef {
			declare(el, "a", NSAddressing)
			declare(el, "w", NSWSMan)
		}
	}
	if e.opt.TypeAttr || depth > 0 {
		el.CreateAttr("xsi:type", f.typeAttr)
	}
	// The property elements' first child (their text) and first attribute
	// (xsi:nil) go into arrays shared by all of them, a slot each, rather
	// than into a slice allocated per element. The arrays are sized by
	// what the last instance of the class needed.
	var (
		texts = slab[etree.Token]{hint: &f.textHint}
		attrs = slab[etree.Attr]{hint: &f.nilHint}
	)
	valueElem := func(i int) *etree.Element {
		pe := el.CreateElement(f.names[i])
		pe.Child = texts.slot(len(f.props) - i)
		return pe
	}
	i := -1
	for p, v := range inst.Properties() { // p is f.props[i]
		i++
		if depth == 0 && e.include != nil && !e.include[f.lower[i]] {
			continue
		}
		if isNil(v) {
			if !e.opt.ExcludeNil {
				pe := el.CreateElement(f.names[i])
				pe.Attr = attrs.slot(len(f.props) - i)
				pe.CreateAttr("xsi:nil", "true")
			}
			continue
		}
		rv := reflect.ValueOf(v)
		if p.Array && rv.Kind() == reflect.Slice {
			for j := range rv.Len() {
				e.value(valueElem(i), p, rv.Index(j).Interface(), depth)
			}
			continue
		}
		e.value(valueElem(i), p, v, depth)
	}
	texts.done()
	attrs.done()
	return el
}

// value writes one (scalar) value into the property element pe.
func (e *encoder) value(pe *etree.Element, p *cim.Property, v any, depth int) {
	switch v := v.(type) {
	case cim.ObjectPath:
		EncodeEPR(pe, v)
	case cim.Datetime:
		if v.Interval {
			pe.CreateElement("cim:Interval").SetText(FormatDatetime(v))
		} else {
			pe.CreateElement("cim:Datetime").SetText(FormatDatetime(v))
		}
	case *cim.Instance:
		if v == nil || depth >= maxEmbedDepth {
			pe.CreateAttr("xsi:nil", "true")
			return
		}
		e.instance(pe, newClassForm(v.Class, "p"+strconv.Itoa(depth+1)), v, depth+1)
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
