package vsm

import (
	"strings"

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
// return code and a sentence for the log, the client and the CIM_Error.
type refusal struct {
	Code   uint32
	Reason string
	Err    error
}

func (r *refusal) Error() string { return r.Reason }
func (r *refusal) Unwrap() error { return r.Err }

func refuse(code uint32, reason string) *refusal { return &refusal{Code: code, Reason: reason} }

// refusalOf is the refusal of an engine error; its reason is the error's
// text without the package's "migrate: ", which says nothing to a client.
func refusalOf(err error) *refusal {
	return &refusal{Code: codeOf(migrate.KindOf(err)), Reason: strings.TrimPrefix(err.Error(), "migrate: "), Err: err}
}

// codeOf is the DSP1081 return code of a kind of refusal or failure; the
// engine classifies every error it returns into one (migrate.KindOf):
//
//	InvalidParameter  4   the request is formally wrong, or names nothing
//	InvalidState      5   the VM, a host or the engine's limits say not now
//	Incompatible      6   the destination cannot honour the settings
//	NotSupported      1   allowed by the profile, not done here
//	Timeout           3   a deadline passed
//	Failed            2   anything else
func codeOf(k migrate.CheckKind) uint32 {
	switch k {
	case migrate.InvalidParameter:
		return RetInvalidParameter
	case migrate.InvalidState:
		return RetInvalidState
	case migrate.Incompatible:
		return RetIncompatible
	case migrate.NotSupported:
		return RetNotSupported
	case migrate.Timeout:
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
