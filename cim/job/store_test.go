package job_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/cim/job/jobtest"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newJob(id string, submitted time.Time) *job.Job {
	return &job.Job{
		InstanceID:        id,
		Name:              "Migrate vm1 to host2",
		State:             job.New,
		TimeSubmitted:     submitted,
		TimeBeforeRemoval: 5 * time.Minute,
		Method:            "MigrateVirtualSystemToHost",
		VMUUID:            "0b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f30",
		DestinationHost:   "host2",
		MigrationType:     2,
		Request:           []byte(`{"JobID":"x"}`),
	}
}

// stores runs f against every Store implementation.
func stores(t *testing.T, f func(t *testing.T, s job.Store)) {
	t.Run("memory", func(t *testing.T) {
		s := job.NewMemory()
		defer s.Close()
		f(t, s)
	})
	t.Run("bolt", func(t *testing.T) {
		s := jobtest.NewTempStore(t)
		f(t, s)
	})
	t.Run("bolt, one commit per write", func(t *testing.T) {
		cfg := job.DefaultConfig()
		cfg.NoGroupCommit, cfg.ProgressInterval = true, -1
		s, err := job.Open(filepath.Join(t.TempDir(), "jobs.db"), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f(t, s)
	})
}

func TestStoreCRUD(t *testing.T) {
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		j := newJob("vsmig:a", t0)
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, j); !errors.Is(err, job.ErrExists) {
			t.Fatalf("second Create: %v, want ErrExists", err)
		}
		if err := s.Create(ctx, &job.Job{}); !errors.Is(err, job.ErrInvalid) {
			t.Fatalf("Create without ID: %v, want ErrInvalid", err)
		}
		got, err := s.Get(ctx, "vsmig:a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != j.Name || !got.TimeSubmitted.Equal(t0) || string(got.Request) != string(j.Request) {
			t.Fatalf("Get = %+v", got)
		}
		got.Request[0] = 'X' // copies must not alias the store
		again, _ := s.Get(ctx, "vsmig:a")
		if again.Request[0] != '{' {
			t.Fatal("Get returned an alias of the stored Request")
		}
		if _, err := s.Get(ctx, "vsmig:none"); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		if _, err := s.Update(ctx, "vsmig:none", func(*job.Job) error { return nil }); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("Update missing: %v", err)
		}
		if err := s.Delete(ctx, "vsmig:a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "vsmig:a"); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("second Delete: %v", err)
		}
	})
}

func TestStoreListOrder(t *testing.T) {
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		for i, id := range []string{"c", "a", "d", "b"} {
			// b and c share a submission time: ties break by InstanceID.
			sub := t0.Add(time.Duration([]int{1, 0, 3, 1}[i]) * time.Second)
			if err := s.Create(ctx, newJob(id, sub)); err != nil {
				t.Fatal(err)
			}
		}
		js, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range js {
			ids = append(ids, j.InstanceID)
		}
		if fmt.Sprint(ids) != "[a b c d]" {
			t.Fatalf("List order %v", ids)
		}
	})
}

func TestStoreTerminalWrittenOnce(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(j *job.Job)
		wantErr error
	}{
		{"percent may change", func(j *job.Job) { j.PercentComplete = 100 }, nil},
		{"removal settings may change", func(j *job.Job) { j.DeleteOnCompletion = true; j.TimeBeforeRemoval = time.Hour }, nil},
		{"same state is fine", func(j *job.Job) { j.State = job.Exception }, nil},
		{"state", func(j *job.Job) { j.State = job.Completed }, job.ErrTerminal},
		{"error code", func(j *job.Job) { j.ErrorCode = 1 }, job.ErrTerminal},
		{"error description", func(j *job.Job) { j.ErrorDescription = "other" }, job.ErrTerminal},
		{"instance id", func(j *job.Job) { j.InstanceID = "other" }, job.ErrInvalid},
	}
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprintf("vsmig:%d", i)
				if err := s.Create(ctx, newJob(id, t0)); err != nil {
					t.Fatal(err)
				}
				_, err := s.Update(ctx, id, func(j *job.Job) error {
					j.State, j.ErrorCode, j.ErrorDescription = job.Exception, 2, "destination refused"
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Update(ctx, id, func(j *job.Job) error { tt.fn(j); return nil })
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Update: %v, want %v", err, tt.wantErr)
				}
				got, _ := s.Get(ctx, id)
				if got.State != job.Exception || got.ErrorCode != 2 || got.ErrorDescription != "destination refused" {
					t.Fatalf("terminal fields changed: %+v", got)
				}
			})
		}
	})
}

