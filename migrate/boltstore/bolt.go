// Package boltstore is the durable migrate.Store: the engine's jobs in one
// bbolt file (jobs.db under vsmigd's state directory).
//
// Every write is committed with fsync before the call that made it
// returns, with one exception: the live progress of a running job is
// written at most every Config.ProgressInterval, or before a Get or List
// returns it (see migrate.Store.Update). While nobody reads, 1,000 running
// jobs cost ~200 writes per second rather than ~2,000; what a client has
// been shown is never taken back by a crash. Concurrent writers share
// transactions and fsyncs (group commit). Reads are served from a copy in
// memory.
//
// Records are JSON. Those of the releases before the engine owned its
// jobs (cim/job's format, up to commit e7b7390) are read as they are and
// rewritten in the current format by their next change (legacy.go).
//
// Imports: the standard library, go.etcd.io/bbolt and migrate.
package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vsmig/vsmig/migrate"
)

// bucketJobs holds one JSON-encoded job per key; the key is the job's ID.
var bucketJobs = []byte("jobs")

// Config configures the Store.
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
	// is written to disk while nobody reads it (see migrate.Store.Update).
	// Zero means DefaultProgressInterval; a negative value writes every
	// change.
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
	// jobs to ~200 writes/s instead of ~2,000; a crash loses at most 5 s
	// of percentages and counters nobody has read, which the engine's
	// recovery after the restart overwrites anyway.
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

// store is the Store. The file is the durable copy; reads are served from
// jobs, a copy in memory of every stored job, loaded by Open and changed
// only after the disk write it mirrors has committed. Writes of one job
// are serialized by its lock in writing, held from the read of the
// current state to the update of jobs, so that an update never works from
// a stale copy; writes of different jobs run concurrently and share
// commits.
type store struct {
	db       *bolt.DB
	group    *groupCommit  // nil with Config.NoGroupCommit
	progress time.Duration // ProgressInterval; <= 0 writes every change
	now      func() time.Time
	// closing is held shared by every write and exclusively by Close.
	closing sync.RWMutex
	writing keyLocks

	mu   sync.RWMutex
	jobs map[string]*migrate.Job // never modified in place: replaced on update
	// unsaved holds the jobs whose progress in jobs is ahead of the file,
	// with the time of the oldest change not yet written.
	unsaved map[string]time.Time
	closed  bool
}

// Open opens (creating it and its directory if needed) the job database
// at path and loads its jobs. It fails, changing nothing, with ErrLocked
// if another process holds the file open (after cfg.Timeout), and with
// ErrDamaged if the file is not a job database it can read: empty,
// truncated, with a damaged page or record (see openFile). Both errors
// name the file and say what to do.
func Open(path string, cfg Config) (migrate.Store, error) {
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	db, jobs, err := openFile(path, cfg)
	if err != nil {
		return nil, err
	}
	s := &store{
		db:       db,
		progress: cfg.ProgressInterval,
		now:      time.Now,
		jobs:     jobs,
		unsaved:  make(map[string]time.Time),
	}
	if !cfg.NoGroupCommit {
		s.group = &groupCommit{db: db}
	}
	return s, nil
}

// formatVersion is written in every record ("v"); records without it are
// cim/job's (see legacy.go).
const formatVersion = 2

// record is a job as stored.
type record struct {
	V int `json:"v"`
	*migrate.Job
}

func encode(j *migrate.Job) ([]byte, error) {
	b, err := json.Marshal(record{V: formatVersion, Job: j})
	if err != nil {
		return nil, fmt.Errorf("boltstore: encode %s: %w", j.ID, err)
	}
	return b, nil
}

// errRecord marks a record that cannot be read.
var errRecord = errors.New("a record cannot be read")

func decode(id, b []byte) (*migrate.Job, error) {
	var v struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", errRecord, id, err)
	}
	switch v.V {
	case 0:
		return decodeLegacy(id, b)
	case formatVersion:
		j := new(migrate.Job)
		if err := json.Unmarshal(b, &record{Job: j}); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", errRecord, id, err)
		}
		return j, nil
	}
	return nil, fmt.Errorf("%w: %q is in record format %d, newer than this vsmigd's (%d)", errRecord, id, v.V, formatVersion)
}

// mapClosed turns bbolt's closed-database error into ErrStoreClosed.
func mapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return migrate.ErrStoreClosed
	}
	return err
}

// lock makes the caller the only writer of job id, and Close wait for it,
// until the returned func is called.
func (s *store) lock(id string) func() {
	s.closing.RLock()
	unlock := s.writing.lock(id)
	return func() {
		unlock()
		s.closing.RUnlock()
	}
}

// current returns the job as last stored (nil if absent) and whether its
// progress is ahead of the file, and since when.
func (s *store) current(id string) (j *migrate.Job, unsavedSince time.Time, unsaved bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, time.Time{}, false, migrate.ErrStoreClosed
	}
	unsavedSince, unsaved = s.unsaved[id]
	return s.jobs[id], unsavedSince, unsaved, nil
}

