package wsman

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/xsd"
)

// WS-Enumeration (DSP0226 §8): Enumerate calls the resource once and keeps
// the items in an enumeration context; Pull and Release are served by the
// service alone.

// enumerateBody is the decoded wsen:Enumerate.
type enumerateBody struct {
	optimize     bool
	maxElements  int
	mode         EnumerationMode
	filter       *Filter
	polymorphism PolymorphismMode
}

func decodeEnumerate(e *etree.Element) (*enumerateBody, *Fault) {
	if !is(e, NSEnumeration, "Enumerate") {
		return nil, NewFault(SubcodeSchemaValidationError, "", "The Body of an Enumerate request is not a wsen:Enumerate element.")
	}
	eb := &enumerateBody{maxElements: 1} // DSP0226 §8.2.3: default 1 (openwsman)
	for _, t := range e.Child {
		c, ok := t.(*etree.Element)
		if !ok {
			continue
		}
		switch ns := c.NamespaceURI(); {
		case ns == NSEnumeration && c.Tag == "EndTo":
			return nil, NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, "wsen:EndTo is not supported.")
		case ns == NSWSMan && c.Tag == "OptimizeEnumeration":
			eb.optimize = true
		case ns == NSWSMan && c.Tag == "MaxElements":
			n, err := strconv.Atoi(trimmedText(c))
			if err != nil || n <= 0 {
				return nil, NewFault(SubcodeSchemaValidationError, "", "wsman:MaxElements is not a positive integer.")
			}
			eb.maxElements = n
		case ns == NSCIMBinding && c.Tag == "PolymorphismMode":
			switch trimmedText(c) {
			case "IncludeSubClassProperties":
				eb.polymorphism = IncludeSubClassProperties
			case "ExcludeSubClassProperties":
				eb.polymorphism = ExcludeSubClassProperties
			case "None":
				eb.polymorphism = PolymorphismNone
			default:
				return nil, NewFault(SubcodePolymorphismModeNotSupported, "", "wsmb:PolymorphismMode must be None, ExcludeSubClassProperties or IncludeSubClassProperties.")
			}
		case ns == NSWSMan && c.Tag == "EnumerationMode":
			switch trimmedText(c) {
			case "EnumerateEPR":
				eb.mode = EnumerateEPR
			case "EnumerateObjectAndEPR":
				eb.mode = EnumerateObjectAndEPR
			default:
				return nil, NewFault(SubcodeUnsupportedFeature, DetailEnumerationMode, "The enumeration mode "+trimmedText(c)+" is not supported.")
			}
		}
		// wsen:Expires is ignored: contexts live for the idle timeout.
	}
	f, fault := decodeFilter(e)
	if fault != nil {
		return nil, fault
	}
	eb.filter = f
	return eb, nil
}

func (s *Service) enumerate(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	h, ok := rt.resource.(Enumerator)
	if !ok {
		return notSupported(env)
	}
	eb, f := decodeEnumerate(env.req.Body)
	if f != nil {
		return f
	}
	user := env.req.Caller.User
	if !eb.optimize && s.enum.full(user) {
		// A plain Enumerate always leaves a context: spare the resource.
		return quotaFault("This user or the service has too many enumeration contexts open; release some or retry later.")
	}
	items, err := h.Enumerate(ctx, &EnumerateRequest{Request: &env.req, Mode: eb.mode, Filter: eb.filter, Polymorphism: eb.polymorphism})
	if err != nil {
		return s.resourceFault(ctx, env, err)
	}
	for _, it := range items {
		if (eb.mode != EnumerateEPR && it.Object == nil) || (eb.mode != EnumerateObjects && it.EPR == nil) {
			return s.resourceFault(ctx, env, errors.New("wsman: enumeration item lacks the object or EPR its mode needs"))
		}
	}
	// resourceURI outlives the request (see maxSharedBody).
	c := newEnumContext(user, strings.Clone(env.req.ResourceURI), eb.mode, items)
	max := 0
	if eb.optimize {
		max = min(eb.maxElements, s.cfg.MaxElements)
	}
	if f := s.writeBatch(r, env, c, batchSpec{
		open: `<n:EnumerateResponse>`, close: `</n:EnumerateResponse>`,
		itemsOpen: `<w:Items>`, itemsClose: `</w:Items>`, eos: `<w:EndOfSequence/>`,
		optimized: eb.optimize, emptyContext: true,
	}, max, 0, c.len()); f != nil {
		return f
	}
	// A reply that holds every item (with EndOfSequence) leaves nothing to
	// keep, so it takes no context and no quota. Otherwise the context is
	// stored now, before the response that names it is sent; at a quota
	// the response is replaced by the fault.
	if eb.optimize && c.pos >= c.len() {
		return nil
	}
	return s.enum.add(c)
}

