package migrate

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Callers test with errors.Is.
var (
	ErrNoDomain = errors.New("migrate: no such domain")
	// ErrNoJob: no job has the ID (the engine's store does not hold it, or
	// the hypervisor runs no migration of the VM, for Driver.Attach).
	ErrNoJob        = errors.New("migrate: no such job")
	ErrUnsupported  = errors.New("migrate: not supported")
	ErrBusy         = errors.New("migrate: at the concurrency limit")
	ErrVMBusy       = errors.New("migrate: the virtual machine is already migrating")
	ErrFinished     = errors.New("migrate: the job has already finished")
	ErrShuttingDown = errors.New("migrate: engine is shutting down")
	// ErrUnfinished: a job that has not ended cannot be deleted.
	ErrUnfinished = errors.New("migrate: the job has not finished")
	// ErrPolicyAbort wraps the reason when the engine's policy aborted a
	// migration (completion or progress timeout).
	ErrPolicyAbort = errors.New("migrate: aborted by policy")
)

// CheckKind classifies why a migration cannot be carried out, or why a
// job failed, in the terms of the DSP1081 return codes. Its values are
// stored with failed jobs (Job.ErrKind): never renumber them.
type CheckKind int

const (
	// InvalidParameter: the request is formally wrong (return code 4).
	InvalidParameter CheckKind = iota + 1
	// InvalidState: the VM, source or destination is not in a state that
	// allows it now (return code 5); may be temporary.
	InvalidState
	// Incompatible: the settings cannot be honoured by the destination
	// (return code 6).
	Incompatible
	// NotSupported: allowed by the profile, not done by this host (1).
	NotSupported
	// Timeout: a deadline passed (3).
	Timeout
	// Failed: anything else (2).
	Failed
)

// CheckError says why a migration cannot be carried out.
type CheckError struct {
	Kind   CheckKind
	Reason string
	Err    error // underlying cause, may be nil
}

func (e *CheckError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("migrate: %s: %v", e.Reason, e.Err)
	}
	return "migrate: " + e.Reason
}

func (e *CheckError) Unwrap() error { return e.Err }

// KindOf classifies any error of the engine, its drivers or its store, in
// one table:
//
//	*CheckError                       its Kind
//	ErrBusy, ErrVMBusy, ErrShuttingDown InvalidState (may be temporary)
//	ErrNoDomain                       InvalidParameter (a reference to nothing)
//	ErrUnsupported                    NotSupported
//	context.DeadlineExceeded          Timeout
//	anything else                     Failed
func KindOf(err error) CheckKind {
	var ce *CheckError
	if errors.As(err, &ce) && ce.Kind != 0 {
		return ce.Kind
	}
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, ErrVMBusy), errors.Is(err, ErrShuttingDown):
		return InvalidState
	case errors.Is(err, ErrNoDomain):
		return InvalidParameter
	case errors.Is(err, ErrUnsupported):
		return NotSupported
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	return Failed
}
