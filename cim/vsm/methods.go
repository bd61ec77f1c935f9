package vsm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
)

// Methods of CIM_VirtualSystemMigrationService.
const (
	MethodMigrateToHost   = "MigrateVirtualSystemToHost"
	MethodMigrateToSystem = "MigrateVirtualSystemToSystem"
	MethodCheckToHost     = "CheckVirtualSystemIsMigratableToHost"
	MethodCheckToSystem   = "CheckVirtualSystemIsMigratableToSystem"
)

// InvokeMethod runs the service's methods. Return codes are uint32
// values; see the package doc for what each method answers.
func (sp *serviceProvider) InvokeMethod(ctx context.Context, path cim.ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	p := sp.p
	switch {
	case strings.EqualFold(method, MethodMigrateToHost):
		return p.migrate(ctx, MethodMigrateToHost, in, false)
	case strings.EqualFold(method, MethodMigrateToSystem):
		return p.migrate(ctx, MethodMigrateToSystem, in, true)
	case strings.EqualFold(method, MethodCheckToHost):
		return p.check(ctx, MethodCheckToHost, in, false)
	case strings.EqualFold(method, MethodCheckToSystem):
		return p.check(ctx, MethodCheckToSystem, in, true)
	}
	return nil, nil, cim.Errorf(cim.StatusMethodNotFound, "%s has no method %s", ClassService, method)
}

// call is a migration request that passed the profile's own checks.
type call struct {
	method string
	vm     migrate.Domain
	req    migrate.Request
	prio   uint16
}

// prepare checks the IN parameters of the four methods and builds the
// engine request; everything but the destination check (engine.Check).
func (p *Profile) prepare(ctx context.Context, method string, in map[string]any, toSystem bool) (*call, *refusal) {
	vm, r := p.sourceSystem(ctx, in["ComputerSystem"])
	if r != nil {
		return nil, r
	}
	dest, r := p.destination(in, toSystem)
	if r != nil {
		return nil, r
	}
	if strings.EqualFold(dest, p.host) {
		return nil, refuse(RetInvalidParameter, "the destination "+dest+" is this host")
	}
	msd, r := embedded(in, "MigrationSettingData")
	if r != nil {
		return nil, r
	}
	s, r := p.parseSettingData(msd)
	if r != nil {
		return nil, r
	}
	vssd, r := embedded(in, "NewSystemSettingData")
	if r != nil {
		return nil, r
	}
	var ch changes
	if r := p.parseSystemSettingData(vssd, &ch); r != nil {
		return nil, r
	}
	rasds, r := embeddedArray(in, "NewResourceSettingData")
	if r != nil {
		return nil, r
	}
	if r := p.parseResourceSettingData(rasds, &ch); r != nil {
		return nil, r
	}
	if r := stateAllows(vm, s.Type); r != nil {
		return nil, r
	}
	if id := p.activeJob(vm.UUID); id != "" {
		return nil, refuse(RetInvalidState, fmt.Sprintf("virtual system %s is already migrating (job %s)", vm.Name, id))
	}
	return &call{
		method: method,
		vm:     vm,
		prio:   s.Priority,
		req: migrate.Request{
			Priority:  int(s.Priority),
			Submitted: p.now(),
			Plan: migrate.Plan{
				VM:           vm.UUID,
				Type:         s.Type,
				DestHost:     dest,
				Transport:    s.Transport,
				Bandwidth:    s.Bandwidth,
				NewName:      ch.NewName,
				NewMemoryKiB: ch.NewMemoryKiB,
				NewVCPUs:     ch.NewVCPUs,
			},
		},
	}, nil
}

// sourceSystem resolves the ComputerSystem parameter to a virtual system
// of this host.
func (p *Profile) sourceSystem(ctx context.Context, v any) (migrate.Domain, *refusal) {
	ref, ok := v.(cim.ObjectPath)
	if !ok {
		return migrate.Domain{}, refuse(RetInvalidParameter, "ComputerSystem must be a reference to a virtual system")
	}
	if !p.reg.IsA(ref.ClassName, ClassComputerSystem) {
		return migrate.Domain{}, refuse(RetInvalidParameter, fmt.Sprintf("ComputerSystem refers to class %q, not a CIM_ComputerSystem", ref.ClassName))
	}
	name := keyString(ref, "Name")
	if name == "" {
		return migrate.Domain{}, refuse(RetInvalidParameter, "ComputerSystem reference has no Name key")
	}
	if name == p.host {
		return migrate.Domain{}, refuse(RetInvalidParameter, "ComputerSystem refers to the host "+name+", not a virtual system")
	}
	id, err := uuid.Parse(name)
	if err != nil {
		return migrate.Domain{}, refuse(RetInvalidParameter, fmt.Sprintf("ComputerSystem Name %q is not a virtual system UUID", name))
	}
	d, err := p.engine.Driver().Domain(ctx, id.String())
	if errors.Is(err, migrate.ErrNoDomain) {
		return migrate.Domain{}, refuse(RetInvalidParameter, fmt.Sprintf("ComputerSystem refers to no virtual system on this host (Name %s)", name))
	}
	if err != nil {
		return migrate.Domain{}, &refusal{Code: codeOf(err), Reason: "cannot read virtual system " + name + ": " + err.Error(), Err: err}
	}
	return d, nil
}

