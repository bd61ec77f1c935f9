package migrate

import "time"

// Request asks the Engine to run one migration. Plan fields left zero are
// filled from the Engine's Config (policy defaults, the default transport)
// before the driver sees them.
type Request struct {
	// JobID names the job; the caller chooses it (vsm makes CIM
	// InstanceIDs), the engine refuses one already in use.
	JobID string
	// Priority orders queued requests: lower runs first (DSP1081), ties by
	// Submitted.
	Priority int
	// Submitted is when the request arrived; zero means now.
	Submitted time.Time
	Plan      Plan
	// Meta is stored with the job and returned with it; the engine never
	// reads it.
	Meta Meta
}

// Status is the engine-side state of a job. Its values are stored with
// the job (Job.Status): never renumber them.
type Status int

const (
	StatusQueued Status = iota + 1
	StatusStarting
	StatusRunning
	StatusCompleted
	StatusFailed    // ended with an error; Job.Error says where the VM is
	StatusCancelled // aborted by request; the VM runs on the source
	StatusKilled    // aborted by a Kill request
)

// Terminal reports whether s is a final state.
func (s Status) Terminal() bool { return s >= StatusCompleted }

// Update reports a job's progress or end to the Engine's OnUpdate hook,
// after the engine has recorded it in the job (Job). Updates for one job
// are delivered in order, from one goroutine at a time.
type Update struct {
	JobID string
	// Type is the job's migration type, so that a reader (metrics) needs
	// nothing else to label it.
	Type     Type
	Status   Status
	Progress Progress
	// Percent is monotone non-decreasing within a job, 100 on completion.
	Percent int
	// Result is set with StatusCompleted (and when known on failure).
	Result *Result
	// Err is set with StatusFailed: its kind (KindOf) classifies the
	// failure. Reason is a one-line, human-readable explanation for the
	// job's status text (policy actions, failures); for a failure it is
	// the whole story, the cause and where the VM is, and is the job's
	// Error (Err's text only when there is no Reason).
	Err    error
	Reason string
}
