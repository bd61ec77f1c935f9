package vsm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// record puts a job in the fixture's store as the engine would have left
// it.
func (f *fixture) record(id string, st migrate.Status, del bool, end time.Time, tbr time.Duration) {
	f.t.Helper()
	err := f.store.Create(f.ctx, &migrate.Job{ID: id, Status: st, Submitted: t0, Changed: end, Ended: end, VMName: "web1",
		Plan: migrate.Plan{VM: vmRunning, Type: migrate.Live, DestHost: "host2.lab"},
		Meta: migrate.Meta{DeleteOnCompletion: del, TimeBeforeRemoval: tbr}})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestSweep(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		id   string
		st   migrate.Status
		del  bool
		end  time.Time
		tbr  time.Duration
		gone bool
	}{
		{"expired", migrate.StatusCompleted, true, now.Add(-6 * time.Minute), 5 * time.Minute, true},
		{"exactly due", migrate.StatusFailed, true, now.Add(-5 * time.Minute), 5 * time.Minute, true},
		{"not yet", migrate.StatusCompleted, true, now.Add(-4 * time.Minute), 5 * time.Minute, false},
		{"keep flag off", migrate.StatusCompleted, false, now.Add(-time.Hour), 0, false},
		{"running", migrate.StatusRunning, true, time.Time{}, 0, false},
		{"zero removal time", migrate.StatusKilled, true, now, 0, true},
	}
	f := newFixture(t, nil)
	for _, tt := range tests {
		f.record(tt.id, tt.st, tt.del, tt.end, tt.tbr)
	}
	removed, err := Sweep(f.ctx, f.eng, now)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(removed)
	var want []string
	for _, tt := range tests {
		_, err := f.eng.Job(f.ctx, tt.id)
		if gone := errors.Is(err, migrate.ErrNoJob); gone != tt.gone {
			t.Errorf("%s: gone=%v, want %v", tt.id, gone, tt.gone)
		}
		if tt.gone {
			want = append(want, tt.id)
		}
	}
	sort.Strings(want)
	if fmt.Sprint(removed) != fmt.Sprint(want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
}

func TestSweeperRunsAndCloses(t *testing.T) {
	f := newFixture(t, nil)
	f.record("vsmig:a", migrate.StatusCompleted, true, t0, 0)
	got := make(chan []string, 1)
	sw := NewSweeper(f.eng, SweeperConfig{
		Interval: time.Millisecond,
		Now:      func() time.Time { return t0.Add(time.Hour) },
		OnRemove: func(ids []string) { got <- ids },
	})
	select {
	case ids := <-got:
		if len(ids) != 1 || ids[0] != "vsmig:a" {
			t.Errorf("removed %v", ids)
		}
	case <-time.After(10 * time.Second):
		t.Error("sweeper removed nothing")
	}
	sw.Close()
	sw.Close()
}

// TestExpiredJobsSwept: the profile's sweeper removes a finished job once
// its TimeBeforeRemoval has passed, and keeps an unfinished one.
func TestExpiredJobsSwept(t *testing.T) {
	var mu sync.Mutex
	now := t0
	f := newFixture(t, nil, func(f *fixture) {
		f.config.SweepInterval = time.Millisecond
		f.config.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	f.record("vsmig:done", migrate.StatusCompleted, true, t0, DefaultTimeBeforeRemoval)
	f.record("vsmig:kept", migrate.StatusRunning, true, time.Time{}, DefaultTimeBeforeRemoval)
	mu.Lock()
	now = t0.Add(DefaultTimeBeforeRemoval + time.Second)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := f.eng.Job(context.Background(), "vsmig:done")
		if errors.Is(err, migrate.ErrNoJob) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired job not removed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := f.eng.Job(f.ctx, "vsmig:kept"); err != nil {
		t.Fatalf("running job removed: %v", err)
	}
}
