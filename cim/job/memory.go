package job

import (
	"context"
	"sort"
	"sync"
)

// memStore is a Store held in memory, for tests and the demo mode. It
// follows the same rules as the bbolt Store but keeps nothing across
// restarts.
type memStore struct {
	mu     sync.Mutex
	jobs   map[string]*Job
	closed bool
}

// NewMemory returns an empty in-memory Store.
func NewMemory() Store {
	return &memStore{jobs: make(map[string]*Job)}
}

func (m *memStore) Create(ctx context.Context, j *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j == nil || j.InstanceID == "" {
		return ErrInvalid
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.jobs[j.InstanceID]; ok {
		return ErrExists
	}
	m.jobs[j.InstanceID] = j.Clone()
	return nil
}

func (m *memStore) Get(ctx context.Context, id string) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	j, ok := m.jobs[id]
	if !ok {
		return nil, ErrNotFound
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
		return nil, ErrClosed
	}
	out := make([]*Job, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j.Clone())
	}
	m.mu.Unlock()
	sortJobs(out)
	return out, nil
}

func (m *memStore) Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	old, ok := m.jobs[id]
	if !ok {
		return nil, ErrNotFound
	}
	nj, err := applyUpdate(old, fn)
	if err != nil {
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
		return ErrClosed
	}
	if _, ok := m.jobs[id]; !ok {
		return ErrNotFound
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

// sortJobs orders jobs by TimeSubmitted, then InstanceID, so that List is
// deterministic.
func sortJobs(js []*Job) {
	sort.Slice(js, func(a, b int) bool {
		ta, tb := js[a].TimeSubmitted, js[b].TimeSubmitted
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return js[a].InstanceID < js[b].InstanceID
	})
}
