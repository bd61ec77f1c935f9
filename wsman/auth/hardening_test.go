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
