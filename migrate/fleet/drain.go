package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/vsmig/vsmig/migrate"
)

// This file drains a host: every VM moves off it, within the cluster's
// limits, as a job of its own (migrate.DrainRecord, in etcd) that owns
// the migration jobs it submits to the local engine.
//
// The drain starts at most the engine's MaxOutgoing migrations at a
// time and places each VM when it starts it, on the facts of that
// moment (the plan a dry run shows is the same placement made at once).
// A migration into the host admitted before the drain marked it (in its
// registration) may still run: the drain ends only once none does, and
// takes the VMs that arrived. A VM no host can take is reported in the
// record with the reason and stays; a migration that fails while the VM
// is still here is tried again on a fresh placement, up to maxAttempts.
// A cancel starts nothing new, cancels the migrations still queued and
// lets the running ones end.
//
// The record is written before each migration is submitted, with the
// job's ID, which is derived from the drain, the VM and the attempt: a
// vsmigd that dies between the two submits the same job again at its
// restart, and the engine refuses an ID it already holds. With the VM's
// cluster lock, no VM is ever moved by two jobs at once.

// maxAttempts bounds the migrations a drain tries for one VM that
// failed while they moved data; maxTries bounds all its tries, those
// refused before they ran included (a destination that began its own
// drain, or left the cluster, after it was chosen: a race of placement,
// not a failure of the migration).
const (
	maxAttempts = 3
	maxTries    = 10
)

// drainTick is how often a running drain looks at its migrations.
const drainTick = 200 * time.Millisecond

// drainRun is a drain's runner in this process.
type drainRun struct {
	id       string
	stopc    chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	wake     chan struct{} // a job ended (Notify); buffered 1
}

// Notify tells the fleet of the engine's job updates (give it to
// migrate.Config.OnUpdate): a drain whose migration ended starts the
// next one at once instead of at its next look.
func (f *Fleet) Notify(u migrate.Update) {
	if !u.Status.Terminal() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.drains {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// StartDrain begins the drain of this host and returns its record. It
// refuses (InvalidState) when the cluster is unavailable or another drain
// of the host has not ended.
func (f *Fleet) StartDrain(ctx context.Context, req migrate.DrainRequest) (*migrate.DrainRecord, error) {
	if _, err := f.session(); err != nil {
		return nil, err
	}
	if req.ID == "" {
		return nil, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: "empty drain ID"}
	}
	for _, d := range f.cache.drains() {
		if d.Host == f.cfg.Host && !d.State.Terminal() {
			return nil, &migrate.CheckError{Kind: migrate.InvalidState, Reason: fmt.Sprintf("host %s is already being drained (%s)", f.cfg.Host, d.ID)}
		}
	}
	plan, err := f.Plan(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	rec := &migrate.DrainRecord{
		ID: req.ID, Host: f.cfg.Host, Owner: req.Owner, State: migrate.DrainRunning,
		Submitted: now, Changed: now, Meta: req.Meta, VMs: []migrate.DrainVM{},
	}
	mem := map[string]uint64{}
	if doms, err := f.engine().Domains(ctx); err == nil {
		for _, d := range doms {
			mem[d.UUID] = d.MemoryKiB
		}
	}
	for _, p := range plan {
		rec.VMs = append(rec.VMs, migrate.DrainVM{VM: p.VM, Name: p.VMName, MemoryKiB: mem[p.VM], Dest: p.Dest, State: migrate.VMPending, Reason: p.Reason})
	}
	rec.Status = summary(rec)
	key := f.key("drains", rec.ID)
	octx, cancel := f.op(ctx)
	defer cancel()
	r, err := f.cli.Txn(octx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(mustJSON(rec)))).Commit()
	if err != nil {
		return nil, f.opErr("record the drain", err)
	}
	if !r.Succeeded {
		return nil, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: fmt.Sprintf("drain ID %q is already in use", rec.ID)}
	}
	f.log.Info("drain started", "drain", rec.ID, "host", rec.Host, "vms", len(rec.VMs))
	f.run(rec)
	return rec, nil
}

// engine is the local engine given to Start.
func (f *Fleet) engine() Engine {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.eng
}

