package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// CertMap maps TLS client certificates to user names.
type CertMap struct {
	// Fingerprints maps the SHA-256 fingerprint of a leaf certificate (as
	// normalized by NormalizeFingerprint) to a user. A pinned fingerprint
	// needs no CA: the TLS handshake proves the client holds the key.
	Fingerprints map[string]string
	// CommonNames maps a leaf's subject common name to a user. It is used
	// only when the chain was verified against the server's client CA pool.
	CommonNames map[string]string
}

// ClientCert authenticates requests by their TLS client certificate.
type ClientCert struct {
	m CertMap
}

// NewClientCert returns an authenticator using m (which it copies).
func NewClientCert(m CertMap) *ClientCert {
	c := CertMap{Fingerprints: map[string]string{}, CommonNames: map[string]string{}}
	for k, v := range m.Fingerprints {
		if n, err := NormalizeFingerprint(k); err == nil {
			c.Fingerprints[n] = v
		}
	}
	for k, v := range m.CommonNames {
		c.CommonNames[k] = v
	}
	return &ClientCert{m: c}
}

// Authenticate implements Authenticator. A request without a client
// certificate gets ErrNoCredentials; a certificate that maps to no user
// gets ErrInvalidCredentials.
func (c *ClientCert) Authenticate(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", ErrNoCredentials
	}
	leaf := r.TLS.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	if user, ok := c.m.Fingerprints[hex.EncodeToString(sum[:])]; ok {
		return user, nil
	}
	if len(r.TLS.VerifiedChains) > 0 {
		if user, ok := c.m.CommonNames[leaf.Subject.CommonName]; ok {
			return user, nil
		}
	}
	return "", fmt.Errorf("%w: client certificate CN=%q sha256=%s maps to no user",
		ErrInvalidCredentials, leaf.Subject.CommonName, Fingerprint(leaf))
}

// Fingerprint returns the SHA-256 fingerprint of cert as upper-case hex
// pairs separated by colons, the form `openssl x509 -fingerprint -sha256`
// prints.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, len(sum)*3)
	for i, v := range sum {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[v>>4], digits[v&0xf])
	}
	return string(b)
}

// NormalizeFingerprint turns a SHA-256 fingerprint written as hex, with or
// without colons, spaces or a "sha256:" prefix, in any case, into
// lower-case hex without separators.
func NormalizeFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "sha256:") {
		s = s[7:]
	}
	s = strings.NewReplacer(":", "", " ", "").Replace(s)
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("auth: %q is not a SHA-256 fingerprint", s)
	}
	return hex.EncodeToString(raw), nil
}

// LoadCertMap reads a certificate mapping file. Each non-comment line is
// a key and a user name separated by white space, the user name last:
//
//	sha256:AB:CD:...:EF  alice      # pinned leaf certificate
//	cn:ops automation    robot      # subject CN, CA-verified chains only
//
// Blank lines and lines starting with '#' are ignored.
func LoadCertMap(path string) (CertMap, error) {
	m := CertMap{Fingerprints: map[string]string{}, CommonNames: map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("auth: cert map: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if i := strings.Index(text, " #"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" || text[0] == '#' {
			continue
		}
		i := strings.LastIndexAny(text, " \t")
		if i < 0 {
			return m, fmt.Errorf("auth: %s:%d: want a key (sha256:<hex> or cn:<name>) and a user", path, line)
		}
		key, user := strings.TrimSpace(text[:i]), text[i+1:]
		if err := ValidUserName(user); err != nil {
			return m, fmt.Errorf("auth: %s:%d: %w", path, line, err)
		}
		switch {
		case len(key) > 3 && strings.EqualFold(key[:3], "cn:"):
			m.CommonNames[strings.TrimSpace(key[3:])] = user
		case len(key) > 7 && strings.EqualFold(key[:7], "sha256:"):
			fp, err := NormalizeFingerprint(key)
			if err != nil {
				return m, fmt.Errorf("auth: %s:%d: %w", path, line, err)
			}
			m.Fingerprints[fp] = user
		default:
			return m, fmt.Errorf("auth: %s:%d: key must start with \"sha256:\" or \"cn:\" (%q)", path, line, key)
		}
	}
	return m, sc.Err()
}
