package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/vsmig/vsmig/migrate"
)

var tBase = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// openTest opens a bbolt store with a clock the test moves.
func openTest(t *testing.T, cfg Config) (*store, string, *time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	st, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*store)
	now := tBase
	s.now = func() time.Time { return now }
	t.Cleanup(func() { s.Close() })
	return s, path, &now
}

// onDisk reads job id from the file, bypassing the copy in memory.
func onDisk(t *testing.T, s *store, id string) *migrate.Job {
	t.Helper()
	var j *migrate.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(id))
		if v == nil {
			return migrate.ErrNoJob
		}
		var err error
		j, err = decode([]byte(id), v)
		return err
	})
	if err != nil {
		t.Fatalf("read %s from disk: %v", id, err)
	}
	return j
}

func TestProgressOnly(t *testing.T) {
	tests := []struct {
		name string
		fn   func(j *migrate.Job)
		want bool
	}{
		{"nothing", func(j *migrate.Job) {}, true},
		{"percent and status line", func(j *migrate.Job) { j.Percent = 40; j.StatusLine = "Running: 40%" }, true},
		{"counters", func(j *migrate.Job) {
			j.Progress = migrate.Progress{DataTotal: 9, DataProcessed: 5, DataRemaining: 4, Iteration: 2, DirtyRate: 100,
				ExpectedDowntime: time.Second, Phase: "precopy"}
		}, true},
		{"state", func(j *migrate.Job) { j.Status = migrate.StatusRunning }, false},
		{"state change time", func(j *migrate.Job) { j.Changed = tBase.Add(time.Second) }, false},
		{"start time", func(j *migrate.Job) { j.Started = tBase }, false},
		{"cancel", func(j *migrate.Job) { j.Stopping = migrate.StopKill }, false},
		{"error", func(j *migrate.Job) { j.ErrKind, j.Error = migrate.Failed, "boom" }, false},
		{"final statistics", func(j *migrate.Job) { j.Result = &migrate.Result{Downtime: time.Millisecond, TotalTime: time.Minute} }, false},
		{"removal settings", func(j *migrate.Job) { j.Meta.DeleteOnCompletion = true }, false},
		{"plan", func(j *migrate.Job) { j.Plan.Bandwidth = 1 }, false},
		{"progress and state", func(j *migrate.Job) { j.Percent = 100; j.Status = migrate.StatusCompleted }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := &migrate.Job{ID: "vsmig:a", Status: migrate.StatusStarting, Submitted: tBase, Plan: migrate.Plan{VM: "x"}}
			nj := old.Clone()
			tt.fn(nj)
			if got := progressOnly(old, nj); got != tt.want {
				t.Errorf("progressOnly = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProgressWrittenAtMostEveryInterval(t *testing.T) {
	ctx := context.Background()
	s, path, now := openTest(t, DefaultConfig())
	id := "vsmig:a"
	if err := s.Create(ctx, &migrate.Job{ID: id, Status: migrate.StatusQueued, Submitted: tBase}); err != nil {
		t.Fatal(err)
	}
	set := func(fn func(j *migrate.Job)) {
		t.Helper()
		if _, err := s.Update(ctx, id, func(j *migrate.Job) error { fn(j); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// A state change is on disk at once.
	set(func(j *migrate.Job) { j.Status = migrate.StatusRunning; j.Percent = 1 })
	if d := onDisk(t, s, id); d.Status != migrate.StatusRunning || d.Percent != 1 {
		t.Fatalf("state change not on disk: %+v", d)
	}
	// Progress within the interval stays in memory while nobody reads it.
	for pc := 2; pc <= 5; pc++ {
		*now = now.Add(time.Second)
		set(func(j *migrate.Job) { j.Percent = pc; j.Progress.Iteration = uint64(pc) })
	}
	if d := onDisk(t, s, id); d.Percent != 1 {
		t.Fatalf("progress within the interval written: %d", d.Percent)
	}
	// The first sample DefaultProgressInterval after the oldest unsaved
	// one is written, with everything before it.
	*now = tBase.Add(1*time.Second + DefaultProgressInterval)
	set(func(j *migrate.Job) { j.Percent = 6 })
	if d := onDisk(t, s, id); d.Percent != 6 || d.Progress.Iteration != 5 {
		t.Fatalf("progress not written after the interval: %+v", d)
	}
	// The next one starts a new interval.
	*now = now.Add(time.Second)
	set(func(j *migrate.Job) { j.Percent = 7; j.Progress.Iteration = 7 })
	if d := onDisk(t, s, id); d.Percent != 6 {
		t.Fatalf("progress written too soon: %d", d.Percent)
	}
	// Readers see the latest progress, which is then on disk (see
	// TestShownProgressSurvivesACrash).
	if g, _ := s.Get(ctx, id); g.Percent != 7 || g.Progress.Iteration != 7 {
		t.Fatalf("Get does not see the latest progress: %+v", g)
	}
	if d := onDisk(t, s, id); d.Percent != 7 {
		t.Fatalf("progress shown by Get not on disk: %d", d.Percent)
	}
	*now = now.Add(time.Second)
	set(func(j *migrate.Job) { j.Percent = 8 })
	if l, _ := s.List(ctx); l[0].Percent != 8 {
		t.Fatalf("List does not see the latest progress: %+v", l[0])
	}
	if d := onDisk(t, s, id); d.Percent != 8 {
		t.Fatalf("progress shown by List not on disk: %d", d.Percent)
	}
	// A terminal state is written at once with the latest progress, and
	// a finished job's counters are never deferred.
	set(func(j *migrate.Job) {
		j.Status, j.Percent, j.Result = migrate.StatusCompleted, 100, &migrate.Result{Downtime: time.Millisecond}
	})
	if d := onDisk(t, s, id); d.Status != migrate.StatusCompleted || d.Percent != 100 || d.Result.Downtime != time.Millisecond {
		t.Fatalf("terminal state not on disk: %+v", d)
	}
	set(func(j *migrate.Job) { j.Progress.DataProcessed = 42 })
	if d := onDisk(t, s, id); d.Progress.DataProcessed != 42 {
		t.Fatalf("change of a finished job deferred: %+v", d)
	}

	// Unsaved progress of another job is written by Close.
	if err := s.Create(ctx, &migrate.Job{ID: "vsmig:b", Status: migrate.StatusRunning, Submitted: tBase}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "vsmig:b", func(j *migrate.Job) error { j.Percent = 33; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(path, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if j, _ := st.Get(ctx, "vsmig:b"); j == nil || j.Percent != 33 {
		t.Fatalf("progress lost by Close: %+v", j)
	}
}

func TestProgressIntervalNegativeWritesEveryChange(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t, Config{ProgressInterval: -1, NoGroupCommit: true})
	if err := s.Create(ctx, &migrate.Job{ID: "vsmig:a", Status: migrate.StatusRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "vsmig:a", func(j *migrate.Job) error { j.Percent = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if d := onDisk(t, s, "vsmig:a"); d.Percent != 3 {
		t.Fatalf("progress not written: %+v", d)
	}
}

// TestGroupCommitSharesTransactions checks that concurrent writers share
// commits, that every write they were told of is on disk, and that a
// change that fails its transaction does not fail the others.
func TestGroupCommitSharesTransactions(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t, DefaultConfig())
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := "vsmig:" + uuid.NewString()
			if err := s.Create(ctx, &migrate.Job{ID: id, Progress: migrate.Progress{Iteration: uint64(i)}}); err != nil {
				t.Error(err)
				return
			}
			if d := onDisk(t, s, id); d.Progress.Iteration != uint64(i) {
				t.Errorf("job %s on disk: %+v", id, d)
			}
		})
	}
	wg.Wait()
	if l, _ := s.List(ctx); len(l) != n {
		t.Fatalf("List has %d jobs, want %d", len(l), n)
	}

	boom := errors.New("boom")
	put := func(k string) *change {
		return &change{done: make(chan error, 1), apply: func(b *bolt.Bucket) error {
			return b.Put([]byte(k), []byte(`{"v":2,"ID":"`+k+`"}`))
		}}
	}
	bad := &change{done: make(chan error, 1), apply: func(*bolt.Bucket) error { return boom }}
	panics := &change{done: make(chan error, 1), apply: func(*bolt.Bucket) error { panic("boom") }}
	batch := []*change{put("vsmig:x"), bad, put("vsmig:y"), panics}
	s.group.commit(batch)
	for i, want := range []string{"", "boom", "", "panicked: boom"} {
		err := <-batch[i].done
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("change %d: %v, want %q", i, err, want)
		}
	}
	onDisk(t, s, "vsmig:x")
	onDisk(t, s, "vsmig:y")
	// The store still writes.
	if err := s.Create(ctx, &migrate.Job{ID: "vsmig:z"}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsCorruptRecord(t *testing.T) {
	s, path, _ := openTest(t, DefaultConfig())
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketJobs).Put([]byte("vsmig:bad"), []byte("{")) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, err := Open(path, DefaultConfig()); err == nil {
		st.Close()
		t.Fatal("Open accepted a corrupt record")
	}
}

func TestKeyLocks(t *testing.T) {
	var k keyLocks
	var wg sync.WaitGroup
	var counts [3]int
	for i := range 200 {
		wg.Go(func() {
			defer k.lock([]string{"a", "b", "c"}[i%3])()
			counts[i%3]++ // the race detector objects if two hold one key
		})
	}
	wg.Wait()
	if counts[0]+counts[1]+counts[2] != 200 {
		t.Fatalf("counts %v", counts)
	}
	if len(k.m) != 0 {
		t.Fatalf("%d keys left locked or allocated", len(k.m))
	}
}

// crashImage copies the database file as a crash would leave it: what has
// been committed, nothing that is only in memory.
func crashImage(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "crashed.db")
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestShownProgressSurvivesACrash (issue #14): progress a reader has been
// shown is never taken back by a crash. A job showed 86 % and, after a
// kill -9, 0 %: its progress was only in memory.
func TestShownProgressSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	for _, read := range []string{"Get", "List"} {
		t.Run(read, func(t *testing.T) {
			s, path, _ := openTest(t, DefaultConfig())
			if err := s.Create(ctx, &migrate.Job{ID: "vsmig:a", Status: migrate.StatusRunning, Submitted: tBase}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, "vsmig:a", func(j *migrate.Job) error {
				j.Percent, j.StatusLine = 86, "Running: 86%"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var shown int
			if read == "Get" {
				j, err := s.Get(ctx, "vsmig:a")
				if err != nil {
					t.Fatal(err)
				}
				shown = j.Percent
			} else {
				js, err := s.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				shown = js[0].Percent
			}
			if shown != 86 {
				t.Fatalf("%s shows %d", read, shown)
			}
			st, err := Open(crashImage(t, path), DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if j, _ := st.Get(ctx, "vsmig:a"); j.Percent != shown || j.StatusLine != "Running: 86%" {
				t.Fatalf("after a crash the job says %d%% (%q); %s had shown %d%%", j.Percent, j.StatusLine, read, shown)
			}
			// Progress nobody read may still be deferred.
			if _, err := s.Update(ctx, "vsmig:a", func(j *migrate.Job) error { j.Percent = 90; return nil }); err != nil {
				t.Fatal(err)
			}
			if d := onDisk(t, s, "vsmig:a"); d.Percent != 86 {
				t.Errorf("unread progress written at once: %d", d.Percent)
			}
		})
	}
}

// TestReadsWhileWriting: progress written by many writers while readers
// flush it, then a crash image: every job's last shown progress is there,
// and nothing deadlocks.
func TestReadsWhileWriting(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openTest(t, DefaultConfig())
	const jobs, samples = 8, 50
	for i := range jobs {
		if err := s.Create(ctx, &migrate.Job{ID: fmt.Sprint("vsmig:", i), Status: migrate.StatusRunning}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Go(func() {
			for pc := 1; pc <= samples; pc++ {
				if _, err := s.Update(ctx, fmt.Sprint("vsmig:", i), func(j *migrate.Job) error { j.Percent = pc; return nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 3 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r == 0 {
					if _, err := s.List(ctx); err != nil {
						t.Error(err)
					}
				} else if _, err := s.Get(ctx, fmt.Sprint("vsmig:", r)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	shown, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(crashImage(t, path), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, j := range shown {
		if d, _ := st.Get(ctx, j.ID); d == nil || d.Percent != samples || j.Percent != samples {
			t.Errorf("%s: shown %d, after a crash %+v", j.ID, j.Percent, d)
		}
	}
}
