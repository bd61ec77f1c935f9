package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/client"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// newServer serves the wsmantest resource over HTTPS with Basic u/p.
func newServer(t *testing.T, items int) *httptest.Server {
	t.Helper()
	svc := wsman.NewService(wsman.Config{ProductVendor: "test vendor", ProductVersion: "1"})
	t.Cleanup(func() { svc.Close() })
	svc.Handle(wsmantest.ResourceURI, wsmantest.NewResource(items))
	h := wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Authenticator: auth.AuthenticatorFunc(func(r *http.Request) (string, error) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "u" || p != "p" {
			return "", errors.New("bad credentials")
		}
		return u, nil
	})})
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestClientAgainstServer(t *testing.T) {
	srv := newServer(t, 7)
	ctx := context.Background()
	fp := client.Fingerprint(srv.Certificate())
	c, err := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "p", Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Identify(ctx)
	if err != nil || id.ProductVendor != "test vendor" {
		t.Fatalf("Identify: %+v %v", id, err)
	}
	items, err := c.Enumerate(ctx, wsmantest.ResourceURI, client.EnumerateOptions{MaxElements: 3, WithEPR: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 7 {
		t.Fatalf("enumerated %d items, want 7", len(items))
	}
	for _, it := range items {
		if it.Object == nil || it.Ref == nil || it.Ref.ResourceURI != wsmantest.ResourceURI {
			t.Fatalf("item without object or EPR: %+v", it)
		}
	}
	first := items[0].Ref.Selectors
	obj, err := c.Get(ctx, wsmantest.ResourceURI, first)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Name != wsmantest.ClassName {
		t.Fatalf("Get returned %q", obj.Name)
	}
	_, err = c.Get(ctx, wsmantest.ResourceURI, map[string]string{"Nope": "1"})
	var f *client.Fault
	if !errors.As(err, &f) || f.Subcode != "w:InvalidSelectors" || f.HTTPStatus != 500 {
		t.Fatalf("Get with a bad selector: %v", err)
	}
}

func TestClientPinningAndAuth(t *testing.T) {
	srv := newServer(t, 1)
	ctx := context.Background()
	wrong, _ := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "p",
		Fingerprint: "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"})
	if _, err := wrong.Identify(ctx); err == nil {
		t.Fatal("a wrong pin was accepted")
	}
	verify, _ := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "p"})
	if _, err := verify.Identify(ctx); err == nil {
		t.Fatal("an untrusted self-signed certificate was accepted with verification on")
	}
	badpw, _ := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "x", Insecure: true})
	if _, err := badpw.Enumerate(ctx, wsmantest.ResourceURI, client.EnumerateOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("wrong password: %v, want ErrUnauthorized", err)
	}
	if _, err := client.New(client.Config{Endpoint: srv.URL, Fingerprint: "zz"}); err == nil {
		t.Fatal("a malformed fingerprint was accepted")
	}
}

// TestPullSubscription: a Pull subscription's events are read with Pull,
// no event in time is no error, Renew and Unsubscribe work, and a Pull
// after the unsubscription is the fault a follower falls back on.
func TestPullSubscription(t *testing.T) {
	svc := wsman.NewService(wsman.Config{})
	t.Cleanup(func() { svc.Close() })
	res := wsmantest.NewResource(3)
	svc.Handle(wsmantest.ResourceURI, res)
	srv := httptest.NewTLSServer(wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Authenticator: auth.AuthenticatorFunc(
		func(r *http.Request) (string, error) { return "u", nil })}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "p", Fingerprint: client.Fingerprint(srv.Certificate())})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := c.SubscribePull(ctx, wsmantest.ResourceURI, client.SubscribeOptions{Query: "SELECT * FROM VSMIG_TestItemEvent", Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if s.Context == "" || s.Identifier == "" {
		t.Fatalf("subscription %+v", s)
	}
	res.Touch("item-2")
	evs, err := c.PullEvents(ctx, s, 10, 5*time.Second)
	if err != nil || len(evs) != 1 || evs[0].FindElement("./Name").Text() != "item-2" {
		t.Fatalf("PullEvents = %v, %v", evs, err)
	}
	if evs, err := c.PullEvents(ctx, s, 10, time.Second); err != nil || evs != nil {
		t.Fatalf("PullEvents with nothing to pull = %v, %v", evs, err)
	}
	if err := c.Renew(ctx, s, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(ctx, s); err != nil {
		t.Fatal(err)
	}
	var f *client.Fault
	if _, err := c.PullEvents(ctx, s, 10, time.Second); !errors.As(err, &f) || !f.HasSubcode("InvalidEnumerationContext") {
		t.Fatalf("Pull after Unsubscribe: %v", err)
	}
}

// TestThrottled: HTTP 429 says so, with the server's Retry-After (it was
// "HTTP 429 with a body that is not XML").
func TestThrottled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "42")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, _ := client.New(client.Config{Endpoint: srv.URL + "/wsman", User: "u", Password: "p"})
	_, err := c.Identify(context.Background())
	var te *client.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != 42*time.Second || !strings.Contains(err.Error(), "too many failed logins") {
		t.Fatalf("429: %v", err)
	}
}
