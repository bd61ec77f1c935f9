package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"
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

// fakeConn is a connection from a given address that records Close.
type fakeConn struct {
	net.Conn
	remote string
	closed bool
}

func (c *fakeConn) RemoteAddr() net.Addr { a, _ := net.ResolveTCPAddr("tcp", c.remote); return a }
func (c *fakeConn) Close() error         { c.closed = true; return nil }

// testTracker returns a tracker on a manual clock whose handshake timers
// are collected instead of run.
func testTracker(max, perAddr int) (*connTracker, *[]func()) {
	t := newConnTracker(max, perAddr, time.Minute)
	now := time.Unix(1e9, 0)
	t.now = func() time.Time { now = now.Add(time.Millisecond); return now }
	var timers []func()
	t.afterFunc = func(_ time.Duration, f func()) func() bool {
		timers = append(timers, f)
		return func() bool { return true }
	}
	return t, &timers
}

func admitFrom(t *testing.T, tr *connTracker, addr string) (*trackedConn, *fakeConn) {
	t.Helper()
	fc := &fakeConn{remote: addr}
	tc, err := tr.admit(fc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tc, fc
}

// Issue #14: silent sockets from one address held every slot.
func TestConnTrackerEvictsTheFloodingAddress(t *testing.T) {
	tr, _ := testTracker(4, 0)
	var attacker []*fakeConn
	for i := range 3 {
		_, fc := admitFrom(t, tr, fmt.Sprintf("192.0.2.66:%d", 1000+i))
		attacker = append(attacker, fc)
	}
	legit, legitFC := admitFrom(t, tr, "192.0.2.1:2000")
	// Full. Each newcomer, from either address, closes the attacker's
	// oldest silent connection, never the legitimate one.
	for i := range 2 {
		admitFrom(t, tr, fmt.Sprintf("192.0.2.66:%d", 3000+i))
		if !attacker[i].closed {
			t.Fatalf("newcomer %d did not close the attacker's oldest connection", i)
		}
	}
	admitFrom(t, tr, "192.0.2.7:4000")
	if legitFC.closed || !attacker[2].closed {
		t.Errorf("legitimate closed %v, attacker's third closed %v", legitFC.closed, attacker[2].closed)
	}
	// A connection serving a request is never closed to make room.
	tr.connState(legit, http.StateActive)
	for c := range tr.conns {
		if c != legit {
			tr.connState(c, http.StateActive)
		}
	}
	tr.mu.Lock()
	room := tr.roomLocked()
	tr.mu.Unlock()
	if room || legitFC.closed {
		t.Errorf("room %v with every connection active; legitimate closed %v", room, legitFC.closed)
	}
}

func TestConnTrackerPerAddressCap(t *testing.T) {
	tr, _ := testTracker(100, 2)
	_, fc1 := admitFrom(t, tr, "192.0.2.66:1")
	_, fc2 := admitFrom(t, tr, "192.0.2.66:2")
	fc := &fakeConn{remote: "192.0.2.66:3"}
	if tc, err := tr.admit(fc, nil); tc != nil || err != nil || !fc.closed || fc1.closed || fc2.closed {
		t.Errorf("third from one address: %v %v closed %v; want it refused, the others kept", tc, err, fc.closed)
	}
	if _, fc := admitFrom(t, tr, "192.0.2.1:1"); fc.closed {
		t.Error("another address refused")
	}
	// An IPv6 /64 is one address.
	admitFrom(t, tr, "[2001:db8::1]:1")
	admitFrom(t, tr, "[2001:db8::2]:1")
	if n := tr.byAddr["2001:db8::/64"]; n != 2 {
		t.Errorf("IPv6 /64 holds %d", n)
	}
}

func TestConnTrackerHandshakeTimeout(t *testing.T) {
	tr, timers := testTracker(0, 0)
	silent, silentFC := admitFrom(t, tr, "192.0.2.66:1")
	talker, talkerFC := admitFrom(t, tr, "192.0.2.1:1")
	tr.connState(talker, http.StateActive)
	for _, f := range *timers {
		f()
	}
	if !silentFC.closed || talkerFC.closed {
		t.Errorf("after the handshake timeout: silent closed %v, talking closed %v", silentFC.closed, talkerFC.closed)
	}
	if _, ok := tr.conns[silent]; ok || len(tr.conns) != 1 {
		t.Errorf("tracker holds %d connections", len(tr.conns))
	}
}

// silentSockets opens n TCP connections to addr from the source address
// ip that never send a byte; it skips the test if ip cannot be bound.
func silentSockets(t *testing.T, ip, addr string, n int) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	for i := range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			if i == 0 {
				t.Skipf("cannot connect from %s: %v", ip, err)
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

// servedWithin reports whether a Get from 127.0.0.1 over HTTPS succeeds
// within limit (a generous bound: only a client left waiting for slots
// held by the silent sockets can miss it).
func servedWithin(t *testing.T, addr string, limit time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: limit, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("legitimate client not served: %v", err)
	}
	resp.Body.Close()
	c.CloseIdleConnections()
}

// Issue #14 over real sockets, with the handshake and read timeouts out
// of the way (an hour): only eviction can serve the legitimate client.
// Before the fix it waited for that hour.
func TestRunServesThroughSilentSockets(t *testing.T) {
	for name, cfg := range map[string]Config{
		"global cap":  {MaxConns: 8, MaxConnsPerAddr: -1},
		"address cap": {MaxConns: 1000, MaxConnsPerAddr: 8},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.HTTPSAddr, cfg.HandshakeTimeout = "127.0.0.1:0", time.Hour
			cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Hour, time.Hour, time.Hour
			a, _ := startServer(t, cfg, http.HandlerFunc(hello))
			silentSockets(t, "127.0.0.66", a.HTTPS, 50)
			servedWithin(t, a.HTTPS, 60*time.Second)
		})
	}
}
