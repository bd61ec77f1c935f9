package wsman

import (
	"context"
	"errors"
	"strings"
)

var errNilRepresentation = errors.New("wsman: resource returned no representation and no error")

// invoke serves custom actions (DSP0226 §9, DSP0227 §11). The Action is
// <ResourceURI>/<Method>; any Action under the registered prefix of the
// resource is accepted as well (DSP0230 §10.3 actions of a superclass).
// The method's <Method>_OUTPUT element is the response body and the
// response Action is the request Action + "Response".
func (s *Service) invoke(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	action := env.req.Action
	i := strings.LastIndexByte(action, '/')
	if i <= 0 || i == len(action)-1 {
		return unknownAction(action)
	}
	base, method := action[:i], action[i+1:]
	if base != env.req.ResourceURI && (rt.prefix == "" || !prefixMatch(action, rt.prefix)) {
		return unknownAction(action)
	}
	h, ok := rt.resource.(Invoker)
	if !ok {
		return unknownAction(action)
	}
	out, err := h.Invoke(ctx, &env.req, method)
	if err != nil {
		return s.resourceFault(ctx, env, err)
	}
	if out == nil {
		return s.resourceFault(ctx, env, errNilRepresentation)
	}
	r.start(action+responseSuffix, env.req.MessageID, true, nil)
	writeElement(r.buf, out)
	r.end()
	return nil
}

func unknownAction(action string) *Fault {
	return NewFault(SubcodeActionNotSupported, "", "The action "+action+" is not supported by the service.")
}
