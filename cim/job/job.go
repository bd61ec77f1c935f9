// Package job keeps the durable state of CIM_ConcreteJob instances (DMTF
// DSP1103 Job Control) for vsmig's migrations: a Store with a bbolt
// implementation under the state directory and an in-memory one for tests,
// the job state machine (a terminal state is written once), and the expiry
// of finished jobs (DeleteOnCompletion + TimeBeforeRemoval).
//
// The bbolt Store keeps a copy of every job in memory for reads, shares
// one transaction and fsync between concurrent writers (group commit),
// and writes the live progress of a running job at most every
// Config.ProgressInterval; everything else is on disk when the call that
// wrote it returns.
//
// Imports: the standard library, go.etcd.io/bbolt, github.com/google/uuid.
package job

import (
	"context"
	"time"
)

// State mirrors CIM_ConcreteJob.JobState.
type State uint16

const (
	New          State = 2
	Starting     State = 3
	Running      State = 4
	Suspended    State = 5
	ShuttingDown State = 6
	Completed    State = 7
	Terminated   State = 8
	Killed       State = 9
	Exception    State = 10
)

// Terminal reports whether s is a final state.
func (s State) Terminal() bool { return s >= Completed && s <= Exception }

// Job is the stored state of one migration job. Times are UTC.
type Job struct {
	InstanceID string // "<org>:<uuid>"
	Name       string
	Owner      string // the WS-Man user that submitted it
	State      State
	// JobStatus is the free-text status line (CIM_Job.JobStatus).
	JobStatus       string
	PercentComplete uint16

	TimeSubmitted         time.Time
	StartTime             time.Time // zero until Running
	TimeOfLastStateChange time.Time
	EndTime               time.Time // zero until terminal

	DeleteOnCompletion bool
	TimeBeforeRemoval  time.Duration

	// ErrorCode is zero unless the job failed; ErrorDescription says why.
	ErrorCode        uint16
	ErrorDescription string

	// What the job does.
	Method          string // "MigrateVirtualSystemToHost", ...
	VMUUID          string
	VMName          string
	DestinationHost string
	MigrationType   uint16
	TransportType   uint16
	Priority        uint16
	// Request holds the engine request, encoded by the caller, so that an
	// interrupted job can be reconciled after a restart.
	Request []byte

	// Live progress and final statistics (bytes, durations).
	DataTotal, DataProcessed, DataRemaining uint64
	Iteration                               uint64
	DirtyRate                               uint64
	ExpectedDowntime                        time.Duration
	Downtime                                time.Duration
	TotalTime                               time.Duration
}

// Store keeps jobs durably. Implementations are safe for concurrent use.
type Store interface {
	// Create stores a new job; it fails if the InstanceID exists. The
	// job is on disk when Create returns nil.
	Create(ctx context.Context, j *Job) error
	// Get returns a copy of the job; ErrNotFound if absent.
	Get(ctx context.Context, id string) (*Job, error)
	// List returns copies of all jobs ordered by TimeSubmitted.
	List(ctx context.Context) ([]*Job, error)
	// Update applies fn to the stored job atomically and stores the result.
	// fn must not keep j. Once a job is terminal its State, ErrorCode and
	// ErrorDescription can no longer change: Update returns ErrTerminal if
	// fn tries to.
	//
	// Every change is visible to Get and List as soon as Update returns,
	// and on disk too, with one exception: a change of nothing but the
	// live progress of an unfinished job (PercentComplete, JobStatus,
	// DataTotal, DataProcessed, DataRemaining, Iteration, DirtyRate,
	// ExpectedDowntime) may reach the disk up to Config.ProgressInterval
	// later, with the job's next other change, or at Close. A crash of
	// the daemon loses at most that interval of progress; state changes,
	// errors and final statistics are never deferred.
	Update(ctx context.Context, id string, fn func(j *Job) error) (*Job, error)
	// Delete removes a job; ErrNotFound if absent.
	Delete(ctx context.Context, id string) error
	Close() error
}
