package wsman_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/server"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// e2eItems is how many items the test resource holds.
const e2eItems = 10

const (
	e2eUser     = "operator"
	e2ePassword = "correct horse battery staple"
)

// e2eServer is an in-process vsmig WS-Man endpoint: server.Run serving
// NewHTTPHandler over a Service with the wsmantest resource, Basic auth
// against a bcrypt users file and pinned client certificates.
type e2eServer struct {
	HTTPS, HTTP string // base URLs of /wsman
	CAFile      string // the server's self-signed certificate
	ClientCert  string // PEM files of a client certificate mapped to e2eUser
	ClientKey   string
	RootCAs     *x509.CertPool
	Logs        *lockedBuffer
}

type e2eOptions struct {
	items            int
	allowUnencrypted bool
	maxConns         int
}

func startE2E(tb testing.TB, opt e2eOptions) *e2eServer {
	tb.Helper()
	dir := tb.TempDir()
	hash, err := auth.HashPassword(e2ePassword) // bcrypt, default cost
	if err != nil {
		tb.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if err := auth.AddUser(users, e2eUser, hash); err != nil {
		tb.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: users, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	certPEM, keyPEM, fingerprint := newClientCert(tb)
	s := &e2eServer{CAFile: filepath.Join(dir, "state", server.CertFileName), Logs: logs,
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem")}
	os.WriteFile(s.ClientCert, certPEM, 0o600)
	os.WriteFile(s.ClientKey, keyPEM, 0o600)
	authn := auth.Chain(
		auth.NewClientCert(auth.CertMap{Fingerprints: map[string]string{fingerprint: e2eUser}}),
		basic,
	)

	svc := wsman.NewService(wsman.Config{ProductVendor: "vsmig e2e", ProductVersion: "test", Logger: log})
	tb.Cleanup(func() { svc.Close() })
	items := opt.items
	if items == 0 {
		items = e2eItems
	}
	svc.Handle(wsmantest.ResourceURI, wsmantest.NewResource(items))
	h := wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Authenticator: authn, AllowUnencrypted: opt.allowUnencrypted, Logger: log})

	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan server.Addrs, 1), make(chan error, 1)
	cfg := server.Config{HTTPSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"),
		RequestClientCert: true, MaxConns: opt.maxConns, Logger: log}
	go func() { errc <- server.Run(ctx, cfg, h, func(a server.Addrs) { addrc <- a }) }()
	select {
	case a := <-addrc:
		s.HTTPS, s.HTTP = "https://"+a.HTTPS+wsman.PathWSMan, "http://"+a.HTTP+wsman.PathWSMan
	case err := <-errc:
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("server.Run: %v", err)
		}
	})
	pemData, err := os.ReadFile(s.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	s.RootCAs = x509.NewCertPool()
	s.RootCAs.AppendCertsFromPEM(pemData)
	return s
}

// client returns an HTTP client trusting the server certificate.
func (s *e2eServer) client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.RootCAs},
		MaxIdleConnsPerHost: 64,
	}}
}

