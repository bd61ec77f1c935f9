package wsman

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vsmig/vsmig/wsman/eventing"
)

// Push-style delivery (DSP0226 §10.2.9): event messages are SOAP 1.2
// envelopes POSTed to the subscription's NotifyTo address, with the
// address's reference parameters as header blocks (WS-Addressing §3.3),
// and SubscriptionEnd messages to its EndTo address.

// maxDeliveryAnswer bounds what is read of a receiver's answer.
const maxDeliveryAnswer = 64 << 10

// httpDeliverer is the eventing.Deliverer of a Service.
type httpDeliverer struct {
	client *http.Client
	log    *slog.Logger
}

func newHTTPDeliverer(c *http.Client, pt *PushTargets, log *slog.Logger) *httpDeliverer {
	if c == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = 4
		if pt != nil {
			// The receiver is dialled directly, so that the check
			// applies to it and not to a proxy.
			tr.Proxy = nil
			tr.DialContext = pt.dialer(30 * time.Second)
		}
		c = &http.Client{
			Transport: tr,
			// A redirect could send the events, and the credentials
			// of Basic delivery, somewhere the subscriber did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &httpDeliverer{client: c, log: log}
}

// Deliver implements eventing.Deliverer: one event (Push, PushWithAck) or
// a wsman:Events batch (Events) to NotifyTo. A batch that would not fit the
// subscription's envelope size is sent in several messages.
func (d *httpDeliverer) Deliver(ctx context.Context, sub *eventing.Subscription, events []eventing.Event) error {
	t := sub.Spec().Target.(*subscription)
	mode := sub.Spec().Mode
	if mode != eventing.Events {
		for i := range events {
			if err := d.send(ctx, t, t.notifyTo, mode, events[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	for len(events) > 0 {
		n, size := 0, eventOverhead+len(t.notifyTo.refParams)
		for n < len(events) {
			size += len(events[n].Payload) + 256
			if n > 0 && size > t.maxEnvelope {
				break
			}
			n++
		}
		if err := d.send(ctx, t, t.notifyTo, mode, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// send writes one event message and POSTs it.
func (d *httpDeliverer) send(ctx context.Context, t *subscription, to *endpoint, mode eventing.Mode, events []eventing.Event) error {
	var b bytes.Buffer
	msgID := "uuid:" + newMessageUUID().String()
	ack := mode == eventing.PushWithAck || mode == eventing.Events
	action := ActionEvents
	if mode != eventing.Events {
		action = eventAction(&events[0])
	}
	bookmark := ""
	if t.sendBookmarks {
		for i := range events {
			if events[i].Bookmark != "" {
				bookmark = events[i].Bookmark
			}
		}
	}
	writeMessageHead(&b, to, action, msgID, ack)
	if ack {
		b.WriteString(`<w:AckRequested/>`)
	}
	if bookmark != "" {
		b.WriteString(`<w:Bookmark>`)
		escapeText(&b, bookmark)
		b.WriteString(`</w:Bookmark>`)
	}
	b.WriteString(bodyOpen)
	if mode == eventing.Events {
		b.WriteString(`<w:Events>`)
		for i := range events {
			b.WriteString(`<w:Event Action="`)
			escapeAttr(&b, eventAction(&events[i]))
			b.WriteString(`">`)
			writeEventBody(&b, &events[i])
			b.WriteString(`</w:Event>`)
		}
		b.WriteString(`</w:Events>`)
	} else {
		writeEventBody(&b, &events[0])
	}
	b.WriteString(envelopeEnd)
	answer, err := d.post(ctx, to, b.Bytes())
	if err != nil {
		return err
	}
	if !ack {
		return nil
	}
	return checkAck(answer, msgID)
}

// eventAction is the wsa:Action of an event's message.
func eventAction(ev *eventing.Event) string {
	switch ev.Kind {
	case eventing.Heartbeat:
		return ActionHeartbeat
	case eventing.Dropped:
		return ActionDroppedEvents
	}
	if ev.Action == "" {
		return ActionEvent
	}
	return ev.Action
}

// writeEventBody writes the body of one event: its payload, nothing for a
// heartbeat, wsman:DroppedEvents for a drop.
func writeEventBody(b *bytes.Buffer, ev *eventing.Event) {
	switch ev.Kind {
	case eventing.Heartbeat:
	case eventing.Dropped:
		writeDropped(b, ev)
	default:
		b.Write(ev.Payload)
	}
}

// writeMessageHead writes an outgoing message up to the end of the
// addressing headers: To the endpoint, the Action, a MessageID, ReplyTo
// anonymous when an answer is wanted, and the endpoint's reference
// parameters.
func writeMessageHead(b *bytes.Buffer, to *endpoint, action, msgID string, replyTo bool) {
	b.WriteString(envelopeOpen)
	b.WriteString(`<s:Header><a:To>`)
	escapeText(b, to.address)
	b.WriteString(`</a:To><a:Action` + muTrue + `>`)
	escapeText(b, action)
	b.WriteString(`</a:Action><a:MessageID>`)
	b.WriteString(msgID)
	b.WriteString(`</a:MessageID>`)
	if replyTo {
		b.WriteString(`<a:ReplyTo><a:Address>` + AddressAnonymous + `</a:Address></a:ReplyTo>`)
	}
	b.Write(to.refParams)
}

// post sends one message and returns the answer of a receiver that took
// it (2xx). A SOAP fault wsman:DeliveryRefused is eventing.ErrDeliveryRefused.
func (d *httpDeliverer) post(ctx context.Context, to *endpoint, msg []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.address, bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("wsman: event delivery to %s: %w", to.address, err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.Header.Set("User-Agent", "vsmig WS-Management events")
	if to.basic {
		req.SetBasicAuth(to.user, to.password)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wsman: event delivery to %s: %w", to.address, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxDeliveryAnswer))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return answer, nil
	}
	if sub := faultSubcodeOf(answer); strings.HasSuffix(sub, ":DeliveryRefused") || sub == "DeliveryRefused" {
		return nil, fmt.Errorf("wsman: event delivery to %s: %w", to.address, eventing.ErrDeliveryRefused)
	}
	return nil, fmt.Errorf("wsman: event delivery to %s: HTTP %s", to.address, resp.Status)
}

// checkAck requires the answer to be a wsman:Ack for msgID.
func checkAck(answer []byte, msgID string) error {
	root, err := parseDocument(answer)
	if err != nil {
		return fmt.Errorf("wsman: the event receiver's answer is not an acknowledgement: %w", err)
	}
	header := child(root, NSSOAP12, "Header")
	if trimmedText(child(header, NSAddressing, "Action")) != ActionAck {
		return errors.New("wsman: the event receiver did not acknowledge the event (no wsman:Ack Action)")
	}
	if rel := trimmedText(child(header, NSAddressing, "RelatesTo")); rel != "" && !strings.EqualFold(rel, msgID) {
		return errors.New("wsman: the event receiver acknowledged another message")
	}
	return nil
}

// faultSubcodeOf returns the subcode text of a SOAP fault answer, "" if
// the answer is not one.
func faultSubcodeOf(answer []byte) string {
	root, err := parseDocument(answer)
	if err != nil {
		return ""
	}
	code := child(child(child(root, NSSOAP12, "Body"), NSSOAP12, "Fault"), NSSOAP12, "Code")
	return trimmedText(child(child(code, NSSOAP12, "Subcode"), NSSOAP12, "Value"))
}

// End implements eventing.Deliverer: a SubscriptionEnd (WS-Eventing
// 2004/08 §4.4) to EndTo, when the subscription gave one. The status is
// written as the QName the 2004/08 schema defines (e:DeliveryFailure, ...).
func (d *httpDeliverer) End(ctx context.Context, sub *eventing.Subscription, status eventing.Status, reason string) {
	t := sub.Spec().Target.(*subscription)
	if t.endTo == nil {
		return
	}
	var b bytes.Buffer
	writeMessageHead(&b, t.endTo, ActionSubscriptionEnd, "uuid:"+newMessageUUID().String(), false)
	b.WriteString(bodyOpen)
	b.WriteString(`<e:SubscriptionEnd>`)
	writeManager(&b, t, sub.ID())
	b.WriteString(`<e:Status>e:` + status.String() + `</e:Status>`)
	if reason != "" {
		b.WriteString(`<e:Reason xml:lang="en-US">`)
		escapeText(&b, reason)
		b.WriteString(`</e:Reason>`)
	}
	b.WriteString(`</e:SubscriptionEnd>`)
	b.WriteString(envelopeEnd)
	if _, err := d.post(ctx, t.endTo, b.Bytes()); err != nil {
		d.log.Info("SubscriptionEnd not delivered", "subscription", sub.ID(), "status", status.String(), "err", err)
	}
}
