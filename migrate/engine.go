package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// cancelKind is a pending Cancel request on a job.
type cancelKind int

const (
	noCancel cancelKind = iota
	cancelRequested
	killRequested
)

// job is one migration the engine runs or queues; its durable record is
// a Job in the engine's Store.
type job struct {
	id        string
	vm, dest  string
	priority  int
	submitted time.Time
	seq       uint64
	plan      Plan
	opts      Options
	recovered bool

	// Guarded by Engine.mu.
	status Status
	// stored is set once the job's record is durable; a job admission
	// lets start before that is held until it is.
	stored, held bool
	mig          Migration
	cancel       cancelKind
	abortReason  string

	// cj is the job as the cluster knows it (Config.Cluster); stopWait
	// ends its wait for a cluster slot (a Cancel while it waits).
	cj       ClusterJob
	stopWait context.CancelFunc
}

// update returns an Update of j carrying its migration type.
func (j *job) update(u Update) Update {
	u.JobID, u.Type = j.id, j.plan.Type
	return u
}

// before orders the queue: Priority, then Submitted, then arrival.
func (j *job) before(o *job) bool {
	if j.priority != o.priority {
		return j.priority < o.priority
	}
	if !j.submitted.Equal(o.submitted) {
		return j.submitted.Before(o.submitted)
	}
	return j.seq < o.seq
}

// Engine runs migrations from the host of its local Driver. It owns them
// from request to record: Submit applies every rule and queues, the
// engine starts, watches and ends each job, keeps it in its Store
// (Config.Store), takes up unfinished ones after a restart (Recover),
// and answers for the host's inventory (Host, Domains, Domain). It
// reports through Config.OnUpdate. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	local Driver
	store Store
	clock Clock
	log   *slog.Logger

	ctx    context.Context // cancelled by Shutdown; bounds driver calls of jobs
	cancel context.CancelFunc

	mu       sync.Mutex
	adm      *admission
	jobs     map[string]*job // queued and running
	self     string          // local host name, once known
	stopping bool
	stopc    chan struct{} // closed when Shutdown begins
	wg       sync.WaitGroup
}

// New returns an engine migrating VMs from local's host.
func New(cfg Config, local Driver) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if local == nil {
		return nil, errors.New("migrate: New: nil driver")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg:    cfg,
		local:  local,
		store:  cfg.Store,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		ctx:    ctx,
		cancel: cancel,
		adm:    newAdmission(cfg),
		jobs:   make(map[string]*job),
		stopc:  make(chan struct{}),
	}, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Running is the number of running jobs.
func (e *Engine) Running() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.adm.running
}

// Queued is the number of jobs waiting for a slot.
func (e *Engine) Queued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.adm.queue)
}

// Migrating returns the ID of the VM's unfinished job, "" if it has none.
func (e *Engine) Migrating(vm string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j, ok := e.adm.vms[canonicalUUID(vm)]; ok {
		return j.id
	}
	return ""
}

// Check reports whether req would be accepted now, without changing
// anything: every rule of Submit, in the same order (see evaluate).
func (e *Engine) Check(ctx context.Context, req Request) (Assessment, error) {
	_, _, a, err := e.evaluate(ctx, req)
	return a, err
}

