// Package jobtest provides helpers for tests that need a job.Store.
package jobtest

import (
	"path/filepath"
	"testing"

	"github.com/vsmig/vsmig/cim/job"
)

// NewTempStore opens a bbolt job.Store in tb.TempDir() and closes it when
// the test ends.
func NewTempStore(tb testing.TB) job.Store {
	tb.Helper()
	s, _ := NewTempStorePath(tb)
	return s
}

// NewTempStorePath is NewTempStore that also returns the database path,
// so that a test can close and reopen the store to check durability.
func NewTempStorePath(tb testing.TB) (job.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "jobs.db")
	s, err := job.Open(path, job.DefaultConfig())
	if err != nil {
		tb.Fatalf("open job store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, path
}
