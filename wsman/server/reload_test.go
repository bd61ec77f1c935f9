package server

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman/auth"
)

func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func() {
		certPEM, keyPEM, err := generateSelfSigned(nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keyFile, keyPEM, 0o600)
		os.WriteFile(certFile, certPEM, 0o600)
	}
	write()
	a, _ := startServer(t, Config{HTTPSAddr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile, CertReloadInterval: time.Millisecond}, http.HandlerFunc(hello))
	served := func() string {
		c, err := tls.Dial("tcp", a.HTTPS, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return auth.Fingerprint(c.ConnectionState().PeerCertificates[0])
	}
	if got := served(); got != a.CertFingerprint || a.CertGenerated {
		t.Fatalf("served %s, Addrs say %s (generated %v)", got, a.CertFingerprint, a.CertGenerated)
	}
	// Replace the pair; mtimes must differ from the first write.
	time.Sleep(20 * time.Millisecond)
	write()
	future := time.Now().Add(time.Second)
	os.Chtimes(certFile, future, future)
	os.Chtimes(keyFile, future, future)
	time.Sleep(5 * time.Millisecond)
	served() // this handshake notices the change
	if got := served(); got == a.CertFingerprint {
		t.Error("rotated certificate not served")
	}
	// A broken pair keeps the last good certificate.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	later := future.Add(time.Second)
	os.Chtimes(certFile, later, later)
	time.Sleep(5 * time.Millisecond)
	before := served()
	if after := served(); after != before {
		t.Errorf("broken files replaced the certificate: %s -> %s", before, after)
	}
}
