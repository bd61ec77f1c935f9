package fleet

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vsmig/vsmig/migrate"
)

// cache is the cluster's keys as the last watch event left them, so that
// reads (Check, placement, the cluster view) cost no request. Waiters
// learn of any change through changed.
type cache struct {
	prefix string

	mu      sync.Mutex
	kv      map[string]entry // by key without the prefix
	rev     int64
	changed chan struct{} // closed and replaced at each change
	drained chan struct{} // the same, at each change of a drain's record
}

func newCache(prefix string) *cache {
	return &cache{prefix: prefix, kv: make(map[string]entry), changed: make(chan struct{}), drained: make(chan struct{})}
}

// entry is a key's value, the revision that created it and the one
// that last changed it.
type entry struct {
	value       []byte
	create, mod int64
}

// reset replaces everything with a full listing at rev.
func (c *cache) reset(kvs []*mvccKV, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kv = make(map[string]entry, len(kvs))
	for _, kv := range kvs {
		c.kv[strings.TrimPrefix(kv.key, c.prefix)] = entry{kv.value, kv.create, kv.mod}
	}
	c.rev = rev
	c.notifyLocked()
	c.notifyDrainsLocked()
}

type mvccKV struct {
	key         string
	value       []byte
	create, mod int64
}

// apply folds watch events in.
func (c *cache) apply(evs []*clientv3.Event, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	drains := false
	for _, ev := range evs {
		k := strings.TrimPrefix(string(ev.Kv.Key), c.prefix)
		drains = drains || strings.HasPrefix(k, "drains/")
		if ev.Type == clientv3.EventTypeDelete {
			delete(c.kv, k)
		} else {
			c.kv[k] = entry{ev.Kv.Value, ev.Kv.CreateRevision, ev.Kv.ModRevision}
		}
	}
	c.rev = rev
	c.notifyLocked()
	if drains {
		c.notifyDrainsLocked()
	}
}

func (c *cache) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *cache) notifyDrainsLocked() {
	close(c.drained)
	c.drained = make(chan struct{})
}

// wait returns a channel closed at the next change.
func (c *cache) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// waitDrains returns a channel closed at the next change of a drain's
// record.
func (c *cache) waitDrains() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drained
}

// scan calls fn for every key under dir (without the prefix), in key
// order.
func (c *cache) scan(dir string, fn func(key string, val []byte)) {
	c.mu.Lock()
	var keys []string
	for k := range c.kv {
		if strings.HasPrefix(k, dir) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = c.kv[k].value
	}
	c.mu.Unlock()
	for i, k := range keys {
		fn(k, vals[i])
	}
}

func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.kv[key]
	return e.value, ok
}

// inCounts returns how many incoming slots each destination has taken.
func (c *cache) inCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k := range c.kv {
		if rest, ok := strings.CutPrefix(k, "slots/in/"); ok {
			if i := strings.LastIndexByte(rest, '/'); i > 0 {
				out[rest[:i]]++
			}
		}
	}
	return out
}

// waiters returns the jobs waiting for a slot, the longest waiting
// first (by the revision that created their key).
func (c *cache) waiters() []migrate.ClusterJob {
	c.mu.Lock()
	type w struct {
		cj     migrate.ClusterJob
		create int64
	}
	var ws []w
	for k, e := range c.kv {
		if !strings.HasPrefix(k, "waiters/") {
			continue
		}
		var cj migrate.ClusterJob
		if json.Unmarshal(e.value, &cj) == nil {
			ws = append(ws, w{cj, e.create})
		}
	}
	c.mu.Unlock()
	sort.Slice(ws, func(i, j int) bool { return ws[i].create < ws[j].create })
	out := make([]migrate.ClusterJob, len(ws))
	for i, x := range ws {
		out[i] = x.cj
	}
	return out
}

func (c *cache) members() []migrate.Member {
	var out []migrate.Member
	c.scan("members/", func(_ string, v []byte) {
		var m migrate.Member
		if json.Unmarshal(v, &m) == nil {
			out = append(out, m)
		}
	})
	return out
}

func (c *cache) member(name string) (migrate.Member, bool) {
	m, _, ok := c.memberAt(name)
	return m, ok
}

// memberAt returns name's registration and the revision that wrote it: a
// transaction that compares that revision acts only on the registration
// as it was read here.
func (c *cache) memberAt(name string) (migrate.Member, int64, bool) {
	c.mu.Lock()
	e, ok := c.kv["members/"+name]
	c.mu.Unlock()
	var m migrate.Member
	if !ok || json.Unmarshal(e.value, &m) != nil {
		return migrate.Member{}, 0, false
	}
	return m, e.mod, true
}

// locks returns the VM locks: the jobs queued or running, by VM.
func (c *cache) locks() map[string]migrate.ClusterJob {
	out := map[string]migrate.ClusterJob{}
	c.scan("vms/", func(k string, v []byte) {
		var cj migrate.ClusterJob
		if json.Unmarshal(v, &cj) == nil {
			out[strings.TrimPrefix(k, "vms/")] = cj
		}
	})
	return out
}

// slots returns the holders of the slots under dir ("slots/total/" or
// "slots/in/<host>/"), by index key.
func (c *cache) slots(dir string) map[string]migrate.ClusterJob {
	out := map[string]migrate.ClusterJob{}
	c.scan(dir, func(k string, v []byte) {
		var cj migrate.ClusterJob
		if json.Unmarshal(v, &cj) == nil {
			out[strings.TrimPrefix(k, dir)] = cj
		}
	})
	return out
}

func (c *cache) drains() []*migrate.DrainRecord {
	var out []*migrate.DrainRecord
	c.scan("drains/", func(_ string, v []byte) {
		var d migrate.DrainRecord
		if json.Unmarshal(v, &d) == nil {
			out = append(out, &d)
		}
	})
	return out
}

// follow keeps the cache: a listing, then a watch from its revision;
// after a watch error (a compaction, a lost leader) a new listing.
func (f *Fleet) follow(ready chan struct{}) {
	once := sync.OnceFunc(func() { close(ready) })
	for f.ctx.Err() == nil {
		ctx, cancel := f.op(f.ctx)
		resp, err := f.cli.Get(ctx, f.cfg.Prefix, clientv3.WithPrefix())
		cancel()
		if err != nil {
			f.log.Debug("cluster listing", "err", err)
			if !sleep(f.ctx, 500*time.Millisecond) {
				return
			}
			continue
		}
		kvs := make([]*mvccKV, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			kvs = append(kvs, &mvccKV{key: string(kv.Key), value: kv.Value, create: kv.CreateRevision, mod: kv.ModRevision})
		}
		f.cache.reset(kvs, resp.Header.Revision)
		once()
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(f.ctx))
		wch := f.cli.Watch(wctx, f.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wch {
			if wr.Err() != nil {
				f.log.Debug("cluster watch", "err", wr.Err())
				break
			}
			f.cache.apply(wr.Events, wr.Header.Revision)
		}
		wcancel()
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fleet: " + err.Error()) // only our own plain types are encoded
	}
	return b
}
