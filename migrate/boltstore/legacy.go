package boltstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// legacyJob is a record as cim/job wrote it, up to commit e7b7390: the
// CIM job with the engine's request encoded inside (Request). Its fields
// are named as they were; only those a conversion needs are here.
type legacyJob struct {
	InstanceID      string
	Owner           string
	State           uint16 // CIM_ConcreteJob.JobState
	JobStatus       string
	PercentComplete uint16

	TimeSubmitted         time.Time
	StartTime             time.Time
	TimeOfLastStateChange time.Time
	EndTime               time.Time

	DeleteOnCompletion bool
	TimeBeforeRemoval  time.Duration

	ErrorCode        uint16 // the DSP1081 return code of the failure
	ErrorDescription string

	Method          string
	VMUUID          string
	VMName          string
	DestinationHost string
	MigrationType   uint16
	TransportType   uint16
	Priority        uint16
	Request         []byte // a migrate.Request of that release, JSON

	DataTotal, DataProcessed, DataRemaining uint64
	Iteration                               uint64
	DirtyRate                               uint64
	ExpectedDowntime                        time.Duration
	Downtime                                time.Duration
	TotalTime                               time.Duration
}

// legacyRequest is the migrate.Request of that release.
type legacyRequest struct {
	JobID     string
	Priority  int
	Submitted time.Time
	Plan      migrate.Plan
}

// CIM_ConcreteJob.JobState values of legacy records.
const (
	legacyNew          = 2
	legacyStarting     = 3
	legacyRunning      = 4
	legacyShuttingDown = 6
	legacyCompleted    = 7
	legacyTerminated   = 8
	legacyKilled       = 9
	legacyException    = 10
)

// decodeLegacy converts a cim/job record. What it says is kept as it
// was shown (status line, times, figures, error text); its JobState
// becomes the engine's Status (6 Shutting Down: running, with the cancel
// its status line names), its ErrorCode the kind of that return code,
// its owner and removal settings Meta. The plan is the one its Request
// held, or, if that cannot be read, what the record's own columns say; a
// plan that is still not valid is the engine's to refuse (Recover fails
// the job if it has not ended).
func decodeLegacy(id, b []byte) (*migrate.Job, error) {
	var l legacyJob
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", errRecord, id, err)
	}
	if l.InstanceID == "" {
		return nil, fmt.Errorf("%w: %q has no job ID and no record format", errRecord, id)
	}
	j := &migrate.Job{
		ID:         l.InstanceID,
		VMName:     l.VMName,
		Priority:   int(l.Priority),
		Submitted:  l.TimeSubmitted,
		StatusLine: l.JobStatus,
		Percent:    int(l.PercentComplete),
		Progress: migrate.Progress{
			DataTotal: l.DataTotal, DataProcessed: l.DataProcessed, DataRemaining: l.DataRemaining,
			Iteration: l.Iteration, DirtyRate: l.DirtyRate, ExpectedDowntime: l.ExpectedDowntime,
		},
		Started: l.StartTime,
		Changed: l.TimeOfLastStateChange,
		Ended:   l.EndTime,
		Meta: migrate.Meta{
			Owner:              l.Owner,
			Method:             l.Method,
			DeleteOnCompletion: l.DeleteOnCompletion,
			TimeBeforeRemoval:  l.TimeBeforeRemoval,
		},
	}
	var req legacyRequest
	if json.Unmarshal(l.Request, &req) == nil && req.JobID == l.InstanceID {
		j.Plan = req.Plan
		if !req.Submitted.IsZero() {
			j.Submitted = req.Submitted
		}
	} else {
		j.Plan = migrate.Plan{VM: l.VMUUID, DestHost: l.DestinationHost,
			Type: migrate.Type(l.MigrationType), Transport: migrate.Transport(l.TransportType)}
	}
	switch l.State {
	case legacyNew:
		j.Status = migrate.StatusQueued
	case legacyStarting:
		j.Status = migrate.StatusStarting
	case legacyRunning:
		j.Status = migrate.StatusRunning
	case legacyShuttingDown:
		j.Status, j.Stopping = migrate.StatusRunning, migrate.StopTerminate
		if strings.Contains(l.JobStatus, "kill") {
			j.Stopping = migrate.StopKill
		}
	case legacyCompleted:
		j.Status = migrate.StatusCompleted
	case legacyTerminated:
		j.Status = migrate.StatusCancelled
	case legacyKilled:
		j.Status = migrate.StatusKilled
	case legacyException:
		j.Status = migrate.StatusFailed
	default:
		return nil, fmt.Errorf("%w: %q has JobState %d", errRecord, id, l.State)
	}
	if j.Status == migrate.StatusFailed || l.ErrorCode != 0 {
		j.ErrKind, j.Error = kindOfCode(l.ErrorCode), l.ErrorDescription
	}
	if l.Downtime != 0 || l.TotalTime != 0 || j.Status == migrate.StatusCompleted {
		j.Result = &migrate.Result{TotalTime: l.TotalTime, Downtime: l.Downtime,
			DataTransferred: l.DataProcessed, Iterations: l.Iteration}
	}
	return j, nil
}

// kindOfCode is the kind of a DSP1081 return code stored by cim/job: the
// two classify the same causes (see migrate.KindOf and cim/vsm's table).
func kindOfCode(code uint16) migrate.CheckKind {
	switch code {
	case 1:
		return migrate.NotSupported
	case 3:
		return migrate.Timeout
	case 4:
		return migrate.InvalidParameter
	case 5:
		return migrate.InvalidState
	case 6:
		return migrate.Incompatible
	}
	return migrate.Failed
}
