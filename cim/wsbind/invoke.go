package wsbind

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman"
)

// Invoke serves a custom action (DSP0227 §11): method is the last segment
// of the Action, the instance is addressed like a Get, and the body is the
// <Method>_INPUT element.
//
// Arguments are matched to the method's IN parameters by local name
// (case-insensitively; the element namespace varies between clients) and
// converted to their CIM types:
//
//   - scalars from the element text (cim.ParseValue); xsi:nil="true" is
//     NULL; a datetime may be wrapped in cim:Datetime/cim:CIM_DateTime;
//   - arrays from repeated elements (a single nil element is a NULL array);
//   - references from an EPR, with or without a wsa:EndpointReference
//     wrapper (a REF without __cimnamespace is in the request's namespace),
//     or leniently from an object path in text;
//   - EmbeddedInstance strings by cim/embedded: CIM-XML in CDATA or escaped
//     text (Hyper-V and libvirt clients), MOF text (libvirt-cim, pywbem), or
//     a nested element with xsi:type (Windows MI), checked against the
//     parameter's EmbeddedInstance class.
//
// A value that does not convert travels to the Broker as a *cim.ArgError,
// and the Broker applies one rule to every bad argument (unknown name, OUT
// parameter, wrong type, unparsable instance): the method's "Invalid
// Parameter" return value when its ValueMap has one (DSP1081: 4), else
// wsman:InvalidParameter. Malformed EPRs in the body are already refused
// by wsman.ParseParams with wsman:InvalidParameter.
//
// The reply is <p:Method_OUTPUT xmlns:p="ResourceURI"> with each OUT
// parameter the method set, in declaration order (references as
// wsa:Address + wsa:ReferenceParameters without a wrapper, embedded
// instances as CIM-XML text, arrays as repeated elements, NULL as
// xsi:nil), then p:ReturnValue, in the order Windows writes them.
func (r classResource) Invoke(ctx context.Context, req *wsman.Request, method string) (*etree.Element, error) {
	ctx = withRequester(ctx, req)
	ci, err := r.requestClass(req.ResourceURI)
	if err != nil {
		return nil, err
	}
	m := ci.class.Method(method)
	if m == nil {
		return nil, wsman.NewFault(wsman.SubcodeActionNotSupported, "",
			fmt.Sprintf("Class %s has no method %s.", ci.class.Name, method))
	}
	path, err := r.requestPath(ci, req.Selectors)
	if err != nil {
		return nil, err
	}
	if req.Body != nil && !strings.EqualFold(req.Body.Tag, m.Name+"_INPUT") {
		return nil, wsman.NewFault(wsman.SubcodeInvalidParameter, wsman.DetailInvalidValue,
			fmt.Sprintf("The body of a %s request must be a %s_INPUT element, not %s.", m.Name, m.Name, req.Body.Tag))
	}
	params, err := wsman.ParseParams(req.Body)
	if err != nil {
		return nil, err
	}
	in := make(map[string]any, len(params))
	for _, p := range params {
		in[p.Name] = r.argument(m.Param(p.Name), p.Values, path.Namespace)
	}
	ret, out, err := r.b.InvokeMethod(ctx, path, m.Name, in)
	if err != nil {
		return nil, r.toFault(ctx, err)
	}
	return r.methodOutput(req.ResourceURI, m, ret, out, path.Namespace), nil
}

// argument converts the wire values of one parameter (p is nil for a name
// the method does not have: the Broker reports it).
func (r *binding) argument(p *cim.Parameter, vals []wsman.ParamValue, ns string) any {
	if p == nil || len(vals) == 0 {
		return nil
	}
	if !p.Array {
		if len(vals) > 1 {
			return &cim.ArgError{Err: fmt.Errorf("given %d times but is not an array", len(vals))}
		}
		if vals[0].Nil {
			return nil
		}
		v, err := r.scalarArgument(p, vals[0], ns)
		if err != nil {
			return argError(p, vals[0], err)
		}
		return v
	}
	if len(vals) == 1 && vals[0].Nil {
		return nil
	}
	elems := make([]any, len(vals))
	for i, pv := range vals {
		if pv.Nil {
			return &cim.ArgError{Err: fmt.Errorf("element %d of the array is NULL", i)}
		}
		v, err := r.scalarArgument(p, pv, ns)
		if err != nil {
			return argError(p, pv, fmt.Errorf("element %d: %w", i, err))
		}
		elems[i] = v
	}
	v, err := cim.ConvertValue(p.Type, true, elems)
	if err != nil {
		return &cim.ArgError{Err: err}
	}
	return v
}

