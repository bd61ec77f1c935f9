package wsman_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// aliceOnly accepts any Basic credentials of user alice.
var aliceOnly = auth.AuthenticatorFunc(func(r *http.Request) (string, error) {
	if u, _, ok := r.BasicAuth(); ok && u == "alice" {
		return u, nil
	}
	return "", auth.ErrInvalidCredentials
})

// utf16LE encodes s as UTF-16LE with a BOM; units, if set, replaces the
// code units of the marker "@" (which s holds once).
func utf16LE(s string, units ...uint16) []byte {
	var u []uint16
	before, after, _ := strings.Cut(s, "@")
	u = append(u, 0xFEFF)
	u = append(u, utf16.Encode([]rune(before))...)
	u = append(u, units...)
	u = append(u, utf16.Encode([]rune(after))...)
	b := make([]byte, 0, 2*len(u))
	for _, x := range u {
		b = append(b, byte(x), byte(x>>8))
	}
	return b
}

// Issue #14: a lone UTF-16 surrogate became U+FFFD and the request went on;
// it is malformed XML, answered with the fault invalid UTF-8 gets, in
// UTF-16.
func TestUTF16LoneSurrogateRefused(t *testing.T) {
	s := newTestService(t, wsman.Config{DuplicateMessageIDs: -1})
	h := wsman.NewHTTPHandler(s, wsman.HTTPConfig{Authenticator: aliceOnly})
	get := strings.Replace(string(wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, "")), "item-1", "item-@", 1)
	for _, tt := range []struct {
		name    string
		units   []uint16
		wantSub string
	}{
		{"pair", []uint16{0xD83D, 0xDE00}, "a:DestinationUnreachable"}, // a real character: no such item
		{"lone high", []uint16{0xD800}, "w:SchemaValidationError"},
		{"lone low", []uint16{0xDC00, '1'}, "w:SchemaValidationError"},
		{"reversed pair", []uint16{0xDE00, 0xD83D}, "w:SchemaValidationError"},
	} {
		r := httptest.NewRequest("POST", "https://vsmig.test/wsman", bytes.NewReader(utf16LE(get, tt.units...)))
		r.Header.Set("Content-Type", "application/soap+xml;charset=UTF-16")
		r.SetBasicAuth("alice", "x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/soap+xml;charset=UTF-16" {
			t.Errorf("%s: status %d, Content-Type %q", tt.name, rec.Code, rec.Header().Get("Content-Type"))
			continue
		}
		body := rec.Body.Bytes()
		units := make([]uint16, 0, len(body)/2)
		for i := 2; i+1 < len(body); i += 2 { // skip the BOM
			units = append(units, uint16(body[i])|uint16(body[i+1])<<8)
		}
		resp := []byte(string(utf16.Decode(units)))
		if sub, _ := faultOf(t, resp); sub != tt.wantSub {
			t.Errorf("%s: fault %q, want %q\n%s", tt.name, sub, tt.wantSub, resp)
		}
		if tt.wantSub == "w:SchemaValidationError" && !strings.Contains(string(resp), "UTF-16") {
			t.Errorf("%s: the reason does not name UTF-16:\n%s", tt.name, resp)
		}
	}
}

// Issue #14: 1,024 Enumerates of one user filled the context quota and
// every other user's Enumerate, even an optimized one that fits in one
// reply, got w:QuotaLimit.
func TestEnumerationQuotaPerUser(t *testing.T) {
	s := newTestService(t, wsman.Config{MaxEnumerationContexts: 8, MaxEnumerationContextsPerUser: 4})
	mallory := wsman.Caller{User: "mallory"}
	plain := func() []byte {
		return wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(false, 0, ""))
	}
	for i := range 20 {
		sub, _ := faultOf(t, serve(t, s, mallory, plain()))
		if want := map[bool]string{true: "", false: "w:QuotaLimit"}[i < 4]; sub != want {
			t.Fatalf("mallory's Enumerate %d: fault %q, want %q", i+1, sub, want)
		}
	}
	// An optimized Enumerate that fits opens no context at all.
	for range 10 {
		opt := wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 100, ""))
		resp := serve(t, s, mallory, opt)
		if sub, _ := faultOf(t, resp); sub != "" || !bytes.Contains(resp, []byte("EndOfSequence")) {
			t.Fatalf("mallory's optimized Enumerate at her quota: %s", resp)
		}
	}
	if n := s.OpenEnumerations(); n != 4 {
		t.Errorf("OpenEnumerations = %d, want mallory's 4", n)
	}
	// Another user's plain Enumerate still gets a context.
	if sub, _ := faultOf(t, serve(t, s, user, plain())); sub != "" {
		t.Errorf("alice's Enumerate: fault %q", sub)
	}
}
