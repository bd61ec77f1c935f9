package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testCert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certRequest(c *x509.Certificate, verified bool) *http.Request {
	r := httptest.NewRequest("POST", "https://h/wsman", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	if verified {
		r.TLS.VerifiedChains = [][]*x509.Certificate{{c}}
	}
	return r
}

func TestClientCert(t *testing.T) {
	pinned, byCN, stranger := testCert(t, "pinned"), testCert(t, "ops robot"), testCert(t, "stranger")
	a := NewClientCert(CertMap{
		Fingerprints: map[string]string{Fingerprint(pinned): "alice"},
		CommonNames:  map[string]string{"ops robot": "robot"},
	})
	tests := []struct {
		name     string
		r        *http.Request
		wantUser string
		wantErr  error
	}{
		{"pinned unverified", certRequest(pinned, false), "alice", nil},
		{"pinned verified", certRequest(pinned, true), "alice", nil},
		{"cn verified", certRequest(byCN, true), "robot", nil},
		{"cn unverified", certRequest(byCN, false), "", ErrInvalidCredentials},
		{"unmapped", certRequest(stranger, true), "", ErrInvalidCredentials},
		{"plain http", httptest.NewRequest("POST", "/wsman", nil), "", ErrNoCredentials},
		{"tls without cert", func() *http.Request {
			r := httptest.NewRequest("POST", "https://h/wsman", nil)
			r.TLS = &tls.ConnectionState{}
			return r
		}(), "", ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := a.Authenticate(tt.r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if user != tt.wantUser {
				t.Errorf("user = %q, want %q", user, tt.wantUser)
			}
		})
	}
}

func TestFingerprintFormat(t *testing.T) {
	c := testCert(t, "x")
	fp := Fingerprint(c)
	sum := sha256.Sum256(c.Raw)
	if len(fp) != 95 || strings.ToUpper(fp) != fp || strings.ReplaceAll(strings.ToLower(fp), ":", "") != hex.EncodeToString(sum[:]) {
		t.Errorf("Fingerprint = %q", fp)
	}
	for _, in := range []string{fp, strings.ToLower(fp), "sha256:" + fp, "SHA256:" + strings.ReplaceAll(fp, ":", "")} {
		n, err := NormalizeFingerprint(in)
		if err != nil || n != hex.EncodeToString(sum[:]) {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v", in, n, err)
		}
	}
	if _, err := NormalizeFingerprint("AB:CD"); err == nil {
		t.Error("short fingerprint accepted")
	}
}

func TestLoadCertMap(t *testing.T) {
	c := testCert(t, "x")
	path := filepath.Join(t.TempDir(), "certmap")
	content := "# mapping\n\nsha256:" + Fingerprint(c) + "  alice # pinned\ncn:ops robot\trobot\n"
	os.WriteFile(path, []byte(content), 0o600)
	m, err := LoadCertMap(path)
	if err != nil {
		t.Fatal(err)
	}
	if user, _ := NewClientCert(m).Authenticate(certRequest(c, false)); user != "alice" {
		t.Errorf("pinned user = %q", user)
	}
	if m.CommonNames["ops robot"] != "robot" {
		t.Errorf("CommonNames = %v", m.CommonNames)
	}
	for _, bad := range []string{"alice\n", "sha256:zz alice\n", "uid:1 alice\n", "cn:x a:b\n"} {
		os.WriteFile(path, []byte(bad), 0o600)
		if _, err := LoadCertMap(path); err == nil {
			t.Errorf("LoadCertMap accepted %q", bad)
		}
	}
}

func TestChain(t *testing.T) {
	ok := AuthenticatorFunc(func(*http.Request) (string, error) { return "u", nil })
	none := AuthenticatorFunc(func(*http.Request) (string, error) { return "", ErrNoCredentials })
	bad := AuthenticatorFunc(func(*http.Request) (string, error) { return "", ErrInvalidCredentials })
	r := httptest.NewRequest("POST", "/", nil)
	for _, tc := range []struct {
		name    string
		chain   Authenticator
		want    string
		wantErr error
	}{
		{"first none then ok", Chain(none, ok), "u", nil},
		{"bad stops", Chain(bad, ok), "", ErrInvalidCredentials},
		{"all none", Chain(none, none), "", ErrNoCredentials},
		{"empty", Chain(), "", ErrNoCredentials},
	} {
		user, err := tc.chain.Authenticate(r)
		if user != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s: %q, %v", tc.name, user, err)
		}
	}
}
