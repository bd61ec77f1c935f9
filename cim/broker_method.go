package cim

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ArgError is the value of an IN parameter that a client sent but that
// could not be converted to the parameter's declared type: text that is not
// a uint16, an EPR that is not an object path, an embedded instance that
// does not parse. A protocol binding (cim/wsbind) puts it into the in map
// of Broker.InvokeMethod in place of the value, so that one rule, applied
// by the Broker, decides what bad arguments mean (see InvokeMethod);
// providers never see an ArgError.
type ArgError struct {
	// Text is what the client sent, shortened for logs.
	Text string
	// Err says why it did not convert.
	Err error
}

func (e *ArgError) Error() string {
	if e.Text == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%q: %v", e.Text, e.Err)
}

func (e *ArgError) Unwrap() error { return e.Err }

// InvokeMethod calls the extrinsic method named method on the instance at
// path and returns its return value and OUT parameters (keyed by the
// canonical parameter names, in the package's value representation).
//
// The class must define the method (StatusMethodNotFound), the instance
// must exist (StatusNotFound; static methods are not supported) and the
// provider of its class must implement MethodProvider (StatusNotSupported).
//
// in holds the IN parameters keyed by name (case-insensitive). Before the
// provider is called the Broker checks every argument: it must name an IN
// parameter of the method, must not be an *ArgError, must have the Go type
// of the parameter's CIM type (see ConvertValue), and an EmbeddedInstance
// parameter must hold *Instance values. Bad arguments are "formally invalid
// parameters" (DSP1081 return code 4): when the method's return ValueMap
// has a value named "Invalid Parameter" the Broker returns that value
// without calling the provider's InvokeMethod and logs the problems (a
// provider that implements ArgRefuser answers them itself); otherwise it
// returns an *Error with StatusInvalidParameter naming them. Missing parameters are
// for the provider to judge. The provider receives the arguments keyed by
// the canonical parameter names.
func (b *Broker) InvokeMethod(ctx context.Context, path ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	ns, c, err := b.resolve(path.Namespace, path.ClassName)
	if err != nil {
		return nil, nil, err
	}
	m := c.Method(method)
	if m == nil {
		return nil, nil, Errorf(StatusMethodNotFound, "class %s has no method %s", c.Name, method)
	}
	inst, r, err := b.getInstance(ctx, ns, c, path.Keys)
	if err != nil {
		return nil, nil, err
	}
	if sub := inst.Class.Method(m.Name); sub != nil {
		m = sub // the stored instance's class may override the method
	}
	mp, ok := r.p.(MethodProvider)
	if !ok {
		return nil, nil, Errorf(StatusNotSupported, "method %s of class %s is not implemented", m.Name, r.class.Name)
	}
	ipath := brokerInstancePath(inst, ns)
	args, problems := brokerCheckArgs(m, in)
	if len(problems) > 0 {
		msg := strings.Join(problems, "; ")
		if rc, ok := brokerInvalidParameterCode(m); ok {
			b.log.InfoContext(ctx, "method called with invalid parameters",
				"class", r.class.Name, "method", m.Name, "problems", msg, "return", rc)
			ar, ok := r.p.(ArgRefuser)
			if !ok {
				return rc, nil, nil
			}
			ret, out, err := ar.RefuseArgs(ctx, ipath, m.Name, rc, msg)
			if err != nil {
				return nil, nil, brokerWrap(err, "method "+m.Name+" of "+r.class.Name)
			}
			return ret, b.canonicalOut(ctx, r.class, m, out), nil
		}
		return nil, nil, Errorf(StatusInvalidParameter, "%s.%s: %s", r.class.Name, m.Name, msg)
	}
	ret, out, err := mp.InvokeMethod(ctx, ipath, m.Name, args)
	if err != nil {
		return nil, nil, brokerWrap(err, "method "+m.Name+" of "+r.class.Name)
	}
	if ret, err = ConvertValue(m.ReturnType, false, ret); err != nil {
		return nil, nil, &Error{Status: StatusFailed, Message: "method " + m.Name + " returned a bad value", Err: err}
	}
	return ret, b.canonicalOut(ctx, r.class, m, out), nil
}

// brokerCheckArgs validates in against the IN parameters of m and returns
// the arguments keyed by canonical parameter names, or the problems found.
func brokerCheckArgs(m *Method, in map[string]any) (map[string]any, []string) {
	args := make(map[string]any, len(in))
	var problems []string
	for name, v := range in {
		p := m.Param(name)
		switch {
		case p == nil || !p.In:
			problems = append(problems, fmt.Sprintf("%s: no such IN parameter", name))
			continue
		case v == nil:
		default:
			if ae, ok := v.(*ArgError); ok {
				problems = append(problems, fmt.Sprintf("%s: %v", p.Name, ae))
				continue
			}
			if err := checkValue(p.Type, p.Array, v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", p.Name, err))
				continue
			}
			if p.EmbeddedInstance != "" && !brokerIsEmbedded(v) {
				problems = append(problems, fmt.Sprintf("%s: an embedded instance of %s is expected", p.Name, p.EmbeddedInstance))
				continue
			}
		}
		if _, dup := args[p.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: given twice", p.Name))
			continue
		}
		args[p.Name] = v
	}
	slices.Sort(problems) // map order must not leak into messages
	return args, problems
}

func brokerIsEmbedded(v any) bool {
	switch v.(type) {
	case *Instance, []*Instance:
		return true
	}
	return false
}

// brokerInvalidParameterCode returns the return value that m's ValueMap
// names "Invalid Parameter", if any.
func brokerInvalidParameterCode(m *Method) (any, bool) {
	for i, v := range m.Values {
		if i >= len(m.ValueMap) || !strings.EqualFold(strings.TrimSpace(v), "Invalid Parameter") {
			continue
		}
		rc, err := ParseValue(m.ReturnType, m.ValueMap[i])
		if err == nil {
			return rc, true
		}
	}
	return nil, false
}

// canonicalOut keys out by canonical OUT parameter names and converts the
// values to the parameters' types; values that fit no OUT parameter are
// dropped and logged (a provider bug, not the client's).
func (b *Broker) canonicalOut(ctx context.Context, c *Class, m *Method, out map[string]any) map[string]any {
	res := make(map[string]any, len(out))
	for name, v := range out {
		p := m.Param(name)
		if p == nil || !p.Out {
			b.log.WarnContext(ctx, "provider returned an unknown OUT parameter", "class", c.Name, "method", m.Name, "parameter", name)
			continue
		}
		cv, err := ConvertValue(p.Type, p.Array, v)
		if err != nil {
			b.log.WarnContext(ctx, "provider returned a bad OUT value", "class", c.Name, "method", m.Name, "parameter", p.Name, "err", err)
			continue
		}
		res[p.Name] = cv
	}
	return res
}
