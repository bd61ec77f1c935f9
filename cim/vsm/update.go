package vsm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
)

// errStale makes Store.Update keep a job unchanged.
var errStale = errors.New("vsm: update for a finished job")

// stateOf maps the engine's status to JobState.
func stateOf(s migrate.Status) job.State {
	switch s {
	case migrate.StatusQueued:
		return job.New
	case migrate.StatusStarting:
		return job.Starting
	case migrate.StatusRunning:
		return job.Running
	case migrate.StatusCompleted:
		return job.Completed
	case migrate.StatusCancelled:
		return job.Terminated
	case migrate.StatusKilled:
		return job.Killed
	}
	return job.Exception
}

// OnUpdate records an engine Update in the job: JobState, PercentComplete
// (never decreasing), statistics, and for a failure ErrorCode (the DSP1081
// code of the error, see codeOf) and ErrorDescription. The daemon wires it
// as the engine's update hook. Updates after a terminal state are ignored.
//
// A state change, an error and the final statistics are on disk when
// OnUpdate returns. A progress sample (a Running update that changes only
// PercentComplete, the counters and the status line) is visible to Get
// and Enumerate at once but reaches the disk at most every
// job.Config.ProgressInterval (see job.Store.Update): a crash of the
// daemon loses at most that much progress, and Recover has the engine
// report what became of the migration anyway.
func (p *Profile) OnUpdate(u migrate.Update) {
	ctx, cancel := bg()
	defer cancel()
	now := p.now()
	j, err := p.store.Update(ctx, u.JobID, func(j *job.Job) error {
		if j.State.Terminal() {
			return errStale
		}
		applyEngineUpdate(j, u, now)
		return nil
	})
	switch {
	case errors.Is(err, errStale):
		p.log.Debug("update for a finished job ignored", "job", u.JobID, "status", u.Status)
		return
	case errors.Is(err, job.ErrNotFound):
		p.log.Warn("update for an unknown job", "job", u.JobID, "status", u.Status)
		return
	case err != nil:
		p.log.Error("cannot record job update", "job", u.JobID, "status", u.Status, "err", err)
		return
	}
	if j.State.Terminal() {
		p.jobEnded(j)
		p.log.Info("migration job ended", "job", j.InstanceID, "vm", j.VMName, "dest", j.DestinationHost,
			"state", j.State, "error_code", j.ErrorCode, "status", j.JobStatus)
	}
}

// applyEngineUpdate is OnUpdate's change to the stored job.
func applyEngineUpdate(j *job.Job, u migrate.Update, now time.Time) {
	st := stateOf(u.Status)
	if j.State == job.ShuttingDown && !st.Terminal() {
		st = job.ShuttingDown // a cancel is under way: do not look Running again
	}
	if st != j.State {
		j.State = st
		j.TimeOfLastStateChange = now
	}
	if (st == job.Starting || st == job.Running) && j.StartTime.IsZero() {
		j.StartTime = now
	}
	if pc := uint16(min(max(u.Percent, 0), 100)); pc > j.PercentComplete {
		j.PercentComplete = pc
	}
	pr := u.Progress
	if pr.DataTotal != 0 || pr.DataProcessed != 0 || pr.Iteration != 0 {
		j.DataTotal, j.DataProcessed, j.DataRemaining = pr.DataTotal, pr.DataProcessed, pr.DataRemaining
		j.Iteration, j.DirtyRate, j.ExpectedDowntime = pr.Iteration, pr.DirtyRate, pr.ExpectedDowntime
	}
	if r := u.Result; r != nil {
		j.TotalTime, j.Downtime = r.TotalTime, r.Downtime
		if r.DataTransferred != 0 {
			j.DataProcessed = r.DataTransferred
		}
		if r.Iterations != 0 {
			j.Iteration = r.Iterations
		}
	}
	if st.Terminal() {
		j.EndTime = now
		if j.StartTime.IsZero() {
			j.StartTime = j.TimeSubmitted
		}
	}
	switch st {
	case job.New:
		j.JobStatus = withReason("Queued", u.Reason)
	case job.Starting:
		j.JobStatus = withReason("Starting", u.Reason)
	case job.Running:
		s := fmt.Sprintf("Running: %d%%", j.PercentComplete)
		if pr.Phase != "" {
			s += ", " + pr.Phase
		}
		if pr.Iteration != 0 {
			s += fmt.Sprintf(", iteration %d", pr.Iteration)
		}
		j.JobStatus = withReason(s, u.Reason)
	case job.ShuttingDown:
		if u.Reason != "" {
			j.JobStatus = withReason("Shutting down", u.Reason)
		}
	case job.Completed:
		j.PercentComplete = 100
		j.ErrorCode, j.ErrorDescription = 0, ""
		j.JobStatus = withReason("Completed", u.Reason)
	case job.Terminated:
		j.JobStatus = withReason("Terminated on request", u.Reason)
	case job.Killed:
		j.JobStatus = withReason("Killed on request", u.Reason)
	case job.Exception:
		code := RetFailed
		if u.Err != nil {
			code = codeOf(u.Err)
		}
		desc := u.Reason
		if u.Err != nil {
			if desc == "" {
				desc = u.Err.Error()
			} else if !strings.Contains(desc, u.Err.Error()) {
				desc += ": " + u.Err.Error()
			}
		}
		if desc == "" {
			desc = "migration failed"
		}
		j.ErrorCode, j.ErrorDescription = uint16(code), desc
		j.JobStatus = "Failed: " + desc
	}
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + " (" + reason + ")"
}

