package wsman

import (
	"bytes"
	"sync"
	"time"

	"github.com/google/uuid"
)

// enumContext is the server-side state of one enumeration (DSP0226 §8):
// the items the resource returned, already written in the enumeration's
// representation (so that the memory a context holds is exactly its size,
// and bounded by the owner's quota), and how far the client has pulled.
// The identifier stays the same across Pulls (as openwsman does; Windows
// issues a new one each time, and clients handle both by always using the
// latest one returned).
type enumContext struct {
	id          string
	user        string
	resourceURI string
	mode        EnumerationMode
	data        []byte // the items, one after another
	ends        []int  // ends[i] is where item i ends in data
	pos         int
	expires     time.Time
	busy        bool
}

// newEnumContext writes items in mode's representation into a new
// context with a fresh identifier.
func newEnumContext(user, resourceURI string, mode EnumerationMode, items []Item) *enumContext {
	c := &enumContext{id: "uuid:" + uuid.NewString(), user: user, resourceURI: resourceURI, mode: mode,
		ends: make([]int, len(items))}
	var b bytes.Buffer
	for i, it := range items {
		writeItem(&b, mode, it)
		c.ends[i] = b.Len()
	}
	c.data = b.Bytes()
	return c
}

// len returns the number of items.
func (c *enumContext) len() int { return len(c.ends) }

// item returns item i as written.
func (c *enumContext) item(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.data[start:c.ends[i]]
}

// size is the memory the context's items take, for the quotas.
func (c *enumContext) size() int64 { return int64(len(c.data) + 8*len(c.ends)) }

// enumStore holds open contexts, each expiring after idle without use,
// bounded in number overall and, per user, in number and in bytes, so
// that one user cannot take the enumerations of all others.
type enumStore struct {
	max, maxPerUser int
	maxBytesPerUser int64
	idle            time.Duration
	now             func() time.Time

	mu    sync.Mutex
	m     map[string]*enumContext
	usage map[string]*enumUsage // by user
}

// enumUsage is what one user's open contexts take.
type enumUsage struct {
	n     int
	bytes int64
}

func newEnumStore(max, maxPerUser int, maxBytesPerUser int64, idle time.Duration, now func() time.Time) *enumStore {
	return &enumStore{max: max, maxPerUser: maxPerUser, maxBytesPerUser: maxBytesPerUser, idle: idle, now: now,
		m: make(map[string]*enumContext), usage: make(map[string]*enumUsage)}
}

func (st *enumStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// full reports whether user can open no context at all now.
func (st *enumStore) full(user string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.usage[user]
	return len(st.m) >= st.max || u != nil && (u.n >= st.maxPerUser || u.bytes >= st.maxBytesPerUser)
}

// add stores c, or returns wsman:QuotaLimit when the store or c's user is
// at a limit.
func (st *enumStore) add(c *enumContext) *Fault {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.usage[c.user]
	if u == nil {
		u = &enumUsage{}
	}
	switch {
	case len(st.m) >= st.max:
		return quotaFault("Too many enumeration contexts are open; release some or retry later.")
	case u.n >= st.maxPerUser:
		return quotaFault("This user has too many enumeration contexts open; release some, or use OptimizeEnumeration with a MaxElements that fits the whole result.")
	case u.bytes+c.size() > st.maxBytesPerUser:
		return quotaFault("The enumeration contexts of this user would exceed their memory quota; narrow the enumeration with a filter, or release open contexts.")
	}
	u.n++
	u.bytes += c.size()
	st.usage[c.user] = u
	c.expires = st.now().Add(st.idle)
	st.m[c.id] = c
	return nil
}

func quotaFault(reason string) *Fault {
	return NewFault(SubcodeQuotaLimit, "", reason)
}

// deleteLocked removes c and gives back its user's quota.
func (st *enumStore) deleteLocked(c *enumContext) {
	delete(st.m, c.id)
	if u := st.usage[c.user]; u != nil {
		u.n--
		u.bytes -= c.size()
		if u.n <= 0 {
			delete(st.usage, c.user)
		}
	}
}

// take marks the context id busy for a Pull by user on resourceURI. An
// unknown or expired context, one opened by another user or for another
// ResourceURI, is wsen:InvalidEnumerationContext: other users' contexts
// must not be distinguishable from unknown ones, and a Pull on a different
// ResourceURI is refused (openwsman does too, with a less apt fault). A
// context already being pulled is wsman:Concurrency.
func (st *enumStore) take(id, user, resourceURI string) (*enumContext, *Fault) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c, ok := st.m[id]
	if ok && !st.now().Before(c.expires) && !c.busy {
		st.deleteLocked(c)
		ok = false
	}
	if !ok || c.user != user || c.resourceURI != resourceURI {
		return nil, invalidContext()
	}
	if c.busy {
		return nil, NewFault(SubcodeConcurrency, "", "Another request is using this enumeration context.")
	}
	c.busy = true
	return c, nil
}

func invalidContext() *Fault {
	return NewFault(SubcodeInvalidEnumerationContext, "", "The enumeration context is not valid: it is unknown, expired, released or was opened for another resource or user.")
}

// done returns a taken context: finished ones are deleted, others get a
// new idle deadline.
func (st *enumStore) done(c *enumContext, finished bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	c.busy = false
	if finished {
		st.deleteLocked(c)
		return
	}
	c.expires = st.now().Add(st.idle)
}

// remove deletes the context (Release) and reports whether it existed for
// this user and resource.
func (st *enumStore) remove(id, user, resourceURI string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	c, ok := st.m[id]
	if !ok || c.user != user || c.resourceURI != resourceURI {
		return false
	}
	st.deleteLocked(c)
	return true
}

// expire deletes contexts idle past their deadline.
func (st *enumStore) expire() {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range st.m {
		if !c.busy && !now.Before(c.expires) {
			st.deleteLocked(c)
		}
	}
}

func (st *enumStore) clear() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.m)
	clear(st.usage)
}
