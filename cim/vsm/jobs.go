package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
)

// Methods of CIM_ConcreteJob that the job provider implements.
const (
	MethodRequestStateChange = "RequestStateChange"
	MethodGetError           = "GetError"
)

// RequestStateChange.RequestedState values.
const (
	requestStart     = 2
	requestSuspend   = 3
	requestTerminate = 4
	requestKill      = 5
	requestService   = 6
)

// operationalStatus derives CIM_ConcreteJob.OperationalStatus from the
// job state (DSP1103): New {OK, Dormant}, Starting {OK, Starting}, Running
// {OK}, Shutting Down {OK, Stopping}, Completed {OK, Completed},
// Terminated and Killed {OK, Stopped} (the VM stays on the source, nothing
// is broken), Exception {Error, Completed}.
func operationalStatus(s job.State) []uint64 {
	switch s {
	case job.New:
		return []uint64{2, 15}
	case job.Starting:
		return []uint64{2, 8}
	case job.ShuttingDown:
		return []uint64{2, 9}
	case job.Completed:
		return []uint64{2, 17}
	case job.Terminated, job.Killed:
		return []uint64{2, 10}
	case job.Exception:
		return []uint64{6, 17}
	}
	return []uint64{2}
}

// jobProvider serves VSMIG_MigrationJob from the Store, its methods
// RequestStateChange and GetError, DeleteInstance of finished jobs and
// ModifyInstance of DeleteOnCompletion and TimeBeforeRemoval.
type jobProvider struct{ p *Profile }

func (jp *jobProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: jp.p.cfg.Namespace, Class: ClassJob}}
}

func (jp *jobProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	j, err := jp.p.jobAt(ctx, path)
	if err != nil {
		return nil, err
	}
	return jp.p.jobInstance(j), nil
}

func (jp *jobProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	jobs, err := jp.p.store.List(ctx)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "list jobs", Err: err}
	}
	out := make([]*cim.Instance, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jp.p.jobInstance(j))
	}
	return out, nil
}

// jobAt reads the job a path names.
func (p *Profile) jobAt(ctx context.Context, path cim.ObjectPath) (*job.Job, error) {
	id := keyString(path, "InstanceID")
	if id == "" {
		return nil, notFound(path)
	}
	j, err := p.store.Get(ctx, id)
	if errors.Is(err, job.ErrNotFound) {
		return nil, notFound(path)
	}
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "read job " + id, Err: err}
	}
	return j, nil
}

func (p *Profile) jobInstance(j *job.Job) *cim.Instance {
	inst := p.newInstance(ClassJob, p.cfg.Namespace)
	p.set(inst, "InstanceID", j.InstanceID)
	p.set(inst, "Name", j.Name)
	p.set(inst, "ElementName", j.Name)
	p.set(inst, "Caption", "Virtual system migration job")
	p.set(inst, "Description", fmt.Sprintf("%s of virtual system %s (%s) to %s", j.Method, j.VMName, j.VMUUID, j.DestinationHost))
	p.set(inst, "JobState", uint64(j.State))
	p.set(inst, "OperationalStatus", operationalStatus(j.State))
	p.set(inst, "JobStatus", j.JobStatus)
	p.set(inst, "PercentComplete", uint64(j.PercentComplete))
	p.set(inst, "TimeSubmitted", j.TimeSubmitted)
	p.set(inst, "StartTime", j.StartTime)
	if !j.StartTime.IsZero() {
		end := j.EndTime
		if end.IsZero() {
			end = p.now()
		}
		p.set(inst, "ElapsedTime", cim.IntervalOf(max(end.Sub(j.StartTime), 0)))
	}
	p.set(inst, "TimeOfLastStateChange", j.TimeOfLastStateChange)
	p.set(inst, "ErrorCode", uint64(j.ErrorCode))
	if j.ErrorDescription != "" {
		p.set(inst, "ErrorDescription", j.ErrorDescription)
	}
	p.set(inst, "DeleteOnCompletion", j.DeleteOnCompletion)
	p.set(inst, "TimeBeforeRemoval", cim.IntervalOf(j.TimeBeforeRemoval))
	if j.Owner != "" {
		p.set(inst, "Owner", j.Owner)
	}
	p.set(inst, "Priority", uint64(j.Priority))
	p.set(inst, "LocalOrUtcTime", uint64(2)) // UTC
	// Vendor statistics (VSMIG_MigrationJob).
	p.set(inst, "VirtualSystemName", j.VMName)
	p.set(inst, "VirtualSystemIdentifier", j.VMUUID)
	p.set(inst, "DestinationHost", j.DestinationHost)
	p.set(inst, "MigrationType", uint64(j.MigrationType))
	p.set(inst, "TransportType", uint64(j.TransportType))
	p.set(inst, "DataTotal", j.DataTotal)
	p.set(inst, "DataProcessed", j.DataProcessed)
	p.set(inst, "DataRemaining", j.DataRemaining)
	p.set(inst, "Iteration", j.Iteration)
	p.set(inst, "DirtyRate", j.DirtyRate)
	p.set(inst, "ExpectedDowntime", j.ExpectedDowntime)
	if j.State == job.Completed {
		p.set(inst, "Downtime", j.Downtime)
		p.set(inst, "TotalTime", j.TotalTime)
	}
	return inst
}

