package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/vsmig/vsmig/migrate"
)

// This file is the fleet as the engine's admission sees it: the
// migrate.Cluster rules, held in etcd.

var _ migrate.Cluster = (*Fleet)(nil)

// Check applies the cluster's rules that need no write: the host is a
// member, the destination is a live, healthy member that is not being
// drained, and no job of another host holds the VM. It reads the cache.
func (f *Fleet) Check(ctx context.Context, cj migrate.ClusterJob) error {
	if _, err := f.session(); err != nil {
		return err
	}
	if _, err := f.destOK(cj.Dest); err != nil {
		return err
	}
	if other, ok := f.cache.locks()[cj.VM]; ok && other.ID != cj.ID {
		return fmt.Errorf("%w (job %s on %s)", migrate.ErrVMBusy, other.ID, other.Source)
	}
	return nil
}

// destOK says whether dest may receive a migration now, as the cache
// shows it; it returns the revision of the registration it judged.
func (f *Fleet) destOK(dest string) (int64, error) {
	m, rev, ok := f.cache.memberAt(dest)
	refuse := func(format string, args ...any) (int64, error) {
		return 0, &migrate.CheckError{Kind: migrate.InvalidState, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case !ok:
		return refuse("destination %s is not a member of the cluster (it has no live registration)", dest)
	case m.Draining:
		return refuse("destination %s is being drained", dest)
	case !m.Healthy():
		return refuse("destination %s is unhealthy: %s", dest, m.Health)
	}
	return rev, nil
}

// Lock takes the VM's lock for cj: one transaction that creates the key
// if it is absent. A lock that names cj's job already (this host's, from
// before a restart) is taken back under the current lease.
func (f *Fleet) Lock(ctx context.Context, cj migrate.ClusterJob) error {
	s, err := f.session()
	if err != nil {
		return err
	}
	key := f.key("vms", cj.VM)
	val := string(mustJSON(cj))
	octx, cancel := f.op(ctx)
	defer cancel()
	r, err := f.cli.Txn(octx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, val, clientv3.WithLease(s.Lease()))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return f.opErr("lock virtual machine", err)
	}
	if !r.Succeeded {
		var other migrate.ClusterJob
		if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			json.Unmarshal(kvs[0].Value, &other)
		}
		if other.ID != cj.ID {
			return fmt.Errorf("%w (job %s on %s)", migrate.ErrVMBusy, other.ID, other.Source)
		}
		if _, err := f.cli.Put(octx, key, val, clientv3.WithLease(s.Lease())); err != nil {
			return f.opErr("lock virtual machine", err)
		}
	}
	f.mu.Lock()
	h := f.holding(cj)
	h.lock = true
	f.mu.Unlock()
	return nil
}

// holding returns cj's record of what it holds; f.mu is held.
func (f *Fleet) holding(cj migrate.ClusterJob) *holding {
	h, ok := f.held[cj.ID]
	if !ok {
		h = &holding{cj: cj}
		f.held[cj.ID] = h
	}
	return h
}

// maxIncoming is dest's incoming limit as it registered it.
func (f *Fleet) maxIncoming(dest string) int {
	if m, ok := f.cache.member(dest); ok && m.MaxIncoming > 0 {
		return m.MaxIncoming
	}
	return migrate.DefaultMaxIncoming
}

// freeSlot returns the first index under dir not taken, of max; -1 if
// all are (or if more than max are held, after a recovery overflowed).
func freeSlot(taken map[string]migrate.ClusterJob, max int) int {
	if len(taken) >= max {
		return -1
	}
	for i := range max {
		if _, ok := taken[strconv.Itoa(i)]; !ok {
			return i
		}
	}
	return -1
}

