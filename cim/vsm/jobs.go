package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// Methods of CIM_ConcreteJob that the job provider implements.
const (
	MethodRequestStateChange = "RequestStateChange"
	MethodGetError           = "GetError"
	// MethodGetErrors is GetError's successor in the CIM schema (an
	// array of CIM_Error); DSP1103 clients may call either.
	MethodGetErrors = "GetErrors"
)

// RequestStateChange.RequestedState values.
const (
	requestStart     = 2
	requestSuspend   = 3
	requestTerminate = 4
	requestKill      = 5
	requestService   = 6
)

// CIM_ConcreteJob.JobState values.
const (
	jobNew          = 2
	jobStarting     = 3
	jobRunning      = 4
	jobShuttingDown = 6
	jobCompleted    = 7
	jobTerminated   = 8
	jobKilled       = 9
	jobException    = 10
)

// jobState is the CIM JobState of an engine job: its Status, and 6
// Shutting Down once a Terminate or Kill has been accepted.
func jobState(j *migrate.Job) uint64 {
	switch j.Status {
	case migrate.StatusQueued:
		return jobNew
	case migrate.StatusStarting, migrate.StatusRunning:
		if j.Stopping != migrate.StopNone {
			return jobShuttingDown
		}
		if j.Status == migrate.StatusStarting {
			return jobStarting
		}
		return jobRunning
	case migrate.StatusCompleted:
		return jobCompleted
	case migrate.StatusCancelled:
		return jobTerminated
	case migrate.StatusKilled:
		return jobKilled
	}
	return jobException
}

// operationalStatus derives CIM_ConcreteJob.OperationalStatus from the
// job state (DSP1103): New {OK, Dormant}, Starting {OK, Starting}, Running
// {OK}, Shutting Down {OK, Stopping}, Completed {OK, Completed},
// Terminated and Killed {OK, Stopped} (the VM stays on the source, nothing
// is broken), Exception {Error, Completed}.
func operationalStatus(state uint64) []uint64 {
	switch state {
	case jobNew:
		return []uint64{2, 15}
	case jobStarting:
		return []uint64{2, 8}
	case jobShuttingDown:
		return []uint64{2, 9}
	case jobCompleted:
		return []uint64{2, 17}
	case jobTerminated, jobKilled:
		return []uint64{2, 10}
	case jobException:
		return []uint64{6, 17}
	}
	return []uint64{2}
}

// errorCode is the CIM ErrorCode of a job: the return code of its
// failure's kind, 0 if it has not failed.
func errorCode(j *migrate.Job) uint32 {
	if j.ErrKind == 0 {
		return 0
	}
	return codeOf(j.ErrKind)
}

// jobProvider serves VSMIG_MigrationJob from the engine's jobs, its methods
// RequestStateChange, GetError and GetErrors, DeleteInstance of finished jobs and
// ModifyInstance of DeleteOnCompletion and TimeBeforeRemoval.
type jobProvider struct{ p *Profile }

func (jp *jobProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: jp.p.cfg.Namespace, Class: ClassJob}}
}

func (jp *jobProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	j, err := jp.p.jobAt(ctx, path)
	if err != nil {
		if inst, ferr := findByPath(jp.p.incomingJobs(), path); ferr == nil {
			return inst, nil
		}
		return nil, err
	}
	return jp.p.jobInstance(j), nil
}

func (jp *jobProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	jobs, err := jp.p.engine.Jobs(ctx)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "list jobs", Err: err}
	}
	out := make([]*cim.Instance, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jp.p.jobInstance(j))
	}
	return append(out, jp.p.incomingJobs()...), nil
}

// jobAt reads the job a path names.
func (p *Profile) jobAt(ctx context.Context, path cim.ObjectPath) (*migrate.Job, error) {
	id := keyString(path, "InstanceID")
	if id == "" {
		return nil, notFound(path)
	}
	j, err := p.engine.Job(ctx, id)
	if errors.Is(err, migrate.ErrNoJob) {
		return nil, notFound(path)
	}
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "read job " + id, Err: err}
	}
	return j, nil
}