func TestStoreUpdateFnError(t *testing.T) {
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		s.Create(ctx, newJob("vsmig:a", t0))
		boom := errors.New("boom")
		_, err := s.Update(ctx, "vsmig:a", func(j *job.Job) error { j.PercentComplete = 50; return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Update: %v", err)
		}
		if got, _ := s.Get(ctx, "vsmig:a"); got.PercentComplete != 0 {
			t.Fatal("a failed Update was stored")
		}
	})
}

func TestStoreConcurrentUpdates(t *testing.T) {
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		s.Create(ctx, newJob("vsmig:a", t0))
		const n = 40
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := s.Update(ctx, "vsmig:a", func(j *job.Job) error { j.Iteration++; return nil }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, _ := s.Get(ctx, "vsmig:a"); got.Iteration != n {
			t.Fatalf("Iteration = %d, want %d (lost updates)", got.Iteration, n)
		}
	})
}

func TestStoreCanceledContext(t *testing.T) {
	stores(t, func(t *testing.T, s job.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Create(ctx, newJob("vsmig:a", t0)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Create: %v", err)
		}
	})
}

func TestBoltDurableAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := job.Open(path, job.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]job.State{}
	for i := range 20 {
		id := fmt.Sprintf("vsmig:%02d", i)
		j := newJob(id, t0.Add(time.Duration(i)*time.Second))
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		st := []job.State{job.Running, job.Completed, job.Exception, job.New}[i%4]
		if _, err := s.Update(ctx, id, func(j *job.Job) error { j.State = st; j.PercentComplete = uint16(i); return nil }); err != nil {
			t.Fatal(err)
		}
		want[id] = st
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "vsmig:00"); !errors.Is(err, job.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	s, err = job.Open(path, job.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	js, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != len(want) {
		t.Fatalf("reopened store has %d jobs, want %d", len(js), len(want))
	}
	for i, j := range js {
		if j.State != want[j.InstanceID] || j.PercentComplete != uint16(i) || string(j.Request) != `{"JobID":"x"}` {
			t.Errorf("job %s after reopen: %+v", j.InstanceID, j)
		}
	}
}

func TestBoltLockedByOtherOpen(t *testing.T) {
	_, path := jobtest.NewTempStorePath(t)
	cfg := job.DefaultConfig()
	cfg.Timeout = 50 * time.Millisecond
	if s, err := job.Open(path, cfg); err == nil {
		s.Close()
		t.Fatal("second Open of a locked database succeeded")
	}
}

func TestSweep(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		id    string
		state job.State
		del   bool
		end   time.Time
		tbr   time.Duration
		gone  bool
	}{
		{"expired", job.Completed, true, now.Add(-6 * time.Minute), 5 * time.Minute, true},
		{"exactly due", job.Exception, true, now.Add(-5 * time.Minute), 5 * time.Minute, true},
		{"not yet", job.Completed, true, now.Add(-4 * time.Minute), 5 * time.Minute, false},
		{"keep flag off", job.Completed, false, now.Add(-time.Hour), 0, false},
		{"running", job.Running, true, time.Time{}, 0, false},
		{"zero removal time", job.Killed, true, now, 0, true},
	}
	stores(t, func(t *testing.T, s job.Store) {
		ctx := context.Background()
		for _, tt := range tests {
			j := newJob(tt.id, t0)
			j.State, j.DeleteOnCompletion, j.EndTime, j.TimeBeforeRemoval = tt.state, tt.del, tt.end, tt.tbr
			s.Create(ctx, j)
		}
		removed, err := job.Sweep(ctx, s, now)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(removed)
		var want []string
		for _, tt := range tests {
			_, err := s.Get(ctx, tt.id)
			if gone := errors.Is(err, job.ErrNotFound); gone != tt.gone {
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
	})
}

func TestSweeperRunsAndCloses(t *testing.T) {
	s := job.NewMemory()
	ctx := context.Background()
	j := newJob("vsmig:a", t0)
	j.State, j.DeleteOnCompletion, j.EndTime = job.Completed, true, t0
	s.Create(ctx, j)
	got := make(chan []string, 1)
	sw := job.NewSweeper(s, job.SweeperConfig{
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

func TestNewInstanceID(t *testing.T) {
	a, b := job.NewInstanceID("vsmig"), job.NewInstanceID("vsmig")
	if a == b || len(a) != len("vsmig:")+36 || a[:6] != "vsmig:" {
		t.Fatalf("NewInstanceID = %q, %q", a, b)
	}
}
