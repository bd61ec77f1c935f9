package libvirt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// migration is a migrate.Migration: either one this driver started (the
// perform call runs on its own connection) or one found running by Attach
// (a watcher follows libvirt's job until it ends).
//
// Two sources feed it. A poller reads the job statistics every
// PollInterval (the figures: data, remaining, dirty rate). The domain's
// events, on a connection of their own, tell at once what polling would
// learn late or never: the start of each pre-copy iteration, the pause for
// the final copy, the hand-over to the destination, and the guest resumed
// on the source after a failure.
type migration struct {
	d       *Driver
	plan    migrate.Plan
	dom     golibvirt.Domain
	started time.Time
	done    chan struct{}
	stop    chan struct{} // closed by detach; ends an attached watcher
	perform *conn         // the perform call's connection; nil if attached
	storage *storageMove  // the disks it moves; nil if attached or diskless
	memory  uint64        // the guest's memory in bytes; 0 if attached (stats.progress)

	// Events. iters carries iteration numbers to the engine's monitor
	// (capacity 1, the latest replacing one not yet read: a send never
	// blocks, and the monitor samples anew anyway); ended is closed when
	// an event says the job has left the source, completed when the
	// JOB_COMPLETED statistics are in final.
	events        *conn // the subscription's connection; nil if not subscribed
	stopEvents    context.CancelFunc
	iters         chan uint64
	ended         chan struct{}
	completed     chan struct{}
	endOnce       sync.Once
	completedOnce sync.Once

	mu        sync.Mutex
	last      migrate.Progress
	sawJob    bool
	jobGone   bool      // the job has left the source (handed over or ended)
	polling   time.Time // when the outstanding statistics call began; zero if none
	aborted   bool
	paused    bool                 // the guest is paused on the source for the final copy
	postcopy  bool                 // ... and the migration switched to post-copy
	eventIter uint64               // the latest iteration an event announced
	final     *jobStats            // the JOB_COMPLETED statistics
	finalFrom string               // where the Result's figures came from (logs, tests)
	seen      [len(eventNames)]int // events received, by kind (tests)
	result    migrate.Result
	err       error
	stopOnce  sync.Once
}

var _ migrate.IterationNotifier = (*migration)(nil)

// Start begins plan and returns at once. The perform call gets its own
// connection to the source, so that statistics, abort and tuning on the
// main connection are never queued behind it.
func (d *Driver) Start(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	if err := checkPlan(plan); err != nil {
		return nil, err
	}
	u, err := parseUUID(plan.VM)
	if err != nil {
		return nil, err
	}
	xmlFlags := golibvirt.DomainXMLMigratable
	if plan.Type == migrate.Restart {
		xmlFlags |= golibvirt.DomainXMLInactive
	}
	type src struct {
		dom   golibvirt.Domain
		xml   string
		state migrate.DomainState
	}
	s, err := call(ctx, d.main, "prepare migration", func(h hypervisor) (src, error) {
		dom, err := h.DomainLookupByUUID(u)
		if err != nil {
			return src{}, err
		}
		st, _, err := h.DomainGetState(dom, 0)
		if err != nil {
			return src{}, err
		}
		xml, err := h.DomainGetXMLDesc(dom, xmlFlags)
		return src{dom, xml, domainState(golibvirt.DomainState(st))}, err
	})
	if err != nil {
		return nil, err
	}
	if err := migrate.StateAllows(migrate.Domain{Name: s.dom.Name, State: s.state}, plan.Type); err != nil {
		return nil, err
	}
	// The disks' plan anew: what was checked may have changed since.
	sm, err := d.startDisks(ctx, plan, s.dom, s.xml)
	if err != nil {
		return nil, err
	}
	params, err := migrateParams(plan, s.xml, s.dom.Name, sm)
	if err != nil {
		return nil, fmt.Errorf("libvirt: destination definition: %w", err)
	}
	if err := d.prepareStorage(ctx, plan, sm); err != nil {
		return nil, err
	}
	perform := &conn{uri: d.cfg.URI, open: d.open}
	if _, err := perform.get(ctx); err != nil {
		return nil, fmt.Errorf("libvirt: %w", err)
	}
	m := d.newMigration(plan, s.dom)
	if m == nil {
		perform.close()
		d.cleanupImages(context.WithoutCancel(ctx), plan, sm.created)
		return nil, migrate.ErrShuttingDown
	}
	m.storage, m.memory = sm, sm.memory
	d.log.Info("migration starting", "vm", plan.VM, "name", s.dom.Name, "dest", plan.DestURI,
		"type", int(plan.Type), "flags", uint32(m.flags(s.state)), "params", len(params), "copied_disks", sm.copies())
	m.perform = perform
	go m.run(perform, params, s.state)
	return m, nil
}

