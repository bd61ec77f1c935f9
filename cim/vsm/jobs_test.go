package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
)

func opStatus(inst *cim.Instance) string { return fmt.Sprint(get(inst, "OperationalStatus")) }

// vmOperatingStatus reads the VM's OperatingStatus through the provider.
func (f *fixture) vmOperatingStatus(uuid string) any {
	f.t.Helper()
	inst, err := (&systemProvider{f.p}).GetInstance(f.ctx, vmRef(uuid))
	if err != nil {
		f.t.Fatal(err)
	}
	return get(inst, "OperatingStatus")
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// TestJobInstance: the CIM job built from each state of an engine job
// (the engine's tests hold how Updates change the job; these, what a
// client reads of it).
func TestJobInstance(t *testing.T) {
	f := newFixture(t, nil)
	f.p.now = func() time.Time { return t0.Add(10 * time.Second) }
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	base := func(st migrate.Status) *migrate.Job {
		return &migrate.Job{ID: "vsmig:j", VMName: "web1", Priority: 7, Submitted: t0, Status: st, Changed: at(1),
			Plan: migrate.Plan{VM: vmRunning, Type: migrate.Resume, DestHost: "host2.lab", Transport: migrate.TLS},
			Meta: migrate.Meta{Owner: "operator", Method: MethodMigrateToHost, DeleteOnCompletion: true, TimeBeforeRemoval: 5 * time.Minute}}
	}
	queued := base(migrate.StatusQueued)
	queued.StatusLine = "Queued"
	running := base(migrate.StatusRunning)
	running.Started, running.Percent, running.StatusLine = at(2), 40, "Running: 40%, precopy, iteration 2"
	running.Progress = migrate.Progress{DataTotal: 1000, DataProcessed: 400, DataRemaining: 600, Iteration: 2, DirtyRate: 5, ExpectedDowntime: 30 * time.Millisecond}
	stopping := running.Clone()
	stopping.Stopping, stopping.StatusLine = migrate.StopKill, "Shutting down: kill requested"
	starting := base(migrate.StatusStarting)
	starting.Started = at(2)
	completed := running.Clone()
	completed.Status, completed.Percent, completed.Ended, completed.StatusLine = migrate.StatusCompleted, 100, at(6), "Completed"
	completed.Result = &migrate.Result{TotalTime: 5 * time.Second, Downtime: 120 * time.Millisecond}
	failed := running.Clone()
	failed.Status, failed.Ended, failed.ErrKind = migrate.StatusFailed, at(4), migrate.Incompatible
	failed.Error = "did not converge"
	failed.StatusLine = "Failed: did not converge"
	failed.Result = &migrate.Result{TotalTime: time.Second}
	cancelled := running.Clone()
	cancelled.Status, cancelled.Ended = migrate.StatusCancelled, at(3)
	killed := queued.Clone()
	killed.Status, killed.Ended, killed.Started = migrate.StatusKilled, at(1), t0

	tests := []struct {
		name    string
		j       *migrate.Job
		state   uint64
		op      string
		elapsed any // nil: no ElapsedTime
		code    uint64
	}{
		{"queued", queued, 2, "[2 15]", nil, 0},
		{"starting", starting, 3, "[2 8]", cim.IntervalOf(8 * time.Second), 0},
		{"running", running, 4, "[2]", cim.IntervalOf(8 * time.Second), 0},
		{"stopping", stopping, 6, "[2 9]", cim.IntervalOf(8 * time.Second), 0},
		{"completed", completed, 7, "[2 17]", cim.IntervalOf(4 * time.Second), 0},
		{"failed", failed, 10, "[6 17]", cim.IntervalOf(2 * time.Second), 6},
		{"cancelled", cancelled, 8, "[2 10]", cim.IntervalOf(time.Second), 0},
		{"killed before it started", killed, 9, "[2 10]", cim.IntervalOf(time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := f.p.jobInstance(tt.j)
			if get(inst, "JobState") != tt.state || opStatus(inst) != tt.op || get(inst, "ErrorCode") != tt.code {
				t.Errorf("state %v %v, ErrorCode %v", get(inst, "JobState"), opStatus(inst), get(inst, "ErrorCode"))
			}
			if el := get(inst, "ElapsedTime"); fmt.Sprint(el) != fmt.Sprint(tt.elapsed) {
				t.Errorf("ElapsedTime %v, want %v", el, tt.elapsed)
			}
			if get(inst, "JobStatus") != tt.j.StatusLine || get(inst, "PercentComplete") != uint64(tt.j.Percent) {
				t.Errorf("JobStatus %v, PercentComplete %v", get(inst, "JobStatus"), get(inst, "PercentComplete"))
			}
			if get(inst, "Name") != "Migrate web1 to host2.lab" || get(inst, "Owner") != "operator" || get(inst, "Priority") != uint64(7) ||
				get(inst, "DeleteOnCompletion") != true || !get(inst, "TimeBeforeRemoval").(cim.Datetime).Equal(cim.IntervalOf(5*time.Minute)) ||
				get(inst, "MigrationType") != uint64(3) || get(inst, "TransportType") != uint64(3) || get(inst, "VirtualSystemIdentifier") != vmRunning ||
				get(inst, "Description") != "MigrateVirtualSystemToHost of virtual system web1 ("+vmRunning+") to host2.lab" ||
				!get(inst, "TimeSubmitted").(cim.Datetime).Equal(cim.Timestamp(t0)) ||
				!get(inst, "TimeOfLastStateChange").(cim.Datetime).Equal(cim.Timestamp(at(1))) {
				t.Errorf("job %v", inst)
			}
			if tt.j.Progress.DataTotal != 0 && (get(inst, "DataProcessed") != uint64(400) || get(inst, "Iteration") != uint64(2) ||
				get(inst, "ExpectedDowntime") != uint64(30)) {
				t.Errorf("figures %v", inst)
			}
			// Final statistics only once completed.
			if (get(inst, "Downtime") != nil) != (tt.state == 7) || (get(inst, "TotalTime") != nil) != (tt.state == 7) {
				t.Errorf("Downtime %v, TotalTime %v", get(inst, "Downtime"), get(inst, "TotalTime"))
			}
			if tt.state == 7 && (get(inst, "Downtime") != uint64(120) || fmt.Sprint(get(inst, "TotalTime")) != fmt.Sprint(cim.IntervalOf(5*time.Second))) {
				t.Errorf("Downtime %v, TotalTime %v", get(inst, "Downtime"), get(inst, "TotalTime"))
			}
			if d, _ := get(inst, "ErrorDescription").(string); d != tt.j.Error {
				t.Errorf("ErrorDescription %q", d)
			}
		})
	}
}

// TestJobLifecycleCompleted follows a real migration (engine, simulator):
// the job while it waits and runs, and once it has completed.
func TestJobLifecycleCompleted(t *testing.T) {
	f := newFixture(t, nil)
	release := f.gate()
	id := f.migrate(vmRunning, "host2.lab")
	j := f.waitState(id, 3)
	if get(j, "Name") != "Migrate web1 to host2.lab" || get(j, "Owner") != "operator" || opStatus(j) != "[2 8]" ||
		get(j, "DeleteOnCompletion") != true || !get(j, "TimeBeforeRemoval").(cim.Datetime).Equal(cim.IntervalOf(5*time.Minute)) ||
		get(j, "StartTime") == nil || get(j, "ElapsedTime") == nil {
		t.Fatalf("new job %v", j)
	}
	if f.vmOperatingStatus(vmRunning) != uint64(operatingEmigrating) {
		t.Error("VM not Emigrating while its job runs")
	}
	release()
	j = f.waitState(id, 7, 8, 9, 10)
	if get(j, "JobState") != uint64(7) || get(j, "PercentComplete") != uint64(100) || opStatus(j) != "[2 17]" ||
		get(j, "ErrorCode") != uint64(0) || get(j, "Downtime") == nil || get(j, "TotalTime") == nil ||
		!strings.HasPrefix(get(j, "JobStatus").(string), "Completed") || get(j, "DataProcessed").(uint64) < 1<<30 {
		t.Fatalf("completed job %v", j)
	}
	// GetError and GetErrors have nothing to say.
	_, out, err := f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodGetError, nil)
	if err != nil || out["Error"] != nil {
		t.Errorf("GetError of a completed job: %v %v", out, err)
	}
	ret, out, err := f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodGetErrors, nil)
	if err != nil || ret != uint64(0) || out["Errors"] != nil {
		t.Errorf("GetErrors of a completed job: %v %v %v", ret, out, err)
	}
	// The VM has left this host.
	if _, err := (&systemProvider{f.p}).GetInstance(f.ctx, vmRef(vmRunning)); err == nil {
		t.Error("the VM is still served by the source after its migration")
	}
	if rc, _ := f.invoke(MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host3.lab"}); rc != 4 {
		t.Errorf("migrating a VM that has left: %d, want 4", rc)
	}
}

