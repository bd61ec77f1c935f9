package migrate

import (
	"errors"
	"fmt"
	"time"
)

// run carries out one admitted job: start it through the driver, watch it,
// report its end.
func (e *Engine) run(j *job) {
	e.emit(j.update(Update{Status: StatusStarting}))
	if err := e.clusterAcquire(j); err != nil {
		e.notStarted(j, err)
		return
	}
	mig, err := e.local.Start(e.ctx, j.plan)
	if err != nil {
		if e.shuttingDown() {
			return // the store still says starting; Recover decides
		}
		e.endUnstarted(j, "while starting", "could not start: "+err.Error(), err)
		return
	}
	e.mu.Lock()
	j.mig = mig
	j.status = StatusRunning
	pending := j.cancel
	e.mu.Unlock()
	if pending != noCancel {
		if err := mig.Abort(e.ctx); err != nil {
			e.log.Warn("abort after start failed", "job", j.id, "err", err)
		}
	}
	e.watch(j, mig)
}

// watch monitors mig until it ends and reports the outcome, or returns
// quietly when the engine shuts down.
func (e *Engine) watch(j *job, mig Migration) {
	if u, ok := e.monitor(j, mig); ok {
		e.end(j, u)
	}
}

func (e *Engine) shuttingDown() bool {
	select {
	case <-e.stopc:
		return true
	default:
		return false
	}
}

// monitor is the loop of one running migration (KubeVirt's shape): it
// waits for the first of the migration's end, an iteration event (when the
// driver offers them), the poll ticker, or shutdown. Each sample is folded
// into the policy state, the decided action is carried out and its reason
// kept for the job, and a StatusRunning Update goes out.
//
// It returns the final Update, or false if the engine is shutting down (the
// migration keeps running in the hypervisor).
func (e *Engine) monitor(j *job, mig Migration) (Update, bool) {
	ticker := e.clock.NewTicker(e.cfg.PollInterval)
	defer ticker.Stop()
	var iterations <-chan uint64
	if n, ok := mig.(IterationNotifier); ok {
		iterations = n.Iterations()
	}
	now := e.clock.Now()
	m := sampler{e: e, j: j, mig: mig, st: newMonitorState(now), lastOK: now}
	m.sample()
	for {
		select {
		case <-mig.Done():
			return m.outcome(), true
		case <-e.stopc:
			return Update{}, false
		case <-ticker.C():
			m.sample()
		case <-iterations:
			m.sample()
		}
	}
}

// sampler is the monitor's memory for one job.
type sampler struct {
	e      *Engine
	j      *job
	mig    Migration
	st     monitorState
	pct    int
	last   Progress
	reason string // the last policy action, kept on later updates

	lastOK time.Time // last successful sample
	blind  bool      // aborted for lack of statistics
}

func (m *sampler) sample() {
	p, err := m.mig.Progress(m.e.ctx)
	now := m.e.clock.Now()
	if err != nil {
		// Usually transient (the job may be ending; Done decides). But a
		// migration nobody can watch must not run unbounded: after the
		// progress timeout without statistics, abort it.
		m.e.log.Debug("progress", "job", m.j.id, "err", err)
		if pt := m.j.opts.ProgressTimeout; pt > 0 && !m.blind && now.Sub(m.lastOK) > pt {
			m.blind = true
			m.abort(fmt.Sprintf("no statistics from the hypervisor for %v (%v)", pt, err))
		}
		return
	}
	m.lastOK = now
	if !p.hasFigures() && m.last.hasFigures() {
		// The transfer's end (finishing, or an abort under way) reports
		// no figures: the job keeps the last ones rather than showing
		// zeros, and the policy sees no progress.
		phase, elapsed := p.Phase, p.Elapsed
		p = m.last
		p.Phase, p.Elapsed = phase, elapsed
	}
	m.st = m.st.observe(p, now)
	a, why := Decide(m.st, p, m.j.opts, now)
	if a.Kind != ActNothing {
		m.apply(a, why)
		m.st = m.st.applied(a, m.j.opts, now)
	}
	m.last = p
	m.pct = Percent(m.pct, p)
	m.e.log.Debug("job progress", "job", m.j.id, "percent", m.pct, "processed", p.DataProcessed,
		"remaining", p.DataRemaining, "total", p.DataTotal, "iteration", p.Iteration, "phase", p.Phase)
	m.e.emit(m.j.update(Update{Status: StatusRunning, Progress: p, Percent: m.pct, Reason: m.reason}))
}

// apply carries out a policy action. A failed tuning call is logged and
// not retried (the state counts it as done); a failed post-copy switch
// falls back to an abort.
func (m *sampler) apply(a Action, why string) {
	ctx, e, j := m.e.ctx, m.e, m.j
	e.log.Info("policy", "job", j.id, "vm", j.vm, "action", a.Kind, "reason", why)
	m.reason = why
	var err error
	switch a.Kind {
	case ActRaiseDowntime:
		err = m.mig.SetMaxDowntime(ctx, a.Downtime)
	case ActAutoConverge:
		err = m.mig.EnableAutoConverge(ctx)
		if errors.Is(err, ErrUnsupported) {
			m.reason = why + " (not available on this driver)"
		}
	case ActPostCopy:
		if err = m.mig.StartPostCopy(ctx); err != nil {
			m.abort(fmt.Sprintf("%s; post-copy failed (%v)", why, err))
			return
		}
	case ActAbort:
		m.abort(why)
		return
	}
	if err != nil {
		e.log.Warn("policy action failed", "job", j.id, "action", a.Kind, "err", err)
	}
}

func (m *sampler) abort(why string) {
	m.e.mu.Lock()
	if m.j.abortReason == "" {
		m.j.abortReason = why
	}
	m.e.mu.Unlock()
	m.reason = why
	if err := m.mig.Abort(m.e.ctx); err != nil {
		m.e.log.Error("policy abort failed", "job", m.j.id, "err", err)
	}
}

// outcome maps the ended migration to the job's final Update.
func (m *sampler) outcome() Update {
	res, err := m.mig.Result()
	m.e.mu.Lock()
	cancel, policy := m.j.cancel, m.j.abortReason
	m.e.mu.Unlock()
	u := Update{JobID: m.j.id, Progress: m.last, Percent: m.pct}
	if res != (Result{}) {
		u.Result = &res
	}
	switch {
	case err == nil:
		u.Status, u.Percent, u.Result = StatusCompleted, 100, &res
		u.Reason = "completed"
		if cancel != noCancel {
			u.Reason = "completed before the cancel took effect"
		}
	case cancel == killRequested:
		u.Status, u.Reason = StatusKilled, "killed by request; the VM runs on the source"
	case cancel == cancelRequested:
		u.Status, u.Reason = StatusCancelled, "cancelled by request; the VM runs on the source"
	case policy != "":
		u.Status, u.Reason = StatusFailed, policy+"; aborted, the VM runs on the source"
		u.Err = fmt.Errorf("%w: %s", ErrPolicyAbort, policy)
	case m.st.postCopy:
		u.Status, u.Err = StatusFailed, err
		u.Reason = err.Error() + "; failed during post-copy, the VM may be lost: check " + m.j.dest
	default:
		u.Status, u.Err = StatusFailed, err
		u.Reason = err.Error() + "; the VM runs on the source"
	}
	return u
}