// Submit accepts req: it applies every rule (see evaluate), records the
// job in the Store (StatusQueued) and queues it. A nil error means the job
// is durable and queued (no Update is sent for that); it is returned as
// stored. Everything after arrives through Config.OnUpdate and the job's
// record.
//
// The admission decision and the queueing are one step under the engine's
// lock, so that concurrent requests for one VM give one job and the queue
// never outgrows its length; the reads of the hypervisors come before it,
// the store write after it (a job admission lets start waits for that
// write). A second request for a VM whose first is still being checked is
// not refused for it: it is checked in its own right, and is refused as
// "already migrating" only if the first has become a job by then.
func (e *Engine) Submit(ctx context.Context, req Request) (*Job, error) {
	if req.JobID == "" {
		return nil, &CheckError{Kind: InvalidParameter, Reason: "empty job ID"}
	}
	plan, dom, _, err := e.evaluate(ctx, req)
	if err != nil {
		e.log.Debug("migration refused", "job", req.JobID, "vm", req.Plan.VM, "err", err)
		return nil, err
	}
	if req.Submitted.IsZero() {
		req.Submitted = e.clock.Now()
	}
	j := &job{
		id:        req.JobID,
		vm:        plan.VM,
		dest:      plan.DestHost,
		priority:  req.Priority,
		submitted: req.Submitted,
		plan:      plan,
		opts:      PolicyFor(e.cfg, plan, dom.MemoryKiB*1024),
		status:    StatusQueued,
	}
	rec := &Job{
		ID: j.id, Plan: plan, VMName: dom.Name, Priority: j.priority, Submitted: j.submitted,
		Status: StatusQueued, StatusLine: "Queued", Changed: j.submitted, Meta: req.Meta,
	}
	j.cj = e.clusterJob(j, dom.Name, dom.MemoryKiB)
	if c := e.cfg.Cluster; c != nil {
		if err := c.Lock(ctx, j.cj); err != nil {
			e.log.Debug("migration refused", "job", j.id, "vm", j.vm, "err", err)
			return nil, err
		}
	}
	if err := e.enqueue(j); err != nil {
		e.clusterRelease(j)
		e.log.Debug("migration refused", "job", j.id, "vm", j.vm, "err", err)
		return nil, err
	}
	if err := e.store.Create(ctx, rec); err != nil {
		e.withdraw(j)
		e.clusterRelease(j)
		if errors.Is(err, ErrExists) {
			return nil, &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("job ID %q is already in use", j.id)}
		}
		return nil, fmt.Errorf("migrate: record job %s: %w", j.id, err)
	}
	e.stored(j)
	e.log.Info("migration queued", "job", j.id, "vm", j.vm, "dest", j.dest, "type", plan.Type)
	return rec.Clone(), nil
}

// enqueue admits j under the lock: its ID must be free, its VM without a
// job, the queue not full. Jobs admission lets start are launched (j is
// held until stored).
func (e *Engine) enqueue(j *job) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return ErrShuttingDown
	}
	if _, taken := e.jobs[j.id]; taken {
		return &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("job ID %q is already in use", j.id)}
	}
	started, err := e.adm.enqueue(j)
	if err == nil {
		e.jobs[j.id] = j
	}
	e.launchLocked(started)
	return err
}

// withdraw takes back a job enqueue admitted whose record could not be
// written.
func (e *Engine) withdraw(j *job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.jobs, j.id)
	if !e.adm.remove(j) { // admission had let it start
		e.launchLocked(e.adm.finish(j))
	}
}

// stored marks j's record durable and starts it if admission let it.
func (e *Engine) stored(j *job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j.stored = true
	if j.held && !j.status.Terminal() { // not cancelled meanwhile
		j.held = false
		e.launchLocked([]*job{j})
	}
}

