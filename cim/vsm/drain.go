package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// drainProvider serves VSMIG_DrainJob: the drains of this host, with
// RequestStateChange (4 Terminate, 5 Kill: both stop the drain starting
// migrations), GetError and DeleteInstance of an ended drain.
type drainProvider struct{ p *Profile }

func (dp *drainProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: dp.p.cfg.Namespace, Class: ClassDrainJob}}
}

func (dp *drainProvider) drainAt(path cim.ObjectPath) (*migrate.DrainRecord, error) {
	id := keyString(path, "InstanceID")
	rec, ok := dp.p.cfg.Fleet.Drain(id)
	if !ok || rec.Host != dp.p.host {
		return nil, notFound(path)
	}
	return rec, nil
}

func (dp *drainProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	rec, err := dp.drainAt(path)
	if err != nil {
		return nil, err
	}
	return dp.p.drainInstance(ctx, rec), nil
}

func (dp *drainProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	var out []*cim.Instance
	for _, rec := range dp.p.cfg.Fleet.Drains() {
		out = append(out, dp.p.drainInstance(ctx, rec))
	}
	return out, nil
}

// drainState is the CIM JobState of a drain.
func drainState(s migrate.DrainState) uint64 {
	switch s {
	case migrate.DrainRunning:
		return jobRunning
	case migrate.DrainStopping:
		return jobShuttingDown
	case migrate.DrainCompleted:
		return jobCompleted
	case migrate.DrainCancelled:
		return jobTerminated
	}
	return jobException
}

// drainError says which VMs cannot move; "" if none.
func drainError(rec *migrate.DrainRecord) string {
	var parts []string
	for _, v := range rec.VMs {
		if v.State == migrate.VMStays {
			parts = append(parts, v.Name+": "+v.Reason)
		}
	}
	if rec.Error != "" {
		parts = append(parts, rec.Error)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d virtual systems cannot move: %s", len(parts), len(rec.VMs), strings.Join(parts, "; "))
}

func (p *Profile) drainInstance(ctx context.Context, rec *migrate.DrainRecord) *cim.Instance {
	name := "Drain host " + rec.Host
	state := drainState(rec.State)
	inst := p.newInstance(ClassDrainJob, p.cfg.Namespace)
	p.set(inst, "InstanceID", rec.ID)
	p.set(inst, "Name", name)
	p.set(inst, "ElementName", name)
	p.set(inst, "Caption", "Host drain job")
	p.set(inst, "Description", fmt.Sprintf("Moves the %d virtual systems of host %s to other hosts of the cluster", len(rec.VMs), rec.Host))
	p.set(inst, "JobState", state)
	p.set(inst, "OperationalStatus", operationalStatus(state))
	p.set(inst, "JobStatus", rec.Status)
	p.set(inst, "PercentComplete", uint64(p.cfg.Fleet.Percent(ctx, rec)))
	p.set(inst, "TimeSubmitted", rec.Submitted.UTC())
	p.set(inst, "StartTime", rec.Submitted.UTC())
	end := rec.Ended
	if end.IsZero() {
		end = p.now()
	}
	p.set(inst, "ElapsedTime", cim.IntervalOf(max(end.Sub(rec.Submitted), 0)))
	p.set(inst, "TimeOfLastStateChange", rec.Changed.UTC())
	if e := drainError(rec); e != "" && rec.State.Terminal() {
		p.set(inst, "ErrorCode", uint64(RetFailed))
		p.set(inst, "ErrorDescription", e)
	} else {
		p.set(inst, "ErrorCode", uint64(0))
	}
	p.set(inst, "DeleteOnCompletion", false)
	p.set(inst, "TimeBeforeRemoval", cim.IntervalOf(p.cfg.TimeBeforeRemoval))
	if rec.Owner != "" {
		p.set(inst, "Owner", rec.Owner)
	}
	p.set(inst, "LocalOrUtcTime", uint64(2))
	p.set(inst, "HostName", rec.Host)
	var vms, names, dests, states, reasons, jobs []string
	for _, v := range rec.VMs {
		vms, names, dests = append(vms, v.VM), append(names, v.Name), append(dests, v.Dest)
		states, reasons, jobs = append(states, v.State.String()), append(reasons, v.Reason), append(jobs, v.JobID)
	}
	p.set(inst, "VirtualSystems", vms)
	p.set(inst, "VirtualSystemNames", names)
	p.set(inst, "Destinations", dests)
	p.set(inst, "VirtualSystemStates", states)
	p.set(inst, "Reasons", reasons)
	p.set(inst, "MigrationJobs", jobs)
	return inst
}

// InvokeMethod runs RequestStateChange and GetError of a drain.
func (dp *drainProvider) InvokeMethod(ctx context.Context, path cim.ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	p := dp.p
	rec, err := dp.drainAt(path)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case strings.EqualFold(method, MethodRequestStateChange):
		rs, ok := in["RequestedState"].(uint64)
		switch {
		case !ok:
			return uint64(RSCInvalidParameter), nil, nil
		case rs == requestStart || rs == requestSuspend || rs == requestService:
			return uint64(RSCInvalidTransition), nil, nil
		case rs != requestTerminate && rs != requestKill:
			return uint64(RSCInvalidParameter), nil, nil
		}
		err := p.cfg.Fleet.CancelDrain(ctx, rec.ID)
		switch {
		case err == nil:
			p.log.InfoContext(ctx, "drain cancel requested", "job", rec.ID)
			return uint64(RSCStarted), nil, nil
		case errors.Is(err, migrate.ErrFinished):
			return uint64(RSCInvalidTransition), nil, nil
		}
		p.log.InfoContext(ctx, "drain cancel refused", "job", rec.ID, "err", err)
		return uint64(RSCFailed), nil, nil
	case strings.EqualFold(method, MethodGetError):
		var e any
		if msg := drainError(rec); msg != "" && rec.State.Terminal() {
			e = p.errorInstance(RetFailed, msg, p.instanceIDPath(p.cfg.Namespace, ClassDrainJob, rec.ID))
		}
		return uint64(0), map[string]any{"Error": e}, nil
	}
	return nil, nil, cim.Errorf(cim.StatusMethodNotFound, "%s has no method %s", ClassDrainJob, method)
}