// Acquire takes a cluster slot and a slot of the destination's incoming
// limit together, in one transaction. While either limit is full it
// waits for the cache to change (a slot freed, a member gone); it gives
// up when the cluster is unavailable, the destination leaves, or ctx
// ends.
//
// A job that has to wait queues in etcd (waiters/<job>, under the
// lease): when slots free, only the longest-waiting jobs that could use
// them try, as many as there are free slots, so that a freed slot does
// not send every waiting host of the cluster at it at once (and the
// longest waiting is served first). A waiter whose destination is full
// does not hold back the others.
func (f *Fleet) Acquire(ctx context.Context, cj migrate.ClusterJob, waiting func(string)) error {
	told, queued := false, false
	waiterKey := f.key("waiters", cj.ID)
	defer func() {
		if queued {
			dctx, cancel := f.op(context.Background())
			f.cli.Delete(dctx, waiterKey)
			cancel()
		}
	}()
	for {
		s, err := f.session()
		if err != nil {
			return err
		}
		destRev, err := f.destOK(cj.Dest)
		if err != nil {
			return err
		}
		changed := f.cache.wait()
		totalDir, inDir := "slots/total/", "slots/in/"+cj.Dest+"/"
		total, in := f.cache.slots(totalDir), f.cache.slots(inDir)
		maxIn := f.maxIncoming(cj.Dest)
		i, j := freeSlot(total, f.cfg.MaxRunning), freeSlot(in, maxIn)
		switch {
		case i >= 0 && j >= 0 && f.myTurn(cj, queued, f.cfg.MaxRunning-len(total)):
			ok, err := f.takeSlots(ctx, s, cj, destRev, totalDir+strconv.Itoa(i), inDir+strconv.Itoa(j), queued)
			if err != nil {
				return err
			}
			if ok {
				queued = false // the transaction deleted the waiter key
				return nil
			}
		case i < 0 || j < 0:
			if !told && waiting != nil {
				told = true
				why := fmt.Sprintf("waiting for a slot: %d of the cluster's %d migrations run", len(total), f.cfg.MaxRunning)
				if j < 0 {
					why = fmt.Sprintf("waiting for a slot: %s receives %d of its %d migrations", cj.Dest, len(in), maxIn)
				}
				waiting(why)
			}
		}
		if !queued {
			octx, cancel := f.op(ctx)
			_, err := f.cli.Put(octx, waiterKey, string(mustJSON(cj)), clientv3.WithLease(s.Lease()))
			cancel()
			if err != nil {
				return f.opErr("queue for a migration slot", err)
			}
			queued = true
			continue
		}
		// The watch tells when something changes; the timer is a
		// backstop, not the mechanism.
		t := time.NewTimer(2 * time.Second)
		select {
		case <-changed:
		case <-t.C:
		case <-s.Done():
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// myTurn reports whether cj may try for a slot now: among the waiters
// whose destination has a free incoming slot, it is one of the first
// free; a job not queued yet goes first only if nobody waits.
func (f *Fleet) myTurn(cj migrate.ClusterJob, queued bool, free int) bool {
	if free <= 0 {
		return false
	}
	rank := 0
	in := f.cache.inCounts()
	for _, w := range f.cache.waiters() {
		if w.ID == cj.ID {
			return rank < free
		}
		if in[w.Dest] < f.maxIncoming(w.Dest) {
			rank++
		}
	}
	// Not in the cache's queue (not queued, or not seen yet).
	return rank < free && (!queued || rank == 0)
}

// takeSlots creates both slot keys if neither exists and the
// destination's registration is still the one destOK judged (written at
// destRev), and removes the job's waiter key if it queued. The
// registration's check makes the admission atomic with a drain of the
// destination: a drain marks its host in the registration first, so a
// slot into it is either taken before (and the drain waits for that
// migration, see settled) or refused; a cache that has not seen the mark
// yet fails the comparison and tries again once it has.
func (f *Fleet) takeSlots(ctx context.Context, s *concurrency.Session, cj migrate.ClusterJob, destRev int64, total, in string, queued bool) (bool, error) {
	kt, ki := f.cfg.Prefix+total, f.cfg.Prefix+in
	val := string(mustJSON(cj))
	ops := []clientv3.Op{clientv3.OpPut(kt, val, clientv3.WithLease(s.Lease())), clientv3.OpPut(ki, val, clientv3.WithLease(s.Lease()))}
	if queued {
		ops = append(ops, clientv3.OpDelete(f.key("waiters", cj.ID)))
	}
	octx, cancel := f.op(ctx)
	defer cancel()
	r, err := f.cli.Txn(octx).
		If(clientv3.Compare(clientv3.CreateRevision(kt), "=", 0), clientv3.Compare(clientv3.CreateRevision(ki), "=", 0),
			clientv3.Compare(clientv3.ModRevision(f.key("members", cj.Dest)), "=", destRev)).
		Then(ops...).
		Commit()
	if err != nil {
		return false, f.opErr("take a migration slot", err)
	}
	if r.Succeeded {
		f.mu.Lock()
		h := f.holding(cj)
		h.slots = []string{kt, ki}
		f.mu.Unlock()
	}
	return r.Succeeded, nil
}

// Release gives back cj's lock and slots: one transaction that deletes
// each key that still holds what cj's job wrote. It returns at once; a
// background goroutine retries while the cluster is unreachable (the
// lease's lapse frees them in the end anyway).
func (f *Fleet) Release(cj migrate.ClusterJob) {
	f.mu.Lock()
	h, ok := f.held[cj.ID]
	delete(f.held, cj.ID)
	f.mu.Unlock()
	var keys []keyValue
	if ok {
		val := string(mustJSON(h.cj))
		if h.lock {
			keys = append(keys, keyValue{f.key("vms", cj.VM), val})
		}
		for _, k := range h.slots {
			keys = append(keys, keyValue{k, val})
		}
	} else {
		// Not taken in this run (a job recovered, then ended): what the
		// cache shows under its ID.
		if v, ok := f.cache.get("vms/" + cj.VM); ok {
			var other migrate.ClusterJob
			if json.Unmarshal(v, &other) == nil && other.ID == cj.ID {
				keys = append(keys, keyValue{f.key("vms", cj.VM), string(v)})
			}
		}
		keys = append(keys, f.slotsOf(cj.ID)...)
	}
	if len(keys) == 0 {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for attempt := 0; ; attempt++ {
			err := f.deleteIf(keys)
			if err == nil {
				return
			}
			f.log.Debug("release of cluster slots", "job", cj.ID, "err", err)
			if !sleep(f.ctx, min(time.Duration(attempt+1)*200*time.Millisecond, 2*time.Second)) {
				return
			}
			if _, err := f.session(); err != nil && attempt > 10 {
				return // the lease lapses and frees them
			}
		}
	}()
}

type keyValue struct{ key, value string }

// slotsOf finds in the cache the slot keys that name job id.
func (f *Fleet) slotsOf(id string) []keyValue {
	var out []keyValue
	f.cache.scan("slots/", func(k string, v []byte) {
		var cj migrate.ClusterJob
		if json.Unmarshal(v, &cj) == nil && cj.ID == id {
			out = append(out, keyValue{f.cfg.Prefix + k, string(v)})
		}
	})
	return out
}

// deleteIf deletes, in one transaction, each key that still holds its
// value.
func (f *Fleet) deleteIf(kvs []keyValue) error {
	ops := make([]clientv3.Op, 0, len(kvs))
	for _, kv := range kvs {
		ops = append(ops, clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.Value(kv.key), "=", kv.value)},
			[]clientv3.Op{clientv3.OpDelete(kv.key)}, nil))
	}
	ctx, cancel := f.op(f.ctx)
	defer cancel()
	_, err := f.cli.Txn(ctx).Then(ops...).Commit()
	return err
}

