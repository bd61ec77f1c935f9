package migrate

import "time"

// Request asks the Engine to run one migration. Plan fields left zero are
// filled from the Engine's Config (policy defaults) before the driver sees
// them.
type Request struct {
	JobID string
	// Priority orders queued requests: lower runs first (DSP1081), ties by
	// Submitted.
	Priority  int
	Submitted time.Time
	Plan      Plan
	// Queued, for Engine.Recover only, says the job had not started when
	// the daemon stopped (as far as its store knows). If the VM is then
	// still on this host with no migration running, the job is queued
	// again, keeping its Priority and Submitted, instead of failing.
	Queued bool `json:",omitempty"`
}

// Status is the engine-side state of a job.
type Status int

const (
	StatusQueued Status = iota + 1
	StatusStarting
	StatusRunning
	StatusCompleted
	StatusFailed    // ended with an error; the VM runs on the source
	StatusCancelled // aborted by request; the VM runs on the source
	StatusKilled    // aborted by a Kill request
)

// Terminal reports whether s is a final state.
func (s Status) Terminal() bool { return s >= StatusCompleted }

// Update reports a job's progress or end to the Engine's OnUpdate hook.
// Updates for one job are delivered in order, from one goroutine at a time.
type Update struct {
	JobID    string
	Status   Status
	Progress Progress
	// Percent is monotone non-decreasing within a job, 100 on completion.
	Percent int
	// Result is set with StatusCompleted (and when known on failure).
	Result *Result
	// Err is set with StatusFailed; Reason is a one-line, human-readable
	// explanation for the job's status text (policy actions, failures).
	Err    error
	Reason string
}