// pullBody is the decoded wsen:Pull.
type pullBody struct {
	context       string
	maxElements   int
	maxCharacters int
	maxTime       time.Duration // wsen:MaxTime, 0 when absent
}

func decodePull(e *etree.Element) (*pullBody, *Fault) {
	if !is(e, NSEnumeration, "Pull") {
		return nil, NewFault(SubcodeSchemaValidationError, "", "The Body of a Pull request is not a wsen:Pull element.")
	}
	pb := &pullBody{maxElements: 1} // WS-Enumeration §3.2: default 1
	for _, t := range e.Child {
		c, ok := t.(*etree.Element)
		if !ok || c.NamespaceURI() != NSEnumeration {
			continue
		}
		switch c.Tag {
		case "EnumerationContext":
			pb.context = trimmedText(c)
		case "MaxTime":
			d, err := xsd.ParseDuration(trimmedText(c))
			if err != nil || d <= 0 {
				return nil, NewFault(SubcodeSchemaValidationError, "", "wsen:MaxTime is not a positive xs:duration.")
			}
			pb.maxTime = d
		case "MaxElements", "MaxCharacters":
			n, err := strconv.Atoi(trimmedText(c))
			if err != nil || n <= 0 {
				return nil, NewFault(SubcodeSchemaValidationError, "", "wsen:"+c.Tag+" is not a positive integer.")
			}
			if c.Tag == "MaxElements" {
				pb.maxElements = n
			} else {
				pb.maxCharacters = n
			}
		}
		// wsen:MaxTime matters for subscriptions only: the items of an
		// enumeration are already at hand.
	}
	if pb.context == "" {
		return nil, invalidContext()
	}
	return pb, nil
}

func (s *Service) pull(ctx context.Context, env *envelope, r *response) *Fault {
	pb, f := decodePull(env.req.Body)
	if f != nil {
		return f
	}
	if s.events.ByContext(pb.context) != "" {
		return s.pullEvents(ctx, env, pb, r)
	}
	c, f := s.enum.take(pb.context, env.req.Caller.User, env.req.ResourceURI)
	if f != nil {
		return f
	}
	f = s.writeBatch(r, env, c, batchSpec{
		open: `<n:PullResponse>`, close: `</n:PullResponse>`,
		itemsOpen: `<n:Items>`, itemsClose: `</n:Items>`, eos: `<n:EndOfSequence/>`,
		optimized: true,
	}, min(pb.maxElements, s.cfg.MaxElements), pb.maxCharacters, c.len())
	s.enum.done(c, f == nil && c.pos >= c.len())
	return f
}

