package wsman_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

func TestParsePushTargets(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: ""},
		{in: "10.1.0.0/16, 192.0.2.7 ::1", want: "10.1.0.0/16,192.0.2.7/32,::1/128"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"},
		{in: "collector.example.com,*.mgmt.example.com,EVENTS.example.org.", want: "collector.example.com,*.mgmt.example.com,events.example.org"},
		{in: "http://x", bad: true},
		{in: "bad_name", bad: true},
		{in: "*", bad: true},
	}
	for _, tt := range tests {
		pt, err := wsman.ParsePushTargets(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParsePushTargets(%q) error %v", tt.in, err)
			continue
		}
		if err == nil && pt.String() != tt.want {
			t.Errorf("ParsePushTargets(%q) = %q, want %q", tt.in, pt.String(), tt.want)
		}
	}
}

// pushService is eventService with push targets.
func pushService(t *testing.T, targets string) (*wsman.Service, *wsmantest.Resource) {
	t.Helper()
	pt, err := wsman.ParsePushTargets(targets)
	if err != nil {
		t.Fatal(err)
	}
	res := wsmantest.NewResource(3)
	s := wsman.NewService(wsman.Config{PushTargets: pt, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { s.Close() })
	s.Handle(wsmantest.ResourceURI, res)
	return s, res
}

// TestPushTargets: push subscriptions deliver only where the operator
// allowed (issue #13: any authenticated user could have vsmigd POST to any
// address). A NotifyTo or EndTo outside the allowed networks and hosts is
// refused at Subscribe; Pull subscriptions need none.
func TestPushTargets(t *testing.T) {
	rc := newReceiver(t, nil)
	u, _ := url.Parse(rc.URL)
	local := strings.Replace(rc.URL, u.Hostname(), "localhost", 1)
	tests := []struct {
		name, targets, notify, end string
		refused                    string // in the fault's reason; "" if accepted
	}{
		{name: "allowed network", targets: "127.0.0.0/8", notify: rc.URL},
		{name: "allowed address", targets: "127.0.0.1", notify: rc.URL},
		{name: "listed host", targets: "localhost", notify: local},
		{name: "a name resolving into the networks", targets: "127.0.0.0/8,::1", notify: local},
		{name: "push off", targets: "", notify: rc.URL, refused: "push_targets setting is empty"},
		{name: "another network", targets: "10.0.0.0/8", notify: rc.URL, refused: "not in the networks"},
		{name: "an unlisted host", targets: "collector.example.com", notify: local, refused: "not among the hosts"},
		{name: "EndTo outside", targets: "127.0.0.1", notify: rc.URL, end: "http://192.0.2.1/end", refused: "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, res := pushService(t, tt.targets)
			rest := ""
			if tt.end != "" {
				rest = endTo(tt.end)
			}
			resp, status := s.ServeSOAP(context.Background(), user,
				eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePush, notifyTo(tt.notify), rest)))
			if tt.refused != "" {
				if status == 200 || !strings.Contains(string(resp), "w:UnsupportedFeature") ||
					!strings.Contains(string(resp), "AddressingMode") || !strings.Contains(string(resp), tt.refused) {
					t.Fatalf("status %d, want UnsupportedFeature/AddressingMode saying %q:\n%s", status, tt.refused, resp)
				}
				return
			}
			if status != 200 {
				t.Fatalf("status %d\n%s", status, resp)
			}
			res.Touch("item-1")
			if m := rc.next(t); m.action() != wsman.ActionEvent {
				t.Errorf("Action %q", m.action())
			}
		})
	}
	// Pull needs no push target.
	s, _ := pushService(t, "")
	mustServe(t, s, eventRequest(wsman.ActionSubscribe, "", subscribeBody(wsman.DeliveryModePull, "", "")))
}

// TestPushTargetsAtDial: the check is made again on every connection,
// against the address dialled: an address outside the networks (as a name
// that resolved into them at Subscribe may resolve later) is not
// connected to, and the delivery fails.
func TestPushTargetsAtDial(t *testing.T) {
	pt, _ := wsman.ParsePushTargets("10.0.0.0/8")
	dial := wsman.PushDialerForTest(pt)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := dial(ctx, "tcp", l.Addr().String()); err == nil || !errors.Is(err, wsman.ErrPushTargetForTest) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial of 127.0.0.1 with only 10.0.0.0/8 allowed: %v", err)
	}
	// And through an HTTP client, as the service's delivery client uses it.
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	if _, err := client.Get("http://" + l.Addr().String() + "/"); err == nil || !errors.Is(err, wsman.ErrPushTargetForTest) {
		t.Fatalf("GET through the guarded dialer: %v", err)
	}
}
