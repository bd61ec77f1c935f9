package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// spyStore records the jobs created in it.
type spyStore struct {
	migrate.Store
	mu      sync.Mutex
	created []migrate.Job
}

func (s *spyStore) Create(ctx context.Context, j *migrate.Job) error {
	s.mu.Lock()
	s.created = append(s.created, *j.Clone())
	s.mu.Unlock()
	return s.Store.Create(ctx, j)
}

// TestSubmitRecordsTheJob: the engine owns the durable job. Submit writes
// it, queued, with the caller's Meta, before it returns; every Update is
// in the record, and carries the migration type, before OnUpdate hears
// of it.
func TestSubmitRecordsTheJob(t *testing.T) {
	spy := &spyStore{}
	var f *fixture
	var mismatch []string
	var mu sync.Mutex
	f = newFixture(t, func(c *migrate.Config) {
		spy.Store = c.Store
		c.Store = spy
		rec := c.OnUpdate
		c.OnUpdate = func(u migrate.Update) {
			j, err := spy.Get(context.Background(), u.JobID)
			mu.Lock()
			if err != nil || j.Status != u.Status || u.Type != migrate.Live {
				mismatch = append(mismatch, u.Status.String())
			}
			mu.Unlock()
			rec(u)
		}
	}, vm("web", gib, 10e6, 64e6))
	r := req("j1", "web", "host-b")
	r.Meta = migrate.Meta{Owner: "alice", Method: "MigrateVirtualSystemToHost", DeleteOnCompletion: true, TimeBeforeRemoval: time.Hour}
	got, err := f.e.Submit(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	spy.mu.Lock()
	created := append([]migrate.Job(nil), spy.created...)
	spy.mu.Unlock()
	if len(created) != 1 || created[0].Status != migrate.StatusQueued || created[0].StatusLine != "Queued" ||
		created[0].Meta != r.Meta || created[0].VMName != "web" || created[0].Plan.DestURI != "qemu+tcp://host-b/system" {
		t.Fatalf("created %+v", created)
	}
	if got.ID != "j1" || got.Status != migrate.StatusQueued || got.Meta != r.Meta {
		t.Errorf("Submit returned %+v", got)
	}
	f.rec.final(t, "j1")
	j, err := f.e.Job(t.Context(), "j1")
	if err != nil || j.Status != migrate.StatusCompleted || j.Percent != 100 || j.Meta != r.Meta || j.Result == nil ||
		j.Started.IsZero() || j.Ended.IsZero() {
		t.Fatalf("record after completion: %+v, %v", j, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mismatch) > 0 {
		t.Errorf("updates reported before their record said so, or without the type: %v", mismatch)
	}
	if jobs, err := f.e.Jobs(t.Context()); err != nil || len(jobs) != 1 {
		t.Errorf("Jobs = %v, %v", jobs, err)
	}
}

// TestPausedVM is the paused-VM rule through the real engine on the
// simulator: Live and Resume move a paused VM, which stays paused on the
// destination; Restart refuses it, in Check and in Submit, and leaves no
// job.
func TestPausedVM(t *testing.T) {
	paused := func(name string) sim.VMConfig {
		return sim.VMConfig{Name: name, Host: "host-a", MemoryKiB: gib, State: migrate.StatePaused, DirtyRate: 150e6}
	}
	f := newFixture(t, nil, paused("p1"), paused("p2"), paused("p3"))
	restart := req("j3", "p3", "host-b")
	restart.Plan.Type = migrate.Restart
	var ce *migrate.CheckError
	if err := checkErr(f.e.Check(t.Context(), restart)); !errors.As(err, &ce) || ce.Kind != migrate.InvalidState || !strings.Contains(ce.Reason, "paused") {
		t.Errorf("Check of a restart of a paused VM: %v", err)
	}
	if _, err := f.e.Submit(t.Context(), restart); !errors.As(err, &ce) || ce.Kind != migrate.InvalidState {
		t.Errorf("Submit of a restart of a paused VM: %v", err)
	}
	if _, err := f.e.Job(t.Context(), "j3"); !errors.Is(err, migrate.ErrNoJob) {
		t.Errorf("a refused Restart left a job: %v", err)
	}
	live := req("j1", "p1", "host-b")
	resume := req("j2", "p2", "host-c")
	resume.Plan.Type = migrate.Resume
	for _, r := range []migrate.Request{live, resume} {
		if err := checkErr(f.e.Check(t.Context(), r)); err != nil {
			t.Fatalf("Check %v of a paused VM: %v", r.Plan.Type, err)
		}
		if err := errOf(f.e.Submit(t.Context(), r)); err != nil {
			t.Fatalf("Submit %v of a paused VM: %v", r.Plan.Type, err)
		}
	}
	for _, c := range []struct{ job, vm, host string }{{"j1", "p1", "host-b"}, {"j2", "p2", "host-c"}} {
		if u := f.rec.final(t, c.job); u.Status != migrate.StatusCompleted {
			t.Errorf("%s: %+v", c.job, u)
		}
		if w := f.c.Where(sim.VMUUID(c.vm)); len(w) != 1 || w[0] != c.host {
			t.Errorf("%s on %v, want %s only", c.vm, w, c.host)
		}
		d, err := f.c.Host(c.host).Domain(t.Context(), sim.VMUUID(c.vm))
		if err != nil || d.State != migrate.StatePaused {
			t.Errorf("%s on %s: %+v, %v; want it paused", c.vm, c.host, d, err)
		}
	}
	// Restart of a running VM: shut down, moved, started.
	if err := f.c.Place(sim.VMUUID("p3"), map[string]migrate.DomainState{"host-a": migrate.StateRunning}); err != nil {
		t.Fatal(err)
	}
	restart.JobID = "j4"
	if err := errOf(f.e.Submit(t.Context(), restart)); err != nil {
		t.Fatal(err)
	}
	if u := f.rec.final(t, "j4"); u.Status != migrate.StatusCompleted {
		t.Errorf("restart of a running VM: %+v", u)
	}
	if d, err := f.c.Host("host-b").Domain(t.Context(), sim.VMUUID("p3")); err != nil || d.State != migrate.StateRunning {
		t.Errorf("restarted VM on host-b: %+v, %v", d, err)
	}
}

// TestPausedWhileQueued: the rule holds at Start too. A Restart queued
// behind another job whose VM is paused meanwhile fails to start, and the
// VM stays where it is, paused.
func TestPausedWhileQueued(t *testing.T) {
	f := newFixture(t, func(c *migrate.Config) { c.MaxOutgoing = 1 }, vm("big", 8*gib, 0, 0), vm("v", gib, 0, 0))
	if err := errOf(f.e.Submit(t.Context(), req("j1", "big", "host-b"))); err != nil {
		t.Fatal(err)
	}
	r := req("j2", "v", "host-c")
	r.Plan.Type = migrate.Restart
	if err := errOf(f.e.Submit(t.Context(), r)); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Place(sim.VMUUID("v"), map[string]migrate.DomainState{"host-a": migrate.StatePaused}); err != nil {
		t.Fatal(err)
	}
	u := f.rec.final(t, "j2")
	if u.Status != migrate.StatusFailed || !strings.Contains(u.Reason, "paused") {
		t.Errorf("queued restart of a VM paused meanwhile: %v %q", u.Status, u.Reason)
	}
	if j, err := f.e.Job(t.Context(), "j2"); err != nil || j.ErrKind != migrate.InvalidState {
		t.Errorf("record %+v, %v; want an InvalidState failure", j, err)
	}
	if d, err := f.c.Host("host-a").Domain(t.Context(), sim.VMUUID("v")); err != nil || d.State != migrate.StatePaused {
		t.Errorf("VM after the refused start: %+v, %v", d, err)
	}
	f.rec.final(t, "j1")
}

// TestCancelRecord: an accepted cancel is in the record at once; the end
// follows.
func TestCancelRecord(t *testing.T) {
	f := newFixture(t, nil, vm("big", 8*gib, 0, 0))
	if err := errOf(f.e.Submit(t.Context(), req("j1", "big", "host-b"))); err != nil {
		t.Fatal(err)
	}
	f.rec.wait(t, "j1 running", func() bool { u, _ := f.rec.last("j1"); return u.Status == migrate.StatusRunning })
	if err := f.e.Cancel(t.Context(), "j1", true); err != nil {
		t.Fatal(err)
	}
	j, err := f.e.Job(t.Context(), "j1")
	if err != nil {
		t.Fatal(err)
	}
	if !j.Status.Terminal() && (j.Stopping != migrate.StopKill || j.StatusLine != "Shutting down: kill requested") {
		t.Errorf("record after the kill was accepted: %+v", j)
	}
	if u := f.rec.final(t, "j1"); u.Status != migrate.StatusKilled {
		t.Fatalf("final %+v", u)
	}
	if j, _ := f.e.Job(t.Context(), "j1"); j.Status != migrate.StatusKilled || !strings.HasPrefix(j.StatusLine, "Killed on request") {
		t.Errorf("record after the kill: %+v", j)
	}
	if err := f.e.Cancel(t.Context(), "j1", false); !errors.Is(err, migrate.ErrFinished) {
		t.Errorf("cancel after the end: %v", err)
	}
}

// TestRecordsTheEngineDoesNotRun: a record the engine has not taken up
// (before Recover) is ended by a Cancel; one whose plan cannot be read
// back is failed by Recover; only finished jobs are deleted; Meta is the
// caller's to change.
func TestRecordsTheEngineDoesNotRun(t *testing.T) {
	f := newFixture(t, nil, vm("v", gib, 0, 0))
	ctx := t.Context()
	f.leave(t, req("q", "v", "host-b"), migrate.StatusQueued)
	if err := f.e.DeleteJob(ctx, "q"); !errors.Is(err, migrate.ErrUnfinished) {
		t.Errorf("DeleteJob of an unfinished job: %v", err)
	}
	if err := f.e.Cancel(ctx, "q", true); err != nil {
		t.Fatal(err)
	}
	j, err := f.e.Job(ctx, "q")
	if err != nil || j.Status != migrate.StatusKilled || j.StatusLine != "Stopped on request before it ran" || j.Ended.IsZero() {
		t.Errorf("record after the cancel: %+v, %v", j, err)
	}
	if err := f.e.Cancel(ctx, "q", true); !errors.Is(err, migrate.ErrFinished) {
		t.Errorf("second cancel: %v", err)
	}
	if err := f.e.Cancel(ctx, "nope", true); !errors.Is(err, migrate.ErrNoJob) {
		t.Errorf("cancel of nothing: %v", err)
	}
	if j, err := f.e.UpdateMeta(ctx, "q", func(m *migrate.Meta) { m.TimeBeforeRemoval = time.Minute }); err != nil || j.Meta.TimeBeforeRemoval != time.Minute {
		t.Errorf("UpdateMeta: %+v, %v", j, err)
	}
	if err := f.e.DeleteJob(ctx, "q"); err != nil {
		t.Errorf("DeleteJob of a finished job: %v", err)
	}
	if _, err := f.e.Job(ctx, "q"); !errors.Is(err, migrate.ErrNoJob) {
		t.Errorf("Job after DeleteJob: %v", err)
	}

	if err := f.cfg.Store.Create(ctx, &migrate.Job{ID: "bad", Status: migrate.StatusRunning, Plan: migrate.Plan{VM: "not-a-uuid"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	j, err = f.e.Job(ctx, "bad")
	if err != nil || j.Status != migrate.StatusFailed || j.ErrKind != migrate.Failed || !strings.Contains(j.Error, "could not be read back") {
		t.Errorf("unreadable record after Recover: %+v, %v", j, err)
	}
}
