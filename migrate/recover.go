package migrate

import (
	"context"
	"errors"
	"fmt"
)

// Recover takes back a job that was running before the daemon restarted.
// req is the job's original request (the caller keeps it in its store).
//
// If the hypervisor still runs the migration (Driver.Attach), the job is
// monitored as if nothing had happened. If not (ErrNoJob), where the VM now
// is decides the outcome (Driver.Locate), reported through OnUpdate before
// Recover returns:
//
//   - destination only: StatusCompleted, "completed while vsmigd was down";
//   - source only: StatusFailed, "interrupted by a restart; the VM is still
//     running on the source";
//   - both: the copy to keep is the source's if it is running there (the
//     destination resumes a guest only after the source has stopped it for
//     good, so its copy never ran) and the destination's otherwise (the
//     switch-over happened, or post-copy had begun). The driver's Repairer
//     removes the other copy, so the VM never runs twice; without one the
//     job fails and says a person must do it;
//   - nowhere: StatusFailed with a reason that says the VM may be lost.
//
// A job that had not started (req.Queued) whose VM is still active on this
// host is queued again as Submit would (no Update; Submit's errors are
// Recover's), in its old place: the store's "New" may be up to one
// progress write behind, which is why the hypervisor is asked first.
//
// A recovered job counts against MaxTotal and the host limits but is never
// refused by them: it runs already. Other errors are returned and leave no
// trace; the caller may call Recover again.
func (e *Engine) Recover(ctx context.Context, req Request) error {
	if req.JobID == "" {
		return &CheckError{Kind: InvalidParameter, Reason: "empty job ID"}
	}
	if err := validate(req.Plan); err != nil {
		return err
	}
	plan := Resolve(e.cfg, req)
	plan.VM = canonicalUUID(plan.VM)
	var memBytes uint64
	if d, err := e.local.Domain(ctx, plan.VM); err == nil {
		memBytes = d.MemoryKiB * 1024
	}
	j := &job{
		id: req.JobID, vm: plan.VM, dest: plan.DestHost,
		priority: req.Priority, submitted: req.Submitted,
		plan: plan, opts: PolicyFor(e.cfg, plan, memBytes),
		status: StatusRunning,
	}
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return ErrShuttingDown
	}
	if err := e.idFreeLocked(j.id); err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.adm.attach(j); err != nil {
		e.mu.Unlock()
		return err
	}
	e.jobs[j.id] = j
	e.mu.Unlock()

	mig, err := e.local.Attach(ctx, plan)
	switch {
	case err == nil:
		e.mu.Lock()
		j.mig = mig
		pending := j.cancel
		e.mu.Unlock()
		e.log.Info("migration re-attached", "job", j.id, "vm", j.vm, "dest", j.dest)
		if pending != noCancel {
			if err := mig.Abort(ctx); err != nil {
				e.log.Warn("abort after re-attach failed", "job", j.id, "err", err)
			}
		}
		if !e.goAttach(func() { e.watch(j, mig) }) {
			return ErrShuttingDown
		}
		return nil
	case errors.Is(err, ErrNoJob):
		if req.Queued && e.stillHere(ctx, j.vm) {
			e.release(j)
			e.log.Info("queued migration queued again after a restart", "job", j.id, "vm", j.vm)
			return e.Submit(ctx, req)
		}
		u, err := e.settle(ctx, j)
		if err != nil {
			e.release(j)
			return err
		}
		e.end(j, u)
		return nil
	default:
		e.release(j)
		return fmt.Errorf("migrate: recover job %s: attach: %w", j.id, err)
	}
}

// stillHere reports whether the VM runs (or is paused) on this host.
func (e *Engine) stillHere(ctx context.Context, vm string) bool {
	d, err := e.local.Domain(ctx, vm)
	return err == nil && (d.State == StateRunning || d.State == StatePaused)
}

// release undoes Recover's admission of j without reporting anything.
func (e *Engine) release(j *job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.jobs, j.id)
	e.launchLocked(e.adm.finish(j))
}

// settle decides the outcome of a job whose hypervisor job is gone.
func (e *Engine) settle(ctx context.Context, j *job) (Update, error) {
	loc, err := e.local.Locate(ctx, j.plan)
	if err != nil {
		return Update{}, fmt.Errorf("migrate: recover job %s: locate: %w", j.id, err)
	}
	u := Update{JobID: j.id}
	failed := func(reason string) {
		u.Status, u.Reason, u.Err = StatusFailed, reason, errors.New("migrate: "+reason)
	}
	switch loc {
	case LocationDestination:
		u.Status, u.Percent, u.Reason = StatusCompleted, 100, "completed while vsmigd was down"
	case LocationSource:
		failed("interrupted by a restart; the VM is still running on the source")
	case LocationBoth:
		keep := LocationDestination
		if d, err := e.local.Domain(ctx, j.vm); err == nil && d.State == StateRunning {
			keep = LocationSource
		}
		r, ok := e.local.(Repairer)
		if !ok {
			failed(fmt.Sprintf("interrupted by a restart; the VM is defined on both this host and %s and this driver cannot repair that: keep the running copy and remove the other by hand", j.dest))
			break
		}
		if err := r.Repair(ctx, j.plan, keep); err != nil {
			failed(fmt.Sprintf("interrupted by a restart; the VM is on both this host and %s and the repair failed: %v", j.dest, err))
			break
		}
		if keep == LocationSource {
			failed(fmt.Sprintf("interrupted by a restart; the VM is still running on the source (the unfinished copy on %s was removed)", j.dest))
		} else {
			u.Status, u.Percent = StatusCompleted, 100
			u.Reason = "completed while vsmigd was down (the stopped copy on the source was removed)"
		}
	case LocationNowhere:
		failed(fmt.Sprintf("interrupted by a restart and the VM is on neither this host nor %s: it may be lost, check both hosts now", j.dest))
	default:
		return Update{}, fmt.Errorf("migrate: recover job %s: the driver cannot tell where the VM is", j.id)
	}
	e.log.Warn("migration settled after restart", "job", j.id, "vm", j.vm, "status", u.Status, "reason", u.Reason)
	return u, nil
}
