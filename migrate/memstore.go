package migrate

import (
	"context"
	"sync"
)

// memStore is a Store held in memory: the engine's when Config.Store is
// nil, and the tests'. It follows the rules of every Store but keeps
// nothing across restarts.
type memStore struct {
	mu     sync.Mutex
	jobs   map[string]*Job
	closed bool
}

// NewMemoryStore returns an empty Store held in memory.
func NewMemoryStore() Store {
	return &memStore{jobs: make(map[string]*Job)}
}

func (m *memStore) Create(ctx context.Context, j *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j == nil || j.ID == "" {
		return ErrInvalidJob
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStoreClosed
	}
	if _, ok := m.jobs[j.ID]; ok {
		return ErrExists
	}
	m.jobs[j.ID] = j.Clone()
	return nil
}

func (m *memStore) Get(ctx context.Context, id string) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	j, ok := m.jobs[id]
	if !ok {
		return nil, ErrNoJob
	}
	return j.Clone(), nil
}

func (m *memStore) List(ctx context.Context) ([]*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrStoreClosed
	}
	out := make([]*Job, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j.Clone())
	}
	m.mu.Unlock()
	SortJobs(out)
	return out, nil
}

func (m *memStore) Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrStoreClosed
	}
	old, ok := m.jobs[id]
	if !ok {
		return nil, ErrNoJob
	}
	nj := old.Clone()
	if err := fn(nj); err != nil {
		return nil, err
	}
	if err := CheckJobUpdate(old, nj); err != nil {
		return nil, err
	}
	m.jobs[id] = nj
	return nj.Clone(), nil
}

func (m *memStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrStoreClosed
	}
	if _, ok := m.jobs[id]; !ok {
		return ErrNoJob
	}
	delete(m.jobs, id)
	return nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
