package auth

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the guessing budget.
const (
	// DefaultFailureBurst is how many failed logins an address may make
	// before it has to wait: enough for a person who mistypes a few times.
	DefaultFailureBurst = 10
	// DefaultFailureInterval is how often the budget of an address grows
	// by one failure, up to the burst. With the burst this bounds the
	// password guesses of one address to 10 + 1,440 a day.
	DefaultFailureInterval = time.Minute
	// DefaultMaxTrackedAddrs bounds the per-address table.
	DefaultMaxTrackedAddrs = 10000
)

// ThrottleConfig configures a Throttle. The zero value uses the defaults.
type ThrottleConfig struct {
	Burst      int           // 0 means DefaultFailureBurst
	Interval   time.Duration // 0 means DefaultFailureInterval
	MaxTracked int           // 0 means DefaultMaxTrackedAddrs
}

// Throttle bounds failed logins per client address with a token bucket:
// an address starts with Burst failures to spend and earns one more per
// Interval, up to Burst. A password check must take a token first
// (Begin), before any hash is computed, so an address that spent its
// budget costs the server no hashing at all; a check that succeeds gives
// its token back, so only failures count. Successes do not refill the
// budget beyond that, so an attacker holding one valid account cannot
// reset its guessing budget with it. In any 24 hours an address gets at
// most Burst + 24h/Interval failed checks. It is safe for concurrent use.
type Throttle struct {
	cfg ThrottleConfig

	mu    sync.Mutex
	addrs map[string]*bucket
}

// bucket is the failure budget of one address.
type bucket struct {
	tokens float64
	last   time.Time
}

// NewThrottle returns a Throttle with cfg's zero fields set to defaults.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	cfg.Burst = cmpDefault(cfg.Burst, DefaultFailureBurst)
	cfg.Interval = cmpDefault(cfg.Interval, DefaultFailureInterval)
	cfg.MaxTracked = cmpDefault(cfg.MaxTracked, DefaultMaxTrackedAddrs)
	return &Throttle{cfg: cfg, addrs: make(map[string]*bucket)}
}

// Begin takes one failure from addr's budget (addr is a key from AddrKey)
// at now, before a password is checked. If the budget is spent it
// returns ok false and how long until the next check is allowed. Otherwise
// the caller must call End once the check is done.
func (t *Throttle) Begin(addr string, now time.Time) (retryAfter time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, found := t.addrs[addr]
	if !found {
		if len(t.addrs) >= t.cfg.MaxTracked {
			t.evictLocked(now)
		}
		b = &bucket{tokens: float64(t.cfg.Burst), last: now}
		t.addrs[addr] = b
	}
	t.refill(b, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(t.cfg.Interval)), false
	}
	b.tokens--
	return 0, true
}

// End finishes a check that Begin allowed: a success gives the token back.
func (t *Throttle) End(addr string, failed bool, now time.Time) {
	if failed {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.addrs[addr]; ok {
		t.refill(b, now)
		b.tokens = min(b.tokens+1, float64(t.cfg.Burst))
	}
}

// refill adds the tokens earned since b.last.
func (t *Throttle) refill(b *bucket, now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.tokens+float64(now.Sub(b.last))/float64(t.cfg.Interval), float64(t.cfg.Burst))
		b.last = now
	}
}

// evictLocked makes room: it forgets addresses whose budget is full again
// (they are as good as new), then, if the table is still nearly full, an
// arbitrary tenth of the rest.
func (t *Throttle) evictLocked(now time.Time) {
	for a, b := range t.addrs {
		t.refill(b, now)
		if b.tokens >= float64(t.cfg.Burst) {
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

// tracked returns the table size (for tests).
func (t *Throttle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.addrs)
}

// AddrKey returns the key that identifies the client of a RemoteAddr
// "host:port" for per-address limits: the IPv4 address, or the /64 prefix
// of an IPv6 address (one host usually owns a whole /64 and can rotate
// within it). Anything unparsable is its own key.
func AddrKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
