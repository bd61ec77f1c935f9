package auth

import (
	"crypto/rand"
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

// MaxBcryptPassword is the longest password bcrypt can check, in bytes:
// it ignores everything after the 72nd byte, so a longer password is
// refused both when it is hashed and when it is checked against a bcrypt
// hash, rather than accepted with any ending.
const MaxBcryptPassword = 72

// ErrPasswordTooLong reports a password longer than MaxBcryptPassword
// bytes given to HashPassword.
var ErrPasswordTooLong = errors.New("auth: password longer than 72 bytes (bcrypt would ignore the rest)")

// HashPassword returns a bcrypt hash of pw ("$2a$..." form) suitable for a
// users file. bcrypt uses at most 72 bytes of a password; longer ones are
// refused (ErrPasswordTooLong) rather than silently truncated.
func HashPassword(pw string) (string, error) {
	if len(pw) > MaxBcryptPassword {
		return "", ErrPasswordTooLong
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), DefaultBcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// VerifyPassword reports whether pw matches hash, which is a bcrypt hash
// ($2a$, $2b$, $2y$) or an argon2id hash in PHC string form
// ($argon2id$v=19$m=..,t=..,p=..$salt$hash, unpadded base64). A malformed
// or unsupported hash is an error wrapping ErrUnknownHash. A password
// longer than MaxBcryptPassword never matches a bcrypt hash (bcrypt would
// compare its first 72 bytes only); it is refused without hashing.
func VerifyPassword(hash, pw string) (bool, error) {
	switch {
	case isBcrypt(hash):
		if len(pw) > MaxBcryptPassword {
			if _, err := bcrypt.Cost([]byte(hash)); err != nil {
				return false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
			}
			return false, nil
		}
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

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
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

// dummyHash is a bcrypt hash (cost 10) of a random string, the dummy of a
// users file without a usable hash (see dummyFor).
const dummyHash = "$2a$10$JCgv.uwv/Vl7CCmMTbQyYeHilkHZ6vSNT8QCysjOYCeWxHHRGMRpK"

// dummyFor returns a hash that no password matches and that costs as much
// to check as the stored hashes of users: same algorithm and parameters
// (bcrypt cost; argon2id memory, passes, threads, salt and key length) as
// most of them, the higher cost on a tie. Checking a password against it
// for unknown users makes the answer take as long as for a known user with
// a wrong password, so user names cannot be probed by timing, whatever
// cost the users file was written with. Hashes this package cannot verify
// are not counted; without any, dummyFor returns dummyHash.
func dummyFor(users map[string]string) string {
	type kind struct {
		bcryptCost int
		argon      argon2Params // salt and key: only their lengths count
	}
	counts := map[string]int{}
	kinds := map[string]kind{}
	for _, h := range users {
		var k kind
		switch {
		case isBcrypt(h):
			cost, err := bcrypt.Cost([]byte(h))
			if err != nil {
				continue
			}
			k.bcryptCost = cost
		case strings.HasPrefix(h, "$argon2id$"):
			p, err := parseArgon2id(h)
			if err != nil {
				continue
			}
			k.argon = argon2Params{memory: p.memory, time: p.time, threads: p.threads,
				salt: make([]byte, len(p.salt)), key: make([]byte, len(p.key))}
		default:
			continue
		}
		id := fmt.Sprintf("%d/%d/%d/%d/%d/%d", k.bcryptCost, k.argon.memory, k.argon.time, k.argon.threads, len(k.argon.salt), len(k.argon.key))
		counts[id]++
		kinds[id] = k
	}
	var best string
	var bestWork uint64
	for id, n := range counts {
		k := kinds[id]
		work := uint64(1)<<k.bcryptCost + uint64(k.argon.memory)*uint64(k.argon.time)
		if best == "" || n > counts[best] || n == counts[best] && (work > bestWork || work == bestWork && id < best) {
			best, bestWork = id, work
		}
	}
	if best == "" {
		return dummyHash
	}
	k := kinds[best]
	if k.bcryptCost > 0 {
		return fakeBcrypt(k.bcryptCost)
	}
	p := k.argon
	rand.Read(p.salt)
	rand.Read(p.key)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(p.salt), base64.RawStdEncoding.EncodeToString(p.key))
}

// fakeBcrypt returns a well-formed bcrypt hash of the given cost with a
// random salt and digest: checking any password against it costs what a
// real hash of that cost costs, and fails. It is built rather than
// computed, so that a users file of cost 16 does not cost seconds to load.
func fakeBcrypt(cost int) string {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 53) // 22 characters of salt, 31 of digest
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	// The last character of the salt carries 4 bits (16 bytes in 22
	// characters); keep its low 2 bits zero, as encoders write it.
	b[21] = alphabet[strings.IndexByte(alphabet, b[21])&^3]
	return fmt.Sprintf("$2a$%02d$%s", cost, b)
}
