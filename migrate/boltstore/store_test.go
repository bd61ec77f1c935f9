package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newJob(id string, submitted time.Time) *migrate.Job {
	return &migrate.Job{
		ID:         id,
		VMName:     "vm1",
		Status:     migrate.StatusQueued,
		StatusLine: "Queued",
		Submitted:  submitted,
		Plan: migrate.Plan{VM: "0b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f30", Type: migrate.Live, DestHost: "host2",
			Transport: migrate.TCP, DestURI: "qemu+tcp://host2/system"},
		Meta: migrate.Meta{Method: "MigrateVirtualSystemToHost", TimeBeforeRemoval: 5 * time.Minute},
	}
}

// tempStore opens a Store in t.TempDir() and closes it when the test
// ends; it returns the file's path too, to reopen it.
func tempStore(t testing.TB, cfg boltstore.Config) (migrate.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := boltstore.Open(path, cfg)
	if err != nil {
		t.Fatalf("open job store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// stores runs f against every Store implementation.
func stores(t *testing.T, f func(t *testing.T, s migrate.Store)) {
	t.Run("memory", func(t *testing.T) {
		s := migrate.NewMemoryStore()
		defer s.Close()
		f(t, s)
	})
	t.Run("bolt", func(t *testing.T) {
		s, _ := tempStore(t, boltstore.DefaultConfig())
		f(t, s)
	})
	t.Run("bolt, one commit per write", func(t *testing.T) {
		cfg := boltstore.DefaultConfig()
		cfg.NoGroupCommit, cfg.ProgressInterval = true, -1
		s, _ := tempStore(t, cfg)
		f(t, s)
	})
}

func TestStoreCRUD(t *testing.T) {
	stores(t, func(t *testing.T, s migrate.Store) {
		ctx := context.Background()
		j := newJob("vsmig:a", t0)
		j.Result = &migrate.Result{Downtime: time.Second}
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, j); !errors.Is(err, migrate.ErrExists) {
			t.Fatalf("second Create: %v, want ErrExists", err)
		}
		if err := s.Create(ctx, &migrate.Job{}); !errors.Is(err, migrate.ErrInvalidJob) {
			t.Fatalf("Create without ID: %v, want ErrInvalidJob", err)
		}
		got, err := s.Get(ctx, "vsmig:a")
		if err != nil {
			t.Fatal(err)
		}
		if got.VMName != j.VMName || !got.Submitted.Equal(t0) || !reflect.DeepEqual(got.Plan, j.Plan) || got.Meta != j.Meta {
			t.Fatalf("Get = %+v", got)
		}
		got.Result.Downtime = 0 // copies must not alias the store
		again, _ := s.Get(ctx, "vsmig:a")
		if again.Result.Downtime != time.Second {
			t.Fatal("Get returned an alias of the stored Result")
		}
		if _, err := s.Get(ctx, "vsmig:none"); !errors.Is(err, migrate.ErrNoJob) {
			t.Fatalf("Get missing: %v", err)
		}
		if _, err := s.Update(ctx, "vsmig:none", func(*migrate.Job) error { return nil }); !errors.Is(err, migrate.ErrNoJob) {
			t.Fatalf("Update missing: %v", err)
		}
		if err := s.Delete(ctx, "vsmig:a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "vsmig:a"); !errors.Is(err, migrate.ErrNoJob) {
			t.Fatalf("second Delete: %v", err)
		}
	})
}

func TestStoreListOrder(t *testing.T) {
	stores(t, func(t *testing.T, s migrate.Store) {
		ctx := context.Background()
		for i, id := range []string{"c", "a", "d", "b"} {
			// b and c share a submission time: ties break by ID.
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
			ids = append(ids, j.ID)
		}
		if fmt.Sprint(ids) != "[a b c d]" {
			t.Fatalf("List order %v", ids)
		}
	})
}

func TestStoreTerminalWrittenOnce(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(j *migrate.Job)
		wantErr error
	}{
		{"percent may change", func(j *migrate.Job) { j.Percent = 100 }, nil},
		{"removal settings may change", func(j *migrate.Job) { j.Meta.DeleteOnCompletion = true; j.Meta.TimeBeforeRemoval = time.Hour }, nil},
		{"same state is fine", func(j *migrate.Job) { j.Status = migrate.StatusFailed }, nil},
		{"state", func(j *migrate.Job) { j.Status = migrate.StatusCompleted }, migrate.ErrTerminal},
		{"error kind", func(j *migrate.Job) { j.ErrKind = migrate.NotSupported }, migrate.ErrTerminal},
		{"error description", func(j *migrate.Job) { j.Error = "other" }, migrate.ErrTerminal},
		{"id", func(j *migrate.Job) { j.ID = "other" }, migrate.ErrInvalidJob},
	}
	stores(t, func(t *testing.T, s migrate.Store) {
		ctx := context.Background()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprintf("vsmig:%d", i)
				if err := s.Create(ctx, newJob(id, t0)); err != nil {
					t.Fatal(err)
				}
				_, err := s.Update(ctx, id, func(j *migrate.Job) error {
					j.Status, j.ErrKind, j.Error = migrate.StatusFailed, migrate.Failed, "destination refused"
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Update(ctx, id, func(j *migrate.Job) error { tt.fn(j); return nil })
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Update: %v, want %v", err, tt.wantErr)
				}
				got, _ := s.Get(ctx, id)
				if got.Status != migrate.StatusFailed || got.ErrKind != migrate.Failed || got.Error != "destination refused" {
					t.Fatalf("terminal fields changed: %+v", got)
				}
			})
		}
	})
}