// Reattach takes back the lock and slots of a job that runs in the
// hypervisor already (the engine's Recover): its own keys are written
// again under the current lease; missing slots are taken if free, and
// if the limits are full the job is counted anyway, over the limit
// (it runs: refusing it would change nothing), and a warning says so.
func (f *Fleet) Reattach(ctx context.Context, cj migrate.ClusterJob) error {
	s, err := f.session()
	if err != nil {
		return err
	}
	if err := f.Lock(ctx, cj); err != nil {
		f.log.Warn("recovered migration: its VM lock is held elsewhere", "job", cj.ID, "err", err)
	}
	totalDir, inDir := "slots/total/", "slots/in/"+cj.Dest+"/"
	var kt, ki string
	for _, kv := range f.slotsOf(cj.ID) {
		k := kv.key
		switch rel := k[len(f.cfg.Prefix):]; {
		case len(rel) > len(totalDir) && rel[:len(totalDir)] == totalDir:
			kt = k
		case len(rel) > len(inDir) && rel[:len(inDir)] == inDir:
			ki = k
		}
	}
	over := false
	if kt == "" {
		i := freeSlot(f.cache.slots(totalDir), f.cfg.MaxRunning)
		over = over || i < 0
		kt = f.cfg.Prefix + totalDir + slotName(i, cj.ID)
	}
	if ki == "" {
		i := freeSlot(f.cache.slots(inDir), f.maxIncoming(cj.Dest))
		over = over || i < 0
		ki = f.cfg.Prefix + inDir + slotName(i, cj.ID)
	}
	if over {
		f.log.Warn("recovered migration runs over the cluster's limits", "job", cj.ID, "dest", cj.Dest)
	}
	val := string(mustJSON(cj))
	octx, cancel := f.op(ctx)
	defer cancel()
	if _, err := f.cli.Txn(octx).Then(
		clientv3.OpPut(kt, val, clientv3.WithLease(s.Lease())),
		clientv3.OpPut(ki, val, clientv3.WithLease(s.Lease()))).Commit(); err != nil {
		return f.opErr("take back a migration slot", err)
	}
	f.mu.Lock()
	f.holding(cj).slots = []string{kt, ki}
	f.mu.Unlock()
	return nil
}

