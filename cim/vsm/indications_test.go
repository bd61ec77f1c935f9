package vsm

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// indication is one change an observer was told of.
type indication struct {
	kind       string // created, modified, deleted
	prev, inst *cim.Instance
	at         time.Time
}

// indRecorder is a cim.ChangeObserver that records, with a subscriber
// count the test sets.
type indRecorder struct {
	mu   sync.Mutex
	evs  []indication
	subs int
}

func (r *indRecorder) add(kind string, prev, inst *cim.Instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, indication{kind: kind, prev: prev, inst: inst, at: time.Now()})
}

func (r *indRecorder) Created(inst *cim.Instance)        { r.add("created", nil, inst) }
func (r *indRecorder) Modified(prev, inst *cim.Instance) { r.add("modified", prev, inst) }
func (r *indRecorder) Deleted(inst *cim.Instance)        { r.add("deleted", nil, inst) }
func (r *indRecorder) Subscribers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs
}

// of returns the recorded indications of the instance with key value id
// (InstanceID of a job, Name of a system).
func (r *indRecorder) of(id string) []indication {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []indication
	for _, e := range r.evs {
		if keyString(e.inst.Path(), "InstanceID") == id || keyString(e.inst.Path(), "Name") == id {
			out = append(out, e)
		}
	}
	return out
}

// waitFor waits until cond holds for the indications of id.
func (r *indRecorder) waitFor(t *testing.T, id, what string, cond func([]indication) bool) []indication {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.of(id)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: indications of %s: %s", what, id, describe(evs))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func describe(evs []indication) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s JobState=%v Percent=%v OperatingStatus=%v EnabledState=%v", e.kind,
			get(e.inst, "JobState"), get(e.inst, "PercentComplete"), get(e.inst, "OperatingStatus"), get(e.inst, "EnabledState"))
	}
	return b.String()
}

func lastIs(kind string, prop string, v any) func([]indication) bool {
	return func(evs []indication) bool {
		if len(evs) == 0 {
			return false
		}
		e := evs[len(evs)-1]
		return e.kind == kind && (prop == "" || cim.ValuesEqual(get(e.inst, prop), v))
	}
}

// withIndications is a fixture mod: the profile reports to rec, the jobs'
// changes through an ObservedStore, progress at most every interval.
func withIndications(rec *indRecorder, interval time.Duration) func(f *fixture) {
	return func(f *fixture) {
		js := ObserveStore(f.store)
		f.engCfg.Store = js
		f.config.Jobs = js
		f.config.Indications = rec
		f.config.ProgressInterval = interval
	}
}

// TestJobIndications: a migration from request to completion reports the
// job's creation, each change of state at once, its progress at most every
// ProgressInterval, each modification with the previous indication's
// instance as PreviousInstance, and the VM's Emigrating then its
// departure.
func TestJobIndications(t *testing.T) {
	rec := &indRecorder{subs: 1}
	const interval = 10 * time.Millisecond
	f := newFixture(t, nil, withIndications(rec, interval))
	// 1 GiB at 20 MiB/s: 50 s of the simulator's time, 250 ms of the
	// test's, sampled every 2.5 ms.
	id := f.migrateWith(map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
		"MigrationSettingData": f.embed(ClassSettingData, map[string]any{"Bandwidth": 20})})
	evs := rec.waitFor(t, id, "the job's end", lastIs("modified", "JobState", uint64(7)))
	if evs[0].kind != "created" || get(evs[0].inst, "JobState") != uint64(jobNew) {
		t.Fatalf("first indication: %s", describe(evs[:1]))
	}
	var states []uint64
	progress := 0
	for i, e := range evs[1:] {
		prev := evs[i]
		if e.kind != "modified" {
			t.Fatalf("indication %d is %s:%s", i+1, e.kind, describe(evs))
		}
		if !sameInstance(e.prev, prev.inst) {
			t.Errorf("indication %d: PreviousInstance is not the previous indication's instance", i+1)
		}
		st := get(e.inst, "JobState").(uint64)
		if get(prev.inst, "JobState") == st {
			progress++
			if gap := e.at.Sub(prev.at); gap < interval {
				t.Errorf("progress indication %d only %v after the one before (interval %v)", i+1, gap, interval)
			}
		} else {
			states = append(states, st)
		}
	}
	if fmt.Sprint(states) != "[3 4 7]" {
		t.Errorf("JobStates shown %v, want [3 4 7]:%s", states, describe(evs))
	}
	if progress < 2 {
		t.Errorf("%d progress indications during a 250 ms transfer at a %v interval:%s", progress, interval, describe(evs))
	}
	final := evs[len(evs)-1].inst
	if get(final, "PercentComplete") != uint64(100) || opStatus(final) != "[2 17]" {
		t.Errorf("final indication %v", final)
	}

	// The VM: Emigrating while the job ran, then gone from this host.
	vm := rec.waitFor(t, vmRunning, "the VM's departure", lastIs("deleted", "", nil))
	var kinds []string
	for _, e := range vm {
		kinds = append(kinds, fmt.Sprintf("%s/%v", e.kind, get(e.inst, "OperatingStatus")))
	}
	if fmt.Sprint(kinds) != "[modified/10 deleted/10]" {
		t.Errorf("VM indications %v, want [modified/10 deleted/10]", kinds)
	}

	// The writable properties (a Put) and the removal.
	mod := f.job(id)
	mod.MustSet("DeleteOnCompletion", false)
	if err := f.jobs.ModifyInstance(f.ctx, mod); err != nil {
		t.Fatal(err)
	}
	evs = rec.waitFor(t, id, "the Put", lastIs("modified", "DeleteOnCompletion", false))
	if last := evs[len(evs)-1]; get(last.prev, "DeleteOnCompletion") != true {
		t.Errorf("Put: PreviousInstance.DeleteOnCompletion %v", get(last.prev, "DeleteOnCompletion"))
	}
	if err := f.jobs.DeleteInstance(f.ctx, f.p.jobPath(id)); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, id, "the Delete", lastIs("deleted", "JobState", uint64(7)))
	if n := len(rec.of(id)); n != len(evs)+1 {
		t.Errorf("%d indications after the Delete, want %d", n, len(evs)+1)
	}
}