// InvokeMethod runs RequestStateChange and GetError.
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
		if j.State == job.Exception || j.ErrorCode != 0 {
			e = p.errorInstance(uint32(j.ErrorCode), j.ErrorDescription, p.jobPath(j.InstanceID))
		}
		return uint64(0), map[string]any{"Error": e}, nil
	}
	return nil, nil, cim.Errorf(cim.StatusMethodNotFound, "%s has no method %s", ClassJob, method)
}

// requestStateChange cancels a job: 4 Terminate and 5 Kill go to the
// engine (4096: the job ends Terminated/Killed soon; 0 if it already has).
// A finished job, and 2 Start, 3 Suspend, 6 Service, give 4097; a
// non-zero TimeoutPeriod 4098.
func (p *Profile) requestStateChange(ctx context.Context, j *job.Job, in map[string]any) uint32 {
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
	if j.State.Terminal() {
		return RSCInvalidTransition
	}
	kill := rs == requestKill
	verb := "terminate"
	final := job.Terminated
	if kill {
		verb, final = "kill", job.Killed
	}
	err := p.engine.Cancel(ctx, j.InstanceID, kill)
	switch {
	case err == nil:
		nj, uerr := p.store.Update(ctx, j.InstanceID, func(j *job.Job) error {
			if !j.State.Terminal() && j.State != job.ShuttingDown {
				j.State = job.ShuttingDown
				j.TimeOfLastStateChange = p.now()
				j.JobStatus = "Shutting down: " + verb + " requested"
			}
			return nil
		})
		if uerr != nil {
			p.log.WarnContext(ctx, "cannot record cancel request", "job", j.InstanceID, "err", uerr)
		}
		p.log.InfoContext(ctx, "job cancel requested", "job", j.InstanceID, "kill", kill)
		if nj != nil && nj.State.Terminal() {
			return RSCOK
		}
		return RSCStarted
	case errors.Is(err, migrate.ErrFinished):
		return RSCInvalidTransition
	case errors.Is(err, migrate.ErrNoJob):
		// The engine never had it (stored, then the daemon stopped before
		// Submit) or has forgotten it: end it here.
		p.endJob(j.InstanceID, final, 0, "Stopped on request before it ran")
		return RSCOK
	case errors.Is(err, migrate.ErrUnsupported):
		p.log.InfoContext(ctx, "job cannot be cancelled now", "job", j.InstanceID, "err", err)
		return RSCNotSupported
	case errors.Is(err, migrate.ErrBusy):
		return RSCBusy
	}
	p.log.WarnContext(ctx, "job cancel failed", "job", j.InstanceID, "err", err)
	return RSCFailed
}

// DeleteInstance removes a finished job; a job that has not ended is in
// use and cannot be deleted (StatusFailed: terminate it first).
func (jp *jobProvider) DeleteInstance(ctx context.Context, path cim.ObjectPath) error {
	p := jp.p
	j, err := p.jobAt(ctx, path)
	if err != nil {
		return err
	}
	if !j.State.Terminal() {
		return cim.Errorf(cim.StatusFailed, "job %s is in use (JobState %d); terminate it with RequestStateChange first", j.InstanceID, j.State)
	}
	if err := p.store.Delete(ctx, j.InstanceID); err != nil {
		if errors.Is(err, job.ErrNotFound) {
			return notFound(path)
		}
		return &cim.Error{Status: cim.StatusFailed, Message: "delete job " + j.InstanceID, Err: err}
	}
	p.log.InfoContext(ctx, "job deleted", "job", j.InstanceID)
	return nil
}

// ModifyInstance changes DeleteOnCompletion and TimeBeforeRemoval, the
// two writable properties of a job. Other properties may be sent (a Put
// carries the whole instance) but must keep their current values;
// ElapsedTime, which changes as it is read, is ignored.
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
	_, err = p.store.Update(ctx, j.InstanceID, func(j *job.Job) error {
		if del != nil {
			j.DeleteOnCompletion = *del
		}
		if tbr != nil {
			j.TimeBeforeRemoval = *tbr
		}
		return nil
	})
	if errors.Is(err, job.ErrNotFound) {
		return notFound(path)
	}
	if err != nil {
		return &cim.Error{Status: cim.StatusFailed, Message: "modify job " + j.InstanceID, Err: err}
	}
	return nil
}

// failJob ends a job in Exception with a DSP1081 code and a description.
func (p *Profile) failJob(id string, code uint32, desc string) {
	p.endJob(id, job.Exception, code, desc)
}

// endJob writes a terminal state (unless one is already recorded) and
// drops the job from the active index.
func (p *Profile) endJob(id string, st job.State, code uint32, desc string) {
	ctx, cancel := bg()
	defer cancel()
	now := p.now()
	j, err := p.store.Update(ctx, id, func(j *job.Job) error {
		if j.State.Terminal() {
			return nil
		}
		j.State = st
		j.TimeOfLastStateChange, j.EndTime = now, now
		j.ErrorCode = uint16(code)
		if st == job.Exception {
			j.ErrorDescription = desc
			j.JobStatus = "Failed: " + desc
		} else {
			j.JobStatus = desc
		}
		return nil
	})
	if err != nil {
		p.log.Error("cannot record end of job", "job", id, "state", st, "err", err)
		return
	}
	p.jobEnded(j)
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
