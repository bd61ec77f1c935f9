//go:build integration

package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// TestWatchDomainsOfARealMigration: both hosts' inventory events during a
// live migration on the lab. The source names the guest as it leaves
// (suspended, stopped, undefined) and the destination as it arrives
// (defined, started, resumed); the engine's inventory watch over each
// driver turns them into "left A" and "arrived on B", and back.
func TestWatchDomainsOfARealMigration(t *testing.T) {
	a, b, dom := guestOnA(t)
	seenA, stopA := collectEvents(t, a)
	seenB, stopB := collectEvents(t, b)
	migrateAndWait(t, a, plan(dom.UUID, hostB, uriB), nil)
	waitEvent(t, "source", seenA, dom.UUID)
	waitEvent(t, "destination", seenB, dom.UUID)
	stopA()
	stopB()

	// The same through engines' inventory watches.
	engA := labEngine(t, a)
	engB := labEngine(t, b)
	var mu sync.Mutex
	var changes []string
	watch := func(e *migrate.Engine, host string) {
		w, _, err := e.WatchDomains(context.Background(), func(c migrate.DomainChange) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case c.Old == nil && c.New.UUID == dom.UUID:
				changes = append(changes, "+"+host)
			case c.New == nil && c.Old.UUID == dom.UUID:
				changes = append(changes, "-"+host)
			case c.New != nil && c.Old != nil && c.New.UUID == dom.UUID:
				changes = append(changes, fmt.Sprintf("~%s:%v", host, c.New.State))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	watch(engA, "A")
	watch(engB, "B")
	migrateAndWait(t, b, plan(dom.UUID, hostA, uriA), nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		var left, arrived bool
		for _, c := range changes {
			left = left || c == "-B"
			arrived = arrived || c == "+A"
		}
		got := append([]string(nil), changes...)
		mu.Unlock()
		if left && arrived {
			t.Logf("inventory changes %v", got)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventory changes %v; want the guest to leave B and arrive on A", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	assertOnlyOnA(t, a, b, dom.UUID)
}

// collectEvents gathers the UUIDs d's WatchDomains sends until stop.
func collectEvents(t *testing.T, d *Driver) (func() map[string]int, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := d.WatchDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := range ch {
			mu.Lock()
			seen[id]++
			mu.Unlock()
		}
	}()
	get := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
	return get, func() { cancel(); <-done }
}

func waitEvent(t *testing.T, which string, seen func() map[string]int, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for seen()[id] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no lifecycle event for %s on the %s: %v", id, which, seen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// labEngine is an engine over d, shut down at the end of the test.
func labEngine(t *testing.T, d *Driver) *migrate.Engine {
	t.Helper()
	cfg := migrate.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := migrate.New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	})
	return e
}

// testLog writes an engine's log lines to the test's log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("%s", p)
	return len(p), nil
}
