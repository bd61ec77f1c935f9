package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// bucketJobs holds one JSON-encoded Job per key; the key is the InstanceID.
var bucketJobs = []byte("jobs")

// Config configures the bbolt Store.
type Config struct {
	// Timeout bounds the wait for the file lock when another process holds
	// the database open; zero waits forever.
	Timeout time.Duration
	// Mode is the permission of a newly created database file.
	Mode os.FileMode
	// InitialMmapSize is the initial memory map size in bytes; larger
	// values avoid remapping (and blocking readers) as the file grows.
	InitialMmapSize int
	// NoGroupCommit commits every write in its own transaction instead of
	// sharing transactions between concurrent writers (see groupCommit).
	NoGroupCommit bool
	// ProgressInterval is how often, at most, the live progress of a job
	// is written to disk (see Store.Update). Zero means
	// DefaultProgressInterval; a negative value writes every change.
	ProgressInterval time.Duration
}

// Default values of Config.
const (
	// DefaultTimeout: a second vsmigd on the same state directory should
	// fail quickly and say so rather than hang at start.
	DefaultTimeout = 2 * time.Second
	// DefaultMode: job records name VMs and hosts; keep them private.
	DefaultMode os.FileMode = 0o600
	// DefaultInitialMmapSize: 8 MiB holds tens of thousands of jobs.
	DefaultInitialMmapSize = 8 << 20
	// DefaultProgressInterval: each running migration reports progress
	// twice a second. Writing one sample in ten keeps 1,000 concurrent
	// jobs to ~200 writes/s instead of ~2,000, and a crash loses at most
	// 5 s of percentages and counters, which the reconciliation after a
	// restart (the engine finding out what became of each migration)
	// overwrites anyway.
	DefaultProgressInterval = 5 * time.Second
)

// DefaultConfig returns the Config vsmigd uses.
func DefaultConfig() Config {
	return Config{
		Timeout:          DefaultTimeout,
		Mode:             DefaultMode,
		InitialMmapSize:  DefaultInitialMmapSize,
		ProgressInterval: DefaultProgressInterval,
	}
}

// boltStore is the durable Store: one bbolt file, one bucket, and every
// write committed with fsync (bbolt's NoSync stays false), so that a job
// that Create or Update reported is on disk; the one exception is live
// progress, written at most every ProgressInterval (see Store.Update).
// Concurrent writes share transactions (see groupCommit).
//
// The file is the durable copy; reads are served from jobs, a copy in
// memory of every stored job, loaded by Open and changed only after the
// disk write it mirrors has committed. Writes of one job are serialized
// by its lock in writing, held from the read of the current state to the
// update of jobs, so that an update never works from a stale copy;
// writes of different jobs run concurrently and share commits.
type boltStore struct {
	db       *bolt.DB
	group    *groupCommit  // nil with Config.NoGroupCommit
	progress time.Duration // ProgressInterval; <= 0 writes every change
	now      func() time.Time
	// closing is held shared by every write and exclusively by Close.
	closing sync.RWMutex
	writing keyLocks

	mu   sync.RWMutex
	jobs map[string]*Job // never modified in place: replaced on update
	// unsaved holds the jobs whose progress in jobs is ahead of the file,
	// with the time of the oldest change not yet written.
	unsaved map[string]time.Time
	closed  bool
}

// Open opens (creating it and its directory if needed) the job database
// at path and loads its jobs. Another process holding it open makes Open
// fail after cfg.Timeout; so does a record that cannot be decoded.
func Open(path string, cfg Config) (Store, error) {
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("job: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, cfg.Mode, &bolt.Options{
		Timeout:         cfg.Timeout,
		InitialMmapSize: cfg.InitialMmapSize,
		NoSync:          false,
		FreelistType:    bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("job: open %s: %w", path, err)
	}
	s := &boltStore{
		db:       db,
		progress: cfg.ProgressInterval,
		now:      time.Now,
		jobs:     make(map[string]*Job),
		unsaved:  make(map[string]time.Time),
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			j, err := decode(k, v)
			if err != nil {
				return err
			}
			s.jobs[string(k)] = j
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("job: open %s: %w", path, err)
	}
	if !cfg.NoGroupCommit {
		s.group = &groupCommit{db: db}
	}
	return s, nil
}

func encode(j *Job) ([]byte, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("job: encode %s: %w", j.InstanceID, err)
	}
	return b, nil
}

