package vsm

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/vsmig/vsmig/migrate"
)

// ObservedStore is the engine's job store as the profile sees it change:
// a migrate.Store that passes every call to the store it wraps and tells
// the Profile (Config.Jobs) of each job created, changed and deleted, with
// the job as it was and as it is. Every change of a job goes through the
// store (the engine's Submit, Updates, cancels and recovery; the
// profile's own Put and Delete), so this is where the job indications
// come from.
type ObservedStore struct {
	migrate.Store

	// seq numbers the changes in the order the store applied them: it is
	// taken inside the Update's function, which the store runs with the
	// job locked, so a later seq is a later version of the job even when
	// two writers' calls return in the other order.
	seq atomic.Uint64

	mu       sync.RWMutex
	observer func(jobChange)
}

// jobChange is one change of a job: Old nil for a creation, New nil for a
// deletion.
type jobChange struct {
	Old, New *migrate.Job
	seq      uint64
}

// ObserveStore wraps s.
func ObserveStore(s migrate.Store) *ObservedStore { return &ObservedStore{Store: s} }

// observe sets the function told of every change (nil: none). It is
// called synchronously, after the store has applied the change, and must
// not call the store.
func (s *ObservedStore) observe(fn func(jobChange)) {
	s.mu.Lock()
	s.observer = fn
	s.mu.Unlock()
}

func (s *ObservedStore) tell(c jobChange) {
	s.mu.RLock()
	fn := s.observer
	s.mu.RUnlock()
	if fn != nil {
		fn(c)
	}
}

// Create implements migrate.Store.
func (s *ObservedStore) Create(ctx context.Context, j *migrate.Job) error {
	if err := s.Store.Create(ctx, j); err != nil {
		return err
	}
	s.tell(jobChange{New: j.Clone(), seq: s.seq.Add(1)})
	return nil
}

// Update implements migrate.Store.
func (s *ObservedStore) Update(ctx context.Context, id string, fn func(j *migrate.Job) error) (*migrate.Job, error) {
	var old *migrate.Job
	var seq uint64
	nj, err := s.Store.Update(ctx, id, func(j *migrate.Job) error {
		old = j.Clone()
		if err := fn(j); err != nil {
			return err
		}
		seq = s.seq.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.tell(jobChange{Old: old, New: nj.Clone(), seq: seq})
	return nj, nil
}

// Delete implements migrate.Store; the job as it was is read first, for
// the deletion's indication.
func (s *ObservedStore) Delete(ctx context.Context, id string) error {
	old, _ := s.Store.Get(ctx, id)
	if err := s.Store.Delete(ctx, id); err != nil {
		return err
	}
	if old != nil {
		s.tell(jobChange{Old: old, seq: s.seq.Add(1)})
	}
	return nil
}
