package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// idleConns tracks keep-alive connections that wait for their next
// request, so that a server at its connection cap can close the longest
// idle one instead of leaving new clients queued behind connections that
// do nothing (IdleTimeout alone would keep them for minutes).
type idleConns struct {
	mu    sync.Mutex
	since map[net.Conn]time.Time
}

func newIdleConns() *idleConns { return &idleConns{since: make(map[net.Conn]time.Time)} }

// connState is an http.Server.ConnState hook.
func (t *idleConns) connState(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s == http.StateIdle {
		t.since[c] = time.Now()
	} else {
		delete(t.since, c)
	}
}

// closeOldest closes the connection idle the longest and reports whether
// there was one.
func (t *idleConns) closeOldest() bool {
	t.mu.Lock()
	var oldest net.Conn
	var at time.Time
	for c, s := range t.since {
		if oldest == nil || s.Before(at) {
			oldest, at = c, s
		}
	}
	if oldest != nil {
		delete(t.since, oldest)
	}
	t.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.Close()
	return true
}