// post sends body to url with Basic credentials and returns the response
// with its body read.
func (s *e2eServer) post(t *testing.T, c *http.Client, url, contentType string, body io.Reader, user, pw string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func newClientCert(tb testing.TB) (certPEM, keyPEM []byte, fingerprint string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "e2e client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), auth.Fingerprint(cert)
}

// lockedBuffer collects the server log; handlers write to it concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestE2EPywinrm drives the server with Debian's python3-winrm.
func TestE2EPywinrm(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import winrm").CombinedOutput(); err != nil {
		if os.Getenv("VSMIG_E2E") == "1" {
			t.Fatalf("VSMIG_E2E=1 but %s cannot import winrm (apt-get install python3-winrm): %v\n%s", python, err, out)
		}
		t.Skipf("%s cannot import winrm (set VSMIG_E2E=1 to make this fatal): %v", python, err)
	}
	for _, transport := range []string{"ssl", "basic"} {
		t.Run(transport, func(t *testing.T) {
			s := startE2E(t, e2eOptions{allowUnencrypted: transport == "basic"})
			env := []string{
				"VSMIG_TRANSPORT=" + transport,
				"VSMIG_ENDPOINT=" + s.HTTPS,
				"VSMIG_USER=" + e2eUser,
				"VSMIG_PASSWORD=" + e2ePassword,
				"VSMIG_CA=" + s.CAFile,
				"VSMIG_RESOURCE_URI=" + wsmantest.ResourceURI,
				"VSMIG_ITEMS=" + strconv.Itoa(e2eItems),
				"PYTHONDONTWRITEBYTECODE=1",
			}
			if transport == "ssl" {
				env = append(env, "VSMIG_CLIENT_CERT="+s.ClientCert, "VSMIG_CLIENT_KEY="+s.ClientKey,
					"VSMIG_HTTP_ENDPOINT="+s.HTTP)
			} else {
				env[1] = "VSMIG_ENDPOINT=" + s.HTTP
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "e2e", "client_test.py"))
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			t.Logf("client_test.py (%s):\n%s", transport, out)
			if err != nil {
				t.Fatalf("client_test.py failed: %v", err)
			}
			if strings.Contains(s.Logs.String(), e2ePassword) {
				t.Error("a password appears in the server log")
			}
		})
	}
}

// identifyRequest is the Identify envelope as openwsman and Test-WSMan send it.
var identifyRequest = wsmantest.NewIdentifyRequest()