func (s *Service) release(env *envelope, r *response) *Fault {
	e := env.req.Body
	if !is(e, NSEnumeration, "Release") {
		return NewFault(SubcodeSchemaValidationError, "", "The Body of a Release request is not a wsen:Release element.")
	}
	id := trimmedText(child(e, NSEnumeration, "EnumerationContext"))
	if sid := s.events.ByContext(id); id != "" && sid != "" {
		// Releasing the context of a Pull subscription ends it.
		if s.events.Unsubscribe(sid, env.req.Caller.User) != nil {
			return invalidContext()
		}
	} else if id == "" || !s.enum.remove(id, env.req.Caller.User, env.req.ResourceURI) {
		return invalidContext()
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	r.end()
	return nil
}

// batchSpec is the response layout of one batch.
type batchSpec struct {
	open, close           string // response element
	itemsOpen, itemsClose string
	eos                   string // end-of-sequence marker
	optimized             bool   // write items (false: context only)
	emptyContext          bool   // write an empty context when finished (EnumerateResponse)
}

// writeBatch writes the response for the next items of c, at most max of
// them, shrinking the batch so that the envelope fits the request's
// MaxEnvelopeSize (and, if maxChars > 0, the items fit maxChars
// characters). A first item too large on its own is wsman:EncodingLimit.
// The EnumerationContext precedes the items (schema order); when the
// sequence ends the context is omitted (Pull) or empty (Enumerate, where
// the schema requires it) and the end-of-sequence marker follows.
func (s *Service) writeBatch(r *response, env *envelope, c *enumContext, spec batchSpec, max, maxChars, total int) *Fault {
	var extra func(*bytes.Buffer)
	if env.requestEstimate {
		extra = func(b *bytes.Buffer) {
			b.WriteString(`<w:TotalItemsCountEstimate>`)
			b.WriteString(strconv.Itoa(total))
			b.WriteString(`</w:TotalItemsCountEstimate>`)
		}
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, extra)
	ctxOpen, ctxClose := `<n:EnumerationContext>`, `</n:EnumerationContext>`
	fixed := len(spec.open) + len(ctxOpen) + len(c.id) + len(ctxClose) + len(spec.itemsOpen) +
		len(spec.itemsClose) + len(spec.eos) + len(spec.close) + len(envelopeEnd)
	budget := env.req.MaxEnvelopeSize - r.buf.Len() - fixed

	items := s.bufs.Get().(*bytes.Buffer)
	items.Reset()
	defer s.bufs.Put(items)
	n := 0
	if spec.optimized {
		for c.pos+n < c.len() && n < max {
			before := items.Len()
			items.Write(c.item(c.pos + n))
			if items.Len() > budget || (maxChars > 0 && items.Len() > maxChars) {
				if n == 0 {
					return NewFault(SubcodeEncodingLimit, DetailServiceEnvelopeLimit,
						"The next enumeration item is larger than the MaxEnvelopeSize (or MaxCharacters) of the request allows.")
				}
				items.Truncate(before)
				break
			}
			n++
		}
	}
	c.pos += n
	finished := spec.optimized && c.pos >= c.len()
	b := r.buf
	b.WriteString(spec.open)
	switch {
	case !finished:
		b.WriteString(ctxOpen)
		b.WriteString(c.id)
		b.WriteString(ctxClose)
	case spec.emptyContext:
		b.WriteString(`<n:EnumerationContext/>`)
	}
	if spec.optimized {
		if items.Len() == 0 {
			b.WriteString(strings.Replace(spec.itemsOpen, ">", "/>", 1))
		} else {
			b.WriteString(spec.itemsOpen)
			b.Write(items.Bytes())
			b.WriteString(spec.itemsClose)
		}
		if finished {
			b.WriteString(spec.eos)
		}
	}
	b.WriteString(spec.close)
	r.end()
	return nil
}

// writeItem writes one item in the representation of mode (DSP0226
// §8.7): the object, its wsa:EndpointReference, or both inside wsman:Item.
func writeItem(b *bytes.Buffer, mode EnumerationMode, it Item) {
	switch mode {
	case EnumerateEPR:
		writeEPRElement(b, "a:EndpointReference", it.EPR)
	case EnumerateObjectAndEPR:
		b.WriteString(`<w:Item>`)
		writeElement(b, it.Object)
		writeEPRElement(b, "a:EndpointReference", it.EPR)
		b.WriteString(`</w:Item>`)
	default:
		writeElement(b, it.Object)
	}
}