// scalarArgument converts one wire value of parameter p.
func (r *binding) scalarArgument(p *cim.Parameter, pv wsman.ParamValue, ns string) (any, error) {
	switch {
	case p.Type == cim.Reference:
		if pv.EPR != nil {
			return r.eprPath(pv.EPR, ns)
		}
		if strings.TrimSpace(pv.Text) == "" {
			return nil, errors.New("an endpoint reference is expected")
		}
		path, err := cim.ParseObjectPath(pv.Text)
		if err != nil {
			return nil, err
		}
		if path.Namespace == "" {
			path.Namespace = ns
		}
		if err := cim.CheckPath(r.reg, path); err != nil {
			return nil, err
		}
		return path, nil
	case pv.EPR != nil:
		return nil, fmt.Errorf("an endpoint reference is not a %s", p.Type)
	case p.EmbeddedInstance != "":
		return parseEmbedded(pv.Text, pv.Element, r.reg, p.EmbeddedInstance)
	case p.Type == cim.DatetimeType:
		return parseDatetimeArg(pv)
	}
	return cim.ParseValue(p.Type, pv.Text)
}

// parseDatetimeArg reads a datetime argument: CIM text form, xs:dateTime
// or (for intervals) xs:duration, bare or wrapped in a WS-CIM element
// (cim:Datetime, cim:Interval, cim:CIM_DateTime), by the rules WS-CIM
// instances are read with (wscim.ParseDatetime): a TimeoutPeriod in an
// Invoke and a TimeBeforeRemoval in a Put mean the same.
func parseDatetimeArg(pv wsman.ParamValue) (any, error) {
	s := pv.Text
	if pv.Element != nil {
		if c := pv.Element.ChildElements(); len(c) == 1 {
			s = c[0].Text()
		}
	}
	return wscim.ParseDatetime(s)
}

// argError records a value that did not convert. The text is kept for
// embedded instances only: the scalar parsers already quote it.
func argError(p *cim.Parameter, pv wsman.ParamValue, err error) *cim.ArgError {
	ae := &cim.ArgError{Err: err}
	if p.EmbeddedInstance != "" {
		ae.Text = shorten(strings.TrimSpace(pv.Text))
	}
	return ae
}

// shorten limits argument text quoted in logs.
func shorten(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// methodOutput builds the <Method>_OUTPUT element.
func (r *binding) methodOutput(uri string, m *cim.Method, ret any, out map[string]any, ns string) *etree.Element {
	el := etree.NewElement("p:" + m.Name + "_OUTPUT")
	el.CreateAttr("xmlns:p", uri)
	for _, p := range m.Params {
		if !p.Out {
			continue
		}
		v, ok := out[p.Name]
		if !ok {
			continue
		}
		r.writeParam(el, p.Name, v, ns)
	}
	r.writeParam(el, "ReturnValue", ret, ns)
	return el
}

// writeParam writes one OUT value: arrays as repeated elements (a NULL
// array as one nil element, an empty one as nothing).
func (r *binding) writeParam(parent *etree.Element, name string, v any, ns string) {
	tag := "p:" + name
	if v == nil {
		parent.CreateElement(tag).CreateAttr("xsi:nil", "true")
		return
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		if rv.IsNil() {
			parent.CreateElement(tag).CreateAttr("xsi:nil", "true")
			return
		}
		for i := range rv.Len() {
			r.writeValue(parent.CreateElement(tag), rv.Index(i).Interface(), ns)
		}
		return
	}
	r.writeValue(parent.CreateElement(tag), v, ns)
}

// writeValue writes one scalar OUT value into its element.
func (r *binding) writeValue(el *etree.Element, v any, ns string) {
	switch v := v.(type) {
	case cim.ObjectPath:
		if v.Namespace == "" {
			v.Namespace = ns
		}
		wsman.AppendEPR(el, r.pathEPR(v))
	case *cim.Instance:
		if v == nil {
			el.CreateAttr("xsi:nil", "true")
			return
		}
		el.SetText(encodeEmbedded(v))
	case cim.Datetime:
		if v.Interval {
			el.CreateElement("cim:Interval").SetText(wscim.FormatDatetime(v))
		} else {
			el.CreateElement("cim:Datetime").SetText(wscim.FormatDatetime(v))
		}
	default:
		el.SetText(cim.FormatValue(v))
	}
}
