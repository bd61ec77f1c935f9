package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// testBcrypt returns a cheap bcrypt hash of pw with the given version prefix.
func testBcrypt(t testing.TB, pw, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:])
}

// testArgon2id returns a cheap argon2id PHC string for pw.
func testArgon2id(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func TestVerifyPassword(t *testing.T) {
	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr error
	}{
		{"bcrypt 2a ok", testBcrypt(t, "s3cret", "$2a$"), "s3cret", true, nil},
		{"bcrypt 2b ok", testBcrypt(t, "s3cret", "$2b$"), "s3cret", true, nil},
		{"bcrypt 2y ok", testBcrypt(t, "s3cret", "$2y$"), "s3cret", true, nil},
		{"bcrypt wrong", testBcrypt(t, "s3cret", "$2a$"), "S3cret", false, nil},
		{"bcrypt truncated", "$2a$04$abc", "x", false, ErrUnknownHash},
		{"argon2id ok", testArgon2id("pässword"), "pässword", true, nil},
		{"argon2id wrong", testArgon2id("pässword"), "password", false, nil},
		{"argon2id bad version", "$argon2id$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x", false, ErrUnknownHash},
		{"argon2id huge memory", "$argon2id$v=19$m=99999999,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x", false, ErrUnknownHash},
		{"argon2id bad params", "$argon2id$v=19$m=x$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x", false, ErrUnknownHash},
		{"argon2id bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAAAAAAAAAAAAAAAAAAAA", "x", false, ErrUnknownHash},
		{"argon2i refused", "$argon2i$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x", false, ErrUnknownHash},
		{"md5crypt refused", "$1$abc$def", "x", false, ErrUnknownHash},
		{"plain text refused", "secret", "secret", false, ErrUnknownHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.hash, tt.pw)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("VerifyPassword(HashPassword(pw), pw) = %v, %v", ok, err)
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != DefaultBcryptCost {
		t.Errorf("cost = %d, want %d", cost, DefaultBcryptCost)
	}
	if _, err := HashPassword(string(make([]byte, 73))); err == nil {
		t.Error("HashPassword accepted a 73-byte password that bcrypt would truncate")
	}
}

func TestDummyHashIsValid(t *testing.T) {
	if _, err := VerifyPassword(dummyHash, "x"); err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost([]byte(dummyHash)); cost != DefaultBcryptCost {
		t.Errorf("dummy hash cost %d differs from DefaultBcryptCost", cost)
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(testArgon2id("pw"), "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$2a$04$abc", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		if len(hash) > 2 && hash[:2] == "$2" {
			return // bcrypt parsing belongs to x/crypto; keep the fuzzer on our code
		}
		if p, err := parseArgon2id(hash); err == nil && (p.memory > 1024 || p.time > 2) {
			return // valid but expensive parameters: nothing new to learn, much time to lose
		}
		ok, err := VerifyPassword(hash, pw)
		if ok && err != nil {
			t.Fatalf("match with error %v", err)
		}
	})
}
