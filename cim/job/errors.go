package job

import (
	"errors"

	"github.com/google/uuid"
)

// Sentinel errors of a Store. Callers test with errors.Is.
var (
	// ErrNotFound: no job has the InstanceID.
	ErrNotFound = errors.New("job: not found")
	// ErrExists: Create was given an InstanceID that is already stored.
	ErrExists = errors.New("job: already exists")
	// ErrTerminal: an Update tried to change the State, ErrorCode or
	// ErrorDescription of a job that has already reached a terminal state.
	ErrTerminal = errors.New("job: terminal state already recorded")
	// ErrInvalid: a job without an InstanceID, or an Update that changed it.
	ErrInvalid = errors.New("job: invalid job")
	// ErrClosed: the Store has been closed.
	ErrClosed = errors.New("job: store closed")
)

// NewInstanceID returns a new job InstanceID of the recommended CIM form
// "<OrgID>:<LocalID>", with a random UUID as the local part.
func NewInstanceID(org string) string {
	return org + ":" + uuid.NewString()
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	c := *j
	if j.Request != nil {
		c.Request = append([]byte(nil), j.Request...)
	}
	return &c
}

// applyUpdate runs fn on a copy of old and checks the result against the
// state machine rules shared by every Store: the InstanceID never changes,
// and a terminal state, with its error code and description, is written
// once.
func applyUpdate(old *Job, fn func(j *Job) error) (*Job, error) {
	nj := old.Clone()
	if err := fn(nj); err != nil {
		return nil, err
	}
	if nj.InstanceID != old.InstanceID {
		return nil, ErrInvalid
	}
	if old.State.Terminal() && (nj.State != old.State ||
		nj.ErrorCode != old.ErrorCode ||
		nj.ErrorDescription != old.ErrorDescription) {
		return nil, ErrTerminal
	}
	return nj, nil
}