// jobInstance builds the VSMIG_MigrationJob of an engine job as it is
// read. Times are UTC.
func (p *Profile) jobInstance(j *migrate.Job) *cim.Instance { return p.jobInstanceAt(j, p.now()) }

// jobInstanceAt is jobInstance as read at now (the ElapsedTime of a job
// that has not ended).
func (p *Profile) jobInstanceAt(j *migrate.Job, now time.Time) *cim.Instance {
	name := fmt.Sprintf("Migrate %s to %s", j.VMName, j.Plan.DestHost)
	state := jobState(j)
	inst := p.newInstance(ClassJob, p.cfg.Namespace)
	p.set(inst, "InstanceID", j.ID)
	p.set(inst, "Name", name)
	p.set(inst, "ElementName", name)
	p.set(inst, "Caption", "Virtual system migration job")
	p.set(inst, "Description", fmt.Sprintf("%s of virtual system %s (%s) to %s", j.Meta.Method, j.VMName, j.Plan.VM, j.Plan.DestHost))
	p.set(inst, "JobState", state)
	p.set(inst, "OperationalStatus", operationalStatus(state))
	p.set(inst, "JobStatus", j.StatusLine)
	p.set(inst, "PercentComplete", uint64(j.Percent))
	p.set(inst, "TimeSubmitted", j.Submitted.UTC())
	if !j.Started.IsZero() {
		p.set(inst, "StartTime", j.Started.UTC())
		end := j.Ended
		if end.IsZero() {
			end = now
		}
		p.set(inst, "ElapsedTime", cim.IntervalOf(max(end.Sub(j.Started), 0)))
	}
	p.set(inst, "TimeOfLastStateChange", j.Changed.UTC())
	p.set(inst, "ErrorCode", uint64(errorCode(j)))
	if j.Error != "" {
		p.set(inst, "ErrorDescription", j.Error)
	}
	p.set(inst, "DeleteOnCompletion", j.Meta.DeleteOnCompletion)
	p.set(inst, "TimeBeforeRemoval", cim.IntervalOf(j.Meta.TimeBeforeRemoval))
	if j.Meta.Owner != "" {
		p.set(inst, "Owner", j.Meta.Owner)
	}
	p.set(inst, "Priority", uint64(j.Priority))
	p.set(inst, "LocalOrUtcTime", uint64(2)) // UTC
	// Vendor statistics (VSMIG_MigrationJob).
	pr := j.Progress
	p.set(inst, "VirtualSystemName", j.VMName)
	p.set(inst, "VirtualSystemIdentifier", j.Plan.VM)
	p.set(inst, "DestinationHost", j.Plan.DestHost)
	p.set(inst, "MigrationType", uint64(j.Plan.Type))
	p.set(inst, "TransportType", uint64(j.Plan.Transport))
	p.set(inst, "DataTotal", pr.DataTotal)
	p.set(inst, "DataProcessed", pr.DataProcessed)
	p.set(inst, "DataRemaining", pr.DataRemaining)
	p.set(inst, "Iteration", pr.Iteration)
	p.set(inst, "DirtyRate", pr.DirtyRate)
	p.set(inst, "ExpectedDowntime", pr.ExpectedDowntime)
	if j.Status == migrate.StatusCompleted && j.Result != nil {
		p.set(inst, "Downtime", j.Result.Downtime)
		p.set(inst, "TotalTime", j.Result.TotalTime)
	}
	return inst
}

