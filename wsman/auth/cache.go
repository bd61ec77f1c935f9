package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"hash"
	"sync"
	"time"
)

// Defaults of the credential cache.
const (
	// DefaultCacheTTL is how long a verified Authorization header is
	// trusted without checking the password hash again. Short, so that a
	// password removed by other means than the users file (there is none
	// today) does not linger.
	DefaultCacheTTL = 5 * time.Minute
	// DefaultCacheSize bounds the number of cached credentials; a full
	// cache evicts an arbitrary tenth of its entries.
	DefaultCacheSize = 4096
)

// credCache remembers Authorization header values whose password was
// verified. It stores no secret: the key is HMAC-SHA256 of the header
// under a random per-process key, so a memory dump does not reveal
// passwords and entries cannot be forged without the key.
type credCache struct {
	ttl  time.Duration
	max  int
	macs sync.Pool // of *keyedMAC

	mu      sync.RWMutex
	gen     uint64 // bumped by clear; entries of older generations are stale
	entries map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	user    string
	expires time.Time
}

func newCredCache(ttl time.Duration, max int) *credCache {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand panics on failure)
	c := &credCache{ttl: ttl, max: max, entries: make(map[[sha256.Size]byte]cacheEntry)}
	c.macs.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, key)} }
	return c
}

// sum returns the cache key of an Authorization header value.
func (c *credCache) sum(header string) [sha256.Size]byte {
	m := c.macs.Get().(*keyedMAC)
	m.h.Reset()
	m.buf = append(m.buf[:0], header...) // hash.Hash takes []byte; avoid a copy per call
	m.h.Write(m.buf)
	var k [sha256.Size]byte
	m.h.Sum(k[:0])
	if cap(m.buf) <= 1<<10 {
		c.macs.Put(m)
	}
	return k
}

// keyedMAC is a reusable HMAC state with a scratch buffer.
type keyedMAC struct {
	h   hash.Hash
	buf []byte
}

// generation returns the current generation, to be passed to put after a
// verification, so that a verification racing with clear is not cached.
func (c *credCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// get returns the user of a cached, unexpired credential.
func (c *credCache) get(k [sha256.Size]byte, now time.Time) (string, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.user, true
}

// put caches a verified credential unless the cache was cleared since gen.
func (c *credCache) put(k [sha256.Size]byte, user string, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[k] = cacheEntry{user: user, expires: now.Add(c.ttl)}
}

// evictLocked drops expired entries and, if that frees too little, an
// arbitrary tenth of the rest (Go's map order is unspecified).
func (c *credCache) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, k)
	}
}

// clear forgets every entry; used when the users file changes.
func (c *credCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// len returns the number of entries (for tests).
func (c *credCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
