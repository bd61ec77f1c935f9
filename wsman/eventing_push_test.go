package wsman_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/eventing"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// received is one message an event receiver got.
type received struct {
	doc        *etree.Document
	user, pass string
	basic      bool
}

func (m received) action() string {
	if e := m.doc.FindElement("//Header/Action"); e != nil {
		return strings.TrimSpace(e.Text())
	}
	return ""
}

// receiver is an HTTP event sink: every message goes to its channel, and
// answer decides the reply (nil: 200 with an Ack for the message).
type receiver struct {
	*httptest.Server
	got chan received
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, m received) bool) *receiver {
	rc := &receiver{got: make(chan received, 64)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Errorf("receiver: not XML: %v\n%s", err, b)
			w.WriteHeader(400)
			return
		}
		m := received{doc: doc}
		m.user, m.pass, m.basic = r.BasicAuth()
		select {
		case rc.got <- m:
		default:
		}
		if answer != nil && answer(w, m) {
			return
		}
		id := ""
		if e := doc.FindElement("//Header/MessageID"); e != nil {
			id = e.Text()
		}
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, `<s:Envelope xmlns:s="`+wsman.NSSOAP12+`" xmlns:a="`+wsman.NSAddressing+`"><s:Header><a:Action>`+
			wsman.ActionAck+`</a:Action><a:RelatesTo>`+id+`</a:RelatesTo></s:Header><s:Body/></s:Envelope>`)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next message (10 s at most: the deliveries under test
// take milliseconds; the bound only ends a broken test).
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-rc.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the receiver")
		return received{}
	}
}

const testNS = `xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wse="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration"`

func eventRequest(action, header, body string) []byte {
	return []byte(`<s:Envelope ` + testNS + `><s:Header><wsa:To>https://server/wsman</wsa:To>` +
		`<wsman:ResourceURI>` + wsmantest.ResourceURI + `</wsman:ResourceURI>` +
		`<wsa:ReplyTo><wsa:Address>` + wsman.AddressAnonymous + `</wsa:Address></wsa:ReplyTo>` +
		`<wsa:Action>` + action + `</wsa:Action><wsa:MessageID>uuid:` + time.Now().Format("150405.000000000") + `</wsa:MessageID>` +
		header + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
}

func subscribeBody(mode, delivery, rest string) string {
	return `<wse:Subscribe><wse:Delivery Mode="` + mode + `">` + delivery + `</wse:Delivery>` + rest + `</wse:Subscribe>`
}

func notifyTo(url string) string {
	return `<wse:NotifyTo><wsa:Address>` + url + `</wsa:Address><wsa:ReferenceParameters><xyz:MyID xmlns:xyz="urn:sink">1234</xyz:MyID></wsa:ReferenceParameters></wse:NotifyTo>`
}

func endTo(url string) string {
	return `<wse:EndTo><wsa:Address>` + url + `</wsa:Address></wse:EndTo>`
}

// eventService is a Service with the test resource, on the real clock.
func eventService(t *testing.T, ecfg eventing.Config) (*wsman.Service, *wsmantest.Resource) {
	t.Helper()
	res := wsmantest.NewResource(3)
	s := wsman.NewService(wsman.Config{Eventing: ecfg, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { s.Close() })
	s.Handle(wsmantest.ResourceURI, res)
	return s, res
}

func mustServe(t *testing.T, s *wsman.Service, req []byte) []byte {
	t.Helper()
	resp, status := s.ServeSOAP(context.Background(), user, req)
	if status != 200 {
		t.Fatalf("status %d\n%s", status, resp)
	}
	return resp
}

func TestPushDelivery(t *testing.T) {
	rc := newReceiver(t, nil)
	s, res := eventService(t, eventing.Config{})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePush, notifyTo(rc.URL), "<wsman:SendBookmarks/>")))
	res.Touch("item-2")
	m := rc.next(t)
	if m.action() != wsman.ActionEvent {
		t.Errorf("Action %q, want %q", m.action(), wsman.ActionEvent)
	}
	if e := m.doc.FindElement("//Header/MyID"); e == nil || e.Text() != "1234" || e.NamespaceURI() != "urn:sink" {
		t.Errorf("the NotifyTo reference parameter is not a header of the event: %v", e)
	}
	if e := m.doc.FindElement("//Header/Bookmark"); e == nil || e.Text() != "testitem:1" {
		t.Errorf("no bookmark header: %v", e)
	}
	if e := m.doc.FindElement("//Body/VSMIG_TestItemEvent/Name"); e == nil || e.Text() != "item-2" {
		t.Errorf("event body not delivered")
	}
	if e := m.doc.FindElement("//Header/AckRequested"); e != nil {
		t.Errorf("Push mode asks for an acknowledgement")
	}
}

