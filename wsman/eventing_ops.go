package wsman

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vsmig/vsmig/wsman/eventing"
)

// WS-Eventing operations (DSP0226 §10): Subscribe is passed to the
// resource's EventSource; the service itself is the subscription manager
// (Renew, GetStatus, Unsubscribe), keeps the queues, delivers push-style
// subscriptions (delivery.go) and serves Pull on the enumeration context
// of Pull-mode ones.

// subscription is what the service keeps about a subscription beside the
// eventing.Manager's state: how to answer and deliver. It is the
// eventing.Spec's Target.
type subscription struct {
	notifyTo, endTo *endpoint
	durationForm    bool
	sendBookmarks   bool
	maxEnvelope     int
	policy          string
	resourceURI     string
	managerAddress  string
}

func (s *Service) subscribe(ctx context.Context, env *envelope, rt route, r *response) *Fault {
	src, ok := rt.resource.(EventSource)
	if !ok {
		return notSupported(env)
	}
	now := s.cfg.Now()
	sb, f := decodeSubscribe(env, now)
	if f != nil {
		return f
	}
	if f := s.checkPushTargets(ctx, sb); f != nil {
		return f
	}
	target := &subscription{
		notifyTo: sb.notifyTo, endTo: sb.endTo, durationForm: sb.expires.duration,
		sendBookmarks: sb.sendBookmarks, maxEnvelope: sb.maxEnvelope, policy: sb.policy,
		resourceURI:    strings.Clone(env.req.ResourceURI),
		managerAddress: strings.Clone(env.req.To),
	}
	if target.managerAddress == "" {
		target.managerAddress = AddressAnonymous
	}
	if target.maxEnvelope == 0 || target.maxEnvelope > s.cfg.MaxEnvelopeSize {
		target.maxEnvelope = s.cfg.MaxEnvelopeSize
	}
	spec := eventing.Spec{
		User: strings.Clone(env.req.Caller.User), ResourceURI: target.resourceURI, Mode: sb.mode,
		Heartbeat: sb.heartbeat, Retries: sb.retries, RetryInterval: sb.retryInterval, NoRetries: sb.noRetries,
		MaxElements: sb.maxElements, MaxTime: sb.maxTime, Target: target,
	}
	if sb.expires.set {
		spec.Expires = sb.expires.at
	}
	sub, err := s.events.Add(spec)
	if err != nil {
		if errors.Is(err, eventing.ErrQuota) {
			return quotaFault("This user or the service has as many subscriptions as allowed; unsubscribe some or retry later.")
		}
		return NewFault(SubcodeEventSourceUnableToProcess, "", "The service is not accepting subscriptions now.")
	}
	sink := &eventSink{svc: s, sub: sub, target: target}
	cancel, err := src.Subscribe(ctx, &SubscribeRequest{Request: &env.req, Filter: sb.filter, Bookmark: sb.bookmark}, sink)
	if err != nil {
		s.events.Remove(sub)
		return s.resourceFault(ctx, env, err)
	}
	s.events.Start(sub, cancel)

	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	b := r.buf
	b.WriteString(`<e:SubscribeResponse>`)
	writeManager(b, target, sub.ID())
	b.WriteString(`<e:Expires>`)
	b.WriteString(sb.expires.format(sub.Expires(), now))
	b.WriteString(`</e:Expires>`)
	if c := sub.Context(); c != "" {
		b.WriteString(`<n:EnumerationContext>`)
		b.WriteString(c)
		b.WriteString(`</n:EnumerationContext>`)
	}
	b.WriteString(`</e:SubscribeResponse>`)
	r.end()
	return nil
}

// writeManager writes the wse:SubscriptionManager EPR: the address the
// client sent the Subscribe to, its ResourceURI and the wse:Identifier, as
// reference parameters the client echoes as headers of Renew, GetStatus
// and Unsubscribe.
func writeManager(b *bytes.Buffer, t *subscription, id string) {
	b.WriteString(`<e:SubscriptionManager><a:Address>`)
	escapeText(b, t.managerAddress)
	b.WriteString(`</a:Address><a:ReferenceParameters><w:ResourceURI>`)
	escapeText(b, t.resourceURI)
	b.WriteString(`</w:ResourceURI><e:Identifier>`)
	escapeText(b, id)
	b.WriteString(`</e:Identifier></a:ReferenceParameters></e:SubscriptionManager>`)
}

// managed returns the subscription a Renew, GetStatus or Unsubscribe
// names by its wse:Identifier header, or the fault for an unknown one:
// unknownFault's, or wsa:MessageInformationHeaderRequired without the
// header.
func (s *Service) managed(env *envelope, unknown func() *Fault) (*eventing.Subscription, *subscription, *Fault) {
	if env.identifier == "" {
		return nil, nil, NewFault(SubcodeMessageInformationHeaderRequired, "", "The request has no wse:Identifier header naming the subscription.")
	}
	sub, err := s.events.Lookup(env.identifier, env.req.Caller.User)
	if err != nil {
		return nil, nil, unknown()
	}
	return sub, sub.Spec().Target.(*subscription), nil
}

