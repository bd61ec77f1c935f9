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

// finishedMemory is how many finished job IDs the engine remembers, so that
// Cancel of a recently finished job says ErrFinished rather than ErrNoJob.
const finishedMemory = 4096

// cancelKind is a pending Cancel request on a job.
type cancelKind int

const (
	noCancel cancelKind = iota
	cancelRequested
	killRequested
)

// job is one migration the engine knows about.
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
	status      Status
	mig         Migration
	cancel      cancelKind
	abortReason string
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

// Engine runs migrations from the host of its local Driver: it admits and
// queues requests, starts them, watches them with the policy, and reports
// through Config.OnUpdate. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	local Driver
	clock Clock
	log   *slog.Logger

	ctx    context.Context // cancelled by Shutdown; bounds driver calls of jobs
	cancel context.CancelFunc

	mu       sync.Mutex
	adm      *admission
	jobs     map[string]*job // queued and running
	finished map[string]Status
	order    []string // finished IDs, oldest first
	self     string   // local host name, once known
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
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg:      cfg,
		local:    local,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		ctx:      ctx,
		cancel:   cancel,
		adm:      newAdmission(cfg),
		jobs:     make(map[string]*job),
		finished: make(map[string]Status),
		stopc:    make(chan struct{}),
	}, nil
}

// Driver returns the engine's local driver.
func (e *Engine) Driver() Driver { return e.local }

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

// Status returns the engine-side state of a job it knows about.
func (e *Engine) Status(jobID string) (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j, ok := e.jobs[jobID]; ok {
		return j.status, nil
	}
	if s, ok := e.finished[jobID]; ok {
		return s, nil
	}
	return 0, ErrNoJob
}

// Check reports whether req could be carried out now, without changing
// anything: the request's form, admission (ErrVMBusy, ErrBusy), the VM on
// this host and its state for the migration type, and the driver's check
// against the real destination (*CheckError).
func (e *Engine) Check(ctx context.Context, req Request) error {
	plan, _, err := e.prepare(ctx, req)
	if err != nil {
		return err
	}
	e.mu.Lock()
	err = e.adm.check(plan.VM, plan.DestHost)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.local.Check(ctx, plan)
}

// Submit accepts req and queues it. It makes the checks of Check except the
// driver's destination check, which the driver repeats when it starts the
// migration anyway. A nil error means the job is StatusQueued (no Update is
// sent for that); everything after arrives through Config.OnUpdate.
func (e *Engine) Submit(ctx context.Context, req Request) error {
	if req.JobID == "" {
		return &CheckError{Kind: InvalidParameter, Reason: "empty job ID"}
	}
	plan, dom, err := e.prepare(ctx, req)
	if err != nil {
		return err
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return ErrShuttingDown
	}
	if err := e.idFreeLocked(j.id); err != nil {
		return err
	}
	started, err := e.adm.enqueue(j)
	if err == nil {
		e.jobs[j.id] = j
	}
	e.launchLocked(started)
	if err != nil {
		e.log.Info("migration refused", "job", j.id, "vm", j.vm, "err", err)
		return err
	}
	e.log.Info("migration queued", "job", j.id, "vm", j.vm, "dest", j.dest, "type", plan.Type,
		"running", e.adm.running, "queued", len(e.adm.queue))
	return nil
}

func (e *Engine) idFreeLocked(id string) error {
	_, running := e.jobs[id]
	_, done := e.finished[id]
	if running || done {
		return &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("job ID %q is already in use", id)}
	}
	return nil
}

// prepare validates req, resolves its plan and checks the VM on this host.
func (e *Engine) prepare(ctx context.Context, req Request) (Plan, Domain, error) {
	if err := validate(req.Plan); err != nil {
		return Plan{}, Domain{}, err
	}
	plan := Resolve(e.cfg, req)
	plan.VM = canonicalUUID(plan.VM)
	dom, err := e.local.Domain(ctx, plan.VM)
	if errors.Is(err, ErrNoDomain) {
		return Plan{}, Domain{}, &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("no virtual machine %s on this host", plan.VM), Err: err}
	}
	if err != nil {
		return Plan{}, Domain{}, fmt.Errorf("migrate: look up %s: %w", plan.VM, err)
	}
	if err := stateFits(dom, plan.Type); err != nil {
		return Plan{}, Domain{}, err
	}
	self, err := e.hostName(ctx)
	if err != nil {
		return Plan{}, Domain{}, err
	}
	if self == plan.DestHost {
		return Plan{}, Domain{}, &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("destination %s is the source host", plan.DestHost)}
	}
	return plan, dom, nil
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