// InvokeMethod runs RequestStateChange, GetError and GetErrors.
func (jp *jobProvider) InvokeMethod(ctx context.Context, path cim.ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	p := jp.p
	j, err := p.jobAt(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case strings.EqualFold(method, MethodRequestStateChange):
		return uint64(p.requestStateChange(ctx, j, in)), nil, nil
	case strings.EqualFold(method, MethodGetError):
		var e any
		if je := p.jobError(j); je != nil {
			e = je
		}
		return uint64(0), map[string]any{"Error": e}, nil
	case strings.EqualFold(method, MethodGetErrors):
		// One failure, one CIM_Error; NULL when the job has not failed
		// (the schema: "If JobState is Completed and OperationalStatus
		// is Completed then no instance of CIM_Error is returned").
		var es any
		if je := p.jobError(j); je != nil {
			es = []*cim.Instance{je}
		}
		return uint64(0), map[string]any{"Errors": es}, nil
	}
	return nil, nil, cim.Errorf(cim.StatusMethodNotFound, "%s has no method %s", ClassJob, method)
}

// jobError is the CIM_Error of a failed job (or one with a non-zero
// ErrorCode), nil otherwise: what GetError and GetErrors return.
func (p *Profile) jobError(j *migrate.Job) *cim.Instance {
	if j.Status != migrate.StatusFailed && errorCode(j) == 0 {
		return nil
	}
	return p.errorInstance(errorCode(j), j.Error, p.jobPath(j.ID))
}

// requestStateChange cancels a job: 4 Terminate and 5 Kill go to the
// engine (4096: the job ends Terminated/Killed soon; 0 if it already has,
// as a queued job does at once). A finished job, and 2 Start, 3 Suspend,
// 6 Service, give 4097; a non-zero TimeoutPeriod 4098.
func (p *Profile) requestStateChange(ctx context.Context, j *migrate.Job, in map[string]any) uint32 {
	if tp, ok := in["TimeoutPeriod"].(cim.Datetime); ok {
		if (tp.Interval && tp.Duration != 0) || (!tp.Interval && !tp.Time.IsZero()) {
			return RSCTimeoutNotSupported
		}
	}
	rs, ok := in["RequestedState"].(uint64)
	if !ok {
		return RSCInvalidParameter
	}
	switch rs {
	case requestTerminate, requestKill:
	case requestStart, requestSuspend, requestService:
		return RSCInvalidTransition
	default:
		return RSCInvalidParameter
	}
	if j.Status.Terminal() {
		return RSCInvalidTransition
	}
	kill := rs == requestKill
	if err := p.engine.Cancel(ctx, j.ID, kill); err != nil {
		code := rscCode(err)
		p.log.InfoContext(ctx, "job cancel refused", "job", j.ID, "code", code, "err", err)
		return code
	}
	if nj, err := p.engine.Job(ctx, j.ID); err == nil && nj.Status.Terminal() {
		return RSCOK
	}
	return RSCStarted
}

// rscCode is the RequestStateChange code of the engine's refusal of a
// cancel:
//
//	migrate.ErrFinished     4097  the job ended meanwhile
//	migrate.ErrUnsupported  1     the driver cannot abort it now (post-copy)
//	migrate.ErrBusy         4099
//	anything else           4     the abort failed; the job goes on
func rscCode(err error) uint32 {
	switch {
	case errors.Is(err, migrate.ErrFinished):
		return RSCInvalidTransition
	case errors.Is(err, migrate.ErrUnsupported):
		return RSCNotSupported
	case errors.Is(err, migrate.ErrBusy):
		return RSCBusy
	}
	return RSCFailed
}