// run starts rec's runner unless one runs.
func (f *Fleet) run(rec *migrate.DrainRecord) {
	f.mu.Lock()
	if _, ok := f.drains[rec.ID]; ok || f.ctx.Err() != nil {
		f.mu.Unlock()
		return
	}
	r := &drainRun{id: rec.ID, stopc: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	f.drains[rec.ID] = r
	f.mu.Unlock()
	f.updateRegistration() // Draining: no longer a destination
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(r.done)
		f.runDrain(rec, r)
		f.mu.Lock()
		delete(f.drains, rec.ID)
		f.mu.Unlock()
		f.updateRegistration()
	}()
}

// draining reports whether a drain of this host runs.
func (f *Fleet) draining() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.drains) > 0
}

// updateRegistration writes the registration if it changed.
func (f *Fleet) updateRegistration() {
	if s, err := f.session(); err == nil {
		if err := f.register(s, false); err != nil {
			f.log.Warn("cannot update the registration", "err", err)
		}
	}
}

// resumeDrains takes up this host's drains that have not ended (after a
// restart).
func (f *Fleet) resumeDrains() {
	for _, d := range f.cache.drains() {
		if d.Host == f.cfg.Host && !d.State.Terminal() {
			f.log.Info("drain taken up again after a restart", "drain", d.ID, "state", d.State)
			f.run(d)
		}
	}
}

// CancelDrain stops a drain of this host: nothing new starts, queued
// migrations are cancelled, running ones end. ErrNoJob if there is no
// such drain, ErrFinished if it has ended.
func (f *Fleet) CancelDrain(ctx context.Context, id string) error {
	d, ok := f.Drain(id)
	switch {
	case !ok:
		return migrate.ErrNoJob
	case d.State.Terminal():
		return migrate.ErrFinished
	}
	f.mu.Lock()
	r, ok := f.drains[id]
	f.mu.Unlock()
	if !ok {
		return f.unavailable("the drain's runner is not running on this host")
	}
	r.stopOnce.Do(func() { close(r.stopc) })
	return nil
}

// Drain returns the record of drain id, as last written.
func (f *Fleet) Drain(id string) (*migrate.DrainRecord, bool) {
	v, ok := f.cache.get("drains/" + id)
	if !ok {
		return nil, false
	}
	var d migrate.DrainRecord
	return &d, json.Unmarshal(v, &d) == nil
}

// DrainsChanged returns a channel closed at the next change of a drain's
// record, of any host, as this host's view of the cluster sees it: a
// watcher reads Drains again then (the profile's indications of its
// drain jobs).
func (f *Fleet) DrainsChanged() <-chan struct{} { return f.cache.waitDrains() }

// Drains returns the drains of this host, oldest first.
func (f *Fleet) Drains() []*migrate.DrainRecord {
	var out []*migrate.DrainRecord
	for _, d := range f.cache.drains() {
		if d.Host == f.cfg.Host {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b *migrate.DrainRecord) int { return a.Submitted.Compare(b.Submitted) })
	return out
}

// DeleteDrain removes an ended drain's record.
func (f *Fleet) DeleteDrain(ctx context.Context, id string) error {
	d, ok := f.Drain(id)
	switch {
	case !ok:
		return migrate.ErrNoJob
	case !d.State.Terminal():
		return migrate.ErrUnfinished
	}
	octx, cancel := f.op(ctx)
	defer cancel()
	if _, err := f.cli.Delete(octx, f.key("drains", id)); err != nil {
		return f.opErr("delete the drain", err)
	}
	return nil
}

// Percent is the share of rec done: each VM that has moved, stays or
// was skipped counts whole, each migrating one by its job's progress.
func (f *Fleet) Percent(ctx context.Context, rec *migrate.DrainRecord) int {
	if len(rec.VMs) == 0 {
		return 100
	}
	total := 0
	for _, v := range rec.VMs {
		switch v.State {
		case migrate.VMMoved, migrate.VMStays, migrate.VMSkipped:
			total += 100
		case migrate.VMMigrating:
			if j, err := f.engine().Job(ctx, v.JobID); err == nil {
				total += j.Percent
			}
		}
	}
	return total / len(rec.VMs)
}

