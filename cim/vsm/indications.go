package vsm

import (
	"context"
	"sync"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// This file reports the profile's instance changes to Config.Indications
// (the lifecycle indications WS-Eventing subscribers receive):
//
//   - VSMIG_MigrationJob: CIM_InstCreation when a job is created (a
//     Migrate accepted), CIM_InstModification for every change a client
//     can see (JobState and OperationalStatus, the cancel accepted, the
//     end, the error, the writable properties; the progress figures,
//     PercentComplete and JobStatus at most every Config.ProgressInterval
//     per job, and only while there are subscribers), CIM_InstDeletion
//     when it is removed (Delete, or its TimeBeforeRemoval expiry). They
//     come from the job store (ObservedStore), which every change goes
//     through.
//   - CIM_ComputerSystem of a virtual system: CIM_InstCreation when it
//     arrives on this host (migrated in, defined), CIM_InstDeletion when it
//     leaves (migrated away, undefined), CIM_InstModification when its
//     instance changes (EnabledState, its name, size, OperatingStatus 10
//     Emigrating while a job moves it). They come from the engine's
//     inventory watch (migrate.Engine.WatchDomains) and the jobs.
//   - VSMIG_DrainJob, in a cluster: creation, each change of the drain's
//     record, deletion (drainfeed.go).
//
// PreviousInstance is the instance as the previous indication of the same
// instance showed it. Progress is coalesced: a running migration reports
// every sample to the engine (twice a second, and at each pre-copy
// iteration); subscribers see at most one progress indication per
// ProgressInterval of a job, carrying the latest figures, and every
// change of state at once.

// DefaultProgressInterval is the shortest time between two progress-only
// indications of one job: twice a second, as a client polling the job
// would see it.
const DefaultProgressInterval = 500 * time.Millisecond

// subscriberCounter is implemented by observers that know whether anyone
// listens (indication.Publisher).
type subscriberCounter interface{ Subscribers() int }

// indications holds the profile's feeds.
type indications struct {
	jobs   *jobFeed
	vms    *vmFeed
	drains *drainFeed // in a cluster (drainfeed.go)
}

// startIndications connects the profile's feeds to the store and the
// engine's inventory. An inventory that cannot be read now (the
// hypervisor not answering) leaves the virtual systems without
// indications, logged; the jobs have theirs.
func (p *Profile) startIndications(ctx context.Context) {
	obs := p.cfg.Indications
	vf := &vmFeed{p: p, obs: obs, doms: map[string]migrate.Domain{}, shown: map[string]vmState{},
		migrating: map[string]bool{}}
	if err := vf.start(ctx); err != nil {
		p.log.Warn("no indications of the virtual systems: the inventory cannot be read", "err", err)
		vf.closed = true
	}
	p.ind = &indications{vms: vf}
	if p.cfg.Jobs != nil {
		jf := &jobFeed{p: p, obs: obs, vms: vf, store: p.cfg.Jobs, interval: p.cfg.ProgressInterval,
			live: map[string]*jobTrack{}}
		if jf.interval <= 0 {
			jf.interval = DefaultProgressInterval
		}
		p.ind.jobs = jf
		p.cfg.Jobs.observe(jf.changed)
	}
	if p.cfg.Fleet != nil {
		p.ind.drains = p.startDrainFeed()
	}
}

// stopIndications ends the feeds; nothing is reported afterwards.
func (p *Profile) stopIndications() {
	if p.ind == nil {
		return
	}
	if jf := p.ind.jobs; jf != nil {
		jf.store.observe(nil)
		jf.close()
	}
	if df := p.ind.drains; df != nil {
		df.stop()
	}
	p.ind.vms.close()
}

// jobFeed turns job changes into indications.
type jobFeed struct {
	p        *Profile
	obs      cim.ChangeObserver
	vms      *vmFeed
	store    *ObservedStore
	interval time.Duration

	mu     sync.Mutex
	closed bool
	live   map[string]*jobTrack // jobs not ended (and ended ones being shown)
}

// jobTrack is what the feed knows of one unfinished job. The instance the
// last indication showed is not kept (1,000 running jobs would hold
// megabytes of them): it is built again from the job and the time it was
// read at.
type jobTrack struct {
	seq      uint64       // the latest change seen
	shownJob *migrate.Job // the job as the last indication showed it
	shownCIM time.Time    // the profile's time it was shown at
	shownAt  time.Time    // the wall time, for the interval
	pending  *migrate.Job // a progress change not shown yet
	pendSeq  uint64
	timer    *time.Timer
	flushing bool
}

func (t *jobTrack) shown(p *Profile) *cim.Instance { return p.jobInstanceAt(t.shownJob, t.shownCIM) }

func (f *jobFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, t := range f.live {
		if t.timer != nil {
			t.timer.Stop()
		}
	}
	clear(f.live)
}

// changed is the store's observer.
func (f *jobFeed) changed(c jobChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	switch {
	case c.New == nil: // deleted
		if t := f.live[c.Old.ID]; t != nil {
			f.forget(c.Old.ID, t)
		}
		f.obs.Deleted(f.p.jobInstance(c.Old))
	case c.Old == nil: // created
		now := f.p.now()
		f.live[c.New.ID] = &jobTrack{seq: c.seq, shownJob: c.New, shownCIM: now, shownAt: time.Now()}
		f.obs.Created(f.p.jobInstanceAt(c.New, now))
		f.vms.setMigrating(c.New.Plan.VM, true, false)
	default:
		f.modified(c)
	}
}

// modified handles a change of an existing job (f.mu held).
func (f *jobFeed) modified(c jobChange) {
	id := c.New.ID
	t := f.live[id]
	if t == nil {
		// A job the feed has not seen change yet: one stored before
		// this run (taken up by recovery), or ended (a Put of its
		// writable properties). The previous indication is unknown; the
		// job as it was stands for it.
		t = &jobTrack{seq: c.seq - 1, shownJob: c.Old, shownCIM: f.p.now()}
		if !c.New.Status.Terminal() {
			f.live[id] = t
		}
	}
	if c.seq <= t.seq {
		return // an older version than one already seen
	}
	t.seq = c.seq
	switch visibleChange(t.shownJob, c.New) {
	case changeNone:
		return
	case changeProgress:
		if !f.listened() {
			return
		}
		t.pending, t.pendSeq = c.New, c.seq
		f.schedule(id, t)
		return
	}
	// A change of state: shown at once, with the latest figures.
	t.pending = nil
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	f.show(t, c.New)
	if c.New.Status.Terminal() {
		f.forget(id, t)
		f.vms.setMigrating(c.New.Plan.VM, false, c.New.Status == migrate.StatusCompleted)
	}
}

// show publishes the modification from what t showed to j (f.mu held).
func (f *jobFeed) show(t *jobTrack, j *migrate.Job) {
	now := f.p.now()
	f.obs.Modified(t.shown(f.p), f.p.jobInstanceAt(j, now))
	t.shownJob, t.shownCIM, t.shownAt = j, now, time.Now()
}

func (f *jobFeed) forget(id string, t *jobTrack) {
	if t.timer != nil {
		t.timer.Stop()
	}
	delete(f.live, id)
}

// listened reports whether anyone may receive the indications (an
// observer that cannot tell counts as listened to).
func (f *jobFeed) listened() bool {
	sc, ok := f.obs.(subscriberCounter)
	return !ok || sc.Subscribers() > 0
}

// schedule arranges for t's pending progress to be shown once interval
// has passed since the last indication of the job (f.mu held).
func (f *jobFeed) schedule(id string, t *jobTrack) {
	if t.timer != nil || t.flushing {
		return // already due; it will show the latest
	}
	wait := f.interval - time.Since(t.shownAt)
	t.timer = time.AfterFunc(max(wait, 0), func() { f.showPending(id) })
}

// showPending shows a job's pending progress. The job store may hold a
// running job's progress in memory for a while (boltstore); what a client
// is shown must survive a crash, so the store is read first, which writes
// it (migrate.Store.Update), and only a change the read covered is shown.
func (f *jobFeed) showPending(id string) {
	f.mu.Lock()
	t := f.live[id]
	if f.closed || t == nil || t.pending == nil {
		if t != nil {
			t.timer = nil
		}
		f.mu.Unlock()
		return
	}
	t.timer, t.flushing = nil, true
	want := t.pendSeq
	f.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), defaultCallTimeout)
	_, err := f.store.Store.Get(ctx, id)
	cancel()

	f.mu.Lock()
	defer f.mu.Unlock()
	t.flushing = false
	if f.closed || f.live[id] != t || t.pending == nil {
		return
	}
	if err != nil {
		f.p.log.Debug("job progress not shown: the store could not write it", "job", id, "err", err)
		return
	}
	if t.pendSeq != want {
		// Newer figures arrived while the store wrote: they may not be
		// written yet; their turn comes at once.
		f.schedule(id, t)
		return
	}
	j := t.pending
	t.pending = nil
	f.show(t, j)
}

