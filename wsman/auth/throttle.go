package auth

import (
	"context"
	"sync"
	"time"
)

// Defaults of the failure throttle.
const (
	// DefaultFailureBaseDelay is the delay before answering the first
	// failed attempt from an address; it doubles with each further failure.
	DefaultFailureBaseDelay = 100 * time.Millisecond
	// DefaultFailureMaxDelay caps the delay; long enough to make guessing
	// slow, short enough that clients do not time out.
	DefaultFailureMaxDelay = 2 * time.Second
	// DefaultFailureDecay is the time after which one recorded failure is
	// forgotten, so a client that stops failing recovers gradually.
	DefaultFailureDecay = 10 * time.Second
	// DefaultMaxTrackedAddrs bounds the per-address table.
	DefaultMaxTrackedAddrs = 10000
)

// ThrottleConfig configures a Throttle. The zero value uses the defaults.
type ThrottleConfig struct {
	BaseDelay  time.Duration // 0 means DefaultFailureBaseDelay
	MaxDelay   time.Duration // 0 means DefaultFailureMaxDelay
	Decay      time.Duration // 0 means DefaultFailureDecay
	MaxTracked int           // 0 means DefaultMaxTrackedAddrs
}

// Throttle counts failed authentications per remote address and tells
// how long to delay the answer to the next failure: BaseDelay after the
// first, doubling up to MaxDelay. Each Decay interval without failures
// forgets one. Successes do not reset the count, so an attacker holding
// one valid account cannot use it to reset its guessing budget. It is
// safe for concurrent use.
type Throttle struct {
	cfg ThrottleConfig

	mu    sync.Mutex
	addrs map[string]failures
}

type failures struct {
	score float64 // failures not yet decayed
	last  time.Time
}

// NewThrottle returns a Throttle with cfg's zero fields set to defaults.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	cfg.BaseDelay = cmpDefault(cfg.BaseDelay, DefaultFailureBaseDelay)
	cfg.MaxDelay = cmpDefault(cfg.MaxDelay, DefaultFailureMaxDelay)
	cfg.Decay = cmpDefault(cfg.Decay, DefaultFailureDecay)
	cfg.MaxTracked = cmpDefault(cfg.MaxTracked, DefaultMaxTrackedAddrs)
	return &Throttle{cfg: cfg, addrs: make(map[string]failures)}
}

// Failure records a failed attempt from addr (an IP address without port)
// at now and returns the delay to apply before answering it, and the
// number of recent failures it counted.
func (t *Throttle) Failure(addr string, now time.Time) (time.Duration, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.addrs[addr]
	if ok {
		f.score = t.decayed(f, now)
	} else if len(t.addrs) >= t.cfg.MaxTracked {
		t.evictLocked(now)
	}
	f.score++
	f.last = now
	t.addrs[addr] = f
	n := int(f.score + 0.999)
	d := t.cfg.BaseDelay
	for i := 1; i < n && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay), n
}

// decayed returns f's score at now.
func (t *Throttle) decayed(f failures, now time.Time) float64 {
	s := f.score - float64(now.Sub(f.last))/float64(t.cfg.Decay)
	return max(s, 0)
}

// evictLocked makes room: it forgets fully decayed addresses, then, if the
// table is still nearly full, an arbitrary tenth of the rest.
func (t *Throttle) evictLocked(now time.Time) {
	for a, f := range t.addrs {
		if t.decayed(f, now) == 0 {
			delete(t.addrs, a)
		}
	}
	for a := range t.addrs {
		if len(t.addrs) < t.cfg.MaxTracked-t.cfg.MaxTracked/10 {
			break
		}
		delete(t.addrs, a)
	}
}

// Wait sleeps for d or until ctx is done, whichever comes first.
func Wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// tracked returns the table size (for tests).
func (t *Throttle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.addrs)
}