// write runs fn on the jobs bucket in a durable transaction, shared with
// concurrent writers unless group commit is off. fn may run more than
// once, so it must only write precomputed values.
func (s *store) write(fn func(b *bolt.Bucket) error) error {
	if s.group != nil {
		return s.group.write(fn)
	}
	return mapClosed(s.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketJobs)) }))
}

// put writes j durably and then makes it the current state.
func (s *store) put(j *migrate.Job) error {
	v, err := encode(j)
	if err != nil {
		return err
	}
	key := []byte(j.ID)
	if err := s.write(func(b *bolt.Bucket) error { return b.Put(key, v) }); err != nil {
		return err
	}
	s.mu.Lock()
	s.jobs[j.ID] = j
	delete(s.unsaved, j.ID)
	s.mu.Unlock()
	return nil
}

func (s *store) Create(ctx context.Context, j *migrate.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j == nil || j.ID == "" {
		return migrate.ErrInvalidJob
	}
	defer s.lock(j.ID)()
	old, _, _, err := s.current(j.ID)
	if err != nil {
		return err
	}
	if old != nil {
		return migrate.ErrExists
	}
	return s.put(j.Clone())
}

// Get returns the job, its deferred progress written first (see
// flush).
func (s *store) Get(ctx context.Context, id string) (*migrate.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, _, unsaved, err := s.current(id)
	if err != nil {
		return nil, err
	}
	if unsaved {
		if err := s.flush([]string{id}); err != nil {
			return nil, err
		}
	}
	j, _, _, err := s.current(id)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, migrate.ErrNoJob
	}
	return j.Clone(), nil
}

// List returns every job, their deferred progress written first (see
// flush), in one transaction.
func (s *store) List(ctx context.Context) ([]*migrate.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	ids := make([]string, 0, len(s.unsaved))
	for id := range s.unsaved {
		ids = append(ids, id)
	}
	s.mu.RUnlock()
	if len(ids) > 0 {
		if err := s.flush(ids); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, migrate.ErrStoreClosed
	}
	out := make([]*migrate.Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	s.mu.RUnlock()
	for i, j := range out {
		out[i] = j.Clone()
	}
	migrate.SortJobs(out)
	return out, nil
}

// flush writes the deferred progress of the jobs ids, in one durable
// transaction, before a reader sees it: progress is deferred only while
// nobody looks, so that what a client was shown is never taken back by a
// crash (a job once went from 86 % to 0 % across a kill -9). Each job's
// writer lock is held, in ID order, from its read to the update of the
// copy in memory, as for Update.
func (s *store) flush(ids []string) error {
	sort.Strings(ids)
	s.closing.RLock()
	defer s.closing.RUnlock()
	for _, id := range ids {
		defer s.writing.lock(id)()
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return migrate.ErrStoreClosed
	}
	var jobs []*migrate.Job
	for _, id := range ids {
		if _, ok := s.unsaved[id]; ok && s.jobs[id] != nil {
			jobs = append(jobs, s.jobs[id])
		}
	}
	s.mu.RUnlock()
	if len(jobs) == 0 {
		return nil
	}
	vals := make([][]byte, len(jobs))
	for i, j := range jobs {
		v, err := encode(j)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	err := s.write(func(b *bolt.Bucket) error {
		for i, j := range jobs {
			if err := b.Put([]byte(j.ID), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, j := range jobs {
		if s.jobs[j.ID] == j { // not replaced meanwhile (it cannot be: locked)
			delete(s.unsaved, j.ID)
		}
	}
	s.mu.Unlock()
	return nil
}

// Update writes the result of fn durably before it returns, except when
// fn changed only the live progress of an unfinished job (see
// progressOnly): that change is kept in memory and written with the job's
// next durable change, or with the first progress change ProgressInterval
// after the oldest one not yet written, or by the first Get or List that
// returns it (flush), or at Close. fn runs once, on a copy.
func (s *store) Update(ctx context.Context, id string, fn func(j *migrate.Job) error) (*migrate.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer s.lock(id)()
	old, since, unsaved, err := s.current(id)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, migrate.ErrNoJob
	}
	nj := old.Clone()
	if err := fn(nj); err != nil {
		return nil, err
	}
	if err := migrate.CheckJobUpdate(old, nj); err != nil {
		return nil, err
	}
	if reflect.DeepEqual(old, nj) {
		return nj, nil // nothing to write
	}
	if s.progress > 0 && !old.Status.Terminal() && progressOnly(old, nj) {
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

func (s *store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.lock(id)()
	old, _, _, err := s.current(id)
	if err != nil {
		return err
	}
	if old == nil {
		return migrate.ErrNoJob
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
func (s *store) Close() error {
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
		ids := make([]string, 0, len(s.unsaved))
		for id := range s.unsaved {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketJobs)
			for _, id := range ids {
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
			errs = append(errs, fmt.Errorf("boltstore: close: writing progress: %w", err))
		}
		clear(s.unsaved)
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("boltstore: close: %w", err))
	}
	return errors.Join(errs...)
}

// Errors of Open. Callers test with errors.Is.
var (
	// ErrDamaged: the file is not a job database this vsmigd can read.
	ErrDamaged = errors.New("boltstore: damaged job database")
	// ErrLocked: another process holds the file open.
	ErrLocked = errors.New("boltstore: job database in use")
)