func TestStoreUpdateFnError(t *testing.T) {
	stores(t, func(t *testing.T, s migrate.Store) {
		ctx := context.Background()
		s.Create(ctx, newJob("vsmig:a", t0))
		boom := errors.New("boom")
		_, err := s.Update(ctx, "vsmig:a", func(j *migrate.Job) error { j.Percent = 50; return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Update: %v", err)
		}
		if got, _ := s.Get(ctx, "vsmig:a"); got.Percent != 0 {
			t.Fatal("a failed Update was stored")
		}
	})
}

func TestStoreConcurrentUpdates(t *testing.T) {
	stores(t, func(t *testing.T, s migrate.Store) {
		ctx := context.Background()
		s.Create(ctx, newJob("vsmig:a", t0))
		const n = 40
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := s.Update(ctx, "vsmig:a", func(j *migrate.Job) error { j.Progress.Iteration++; return nil }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, _ := s.Get(ctx, "vsmig:a"); got.Progress.Iteration != n {
			t.Fatalf("Iteration = %d, want %d (lost updates)", got.Progress.Iteration, n)
		}
	})
}

func TestStoreCanceledContext(t *testing.T) {
	stores(t, func(t *testing.T, s migrate.Store) {
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
	s, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]migrate.Status{}
	for i := range 20 {
		id := fmt.Sprintf("vsmig:%02d", i)
		j := newJob(id, t0.Add(time.Duration(i)*time.Second))
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		st := []migrate.Status{migrate.StatusRunning, migrate.StatusCompleted, migrate.StatusFailed, migrate.StatusQueued}[i%4]
		if _, err := s.Update(ctx, id, func(j *migrate.Job) error { j.Status = st; j.Percent = i; return nil }); err != nil {
			t.Fatal(err)
		}
		want[id] = st
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "vsmig:00"); !errors.Is(err, migrate.ErrStoreClosed) {
		t.Fatalf("Get after Close: %v, want ErrStoreClosed", err)
	}
	s, err = boltstore.Open(path, boltstore.DefaultConfig())
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
		if j.Status != want[j.ID] || j.Percent != i || !reflect.DeepEqual(j.Plan, newJob("x", t0).Plan) {
			t.Errorf("job %s after reopen: %+v", j.ID, j)
		}
	}
}

func TestBoltLockedByOtherOpen(t *testing.T) {
	_, path := tempStore(t, boltstore.DefaultConfig())
	cfg := boltstore.DefaultConfig()
	cfg.Timeout = 50 * time.Millisecond
	if s, err := boltstore.Open(path, cfg); err == nil {
		s.Close()
		t.Fatal("second Open of a locked database succeeded")
	}
}
