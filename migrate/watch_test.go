package migrate_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// changeLog collects the DomainChanges of a watch as "+name", "-name" and
// "~name state".
type changeLog struct {
	mu  sync.Mutex
	log []string
}

func (l *changeLog) add(c migrate.DomainChange) {
	var s string
	switch {
	case c.Old == nil:
		s = "+" + c.New.Name
	case c.New == nil:
		s = "-" + c.Old.Name
	default:
		s = fmt.Sprintf("~%s %d", c.New.Name, c.New.State)
	}
	l.mu.Lock()
	l.log = append(l.log, s)
	l.mu.Unlock()
}

func (l *changeLog) waitFor(t *testing.T, want ...string) {
	t.Helper()
	l.wait(t, false, want)
}

// waitForSet is waitFor in any order.
func (l *changeLog) waitForSet(t *testing.T, want ...string) {
	t.Helper()
	l.wait(t, true, want)
}

func (l *changeLog) wait(t *testing.T, sorted bool, want []string) {
	t.Helper()
	if sorted {
		want = slices.Sorted(slices.Values(want))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		log := slices.Clone(l.log)
		l.mu.Unlock()
		if sorted {
			slices.Sort(log)
		}
		got := fmt.Sprint(log)
		if got == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("changes %s, want %v", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWatchDomains: the engine reports a VM arriving on its host (defined
// there), one leaving by a migration, and a Resume migration's pause,
// from the simulator's events.
func TestWatchDomains(t *testing.T) {
	f := newFixture(t, nil, vm("web", 1*gib, 10e6, 64e6), vm("db", 1*gib, 0, 0))
	var l changeLog
	w, doms, err := f.e.WatchDomains(t.Context(), l.add)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if len(doms) != 2 {
		t.Fatalf("initial inventory %v", doms)
	}
	if err := f.c.AddVM(sim.VMConfig{Name: "new", Host: "host-a", MemoryKiB: gib}); err != nil {
		t.Fatal(err)
	}
	l.waitFor(t, "+new")
	if err := errOf(f.e.Submit(t.Context(), req("j1", "web", "host-b"))); err != nil {
		t.Fatal(err)
	}
	f.rec.final(t, "j1")
	l.waitFor(t, "+new", "-web")
	r := req("j2", "db", "host-b")
	r.Plan.Type = migrate.Resume
	if err := errOf(f.e.Submit(t.Context(), r)); err != nil {
		t.Fatal(err)
	}
	f.rec.final(t, "j2")
	l.waitFor(t, "+new", "-web", fmt.Sprintf("~db %d", migrate.StatePaused), "-db")
	// A VM arriving from elsewhere.
	if err := f.c.Place(sim.VMUUID("web"), map[string]migrate.DomainState{"host-a": migrate.StateShutoff}); err != nil {
		t.Fatal(err)
	}
	l.waitFor(t, "+new", "-web", fmt.Sprintf("~db %d", migrate.StatePaused), "-db", "+web")
}

// blindHost hides the simulator's DomainWatcher: the engine polls.
type blindHost struct{ migrate.Driver }

// TestWatchDomainsPolls: without a DomainWatcher the inventory is read
// every InventoryPollInterval of the engine's clock.
func TestWatchDomainsPolls(t *testing.T) {
	clk := sim.NewManualClock()
	c, err := sim.NewCluster(sim.Config{Clock: clk,
		Hosts: []sim.HostConfig{{Name: "host-a", CPUModel: "x", MemoryKiB: 64 * gib}},
		VMs:   []sim.VMConfig{vm("web", gib, 0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := migrate.DefaultConfig()
	cfg.Clock = clk
	e, err := migrate.New(cfg, blindHost{c.Host("host-a")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	var l changeLog
	w, _, err := e.WatchDomains(t.Context(), l.add)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := c.Place(sim.VMUUID("web"), map[string]migrate.DomainState{"host-a": migrate.StatePaused}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddVM(sim.VMConfig{Name: "new", Host: "host-a", MemoryKiB: gib}); err != nil {
		t.Fatal(err)
	}
	// Nothing is seen until the poll: advance the clock until the watch's
	// ticker fires (it is made once the watch has started).
	deadline := time.Now().Add(10 * time.Second)
	for {
		clk.Advance(migrate.InventoryPollInterval)
		l.mu.Lock()
		n := len(l.log)
		l.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The watch's first read may see either change before the poll does.
	l.waitForSet(t, "+new", fmt.Sprintf("~web %d", migrate.StatePaused))
}
