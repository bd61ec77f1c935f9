package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vsmig/vsmig/wsman/auth"
)

// connTracker admits the connections of all listeners and decides which
// to close when they are too many, so that connections doing nothing
// cannot keep real clients out:
//
//   - a connection that has not completed its TLS handshake and the
//     headers of a first request within the handshake timeout is closed;
//   - one client address (auth.AddrKey: an IPv4 address or an IPv6 /64)
//     holds at most perAddr connections: past it, the new connection is
//     closed at once, before any TLS work, so that a flood from one
//     address costs an accept and a close per connection and does not
//     churn the connections it already has;
//   - at max connections, a connection that is not serving a request
//     (still before its first request, or idle between keep-alive
//     requests) is closed to admit the new one: the oldest of the address
//     holding the most connections, so that one client flooding the
//     server with silent sockets loses its own, not the others'. Only
//     when every connection is serving a request does the listener stop
//     accepting, and new clients wait in the kernel's backlog.
type connTracker struct {
	max, perAddr int // <= 0: no cap
	handshake    time.Duration
	now          func() time.Time
	afterFunc    func(time.Duration, func()) (stop func() bool)

	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	byAddr  map[string]int
	changed chan struct{} // closed and replaced when room may have appeared
}

// connPhase is where a tracked connection is in its life.
type connPhase uint8

const (
	phaseNew    connPhase = iota // accepted: TLS handshake, first request headers
	phaseActive                  // serving a request
	phaseIdle                    // between keep-alive requests
)

func newConnTracker(max, perAddr int, handshake time.Duration) *connTracker {
	return &connTracker{
		max: max, perAddr: perAddr, handshake: handshake,
		now: time.Now,
		afterFunc: func(d time.Duration, f func()) func() bool {
			return time.AfterFunc(d, f).Stop
		},
		conns:   make(map[*trackedConn]struct{}),
		byAddr:  make(map[string]int),
		changed: make(chan struct{}),
	}
}

// trackedConn is an admitted connection.
type trackedConn struct {
	net.Conn
	t     *connTracker
	addr  string
	phase connPhase // guarded by t.mu
	since time.Time // start of the phase; guarded by t.mu
	gone  bool      // removed from the tracker; guarded by t.mu
	stop  func() bool
}

// Close closes the connection and gives its slot back.
func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	c.t.removeLocked(c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// removeLocked forgets c (once) and signals waiting listeners.
func (t *connTracker) removeLocked(c *trackedConn) {
	if c.gone {
		return
	}
	c.gone = true
	if c.stop != nil {
		c.stop()
	}
	delete(t.conns, c)
	if t.byAddr[c.addr]--; t.byAddr[c.addr] <= 0 {
		delete(t.byAddr, c.addr)
	}
	t.signalLocked()
}

func (t *connTracker) signalLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// evictable reports whether c may be closed to make room.
func (c *trackedConn) evictable() bool { return c.phase != phaseActive }

// victimLocked returns the connection to close to make room, or nil: the
// oldest evictable one of the address holding the most connections.
func (t *connTracker) victimLocked() *trackedConn {
	var v *trackedConn
	for c := range t.conns {
		if !c.evictable() {
			continue
		}
		if v == nil {
			v = c
			continue
		}
		if nc, nv := t.byAddr[c.addr], t.byAddr[v.addr]; nc > nv || nc == nv && c.since.Before(v.since) {
			v = c
		}
	}
	return v
}

// roomLocked reports whether a new connection can be admitted from some
// address now (maybe by evicting another).
func (t *connTracker) roomLocked() bool {
	if t.max <= 0 || len(t.conns) < t.max {
		return true
	}
	for c := range t.conns {
		if c.evictable() {
			return true
		}
	}
	return false
}

// waitRoom blocks until roomLocked or done is closed.
func (t *connTracker) waitRoom(done <-chan struct{}) error {
	for {
		t.mu.Lock()
		ok, changed := t.roomLocked(), t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-done:
			return net.ErrClosed
		}
	}
}

// admit registers the accepted connection c, closing another one if needed
// to make room (see connTracker). It returns nil, after closing c, when c
// may not be admitted (its address is at its cap), and an error when done
// is closed while it waits for room.
func (t *connTracker) admit(c net.Conn, done <-chan struct{}) (*trackedConn, error) {
	tc := &trackedConn{Conn: c, t: t, addr: auth.AddrKey(c.RemoteAddr().String())}
	var victims []*trackedConn
	defer func() {
		for _, v := range victims {
			v.Conn.Close()
		}
	}()
	t.mu.Lock()
	if t.perAddr > 0 && t.byAddr[tc.addr] >= t.perAddr {
		t.mu.Unlock()
		c.Close()
		return nil, nil
	}
	for t.max > 0 && len(t.conns) >= t.max {
		if v := t.victimLocked(); v != nil {
			t.removeLocked(v)
			victims = append(victims, v)
			continue
		}
		// Every connection became busy since waitRoom: wait for one.
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
		case <-done:
			c.Close()
			return nil, net.ErrClosed
		}
		t.mu.Lock()
	}
	tc.since = t.now()
	t.conns[tc] = struct{}{}
	t.byAddr[tc.addr]++
	if t.handshake > 0 {
		tc.stop = t.afterFunc(t.handshake, func() { t.handshakeExpired(tc) })
	}
	t.mu.Unlock()
	return tc, nil
}

// handshakeExpired closes c if it has not yet started serving a request.
func (t *connTracker) handshakeExpired(c *trackedConn) {
	t.mu.Lock()
	expired := !c.gone && c.phase == phaseNew
	if expired {
		t.removeLocked(c)
	}
	t.mu.Unlock()
	if expired {
		c.Conn.Close()
	}
}

// connState is an http.Server.ConnState hook: it follows each connection
// from its first request on.
func (t *connTracker) connState(c net.Conn, s http.ConnState) {
	if tlsConn, ok := c.(*tls.Conn); ok {
		c = tlsConn.NetConn()
	}
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tc.gone {
		return
	}
	switch s {
	case http.StateActive:
		if tc.phase == phaseNew && tc.stop != nil {
			tc.stop()
		}
		tc.phase, tc.since = phaseActive, t.now()
	case http.StateIdle:
		tc.phase, tc.since = phaseIdle, t.now()
		t.signalLocked()
	}
}

// wrap returns ln admitting its connections through t.
func (t *connTracker) wrap(ln net.Listener) net.Listener {
	return &trackedListener{Listener: ln, t: t, done: make(chan struct{})}
}

type trackedListener struct {
	net.Listener
	t         *connTracker
	done      chan struct{}
	closeOnce sync.Once
}

func (l *trackedListener) Accept() (net.Conn, error) {
	for {
		if err := l.t.waitRoom(l.done); err != nil {
			return nil, err
		}
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, err := l.t.admit(c, l.done)
		if err != nil {
			return nil, err
		}
		if tc != nil {
			return tc, nil
		}
	}
}

func (l *trackedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
