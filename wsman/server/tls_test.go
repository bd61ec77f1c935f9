package server

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	c1, err := LoadOrCreateCert(dir, []string{"vsmig.example", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if !c1.Created || !c1.Generated {
		t.Errorf("first call: Created=%v Generated=%v", c1.Created, c1.Generated)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", info.Mode().Perm())
	}
	leaf := c1.TLS.Leaf
	for _, name := range []string{"localhost", "vsmig.example"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not name %s: %v", name, err)
		}
	}
	for _, ip := range []string{"127.0.0.1", "::1", "192.0.2.7"} {
		if err := leaf.VerifyHostname(ip); err != nil {
			t.Errorf("certificate does not name %s: %v", ip, err)
		}
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA || leaf.IsCA {
		t.Errorf("key algorithm %v, IsCA %v", leaf.PublicKeyAlgorithm, leaf.IsCA)
	}
	if time.Until(leaf.NotAfter) < SelfSignedValidity-48*time.Hour {
		t.Errorf("NotAfter %v too early", leaf.NotAfter)
	}

	c2, err := LoadOrCreateCert(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Created || c2.Fingerprint != c1.Fingerprint {
		t.Errorf("second call regenerated: Created=%v %s vs %s", c2.Created, c2.Fingerprint, c1.Fingerprint)
	}

	// A new extra name replaces the certificate.
	c3, err := LoadOrCreateCert(dir, []string{"vsmig.example", "new.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !c3.Created || c3.TLS.Leaf.VerifyHostname("new.example") != nil {
		t.Errorf("new extra name: Created=%v", c3.Created)
	}
	c1 = c3

	// The fingerprint is the one openssl prints.
	if openssl, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(dir, CertFileName)).Output()
		if err != nil {
			t.Fatal(err)
		}
		_, got, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if got != c1.Fingerprint {
			t.Errorf("openssl fingerprint %s, ours %s", got, c1.Fingerprint)
		}
	}

	// A lone key file is never overwritten.
	os.Remove(filepath.Join(dir, CertFileName))
	if _, err := LoadOrCreateCert(dir, nil); err == nil {
		t.Error("LoadOrCreateCert replaced a lone key file")
	}
}

func TestLoadCertConfigured(t *testing.T) {
	dir := t.TempDir()
	gen, err := LoadOrCreateCert(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCert(Config{CertFile: filepath.Join(dir, CertFileName), KeyFile: filepath.Join(dir, KeyFileName), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Generated || c.Fingerprint != gen.Fingerprint {
		t.Errorf("configured cert: Generated=%v fp=%s", c.Generated, c.Fingerprint)
	}
	if _, err := LoadCert(Config{CertFile: "x.pem"}); err == nil {
		t.Error("CertFile without KeyFile accepted")
	}
}

func TestGeneratedCertSkipsDuplicates(t *testing.T) {
	certPEM, _, err := generateSelfSigned([]string{"localhost", "127.0.0.1", "", "::1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]int{}
	for _, ip := range c.IPAddresses {
		ips[ip.String()]++
	}
	if ips["127.0.0.1"] != 1 || ips["::1"] != 1 || len(c.IPAddresses) != 2 {
		t.Errorf("IP SANs %v", c.IPAddresses)
	}
	names := map[string]int{}
	for _, n := range c.DNSNames {
		names[n]++
		if names[n] > 1 || n == "" {
			t.Errorf("DNS SANs %v", c.DNSNames)
		}
	}
}