// slotName is a slot's index, or, when none is free, a key of its own
// that still counts (an overflow).
func slotName(i int, id string) string {
	if i >= 0 {
		return strconv.Itoa(i)
	}
	return "over-" + id
}

// rewriteHeld writes what this host's jobs hold again under s's lease,
// after a lapse took the old keys with the old lease.
func (f *Fleet) rewriteHeld(s *concurrency.Session) {
	f.mu.Lock()
	var hs []*holding
	for _, h := range f.held {
		hs = append(hs, h)
	}
	f.mu.Unlock()
	for _, h := range hs {
		val := string(mustJSON(h.cj))
		var ops []clientv3.Op
		if h.lock {
			ops = append(ops, clientv3.OpPut(f.key("vms", h.cj.VM), val, clientv3.WithLease(s.Lease())))
		}
		for _, k := range h.slots {
			ops = append(ops, clientv3.OpPut(k, val, clientv3.WithLease(s.Lease())))
		}
		ctx, cancel := f.op(f.ctx)
		_, err := f.cli.Txn(ctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			f.log.Warn("cannot write a job's lock and slots again", "job", h.cj.ID, "err", err)
		}
	}
}

// Jobs returns the cluster's unfinished jobs whose source or destination
// is host, from the VM locks, with whether each holds a slot (runs).
func (f *Fleet) Jobs(host string) []migrate.ClusterJobState {
	running := map[string]bool{}
	for _, cj := range f.cache.slots("slots/total/") {
		running[cj.ID] = true
	}
	var out []migrate.ClusterJobState
	for _, cj := range f.cache.locks() {
		if cj.Source == host || cj.Dest == host {
			out = append(out, migrate.ClusterJobState{ClusterJob: cj, Running: running[cj.ID]})
		}
	}
	return out
}
