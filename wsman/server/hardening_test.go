package server

import (
	"crypto/tls"
	"net/http"
	"slices"
	"testing"
)

// TLS 1.2 offers only the AEAD suites of Mozilla's intermediate profile
// (issue #14: CBC-SHA1 suites were offered).
func TestRunOffersIntermediateSuitesOnly(t *testing.T) {
	a, _ := startServer(t, Config{HTTPSAddr: "127.0.0.1:0"}, http.HandlerFunc(hello))
	var all []*tls.CipherSuite
	all = append(all, tls.CipherSuites()...)
	all = append(all, tls.InsecureCipherSuites()...)
	for _, cs := range all {
		if !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		conn, err := tls.Dial("tcp", a.HTTPS, &tls.Config{InsecureSkipVerify: true,
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{cs.ID}})
		accepted := err == nil
		if accepted {
			conn.Close()
		}
		// The generated certificate is ECDSA: the RSA suites of the list
		// cannot be negotiated with it.
		want := slices.Contains(IntermediateCipherSuites, cs.ID) && !cs.Insecure && containsECDSA(cs.Name)
		if accepted != want {
			t.Errorf("TLS 1.2 with %s: accepted %v, want %v", cs.Name, accepted, want)
		}
	}
	conn, err := tls.Dial("tcp", a.HTTPS, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatalf("TLS 1.3: %v", err)
	}
	conn.Close()
}

func containsECDSA(name string) bool {
	return len(name) > 11 && name[:11] == "TLS_ECDHE_E"
}
