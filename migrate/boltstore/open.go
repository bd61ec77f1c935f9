package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vsmig/vsmig/migrate"
)

// This file opens the database file without trusting it. bbolt trusts its
// file: it takes an empty one for a new database (a job history silently
// lost), and reads the pages of a truncated or damaged one through its
// memory map, which kills the process (SIGBUS past the end of the file,
// "panic: assertion failed" or an index out of range on a damaged page).
// Open refuses all of these with ErrDamaged and changes nothing.

// openFile opens the bbolt file and loads its jobs: first the checks that
// need no memory map (precheck), then bbolt's own open and a read of
// every record, with faults and panics turned into ErrDamaged. Nothing is
// written to an existing file unless it lacks the jobs bucket.
func openFile(path string, cfg Config) (*bolt.DB, map[string]*migrate.Job, error) {
	if err := precheck(path); err != nil {
		return nil, nil, err
	}
	var db *bolt.DB
	jobs := make(map[string]*migrate.Job)
	missing := false
	err := protect(func() error {
		var err error
		db, err = bolt.Open(path, cfg.Mode, &bolt.Options{
			Timeout:         cfg.Timeout,
			InitialMmapSize: cfg.InitialMmapSize,
			NoSync:          false,
			FreelistType:    bolt.FreelistMapType,
		})
		if err != nil {
			return err
		}
		return db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketJobs)
			if b == nil {
				missing = true
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				j, err := decode(k, v)
				if err != nil {
					return err
				}
				jobs[string(k)] = j
				return nil
			})
		})
	})
	if err == nil && missing {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucketJobs)
			return err
		})
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, nil, openError(path, cfg.Timeout, err)
	}
	return db, jobs, nil
}

// errFault marks a fault or panic met while reading the file.
var errFault = errors.New("reading it failed")

// protect runs f, turning a memory fault (SIGBUS, SIGSEGV on the mapped
// file) or a panic in this goroutine into an error wrapping errFault.
func protect(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errFault, r)
		}
	}()
	return f()
}

// openError says what is wrong with the file and what to do.
func openError(path string, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w: %s is held open by another process, most likely another vsmigd on the same state_dir (waited %v): stop it, or give this one a state_dir of its own", ErrLocked, path, timeout)
	case errors.Is(err, ErrDamaged):
		return err
	case errors.Is(err, errFault), errors.Is(err, errRecord),
		errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return damaged(path, err.Error())
	}
	return fmt.Errorf("boltstore: open %s: %w", path, err)
}

// damaged is the ErrDamaged of path, with why and what to do.
func damaged(path, why string) error {
	return fmt.Errorf("%w: %s: %s; nothing was changed. To start afresh with no job history, stop vsmigd, "+
		"move the file aside (mv %s %s.damaged) and start it again; keep the moved file to inspect or restore it",
		ErrDamaged, path, why, path, path)
}

// bbolt's file format (go.etcd.io/bbolt internal/common): a page begins
// with a 16-byte header; pages 0 and 1 hold a meta each.
const (
	pageHeaderSize = 16
	metaMagic      = 0xED0CDAED
	metaVersion    = 2
	metaSize       = 64 // magic, version, pageSize, flags, root (16), freelist, pgid, txid, checksum
	metaChecksumAt = 56 // the checksum is FNV-64a of the bytes before it
	minPageSize    = 512
	maxPageSize    = 1 << 16
)

// meta is what precheck needs of a meta page.
type meta struct {
	pageSize uint32
	pgid     uint64 // the high-water mark: pages below it are in use
	txid     uint64
}

// readMeta reads and validates the meta page at off.
func readMeta(f *os.File, off int64) (meta, bool) {
	var buf [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(buf[:], off); err != nil {
		return meta{}, false
	}
	m := buf[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	if binary.LittleEndian.Uint32(m[0:]) != metaMagic || binary.LittleEndian.Uint32(m[4:]) != metaVersion ||
		h.Sum64() != binary.LittleEndian.Uint64(m[metaChecksumAt:]) {
		return meta{}, false
	}
	return meta{
		pageSize: binary.LittleEndian.Uint32(m[8:]),
		pgid:     binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, true
}

// precheck refuses, with ErrDamaged and without mapping it, a file that
// exists but is empty, has no valid meta page, or is shorter than its
// meta says (truncated: bbolt would fault reading past its end). A file
// that does not exist is fine: Open creates it.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	size := info.Size()
	if size == 0 {
		return damaged(path, "the file is empty, not a job database (a new one is never left empty)")
	}
	m0, ok0 := readMeta(f, 0)
	ps := int64(m0.pageSize)
	if !ok0 || ps < minPageSize || ps > maxPageSize {
		// The first meta page is gone; find the second by trying the page
		// sizes bbolt may have used.
		for ps = minPageSize; ps <= maxPageSize; ps *= 2 {
			if m1, ok := readMeta(f, ps); ok && int64(m1.pageSize) == ps {
				break
			}
		}
		if ps > maxPageSize {
			return damaged(path, "neither of its two meta pages is valid (not a bbolt database, or both overwritten)")
		}
	}
	m := m0
	if m1, ok1 := readMeta(f, ps); ok1 && (!ok0 || m1.txid > m0.txid) {
		m = m1
	}
	if need := int64(m.pgid) * ps; size < need {
		return damaged(path, fmt.Sprintf("the file is truncated: %d bytes, its pages need %d", size, need))
	}
	return nil
}
