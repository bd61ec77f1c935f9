package vsm

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
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
	if p.cfg.Fleet != nil {
		if ret, out, ok := p.fleetMethod(ctx, method, in); ok {
			return ret, out, nil
		}
	}
	return nil, nil, cim.Errorf(cim.StatusMethodNotFound, "%s has no method %s", ClassService, method)
}

// RefuseArgs answers the arguments the Broker found formally invalid (a
// parameter of the wrong type, an embedded instance that does not parse):
// rc, 4, and for the Migrate methods the reason in their OUT Error, as for
// any refusal; the Check methods answer rc alone (no IsMigratable, as
// DSP1081 says).
func (sp *serviceProvider) RefuseArgs(ctx context.Context, path cim.ObjectPath, method string, rc any, problems string) (any, map[string]any, error) {
	out := map[string]any{}
	if strings.EqualFold(method, MethodMigrateToHost) || strings.EqualFold(method, MethodMigrateToSystem) {
		code, _ := rc.(uint64)
		sp.p.setError(method, out, sp.p.errorInstance(uint32(code), problems, cim.ObjectPath{}))
	}
	return rc, out, nil
}

// call is a migration request whose CIM form is right: what the engine is
// to be asked.
type call struct {
	method string
	req    migrate.Request
}

// prepare reads the IN parameters of the four methods into an engine
// request, checking their CIM form only: the references and embedded
// instances of the right classes, the value maps, the units. Whether the
// VM exists, may move in its state, to a destination that is not this
// host and that can take it, is the engine's to say (migrate.Engine.Check
// and Submit apply every rule once).
func (p *Profile) prepare(ctx context.Context, method string, in map[string]any, toSystem bool) (*call, *refusal) {
	vm, r := p.sourceSystem(in["ComputerSystem"])
	if r != nil {
		return nil, r
	}
	dest, r := p.destination(in, toSystem)
	if r != nil {
		return nil, r
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
	owner := ""
	if p.cfg.OwnerOf != nil {
		owner = p.cfg.OwnerOf(ctx)
	}
	return &call{
		method: method,
		req: migrate.Request{
			Priority:  int(s.Priority),
			Submitted: p.now(),
			Plan: migrate.Plan{
				VM:           vm,
				Type:         s.Type,
				DestHost:     dest,
				Transport:    s.Transport,
				Bandwidth:    s.Bandwidth,
				NewName:      ch.NewName,
				NewMemoryKiB: ch.NewMemoryKiB,
				NewVCPUs:     ch.NewVCPUs,
				Storage: migrate.Storage{
					Copy:         s.Copy,
					Relocate:     ch.Relocate,
					RemoveSource: s.RemoveSource,
				},
			},
			Meta: migrate.Meta{
				Owner:              owner,
				Method:             method,
				DeleteOnCompletion: !p.cfg.KeepJobs,
				TimeBeforeRemoval:  p.cfg.TimeBeforeRemoval,
			},
		},
	}, nil
}

// sourceSystem reads the ComputerSystem parameter: a reference to a
// CIM_ComputerSystem other than the host, whose Name is the VM's UUID.
func (p *Profile) sourceSystem(v any) (string, *refusal) {
	ref, ok := v.(cim.ObjectPath)
	if !ok {
		return "", refuse(RetInvalidParameter, "ComputerSystem must be a reference to a virtual system")
	}
	if !p.reg.IsA(ref.ClassName, ClassComputerSystem) {
		return "", refuse(RetInvalidParameter, fmt.Sprintf("ComputerSystem refers to class %q, not a CIM_ComputerSystem", ref.ClassName))
	}
	name := keyString(ref, "Name")
	if name == "" {
		return "", refuse(RetInvalidParameter, "ComputerSystem reference has no Name key")
	}
	if name == p.host {
		return "", refuse(RetInvalidParameter, "ComputerSystem refers to the host "+name+", not a virtual system")
	}
	if u, err := uuid.Parse(name); err == nil {
		name = u.String() // the engine's spelling, for paths and LastCheck
	}
	return name, nil
}

// destination returns the destination host of a ToHost (DestinationHost)
// or ToSystem (DestinationSystem: a host CIM_ComputerSystem EPR whose Name
// key is the host name) call, as given; its grammar is the engine's
// (migrate.NormalizeHost).
func (p *Profile) destination(in map[string]any, toSystem bool) (string, *refusal) {
	if !toSystem {
		s, ok := in["DestinationHost"].(string)
		if !ok && in["DestinationHost"] != nil {
			return "", refuse(RetInvalidParameter, "DestinationHost must be a string")
		}
		if s == "" {
			return "", refuse(RetInvalidParameter, "DestinationHost is missing")
		}
		return s, nil
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
	return name, nil
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

// migrate runs MigrateVirtualSystemToHost/ToSystem: the CIM form, then
// the engine's Submit, which applies every rule and records the job
// (state New) before it answers; 4096 and the Job reference.
func (p *Profile) migrate(ctx context.Context, method string, in map[string]any, toSystem bool) (any, map[string]any, error) {
	c, r := p.prepare(ctx, method, in, toSystem)
	if r != nil {
		return p.refused(ctx, method, in, r)
	}
	c.req.JobID = p.cfg.OrgID + ":" + uuid.NewString()
	j, err := p.engine.Submit(ctx, c.req)
	if err != nil {
		return p.refused(ctx, method, in, refusalOf(err))
	}
	out := map[string]any{"Job": p.jobPath(j.ID)}
	if toSystem {
		// The VM keeps its UUID: on the destination's vsmigd it is the
		// CIM_ComputerSystem with this Name once the job has completed.
		out["NewComputerSystem"] = p.vmPath(j.Plan.VM)
	}
	p.log.InfoContext(ctx, "migration accepted", "job", j.ID, "method", method, "vm", j.VMName,
		"uuid", j.Plan.VM, "dest", j.Plan.DestHost, "type", engineTypeName(j.Plan.Type))
	return uint64(RetJobStarted), out, nil
}

// refused logs a refusal of a Migrate method and answers its return code
// and, in the OUT Error the schema declares (a vsmig extension), why.
func (p *Profile) refused(ctx context.Context, method string, in map[string]any, r *refusal) (any, map[string]any, error) {
	p.rate.info(ctx, "migration refused", method, r.Code, "reason", r.Reason)
	out := map[string]any{}
	p.setError(method, out, p.errorInstance(r.Code, r.Reason, sourceOf(in)))
	return uint64(r.Code), out, nil
}

// sourceOf is the ComputerSystem reference of a call, for a CIM_Error's
// ErrorSource; the zero path if there is none.
func sourceOf(in map[string]any) cim.ObjectPath {
	ref, _ := in["ComputerSystem"].(cim.ObjectPath)
	if u, err := uuid.Parse(keyString(ref, "Name")); err == nil {
		for i, k := range ref.Keys {
			if strings.EqualFold(k.Name, "Name") {
				ref.Keys = append([]cim.KeyBinding(nil), ref.Keys...)
				ref.Keys[i].Value = u.String()
			}
		}
	}
	return ref
}

// setError puts e in out as the OUT parameter Error, if method declares
// one (vsmig's schema does, for all four methods; a trimmed schema may
// not).
func (p *Profile) setError(method string, out map[string]any, e *cim.Instance) {
	if cls, ok := p.reg.Class(ClassService); ok {
		if m := cls.Method(method); m != nil {
			if prm := m.Param("Error"); prm != nil && prm.Out {
				out[prm.Name] = e
			}
		}
	}
}

// check runs CheckVirtualSystemIsMigratableToHost/ToSystem: the CIM form,
// then the engine's Check (Submit's rules, without a job). See the
// package doc for the answers.
func (p *Profile) check(ctx context.Context, method string, in map[string]any, toSystem bool) (any, map[string]any, error) {
	c, r := p.prepare(ctx, method, in, toSystem)
	var found migrate.Assessment
	if r == nil {
		var err error
		if found, err = p.engine.Check(ctx, c.req); err != nil {
			r = refusalOf(err)
		}
	}
	if r == nil {
		p.mu.Lock()
		delete(p.lastCheck, strings.ToLower(c.req.Plan.VM))
		p.mu.Unlock()
		p.rate.info(ctx, "migration check passed", method, RetOK, "vm", c.req.Plan.VM, "dest", c.req.Plan.DestHost)
		out := map[string]any{"IsMigratable": true}
		if len(found.Disks) > 0 {
			plan := make([]string, len(found.Disks))
			for i, d := range found.Disks {
				plan[i] = d.String()
			}
			out["StoragePlan"] = plan
		}
		return uint64(RetOK), out, nil
	}
	switch r.Code {
	case RetInvalidParameter, RetFailed, RetTimeout:
		// The question could not be asked: no IsMigratable (DSP1081).
		p.rate.info(ctx, "migration check refused", method, r.Code, "reason", r.Reason)
		return uint64(r.Code), nil, nil
	}
	p.rate.info(ctx, "migration check failed", method, r.Code, "reason", r.Reason)
	src := cim.ObjectPath{}
	if c != nil {
		src = p.vmPath(c.req.Plan.VM)
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
	p.setError(method, out, e)
	return uint64(RetOK), out, nil
}
