package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file keeps the engine's jobs in its Store: every Update is written
// into the job it reports on before OnUpdate hears of it.

// storeTimeout bounds the store writes the engine makes outside a
// caller's request (updates from the monitor, recovery).
const storeTimeout = 30 * time.Second

// errStale keeps a job unchanged when an update arrives after its end.
var errStale = errors.New("migrate: update for a finished job")

// record writes u into its job. A change of state, an error and the final
// statistics are durable when it returns; a progress sample may be
// deferred by the store (see Store.Update).
func (e *Engine) record(u Update) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	now := e.clock.Now()
	j, err := e.store.Update(ctx, u.JobID, func(j *Job) error {
		if j.Status.Terminal() {
			return errStale
		}
		applyUpdate(j, u, now)
		return nil
	})
	switch {
	case errors.Is(err, errStale):
		e.log.Debug("update for a finished job ignored", "job", u.JobID, "status", u.Status)
	case err != nil:
		e.log.Error("cannot record job update", "job", u.JobID, "status", u.Status, "err", err)
	case j.Status.Terminal():
		e.log.Info("migration job ended", "job", j.ID, "vm", j.VMName, "dest", j.Plan.DestHost,
			"status", j.Status, "error_kind", j.ErrKind, "status_line", j.StatusLine)
	}
}

// applyUpdate is an Update's change to its job: Status, Percent (never
// decreasing), the progress figures, the final statistics, the status
// line and, for a failure, ErrKind and Error. Once a Terminate or Kill has
// been accepted (Stopping), the job keeps saying it is shutting down until
// it ends.
func applyUpdate(j *Job, u Update, now time.Time) {
	st := u.Status
	stopping := j.Stopping != StopNone && !st.Terminal()
	if st != j.Status && !stopping {
		j.Changed = now
	}
	j.Status = st
	if (st == StatusStarting || st == StatusRunning) && j.Started.IsZero() {
		j.Started = now
	}
	if pc := min(max(u.Percent, 0), 100); pc > j.Percent {
		j.Percent = pc
	}
	pr := u.Progress
	if pr.DataTotal != 0 || pr.DataProcessed != 0 || pr.Iteration != 0 {
		j.Progress = pr
	}
	if r := u.Result; r != nil {
		res := *r
		j.Result = &res
		if r.DataTransferred != 0 {
			j.Progress.DataProcessed = r.DataTransferred
		}
		if r.Iterations != 0 {
			j.Progress.Iteration = r.Iterations
		}
	}
	if st.Terminal() {
		j.Changed, j.Ended = now, now
		if j.Started.IsZero() {
			j.Started = j.Submitted
		}
	}
	switch {
	case stopping:
		if u.Reason != "" {
			j.StatusLine = withReason("Shutting down", u.Reason)
		}
	case st == StatusQueued:
		j.StatusLine = withReason("Queued", u.Reason)
	case st == StatusStarting:
		j.StatusLine = withReason("Starting", u.Reason)
	case st == StatusRunning:
		s := fmt.Sprintf("Running: %d%%", j.Percent)
		if pr.Phase != "" {
			s += ", " + pr.Phase
		}
		if pr.Iteration != 0 {
			s += fmt.Sprintf(", iteration %d", pr.Iteration)
		}
		j.StatusLine = withReason(s, u.Reason)
	case st == StatusCompleted:
		j.Percent = 100
		j.ErrKind, j.Error = 0, ""
		j.StatusLine = withReason("Completed", u.Reason)
	case st == StatusCancelled:
		j.StatusLine = withReason("Terminated on request", u.Reason)
	case st == StatusKilled:
		j.StatusLine = withReason("Killed on request", u.Reason)
	default: // StatusFailed
		kind := Failed
		if u.Err != nil {
			kind = KindOf(u.Err)
		}
		// The Reason of a failure says it all (see Update); Err, which
		// often repeats it, classifies it. Each is said once.
		desc := u.Reason
		if desc == "" && u.Err != nil {
			desc = u.Err.Error()
		}
		if desc == "" {
			desc = "migration failed"
		}
		j.ErrKind, j.Error = kind, desc
		j.StatusLine = "Failed: " + desc
	}
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + " (" + reason + ")"
}

// endRecord ends a job that the engine does not run (a Cancel before
// Recover took it up, a job Recover could not reconcile) in status st,
// with kind and desc for a failure or desc as its status line otherwise.
// A job already ended is left as it is.
func (e *Engine) endRecord(ctx context.Context, id string, st Status, kind CheckKind, desc string) (*Job, error) {
	now := e.clock.Now()
	return e.store.Update(ctx, id, func(j *Job) error {
		if j.Status.Terminal() {
			return nil
		}
		j.Status = st
		j.Changed, j.Ended = now, now
		if j.Started.IsZero() {
			j.Started = j.Submitted
		}
		if st == StatusFailed {
			j.ErrKind, j.Error = kind, desc
			j.StatusLine = "Failed: " + desc
		} else {
			j.StatusLine = desc
		}
		return nil
	})
}

// markStopping records an accepted Terminate or Kill of a job that has not
// ended: it says "Shutting down" until it does.
func (e *Engine) markStopping(ctx context.Context, id string, stop Stop) (*Job, error) {
	now := e.clock.Now()
	return e.store.Update(ctx, id, func(j *Job) error {
		if !j.Status.Terminal() && j.Stopping == StopNone {
			j.Stopping = stop
			j.Changed = now
			j.StatusLine = "Shutting down: " + stop.String() + " requested"
		}
		return nil
	})
}