// destination returns the destination host of a ToHost (DestinationHost)
// or ToSystem (DestinationSystem: a host CIM_ComputerSystem EPR whose Name
// key is the host name) call.
func (p *Profile) destination(in map[string]any, toSystem bool) (string, *refusal) {
	if !toSystem {
		s, ok := in["DestinationHost"].(string)
		if !ok && in["DestinationHost"] != nil {
			return "", refuse(RetInvalidParameter, "DestinationHost must be a string")
		}
		return checkDestHost(s)
	}
	ref, ok := in["DestinationSystem"].(cim.ObjectPath)
	if !ok {
		return "", refuse(RetInvalidParameter, "DestinationSystem must be a reference to a host system")
	}
	if !p.reg.IsA(ref.ClassName, "CIM_System") && !p.reg.IsA(ref.ClassName, ClassComputerSystem) {
		return "", refuse(RetInvalidParameter, fmt.Sprintf("DestinationSystem refers to class %q, not a CIM_System", ref.ClassName))
	}
	name := keyString(ref, "Name")
	if name == "" {
		return "", refuse(RetInvalidParameter, "DestinationSystem does not contain a valid object path: no Name key")
	}
	h, r := checkDestHost(name)
	if r != nil {
		return "", refuse(RetInvalidParameter, "DestinationSystem does not contain a valid object path: "+r.Reason)
	}
	return h, nil
}

// embedded returns an optional embedded-instance parameter.
func embedded(in map[string]any, name string) (*cim.Instance, *refusal) {
	switch v := in[name].(type) {
	case nil:
		return nil, nil
	case *cim.Instance:
		return v, nil
	}
	return nil, refuse(RetInvalidParameter, name+" must be an embedded instance")
}

// embeddedArray returns an optional array of embedded instances.
func embeddedArray(in map[string]any, name string) ([]*cim.Instance, *refusal) {
	switch v := in[name].(type) {
	case nil:
		return nil, nil
	case []*cim.Instance:
		return v, nil
	case *cim.Instance:
		return []*cim.Instance{v}, nil
	}
	return nil, refuse(RetInvalidParameter, name+" must be an array of embedded instances")
}

// stateAllows checks the VM's run state against the migration type:
// Live and Resume move a running (or paused) VM; Restart shuts a running
// VM down, or moves a shut-off one, and starts it on the destination.
func stateAllows(vm migrate.Domain, t migrate.Type) *refusal {
	ok := false
	switch t {
	case migrate.Live, migrate.Resume:
		ok = vm.State == migrate.StateRunning || vm.State == migrate.StatePaused
	case migrate.Restart:
		ok = vm.State == migrate.StateRunning || vm.State == migrate.StateShutoff
	}
	if !ok {
		return refuse(RetInvalidState, fmt.Sprintf("virtual system %s is %s; a %s migration needs it %s",
			vm.Name, stateName(vm.State), strings.ToLower(engineTypeName(t)), neededState(t)))
	}
	return nil
}

func stateName(s migrate.DomainState) string {
	switch s {
	case migrate.StateRunning:
		return "running"
	case migrate.StatePaused:
		return "paused"
	case migrate.StateShutoff:
		return "shut off"
	case migrate.StateCrashed:
		return "crashed"
	}
	return "in an unknown state"
}

func neededState(t migrate.Type) string {
	if t == migrate.Restart {
		return "running or shut off"
	}
	return "running"
}

// migrate runs MigrateVirtualSystemToHost/ToSystem: all checks, then the
// job is stored (state New) and submitted; 4096 and the Job reference.
func (p *Profile) migrate(ctx context.Context, method string, in map[string]any, toSystem bool) (any, map[string]any, error) {
	c, r := p.prepare(ctx, method, in, toSystem)
	if r != nil {
		return p.refused(ctx, method, r)
	}
	vm := c.vm.UUID
	// Claim the VM so that a concurrent call for it is refused with 5.
	p.mu.Lock()
	if p.admitting[vm] || p.active[vm] != "" {
		p.mu.Unlock()
		return p.refused(ctx, method, refuse(RetInvalidState, "virtual system "+c.vm.Name+" is already migrating"))
	}
	p.admitting[vm] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.admitting, vm)
		p.mu.Unlock()
	}()

	if err := p.engine.Check(ctx, c.req); err != nil {
		return p.refused(ctx, method, &refusal{Code: codeOf(err), Reason: err.Error(), Err: err})
	}
	j, err := p.createJob(ctx, c)
	if err != nil {
		p.log.ErrorContext(ctx, "cannot record migration job", "method", method, "vm", vm, "err", err)
		return uint64(RetFailed), nil, nil
	}
	out := map[string]any{"Job": p.jobPath(j.InstanceID)}
	if toSystem {
		// The VM keeps its UUID: on the destination's vsmigd it is the
		// CIM_ComputerSystem with this Name once the job has completed.
		out["NewComputerSystem"] = p.vmPath(vm)
	}
	if err := p.engine.Submit(ctx, c.req); err != nil {
		code := codeOf(err)
		p.log.InfoContext(ctx, "migration refused by the engine", "job", j.InstanceID, "vm", vm, "code", code, "err", err)
		p.failJob(j.InstanceID, code, "not started: "+err.Error())
		return uint64(code), out, nil
	}
	p.log.InfoContext(ctx, "migration accepted", "job", j.InstanceID, "method", method, "vm", c.vm.Name,
		"uuid", vm, "dest", c.req.Plan.DestHost, "type", engineTypeName(c.req.Plan.Type))
	return uint64(RetJobStarted), out, nil
}