// Kinds of change visibleChange tells apart.
const (
	changeNone = iota
	changeProgress
	changeState
)

// visibleChange says how the job a client was shown (old) and the job now
// (nj) differ: in state (JobState and what goes with it, the error, the
// final figures, the writable properties), in progress only (the figures,
// PercentComplete and JobStatus of a running job), or not at all.
func visibleChange(old, nj *migrate.Job) int {
	switch {
	case old.Status != nj.Status, old.Stopping != nj.Stopping, old.ErrKind != nj.ErrKind, old.Error != nj.Error,
		(old.Result == nil) != (nj.Result == nil), old.Meta != nj.Meta, !old.Started.Equal(nj.Started),
		!old.Ended.Equal(nj.Ended):
		return changeState
	case old.Percent != nj.Percent, old.StatusLine != nj.StatusLine, old.Progress != nj.Progress:
		return changeProgress
	}
	return changeNone
}

// vmFeed turns the inventory's changes, and the jobs' start and end, into
// indications of the virtual systems' CIM_ComputerSystem instances.
type vmFeed struct {
	p     *Profile
	obs   cim.ChangeObserver
	watch *migrate.DomainWatch

	mu        sync.Mutex
	closed    bool
	doms      map[string]migrate.Domain // by UUID: the VMs of this host
	shown     map[string]vmState        // as the last indication showed them
	migrating map[string]bool           // VMs with an unfinished job
}