func TestJobFailureAndGetError(t *testing.T) {
	f := newFixture(t, nil)
	f.drv.set(func(d *testDriver) {
		d.startErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "dirty rate above bandwidth"}
	})
	id := f.migrate(vmRunning, "host2.lab")
	j := f.waitState(id, 10)
	if get(j, "ErrorCode") != uint64(6) || opStatus(j) != "[6 17]" {
		t.Fatalf("failed job %v", j)
	}
	desc, _ := get(j, "ErrorDescription").(string)
	if !strings.Contains(desc, "dirty rate above bandwidth") || !strings.Contains(desc, "the VM runs on the source") {
		t.Errorf("ErrorDescription %q", desc)
	}
	ret, out, err := f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodGetError, nil)
	if err != nil || ret != uint64(0) {
		t.Fatal(ret, err)
	}
	e, ok := out["Error"].(*cim.Instance)
	if !ok || e.Class.Name != ClassError {
		t.Fatalf("GetError out %v", out)
	}
	if get(e, "Message") != desc || get(e, "OwningEntity") != "vsmig" || get(e, "MessageID") != "VSMIG0006" ||
		get(e, "CIMStatusCode") != uint64(4) || get(e, "PerceivedSeverity") != uint64(5) {
		t.Errorf("CIM_Error %v", e)
	}
	// GetErrors (DSP1103, CIM_ConcreteJob): the same error, as an array.
	ret, out, err = f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodGetErrors, nil)
	if err != nil || ret != uint64(0) {
		t.Fatal(ret, err)
	}
	if es, ok := out["Errors"].([]*cim.Instance); !ok || len(es) != 1 || es[0].Class.Name != ClassError ||
		get(es[0], "Message") != desc || get(es[0], "MessageID") != "VSMIG0006" {
		t.Fatalf("GetErrors out %v", out)
	}
	if f.eng.Migrating(vmRunning) != "" || f.vmOperatingStatus(vmRunning) != uint64(operatingInService) {
		t.Error("failed job still active")
	}
}