func TestPushWithAckAndBasicAuth(t *testing.T) {
	rc := newReceiver(t, nil)
	s, res := eventService(t, eventing.Config{})
	tokens := `<wst:IssuedTokens xmlns:wst="http://schemas.xmlsoap.org/ws/2005/02/trust" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy">` +
		`<wst:RequestSecurityTokenResponse><wst:TokenType>` + wsman.TokenTypeUserNamePassword + `</wst:TokenType><wst:RequestedSecurityToken>` +
		`<wsse:UsernameToken><wsse:Username>collector</wsse:Username><wsse:Password>s3cret</wsse:Password></wsse:UsernameToken></wst:RequestedSecurityToken>` +
		`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>` + rc.URL + `</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
		`</wst:RequestSecurityTokenResponse></wst:IssuedTokens>`
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, tokens, subscribeBody(wsman.DeliveryModePushWithAck,
		notifyTo(rc.URL)+`<wsman:Auth Profile="`+wsman.ProfileHTTPBasic+`"/>`, "")))
	res.Touch("item-1")
	m := rc.next(t)
	if !m.basic || m.user != "collector" || m.pass != "s3cret" {
		t.Errorf("Basic credentials %q/%q (%v), want collector/s3cret", m.user, m.pass, m.basic)
	}
	if m.doc.FindElement("//Header/AckRequested") == nil {
		t.Errorf("PushWithAck without wsman:AckRequested")
	}
	res.Touch("item-2")
	if m := rc.next(t); m.doc.FindElement("//Body/VSMIG_TestItemEvent/Name").Text() != "item-2" {
		t.Errorf("second event not delivered after the first was acknowledged")
	}
}

func TestEventsModeBatches(t *testing.T) {
	rc := newReceiver(t, nil)
	s, res := eventService(t, eventing.Config{})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModeEvents,
		notifyTo(rc.URL)+`<wsman:MaxElements>3</wsman:MaxElements><wsman:MaxTime>PT30S</wsman:MaxTime>`, "")))
	for _, n := range []string{"item-1", "item-2", "item-3"} {
		res.Touch(n)
	}
	m := rc.next(t)
	if m.action() != wsman.ActionEvents {
		t.Fatalf("Action %q, want %q", m.action(), wsman.ActionEvents)
	}
	evs := m.doc.FindElements("//Body/Events/Event")
	if len(evs) != 3 {
		t.Fatalf("%d events in the batch, want 3", len(evs))
	}
	for _, e := range evs {
		if e.SelectAttrValue("Action", "") != wsman.ActionEvent {
			t.Errorf("w:Event Action %q", e.SelectAttrValue("Action", ""))
		}
	}
}

func TestHeartbeat(t *testing.T) {
	rc := newReceiver(t, nil)
	s, _ := eventService(t, eventing.Config{})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePush,
		notifyTo(rc.URL)+`<wsman:Heartbeats>PT1S</wsman:Heartbeats>`, "")))
	if m := rc.next(t); m.action() != wsman.ActionHeartbeat {
		t.Errorf("Action %q, want a heartbeat", m.action())
	}
}

// failing answers every event with HTTP 503.
func failing(w http.ResponseWriter, m received) bool {
	if m.action() == wsman.ActionSubscriptionEnd {
		return false
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	return true
}

func TestDeliveryFailureEndsSubscription(t *testing.T) {
	sink := newReceiver(t, failing)
	end := newReceiver(t, nil)
	s, res := eventService(t, eventing.Config{MinRetryInterval: time.Millisecond})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePush,
		notifyTo(sink.URL)+`<wsman:ConnectionRetry Total="2">PT0.01S</wsman:ConnectionRetry>`, endTo(end.URL))))
	res.Touch("item-1")
	for i := 0; i < 3; i++ { // the attempt and its two retries
		sink.next(t)
	}
	m := end.next(t)
	if m.action() != wsman.ActionSubscriptionEnd {
		t.Fatalf("EndTo got %q", m.action())
	}
	if st := m.doc.FindElement("//Body/SubscriptionEnd/Status"); st == nil || st.Text() != "e:DeliveryFailure" {
		t.Errorf("status %v, want e:DeliveryFailure", st)
	}
	if s.Subscriptions() != 0 || res.Subscribers() != 0 {
		t.Errorf("the subscription outlived its delivery failure: %d / %d", s.Subscriptions(), res.Subscribers())
	}
}

func TestDeliveryRefusedCancelsSilently(t *testing.T) {
	var ends atomic.Int32
	end := newReceiver(t, func(http.ResponseWriter, received) bool { ends.Add(1); return false })
	sink := newReceiver(t, func(w http.ResponseWriter, m received) bool {
		w.Header().Set("Content-Type", "application/soap+xml")
		w.WriteHeader(500)
		io.WriteString(w, `<s:Envelope xmlns:s="`+wsman.NSSOAP12+`" xmlns:w="`+wsman.NSWSMan+`"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>`+
			`<s:Subcode><s:Value>w:DeliveryRefused</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`)
		return true
	})
	s, res := eventService(t, eventing.Config{})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePush, notifyTo(sink.URL), endTo(end.URL))))
	res.Touch("item-1")
	sink.next(t)
	waitFor(t, func() bool { return s.Subscriptions() == 0 })
	if n := ends.Load(); n != 0 {
		t.Errorf("%d SubscriptionEnd sent after DeliveryRefused, want none (DSP0226 R10.8-1)", n)
	}
}

func TestSubscriptionEndOnCloseAndSourceCancel(t *testing.T) {
	end := newReceiver(t, nil)
	s, res := eventService(t, eventing.Config{})
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", endTo(end.URL))))
	res.EndSubscriptions("item store closed")
	m := end.next(t)
	if st := m.doc.FindElement("//Body/SubscriptionEnd/Status"); st == nil || st.Text() != "e:SourceCancelling" {
		t.Errorf("status %v, want e:SourceCancelling", st)
	}
	if r := m.doc.FindElement("//Body/SubscriptionEnd/Reason"); r == nil || r.Text() != "item store closed" {
		t.Errorf("reason %v", r)
	}
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", endTo(end.URL))))
	s.Close()
	m = end.next(t)
	if st := m.doc.FindElement("//Body/SubscriptionEnd/Status"); st == nil || st.Text() != "e:SourceShuttingDown" {
		t.Errorf("status %v, want e:SourceShuttingDown", st)
	}
	if res.Subscribers() != 0 {
		t.Errorf("Close left the source connected")
	}
}

func TestQueueDropsOldest(t *testing.T) {
	s, res := eventService(t, eventing.Config{MaxQueueEvents: 2})
	resp := mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", "")))
	ctxID := findText(t, resp, wsman.NSEnumeration, "EnumerationContext")
	for i := 0; i < 5; i++ {
		res.Touch("item-1")
	}
	resp = mustServe(t, s, eventRequest(wsman.ActionPull, "", `<wsen:Pull><wsen:EnumerationContext>`+ctxID+
		`</wsen:EnumerationContext><wsen:MaxElements>10</wsen:MaxElements></wsen:Pull>`))
	doc := parse(t, resp)
	d := doc.FindElement("//Items/DroppedEvents")
	if d == nil || d.Text() != "3" || d.SelectAttrValue("Action", "") != wsman.ActionEvent {
		t.Fatalf("no DroppedEvents 3 marker:\n%s", resp)
	}
	if n := len(doc.FindElements("//Items/VSMIG_TestItemEvent")); n != 2 {
		t.Errorf("%d events after the marker, want the 2 newest", n)
	}
}

func TestSubscriptionQuota(t *testing.T) {
	s, _ := eventService(t, eventing.Config{MaxSubscriptionsPerUser: 1})
	req := eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", ""))
	mustServe(t, s, req)
	resp, _ := s.ServeSOAP(context.Background(), user, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", "")))
	if sub, _ := faultOf(t, resp); sub != wsman.SubcodeQuotaLimit {
		t.Errorf("second subscription: %s, want %s", sub, wsman.SubcodeQuotaLimit)
	}
	other := wsman.Caller{User: "bob"}
	if _, status := s.ServeSOAP(context.Background(), other, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", ""))); status != 200 {
		t.Errorf("another user's subscription refused: %d", status)
	}
}

func TestSubscriptionExpires(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	res := wsmantest.NewResource(1)
	s := wsman.NewService(wsman.Config{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Unix(0, now.Load()) },
		Eventing: eventing.Config{SweepInterval: 10 * time.Millisecond}})
	defer s.Close()
	s.Handle(wsmantest.ResourceURI, res)
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", "<wse:Expires>PT1M</wse:Expires>")))
	if s.Subscriptions() != 1 || res.Subscribers() != 1 {
		t.Fatal("not subscribed")
	}
	now.Add(int64(2 * time.Minute))
	waitFor(t, func() bool { return s.Subscriptions() == 0 && res.Subscribers() == 0 })
}

// waitFor polls cond until it holds (10 s at most, for a broken test).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRetriedFaultIsNotDuplicate: curl --retry (Debian's wsl) resends a
// request answered with HTTP 500 under the same MessageID; the retry must
// get the real fault again, not wsa:InvalidMessageInformationHeader
// (DuplicateMessageID), while a repeated successful request still does.
func TestRetriedFaultIsNotDuplicate(t *testing.T) {
	s := newTestService(t, wsman.Config{})
	bad := wsmantest.NewRequestID("uuid:retry-1", wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "nope"}, "")
	for i := 0; i < 2; i++ {
		resp, _ := s.ServeSOAP(context.Background(), user, bad)
		if sub, _ := faultOf(t, resp); sub != wsman.SubcodeDestinationUnreachable {
			t.Fatalf("attempt %d: %s, want %s", i+1, sub, wsman.SubcodeDestinationUnreachable)
		}
	}
	good := wsmantest.NewRequestID("uuid:retry-2", wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, "")
	mustServe(t, s, good)
	resp, _ := s.ServeSOAP(context.Background(), user, good)
	if _, detail := faultOf(t, resp); detail != wsman.DetailDuplicateMessageID {
		t.Errorf("a repeated successful request was not refused: %s", resp)
	}
}