// TestE2EHostileInput checks the transport against misbehaving clients
// over real connections.
func TestE2EHostileInput(t *testing.T) {
	s := startE2E(t, e2eOptions{})
	c := s.client()
	const ct = "application/soap+xml;charset=UTF-8"
	// getItem returns a fresh Get envelope (the service refuses reused MessageIDs).
	getItem := func() []byte {
		return wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, "")
	}

	t.Run("wrong content type is 415", func(t *testing.T) {
		resp, body := s.post(t, c, s.HTTPS, "text/xml; charset=utf-8", bytes.NewReader(getItem()), e2eUser, e2ePassword)
		if resp.StatusCode != 415 || len(body) != 0 {
			t.Errorf("status %d body %q", resp.StatusCode, body)
		}
	})
	t.Run("bad password is 401 with an empty body", func(t *testing.T) {
		resp, body := s.post(t, c, s.HTTPS, ct, bytes.NewReader(getItem()), e2eUser, "guess")
		if resp.StatusCode != 401 || len(body) != 0 || resp.ContentLength != 0 ||
			resp.Header.Get("WWW-Authenticate") != `Basic realm="WSMAN"` {
			t.Errorf("status %d body %q headers %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("plain HTTP Basic is 403 without a challenge unless allowed", func(t *testing.T) {
		for _, user := range []string{e2eUser, ""} {
			resp, body := s.post(t, c, s.HTTP, ct, bytes.NewReader(getItem()), user, e2ePassword)
			if resp.StatusCode != 403 || resp.Header.Get("WWW-Authenticate") != "" || !bytes.Contains(body, []byte("HTTPS")) {
				t.Errorf("credentials %v: status %d, WWW-Authenticate %q, body %q", user != "", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
		resp, body := s.post(t, c, strings.Replace(s.HTTP, wsman.PathWSMan, wsman.PathAnonIdentify, 1), ct, bytes.NewReader(identifyRequest), "", "")
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("IdentifyResponse")) {
			t.Errorf("anonymous identify over HTTP: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("anonymous path serves Identify only", func(t *testing.T) {
		resp, body := s.post(t, c, strings.Replace(s.HTTPS, wsman.PathWSMan, wsman.PathAnonIdentify, 1), ct, bytes.NewReader(getItem()), "", "")
		if resp.StatusCode != 500 || !bytes.Contains(body, []byte(wsman.SubcodeAccessDenied)) || bytes.Contains(body, []byte("value-1")) {
			t.Errorf("anonymous Get answered: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("GET is 405, other path 404", func(t *testing.T) {
		resp, err := c.Get(s.HTTPS)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		resp, _ = s.post(t, c, s.HTTPS+"/../etc/passwd", ct, bytes.NewReader(getItem()), e2eUser, e2ePassword)
		if resp.StatusCode != 404 {
			t.Errorf("other path: %d", resp.StatusCode)
		}
	})
	t.Run("UTF-16 request is answered in UTF-16", func(t *testing.T) {
		body, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(getItem())
		resp, out := s.post(t, c, s.HTTPS, "application/soap+xml;charset=UTF-16", bytes.NewReader(body), e2eUser, e2ePassword)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/soap+xml;charset=UTF-16" {
			t.Fatalf("status %d Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !bytes.HasPrefix(out, []byte{0xFF, 0xFE}) {
			t.Errorf("no little-endian BOM: % x", out[:4])
		}
		text, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(out)
		if err != nil || !bytes.Contains(text, []byte("value-1")) {
			t.Errorf("decoded response %q (%v)", text, err)
		}
	})
	t.Run("chunked body is accepted", func(t *testing.T) {
		// An io.Reader of unknown length makes net/http send chunks.
		get := getItem()
		resp, out := s.post(t, c, s.HTTPS, ct, io.MultiReader(bytes.NewReader(get[:100]), bytes.NewReader(get[100:])), e2eUser, e2ePassword)
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte("value-1")) {
			t.Errorf("status %d body %q", resp.StatusCode, out)
		}
	})
	t.Run("20 MiB body is refused before it is read", func(t *testing.T) {
		for _, chunked := range []bool{false, true} {
			body := &countingReader{size: 20 << 20}
			req, _ := http.NewRequest(http.MethodPost, s.HTTPS, body)
			if !chunked {
				req.ContentLength = body.size
			}
			req.Header.Set("Content-Type", ct)
			req.SetBasicAuth(e2eUser, e2ePassword)
			resp, err := c.Do(req)
			if err != nil {
				// The server may close while the client still writes; what
				// matters is that little was sent.
				t.Logf("chunked=%v: client error %v after %d bytes", chunked, err, body.read.Load())
			} else {
				resp.Body.Close()
				if resp.StatusCode != 413 {
					t.Errorf("chunked=%v: status %d", chunked, resp.StatusCode)
				}
			}
			t.Logf("chunked=%v: client sent %d of %d bytes", chunked, body.read.Load(), body.size)
			if n := body.read.Load(); n >= body.size/2 {
				t.Errorf("chunked=%v: client sent %d of %d bytes before the refusal", chunked, n, body.size)
			}
		}
	})
	t.Run("a stalled or hostile client does not block others", func(t *testing.T) {
		addr := strings.TrimPrefix(strings.TrimSuffix(s.HTTP, wsman.PathWSMan), "http://")
		var hostile []net.Conn
		defer func() {
			for _, h := range hostile {
				h.Close()
			}
		}()
		for i := range 8 {
			h, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			hostile = append(hostile, h)
			switch i % 3 {
			case 0: // slowloris: half a header line, then nothing
				io.WriteString(h, "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Ty")
			case 1: // promises a body and never sends it
				io.WriteString(h, "POST /wsman-anon/identify HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\nContent-Length: 4000\r\n\r\n<s:")
			case 2: // garbage
				io.WriteString(h, "\x16\x03\x01\x00\x00GARBAGE\r\n\r\n")
			}
		}
		start := time.Now()
		resp, out := s.post(t, c, s.HTTPS, ct, bytes.NewReader(getItem()), e2eUser, e2ePassword)
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte("value-1")) {
			t.Errorf("status %d body %q", resp.StatusCode, out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("served after %v while hostile clients were connected", d)
		}
		// The garbage connection got a 400 and was closed.
		hostile[2].SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, _ := bufio.NewReader(hostile[2]).ReadString('\n'); !strings.Contains(line, "400") {
			t.Errorf("garbage request answered %q", line)
		}
	})
}

// countingReader yields size bytes of 'x' and counts how many were read.
type countingReader struct {
	size int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n := c.read.Load()
	if n >= c.size {
		return 0, io.EOF
	}
	k := min(int64(len(p)), c.size-n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	c.read.Add(k)
	return int(k), nil
}
