package wsman

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of the refusal log.
const (
	// refusalBurst is how many refusals of one kind from one address are
	// logged per refusalWindow; the rest are counted and summarised in
	// one line when the window ends.
	refusalBurst = 5
	// refusalWindow is the period of that count.
	refusalWindow = time.Minute
	// maxRefusalKeys bounds the (kind, address) pairs tracked; past it,
	// refusals from further addresses share one entry.
	maxRefusalKeys = 4096
	// maxLogName is the longest client-chosen name logged, in bytes.
	maxLogName = 64
	// maxLogError is the longest error text logged with a refusal: the
	// errors of an Authenticator may quote the client.
	maxLogError = 256
)

// refusalLog logs requests refused before they reach the service (wrong
// credentials, credentials over plain HTTP, a spent failure budget) so
// that a client cannot flood the log: per kind of refusal and client
// address (auth.AddrKey), the first refusalBurst in a refusalWindow are
// logged, the others counted, and one line at the end of the window says
// how many were not logged.
type refusalLog struct {
	log       *slog.Logger
	now       func() time.Time
	afterFunc func(time.Duration, func()) // time.AfterFunc; tests run it by hand

	mu   sync.Mutex
	keys map[refusalKey]*refusalCount
}

type refusalKey struct{ msg, addr string }

// refusalCount is one key's current window.
type refusalCount struct {
	start      time.Time
	logged     int
	suppressed int
	level      slog.Level
}

func newRefusalLog(log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, now: time.Now, keys: make(map[refusalKey]*refusalCount),
		afterFunc: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// refused logs msg with attrs for a refusal from addr (an auth.AddrKey),
// or counts it if this window already logged refusalBurst of them.
func (l *refusalLog) refused(level slog.Level, msg, addr string, attrs ...slog.Attr) {
	now := l.now()
	l.mu.Lock()
	k := refusalKey{msg, addr}
	c, ok := l.keys[k]
	if !ok {
		if len(l.keys) >= maxRefusalKeys {
			l.pruneLocked(now)
		}
		if len(l.keys) >= maxRefusalKeys {
			k.addr = "other addresses"
			c, ok = l.keys[k]
		}
	}
	if !ok || now.Sub(c.start) >= refusalWindow && c.suppressed == 0 {
		c = &refusalCount{start: now, level: level}
		l.keys[k] = c
	}
	if c.logged < refusalBurst {
		c.logged++
		l.mu.Unlock()
		l.log.LogAttrs(context.Background(), level, msg, attrs...)
		return
	}
	c.suppressed++
	if c.suppressed == 1 {
		l.afterFunc(c.start.Add(refusalWindow).Sub(now), func() { l.summarise(k, c) })
	}
	l.mu.Unlock()
}

// summarise ends the window of c: it logs how many refusals went unlogged
// and forgets the key, so the next refusal starts a new window.
func (l *refusalLog) summarise(k refusalKey, c *refusalCount) {
	l.mu.Lock()
	n := c.suppressed
	if l.keys[k] == c {
		delete(l.keys, k)
	}
	l.mu.Unlock()
	l.log.LogAttrs(context.Background(), c.level, k.msg+" (summary)",
		slog.String("remote", k.addr), slog.Int("not_logged", n),
		slog.String("window", fmt.Sprint(refusalWindow)))
}

// pruneLocked forgets keys whose window ended with nothing to summarise.
func (l *refusalLog) pruneLocked(now time.Time) {
	for k, c := range l.keys {
		if c.suppressed == 0 && now.Sub(c.start) >= refusalWindow {
			delete(l.keys, k)
		}
	}
}

// logName returns a client-chosen name (a user name from an Authorization
// header) fit for a log line: at most maxLogName bytes of it, cut at a
// character boundary and followed by its full length when cut, with
// control characters, quotes and invalid UTF-8 escaped as in Go string
// literals, so that the name can neither flood the log nor forge lines in
// it, whatever the log format.
func logName(s string) string { return logText(s, maxLogName) }

// logText is logName for at most max bytes.
func logText(s string, max int) string {
	cut := s
	if len(s) > max {
		cut = s[:max]
		for i := 0; i < utf8.UTFMax && !utf8.ValidString(cut); i++ {
			cut = cut[:len(cut)-1]
		}
	}
	q := strconv.QuoteToGraphic(cut)
	q = q[1 : len(q)-1]
	if len(cut) < len(s) {
		q += fmt.Sprintf("... (%d bytes)", len(s))
	}
	return q
}
