package vsm

import (
	"context"
	"errors"

	"github.com/vsmig/vsmig/migrate"
)

// Return codes of the CIM_VirtualSystemMigrationService methods (DSP1081).
const (
	RetOK               uint32 = 0
	RetNotSupported     uint32 = 1
	RetFailed           uint32 = 2
	RetTimeout          uint32 = 3
	RetInvalidParameter uint32 = 4
	RetInvalidState     uint32 = 5
	RetIncompatible     uint32 = 6
	RetJobStarted       uint32 = 4096
)

// Return codes of CIM_ConcreteJob.RequestStateChange (DSP1103).
const (
	RSCOK                  uint32 = 0
	RSCNotSupported        uint32 = 1
	RSCFailed              uint32 = 4
	RSCInvalidParameter    uint32 = 5
	RSCStarted             uint32 = 4096
	RSCInvalidTransition   uint32 = 4097
	RSCTimeoutNotSupported uint32 = 4098
	RSCBusy                uint32 = 4099
)

// refusal is why a request is refused before a job exists: a DSP1081
// return code and a sentence for the log, the job and the CIM_Error.
type refusal struct {
	Code   uint32
	Reason string
	Err    error
}

func (r *refusal) Error() string { return r.Reason }
func (r *refusal) Unwrap() error { return r.Err }

func refuse(code uint32, reason string) *refusal { return &refusal{Code: code, Reason: reason} }

// codeOf maps an error of the engine (or of the profile's own checks) to a
// DSP1081 return code:
//
//	*refusal                        its Code
//	CheckError InvalidParameter     4
//	CheckError InvalidState         5
//	CheckError Incompatible         6
//	CheckError NotSupported         1
//	ErrBusy, ErrVMBusy, ShuttingDown 5 (may be temporary)
//	ErrNoDomain                     4 (a reference to nothing)
//	ErrUnsupported                  1
//	context.DeadlineExceeded        3
//	anything else                   2
func codeOf(err error) uint32 {
	var r *refusal
	if errors.As(err, &r) {
		return r.Code
	}
	var ce *migrate.CheckError
	if errors.As(err, &ce) {
		switch ce.Kind {
		case migrate.InvalidParameter:
			return RetInvalidParameter
		case migrate.InvalidState:
			return RetInvalidState
		case migrate.Incompatible:
			return RetIncompatible
		case migrate.NotSupported:
			return RetNotSupported
		}
		return RetFailed
	}
	switch {
	case errors.Is(err, migrate.ErrBusy), errors.Is(err, migrate.ErrVMBusy), errors.Is(err, migrate.ErrShuttingDown):
		return RetInvalidState
	case errors.Is(err, migrate.ErrNoDomain):
		return RetInvalidParameter
	case errors.Is(err, migrate.ErrUnsupported):
		return RetNotSupported
	case errors.Is(err, context.DeadlineExceeded):
		return RetTimeout
	}
	return RetFailed
}

// codeText names a return code for job status lines and CIM_Error.
func codeText(code uint32) string {
	switch code {
	case RetOK:
		return "Completed with No Error"
	case RetNotSupported:
		return "Not Supported"
	case RetFailed:
		return "Failed"
	case RetTimeout:
		return "Timeout"
	case RetInvalidParameter:
		return "Invalid Parameter"
	case RetInvalidState:
		return "Invalid State"
	case RetIncompatible:
		return "Incompatible Parameters"
	}
	return "Failed"
}

// cimStatusOf is the CIM_Error.CIMStatusCode (DSP0200 CIM_ERR_*) that
// best matches a DSP1081 return code.
func cimStatusOf(code uint32) uint64 {
	switch code {
	case RetNotSupported:
		return 7 // CIM_ERR_NOT_SUPPORTED
	case RetInvalidParameter, RetIncompatible:
		return 4 // CIM_ERR_INVALID_PARAMETER
	case RetTimeout:
		return 1 // CIM_ERR_FAILED: the operation started and timed out
	}
	return 1 // CIM_ERR_FAILED
}

// errorTypeOf is the CIM_Error.ErrorType of a return code: 10 Unsupported
// Operation Error, 2 Communications Error (destination unreachable or
// timed out), 4 Software Error otherwise.
func errorTypeOf(code uint32) uint64 {
	switch code {
	case RetNotSupported:
		return 10
	case RetTimeout:
		return 2
	}
	return 4
}
