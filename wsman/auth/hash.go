package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the bcrypt cost HashPassword uses (about 50 ms of
// CPU on the target machines; the credential cache hides it).
const DefaultBcryptCost = bcrypt.DefaultCost

// Bounds on argon2id parameters read from a users file, so that a damaged
// or hostile file cannot make one verification take gigabytes or minutes.
const (
	maxArgon2Memory  = 1 << 20 // KiB (1 GiB)
	maxArgon2Time    = 64
	maxArgon2Threads = 64
	maxArgon2KeyLen  = 128
)

// ErrUnknownHash reports a stored hash in a format this package cannot
// verify.
var ErrUnknownHash = errors.New("auth: unsupported password hash format")

// HashPassword returns a bcrypt hash of pw ("$2a$..." form) suitable for a
// users file. bcrypt uses at most 72 bytes of a password; longer ones are
// refused rather than silently truncated.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), DefaultBcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// VerifyPassword reports whether pw matches hash, which is a bcrypt hash
// ($2a$, $2b$, $2y$) or an argon2id hash in PHC string form
// ($argon2id$v=19$m=..,t=..,p=..$salt$hash, unpadded base64). A malformed
// or unsupported hash is an error wrapping ErrUnknownHash.
func VerifyPassword(hash, pw string) (bool, error) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
		if err == nil {
			return true, nil
		}
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, pw)
	}
	return false, ErrUnknownHash
}

// argon2Params is a decoded argon2id PHC string.
type argon2Params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parseArgon2id(s string) (argon2Params, error) {
	var p argon2Params
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, fmt.Errorf("%w: argon2id: want $argon2id$v=19$m=,t=,p=$salt$hash", ErrUnknownHash)
	}
	if parts[2] != "v=19" {
		return p, fmt.Errorf("%w: argon2id: unsupported version %q", ErrUnknownHash, parts[2])
	}
	var m, t, th uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil {
		return p, fmt.Errorf("%w: argon2id parameters %q: %v", ErrUnknownHash, parts[3], err)
	}
	if m == 0 || m > maxArgon2Memory || t == 0 || t > maxArgon2Time || th == 0 || th > maxArgon2Threads || m < 8*th {
		return p, fmt.Errorf("%w: argon2id parameters out of range: %s", ErrUnknownHash, parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, fmt.Errorf("%w: argon2id salt", ErrUnknownHash)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxArgon2KeyLen {
		return p, fmt.Errorf("%w: argon2id hash", ErrUnknownHash)
	}
	return argon2Params{memory: m, time: t, threads: uint8(th), salt: salt, key: key}, nil
}

func verifyArgon2id(hash, pw string) (bool, error) {
	p, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// dummyHash is a bcrypt hash (cost 10) of a random string. Checking a
// password against it for unknown users keeps the answer time the same as
// for a known user with a wrong password, so user names cannot be probed.
const dummyHash = "$2a$10$JCgv.uwv/Vl7CCmMTbQyYeHilkHZ6vSNT8QCysjOYCeWxHHRGMRpK"