func unknownSubscription() *Fault {
	return NewFault(SubcodeDestinationUnreachable, DetailInvalidValue,
		"The subscription is unknown: it expired, ended, was never made, or belongs to another user.")
}

func (s *Service) renew(env *envelope, r *response) *Fault {
	if !is(env.req.Body, NSEventing, "Renew") {
		return NewFault(SubcodeSchemaValidationError, "", "The Body of a Renew request is not a wse:Renew element.")
	}
	sub, t, f := s.managed(env, func() *Fault {
		return NewFault(SubcodeUnableToRenew, "", "The subscription cannot be renewed: it expired, ended, was never made, or belongs to another user.")
	})
	if f != nil {
		return f
	}
	now := s.cfg.Now()
	x := expiry{duration: t.durationForm}
	if ex := child(env.req.Body, NSEventing, "Expires"); ex != nil {
		var f *Fault
		if x, f = parseExpires(textOf(ex), now); f != nil {
			return f
		}
	}
	granted, err := s.events.Renew(sub.ID(), env.req.Caller.User, x.at)
	if err != nil {
		return NewFault(SubcodeUnableToRenew, "", "The subscription ended while it was being renewed.")
	}
	t.durationForm = x.duration
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	r.buf.WriteString(`<e:RenewResponse><e:Expires>` + x.format(granted, now) + `</e:Expires></e:RenewResponse>`)
	r.end()
	return nil
}

func (s *Service) getStatus(env *envelope, r *response) *Fault {
	if !is(env.req.Body, NSEventing, "GetStatus") {
		return NewFault(SubcodeSchemaValidationError, "", "The Body of a GetStatus request is not a wse:GetStatus element.")
	}
	sub, t, f := s.managed(env, unknownSubscription)
	if f != nil {
		return f
	}
	x := expiry{duration: t.durationForm}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	r.buf.WriteString(`<e:GetStatusResponse><e:Expires>` + x.format(sub.Expires(), s.cfg.Now()) + `</e:Expires></e:GetStatusResponse>`)
	r.end()
	return nil
}

func (s *Service) unsubscribe(env *envelope, r *response) *Fault {
	if !is(env.req.Body, NSEventing, "Unsubscribe") {
		return NewFault(SubcodeSchemaValidationError, "", "The Body of an Unsubscribe request is not a wse:Unsubscribe element.")
	}
	sub, _, f := s.managed(env, unknownSubscription)
	if f != nil {
		return f
	}
	if err := s.events.Unsubscribe(sub.ID(), env.req.Caller.User); err != nil {
		return unknownSubscription()
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, nil)
	r.end()
	return nil
}

// pullWaitMargin is kept from the operation's deadline when a Pull on a
// subscription waits for events, to answer before the client gives up.
const pullWaitMargin = time.Second

// pullEvents serves a Pull on the enumeration context of a Pull-mode
// subscription (DSP0226 §10.2.9.4): it waits for events up to wsen:MaxTime
// (or, without it, until shortly before the operation's deadline) and
// returns at most MaxElements of them that fit the envelope, each event's
// body an item; a Heartbeat is an empty <w:Heartbeat/> item and dropped
// events a <w:DroppedEvents Action="...">N</w:DroppedEvents> item. Nothing
// within the wait is wsen:TimedOut. With bookmarks asked for, the header
// carries the bookmark of the last event.
func (s *Service) pullEvents(ctx context.Context, env *envelope, pb *pullBody, r *response) *Fault {
	wait := pb.maxTime
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - min(pullWaitMargin, time.Until(dl)/10)
		if wait <= 0 || wait > left {
			wait = left
		}
	}
	if wait <= 0 {
		wait = time.Millisecond
	}
	max := min(pb.maxElements, s.cfg.MaxElements)
	evs, err := s.events.Pull(ctx, pb.context, env.req.Caller.User, env.req.ResourceURI, max, wait)
	switch {
	case errors.Is(err, eventing.ErrUnknown):
		return invalidContext()
	case errors.Is(err, eventing.ErrBusy):
		return NewFault(SubcodeConcurrency, "", "Another Pull is waiting on this subscription.")
	case errors.Is(err, eventing.ErrTimedOut):
		return NewFault(SubcodeEnumerationTimedOut, "", "No events arrived within the wait; pull again.")
	case err != nil:
		return s.resourceFault(ctx, env, err)
	}
	sub, lerr := s.events.Lookup(subscriptionOf(s.events, pb.context), env.req.Caller.User)
	var t *subscription
	if lerr == nil {
		t = sub.Spec().Target.(*subscription)
	}
	bookmark := ""
	var items bytes.Buffer
	budget := env.req.MaxEnvelopeSize - 1024 - len(pb.context)
	n := 0
	for i := range evs {
		before := items.Len()
		writePullItem(&items, &evs[i])
		if items.Len() > budget || (pb.maxCharacters > 0 && items.Len() > pb.maxCharacters) {
			items.Truncate(before)
			if n == 0 {
				if sub != nil {
					sub.Requeue(evs)
				}
				return NewFault(SubcodeEncodingLimit, DetailServiceEnvelopeLimit,
					"The next event is larger than the MaxEnvelopeSize (or MaxCharacters) of the request allows.")
			}
			if sub != nil {
				sub.Requeue(evs[i:])
			}
			break
		}
		if evs[i].Bookmark != "" {
			bookmark = evs[i].Bookmark
		}
		n++
	}
	var extra func(*bytes.Buffer)
	if t != nil && t.sendBookmarks && bookmark != "" {
		extra = func(b *bytes.Buffer) {
			b.WriteString(`<w:Bookmark>`)
			escapeText(b, bookmark)
			b.WriteString(`</w:Bookmark>`)
		}
	}
	r.start(env.req.Action+responseSuffix, env.req.MessageID, true, extra)
	b := r.buf
	b.WriteString(`<n:PullResponse><n:EnumerationContext>`)
	escapeText(b, pb.context)
	b.WriteString(`</n:EnumerationContext><n:Items>`)
	b.Write(items.Bytes())
	b.WriteString(`</n:Items></n:PullResponse>`)
	r.end()
	return nil
}