// evaluate applies every rule to req, cheapest first, and returns the
// resolved plan and the VM as the driver described it:
//
//  1. the request's form (validate): the VM a UUID, a known migration type
//     and transport, the destination host's grammar (NormalizeHost);
//  2. the VM on this host (one Driver.Domain read) and its run state for
//     the migration type (StateAllows);
//  3. the destination not named as this host;
//  4. admission: the VM has no job, and the limits or the queue have room;
//     then, in a cluster (Config.Cluster), the cluster's rules (Cluster.Check);
//  5. the driver's check against the hypervisors (Driver.Check), which
//     says what happens to each disk too.
func (e *Engine) evaluate(ctx context.Context, req Request) (Plan, Domain, Assessment, error) {
	if err := validate(req.Plan); err != nil {
		return Plan{}, Domain{}, Assessment{}, err
	}
	plan := Resolve(e.cfg, req)
	plan.VM = canonicalUUID(plan.VM)
	dom, err := e.local.Domain(ctx, plan.VM)
	if errors.Is(err, ErrNoDomain) {
		// The driver's error says the same again: left out.
		return Plan{}, Domain{}, Assessment{}, &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("no virtual machine %s on this host", plan.VM)}
	}
	if err != nil {
		return Plan{}, Domain{}, Assessment{}, fmt.Errorf("migrate: look up %s: %w", plan.VM, err)
	}
	if err := StateAllows(dom, plan.Type); err != nil {
		return Plan{}, Domain{}, Assessment{}, err
	}
	self, err := e.hostName(ctx)
	if err != nil {
		return Plan{}, Domain{}, Assessment{}, err
	}
	if self == plan.DestHost {
		return Plan{}, Domain{}, Assessment{}, &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("destination %s is the source host", plan.DestHost)}
	}
	e.mu.Lock()
	err = e.adm.check(plan.VM, plan.DestHost)
	if e.stopping {
		err = ErrShuttingDown
	}
	e.mu.Unlock()
	if err != nil {
		return Plan{}, Domain{}, Assessment{}, err
	}
	if c := e.cfg.Cluster; c != nil {
		cj := ClusterJob{ID: req.JobID, VM: plan.VM, VMName: dom.Name, Source: self, Dest: plan.DestHost, MemoryKiB: dom.MemoryKiB}
		if err := c.Check(ctx, cj); err != nil {
			return Plan{}, Domain{}, Assessment{}, err
		}
	}
	a, err := e.local.Check(ctx, plan, dom)
	if err != nil {
		return Plan{}, Domain{}, Assessment{}, err
	}
	return plan, dom, a, nil
}

// hostName is the local host's name, normalized; asked of the driver once.
func (e *Engine) hostName(ctx context.Context) (string, error) {
	e.mu.Lock()
	name := e.self
	e.mu.Unlock()
	if name != "" {
		return name, nil
	}
	h, err := e.local.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("migrate: local host: %w", err)
	}
	name = h.Name
	if n, err := NormalizeHost(h.Name); err == nil {
		name = n
	}
	e.mu.Lock()
	e.self = name
	e.mu.Unlock()
	return name, nil
}

// validate checks the form of a request's plan.
func validate(p Plan) error {
	if _, err := uuid.Parse(p.VM); err != nil {
		return &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("virtual machine %q is not a UUID", p.VM)}
	}
	switch p.Type {
	case Live, Resume, Restart:
	default:
		return &CheckError{Kind: NotSupported, Reason: fmt.Sprintf("migration type %d is not live (2), resume (3) or restart (4)", p.Type)}
	}
	if p.Transport != 0 && !validTransport(p.Transport) {
		_, err := DestURI("localhost", p.Transport)
		return err
	}
	if _, err := NormalizeHost(p.DestHost); err != nil {
		return err
	}
	if p.NewVCPUs < 0 {
		return &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("new vCPU count %d is negative", p.NewVCPUs)}
	}
	return nil
}

func canonicalUUID(s string) string {
	if u, err := uuid.Parse(s); err == nil {
		return u.String()
	}
	return s
}

// launchLocked starts the jobs admission let through, each in a tracked
// goroutine; one whose record is not durable yet is held until it is.
// After Shutdown began nothing starts; the jobs stay queued and are lost
// with the engine (their records still say queued: Recover takes them up).
func (e *Engine) launchLocked(jobs []*job) {
	for _, j := range jobs {
		if e.stopping {
			return
		}
		if !j.stored {
			j.held = true
			continue
		}
		j.status = StatusStarting
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.run(j)
		}()
	}
}

