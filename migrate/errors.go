package migrate

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test with errors.Is.
var (
	ErrNoDomain     = errors.New("migrate: no such domain")
	ErrNoJob        = errors.New("migrate: no such job")
	ErrUnsupported  = errors.New("migrate: not supported")
	ErrBusy         = errors.New("migrate: at the concurrency limit")
	ErrVMBusy       = errors.New("migrate: the virtual machine is already migrating")
	ErrFinished     = errors.New("migrate: the job has already finished")
	ErrShuttingDown = errors.New("migrate: engine is shutting down")
	// ErrPolicyAbort wraps the reason when the engine's policy aborted a
	// migration (completion or progress timeout).
	ErrPolicyAbort = errors.New("migrate: aborted by policy")
)

// CheckKind classifies why a migration cannot be carried out, in the
// terms of the DSP1081 return codes.
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
