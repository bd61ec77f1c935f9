package job

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var tBase = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// openTest opens a bbolt store with a clock the test moves.
func openTest(t *testing.T, cfg Config) (*boltStore, string, *time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	st, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*boltStore)
	now := tBase
	s.now = func() time.Time { return now }
	t.Cleanup(func() { s.Close() })
	return s, path, &now
}

// onDisk reads job id from the file, bypassing the copy in memory.
func onDisk(t *testing.T, s *boltStore, id string) *Job {
	t.Helper()
	var j *Job
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get([]byte(id))
		if v == nil {
			return ErrNotFound
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
		fn   func(j *Job)
		want bool
	}{
		{"nothing", func(j *Job) {}, true},
		{"percent and status line", func(j *Job) { j.PercentComplete = 40; j.JobStatus = "Running: 40%" }, true},
		{"counters", func(j *Job) {
			j.DataTotal, j.DataProcessed, j.DataRemaining = 9, 5, 4
			j.Iteration, j.DirtyRate, j.ExpectedDowntime = 2, 100, time.Second
		}, true},
		{"state", func(j *Job) { j.State = Running }, false},
		{"state change time", func(j *Job) { j.TimeOfLastStateChange = tBase.Add(time.Second) }, false},
		{"start time", func(j *Job) { j.StartTime = tBase }, false},
		{"error", func(j *Job) { j.ErrorCode, j.ErrorDescription = 2, "boom" }, false},
		{"final statistics", func(j *Job) { j.Downtime, j.TotalTime = time.Millisecond, time.Minute }, false},
		{"removal settings", func(j *Job) { j.DeleteOnCompletion = true }, false},
		{"request", func(j *Job) { j.Request = []byte("{}") }, false},
		{"progress and state", func(j *Job) { j.PercentComplete = 100; j.State = Completed }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := &Job{InstanceID: "vsmig:a", State: Starting, TimeSubmitted: tBase, Request: []byte(`{"JobID":"vsmig:a"}`)}
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
	if err := s.Create(ctx, &Job{InstanceID: id, State: New, TimeSubmitted: tBase}); err != nil {
		t.Fatal(err)
	}
	set := func(fn func(j *Job)) {
		t.Helper()
		if _, err := s.Update(ctx, id, func(j *Job) error { fn(j); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// A state change is on disk at once.
	set(func(j *Job) { j.State = Running; j.PercentComplete = 1 })
	if d := onDisk(t, s, id); d.State != Running || d.PercentComplete != 1 {
		t.Fatalf("state change not on disk: %+v", d)
	}
	// Progress within the interval stays in memory, visible to readers.
	for pc := uint16(2); pc <= 5; pc++ {
		*now = now.Add(time.Second)
		set(func(j *Job) { j.PercentComplete = pc; j.Iteration = uint64(pc) })
	}
	if g, _ := s.Get(ctx, id); g.PercentComplete != 5 || g.Iteration != 5 {
		t.Fatalf("Get does not see the latest progress: %+v", g)
	}
	if l, _ := s.List(ctx); l[0].PercentComplete != 5 {
		t.Fatalf("List does not see the latest progress: %+v", l[0])
	}
	if d := onDisk(t, s, id); d.PercentComplete != 1 {
		t.Fatalf("progress within the interval written: %d", d.PercentComplete)
	}
	// The first sample DefaultProgressInterval after the oldest unsaved
	// one is written, with everything before it.
	*now = tBase.Add(1*time.Second + DefaultProgressInterval)
	set(func(j *Job) { j.PercentComplete = 6 })
	if d := onDisk(t, s, id); d.PercentComplete != 6 || d.Iteration != 5 {
		t.Fatalf("progress not written after the interval: %+v", d)
	}
	// The next one starts a new interval.
	*now = now.Add(time.Second)
	set(func(j *Job) { j.PercentComplete = 7 })
	if d := onDisk(t, s, id); d.PercentComplete != 6 {
		t.Fatalf("progress written too soon: %d", d.PercentComplete)
	}
	// A terminal state is written at once with the latest progress, and
	// a finished job's counters are never deferred.
	set(func(j *Job) { j.State, j.PercentComplete, j.Downtime = Completed, 100, time.Millisecond })
	if d := onDisk(t, s, id); d.State != Completed || d.PercentComplete != 100 || d.Downtime != time.Millisecond {
		t.Fatalf("terminal state not on disk: %+v", d)
	}
	set(func(j *Job) { j.DataProcessed = 42 })
	if d := onDisk(t, s, id); d.DataProcessed != 42 {
		t.Fatalf("change of a finished job deferred: %+v", d)
	}

	// Unsaved progress of another job is written by Close.
	if err := s.Create(ctx, &Job{InstanceID: "vsmig:b", State: Running, TimeSubmitted: tBase}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "vsmig:b", func(j *Job) error { j.PercentComplete = 33; return nil }); err != nil {
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
	if j, _ := st.Get(ctx, "vsmig:b"); j == nil || j.PercentComplete != 33 {
		t.Fatalf("progress lost by Close: %+v", j)
	}
}

func TestProgressIntervalNegativeWritesEveryChange(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t, Config{ProgressInterval: -1, NoGroupCommit: true})
	if err := s.Create(ctx, &Job{InstanceID: "vsmig:a", State: Running}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "vsmig:a", func(j *Job) error { j.PercentComplete = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if d := onDisk(t, s, "vsmig:a"); d.PercentComplete != 3 {
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
			id := NewInstanceID("vsmig")
			if err := s.Create(ctx, &Job{InstanceID: id, Iteration: uint64(i)}); err != nil {
				t.Error(err)
				return
			}
			if d := onDisk(t, s, id); d.Iteration != uint64(i) {
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
		return &change{done: make(chan error, 1), apply: func(b *bolt.Bucket) error { return b.Put([]byte(k), []byte(`{}`)) }}
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
	if err := s.Create(ctx, &Job{InstanceID: "vsmig:z"}); err != nil {
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
