package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Issue #14: a password longer than 72 bytes matched a bcrypt hash of its
// first 72 bytes.
func TestLongPasswordRefused(t *testing.T) {
	pw72 := strings.Repeat("p", 72)
	h, err := bcrypt.GenerateFromPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{pw72 + "x", pw72 + "anything else"} {
		if ok, err := VerifyPassword(string(h), pw); ok || err != nil {
			t.Errorf("VerifyPassword(72-byte hash, %d bytes) = %v, %v; want false, nil", len(pw), ok, err)
		}
	}
	if ok, err := VerifyPassword(string(h), pw72); !ok || err != nil {
		t.Errorf("the 72-byte password itself: %v, %v", ok, err)
	}
	if _, err := HashPassword(pw72 + "x"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("HashPassword(73 bytes): %v, want ErrPasswordTooLong", err)
	}
	// argon2id has no such limit.
	long := strings.Repeat("q", 200)
	if ok, err := VerifyPassword(testArgon2id(long), long); !ok || err != nil {
		t.Errorf("argon2id, 200 bytes: %v, %v", ok, err)
	}
	if ok, _ := VerifyPassword(testArgon2id(long), long[:72]); ok {
		t.Error("argon2id matched a prefix")
	}
}

// Issue #14: unknown users were checked against a cost-10 dummy whatever
// the stored hashes cost, so with cost-12 hashes an unknown user was
// answered in half the time of a wrong password.
func TestDummyHashMatchesStoredCost(t *testing.T) {
	for _, tt := range []struct {
		name   string
		hashes []string
		check  func(dummy string) error
	}{
		{"cost 12", []string{fakeBcrypt(12)}, bcryptCost(12)},
		{"cost 4 and 12, mostly 4", []string{fakeBcrypt(4), fakeBcrypt(4), fakeBcrypt(12)}, bcryptCost(4)},
		{"a tie takes the dearer", []string{fakeBcrypt(11), fakeBcrypt(5)}, bcryptCost(11)},
		{"argon2id", []string{testArgon2id("a"), testArgon2id("b")}, func(d string) error {
			want, err := parseArgon2id(testArgon2id("x"))
			if err != nil {
				return err
			}
			got, err := parseArgon2id(d)
			if err != nil {
				return err
			}
			if got.memory != want.memory || got.time != want.time || got.threads != want.threads ||
				len(got.salt) != len(want.salt) || len(got.key) != len(want.key) {
				return fmt.Errorf("parameters %+v, want those of %+v", got, want)
			}
			return nil
		}},
		{"nothing usable", []string{"$unknown$"}, func(d string) error {
			if d != dummyHash {
				return fmt.Errorf("got %s", d)
			}
			return nil
		}},
	} {
		users := map[string]string{}
		for i, h := range tt.hashes {
			users[fmt.Sprint("u", i)] = h
		}
		d := dummyFor(users)
		if err := tt.check(d); err != nil {
			t.Errorf("%s: dummy %s: %v", tt.name, d, err)
		}
		if ok, err := VerifyPassword(d, ""); ok || err != nil {
			t.Errorf("%s: VerifyPassword(dummy) = %v, %v", tt.name, ok, err)
		}
	}
}

func bcryptCost(want int) func(string) error {
	return func(d string) error {
		cost, err := bcrypt.Cost([]byte(d))
		if err != nil || cost != want {
			return fmt.Errorf("cost %d (%v), want %d", cost, err, want)
		}
		return nil
	}
}

// The dummy a BasicFile checks unknown users against has the stored cost,
// also after a reload that changes it.
func TestBasicFileUnknownUserCostsLikeKnown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := AddUser(path, "alice", string(h)); err != nil {
		t.Fatal(err)
	}
	b, err := NewBasicFile(BasicFileConfig{Path: path, ReloadInterval: time.Hour, CacheTTL: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var checked []string
	b.checkPassword = func(hash, pw string) (bool, error) {
		checked = append(checked, hash)
		return VerifyPassword(hash, pw)
	}
	for _, user := range []string{"alice", "mallory"} {
		if _, err := b.Authenticate(basicRequest(user, "wrong")); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("%s: %v", user, err)
		}
	}
	for i, hash := range checked {
		if c, _ := bcrypt.Cost([]byte(hash)); c != 5 {
			t.Errorf("check %d used cost %d, want the stored 5", i, c)
		}
	}
}

// Issue #14: wrong-password floods were throttled only after the hash was
// computed, so a flood from one address took the verification slots from
// every other client. Now an address past its budget gets ErrThrottled
// without any hash being computed, and other addresses are unaffected.
func TestBasicFileThrottlesBeforeHashing(t *testing.T) {
	b, _ := newTestBasic(t, map[string]string{"alice": "secret"})
	checks := 0
	b.checkPassword = func(hash, pw string) (bool, error) {
		checks++
		return VerifyPassword(hash, pw)
	}
	from := func(addr, user, pw string) error {
		r := basicRequest(user, pw)
		r.RemoteAddr = addr
		_, err := b.Authenticate(r)
		return err
	}
	throttled := 0
	for i := range 100 {
		err := from("192.0.2.9:4000", "alice", fmt.Sprint("guess", i))
		switch {
		case errors.Is(err, ErrThrottled):
			throttled++
			if te, ok := errors.AsType[*ThrottledError](err); !ok || te.RetryAfter <= 0 {
				t.Fatalf("throttled without a retry time: %v", err)
			}
		case !errors.Is(err, ErrInvalidCredentials):
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if checks != DefaultFailureBurst || throttled != 100-DefaultFailureBurst {
		t.Errorf("%d hashes computed, %d throttled; want %d and %d", checks, throttled, DefaultFailureBurst, 100-DefaultFailureBurst)
	}
	// The right password from the flooding address is not checked either.
	if err := from("192.0.2.9:4001", "alice", "secret"); !errors.Is(err, ErrThrottled) {
		t.Errorf("flooding address, right password: %v", err)
	}
	// Another address logs in at once.
	if err := from("192.0.2.1:5000", "alice", "secret"); err != nil {
		t.Errorf("other address: %v", err)
	}
	// Unknown users spend the same budget.
	b2, _ := newTestBasic(t, map[string]string{"alice": "secret"})
	for i := range DefaultFailureBurst {
		r := basicRequest(fmt.Sprint("nobody", i), "x")
		r.RemoteAddr = "192.0.2.10:1"
		if _, err := b2.Authenticate(r); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("unknown user %d: %v", i, err)
		}
	}
	r := basicRequest("nobody", "x")
	r.RemoteAddr = "192.0.2.10:1"
	if _, err := b2.Authenticate(r); !errors.Is(err, ErrThrottled) {
		t.Errorf("unknown users past the budget: %v", err)
	}
}

// Errors name no user: the name is the client's, of any length (issue
// #14: a 47,000-byte name was logged twice per request).
func TestBasicFileErrorsNameNoUser(t *testing.T) {
	b, _ := newTestBasic(t, map[string]string{"alice": "secret"})
	long := strings.Repeat("N", 1000)
	for _, user := range []string{long, "alice"} {
		_, err := b.Authenticate(basicRequest(user, "wrong"))
		if err == nil || strings.Contains(err.Error(), "NNNN") || strings.Contains(err.Error(), "alice") {
			t.Errorf("error %v", err)
		}
	}
}
