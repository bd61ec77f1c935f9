package main

import (
	"context"
	cryptotls "crypto/tls"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/vsmig/vsmig/wsman"
)

// A missing users file is named once, with what to do about it (issue
// #14: "users file: auth: users file: open ...").
func TestUsersFileMessageSaysItOnce(t *testing.T) {
	cfg := defaultConfig()
	cfg.UsersFile = filepath.Join(t.TempDir(), "users")
	_, err := newAuthenticator(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), newMetrics())
	if err == nil {
		t.Fatal("no error for a missing users file")
	}
	msg := err.Error()
	for _, s := range []string{"users file: auth", "open " + cfg.UsersFile} {
		if strings.Contains(msg, s) {
			t.Errorf("message repeats itself (%q): %s", s, msg)
		}
	}
	if strings.Count(msg, "no such file or directory") != 1 || !strings.Contains(msg, "vsmigd user add") {
		t.Errorf("message does not say what is wrong and what to do: %s", msg)
	}
}

// `vsmigd user add` refuses a password bcrypt would truncate (issue #14).
func TestUserAddRefusesLongPassword(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	var out, errb strings.Builder
	code := cli(context.Background(), []string{"user", "add", "alice", "-users-file", path},
		strings.NewReader(strings.Repeat("p", 73)+"\n"), &out, &errb, func(string) string { return "" })
	if code != 2 || !strings.Contains(errb.String(), "72") {
		t.Errorf("exit %d, stderr %q; want 2 and the limit", code, errb.String())
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("users file written: %v", err)
	}
	code = cli(context.Background(), []string{"user", "add", "alice", "-users-file", path},
		strings.NewReader(strings.Repeat("p", 72)+"\n"), &out, &errb, func(string) string { return "" })
	if code != 0 {
		t.Errorf("72 bytes: exit %d, stderr %q", code, errb.String())
	}
}

// Issue #14: refusals over plain HTTP are counted (and carry no Basic
// challenge).
func TestPlainHTTPRefusalsCounted(t *testing.T) {
	m := newMetrics()
	svc := wsman.NewService(wsman.Config{})
	defer svc.Close()
	h := countPlainRefusals(wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), m)
	for _, tls := range []bool{false, true, false} {
		r := httptest.NewRequest("POST", "http://x/wsman", strings.NewReader("<x/>"))
		r.SetBasicAuth("alice", "secret")
		if tls {
			r.TLS = &cryptotls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if want := map[bool]int{false: 403, true: 401}[tls]; rec.Code != want {
			t.Errorf("tls %v: status %d, want %d", tls, rec.Code, want)
		}
	}
	var got dto.Metric
	if err := m.plainRefused.Write(&got); err != nil || got.GetCounter().GetValue() != 2 {
		t.Errorf("vsmig_wsman_unencrypted_refusals_total = %v (%v), want 2", got.GetCounter().GetValue(), err)
	}
}
