package auth

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func newTestBasic(t *testing.T, users map[string]string) (*BasicFile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users")
	for name, pw := range users {
		if err := AddUser(path, name, testBcrypt(t, pw, "$2a$")); err != nil {
			t.Fatal(err)
		}
	}
	b, err := NewBasicFile(BasicFileConfig{Path: path, ReloadInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return b, path
}

func basicRequest(user, pw string) *http.Request {
	r := httptest.NewRequest("POST", "/wsman", nil)
	r.SetBasicAuth(user, pw)
	return r
}

func TestBasicFileAuthenticate(t *testing.T) {
	b, _ := newTestBasic(t, map[string]string{"alice": "wonder land", "bob": "builder"})
	noAuth := httptest.NewRequest("POST", "/wsman", nil)
	bearer := httptest.NewRequest("POST", "/wsman", nil)
	bearer.Header.Set("Authorization", "Bearer abc")
	garbled := httptest.NewRequest("POST", "/wsman", nil)
	garbled.Header.Set("Authorization", "Basic !!!not-base64")
	tests := []struct {
		name     string
		r        *http.Request
		wantUser string
		wantErr  error
	}{
		{"alice", basicRequest("alice", "wonder land"), "alice", nil},
		{"bob", basicRequest("bob", "builder"), "bob", nil},
		{"wrong password", basicRequest("alice", "wonderland"), "", ErrInvalidCredentials},
		{"unknown user", basicRequest("carol", "builder"), "", ErrInvalidCredentials},
		{"user case matters", basicRequest("Alice", "wonder land"), "", ErrInvalidCredentials},
		{"no header", noAuth, "", ErrNoCredentials},
		{"other scheme", bearer, "", ErrNoCredentials},
		{"garbled", garbled, "", ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := b.Authenticate(tt.r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if user != tt.wantUser {
				t.Errorf("user = %q, want %q", user, tt.wantUser)
			}
		})
	}
	if n := b.cache.len(); n != 2 {
		t.Errorf("cache holds %d credentials, want 2 (only successes)", n)
	}
}

func TestBasicFileCacheAndReload(t *testing.T) {
	b, path := newTestBasic(t, map[string]string{"alice": "one"})
	if _, err := b.Authenticate(basicRequest("alice", "one")); err != nil {
		t.Fatal(err)
	}
	// A cached credential is answered without the users table: prove it by
	// emptying the table behind the authenticator's back.
	b.table.Store(&userTable{users: map[string]string{}, info: b.table.Load().info})
	if user, err := b.Authenticate(basicRequest("alice", "one")); err != nil || user != "alice" {
		t.Fatalf("cached credential: %q, %v", user, err)
	}
	// Changing the file drops the cache and the old password.
	if err := AddUser(path, "alice", testBcrypt(t, "two", "$2b$")); err != nil {
		t.Fatal(err)
	}
	b.Reload()
	if n := b.cache.len(); n != 0 {
		t.Errorf("cache holds %d after reload, want 0", n)
	}
	if _, err := b.Authenticate(basicRequest("alice", "one")); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("old password after change: err = %v", err)
	}
	if _, err := b.Authenticate(basicRequest("alice", "two")); err != nil {
		t.Errorf("new password: %v", err)
	}
	// A broken file keeps the last good users.
	os.WriteFile(path, []byte("garbage line\n"), 0o600)
	b.Reload()
	if _, err := b.Authenticate(basicRequest("alice", "two")); err != nil {
		t.Errorf("after broken file: %v", err)
	}
}

func TestBasicFileReloadsByItself(t *testing.T) {
	b, path := newTestBasic(t, map[string]string{"alice": "one"})
	b.interval = time.Millisecond
	if err := AddUser(path, "bob", testBcrypt(t, "b", "$2a$")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := b.Authenticate(basicRequest("bob", "b")); err != nil {
		t.Errorf("new user not picked up: %v", err)
	}
}

func TestBasicFileMissing(t *testing.T) {
	if _, err := NewBasicFile(BasicFileConfig{Path: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Error("NewBasicFile succeeded on a missing file")
	}
	if _, err := NewBasicFile(BasicFileConfig{}); err == nil {
		t.Error("NewBasicFile succeeded without a path")
	}
}

func TestBasicFileConcurrent(t *testing.T) {
	b, _ := newTestBasic(t, map[string]string{"alice": "one"})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			pw := "one"
			if i%4 == 0 {
				pw = "bad"
			}
			for range 20 {
				_, err := b.Authenticate(basicRequest("alice", pw))
				if (err == nil) != (pw == "one") {
					t.Errorf("pw %q: err %v", pw, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCredCacheBounded(t *testing.T) {
	c := newCredCache(time.Minute, 100)
	now := time.Now()
	for i := range 1000 {
		c.put(c.sum(string(rune(i))), "u", c.generation(), now)
	}
	if n := c.len(); n > 100 {
		t.Errorf("cache grew to %d entries, bound 100", n)
	}
	k := c.sum("x")
	c.put(k, "u", c.generation(), now)
	if _, ok := c.get(k, now.Add(2*time.Minute)); ok {
		t.Error("expired entry returned")
	}
	gen := c.generation()
	c.clear()
	c.put(k, "u", gen, now)
	if _, ok := c.get(k, now); ok {
		t.Error("entry from before clear was stored")
	}
}

func TestBasicFileCoalescesConcurrentChecks(t *testing.T) {
	b, _ := newTestBasic(t, map[string]string{"alice": "one"})
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	b.checkPassword = func(hash, pw string) (bool, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		<-release
		return VerifyPassword(hash, pw)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if user, err := b.Authenticate(basicRequest("alice", "one")); err != nil || user != "alice" {
				t.Errorf("got %q, %v", user, err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // let all 16 arrive while the first check runs
	close(release)
	wg.Wait()
	if calls != 1 {
		t.Errorf("%d password checks for 16 concurrent identical requests, want 1", calls)
	}
}
