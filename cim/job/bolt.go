package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
)

// DefaultConfig returns the Config vsmigd uses.
func DefaultConfig() Config {
	return Config{Timeout: DefaultTimeout, Mode: DefaultMode, InitialMmapSize: DefaultInitialMmapSize}
}

// boltStore is the durable Store: one bbolt file, one bucket, and every
// write committed with fsync (bbolt's NoSync stays false), so that a job
// that Create or Update reported is on disk.
type boltStore struct {
	db *bolt.DB
}

// Open opens (creating it and its directory if needed) the job database
// at path. Another process holding it open makes Open fail after
// cfg.Timeout.
func Open(path string, cfg Config) (Store, error) {
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
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
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketJobs)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("job: open %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
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

func (s *boltStore) Create(ctx context.Context, j *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j == nil || j.InstanceID == "" {
		return ErrInvalid
	}
	v, err := encode(j)
	if err != nil {
		return err
	}
	key := []byte(j.InstanceID)
	return mapClosed(s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b.Get(key) != nil {
			return ErrExists
		}
		return b.Put(key, v)
	}))
}

func (s *boltStore) Get(ctx context.Context, id string) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
		return nil, mapClosed(err)
	}
	return j, nil
}

func (s *boltStore) List(ctx context.Context) ([]*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*Job
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		return b.ForEach(func(k, v []byte) error {
			j, err := decode(k, v)
			if err != nil {
				return err
			}
			out = append(out, j)
			return nil
		})
	})
	if err != nil {
		return nil, mapClosed(err)
	}
	sortJobs(out)
	return out, nil
}

func (s *boltStore) Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var nj *Job
	key := []byte(id)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		v := b.Get(key)
		if v == nil {
			return ErrNotFound
		}
		old, err := decode(key, v)
		if err != nil {
			return err
		}
		if nj, err = applyUpdate(old, fn); err != nil {
			return err
		}
		nv, err := encode(nj)
		if err != nil {
			return err
		}
		return b.Put(key, nv)
	})
	if err != nil {
		return nil, mapClosed(err)
	}
	return nj.Clone(), nil
}

func (s *boltStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := []byte(id)
	return mapClosed(s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		if b.Get(key) == nil {
			return ErrNotFound
		}
		return b.Delete(key)
	}))
}

func (s *boltStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("job: close: %w", err)
	}
	return nil
}
