package vsm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/cim/job/jobtest"
	"github.com/vsmig/vsmig/migrate"
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

func TestJobLifecycleCompleted(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	j := f.job(id)
	if get(j, "Name") != "Migrate web1 to host2.lab" || get(j, "Owner") != "operator" || opStatus(j) != "[2 15]" ||
		get(j, "DeleteOnCompletion") != true || !get(j, "TimeBeforeRemoval").(cim.Datetime).Equal(cim.IntervalOf(5*time.Minute)) {
		t.Fatalf("new job %v", j)
	}
	if f.vmOperatingStatus(vmRunning) != uint64(operatingEmigrating) {
		t.Error("VM not Emigrating while its job runs")
	}
	f.clock.Add(time.Second)
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusStarting})
	f.clock.Add(time.Second)
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning, Percent: 40,
		Progress: migrate.Progress{DataTotal: 1000, DataProcessed: 400, DataRemaining: 600, Iteration: 2, Phase: "precopy"}})
	j = f.job(id)
	if get(j, "JobState") != uint64(4) || get(j, "PercentComplete") != uint64(40) || get(j, "DataProcessed") != uint64(400) ||
		get(j, "Iteration") != uint64(2) || opStatus(j) != "[2]" || get(j, "JobStatus") != "Running: 40%, precopy, iteration 2" {
		t.Fatalf("running job %v", j)
	}
	if get(j, "StartTime") == nil || get(j, "ElapsedTime") == nil {
		t.Error("StartTime/ElapsedTime unset while running")
	}
	// Percent never goes down.
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning, Percent: 30})
	if get(f.job(id), "PercentComplete") != uint64(40) {
		t.Error("PercentComplete went down")
	}
	f.clock.Add(3 * time.Second)
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusCompleted, Percent: 100,
		Result: &migrate.Result{TotalTime: 5 * time.Second, Downtime: 120 * time.Millisecond, DataTransferred: 1200, Iterations: 3}})
	j = f.job(id)
	if get(j, "JobState") != uint64(7) || get(j, "PercentComplete") != uint64(100) || opStatus(j) != "[2 17]" ||
		get(j, "ErrorCode") != uint64(0) || get(j, "Downtime") != uint64(120) || get(j, "JobStatus") != "Completed" {
		t.Fatalf("completed job %v", j)
	}
	if el := get(j, "ElapsedTime").(cim.Datetime); el.Duration != 4*time.Second {
		t.Errorf("ElapsedTime %v, want 4s (Starting to Completed)", el)
	}
	if f.vmOperatingStatus(vmRunning) != uint64(operatingInService) {
		t.Error("VM still Emigrating after its job ended")
	}
	// A late update changes nothing; GetError has nothing to say.
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusFailed, Err: errors.New("late")})
	if get(f.job(id), "JobState") != uint64(7) {
		t.Error("terminal state rewritten")
	}
	_, out, err := f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodGetError, nil)
	if err != nil || out["Error"] != nil {
		t.Errorf("GetError of a completed job: %v %v", out, err)
	}
	// The VM can be migrated again.
	f.migrate(vmRunning, "host3.lab")
}

func TestJobFailureAndGetError(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning, Percent: 10})
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusFailed, Reason: "did not converge",
		Err: &migrate.CheckError{Kind: migrate.Incompatible, Reason: "dirty rate above bandwidth"}})
	j := f.job(id)
	if get(j, "JobState") != uint64(10) || get(j, "ErrorCode") != uint64(6) || opStatus(j) != "[6 17]" {
		t.Fatalf("failed job %v", j)
	}
	desc, _ := get(j, "ErrorDescription").(string)
	if desc != "did not converge: migrate: dirty rate above bandwidth" {
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
	if f.p.activeJob(vmRunning) != "" {
		t.Error("failed job still active")
	}
}

