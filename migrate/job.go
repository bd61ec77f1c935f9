package migrate

import (
	"context"
	"errors"
	"sort"
	"time"
)

// Job is the durable record of one migration, which the engine keeps in
// its Store: what was asked, how it went and how it ended. The engine
// writes it as the job goes (Submit, every Update, Cancel, Recover); the
// caller reads it (Engine.Job, Engine.Jobs) and changes only Meta.
//
// Its fields are stored (encoded as JSON by migrate/boltstore): rename or
// renumber nothing without a conversion there.
type Job struct {
	ID string
	// Plan is the migration as resolved at Submit (see Resolve).
	Plan Plan
	// VMName is the VM's name when the job was submitted.
	VMName    string
	Priority  int
	Submitted time.Time

	Status Status
	// Stopping is the Terminate or Kill accepted for a job that has not
	// ended yet.
	Stopping Stop `json:",omitempty"`
	// StatusLine says where the job is, for people: "Queued", "Running:
	// 40%, precopy, iteration 2", "Failed: ...".
	StatusLine string
	// Percent is the share done, 0..100; it never decreases.
	Percent int
	// Progress is the last sample's figures (the final ones once ended).
	Progress Progress
	// Result is the final statistics of a completed job.
	Result *Result `json:",omitempty"`

	// Started is when the job was admitted to run (its submission time if
	// it ended without starting), Changed when Status or Stopping last
	// changed, Ended when it reached a terminal Status. Zero until then.
	Started, Changed, Ended time.Time

	// ErrKind and Error say why a StatusFailed job failed: the class of
	// the cause and one line that says what happened and where the VM is.
	ErrKind CheckKind `json:",omitempty"`
	Error   string    `json:",omitempty"`

	Meta Meta
}

// Stop is a cancel request recorded in a job. Stored: never renumber.
type Stop int

const (
	StopNone Stop = iota
	StopTerminate
	StopKill
)

// Meta is what the caller keeps with a job and the engine stores and
// returns without reading it: for vsm, the CIM job's owner, the method
// that asked, and its removal settings (DSP1103 DeleteOnCompletion and
// TimeBeforeRemoval, which vsm's expiry applies).
type Meta struct {
	Owner              string `json:",omitempty"`
	Method             string `json:",omitempty"`
	DeleteOnCompletion bool
	TimeBeforeRemoval  time.Duration
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	c := *j
	if j.Result != nil {
		r := *j.Result
		c.Result = &r
	}
	return &c
}

// Store keeps jobs durably. Implementations are safe for concurrent use
// and apply CheckJobUpdate to every Update. NewMemoryStore keeps them in
// memory; migrate/boltstore on disk.
type Store interface {
	// Create stores a new job; ErrExists if its ID is taken. The job is
	// durable when Create returns nil.
	Create(ctx context.Context, j *Job) error
	// Get returns a copy of the job; ErrNoJob if absent.
	Get(ctx context.Context, id string) (*Job, error)
	// List returns copies of all jobs ordered by Submitted, then ID.
	List(ctx context.Context) ([]*Job, error)
	// Update applies fn to a copy of the stored job and stores the result
	// atomically; fn must not keep the job. The change is visible to Get
	// and List at once and durable when Update returns, except a change of
	// nothing but the live progress of an unfinished job (StatusLine,
	// Percent, Progress), which a store may defer for a while (boltstore:
	// up to its ProgressInterval) but never past a Get or List that
	// returns it: what a reader has been shown is never taken back by a
	// crash. An error from fn is returned as is and nothing is stored.
	Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error)
	// Delete removes a job; ErrNoJob if absent.
	Delete(ctx context.Context, id string) error
	Close() error
}

// Errors of a Store besides ErrNoJob.
var (
	// ErrExists: Create was given an ID that is already stored.
	ErrExists = errors.New("migrate: job already exists")
	// ErrTerminal: an Update tried to change the Status, ErrKind or Error
	// of a job that has already ended.
	ErrTerminal = errors.New("migrate: the job's end is already recorded")
	// ErrInvalidJob: a job without an ID, or an Update that changed it.
	ErrInvalidJob = errors.New("migrate: invalid job")
	// ErrStoreClosed: the Store has been closed.
	ErrStoreClosed = errors.New("migrate: job store closed")
)

// CheckJobUpdate is the rule every Store applies to an Update that turns
// old into nj: the ID never changes, and the end of a job (its terminal
// Status, ErrKind and Error) is written once.
func CheckJobUpdate(old, nj *Job) error {
	if nj.ID != old.ID {
		return ErrInvalidJob
	}
	if old.Status.Terminal() && (nj.Status != old.Status || nj.ErrKind != old.ErrKind || nj.Error != old.Error) {
		return ErrTerminal
	}
	return nil
}

// SortJobs orders jobs by Submitted, then ID, as Store.List returns them.
func SortJobs(js []*Job) {
	sort.Slice(js, func(a, b int) bool {
		ta, tb := js[a].Submitted, js[b].Submitted
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return js[a].ID < js[b].ID
	})
}