// childID is the ID of the migration job of a drain's VM at an attempt.
func childID(drain, vm string, attempt int) string {
	prefix := drain
	if i := strings.Index(drain, ":"); i >= 0 {
		prefix = drain[:i]
	}
	u := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("%s/%s/%d", drain, vm, attempt)))
	return prefix + ":" + u.String()
}

// runDrain runs a drain until it ends or the fleet closes.
func (f *Fleet) runDrain(rec *migrate.DrainRecord, r *drainRun) {
	eng := f.engine()
	ctx := f.ctx
	if s, err := f.session(); err == nil {
		// One runner per host, even if two vsmigd claim one host name.
		m := concurrency.NewMutex(s, f.key("drainlock", f.cfg.Host))
		lctx, cancel := f.op(ctx)
		err := m.TryLock(lctx)
		cancel()
		if errors.Is(err, concurrency.ErrLocked) {
			f.log.Error("another process runs this host's drain", "drain", rec.ID)
			return
		}
		if err == nil {
			defer func() {
				uctx, cancel := f.op(context.Background())
				m.Unlock(uctx)
				cancel()
			}()
		}
	}
	window := max(eng.Config().MaxOutgoing, 1)
	dirty := false
	t := time.NewTicker(drainTick)
	defer t.Stop()
	for {
		select {
		case <-r.stopc:
			if rec.State == migrate.DrainRunning {
				rec.State = migrate.DrainStopping
				rec.Stop = migrate.StopTerminate
				dirty = true
				f.log.Info("drain cancel requested", "drain", rec.ID)
			}
		default:
		}
		dirty = f.follow1(ctx, eng, rec) || dirty
		switch rec.State {
		case migrate.DrainRunning:
			dirty = f.startNext(ctx, eng, rec, window) || dirty
		case migrate.DrainStopping:
			for i := range rec.VMs {
				if v := &rec.VMs[i]; v.State == migrate.VMPending {
					v.State, v.Reason = migrate.VMSkipped, "not moved: the drain was cancelled"
					dirty = true
				}
			}
		}
		if end := finalState(rec); end != 0 {
			ok, added := true, false
			if rec.State == migrate.DrainRunning {
				ok, added = f.settled(ctx, eng, rec)
			}
			if ok {
				rec.State, rec.Ended = end, time.Now().UTC()
			}
			dirty = dirty || ok || added
		}
		if dirty {
			rec.Status = summary(rec)
			rec.Changed = time.Now().UTC()
			if err := f.putDrain(ctx, rec); err != nil {
				f.log.Debug("drain record", "drain", rec.ID, "err", err)
			} else {
				dirty = false
			}
		}
		if rec.State.Terminal() && !dirty {
			f.log.Info("drain ended", "drain", rec.ID, "state", rec.State, "status", rec.Status)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		case <-r.stopc:
		}
	}
}

// finalState is the state rec ends in once nothing is pending or
// migrating; 0 before.
func finalState(rec *migrate.DrainRecord) migrate.DrainState {
	if rec.State.Terminal() {
		return 0
	}
	stays := false
	for _, v := range rec.VMs {
		switch v.State {
		case migrate.VMPending, migrate.VMMigrating:
			return 0
		case migrate.VMStays:
			stays = true
		}
	}
	switch {
	case rec.State == migrate.DrainStopping:
		return migrate.DrainCancelled
	case stays:
		return migrate.DrainIncomplete
	}
	return migrate.DrainCompleted
}

