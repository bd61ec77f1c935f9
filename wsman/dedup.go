package wsman

import (
	"strings"
	"sync"
)

// dedupStore remembers the last n MessageIDs of each caller, to refuse a
// replayed or duplicated request (DSP0226 R5.4.4-?: a service may reject a
// duplicate wsa:MessageID; openwsman keeps the last 200).
type dedupStore struct {
	n  int
	mu sync.Mutex
	by map[string]*idRing
}

type idRing struct {
	ids  []string
	next int
	set  map[string]struct{}
}

func newDedupStore(n int) *dedupStore {
	return &dedupStore{n: n, by: make(map[string]*idRing)}
}

// add records id for user and reports whether it was new.
func (d *dedupStore) add(user, id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.by[user]
	if r == nil {
		r = &idRing{set: make(map[string]struct{})}
		d.by[user] = r
	}
	if _, dup := r.set[id]; dup {
		return false
	}
	// id may share memory with the whole request (see maxSharedBody).
	id = strings.Clone(id)
	if len(r.ids) < d.n {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.next])
		r.ids[r.next] = id
		r.next = (r.next + 1) % d.n
	}
	r.set[id] = struct{}{}
	return true
}

// forget drops id from user's remembered MessageIDs: the request it named
// failed without effect, so a client that retries it (curl --retry resends
// a request answered with HTTP 500, as Debian's wsl does) gets the real
// answer again instead of a duplicate-MessageID fault.
func (d *dedupStore) forget(user, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.by[user]; r != nil {
		delete(r.set, id)
	}
}
