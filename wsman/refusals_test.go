package wsman

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLogName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                        "alice",
		"a\nlevel=ERROR msg=forged":    `a\nlevel=ERROR msg=forged`,
		`quote"back\slash`:             `quote\"back\\slash`,
		"bad\xffutf8":                  `bad\xffutf8`,
		"é":                            "é",
		strings.Repeat("x", 64):        strings.Repeat("x", 64),
		strings.Repeat("x", 47000):     strings.Repeat("x", 64) + "... (47000 bytes)",
		strings.Repeat("x", 63) + "é!": strings.Repeat("x", 63) + "... (66 bytes)",
	} {
		if got := logName(in); got != want {
			t.Errorf("logName(%.80q) = %q, want %q", in, got, want)
		}
	}
}

// Issue #14: a flood of refused requests with a 47,000-byte user name
// wrote 94 KB of log per request. Per address and kind, a window logs
// refusalBurst lines with the name shortened, then one summary.
func TestRefusalLogSummarises(t *testing.T) {
	var logs bytes.Buffer
	h := newHTTPHandler(&stubSOAP{}, HTTPConfig{Authenticator: testAuth,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	now := time.Unix(1e9, 0)
	h.refusals.now = func() time.Time { return now }
	var timers []func()
	var delays []time.Duration
	h.refusals.afterFunc = func(d time.Duration, f func()) { delays, timers = append(delays, d), append(timers, f) }

	name := strings.Repeat("A", 47000)
	send := func(addr string, n int) {
		for range n {
			r := soapRequest(PathWSMan, ctUTF8, strings.NewReader("<x/>"))
			r.SetBasicAuth(name, "guess")
			r.RemoteAddr = addr
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	send("192.0.2.66:1000", 1000)
	now = now.Add(10 * time.Second)
	send("192.0.2.1:2000", 1) // another address has its own count
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != refusalBurst+1 {
		t.Fatalf("%d lines for 1001 refusals, want %d:\n%.2000s", len(lines), refusalBurst+1, logs.String())
	}
	if logs.Len() > 5000 { // was 94 MB
		t.Errorf("%d bytes of log for 1001 refusals", logs.Len())
	}
	if len(timers) != 1 || delays[0] != refusalWindow {
		t.Fatalf("timers %v, want one at the end of the window", delays)
	}
	logs.Reset()
	timers[0]()
	var summary map[string]any
	if err := json.Unmarshal(logs.Bytes(), &summary); err != nil {
		t.Fatalf("summary %q: %v", logs.String(), err)
	}
	if summary["not_logged"] != float64(1000-refusalBurst) || summary["remote"] != "192.0.2.66" ||
		!strings.Contains(summary["msg"].(string), "summary") {
		t.Errorf("summary %v", summary)
	}
	// The next window logs again.
	logs.Reset()
	now = now.Add(refusalWindow)
	send("192.0.2.66:1000", 1)
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("new window not logged: %q", logs.String())
	}
}

// The table of tracked addresses is bounded; further addresses share one
// entry.
func TestRefusalLogBounded(t *testing.T) {
	l := newRefusalLog(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	l.afterFunc = func(time.Duration, func()) {}
	for i := range 3 * maxRefusalKeys {
		l.refused(slog.LevelWarn, "x", string(rune(i)))
	}
	if n := len(l.keys); n > maxRefusalKeys+1 {
		t.Errorf("%d keys tracked", n)
	}
}
