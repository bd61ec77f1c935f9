package vsm

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/schemas"
)

// fakeFleet is a Fleet whose drains the test writes; every other method
// answers as a cluster with no member but this host.
type fakeFleet struct {
	mu      sync.Mutex
	drains  []*migrate.DrainRecord
	changed chan struct{}
}

func newFakeFleet() *fakeFleet { return &fakeFleet{changed: make(chan struct{})} }

// set replaces the drains and tells the watchers.
func (f *fakeFleet) set(recs ...*migrate.DrainRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drains = recs
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeFleet) Available() (bool, string)                 { return true, "" }
func (f *fakeFleet) Members() []migrate.Member                 { return nil }
func (f *fakeFleet) Jobs(string) []migrate.ClusterJobState     { return nil }
func (f *fakeFleet) CancelDrain(context.Context, string) error { return migrate.ErrNoJob }
func (f *fakeFleet) DeleteDrain(context.Context, string) error { return migrate.ErrNoJob }
func (f *fakeFleet) Percent(_ context.Context, rec *migrate.DrainRecord) int {
	moved := 0
	for _, v := range rec.VMs {
		if v.State == migrate.VMMoved {
			moved++
		}
	}
	return 100 * moved / max(len(rec.VMs), 1)
}
func (f *fakeFleet) Place(context.Context, string) (migrate.Placement, error) {
	return migrate.Placement{}, migrate.ErrUnsupported
}
func (f *fakeFleet) Plan(context.Context) ([]migrate.Placement, error) {
	return nil, migrate.ErrUnsupported
}
func (f *fakeFleet) StartDrain(context.Context, migrate.DrainRequest) (*migrate.DrainRecord, error) {
	return nil, migrate.ErrUnsupported
}
func (f *fakeFleet) Drain(id string) (*migrate.DrainRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.drains {
		if d.ID == id {
			return d, true
		}
	}
	return nil, false
}
func (f *fakeFleet) Drains() []*migrate.DrainRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.drains)
}
func (f *fakeFleet) DrainsChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// TestDrainIndications: a drain's life as its subscribers see it: the
// creation, a modification at each change of its record (with the
// previous indication's instance as PreviousInstance), none when nothing
// changed, the end, the deletion. A drain that existed before the
// profile started is not announced as created.
func TestDrainIndications(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Skipf("schemas.Load: %v", err)
	}
	rec := &indRecorder{subs: 1}
	fl := newFakeFleet()
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	old := &migrate.DrainRecord{ID: "vsmig:Drain:old", Host: testHost, State: migrate.DrainCompleted, Submitted: t0, Changed: t0, Ended: t0,
		Status: "Completed: 0 of 0 moved", VMs: []migrate.DrainVM{}}
	fl.set(old)
	newFixture(t, nil, withIndications(rec, time.Millisecond), func(f *fixture) {
		f.config.Registry, f.reg = reg, reg
		f.config.Fleet = fl
		f.config.HostName = testHost
	})
	const id = "vsmig:Drain:1"
	vm := func(name string, st migrate.DrainVMState) migrate.DrainVM {
		return migrate.DrainVM{VM: name + "-uuid", Name: name, State: st}
	}
	step := func(n int, st migrate.DrainState, status string, vms ...migrate.DrainVM) *migrate.DrainRecord {
		return &migrate.DrainRecord{ID: id, Host: testHost, State: st, Submitted: t0, Changed: t0.Add(time.Duration(n) * time.Second),
			Status: status, VMs: vms}
	}
	r1 := step(1, migrate.DrainRunning, "Running: 0 of 2 moved, 2 pending", vm("a", migrate.VMPending), vm("b", migrate.VMPending))
	fl.set(old, r1)
	rec.waitFor(t, id, "the creation", func(evs []indication) bool { return len(evs) == 1 })
	fl.set(old, r1) // no change of the record: no indication
	r2 := step(2, migrate.DrainRunning, "Running: 1 of 2 moved, 1 migrating", vm("a", migrate.VMMoved), vm("b", migrate.VMMigrating))
	fl.set(old, r2)
	rec.waitFor(t, id, "the first migration's end", func(evs []indication) bool { return len(evs) == 2 })
	r3 := step(3, migrate.DrainCompleted, "Completed: 2 of 2 moved", vm("a", migrate.VMMoved), vm("b", migrate.VMMoved))
	fl.set(old, r3)
	rec.waitFor(t, id, "the end", lastIs("modified", "JobState", uint64(jobCompleted)))
	fl.set(old)
	evs := rec.waitFor(t, id, "the deletion", func(evs []indication) bool { return len(evs) == 4 && evs[3].kind == "deleted" })

	if evs[0].kind != "created" || get(evs[0].inst, "JobState") != uint64(jobRunning) {
		t.Errorf("first indication: %s", describe(evs[:1]))
	}
	wantPercent := []uint64{0, 50, 100}
	for i, e := range evs[:3] {
		if got := get(e.inst, "PercentComplete"); got != wantPercent[i] {
			t.Errorf("indication %d: PercentComplete %v, want %d", i, got, wantPercent[i])
		}
		if i > 0 && (e.kind != "modified" || !sameInstance(e.prev, evs[i-1].inst)) {
			t.Errorf("indication %d: %s, PreviousInstance the previous one's: %v", i, e.kind, e.prev != nil && sameInstance(e.prev, evs[i-1].inst))
		}
	}
	if e := evs[3]; !sameInstance(e.inst, evs[2].inst) {
		t.Errorf("the deletion's instance is not the last one shown")
	}
	if n := len(rec.of(old.ID)); n != 0 {
		t.Errorf("the drain that ended before the profile started has %d indications, want none", n)
	}
}
