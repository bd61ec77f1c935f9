package migrate

import (
	"errors"
	"testing"
	"time"
)

// TestRecordLifecycle: how Updates change a job's record (they changed
// cim/vsm's copy of it before issue #10; the assertions are the same).
func TestRecordLifecycle(t *testing.T) {
	j := &Job{ID: "j", Submitted: t0, Status: StatusQueued, StatusLine: "Queued", Changed: t0}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	applyUpdate(j, Update{Status: StatusStarting}, at(1))
	if j.Status != StatusStarting || !j.Started.Equal(at(1)) || !j.Changed.Equal(at(1)) || j.StatusLine != "Starting" {
		t.Fatalf("starting: %+v", j)
	}
	applyUpdate(j, Update{Status: StatusRunning, Percent: 40,
		Progress: Progress{DataTotal: 1000, DataProcessed: 400, DataRemaining: 600, Iteration: 2, Phase: "precopy"}}, at(2))
	if j.Status != StatusRunning || j.Percent != 40 || j.Progress.DataProcessed != 400 || j.Progress.Iteration != 2 ||
		j.StatusLine != "Running: 40%, precopy, iteration 2" || !j.Started.Equal(at(1)) || !j.Changed.Equal(at(2)) {
		t.Fatalf("running: %+v", j)
	}
	// Percent never goes down; a sample without figures keeps the last.
	applyUpdate(j, Update{Status: StatusRunning, Percent: 30}, at(3))
	if j.Percent != 40 || j.Progress.DataProcessed != 400 || !j.Changed.Equal(at(2)) {
		t.Errorf("after a lower sample: %+v", j)
	}
	applyUpdate(j, Update{Status: StatusCompleted, Percent: 100,
		Result: &Result{TotalTime: 5 * time.Second, Downtime: 120 * time.Millisecond, DataTransferred: 1200, Iterations: 3}}, at(5))
	if j.Status != StatusCompleted || j.Percent != 100 || j.ErrKind != 0 || j.Error != "" || j.StatusLine != "Completed" ||
		j.Result == nil || j.Result.Downtime != 120*time.Millisecond || j.Progress.DataProcessed != 1200 ||
		j.Progress.Iteration != 3 || !j.Ended.Equal(at(5)) || !j.Changed.Equal(at(5)) {
		t.Fatalf("completed: %+v", j)
	}
}

func TestRecordFailure(t *testing.T) {
	j := &Job{ID: "j", Submitted: t0, Status: StatusRunning, Started: t0}
	applyUpdate(j, Update{Status: StatusRunning, Percent: 10}, t0)
	applyUpdate(j, Update{Status: StatusFailed, Reason: "did not converge",
		Err: &CheckError{Kind: Incompatible, Reason: "dirty rate above bandwidth"}}, t0.Add(time.Second))
	// The Reason says it all; Err classifies it (issue #14: a recovered
	// job's error said its text twice, once from each).
	if j.Status != StatusFailed || j.ErrKind != Incompatible || j.Error != "did not converge" ||
		j.StatusLine != "Failed: "+j.Error || j.Percent != 10 || j.Ended.IsZero() {
		t.Fatalf("failed: %+v", j)
	}
	j = &Job{ID: "j"}
	applyUpdate(j, Update{Status: StatusFailed, Reason: "interrupted by a restart; the VM is still running on the source",
		Err: errors.New("migrate: interrupted by a restart; the VM is still running on the source")}, t0)
	if j.Error != "interrupted by a restart; the VM is still running on the source" {
		t.Errorf("a recovered job's error said %q", j.Error)
	}
	// An error without a reason, and neither.
	j = &Job{ID: "j"}
	applyUpdate(j, Update{Status: StatusFailed, Err: errors.New("boom")}, t0)
	if j.ErrKind != Failed || j.Error != "boom" || !j.Started.Equal(j.Submitted) {
		t.Errorf("failed without a reason: %+v", j)
	}
	j = &Job{ID: "j"}
	applyUpdate(j, Update{Status: StatusFailed}, t0)
	if j.ErrKind != Failed || j.Error != "migration failed" {
		t.Errorf("failed without anything: %+v", j)
	}
}

// TestRecordStopping: once a cancel is accepted the job says it is
// shutting down, whatever samples still arrive, until it ends.
func TestRecordStopping(t *testing.T) {
	j := &Job{ID: "j", Submitted: t0, Status: StatusRunning, Started: t0, Changed: t0,
		Stopping: StopTerminate, StatusLine: "Shutting down: terminate requested"}
	applyUpdate(j, Update{Status: StatusRunning, Percent: 25}, t0.Add(time.Second))
	if j.StatusLine != "Shutting down: terminate requested" || !j.Changed.Equal(t0) || j.Percent != 25 {
		t.Fatalf("a sample after the cancel: %+v", j)
	}
	applyUpdate(j, Update{Status: StatusRunning, Reason: "aborting"}, t0.Add(2*time.Second))
	if j.StatusLine != "Shutting down (aborting)" {
		t.Errorf("status line %q", j.StatusLine)
	}
	applyUpdate(j, Update{Status: StatusCancelled, Reason: "aborted; the VM runs on the source"}, t0.Add(3*time.Second))
	if j.Status != StatusCancelled || j.StatusLine != "Terminated on request (aborted; the VM runs on the source)" ||
		j.ErrKind != 0 || !j.Ended.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("cancelled: %+v", j)
	}
}

// TestCheckJobUpdate: the end of a job is written once, its ID never
// changes; Meta may change after the end.
func TestCheckJobUpdate(t *testing.T) {
	done := &Job{ID: "j", Status: StatusCompleted}
	for _, tt := range []struct {
		name string
		mod  func(j *Job)
		want error
	}{
		{"meta", func(j *Job) { j.Meta.DeleteOnCompletion = true }, nil},
		{"status", func(j *Job) { j.Status = StatusFailed }, ErrTerminal},
		{"error", func(j *Job) { j.Error = "late" }, ErrTerminal},
		{"kind", func(j *Job) { j.ErrKind = Failed }, ErrTerminal},
		{"id", func(j *Job) { j.ID = "k" }, ErrInvalidJob},
	} {
		nj := done.Clone()
		tt.mod(nj)
		if err := CheckJobUpdate(done, nj); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