// vmState is what a virtual system's instance is built from; the feed
// keeps it rather than the instance, a few hundred bytes rather than
// kilobytes per VM.
type vmState struct {
	d         migrate.Domain
	migrating bool
}

// start reads the inventory and watches it. The watch's first changes
// wait for the inventory to be in place.
func (f *vmFeed) start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.p.engineMigratingVMs(ctx) {
		f.migrating[id] = true
	}
	w, doms, err := f.p.engine.WatchDomains(ctx, f.changed)
	if err != nil {
		return err
	}
	f.watch = w
	for _, d := range doms {
		f.doms[d.UUID] = d
		f.shown[d.UUID] = vmState{d, f.migrating[d.UUID]}
	}
	return nil
}

func (f *vmFeed) close() {
	if f.watch != nil {
		f.watch.Stop()
	}
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// changed is the inventory watch's callback.
func (f *vmFeed) changed(c migrate.DomainChange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if c.New == nil {
		delete(f.doms, c.Old.UUID)
		f.remove(c.Old.UUID)
		return
	}
	f.doms[c.New.UUID] = *c.New
	f.update(c.New.UUID)
}

// setMigrating records that a job of vm started (on) or ended; left says
// that it ended with the VM gone to its destination, which the inventory
// will confirm (the VM's deletion is reported now, once).
func (f *vmFeed) setMigrating(vm string, on, left bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || vm == "" {
		return
	}
	if on {
		f.migrating[vm] = true
	} else {
		delete(f.migrating, vm)
	}
	if left {
		delete(f.doms, vm)
		f.remove(vm)
		return
	}
	if _, ok := f.doms[vm]; ok {
		f.update(vm)
	}
}

// update reports the VM's instance as it is now, if it differs from the
// last shown (f.mu held).
func (f *vmFeed) update(id string) {
	cur := vmState{f.doms[id], f.migrating[id]}
	old, ok := f.shown[id]
	switch {
	case !ok:
		f.obs.Created(f.p.vmInstance(cur.d, cur.migrating))
	case old == cur:
		return
	default:
		prev, inst := f.p.vmInstance(old.d, old.migrating), f.p.vmInstance(cur.d, cur.migrating)
		if !sameInstance(prev, inst) { // a change the instance does not show (memory) is not one
			f.obs.Modified(prev, inst)
		}
	}
	f.shown[id] = cur
}

// remove reports the VM gone (f.mu held).
func (f *vmFeed) remove(id string) {
	if old, ok := f.shown[id]; ok {
		delete(f.shown, id)
		f.obs.Deleted(f.p.vmInstance(old.d, old.migrating))
	}
}

// sameInstance reports whether a and b have the same class and property
// values.
func sameInstance(a, b *cim.Instance) bool {
	if a.Class != b.Class {
		return false
	}
	for p, v := range a.Properties() {
		w, _ := b.Get(p.Name)
		if !cim.ValuesEqual(v, w) {
			return false
		}
	}
	return true
}

// engineMigratingVMs lists the VMs with an unfinished job in the store.
func (p *Profile) engineMigratingVMs(ctx context.Context) []string {
	jobs, err := p.engine.Jobs(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, j := range jobs {
		if !j.Status.Terminal() && p.engine.Migrating(j.Plan.VM) != "" {
			out = append(out, j.Plan.VM)
		}
	}
	return out
}
