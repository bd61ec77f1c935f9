package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman/auth"
)

// testCA issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key}
}

func (ca *testCA) issue(t *testing.T, cn string, signer *testCA) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer.cert, &key.PublicKey, signer.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRunClientCA checks that ClientCAFile verifies client certificates
// and that auth.ClientCert maps a verified CN to a user.
func TestRunClientCA(t *testing.T) {
	ca, rogue := newTestCA(t), newTestCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	authn := auth.NewClientCert(auth.CertMap{CommonNames: map[string]string{"robot": "automation"}})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := authn.Authenticate(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, user)
	})
	a, _ := startServer(t, Config{HTTPSAddr: "127.0.0.1:0", ClientCAFile: caFile}, h)

	get := func(certs ...tls.Certificate) (int, string, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}}
		defer c.CloseIdleConnections()
		resp, err := c.Get("https://" + a.HTTPS + "/")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := get(ca.issue(t, "robot", ca)); err != nil || code != 200 || body != "automation" {
		t.Errorf("CA-signed robot: %d %q %v", code, body, err)
	}
	if code, _, err := get(ca.issue(t, "stranger", ca)); err != nil || code != 401 {
		t.Errorf("CA-signed unmapped CN: %d %v", code, err)
	}
	if code, _, err := get(); err != nil || code != 401 {
		t.Errorf("no certificate: %d %v", code, err)
	}
	if _, _, err := get(rogue.issue(t, "robot", rogue)); err == nil {
		t.Error("certificate from another CA passed the handshake")
	}
}
