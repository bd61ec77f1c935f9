package boltstore_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
)

// fixtureDB is a jobs.db written by the release at commit e7b7390, before
// the engine owned its jobs (testdata/generate_e7b7390.go made it).
const fixtureDB = "testdata/jobs-e7b7390.db"

// copyFixture copies the fixture where a test may change it.
func copyFixture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(fixtureDB)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUpgradeFromE7B7390: the jobs.db of the previous release is read by
// this one, every job as it was, and a job changed is written back in the
// current format and reads back the same.
func TestUpgradeFromE7B7390(t *testing.T) {
	const (
		vmDone  = "9651b5ff-e2f8-564b-b73f-5fced95bf6a5"
		vmRun   = "adefaddc-3499-5b06-a61a-d54a8e74b031"
		vmClash = "b7a15c8d-af28-5558-bed6-77f641e03f11"
	)
	path := copyFixture(t)
	s, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jobs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byVM := map[string]*migrate.Job{}
	for _, j := range jobs {
		byVM[j.VMName] = j
	}
	type want struct {
		status   migrate.Status
		kind     migrate.CheckKind
		percent  int
		line     string
		owner    string
		dest     string
		typ      migrate.Type
		tr       migrate.Transport
		bw       uint64
		result   bool
		priority int
	}
	wants := map[string]want{
		"done-vm":  {migrate.StatusCompleted, 0, 100, "Completed (completed)", "operator", "host-b", migrate.Live, migrate.TCP, 0, true, 0},
		"fail-vm":  {migrate.StatusFailed, migrate.Failed, 0, "Failed: could not start: sim: host-b: out of ports (simulated); the VM runs on the source", "operator", "host-b", migrate.Live, migrate.TCP, 0, false, 0},
		"term-vm":  {migrate.StatusCancelled, 0, 1, "Terminated on request (cancelled by request; the VM runs on the source)", "operator", "host-b", migrate.Live, migrate.TLS, 1 << 20, true, 3},
		"clash-vm": {migrate.StatusFailed, migrate.Incompatible, 0, `Failed: could not start: migrate: a domain named "clash-vm" already exists on host-c; the VM runs on the source`, "operator", "host-c", migrate.Live, migrate.TCP, 0, false, 0},
		"kill-vm":  {migrate.StatusKilled, 0, 0, "Killed on request (cancelled before it started)", "operator", "host-c", migrate.Live, migrate.TCP, 0, false, 0},
		"keep-vm":  {migrate.StatusCompleted, 0, 100, "Completed (completed)", "alice", "host-c", migrate.Live, migrate.TCP, 0, true, 0},
		"run-vm":   {migrate.StatusRunning, 0, 5, "Running: 5%, precopy", "operator", "host-b", migrate.Live, migrate.TLS, 1 << 20, false, 3},
		"queue-vm": {migrate.StatusQueued, 0, 0, "Queued", "operator", "host-c", migrate.Live, migrate.TCP, 0, false, 0},
	}
	if len(jobs) != len(wants) {
		t.Fatalf("%d jobs, want %d", len(jobs), len(wants))
	}
	for vm, w := range wants {
		j := byVM[vm]
		if j == nil {
			t.Errorf("no job of %s", vm)
			continue
		}
		if j.Status != w.status || j.ErrKind != w.kind || j.Percent != w.percent || j.StatusLine != w.line ||
			j.Meta.Owner != w.owner || j.Meta.Method != "MigrateVirtualSystemToHost" || j.Plan.DestHost != w.dest ||
			j.Plan.Type != w.typ || j.Plan.Transport != w.tr || j.Plan.Bandwidth != w.bw || (j.Result != nil) != w.result ||
			j.Priority != w.priority {
			t.Errorf("%s: %+v\nwant %+v", vm, j, w)
		}
		if j.Status == migrate.StatusFailed && j.Error != j.StatusLine[len("Failed: "):] {
			t.Errorf("%s: Error %q, status line %q", vm, j.Error, j.StatusLine)
		}
		if j.Submitted.IsZero() || j.Changed.IsZero() || j.Status.Terminal() == j.Ended.IsZero() {
			t.Errorf("%s: times %v %v %v", vm, j.Submitted, j.Changed, j.Ended)
		}
		if !j.Meta.DeleteOnCompletion != (vm == "keep-vm") {
			t.Errorf("%s: DeleteOnCompletion %v", vm, j.Meta.DeleteOnCompletion)
		}
		if want := map[bool]time.Duration{true: time.Hour, false: 5 * time.Minute}[vm == "keep-vm"]; j.Meta.TimeBeforeRemoval != want {
			t.Errorf("%s: TimeBeforeRemoval %v", vm, j.Meta.TimeBeforeRemoval)
		}
	}
	if d := byVM["done-vm"]; d.Plan.VM != vmDone || d.Result.Downtime != 30*time.Millisecond || d.Result.TotalTime == 0 ||
		d.Progress.DataProcessed != 1<<30 || d.Progress.Iteration != 2 {
		t.Errorf("completed job's figures: %+v %+v", d.Plan, d.Result)
	}
	if r := byVM["run-vm"]; r.Plan.VM != vmRun || r.Progress.DataTotal != 8<<30 || r.Progress.DataProcessed == 0 || r.Started.IsZero() {
		t.Errorf("running job: %+v", r)
	}
	if c := byVM["clash-vm"]; c.Plan.VM != vmClash {
		t.Errorf("clash job's VM %s", c.Plan.VM)
	}

	// A change rewrites the record in the current format; everything else
	// reads back as it was.
	run := byVM["run-vm"]
	changed, err := s.Update(ctx, run.ID, func(j *migrate.Job) error { j.StatusLine = "Recovering"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Get(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	changed.Submitted, again.Submitted = changed.Submitted.UTC(), again.Submitted.UTC()
	if again.StatusLine != "Recovering" || !reflect.DeepEqual(again.Plan, run.Plan) || again.Percent != run.Percent || again.Meta != run.Meta ||
		!again.Started.Equal(run.Started) || again.Progress != run.Progress {
		t.Errorf("rewritten record: %+v\nwas %+v", again, run)
	}
}