// Recover reconciles the jobs that a previous run of the daemon left
// unfinished: each one's stored request goes back to the engine
// (Engine.Recover), which finds out what became of the migration and
// reports the outcome through OnUpdate; a job still New is marked queued
// (migrate.Request.Queued), and the engine queues it again if it never
// started. A job the engine cannot take, or
// whose request cannot be read back, ends in Exception with a description
// that says so; no job stays Running forever. Recover fails only if the
// Store cannot be read. The progress a job shows until the engine reports
// may be up to job.Config.ProgressInterval older than it was at the
// crash.
func (p *Profile) Recover(ctx context.Context) error {
	jobs, err := p.store.List(ctx)
	if err != nil {
		return fmt.Errorf("vsm: recover jobs: %w", err)
	}
	for _, j := range jobs {
		if j.State.Terminal() {
			continue
		}
		// The active index already holds j (New loaded it), so an outcome
		// the engine reports at once clears it.
		var req migrate.Request
		err := json.Unmarshal(j.Request, &req)
		req.Queued = j.State == job.New
		if err != nil || req.JobID != j.InstanceID {
			p.log.ErrorContext(ctx, "interrupted job cannot be recovered", "job", j.InstanceID, "err", err)
			p.failJob(j.InstanceID, RetFailed, "interrupted by a restart of vsmigd; its request could not be read back, the state of the virtual system is unknown")
			continue
		}
		status := "Recovering after a restart of vsmigd"
		if req.Queued {
			// The engine queues it again if it never started (no Update).
			status = "Queued (taken up again after a restart of vsmigd)"
		}
		_, err = p.store.Update(ctx, j.InstanceID, func(j *job.Job) error {
			if !j.State.Terminal() {
				j.JobStatus = status
			}
			return nil
		})
		if err != nil {
			p.log.WarnContext(ctx, "cannot record recovery", "job", j.InstanceID, "err", err)
		}
		// The engine may report the outcome through OnUpdate before it
		// returns.
		if err := p.engine.Recover(ctx, req); err != nil {
			p.log.ErrorContext(ctx, "engine could not recover job", "job", j.InstanceID, "err", err)
			p.failJob(j.InstanceID, codeOf(err), "interrupted by a restart of vsmigd and could not be reconciled: "+err.Error())
			continue
		}
		p.log.InfoContext(ctx, "interrupted job handed back to the engine", "job", j.InstanceID, "vm", j.VMName)
	}
	return nil
}