// refused logs a refusal and answers its return code.
func (p *Profile) refused(ctx context.Context, method string, r *refusal) (any, map[string]any, error) {
	p.log.InfoContext(ctx, "migration refused", "method", method, "code", r.Code, "reason", r.Reason)
	return uint64(r.Code), nil, nil
}

// createJob stores the job of an accepted call, in state New, and marks
// its VM as migrating.
func (p *Profile) createJob(ctx context.Context, c *call) (*job.Job, error) {
	now := c.req.Submitted
	id := job.NewInstanceID(p.cfg.OrgID)
	c.req.JobID = id
	reqBytes, err := json.Marshal(c.req)
	if err != nil {
		return nil, fmt.Errorf("vsm: encode request: %w", err)
	}
	owner := ""
	if p.cfg.OwnerOf != nil {
		owner = p.cfg.OwnerOf(ctx)
	}
	j := &job.Job{
		InstanceID:            id,
		Name:                  fmt.Sprintf("Migrate %s to %s", c.vm.Name, c.req.Plan.DestHost),
		Owner:                 owner,
		State:                 job.New,
		JobStatus:             "Queued",
		TimeSubmitted:         now,
		TimeOfLastStateChange: now,
		DeleteOnCompletion:    !p.cfg.KeepJobs,
		TimeBeforeRemoval:     p.cfg.TimeBeforeRemoval,
		Method:                c.method,
		VMUUID:                c.vm.UUID,
		VMName:                c.vm.Name,
		DestinationHost:       c.req.Plan.DestHost,
		MigrationType:         uint16(c.req.Plan.Type),
		TransportType:         uint16(c.req.Plan.Transport),
		Priority:              c.prio,
		Request:               reqBytes,
	}
	if err := p.store.Create(ctx, j); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.active[j.VMUUID] = id
	p.mu.Unlock()
	return j, nil
}

// check runs CheckVirtualSystemIsMigratableToHost/ToSystem: the checks of
// migrate, without a job. See the package doc for the answers.
func (p *Profile) check(ctx context.Context, method string, in map[string]any, toSystem bool) (any, map[string]any, error) {
	c, r := p.prepare(ctx, method, in, toSystem)
	if r == nil {
		if err := p.engine.Check(ctx, c.req); err != nil {
			r = &refusal{Code: codeOf(err), Reason: err.Error(), Err: err}
		}
	}
	if r == nil {
		p.mu.Lock()
		delete(p.lastCheck, c.vm.UUID)
		p.mu.Unlock()
		p.log.InfoContext(ctx, "migration check passed", "method", method, "vm", c.vm.Name, "dest", c.req.Plan.DestHost)
		return uint64(RetOK), map[string]any{"IsMigratable": true}, nil
	}
	switch r.Code {
	case RetInvalidParameter, RetFailed, RetTimeout:
		// The question could not be asked: no IsMigratable (DSP1081).
		p.log.InfoContext(ctx, "migration check refused", "method", method, "code", r.Code, "reason", r.Reason)
		return uint64(r.Code), nil, nil
	}
	p.log.InfoContext(ctx, "migration check failed", "method", method, "code", r.Code, "reason", r.Reason)
	src := cim.ObjectPath{}
	if c != nil {
		src = p.vmPath(c.vm.UUID)
	} else if ref, ok := in["ComputerSystem"].(cim.ObjectPath); ok {
		src = ref
	}
	e := p.errorInstance(r.Code, r.Reason, src)
	if vm := keyString(src, "Name"); vm != "" {
		p.mu.Lock()
		p.lastCheck[strings.ToLower(vm)] = e
		p.mu.Unlock()
	}
	out := map[string]any{"IsMigratable": false}
	if cls, ok := p.reg.Class(ClassService); ok {
		if m := cls.Method(method); m != nil {
			if prm := m.Param("Error"); prm != nil && prm.Out {
				out[prm.Name] = e
			}
		}
	}
	return uint64(RetOK), out, nil
}