// DeleteInstance removes a finished job. A job that has not ended is in
// use and cannot be deleted: cim.ErrInvalidState (wsman:Concurrency on the
// wire), with the reason and what to do about it.
func (jp *jobProvider) DeleteInstance(ctx context.Context, path cim.ObjectPath) error {
	p := jp.p
	j, err := p.jobAt(ctx, path)
	if err != nil {
		return err
	}
	err = p.engine.DeleteJob(ctx, j.ID)
	switch {
	case errors.Is(err, migrate.ErrUnfinished):
		return &cim.Error{Status: cim.StatusFailed, Err: cim.ErrInvalidState,
			Message: fmt.Sprintf("Job %s has not ended (JobState %d); terminate it with RequestStateChange (RequestedState 4) first, or wait for it to end.", j.ID, jobState(j))}
	case errors.Is(err, migrate.ErrNoJob):
		return notFound(path)
	case err != nil:
		return &cim.Error{Status: cim.StatusFailed, Message: "delete job " + j.ID, Err: err}
	}
	p.log.InfoContext(ctx, "job deleted", "job", j.ID)
	return nil
}

// ModifyInstance changes DeleteOnCompletion and TimeBeforeRemoval, the
// two writable properties of a job (kept with the engine's job as Meta).
// Other properties may be sent (a Put carries the whole instance) but
// must keep their current values; ElapsedTime, which changes as it is
// read, is ignored.
func (jp *jobProvider) ModifyInstance(ctx context.Context, inst *cim.Instance) error {
	p := jp.p
	path := inst.Path()
	j, err := p.jobAt(ctx, path)
	if err != nil {
		return err
	}
	cur := p.jobInstance(j)
	var del *bool
	var tbr *time.Duration
	for prop, v := range inst.Properties() {
		if v == nil {
			continue
		}
		switch {
		case strings.EqualFold(prop.Name, "DeleteOnCompletion"):
			b, ok := v.(bool)
			if !ok {
				return cim.Errorf(cim.StatusTypeMismatch, "DeleteOnCompletion must be a boolean")
			}
			del = &b
		case strings.EqualFold(prop.Name, "TimeBeforeRemoval"):
			d, ok := v.(cim.Datetime)
			if !ok || !d.Interval || d.Duration < 0 {
				return cim.Errorf(cim.StatusInvalidParameter, "TimeBeforeRemoval must be an interval")
			}
			tbr = &d.Duration
		case strings.EqualFold(prop.Name, "ElapsedTime"):
		default:
			old, _ := cur.Get(prop.Name)
			if !cim.ValuesEqual(old, v) {
				return cim.Errorf(cim.StatusInvalidParameter, "property %s of a job is read-only", prop.Name)
			}
		}
	}
	_, err = p.engine.UpdateMeta(ctx, j.ID, func(m *migrate.Meta) {
		if del != nil {
			m.DeleteOnCompletion = *del
		}
		if tbr != nil {
			m.TimeBeforeRemoval = *tbr
		}
	})
	if errors.Is(err, migrate.ErrNoJob) {
		return notFound(path)
	}
	if err != nil {
		return &cim.Error{Status: cim.StatusFailed, Message: "modify job " + j.ID, Err: err}
	}
	return nil
}

// errorInstance builds the CIM_Error for a failed job or check.
func (p *Profile) errorInstance(code uint32, msg string, source cim.ObjectPath) *cim.Instance {
	if code == 0 {
		code = RetFailed
	}
	e := p.newInstance(ClassError, "")
	p.set(e, "ErrorType", errorTypeOf(code))
	p.set(e, "OwningEntity", p.cfg.OrgID)
	p.set(e, "MessageID", fmt.Sprintf("VSMIG%04d", code))
	if msg == "" {
		msg = codeText(code)
	}
	p.set(e, "Message", msg)
	p.set(e, "MessageArguments", []string{codeText(code)})
	p.set(e, "PerceivedSeverity", uint64(5)) // Major
	p.set(e, "ProbableCause", uint64(0))     // Unknown
	p.set(e, "CIMStatusCode", cimStatusOf(code))
	p.set(e, "CIMStatusCodeDescription", codeText(code))
	if source.ClassName != "" {
		p.set(e, "ErrorSource", source.String())
		p.set(e, "ErrorSourceFormat", uint64(2)) // CIMObjectPath
	}
	return e
}
