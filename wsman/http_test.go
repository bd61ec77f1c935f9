package wsman

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/vsmig/vsmig/wsman/auth"
)

// stubSOAP records what the transport hands to the service and answers
// with a fixed UTF-8 envelope containing non-ASCII text.
type stubSOAP struct {
	mu     sync.Mutex
	caller Caller
	body   string
	calls  int
	panics bool
}

const stubResponse = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>Grüße €</s:Body></s:Envelope>`

func (s *stubSOAP) ServeSOAP(ctx context.Context, caller Caller, body []byte) ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.panics {
		panic("boom")
	}
	s.caller, s.body = caller, string(body)
	s.calls++
	return []byte(stubResponse), 200
}

var testAuth = auth.AuthenticatorFunc(func(r *http.Request) (string, error) {
	u, p, ok := r.BasicAuth()
	switch {
	case !ok:
		return "", auth.ErrNoCredentials
	case u == "alice" && p == "secret":
		return u, nil
	}
	return "", fmt.Errorf("%w: user %q", auth.ErrInvalidCredentials, u)
})

func newTestHandler(t *testing.T, cfg HTTPConfig) (*httpHandler, *stubSOAP, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	if cfg.Authenticator == nil {
		cfg.Authenticator = testAuth
	}
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stub := &stubSOAP{}
	h := newHTTPHandler(stub, cfg)
	h.throttledDelay = 0 // keep tests fast
	return h, stub, &logs
}

// soapRequest builds an HTTPS POST with Basic credentials alice:secret.
func soapRequest(path, contentType string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://vsmig.test"+path, body)
	r.Header.Set("Content-Type", contentType)
	r.SetBasicAuth("alice", "secret")
	return r
}

const ctUTF8 = "application/soap+xml;charset=UTF-8"

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name       string
		cfg        HTTPConfig
		req        func() *http.Request
		want       int
		wantCaller *Caller // nil: the service must not be called
	}{
		{"ok", HTTPConfig{}, func() *http.Request { return soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>")) },
			200, &Caller{User: "alice"}},
		{"content type params any case", HTTPConfig{}, func() *http.Request {
			return soapRequest(PathWSMan, `Application/SOAP+XML; action="urn:x"; charset="utf-8"`, strings.NewReader("<x/>"))
		}, 200, &Caller{User: "alice"}},
		{"no charset", HTTPConfig{}, func() *http.Request { return soapRequest(PathWSMan, "application/soap+xml", strings.NewReader("<x/>")) },
			200, &Caller{User: "alice"}},
		{"unknown path", HTTPConfig{}, func() *http.Request { return soapRequest("/wsman/", ctUTF8, strings.NewReader("<x/>")) }, 404, nil},
		{"root path", HTTPConfig{}, func() *http.Request { return soapRequest("/", ctUTF8, strings.NewReader("<x/>")) }, 404, nil},
		{"GET", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, nil)
			r.Method = http.MethodGet
			return r
		}, 405, nil},
		{"text/xml", HTTPConfig{}, func() *http.Request {
			return soapRequest(PathWSMan, "text/xml; charset=utf-8", strings.NewReader("<x/>"))
		}, 415, nil},
		{"multipart/encrypted", HTTPConfig{}, func() *http.Request {
			return soapRequest(PathWSMan, `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`, strings.NewReader("x"))
		}, 415, nil},
		{"latin1", HTTPConfig{}, func() *http.Request {
			return soapRequest(PathWSMan, "application/soap+xml;charset=ISO-8859-1", strings.NewReader("<x/>"))
		}, 415, nil},
		{"no credentials", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.Header.Del("Authorization")
			return r
		}, 401, nil},
		{"wrong password", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.SetBasicAuth("alice", "guess")
			return r
		}, 401, nil},
		{"plain http refused", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.TLS = nil
			return r
		}, 403, nil},
		{"plain http without credentials refused", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.TLS = nil
			r.Header.Del("Authorization")
			return r
		}, 403, nil},
		{"throttled", HTTPConfig{Authenticator: auth.AuthenticatorFunc(func(*http.Request) (string, error) {
			return "", &auth.ThrottledError{RetryAfter: 1500 * time.Millisecond}
		})}, func() *http.Request { return soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>")) }, 429, nil},
		{"plain http allowed", HTTPConfig{AllowUnencrypted: true}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.TLS = nil
			return r
		}, 200, &Caller{User: "alice"}},
		{"no authenticator refuses", HTTPConfig{Authenticator: auth.AuthenticatorFunc(func(*http.Request) (string, error) { return "", auth.ErrNoCredentials })},
			func() *http.Request { return soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>")) }, 401, nil},
		{"anonymous identify path", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathAnonIdentify, ctUTF8, strings.NewReader("<x/>"))
			r.Header.Del("Authorization")
			r.TLS = nil
			return r
		}, 200, &Caller{Anonymous: true}},
		{"WSMANIDENTIFY header", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.Header.Del("Authorization")
			r.Header.Set("WSMANIDENTIFY", "Unauthenticated")
			return r
		}, 200, &Caller{Anonymous: true}},
		{"over limit by Content-Length", HTTPConfig{MaxRequestSize: 10}, func() *http.Request {
			return soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x>0123456789</x>"))
		}, 413, nil},
		{"at limit", HTTPConfig{MaxRequestSize: 4}, func() *http.Request { return soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>")) },
			200, &Caller{User: "alice"}},
		{"chunked over limit", HTTPConfig{MaxRequestSize: 10}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, io.MultiReader(strings.NewReader("<x>0123456789</x>")))
			r.ContentLength = -1
			return r
		}, 413, nil},
		{"chunked within limit", HTTPConfig{}, func() *http.Request {
			r := soapRequest(PathWSMan, ctUTF8, io.MultiReader(strings.NewReader("<x/>")))
			r.ContentLength = -1
			return r
		}, 200, &Caller{User: "alice"}},
		{"body read error", HTTPConfig{}, func() *http.Request {
			return soapRequest(PathWSMan, ctUTF8, io.MultiReader(strings.NewReader("<x"), errReader{}))
		}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, stub, _ := newTestHandler(t, tt.cfg)
			req := tt.req()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			cl := res.Header.Get("Content-Length")
			if cl != fmt.Sprint(rec.Body.Len()) {
				t.Errorf("Content-Length %q for a %d-byte body", cl, rec.Body.Len())
			}
			switch tt.want {
			case 200:
				if ct := res.Header.Get("Content-Type"); ct != ctUTF8 {
					t.Errorf("Content-Type %q", ct)
				}
				if rec.Body.String() != stubResponse {
					t.Errorf("body %q", rec.Body)
				}
			case 401:
				if got := res.Header.Get("WWW-Authenticate"); got != `Basic realm="WSMAN"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
			case 403:
				// Issue #14: no Basic challenge that invites a password in clear.
				if got := res.Header.Get("WWW-Authenticate"); got != "" {
					t.Errorf("WWW-Authenticate %q on plain HTTP", got)
				}
				if !strings.Contains(rec.Body.String(), "HTTPS") {
					t.Errorf("403 body %q does not say why", rec.Body)
				}
			case 405:
				if got := res.Header.Get("Allow"); got != "POST" {
					t.Errorf("Allow %q", got)
				}
			case 429:
				if got := res.Header.Get("Retry-After"); got != "2" {
					t.Errorf("Retry-After %q, want 2", got)
				}
			}
			if tt.want != 200 && tt.want != 403 && rec.Body.Len() != 0 {
				t.Errorf("non-SOAP answer has a body: %q", rec.Body)
			}
			if tt.wantCaller == nil {
				if stub.calls != 0 {
					t.Errorf("service called for a refused request")
				}
				return
			}
			want := *tt.wantCaller
			want.RemoteAddr = req.RemoteAddr
			if stub.caller != want {
				t.Errorf("caller %+v, want %+v", stub.caller, want)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// countingReader counts what the handler reads of a large body.
type countingReader struct {
	n, size int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.size {
		return 0, io.EOF
	}
	k := min(int64(len(p)), c.size-c.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	c.n += k
	return int(k), nil
}

func TestHTTPOversizeNotRead(t *testing.T) {
	const size = 20 << 20
	for _, chunked := range []bool{false, true} {
		h, _, _ := newTestHandler(t, HTTPConfig{})
		body := &countingReader{size: size}
		req := soapRequest(PathWSMan, ctUTF8, body)
		req.ContentLength = size
		if chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 413 {
			t.Errorf("chunked=%v: status %d", chunked, rec.Code)
		}
		if limit := int64(DefaultMaxRequestSize + 64<<10); body.n > limit {
			t.Errorf("chunked=%v: read %d bytes of a refused body (limit %d)", chunked, body.n, limit)
		}
		if !chunked && body.n != 0 {
			t.Errorf("Content-Length over the limit, yet %d bytes read", body.n)
		}
	}
}

func TestHTTPCharsets(t *testing.T) {
	const envelope = `<?xml version="1.0"?><s:Envelope>Zürich ✓</s:Envelope>`
	utf16 := func(e unicode.Endianness, bom unicode.BOMPolicy) []byte {
		b, err := unicode.UTF16(e, bom).NewEncoder().Bytes([]byte(envelope))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	le, be := unicode.LittleEndian, unicode.BigEndian
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantLabel   string
		wantResp    []byte
	}{
		{"utf-8", ctUTF8, []byte(envelope), "UTF-8", []byte(stubResponse)},
		{"utf-8 bom stripped", ctUTF8, append([]byte{0xEF, 0xBB, 0xBF}, envelope...), "UTF-8", []byte(stubResponse)},
		{"utf-16 le bom", "application/soap+xml;charset=UTF-16", utf16(le, unicode.UseBOM), "UTF-16", respIn(t, le, unicode.UseBOM)},
		{"utf-16 be bom", "application/soap+xml;charset=utf-16", utf16(be, unicode.UseBOM), "UTF-16", respIn(t, be, unicode.UseBOM)},
		{"utf-16 le no label", "application/soap+xml", utf16(le, unicode.UseBOM), "UTF-16", respIn(t, le, unicode.UseBOM)},
		{"utf-16 le without bom", "application/soap+xml;charset=UTF-16", utf16(le, unicode.IgnoreBOM), "UTF-16", respIn(t, le, unicode.UseBOM)},
		{"utf-16 be without bom", "application/soap+xml;charset=UTF-16", utf16(be, unicode.IgnoreBOM), "UTF-16", respIn(t, be, unicode.UseBOM)},
		{"utf-16le label", "application/soap+xml;charset=utf-16le", utf16(le, unicode.IgnoreBOM), "UTF-16LE", respIn(t, le, unicode.IgnoreBOM)},
		{"utf-16be label", "application/soap+xml;charset=UTF-16BE", utf16(be, unicode.IgnoreBOM), "UTF-16BE", respIn(t, be, unicode.IgnoreBOM)},
		{"bom beats label", ctUTF8, utf16(le, unicode.UseBOM), "UTF-16", respIn(t, le, unicode.UseBOM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, stub, _ := newTestHandler(t, HTTPConfig{})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, soapRequest(PathWSMan, tt.contentType, bytes.NewReader(tt.body)))
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if stub.body != envelope {
				t.Errorf("service got %q, want %q", stub.body, envelope)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/soap+xml;charset="+tt.wantLabel {
				t.Errorf("Content-Type %q", ct)
			}
			if !bytes.Equal(rec.Body.Bytes(), tt.wantResp) {
				t.Errorf("response % x\nwant % x", rec.Body.Bytes(), tt.wantResp)
			}
		})
	}
}

func respIn(t *testing.T, e unicode.Endianness, bom unicode.BOMPolicy) []byte {
	b, err := unicode.UTF16(e, bom).NewEncoder().Bytes([]byte(stubResponse))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPPanicIsInternalError(t *testing.T) {
	h, stub, logs := newTestHandler(t, HTTPConfig{})
	stub.panics = true
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>")))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), SubcodeInternalError) || rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
		t.Errorf("body %q", rec.Body)
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("panic not logged: %s", logs)
	}
}

func TestHTTPAuthFailureLogged(t *testing.T) {
	h, _, logs := newTestHandler(t, HTTPConfig{})
	for range 3 {
		r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
		r.SetBasicAuth("mallory", "hunter2-password")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	out := logs.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("password logged: %s", out)
	}
	if !strings.Contains(out, "user=mallory") || strings.Count(out, "authentication failed") != 3 {
		t.Errorf("failure log lacks user or lines: %s", out)
	}
}

func TestParseSOAPContentType(t *testing.T) {
	for _, tc := range []struct {
		in      string
		charset string
		ok      bool
	}{
		{"application/soap+xml", "", true},
		{"application/soap+xml;charset=UTF-8", "UTF-8", true},
		{` application/soap+xml ; action="a;b" ; charset = "utf-16" `, "utf-16", true},
		{"application/soap+xmlx", "", false},
		{"application/xml", "", false},
		{"", "", false},
	} {
		cs, ok := parseSOAPContentType(tc.in)
		if ok != tc.ok || cs != tc.charset {
			t.Errorf("parseSOAPContentType(%q) = %q, %v", tc.in, cs, ok)
		}
	}
}

func FuzzHTTPBody(f *testing.F) {
	f.Add("application/soap+xml;charset=UTF-16", []byte{0xFF, 0xFE, '<', 0, '/', 0})
	f.Add("application/soap+xml;charset=utf-16be", []byte{0xD8, 0x00})
	f.Add("application/soap+xml", []byte{0xEF, 0xBB, 0xBF, '<'})
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		h, _, _ := newTestHandler(t, HTTPConfig{MaxRequestSize: 4096})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, soapRequest(PathWSMan, ct, bytes.NewReader(body)))
		switch rec.Code {
		case 200, 413, 415:
		case 500: // invalid UTF-16: a fault, in the request's encoding
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/soap+xml") || rec.Body.Len() == 0 {
				t.Fatalf("500 without a fault: %q", rec.Body)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// BenchmarkHTTPTransportOnly measures the HTTP binding alone (stub
// service, cached-style authenticator): its allocations per request are
// what the transport adds to the service's.
func BenchmarkHTTPTransportOnly(b *testing.B) {
	h := newHTTPHandler(&stubSOAP{}, HTTPConfig{Authenticator: testAuth, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := []byte(strings.Repeat("<x/>", 400))
	b.ReportAllocs()
	for b.Loop() {
		r := soapRequest(PathWSMan, ctUTF8, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
	}
}