// settled reports whether a drain whose VMs have all moved (or stay)
// may end: the host is marked draining in its registration, no migration
// into it runs (one admitted before the mark), and it holds no VM the
// drain does not know. Those that arrived are added to rec, pending, and
// added says so. Any error (etcd, the hypervisor) is "not yet": the
// drain looks again at its next tick.
func (f *Fleet) settled(ctx context.Context, eng Engine, rec *migrate.DrainRecord) (ok, added bool) {
	f.mu.Lock()
	marked := f.marked
	f.mu.Unlock()
	if !marked {
		f.updateRegistration()
		return false, false
	}
	// After the mark no slot into this host can be taken (takeSlots
	// compares the registration): a linearizable read now sees every
	// migration that could still bring a VM here.
	octx, cancel := f.op(ctx)
	r, err := f.cli.Get(octx, f.key("slots", "in", f.cfg.Host)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	cancel()
	if err != nil || r.Count > 0 {
		return false, false
	}
	doms, err := eng.Domains(ctx)
	if err != nil {
		return false, false
	}
	known := make(map[string]bool, len(rec.VMs))
	for _, v := range rec.VMs {
		known[v.VM] = true
	}
	sortForDrain(doms)
	for _, d := range doms {
		if known[d.UUID] {
			continue
		}
		rec.VMs = append(rec.VMs, migrate.DrainVM{VM: d.UUID, Name: d.Name, MemoryKiB: d.MemoryKiB, State: migrate.VMPending,
			Reason: "arrived during the drain"})
		added = true
		f.log.Info("drain: a virtual machine arrived during the drain; it moves too", "drain", rec.ID, "vm", d.Name)
	}
	return !added, added
}

// follow1 updates the VMs whose migration runs from their jobs; it
// reports whether the record changed.
func (f *Fleet) follow1(ctx context.Context, eng Engine, rec *migrate.DrainRecord) bool {
	changed := false
	for i := range rec.VMs {
		v := &rec.VMs[i]
		if v.State != migrate.VMMigrating {
			continue
		}
		j, err := eng.Job(ctx, v.JobID)
		switch {
		case errors.Is(err, migrate.ErrNoJob):
			// Recorded, never submitted (vsmigd stopped in between):
			// submitted again under the same ID.
			v.State, v.Attempts = migrate.VMPending, v.Attempts-1
			changed = true
		case err != nil:
		case !j.Status.Terminal():
			if rec.State == migrate.DrainStopping && j.Status == migrate.StatusQueued && j.Stopping == migrate.StopNone {
				if err := eng.Cancel(ctx, j.ID, false); err != nil && !errors.Is(err, migrate.ErrFinished) {
					f.log.Warn("drain: cannot cancel a queued migration", "job", j.ID, "err", err)
				}
			}
		case j.Status == migrate.StatusCompleted:
			v.State, v.Dest, v.Reason = migrate.VMMoved, j.Plan.DestHost, ""
			changed = true
		default:
			changed = true
			why := j.Error
			if why == "" {
				why = j.StatusLine
			}
			switch {
			case rec.State == migrate.DrainStopping && (j.Status == migrate.StatusCancelled || j.Status == migrate.StatusKilled):
				v.State, v.Reason = migrate.VMSkipped, "not moved: the drain was cancelled"
			case rec.State == migrate.DrainRunning && v.Attempts < triesFor(j) && f.stillHere(ctx, eng, v.VM):
				v.State, v.Reason = migrate.VMPending, "retrying after: "+why
				f.log.Warn("drain: migration failed; trying again", "drain", rec.ID, "vm", v.Name, "job", j.ID, "err", why)
			default:
				v.State, v.Reason = migrate.VMStays, why
			}
		}
	}
	return changed
}

// stillHere reports whether the VM is on this host.
func (f *Fleet) stillHere(ctx context.Context, eng Engine, vm string) bool {
	_, err := eng.Domain(ctx, vm)
	return err == nil
}

// startNext starts pending VMs while fewer than window migrate.
func (f *Fleet) startNext(ctx context.Context, eng Engine, rec *migrate.DrainRecord, window int) bool {
	changed := false
	migrating := 0
	for _, v := range rec.VMs {
		if v.State == migrate.VMMigrating {
			migrating++
		}
	}
	for i := range rec.VMs {
		if migrating >= window {
			break
		}
		v := &rec.VMs[i]
		if v.State != migrate.VMPending {
			continue
		}
		started, ch, stop := f.start(ctx, eng, rec, v)
		changed = changed || ch
		if started {
			migrating++
		}
		if stop {
			break // the cluster is unavailable: try again later
		}
	}
	return changed
}

// start places and submits one VM. It reports whether a migration
// started, whether the record changed, and whether to stop starting
// others for now.
func (f *Fleet) start(ctx context.Context, eng Engine, rec *migrate.DrainRecord, v *migrate.DrainVM) (started, changed, stop bool) {
	d, err := eng.Domain(ctx, v.VM)
	if errors.Is(err, migrate.ErrNoDomain) {
		v.State, v.Dest, v.Reason = migrate.VMMoved, "", "no longer on this host (moved outside this drain)"
		return false, true, false
	}
	if err != nil {
		return false, false, true
	}
	if _, err := f.session(); err != nil {
		return false, false, true
	}
	if cj, ok := f.cache.locks()[v.VM]; ok && (slices.Contains(rec.Jobs, cj.ID) || cj.Dest == f.cfg.Host) {
		// An earlier attempt's lock is being released, or the VM is
		// still arriving here (libvirt lists an incoming VM, paused):
		// it is placed once that has ended.
		return false, false, false
	}
	p, err := f.newPlanner()
	if err != nil {
		return false, false, true
	}
	pl := p.place(ctx, d)
	if pl.Dest == "" {
		v.State, v.Reason = migrate.VMStays, pl.Reason
		return false, true, false
	}
	prev := *v
	v.Attempts++
	v.JobID, v.Dest, v.State = childID(rec.ID, v.VM, v.Attempts), pl.Dest, migrate.VMMigrating
	rec.Jobs = append(rec.Jobs, v.JobID)
	rec.Status = summary(rec)
	if err := f.putDrain(ctx, rec); err != nil {
		// The job is submitted only once the record names it.
		*v = prev
		rec.Jobs = rec.Jobs[:len(rec.Jobs)-1]
		return false, false, true
	}
	meta := rec.Meta
	meta.Method = "VSMIG_DrainHost"
	_, err = eng.Submit(ctx, migrate.Request{JobID: v.JobID, Plan: migrate.Plan{VM: d.UUID, Type: typeFor(d), DestHost: pl.Dest}, Meta: meta})
	switch {
	case err == nil, strings.Contains(err.Error(), "already in use"):
		f.log.Info("drain: migration submitted", "drain", rec.ID, "vm", d.Name, "dest", pl.Dest, "job", v.JobID)
		return true, true, false
	case errors.Is(err, migrate.ErrClusterUnavailable), errors.Is(err, migrate.ErrBusy), errors.Is(err, migrate.ErrShuttingDown):
		v.State, v.Attempts = migrate.VMPending, v.Attempts-1
		return false, true, true
	default:
		if v.Attempts < maxTries && migrate.KindOf(err) == migrate.InvalidState {
			v.State, v.Reason = migrate.VMPending, "retrying after: "+reasonOf(err)
		} else {
			v.State, v.Reason = migrate.VMStays, reasonOf(err)
		}
		return false, true, false
	}
}

// putDrain writes rec.
func (f *Fleet) putDrain(ctx context.Context, rec *migrate.DrainRecord) error {
	octx, cancel := f.op(ctx)
	defer cancel()
	_, err := f.cli.Put(octx, f.key("drains", rec.ID), string(mustJSON(rec)))
	return err
}

// summary is a drain's status line: "Running: 2 of 4 moved, 2 migrating".
func summary(rec *migrate.DrainRecord) string {
	n := map[migrate.DrainVMState]int{}
	for _, v := range rec.VMs {
		n[v.State]++
	}
	head := map[migrate.DrainState]string{
		migrate.DrainRunning: "Running", migrate.DrainStopping: "Stopping", migrate.DrainCompleted: "Completed",
		migrate.DrainIncomplete: "Completed with virtual machines that cannot move", migrate.DrainCancelled: "Cancelled",
		migrate.DrainFailed: "Failed",
	}[rec.State]
	s := fmt.Sprintf("%s: %d of %d moved", head, n[migrate.VMMoved], len(rec.VMs))
	for _, st := range []migrate.DrainVMState{migrate.VMMigrating, migrate.VMPending, migrate.VMStays, migrate.VMSkipped} {
		if n[st] > 0 {
			s += fmt.Sprintf(", %d %s", n[st], st)
		}
	}
	return s
}

// triesFor is how many tries a VM whose job j failed may have: fewer if
// the migration had moved data.
func triesFor(j *migrate.Job) int {
	if j.Progress.DataTotal > 0 || j.Progress.DataProcessed > 0 || j.Result != nil {
		return maxAttempts
	}
	return maxTries
}