func TestRequestStateChange(t *testing.T) {
	tests := []struct {
		name      string
		in        map[string]any
		cancelErr error
		finished  bool // the job has completed before the request
		want      uint64
		wantState uint64
	}{
		{"terminate", map[string]any{"RequestedState": uint64(4)}, nil, false, 4096, 6},
		{"kill", map[string]any{"RequestedState": uint64(5)}, nil, false, 4096, 6},
		{"zero timeout is fine", map[string]any{"RequestedState": uint64(4), "TimeoutPeriod": cim.IntervalOf(0)}, nil, false, 4096, 6},
		{"timeout not supported", map[string]any{"RequestedState": uint64(4), "TimeoutPeriod": cim.IntervalOf(time.Minute)}, nil, false, 4098, 2},
		{"start", map[string]any{"RequestedState": uint64(2)}, nil, false, 4097, 2},
		{"suspend", map[string]any{"RequestedState": uint64(3)}, nil, false, 4097, 2},
		{"service", map[string]any{"RequestedState": uint64(6)}, nil, false, 4097, 2},
		{"reserved value", map[string]any{"RequestedState": uint64(7)}, nil, false, 5, 2},
		{"missing state", map[string]any{}, nil, false, 5, 2},
		{"finished job", map[string]any{"RequestedState": uint64(4)}, nil, true, 4097, 7},
		{"engine says finished", map[string]any{"RequestedState": uint64(4)}, migrate.ErrFinished, false, 4097, 2},
		{"engine does not know it", map[string]any{"RequestedState": uint64(5)}, migrate.ErrNoJob, false, 0, 9},
		{"post-copy cannot abort", map[string]any{"RequestedState": uint64(4)}, migrate.ErrUnsupported, false, 1, 2},
		{"abort failed", map[string]any{"RequestedState": uint64(4)}, errors.New("libvirt: broken"), false, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			id := f.migrate(vmRunning, "host2.lab")
			if tt.finished {
				f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusCompleted, Percent: 100})
			}
			f.eng.cancelErr = tt.cancelErr
			if rc := f.rsc(id, tt.in); rc != tt.want {
				t.Fatalf("RequestStateChange = %d, want %d", rc, tt.want)
			}
			if st := get(f.job(id), "JobState"); st != tt.wantState {
				t.Fatalf("JobState %v, want %d", st, tt.wantState)
			}
		})
	}
}

func TestCancelLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning, Percent: 20})
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(4)}); rc != 4096 {
		t.Fatalf("Terminate = %d", rc)
	}
	if !slices.Equal(f.eng.cancelled, []string{id}) {
		t.Fatalf("engine cancels %v", f.eng.cancelled)
	}
	// A progress sample still in flight does not make it look Running.
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning, Percent: 25})
	if st := get(f.job(id), "JobState"); st != uint64(6) {
		t.Fatalf("JobState %v after cancel request, want 6", st)
	}
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusCancelled, Reason: "aborted; the VM runs on the source"})
	j := f.job(id)
	if get(j, "JobState") != uint64(8) || opStatus(j) != "[2 10]" || get(j, "ErrorCode") != uint64(0) {
		t.Fatalf("cancelled job %v", j)
	}
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(5)}); rc != 4097 {
		t.Errorf("Kill of a terminated job = %d, want 4097", rc)
	}
}

func TestCancelQueuedEndsAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	f.eng.onCancel = func(id string, kill bool) {
		f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusKilled, Reason: "cancelled before it started"})
	}
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(5)}); rc != 0 {
		t.Fatalf("Kill of a queued job = %d, want 0 (done)", rc)
	}
	if st := get(f.job(id), "JobState"); st != uint64(9) {
		t.Fatalf("JobState %v, want 9 Killed", st)
	}
}

func TestSubmitFailureMarksException(t *testing.T) {
	f := newFixture(t, nil)
	f.eng.submitErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "a domain named web1 exists on host2.lab"}
	rc, out := f.invoke(MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"})
	if rc != 6 {
		t.Fatalf("return %d, want 6", rc)
	}
	j := f.job(keyString(out["Job"].(cim.ObjectPath), "InstanceID"))
	if get(j, "JobState") != uint64(10) || get(j, "ErrorCode") != uint64(6) {
		t.Fatalf("job after refused Submit %v", j)
	}
}

func TestDeleteAndModifyJob(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	path := f.p.jobPath(id)
	var ce *cim.Error
	if err := f.jobs.DeleteInstance(f.ctx, path); !errors.As(err, &ce) || ce.Status != cim.StatusFailed {
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

	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusCompleted})
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