// TestRequestStateChange: the return codes of RequestStateChange, on a
// job held in Start (JobState 3).
func TestRequestStateChange(t *testing.T) {
	tests := []struct {
		name      string
		in        map[string]any
		want      uint64
		wantState uint64
	}{
		{"terminate", map[string]any{"RequestedState": uint64(4)}, 4096, 6},
		{"kill", map[string]any{"RequestedState": uint64(5)}, 4096, 6},
		{"zero timeout is fine", map[string]any{"RequestedState": uint64(4), "TimeoutPeriod": cim.IntervalOf(0)}, 4096, 6},
		{"timeout not supported", map[string]any{"RequestedState": uint64(4), "TimeoutPeriod": cim.IntervalOf(time.Minute)}, 4098, 3},
		{"start", map[string]any{"RequestedState": uint64(2)}, 4097, 3},
		{"suspend", map[string]any{"RequestedState": uint64(3)}, 4097, 3},
		{"service", map[string]any{"RequestedState": uint64(6)}, 4097, 3},
		{"reserved value", map[string]any{"RequestedState": uint64(7)}, 5, 3},
		{"missing state", map[string]any{}, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.gate()
			id := f.migrate(vmRunning, "host2.lab")
			f.waitState(id, 3)
			if rc := f.rsc(id, tt.in); rc != tt.want {
				t.Fatalf("RequestStateChange = %d, want %d", rc, tt.want)
			}
			if st := get(f.job(id), "JobState"); st != tt.wantState {
				t.Fatalf("JobState %v, want %d", st, tt.wantState)
			}
		})
	}
}