// stateFits checks the VM's run state against the migration type: live
// and resume need it running, restart running or shut off.
func stateFits(d Domain, t Type) error {
	ok := d.State == StateRunning || (t == Restart && d.State == StateShutoff)
	if ok {
		return nil
	}
	want := "running"
	if t == Restart {
		want = "running or shut off"
	}
	return &CheckError{Kind: InvalidState, Reason: fmt.Sprintf("virtual machine %s is %s; a %s migration needs it %s", d.Name, d.State, t, want)}
}

func canonicalUUID(s string) string {
	if u, err := uuid.Parse(s); err == nil {
		return u.String()
	}
	return s
}

// launchLocked starts the jobs admission let through, each in a tracked
// goroutine. After Shutdown began nothing starts; the jobs stay queued
// and are lost with the engine (their store still says queued).
func (e *Engine) launchLocked(jobs []*job) {
	for _, j := range jobs {
		if e.stopping {
			return
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
// which leaves the VM on the source; its final Update follows from the
// monitor. A job that already ended gives ErrFinished, an unknown one
// ErrNoJob. A migration in post-copy cannot be aborted: the driver's error
// is returned and the job goes on.
func (e *Engine) Cancel(ctx context.Context, jobID string, kill bool) error {
	kind, final := cancelRequested, StatusCancelled
	if kill {
		kind, final = killRequested, StatusKilled
	}
	e.mu.Lock()
	j, ok := e.jobs[jobID]
	if !ok {
		_, done := e.finished[jobID]
		e.mu.Unlock()
		if done {
			return ErrFinished
		}
		return ErrNoJob
	}
	switch {
	case j.status == StatusQueued:
		e.adm.remove(j)
		j.status = final
		e.forgetLocked(j)
		e.mu.Unlock()
		e.emit(Update{JobID: j.id, Status: final, Reason: "cancelled before it started"})
		return nil
	case j.status.Terminal():
		e.mu.Unlock()
		return ErrFinished
	case j.mig == nil: // starting: run aborts once Start returns
		j.cancel = kind
		e.mu.Unlock()
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
	return nil
}

// forgetLocked moves a job from the live set to the finished memory.
func (e *Engine) forgetLocked(j *job) {
	delete(e.jobs, j.id)
	e.finished[j.id] = j.status
	e.order = append(e.order, j.id)
	if len(e.order) > finishedMemory {
		delete(e.finished, e.order[0])
		e.order = e.order[1:]
	}
}

// end records a running job's final state, reports it, then frees its
// slot (in that order, so the VM cannot be submitted again before its
// last job's end is known) and starts what may start.
func (e *Engine) end(j *job, u Update) {
	e.mu.Lock()
	j.status = u.Status
	e.mu.Unlock()
	e.emit(u)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetLocked(j)
	started := e.adm.finish(j)
	e.launchLocked(started)
	e.log.Info("migration ended", "job", j.id, "vm", j.vm, "status", u.Status, "reason", u.Reason,
		"running", e.adm.running, "queued", len(e.adm.queue))
}

func (e *Engine) emit(u Update) {
	if e.cfg.OnUpdate != nil {
		e.cfg.OnUpdate(u)
	}
}

// Shutdown stops the engine. In order:
//
//  1. Stop admission: Submit and Recover return ErrShuttingDown and no
//     queued job starts; queued jobs are dropped (the caller's store still
//     holds them as queued).
//  2. Stop the monitors: each returns without a final Update and without
//     aborting. Migrations keep running in the hypervisor; after a restart
//     the caller hands each running job to Recover, which re-attaches it or
//     decides its outcome from where the VM runs.
//  3. Cancel the context of driver calls in flight (a Start that has not
//     returned yet).
//  4. Wait for every goroutine the engine started, or for ctx.
//
// The local driver is not closed; its owner closes it.
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