// TestJobIndicationsCancelAndExpiry: a Terminate shows Shutting Down, then
// Terminated, and the VM back in service; a job removed by its
// TimeBeforeRemoval expiry is reported deleted.
func TestJobIndicationsCancelAndExpiry(t *testing.T) {
	rec := &indRecorder{subs: 1}
	f := newFixture(t, nil, withIndications(rec, time.Millisecond))
	release := f.gate()
	id := f.migrate(vmRunning, "host2.lab")
	f.waitState(id, 3)
	if rc := f.rsc(id, map[string]any{"RequestedState": uint64(4)}); rc != 4096 {
		t.Fatalf("RequestStateChange = %d", rc)
	}
	release()
	evs := rec.waitFor(t, id, "the cancel", lastIs("modified", "JobState", uint64(8)))
	var states []any
	for _, e := range evs {
		if len(states) == 0 || states[len(states)-1] != get(e.inst, "JobState") {
			states = append(states, get(e.inst, "JobState"))
		}
	}
	if fmt.Sprint(states) != "[2 3 6 8]" {
		t.Errorf("JobStates %v, want [2 3 6 8]:%s", states, describe(evs))
	}
	vm := rec.waitFor(t, vmRunning, "the VM in service", lastIs("modified", "OperatingStatus", uint64(operatingInService)))
	if len(vm) != 2 || get(vm[0].inst, "OperatingStatus") != uint64(operatingEmigrating) {
		t.Errorf("VM indications:%s", describe(vm))
	}

	// Expiry: the sweeper removes the job once TimeBeforeRemoval has
	// passed, and the removal is reported like a Delete.
	if _, err := f.eng.UpdateMeta(f.ctx, id, func(m *migrate.Meta) { m.TimeBeforeRemoval = 0 }); err != nil {
		t.Fatal(err)
	}
	if removed, err := Sweep(f.ctx, f.eng, f.clk.Now().Add(time.Second)); err != nil || !slices.Contains(removed, id) {
		t.Fatalf("Sweep = %v, %v", removed, err)
	}
	rec.waitFor(t, id, "the expiry", lastIs("deleted", "JobState", uint64(8)))
}

// TestNoProgressWithoutSubscribers: with nobody subscribed, the job's
// state changes are still reported (they cost nothing more), its progress
// is not.
func TestNoProgressWithoutSubscribers(t *testing.T) {
	rec := &indRecorder{}
	f := newFixture(t, nil, withIndications(rec, time.Millisecond))
	id := f.migrateWith(map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
		"MigrationSettingData": f.embed(ClassSettingData, map[string]any{"Bandwidth": 50})})
	evs := rec.waitFor(t, id, "the job's end", lastIs("modified", "JobState", uint64(7)))
	if len(evs) != 4 {
		t.Errorf("%d indications, want 4 (created, 3, 4, 7):%s", len(evs), describe(evs))
	}
}

// TestVMIndications: a VM defined on this host is reported created, a
// change of its run state modified, its removal deleted.
func TestVMIndications(t *testing.T) {
	rec := &indRecorder{subs: 1}
	f := newFixture(t, nil, withIndications(rec, time.Millisecond))
	const id = "5b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f35"
	if err := f.c.AddVM(sim.VMConfig{Name: "arrival", UUID: id, Host: testHost, MemoryKiB: gib, CPUModel: "x"}); err != nil {
		t.Fatal(err)
	}
	evs := rec.waitFor(t, id, "the arrival", lastIs("created", "EnabledState", uint64(enabledEnabled)))
	if get(evs[0].inst, "ElementName") != "arrival" {
		t.Errorf("created %v", evs[0].inst)
	}
	if err := f.c.Place(id, map[string]migrate.DomainState{testHost: migrate.StatePaused}); err != nil {
		t.Fatal(err)
	}
	evs = rec.waitFor(t, id, "the pause", lastIs("modified", "EnabledState", uint64(enabledQuiesce)))
	if get(evs[len(evs)-1].prev, "EnabledState") != uint64(enabledEnabled) {
		t.Errorf("PreviousInstance.EnabledState %v", get(evs[len(evs)-1].prev, "EnabledState"))
	}
	if err := f.c.Place(id, map[string]migrate.DomainState{"host2.lab": migrate.StateRunning}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, id, "the departure", lastIs("deleted", "EnabledState", uint64(enabledQuiesce)))
}