func (d *Driver) newMigration(plan migrate.Plan, dom golibvirt.Domain) *migration {
	m := &migration{d: d, plan: plan, dom: dom, started: time.Now(),
		done: make(chan struct{}), stop: make(chan struct{}),
		iters: make(chan uint64, 1), ended: make(chan struct{}), completed: make(chan struct{})}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.active[m] = struct{}{}
	return m
}

// flags are the libvirt migration flags of m, disks included.
func (m *migration) flags(was migrate.DomainState) golibvirt.DomainMigrateFlags {
	return migrateFlags(m.plan, was) | m.storage.flags()
}

// finish records the outcome, ends the event subscription and closes done.
// The disks come first: a failed migration's images on the destination
// are removed before the job is seen to end (and, if the destination does
// not answer, again in the background until it does), a completed one's
// source files when the client asked for it.
func (m *migration) finish(res migrate.Result, err error) {
	if m.storage != nil {
		if err != nil && len(m.storage.created) > 0 {
			m.d.cleanupImages(context.Background(), m.plan, m.storage.created)
		} else if err == nil {
			m.d.removeSources(context.Background(), m.plan, m.storage)
		}
	}
	m.mu.Lock()
	m.result, m.err = res, err
	m.mu.Unlock()
	m.unlisten()
	m.d.mu.Lock()
	delete(m.d.active, m)
	m.d.mu.Unlock()
	if err != nil {
		m.d.log.Warn("migration failed", "vm", m.plan.VM, "err", err)
	} else {
		m.d.log.Info("migration completed", "vm", m.plan.VM, "total", res.TotalTime,
			"downtime", res.Downtime, "iterations", res.Iterations, "bytes", res.DataTransferred,
			"figures_from", m.figuresFrom())
	}
	close(m.done)
}

// run carries out a started migration on the perform connection.
func (m *migration) run(perform *conn, params []golibvirt.TypedParam, was migrate.DomainState) {
	defer perform.close()
	bg := context.Background()
	p := m.plan
	if p.Type == migrate.Restart && (was == migrate.StateRunning) {
		if err := m.shutdown(bg); err != nil {
			m.finish(migrate.Result{}, err)
			return
		}
	}
	if m.isAborted() {
		m.finish(migrate.Result{}, errors.New("libvirt: migration aborted before it started"))
		return
	}
	if p.Type != migrate.Restart && p.MaxDowntime > 0 {
		go m.applyDowntime()
	}
	s, err := perform.get(bg)
	if err != nil {
		m.finish(migrate.Result{}, fmt.Errorf("libvirt: %w", err))
		return
	}
	// Subscribed before the call, so that no event of this migration is
	// missed; the first iteration begins only after libvirt's setup.
	m.listen()
	go m.poll(&conn{uri: m.d.cfg.URI, open: m.d.open})
	begin := time.Now()
	_, err = s.h.DomainMigratePerform3Params(m.dom, golibvirt.OptString{p.DestURI}, params, nil, m.flags(was))
	total := time.Since(begin)
	if err != nil && lostConnection(err) && !m.isAborted() && !m.d.isClosed() {
		// The call's connection broke, not the migration: a peer-to-peer
		// migration goes on in the source libvirtd without its client.
		// Follow the job to its end as Attach would.
		m.d.log.Warn("lost the connection of the migration call; following the job", "vm", p.VM, "err", err)
		if m.poll(&conn{uri: m.d.cfg.URI, open: m.d.open}) {
			m.settle()
			return
		}
	}
	if err != nil {
		if m.isAborted() {
			err = fmt.Errorf("libvirt: migration aborted: %w", err)
		} else {
			err = wrapErr("migrate to "+p.DestURI, err)
		}
		m.finish(migrate.Result{TotalTime: total}, err)
		return
	}
	if p.Type == migrate.Restart {
		// The VM was unavailable from the shutdown to the boot on the
		// destination: all of it is the migration's time.
		if was == migrate.StateRunning {
			if err := m.startOnDest(bg); err != nil {
				m.finish(migrate.Result{TotalTime: time.Since(m.started)}, err)
				return
			}
		}
		total = time.Since(m.started)
	}
	m.finish(m.finalResult(bg, total), nil)
}

