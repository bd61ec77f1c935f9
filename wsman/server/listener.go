package server

import (
	"net"
	"sync"
)

// connLimit caps the number of open connections over any number of
// listeners. A listener at the cap stops accepting; pending clients wait
// in the kernel's backlog until a connection closes.
type connLimit struct {
	sem chan struct{}
	// full, if set, is called when the cap is reached, to free a slot
	// (by closing an idle keep-alive connection).
	full func() bool
}

func newConnLimit(n int, full func() bool) *connLimit {
	if n <= 0 {
		return nil
	}
	return &connLimit{sem: make(chan struct{}, n), full: full}
}

// wrap returns ln limited by l; a nil l means no limit.
func (l *connLimit) wrap(ln net.Listener) net.Listener {
	if l == nil {
		return ln
	}
	return &limitListener{Listener: ln, sem: l.sem, full: l.full, done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	full      func() bool
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		if l.full != nil {
			l.full() // a closed idle connection returns its slot shortly
		}
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, sem: l.sem}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	sem  chan struct{}
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.sem })
	return err
}
