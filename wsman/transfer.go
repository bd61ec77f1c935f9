package wsman

import (
	"context"
)

// WS-Transfer (DSP0226 §7). Each handler writes the response into r and
// returns nil, or returns the fault without writing.

func (s *Service) get(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	h, ok := rt.resource.(Getter)
	if !ok {
		return notSupported(env)
	}
	rep, err := h.Get(ctx, &env.req)
	if err != nil {
		return s.resourceFault(ctx, env, err)
	}
	if rep == nil {
		return s.resourceFault(ctx, env, errNilRepresentation)
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	writeElement(r.buf, rep)
	r.end()
	return nil
}

func (s *Service) put(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	h, ok := rt.resource.(Putter)
	if !ok {
		return notSupported(env)
	}
	if env.req.Body == nil {
		return NewFault(SubcodeInvalidRepresentation, DetailMissingValues, "The Put request has no representation in its Body.")
	}
	rep, err := h.Put(ctx, &env.req, env.req.Body)
	if err != nil {
		return s.resourceFault(ctx, env, err)
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	writeBodyElement(r.buf, rep)
	r.end()
	return nil
}

func (s *Service) create(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	h, ok := rt.resource.(Creator)
	if !ok {
		return notSupported(env)
	}
	if env.req.Body == nil {
		return NewFault(SubcodeInvalidRepresentation, DetailMissingValues, "The Create request has no representation in its Body.")
	}
	epr, err := h.Create(ctx, &env.req, env.req.Body)
	if err != nil {
		return s.resourceFault(ctx, env, err)
	}
	if epr == nil {
		return s.resourceFault(ctx, env, errNilRepresentation)
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	// WS-Transfer §5: ResourceCreated is the EPR of the new resource.
	writeEPRElement(r.buf, "x:ResourceCreated", epr)
	r.end()
	return nil
}

func (s *Service) delete(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	h, ok := rt.resource.(Deleter)
	if !ok {
		return notSupported(env)
	}
	if err := h.Delete(ctx, &env.req); err != nil {
		return s.resourceFault(ctx, env, err)
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	r.end()
	return nil
}

// notSupported is the fault for an operation the resource does not
// implement.
func notSupported(env *envelope) *Fault {
	return NewFault(SubcodeActionNotSupported, "", "The action "+env.req.Action+" is not supported for this resource.")
}