func decode(id, b []byte) (*Job, error) {
	j := new(Job)
	if err := json.Unmarshal(b, j); err != nil {
		return nil, fmt.Errorf("job: decode %s: %w", id, err)
	}
	return j, nil
}

// mapClosed turns bbolt's closed-database error into ErrClosed.
func mapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// lock makes the caller the only writer of job id, and Close wait for it,
// until the returned func is called.
func (s *boltStore) lock(id string) func() {
	s.closing.RLock()
	unlock := s.writing.lock(id)
	return func() {
		unlock()
		s.closing.RUnlock()
	}
}

// current returns the job as last stored (nil if absent) and whether its
// progress is ahead of the file, and since when.
func (s *boltStore) current(id string) (j *Job, unsavedSince time.Time, unsaved bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, time.Time{}, false, ErrClosed
	}
	unsavedSince, unsaved = s.unsaved[id]
	return s.jobs[id], unsavedSince, unsaved, nil
}

// write runs fn on the jobs bucket in a durable transaction, shared with
// concurrent writers unless group commit is off. fn may run more than
// once, so it must only write precomputed values.
func (s *boltStore) write(fn func(b *bolt.Bucket) error) error {
	if s.group != nil {
		return s.group.write(fn)
	}
	return mapClosed(s.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketJobs)) }))
}

// put writes j durably and then makes it the current state.
func (s *boltStore) put(j *Job) error {
	v, err := encode(j)
	if err != nil {
		return err
	}
	key := []byte(j.InstanceID)
	if err := s.write(func(b *bolt.Bucket) error { return b.Put(key, v) }); err != nil {
		return err
	}
	s.mu.Lock()
	s.jobs[j.InstanceID] = j
	delete(s.unsaved, j.InstanceID)
	s.mu.Unlock()
	return nil
}

func (s *boltStore) Create(ctx context.Context, j *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j == nil || j.InstanceID == "" {
		return ErrInvalid
	}
	defer s.lock(j.InstanceID)()
	old, _, _, err := s.current(j.InstanceID)
	if err != nil {
		return err
	}
	if old != nil {
		return ErrExists
	}
	return s.put(j.Clone())
}

func (s *boltStore) Get(ctx context.Context, id string) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j, _, _, err := s.current(id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, ErrNotFound
	}
	return j.Clone(), nil
}

func (s *boltStore) List(ctx context.Context) ([]*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	out := make([]*Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	s.mu.RUnlock()
	for i, j := range out {
		out[i] = j.Clone()
	}
	sortJobs(out)
	return out, nil
}

// Update writes the result of fn durably before it returns, except when
// fn changed only the live progress of an unfinished job (see
// progressOnly): that change is kept in memory, visible to Get and List
// at once, and written with the job's next durable change, or with the
// first progress change ProgressInterval after the oldest one not yet
// written, or at Close. fn runs once, on a copy.
func (s *boltStore) Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer s.lock(id)()
	old, since, unsaved, err := s.current(id)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, ErrNotFound
	}
	nj, err := applyUpdate(old, fn)
	if err != nil {
		return nil, err
	}
	if reflect.DeepEqual(old, nj) {
		return nj, nil // nothing to write
	}
	if s.progress > 0 && !old.State.Terminal() && progressOnly(old, nj) {
		now := s.now()
		if !unsaved || now.Sub(since) < s.progress {
			s.mu.Lock()
			s.jobs[id] = nj
			if !unsaved {
				s.unsaved[id] = now
			}
			s.mu.Unlock()
			return nj.Clone(), nil
		}
	}
	if err := s.put(nj); err != nil {
		return nil, err
	}
	return nj.Clone(), nil
}

func (s *boltStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.lock(id)()
	old, _, _, err := s.current(id)
	if err != nil {
		return err
	}
	if old == nil {
		return ErrNotFound
	}
	key := []byte(id)
	if err := s.write(func(b *bolt.Bucket) error { return b.Delete(key) }); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.jobs, id)
	delete(s.unsaved, id)
	s.mu.Unlock()
	return nil
}

// Close writes the progress not yet on disk and closes the file. It waits
// for the writes in flight.
func (s *boltStore) Close() error {
	s.closing.Lock()
	defer s.closing.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if len(s.unsaved) > 0 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketJobs)
			for id := range s.unsaved {
				v, err := encode(s.jobs[id])
				if err != nil {
					return err
				}
				if err := b.Put([]byte(id), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("job: close: writing progress: %w", err))
		}
		clear(s.unsaved)
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("job: close: %w", err))
	}
	return errors.Join(errs...)
}
