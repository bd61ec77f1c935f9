package cim

import (
	"errors"
	"fmt"
)

// Status is a CIM status code (DSP0004 / DSP0200 CIM_ERR_*).
type Status uint16

const (
	StatusOK                      Status = 0
	StatusFailed                  Status = 1
	StatusAccessDenied            Status = 2
	StatusInvalidNamespace        Status = 3
	StatusInvalidParameter        Status = 4
	StatusInvalidClass            Status = 5
	StatusNotFound                Status = 6
	StatusNotSupported            Status = 7
	StatusClassHasChildren        Status = 8
	StatusClassHasInstances       Status = 9
	StatusInvalidSuperclass       Status = 10
	StatusAlreadyExists           Status = 11
	StatusNoSuchProperty          Status = 12
	StatusTypeMismatch            Status = 13
	StatusQueryLanguageNotSupport Status = 14
	StatusInvalidQuery            Status = 15
	StatusMethodNotAvailable      Status = 16
	StatusMethodNotFound          Status = 17
)

// ErrInvalidState marks an operation refused because of the current state
// of the instance, which the client can change (a running job cannot be
// deleted: terminate it first). A provider returns it wrapped in an *Error
// whose Message tells the client what to do; cim/wsbind sends that
// message with the fault wsman:Concurrency.
var ErrInvalidState = errors.New("cim: the instance's current state does not allow the operation")

// Error is a CIM operation error: a status code and a message for people.
type Error struct {
	Status  Status
	Message string
	Err     error // underlying cause, may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cim: %s (status %d): %v", e.Message, e.Status, e.Err)
	}
	return fmt.Sprintf("cim: %s (status %d)", e.Message, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given status and formatted message.
func Errorf(status Status, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}
