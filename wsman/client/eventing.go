package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/xsd"
)

// WS-Eventing with Pull delivery (DSP0226 §10.2.9): a subscription whose
// events the client reads with Pull on the enumeration context the
// SubscribeResponse carries, as it would read an enumeration.

// NSEventing is WS-Eventing's namespace (2004/08, as DSP0226 uses it).
const NSEventing = "http://schemas.xmlsoap.org/ws/2004/08/eventing"

// DeliveryModePull is DSP0226's Pull delivery mode.
const DeliveryModePull = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"

// AllClassesURI is DSP0227's ResourceURI of all classes, the usual one to
// subscribe on with a WQL filter naming the indication class.
const AllClassesURI = "http://schemas.dmtf.org/wbem/wscim/1/*"

// Subscription is a Pull-mode subscription.
type Subscription struct {
	ResourceURI string
	// Context is the enumeration context events are pulled on; it is
	// updated by each Pull.
	Context string
	// Identifier is the wse:Identifier the subscription manager named
	// it by (Renew).
	Identifier string
}

// SubscribeOptions are a Pull subscription's parameters.
type SubscribeOptions struct {
	// Query is a WQL filter, e.g. "SELECT * FROM CIM_InstModification
	// WHERE SourceInstance ISA CIM_ConcreteJob".
	Query string
	// Expires is the subscription's lifetime (the server's default when
	// zero).
	Expires time.Duration
}

// SubscribePull subscribes to the events of resourceURI that opt.Query
// selects, to be read with PullEvents.
func (c *Client) SubscribePull(ctx context.Context, resourceURI string, opt SubscribeOptions) (*Subscription, error) {
	sub := etree.NewElement("e:Subscribe")
	sub.CreateAttr("xmlns:e", NSEventing)
	sub.CreateElement("e:Delivery").CreateAttr("Mode", DeliveryModePull)
	if opt.Expires > 0 {
		sub.CreateElement("e:Expires").SetText(xsd.FormatDuration(opt.Expires))
	}
	if opt.Query != "" {
		f := sub.CreateElement("w:Filter")
		f.CreateAttr("Dialect", DialectWQL)
		f.SetText(opt.Query)
	}
	body, err := c.Do(ctx, Request{Action: NSEventing + "/Subscribe", ResourceURI: resourceURI, Body: sub})
	if err != nil {
		return nil, err
	}
	resp := find(body, NSEventing, "SubscribeResponse")
	if resp == nil {
		return nil, errors.New("client: no SubscribeResponse")
	}
	s := &Subscription{ResourceURI: resourceURI, Context: text(find(resp, NSEnumeration, "EnumerationContext"))}
	if mgr := find(resp, NSEventing, "SubscriptionManager"); mgr != nil {
		s.Identifier = text(find(find(mgr, NSAddressing, "ReferenceParameters"), NSEventing, "Identifier"))
	}
	if s.Context == "" {
		return nil, errors.New("client: the SubscribeResponse has no enumeration context to pull events on")
	}
	return s, nil
}

// PullEvents waits up to maxTime for at most max events of s and returns
// their bodies (each the event element: for CIM indications the
// CIM_InstModification, ...). No event in time is not an error: nil, nil.
func (c *Client) PullEvents(ctx context.Context, s *Subscription, max int, maxTime time.Duration) ([]*etree.Element, error) {
	pull := etree.NewElement("n:Pull")
	pull.CreateElement("n:EnumerationContext").SetText(s.Context)
	pull.CreateElement("n:MaxTime").SetText(xsd.FormatDuration(maxTime))
	pull.CreateElement("n:MaxElements").SetText(strconv.Itoa(max))
	body, err := c.Do(ctx, Request{Action: NSEnumeration + "/Pull", ResourceURI: s.ResourceURI, Body: pull})
	var f *Fault
	if errors.As(err, &f) && f.HasSubcode("TimedOut") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	resp := find(body, NSEnumeration, "PullResponse")
	if resp == nil {
		return nil, errors.New("client: no PullResponse")
	}
	if ctx := text(find(resp, NSEnumeration, "EnumerationContext")); ctx != "" {
		s.Context = ctx
	}
	items := find(resp, NSEnumeration, "Items")
	if items == nil {
		return nil, nil
	}
	return items.ChildElements(), nil
}

// Renew extends s by expires (DSP0226 §10.3).
func (c *Client) Renew(ctx context.Context, s *Subscription, expires time.Duration) error {
	if s.Identifier == "" {
		return errors.New("client: the subscription has no identifier to renew it by")
	}
	id := etree.NewElement("e:Identifier")
	id.CreateAttr("xmlns:e", NSEventing)
	id.SetText(s.Identifier)
	renew := etree.NewElement("e:Renew")
	renew.CreateAttr("xmlns:e", NSEventing)
	renew.CreateElement("e:Expires").SetText(xsd.FormatDuration(expires))
	_, err := c.Do(ctx, Request{Action: NSEventing + "/Renew", ResourceURI: s.ResourceURI, Headers: []*etree.Element{id}, Body: renew})
	return err
}

// Unsubscribe ends s: a Release of its enumeration context, which ends a
// Pull subscription (DSP0226 §10.2.9).
func (c *Client) Unsubscribe(ctx context.Context, s *Subscription) error {
	rel := etree.NewElement("n:Release")
	rel.CreateElement("n:EnumerationContext").SetText(s.Context)
	if _, err := c.Do(ctx, Request{Action: NSEnumeration + "/Release", ResourceURI: s.ResourceURI, Body: rel}); err != nil {
		return fmt.Errorf("client: unsubscribe: %w", err)
	}
	return nil
}
