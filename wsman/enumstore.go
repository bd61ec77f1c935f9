package wsman

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// enumContext is the server-side state of one enumeration (DSP0226 §8):
// the items the resource returned and how far the client has pulled.
// The identifier stays the same across Pulls (as openwsman does; Windows
// issues a new one each time, and clients handle both by always using the
// latest one returned).
type enumContext struct {
	id          string
	user        string
	resourceURI string
	mode        EnumerationMode
	items       []Item
	pos         int
	expires     time.Time
	busy        bool
}

// enumStore holds open contexts, bounded in number, each expiring after
// idle without use.
type enumStore struct {
	max  int
	idle time.Duration
	now  func() time.Time

	mu sync.Mutex
	m  map[string]*enumContext
}

func newEnumStore(max int, idle time.Duration, now func() time.Time) *enumStore {
	return &enumStore{max: max, idle: idle, now: now, m: make(map[string]*enumContext)}
}

func (st *enumStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// full reports whether no context can be added.
func (st *enumStore) full() bool { return st.len() >= st.max }

// add stores c under a new identifier, or returns wsman:QuotaLimit.
func (st *enumStore) add(c *enumContext) *Fault {
	c.id = "uuid:" + uuid.NewString()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.m) >= st.max {
		return quotaFault()
	}
	c.expires = st.now().Add(st.idle)
	st.m[c.id] = c
	return nil
}

func quotaFault() *Fault {
	return NewFault(SubcodeQuotaLimit, "", "Too many enumeration contexts are open; release some or retry later.")
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
		delete(st.m, id)
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
		delete(st.m, c.id)
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
	delete(st.m, id)
	return true
}

// expire deletes contexts idle past their deadline.
func (st *enumStore) expire() {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, c := range st.m {
		if !c.busy && !now.Before(c.expires) {
			delete(st.m, id)
		}
	}
}

func (st *enumStore) clear() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.m)
}