func TestExpiredJobsSwept(t *testing.T) {
	f := newFixture(t, nil, func(c *Config) { c.SweepInterval = time.Millisecond })
	done := f.migrate(vmRunning, "host2.lab")
	kept := f.migrate(vmOther, "host2.lab")
	f.p.OnUpdate(migrate.Update{JobID: done, Status: migrate.StatusCompleted})
	f.p.OnUpdate(migrate.Update{JobID: kept, Status: migrate.StatusRunning})
	f.clock.Add(DefaultTimeBeforeRemoval + time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := f.store.Get(f.ctx, done)
		if errors.Is(err, job.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired job not removed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := f.store.Get(f.ctx, kept); err != nil {
		t.Fatalf("running job removed: %v", err)
	}
}

func TestRecoverAfterRestart(t *testing.T) {
	store, path := jobtest.NewTempStorePath(t)
	f := newFixture(t, store)
	running := f.migrate(vmRunning, "host2.lab")
	queued := f.migrate(vmOther, "10.0.0.2")
	finished := f.migrate(vmPaused, "host2.lab")
	f.p.OnUpdate(migrate.Update{JobID: running, Status: migrate.StatusRunning, Percent: 50})
	f.p.OnUpdate(migrate.Update{JobID: finished, Status: migrate.StatusCompleted})
	// Corrupt the request of a fourth job.
	broken := job.NewInstanceID("vsmig")
	store.Create(f.ctx, &job.Job{InstanceID: broken, State: job.Running, VMUUID: vmShutoff, Request: []byte("{")})

	// Restart: close everything, reopen the store and a new Profile.
	f.p.Close()
	store.Close()
	store2, err := job.Open(path, job.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	f.eng = newFakeEngine()
	f.config.Store, f.config.Engine, f.store = store2, f.eng, store2
	f.open()
	if f.vmOperatingStatus(vmRunning) != uint64(operatingEmigrating) {
		t.Error("after restart the running job's VM is not Emigrating")
	}
	if err := f.p.Recover(f.ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.eng.recovered {
		got = append(got, r.JobID)
		if r.JobID == queued && (r.Plan.VM != vmOther || r.Plan.DestHost != "10.0.0.2" || !r.Queued) {
			t.Errorf("recovered request %+v, want it marked queued", r)
		}
		if r.JobID == running && r.Queued {
			t.Errorf("the running job was recovered as queued: %+v", r)
		}
	}
	slices.Sort(got)
	want := []string{running, queued}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("recovered %v, want %v", got, want)
	}
	if j := f.job(running); get(j, "JobState") != uint64(4) || get(j, "PercentComplete") != uint64(50) {
		t.Errorf("running job after restart %v", j)
	}
	if j := f.job(queued); get(j, "JobState") != uint64(2) || !strings.HasPrefix(get(j, "JobStatus").(string), "Queued") {
		t.Errorf("queued job after restart %v", j)
	}
	if j := f.job(broken); get(j, "JobState") != uint64(10) || get(j, "ErrorCode") != uint64(2) {
		t.Errorf("unreadable job after restart %v", j)
	}
	if j := f.job(finished); get(j, "JobState") != uint64(7) {
		t.Errorf("finished job after restart %v", j)
	}
	// The engine's outcome arrives later as an Update.
	f.p.OnUpdate(migrate.Update{JobID: running, Status: migrate.StatusCompleted, Reason: "found on the destination"})
	if get(f.job(running), "JobState") != uint64(7) {
		t.Error("recovered job did not complete")
	}
}

func TestRecoverEngineRefuses(t *testing.T) {
	f := newFixture(t, nil)
	id := f.migrate(vmRunning, "host2.lab")
	f.p.OnUpdate(migrate.Update{JobID: id, Status: migrate.StatusRunning})
	f.eng.recErr = errors.New("hypervisor unreachable")
	if err := f.p.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := f.job(id)
	if get(j, "JobState") != uint64(10) {
		t.Fatalf("job the engine could not take: %v", j)
	}
	if d, _ := get(j, "ErrorDescription").(string); d == "" {
		t.Error("no ErrorDescription")
	}
	if f.p.activeJob(vmRunning) != "" {
		t.Error("VM still marked migrating")
	}
}
