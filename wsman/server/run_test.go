package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer runs Run in the background and returns the bound addresses
// and a stop function that cancels and waits for Run's result.
func startServer(t *testing.T, cfg Config, h http.Handler) (Addrs, func() error) {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	cfg.Logger = quiet
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan Addrs, 1)
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, h, func(a Addrs) { addrc <- a }) }()
	select {
	case a := <-addrc:
		stopped := false
		var result error
		stop := func() error {
			if !stopped {
				stopped = true
				cancel()
				result = <-errc
			}
			return result
		}
		t.Cleanup(func() { stop() })
		return a, stop
	case err := <-errc:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	return Addrs{}, nil
}

func hello(w http.ResponseWriter, r *http.Request) {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	io.WriteString(w, proto+" "+r.Proto)
}

func TestRunServesHTTPSAndHTTP(t *testing.T) {
	state := t.TempDir()
	a, stop := startServer(t, Config{HTTPSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", StateDir: state}, http.HandlerFunc(hello))
	if a.HTTPS == "" || a.HTTP == "" || !a.CertCreated || a.CertFingerprint == "" {
		t.Fatalf("addrs %+v", a)
	}
	// The generated certificate verifies for 127.0.0.1 when trusted.
	pemData, err := os.ReadFile(filepath.Join(state, CertFileName))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	for url, want := range map[string]string{
		"https://" + a.HTTPS + "/": "https HTTP/1.1",
		"http://" + a.HTTP + "/":   "http HTTP/1.1",
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("%s: %q, want %q", url, body, want)
		}
	}
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Errorf("Run after cancel: %v, want nil", err)
	}
	if _, err := net.Dial("tcp", a.HTTPS); err == nil {
		t.Error("HTTPS listener still open after shutdown")
	}
}

func TestRunRefusesOldTLS(t *testing.T) {
	a, _ := startServer(t, Config{HTTPSAddr: "127.0.0.1:0"}, http.HandlerFunc(hello))
	conn, err := tls.Dial("tcp", a.HTTPS, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestRunGracefulShutdownWaitsForRequest(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	a, stop := startServer(t, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1:0"}, h)
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + a.HTTP + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(50 * time.Millisecond) // let Shutdown close the listener
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestRunShutdownTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	a, stop := startServer(t, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 50 * time.Millisecond}, h)
	go http.Get("http://" + a.HTTP + "/")
	<-started
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// rawGet sends one HTTP/1.1 GET on a new connection and returns the
// connection and the response body (or an error text).
func rawGet(addr, path string, keepAlive bool) (net.Conn, string) {
	c, err := net.Dial("tcp", addr) // completes in the kernel backlog even past the cap
	if err != nil {
		return nopConn{}, err.Error()
	}
	hdr := ""
	if !keepAlive {
		hdr = "Connection: close\r\n"
	}
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n"+hdr+"\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return c, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	return c, string(b)
}

func TestRunMaxConnsBusy(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			entered <- struct{}{}
			<-release
		}
		hello(w, r)
	})
	a, _ := startServer(t, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1:0", MaxConns: 2}, h)
	// Two requests in progress fill the cap: both are in the handler
	// before the third connects (a sleep here let a slow machine connect
	// the third first).
	for range 2 {
		go rawGet(a.HTTP, "/block", false)
	}
	<-entered
	<-entered
	// While the two are served, the third must wait however long we
	// look; 200 ms can only miss a leak, never invent one.
	third := make(chan string, 1)
	go func() {
		c, body := rawGet(a.HTTP, "/", false)
		c.Close()
		third <- body
	}()
	select {
	case b := <-third:
		t.Fatalf("third connection served past the cap: %q", b)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case b := <-third:
		if b != "http HTTP/1.1" {
			t.Errorf("third connection got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("third connection not served after a slot was freed")
	}
}

func TestRunMaxConnsClosesIdle(t *testing.T) {
	a, _ := startServer(t, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1:0", MaxConns: 2}, http.HandlerFunc(hello))
	// Two idle keep-alive connections fill the cap.
	c1, _ := rawGet(a.HTTP, "/", true)
	defer c1.Close()
	time.Sleep(10 * time.Millisecond) // c1 is the older idle connection
	c2, _ := rawGet(a.HTTP, "/", true)
	defer c2.Close()
	done := make(chan string, 1)
	go func() {
		c, body := rawGet(a.HTTP, "/", false)
		c.Close()
		done <- body
	}()
	select {
	case b := <-done:
		if b != "http HTTP/1.1" {
			t.Errorf("third connection got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("new connection not admitted although the others were idle")
	}
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("oldest idle connection: read err %v, want EOF (closed)", err)
	}
}

func TestRunErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for name, cfg := range map[string]Config{
		"both disabled": {HTTPSAddr: "-"},
		"port in use":   {HTTPSAddr: ln.Addr().String(), StateDir: t.TempDir()},
		"http in use":   {HTTPSAddr: "-", HTTPAddr: ln.Addr().String()},
		"bad client CA": {HTTPSAddr: "127.0.0.1:0", StateDir: t.TempDir(), ClientCAFile: "/nonexistent"},
	} {
		cfg.Logger = quiet
		if err := Run(context.Background(), cfg, http.HandlerFunc(hello), nil); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

func TestHTTPAddrDefaultPort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan Addrs, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1", Logger: quiet}, http.HandlerFunc(hello), func(a Addrs) { got <- a })
	}()
	select {
	case a := <-got:
		if !strings.HasSuffix(a.HTTP, ":"+DefaultHTTPPort) {
			t.Errorf("HTTP bound to %s", a.HTTP)
		}
		cancel()
		<-errc
	case err := <-errc:
		t.Skipf("port %s busy here: %v", DefaultHTTPPort, err)
	}
}

// nopConn stands in for a connection that could not be made.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

func TestRunHeaderLimit(t *testing.T) {
	a, _ := startServer(t, Config{HTTPSAddr: "-", HTTPAddr: "127.0.0.1:0", MaxHeaderBytes: 1024}, http.HandlerFunc(hello))
	c, err := net.Dial("tcp", a.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}