// goAttach runs f in a goroutine Shutdown waits for, unless Shutdown has
// begun (etcd's GoAttach); it reports whether f was started.
func (e *Engine) goAttach(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// Cancel stops a job. A queued job is removed and ends StatusCancelled (or
// StatusKilled with kill). A running one is aborted through the driver,
// which leaves the VM on the source; its record says it is stopping
// (Job.Stopping) until its final Update follows from the monitor. A job
// that already ended gives ErrFinished, an unknown one ErrNoJob. A job its
// store holds unfinished but the engine does not run (Recover has not
// taken it up) is ended in the record at once. A migration in post-copy
// cannot be aborted: the driver's error is returned and the job goes on.
func (e *Engine) Cancel(ctx context.Context, jobID string, kill bool) error {
	kind, final, stop := cancelRequested, StatusCancelled, StopTerminate
	if kill {
		kind, final, stop = killRequested, StatusKilled, StopKill
	}
	e.mu.Lock()
	j, ok := e.jobs[jobID]
	if !ok {
		e.mu.Unlock()
		rec, err := e.store.Get(ctx, jobID)
		switch {
		case err != nil:
			return err
		case rec.Status.Terminal():
			return ErrFinished
		}
		_, err = e.endRecord(ctx, jobID, final, 0, "Stopped on request before it ran")
		return err
	}
	switch {
	case j.status == StatusQueued:
		if !e.adm.remove(j) { // admitted to run, held until stored
			e.launchLocked(e.adm.finish(j))
		}
		j.status = final
		e.forgetLocked(j)
		e.mu.Unlock()
		e.emit(j.update(Update{Status: final, Reason: "cancelled before it started"}))
		e.clusterRelease(j)
		return nil
	case j.status.Terminal():
		e.mu.Unlock()
		return ErrFinished
	case j.mig == nil: // starting: run aborts once Start returns
		j.cancel = kind
		if j.stopWait != nil { // waiting for a cluster slot
			j.stopWait()
		}
		e.mu.Unlock()
		e.noteStopping(ctx, j.id, stop)
		return nil
	}
	j.cancel = kind
	mig := j.mig
	e.mu.Unlock()
	if err := mig.Abort(ctx); err != nil {
		e.mu.Lock()
		j.cancel = noCancel
		e.mu.Unlock()
		return fmt.Errorf("migrate: cancel job %s: %w", jobID, err)
	}
	e.noteStopping(ctx, j.id, stop)
	return nil
}

// noteStopping records an accepted cancel in the job; a failure is
// logged, the cancel goes on.
func (e *Engine) noteStopping(ctx context.Context, id string, stop Stop) {
	if _, err := e.markStopping(ctx, id, stop); err != nil {
		e.log.Warn("cannot record cancel request", "job", id, "err", err)
	}
	e.log.Info("job cancel requested", "job", id, "stop", stop)
}

// forgetLocked drops a job from the live set; its record remains.
func (e *Engine) forgetLocked(j *job) {
	delete(e.jobs, j.id)
}

// end records a running job's final state, reports it, then frees its
// slot (in that order, so the VM cannot be submitted again before its
// last job's end is known) and starts what may start.
func (e *Engine) end(j *job, u Update) {
	e.mu.Lock()
	j.status = u.Status
	e.mu.Unlock()
	e.emit(j.update(u))
	e.clusterRelease(j)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetLocked(j)
	started := e.adm.finish(j)
	e.launchLocked(started)
	e.log.Info("migration ended", "job", j.id, "vm", j.vm, "status", u.Status, "reason", u.Reason,
		"running", e.adm.running, "queued", len(e.adm.queue))
}

// emit records u in its job, then reports it.
func (e *Engine) emit(u Update) {
	e.record(u)
	if e.cfg.OnUpdate != nil {
		e.cfg.OnUpdate(u)
	}
}

// Shutdown stops the engine. In order:
//
//  1. Stop admission: Submit and Recover return ErrShuttingDown and no
//     queued job starts; queued jobs are dropped (their records still say
//     queued).
//  2. Stop the monitors: each returns without a final Update and without
//     aborting. Migrations keep running in the hypervisor; after a restart
//     Recover finds each unfinished job in the store and re-attaches it or
//     decides its outcome from where the VM runs.
//  3. Cancel the context of driver calls in flight (a Start that has not
//     returned yet).
//  4. Wait for every goroutine the engine started, or for ctx.
//
// Neither the local driver nor the store is closed; their owner closes
// them.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if !e.stopping {
		e.stopping = true
		close(e.stopc)
		e.log.Info("engine shutting down", "running", e.adm.running, "queued", len(e.adm.queue))
	}
	e.mu.Unlock()
	e.cancel()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("migrate: shutdown: %w", ctx.Err())
	}
}