// applyDowntime sets the plan's downtime limit once the migration job
// exists (QEMU's parameter is per migration; setting it earlier may be
// reset when libvirt prepares the job).
func (m *migration) applyDowntime() {
	tick := time.NewTicker(m.d.cfg.PollInterval / 2)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-m.done:
			return
		case <-deadline:
			m.d.log.Warn("migration job never showed up to set its downtime limit", "vm", m.plan.VM)
			return
		case <-tick.C:
		}
		m.mu.Lock()
		ready := m.sawJob
		m.mu.Unlock()
		if !ready {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := m.SetMaxDowntime(ctx, m.plan.MaxDowntime)
		cancel()
		if err != nil {
			m.d.log.Warn("cannot set the downtime limit", "vm", m.plan.VM, "err", err)
		}
		return
	}
}

// shutdown shuts the VM down cleanly for a Restart migration, waiting at
// most the plan's ShutdownTimeout; on timeout the VM is left as it is.
func (m *migration) shutdown(ctx context.Context) error {
	timeout := m.plan.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := call0(cctx, m.d.main, "shutdown", func(h hypervisor) error { return h.DomainShutdown(m.dom) })
	cancel()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := call(cctx, m.d.main, "domain state", func(h hypervisor) (int32, error) {
			s, _, err := h.DomainGetState(m.dom, 0)
			return s, err
		})
		cancel()
		if err == nil && golibvirt.DomainState(st) == golibvirt.DomainShutoff {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("libvirt: the VM did not shut down within %v; it was left as it is on the source", timeout)
		}
		if m.isAborted() {
			return errors.New("libvirt: migration aborted while waiting for the VM to shut down")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// startOnDest starts the moved VM on the destination (Restart).
func (m *migration) startOnDest(ctx context.Context) error {
	dc, err := m.d.destConn(m.plan)
	if err != nil {
		return err
	}
	defer dc.close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return call0(ctx, dc, "start on destination", func(h hypervisor) error {
		dom, err := h.DomainLookupByUUID(m.dom.UUID)
		if err != nil {
			return err
		}
		return h.DomainCreate(dom)
	})
}

// finalResult gathers the final statistics of a migration that ended with
// the VM on the destination: from the source's JOB_COMPLETED event, which
// libvirt sends just before the perform call returns (on the events
// connection, so finalResult waits for it a moment), else from the
// completed job on the destination (the source no longer has the VM),
// else from the last progress sample. TotalTime is the wall time of the
// perform call: it includes libvirt's finish and confirm phases, which
// time_elapsed does not.
func (m *migration) finalResult(ctx context.Context, total time.Duration) migrate.Result {
	m.mu.Lock()
	last := m.last
	m.mu.Unlock()
	res := migrate.Result{TotalTime: total, DataTransferred: last.DataProcessed, Iterations: last.Iteration}
	from := "last sample"
	defer func() { m.mu.Lock(); m.finalFrom = from; m.mu.Unlock() }()
	if m.plan.Type == migrate.Restart {
		return res
	}
	st, ok := m.completedStats(ctx)
	if ok {
		from = "job-completed event"
	} else {
		var err error
		if st, err = m.destinationStats(ctx); err != nil {
			m.d.log.Warn("no final statistics from the source's event or the destination", "vm", m.plan.VM, "err", err)
			return res
		}
		from = "destination"
	}
	r := st.result()
	r.TotalTime = total
	if r.DataTransferred == 0 {
		r.DataTransferred = res.DataTransferred
	}
	if r.Iterations == 0 {
		r.Iterations = res.Iterations
	}
	return r
}

// completedEventWait is how long finalResult waits for the JOB_COMPLETED
// event once the perform call has returned; on the lab it comes within a
// millisecond of the hand-over, before the call returns.
const completedEventWait = 500 * time.Millisecond

// completedStats returns the JOB_COMPLETED statistics, waiting up to
// completedEventWait for them if m is subscribed.
func (m *migration) completedStats(ctx context.Context) (jobStats, bool) {
	if m.events != nil {
		t := time.NewTimer(completedEventWait)
		defer t.Stop()
		select {
		case <-m.completed:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.final == nil {
		return jobStats{}, false
	}
	return *m.final, true
}

func (m *migration) figuresFrom() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.finalFrom
}

// destinationStats reads the completed job's statistics on the destination,
// leaving them there (KEEP_COMPLETED) for `virsh domjobinfo --completed`.
func (m *migration) destinationStats(ctx context.Context) (jobStats, error) {
	dc, err := m.d.destConn(m.plan)
	if err != nil {
		return jobStats{}, err
	}
	defer dc.close()
	ctx, cancel := context.WithTimeout(ctx, m.d.cfg.DestTimeout)
	defer cancel()
	return call(ctx, dc, "completed job stats", func(h hypervisor) (jobStats, error) {
		dom, err := h.DomainLookupByUUID(m.dom.UUID)
		if err != nil {
			return jobStats{}, err
		}
		typ, params, err := h.DomainGetJobStats(dom, golibvirt.DomainJobStatsCompleted|golibvirt.DomainJobStatsKeepCompleted)
		return decodeJobStats(typ, params), err
	})
}

// lostConnection reports whether err is a failure of the connection to
// libvirtd rather than an answer from it.
func lostConnection(err error) bool {
	var e golibvirt.Error
	return !errors.As(err, &e)
}

func (m *migration) isAborted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.aborted
}

// Progress returns the latest statistics sample, at once: a poller reads
// libvirt's job statistics on its own connection every PollInterval, because
// libvirt makes that call wait while the migration is in its finish phase
// (up to seconds), and a caller sampling twice a second must not wait with
// it. A sample older than three polling periods means libvirt is in
// that finish phase. Elapsed is always the wall time since Start, and the
// iteration is the later of the sample's and the last iteration event's.
// Before libvirt has set the job up the phase is "setup"; while the guest
// is paused for the final copy it is "stop-and-copy" ("postcopy" after a
// switch to post-copy); once the source has handed the VM over, or the
// statistics call is stuck in the finish phase, it is "finishing".
func (m *migration) Progress(ctx context.Context) (migrate.Progress, error) {
	if err := ctx.Err(); err != nil {
		return migrate.Progress{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.last
	p.Elapsed = time.Since(m.started)
	p.Iteration = max(p.Iteration, m.eventIter)
	switch {
	case !m.sawJob && !m.jobGone:
		p.Phase = "setup"
	case m.jobGone, !m.polling.IsZero() && time.Since(m.polling) > 3*m.d.cfg.PollInterval:
		p.Phase = "finishing"
	case m.paused && m.postcopy:
		p.Phase = "postcopy"
	case m.paused:
		p.Phase = "stop-and-copy"
	}
	select {
	case <-m.done:
		p.Elapsed = m.result.TotalTime
		p.Phase = "finishing"
	default:
	}
	return p, nil
}

// Iterations delivers the number of each pre-copy iteration as libvirt
// announces it (migrate.IterationNotifier); nothing comes if the
// subscription failed, and the monitor then samples on its ticker alone.
func (m *migration) Iterations() <-chan uint64 { return m.iters }

// poll samples the job statistics on mon every PollInterval until the job
// has left the source (the statistics say so, or an event does), m.done or
// m.stop closes. It reports whether it saw the job end (as opposed to
// being stopped). An event that ends the job also ends a statistics call
// stuck in the finish phase.
func (m *migration) poll(mon *conn) bool {
	defer mon.close()
	ended, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-m.ended:
			cancel()
		case <-ended.Done():
		}
	}()
	tick := time.NewTicker(m.d.cfg.PollInterval)
	defer tick.Stop()
	for {
		m.mu.Lock()
		m.polling = time.Now()
		m.mu.Unlock()
		// Generous: the call legitimately blocks during the finish phase.
		ctx, cancelCall := context.WithTimeout(ended, 2*time.Minute)
		st, err := call(ctx, mon, "job stats", func(h hypervisor) (jobStats, error) {
			typ, params, err := h.DomainGetJobStats(m.dom, 0)
			return decodeJobStats(typ, params), err
		})
		cancelCall()
		m.mu.Lock()
		m.polling = time.Time{}
		running := st.Type == golibvirt.DomainJobUnbounded || st.Type == golibvirt.DomainJobBounded
		switch {
		case err == nil && running:
			m.sawJob = true
			m.last = st.progress(m.memory)
		case err == nil && m.sawJob, err != nil && isNotRunning(err):
			m.jobGone = true
		}
		gone := m.jobGone
		m.mu.Unlock()
		if gone {
			return true
		}
		if err != nil && ended.Err() == nil {
			m.d.log.Debug("job statistics", "vm", m.plan.VM, "err", err)
		}
		select {
		case <-m.done:
			return false
		case <-m.stop:
			return false
		case <-ended.Done():
		case <-tick.C:
		}
	}
}

// Done is closed when the migration has ended.
func (m *migration) Done() <-chan struct{} { return m.done }

// Result returns the outcome once Done is closed.
func (m *migration) Result() (migrate.Result, error) {
	select {
	case <-m.done:
	default:
		return migrate.Result{}, errors.New("libvirt: migration still running")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.result, m.err
}

// Abort cancels the migration through libvirt's job abort; the VM keeps
// running on the source. A migration that has not reached libvirt yet
// (Restart shutdown, setup) is stopped before it does.
func (m *migration) Abort(ctx context.Context) error {
	select {
	case <-m.done:
		return migrate.ErrFinished
	default:
	}
	m.mu.Lock()
	m.aborted = true
	m.mu.Unlock()
	for {
		err := call0(ctx, m.d.main, "abort job", func(h hypervisor) error { return h.DomainAbortJob(m.dom) })
		if err == nil {
			return nil
		}
		if !isNotRunning(err) {
			return err
		}
		// No job yet (setup) or already gone: wait for either to settle.
		select {
		case <-m.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetMaxDowntime changes QEMU's downtime limit while the migration runs.
func (m *migration) SetMaxDowntime(ctx context.Context, d time.Duration) error {
	msec := uint64(max(d.Milliseconds(), 1))
	return call0(ctx, m.d.main, "set max downtime", func(h hypervisor) error {
		return h.DomainMigrateSetMaxDowntime(m.dom, msec, 0)
	})
}

// EnableAutoConverge: libvirt cannot turn auto-converge on mid-flight (it
// is a QEMU migration capability, fixed at start), so a plan that permits
// it starts with the capability set (Plan.AutoConverge) and QEMU throttles
// the guest itself once the dirty rate outruns the transfer. When the
// policy asks, that is already so: nil. Without the capability,
// migrate.ErrUnsupported.
func (m *migration) EnableAutoConverge(context.Context) error {
	if m.plan.AutoConverge {
		return nil
	}
	return fmt.Errorf("libvirt: auto-converge can only be chosen at start: %w", migrate.ErrUnsupported)
}

// StartPostCopy switches to post-copy; only if the plan allowed it.
func (m *migration) StartPostCopy(ctx context.Context) error {
	if !m.plan.PostCopy {
		return fmt.Errorf("libvirt: post-copy was not allowed for this migration: %w", migrate.ErrUnsupported)
	}
	return call0(ctx, m.d.main, "start post-copy", func(h hypervisor) error {
		return h.DomainMigrateStartPostCopy(m.dom, 0)
	})
}

// detach ends an attached watcher (driver Close). A started migration's
// perform call goes on until libvirt ends it.
func (m *migration) detach() {
	m.stopOnce.Do(func() { close(m.stop) })
}