// TestRequestStateChangeOutcomes: a finished job, a job the engine does
// not run, and aborts the driver refuses.
func TestRequestStateChangeOutcomes(t *testing.T) {
	terminate := map[string]any{"RequestedState": uint64(4)}
	t.Run("finished job", func(t *testing.T) {
		f := newFixture(t, nil)
		id := f.migrate(vmRunning, "host2.lab")
		f.waitState(id, 7)
		if rc := f.rsc(id, terminate); rc != 4097 {
			t.Errorf("Terminate of a completed job = %d, want 4097", rc)
		}
	})
	t.Run("a job the engine does not run is ended here", func(t *testing.T) {
		f := newFixture(t, nil)
		err := f.store.Create(f.ctx, &migrate.Job{ID: "vsmig:orphan", Status: migrate.StatusRunning, Submitted: t0, VMName: "web1",
			Plan: migrate.Plan{VM: vmRunning, Type: migrate.Live, DestHost: "host2.lab"}})
		if err != nil {
			t.Fatal(err)
		}
		if rc := f.rsc("vsmig:orphan", map[string]any{"RequestedState": uint64(5)}); rc != 0 {
			t.Fatalf("Kill = %d, want 0", rc)
		}
		if st := get(f.job("vsmig:orphan"), "JobState"); st != uint64(9) {
			t.Errorf("JobState %v, want 9", st)
		}
	})
	for _, tt := range []struct {
		name string
		err  error
		want uint64
	}{
		{"post-copy cannot abort", fmt.Errorf("sim: %w: a migration in post-copy cannot be aborted", migrate.ErrUnsupported), 1},
		{"abort failed", errors.New("libvirt: broken"), 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.migrateSlowly(vmRunning, "host2.lab")
			f.waitState(id, 4)
			f.drv.set(func(d *testDriver) { d.abortErr = tt.err })
			if rc := f.rsc(id, terminate); rc != tt.want {
				t.Fatalf("Terminate = %d, want %d", rc, tt.want)
			}
			if st := get(f.job(id), "JobState"); st != uint64(4) {
				t.Errorf("JobState %v, want 4: the job goes on", st)
			}
		})
	}
}

// TestRSCCode is the table of RequestStateChange codes for the engine's
// answers to a cancel.
func TestRSCCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want uint32
	}{
		{migrate.ErrFinished, RSCInvalidTransition},
		{fmt.Errorf("migrate: cancel job j: %w", migrate.ErrUnsupported), RSCNotSupported},
		{migrate.ErrBusy, RSCBusy},
		{errors.New("libvirt: broken"), RSCFailed},
	} {
		if got := rscCode(tt.err); got != tt.want {
			t.Errorf("rscCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestCancelLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	release := f.gate()
	id := f.migrate(vmRunning, "host2.lab")
	f.waitState(id, 3)
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(4)}); rc != 4096 {
		t.Fatalf("Terminate = %d", rc)
	}
	j := f.job(id)
	if get(j, "JobState") != uint64(6) || get(j, "JobStatus") != "Shutting down: terminate requested" {
		t.Fatalf("JobState %v (%v) after cancel request, want 6", get(j, "JobState"), get(j, "JobStatus"))
	}
	release()
	j = f.waitState(id, 8)
	if opStatus(j) != "[2 10]" || get(j, "ErrorCode") != uint64(0) {
		t.Fatalf("cancelled job %v", j)
	}
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(5)}); rc != 4097 {
		t.Errorf("Kill of a terminated job = %d, want 4097", rc)
	}
	if w := f.c.Where(vmRunning); len(w) != 1 || w[0] != testHost {
		t.Errorf("VM on %v after the cancel", w)
	}
}

func TestCancelQueuedEndsAtOnce(t *testing.T) {
	f := newFixture(t, nil, queued)
	f.occupy()
	id := f.migrate(vmRunning, "host2.lab")
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(5)}); rc != 0 {
		t.Fatalf("Kill of a queued job = %d, want 0 (done)", rc)
	}
	if st := get(f.job(id), "JobState"); st != uint64(9) {
		t.Fatalf("JobState %v, want 9 Killed", st)
	}
}

// TestRefusedJobLeavesNothing: a Migrate the engine refuses (here at the
// destination check, a VM of the same name there) creates no job.
func TestRefusedJobLeavesNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.drv.set(func(d *testDriver) {
		d.checkErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "a domain named web1 exists on host2.lab"}
	})
	rc, out := f.invoke(MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"})
	if rc != 6 || out["Job"] != nil {
		t.Fatalf("return %d, %v; want 6 and no job", rc, out)
	}
	if jobs, _ := f.eng.Jobs(f.ctx); len(jobs) != 0 || f.eng.Migrating(vmRunning) != "" {
		t.Fatalf("jobs after a refusal: %v", jobs)
	}
}