// DeleteInstance removes an ended drain's record.
func (dp *drainProvider) DeleteInstance(ctx context.Context, path cim.ObjectPath) error {
	rec, err := dp.drainAt(path)
	if err != nil {
		return err
	}
	switch err := dp.p.cfg.Fleet.DeleteDrain(ctx, rec.ID); {
	case errors.Is(err, migrate.ErrUnfinished):
		return cim.Errorf(cim.StatusFailed, "drain %s has not ended; terminate it with RequestStateChange first", rec.ID)
	case err != nil:
		return &cim.Error{Status: cim.StatusFailed, Message: "delete drain " + rec.ID, Err: err}
	}
	return nil
}

// componentProvider serves CIM_ConcreteComponent between each drain job
// (GroupComponent) and the migration jobs it started (PartComponent).
// DSP1103's job hierarchies: CIM_OwningJobElement cannot say it, since a
// job has at most one owning element (Max(1)), and the migration jobs'
// is the service.
type componentProvider struct{ p *Profile }

func (cp *componentProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: cp.p.cfg.Namespace, Class: ClassConcreteComponent}}
}

func (cp *componentProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	insts, _ := cp.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	return findByPath(insts, path)
}

func (cp *componentProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := cp.p
	var out []*cim.Instance
	for _, rec := range p.cfg.Fleet.Drains() {
		parent := p.instanceIDPath(p.cfg.Namespace, ClassDrainJob, rec.ID)
		for _, id := range rec.Jobs {
			inst := p.newInstance(ClassConcreteComponent, p.cfg.Namespace)
			p.set(inst, "GroupComponent", parent)
			p.set(inst, "PartComponent", p.jobPath(id))
			out = append(out, inst)
		}
	}
	return out, nil
}

// drainOwnings are the CIM_OwningJobElement instances of the drain jobs:
// the service owns them, as it owns the migration jobs.
func (p *Profile) drainOwnings() []*cim.Instance {
	if p.cfg.Fleet == nil {
		return nil
	}
	var out []*cim.Instance
	for _, rec := range p.cfg.Fleet.Drains() {
		inst := p.newInstance(ClassOwningJobElement, p.cfg.Namespace)
		p.set(inst, "OwningElement", p.servicePath())
		p.set(inst, "OwnedElement", p.instanceIDPath(p.cfg.Namespace, ClassDrainJob, rec.ID))
		out = append(out, inst)
	}
	return out
}