// subscriptionOf returns the identifier of the Pull subscription with
// enumeration context ctxID, "" when there is none.
func subscriptionOf(m *eventing.Manager, ctxID string) string { return m.ByContext(ctxID) }

// writePullItem writes one event as an item of a PullResponse.
func writePullItem(b *bytes.Buffer, ev *eventing.Event) {
	switch ev.Kind {
	case eventing.Heartbeat:
		b.WriteString(`<w:Heartbeat/>`)
	case eventing.Dropped:
		writeDropped(b, ev)
	default:
		b.Write(ev.Payload)
	}
}

// writeDropped writes the DSP0226 §10.6 dropped-events body.
func writeDropped(b *bytes.Buffer, ev *eventing.Event) {
	action := ev.Action
	if action == "" {
		action = ActionEvent
	}
	b.WriteString(`<w:DroppedEvents Action="`)
	escapeAttr(b, action)
	b.WriteString(`">`)
	b.WriteString(strconv.Itoa(ev.Count))
	b.WriteString(`</w:DroppedEvents>`)
}

// eventSink is the EventSink of one subscription: it serializes each event
// and applies the subscription's wsman:MaxEnvelopeSize policy before
// queueing it.
type eventSink struct {
	svc    *Service
	sub    *eventing.Subscription
	target *subscription
}

// eventOverhead is an estimate of an event message without its body.
const eventOverhead = 2048

func (k *eventSink) Publish(ev Event) bool {
	var b bytes.Buffer
	if ev.Body != nil {
		writeElement(&b, ev.Body)
	}
	action := ev.Action
	if action == "" {
		action = ActionEvent
	}
	qe := eventing.Event{Action: strings.Clone(action), Payload: b.Bytes(), Bookmark: strings.Clone(ev.Bookmark)}
	if b.Len()+len(k.target.notifyToRefParams())+eventOverhead > k.target.maxEnvelope {
		switch k.target.policy {
		case "CancelSubscription":
			k.sub.End("An event is larger than the subscription's MaxEnvelopeSize.")
			return false
		case "Skip":
			return true
		}
		qe = eventing.Event{Kind: eventing.Dropped, Action: qe.Action, Count: 1}
	}
	return k.sub.Publish(qe)
}

func (k *eventSink) End(reason string) { k.sub.End(reason) }

func (t *subscription) notifyToRefParams() []byte {
	if t.notifyTo == nil {
		return nil
	}
	return t.notifyTo.refParams
}

// checkPushTargets refuses a subscription whose NotifyTo or EndTo is not
// among Config.PushTargets: wsman:UnsupportedFeature with detail
// AddressingMode, as for an address that is not http(s), and the reason.
func (s *Service) checkPushTargets(ctx context.Context, sb *subscribeBody) *Fault {
	pt := s.cfg.PushTargets
	if pt == nil {
		return nil
	}
	for _, ep := range []*endpoint{sb.notifyTo, sb.endTo} {
		if ep == nil {
			continue
		}
		u, err := url.Parse(ep.address)
		if err != nil {
			return NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, "The delivery address "+ep.address+" is not a URL.")
		}
		if err := pt.check(ctx, net.DefaultResolver, u.Hostname()); err != nil {
			return NewFault(SubcodeUnsupportedFeature, DetailAddressingMode, "Events cannot be delivered to "+ep.address+": "+err.Error()+".")
		}
	}
	return nil
}