func TestDeleteAndModifyJob(t *testing.T) {
	f := newFixture(t, nil)
	release := f.gate()
	id := f.migrate(vmRunning, "host2.lab")
	f.waitState(id, 3)
	path := f.p.jobPath(id)
	var ce *cim.Error
	// A running job is in use: the refusal is cim.ErrInvalidState (on the
	// wire wsman:Concurrency) with a reason that says what to do.
	if err := f.jobs.DeleteInstance(f.ctx, path); !errors.As(err, &ce) || ce.Status != cim.StatusFailed ||
		!errors.Is(err, cim.ErrInvalidState) || !strings.Contains(ce.Message, "RequestStateChange") {
		t.Fatalf("Delete of a running job: %v", err)
	}

	// ModifyInstance: the writable properties change; others may be sent
	// unchanged but not changed.
	mod := f.job(id)
	mod.MustSet("DeleteOnCompletion", false)
	mod.MustSet("TimeBeforeRemoval", cim.IntervalOf(time.Hour))
	mod.MustSet("ElapsedTime", cim.IntervalOf(time.Hour))
	if err := f.jobs.ModifyInstance(f.ctx, mod); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if get(j, "DeleteOnCompletion") != false || get(j, "TimeBeforeRemoval").(cim.Datetime).Duration != time.Hour {
		t.Fatalf("modified job %v", j)
	}
	bad := f.job(id)
	bad.MustSet("JobState", 7)
	if err := f.jobs.ModifyInstance(f.ctx, bad); !errors.As(err, &ce) || ce.Status != cim.StatusInvalidParameter {
		t.Fatalf("Modify of JobState: %v", err)
	}

	release()
	f.waitState(id, 7)
	if get(f.job(id), "DeleteOnCompletion") != false {
		t.Error("the engine's updates undid the Put")
	}
	if err := f.jobs.DeleteInstance(f.ctx, path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.jobs.GetInstance(f.ctx, path); !errors.As(err, &ce) || ce.Status != cim.StatusNotFound {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := f.jobs.DeleteInstance(f.ctx, path); !errors.As(err, &ce) || ce.Status != cim.StatusNotFound {
		t.Fatalf("second Delete: %v", err)
	}
}

// TestRestart: the daemon stops with one job held in Start and one queued
// behind it; a new engine over the same job store (bbolt) takes both up,
// and the profile serves what became of them.
func TestRestart(t *testing.T) {
	path := t.TempDir() + "/jobs.db"
	store, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, store, queued)
	finished := f.migrate(vmPaused, "host2.lab")
	f.waitState(finished, 7)
	f.gate()
	starting := f.migrate(vmRunning, "host2.lab")
	f.waitState(starting, 3)
	queuedJob := f.migrate(vmOther, "10.0.0.2")
	if err := f.store.Create(f.ctx, &migrate.Job{ID: "vsmig:broken", Status: migrate.StatusRunning, Plan: migrate.Plan{VM: vmShutoff}}); err != nil {
		t.Fatal(err)
	}
	// The stop: the engine stops watching, the store closes.
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	if err := f.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.p.Close()
	store.Close()

	store2, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	f.store, f.engCfg.Store = store2, store2
	f.drv.set(func(d *testDriver) { d.gate = nil })
	f.open()
	if get(f.job(queuedJob), "JobState") != uint64(2) {
		t.Errorf("queued job before recovery: %v", f.job(queuedJob))
	}
	if err := f.eng.Recover(f.ctx); err != nil {
		t.Fatal(err)
	}
	// Held in Start, it never reached the hypervisor: the VM is still here.
	j := f.waitState(starting, 10)
	if d, _ := get(j, "ErrorDescription").(string); !strings.Contains(d, "restart") {
		t.Errorf("job interrupted at start: %v", j)
	}
	// Queued, its VM still here: queued again, then it runs.
	if j := f.waitState(queuedJob, 7); !strings.HasPrefix(get(j, "JobStatus").(string), "Completed") {
		t.Errorf("queued job after the restart: %v", j)
	}
	if j := f.job("vsmig:broken"); get(j, "JobState") != uint64(10) || get(j, "ErrorCode") != uint64(2) {
		t.Errorf("unreadable job after restart: %v", j)
	}
	if j := f.job(finished); get(j, "JobState") != uint64(7) {
		t.Errorf("finished job after restart: %v", j)
	}
}
