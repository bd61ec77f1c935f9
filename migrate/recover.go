package migrate

import (
	"context"
	"errors"
	"fmt"
)

// Recover takes up every job its Store holds unfinished: the jobs a
// previous run of the daemon left queued, starting or running. Call it
// once, after New and before taking requests. Each job is handed on as
// recoverJob says; its record says "Recovering after a restart of vsmigd"
// (or, for a queued one, "Queued (taken up again after a restart of
// vsmigd)") until the engine knows more. A job whose record cannot be
// read back into a valid plan, or that the engine cannot take up, ends in
// StatusFailed with an Error that says so: no job stays unfinished
// forever. Recover fails only if the Store cannot be read.
//
// The progress a job shows until the engine reports anew is what its
// record last held (see Store.Update on what a crash may lose).
func (e *Engine) Recover(ctx context.Context) error {
	recs, err := e.store.List(ctx)
	if err != nil {
		return fmt.Errorf("migrate: recover jobs: %w", err)
	}
	for _, r := range recs {
		if r.Status.Terminal() {
			continue
		}
		if err := validate(r.Plan); err != nil {
			e.log.ErrorContext(ctx, "interrupted job cannot be recovered", "job", r.ID, "err", err)
			e.failRecord(ctx, r.ID, Failed, "interrupted by a restart of vsmigd; its request could not be read back, the state of the virtual system is unknown")
			continue
		}
		queued := r.Status == StatusQueued
		status := "Recovering after a restart of vsmigd"
		if queued {
			status = "Queued (taken up again after a restart of vsmigd)"
		}
		_, err := e.store.Update(ctx, r.ID, func(j *Job) error {
			if !j.Status.Terminal() {
				j.StatusLine = status
			}
			return nil
		})
		if err != nil {
			e.log.WarnContext(ctx, "cannot record recovery", "job", r.ID, "err", err)
		}
		if err := e.recoverJob(ctx, r, queued); err != nil {
			e.log.ErrorContext(ctx, "engine could not recover job", "job", r.ID, "err", err)
			e.failRecord(ctx, r.ID, KindOf(err), "interrupted by a restart of vsmigd and could not be reconciled: "+err.Error())
			continue
		}
		e.log.InfoContext(ctx, "interrupted job handed back to the engine", "job", r.ID, "vm", r.VMName)
	}
	return nil
}

// failRecord ends a job the engine does not run in StatusFailed.
func (e *Engine) failRecord(ctx context.Context, id string, kind CheckKind, desc string) {
	if _, err := e.endRecord(ctx, id, StatusFailed, kind, desc); err != nil {
		e.log.Error("cannot record end of job", "job", id, "err", err)
	}
}

// recoverJob takes back one job that was unfinished when the daemon
// stopped.
//
// If the hypervisor still runs the migration (Driver.Attach), the job is
// monitored as if nothing had happened. If not (ErrNoJob), where the VM now
// is decides the outcome (Driver.Locate), reported through OnUpdate before
// recoverJob returns:
//
//   - destination only: StatusCompleted, "completed while vsmigd was down";
//   - source only: StatusFailed, "interrupted by a restart; the VM is still
//     running on the source" (or "still on the source, shut off", or
//     paused: as it is);
//   - both: the copy to keep is the source's if it is running there (the
//     destination resumes a guest only after the source has stopped it for
//     good, so its copy never ran) and the destination's otherwise (the
//     switch-over happened, or post-copy had begun). The driver's Repairer
//     removes the other copy, so the VM never runs twice; without one the
//     job fails and says a person must do it;
//   - nowhere: StatusFailed with a reason that says the VM may be lost.
//
// A job that had not started (queued, as its record says) whose VM is
// still on this host in a state its type may move (StateAllows) is
// queued again under Submit's rules (no
// Update; their errors are recoverJob's), in its old place: the record's
// "queued" may be up to one write behind, which is why the hypervisor is
// asked first.
//
// A recovered running job counts against MaxTotal and the host limits but
// is never refused by them: it runs already. Other errors are returned and
// leave no trace in the engine.
func (e *Engine) recoverJob(ctx context.Context, r *Job, queued bool) error {
	req := Request{JobID: r.ID, Priority: r.Priority, Submitted: r.Submitted, Plan: r.Plan}
	plan := Resolve(e.cfg, req)
	plan.VM = canonicalUUID(plan.VM)
	var memBytes uint64
	vmName := r.VMName
	if d, err := e.local.Domain(ctx, plan.VM); err == nil {
		memBytes = d.MemoryKiB * 1024
	}
	if _, err := e.hostName(ctx); err != nil {
		return err
	}
	j := &job{
		id: req.JobID, vm: plan.VM, dest: plan.DestHost,
		priority: req.Priority, submitted: req.Submitted,
		plan: plan, opts: PolicyFor(e.cfg, plan, memBytes),
		status: StatusRunning, stored: true,
	}
	j.cj = e.clusterJob(j, vmName, memBytes/1024)
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return ErrShuttingDown
	}
	if _, taken := e.jobs[j.id]; taken {
		e.mu.Unlock()
		return &CheckError{Kind: InvalidParameter, Reason: fmt.Sprintf("job ID %q is already in use", j.id)}
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
		if c := e.cfg.Cluster; c != nil {
			// It runs already: the cluster counts it, whatever the limits.
			if err := c.Reattach(ctx, j.cj); err != nil {
				e.log.Warn("cannot retake the cluster slot of a running migration", "job", j.id, "err", err)
			}
		}
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
		if queued && e.stillHere(ctx, j.vm, j.plan.Type) {
			e.release(j)
			e.log.Info("queued migration queued again after a restart", "job", j.id, "vm", j.vm)
			return e.requeue(ctx, req)
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

// requeue queues again, under Submit's rules, a job whose record exists.
func (e *Engine) requeue(ctx context.Context, req Request) error {
	plan, dom, _, err := e.evaluate(ctx, req)
	if err != nil {
		return err
	}
	j := &job{
		id: req.JobID, vm: plan.VM, dest: plan.DestHost,
		priority: req.Priority, submitted: req.Submitted,
		plan: plan, opts: PolicyFor(e.cfg, plan, dom.MemoryKiB*1024),
		status: StatusQueued, stored: true,
	}
	j.cj = e.clusterJob(j, dom.Name, dom.MemoryKiB)
	if c := e.cfg.Cluster; c != nil {
		if err := c.Lock(ctx, j.cj); err != nil {
			return err
		}
	}
	if err := e.enqueue(j); err != nil {
		e.clusterRelease(j)
		return err
	}
	return nil
}

// stillHere reports whether the VM is on this host in a state a
// migration of type t may move (StateAllows): a queued Restart of a
// shut-off VM is queued again like a Live one of a running VM.
func (e *Engine) stillHere(ctx context.Context, vm string, t Type) bool {
	d, err := e.local.Domain(ctx, vm)
	return err == nil && StateAllows(d, t) == nil
}

// release undoes recoverJob's admission of j without reporting anything.
func (e *Engine) release(j *job) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.jobs, j.id)
	e.launchLocked(e.adm.finish(j))
}

// onSource says how the VM is on the source, for a job's end: "the VM is
// still running on the source", or "... on the source, shut off" (or
// paused): never running when it is not.
func (e *Engine) onSource(ctx context.Context, vm string) string {
	d, err := e.local.Domain(ctx, vm)
	switch {
	case err != nil:
		return "the VM is still on the source"
	case d.State == StateRunning:
		return "the VM is still running on the source"
	}
	return "the VM is still on the source, " + d.State.String()
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
		failed("interrupted by a restart; " + e.onSource(ctx, j.vm))
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
