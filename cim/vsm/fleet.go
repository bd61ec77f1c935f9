package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// This file is the profile in a cluster (Config.Fleet): the service is a
// VSMIG_VirtualSystemMigrationService with the vendor methods
// VSMIG_DrainHost and VSMIG_PlaceVirtualSystem, the cluster's other hosts
// are CIM_ComputerSystem hosts too (OtherIdentifyingInfo holds each one's
// WS-Management URL), the migrations other hosts run to this one are
// listed with its jobs, and the drains of this host are VSMIG_DrainJob
// instances (drain.go). Without a Fleet nothing here is served.

// Classes of the cluster.
const (
	ClassFleetService       = "VSMIG_VirtualSystemMigrationService"
	ClassDrainJob           = "VSMIG_DrainJob"
	ClassConcreteComponent  = "CIM_ConcreteComponent"
	MethodDrainHost         = "VSMIG_DrainHost"
	MethodPlaceVirtualSytem = "VSMIG_PlaceVirtualSystem"
)

// Fleet is the cluster the host belongs to, as the profile reads it
// (*fleet.Fleet of migrate/fleet).
type Fleet interface {
	Available() (bool, string)
	Members() []migrate.Member
	// Jobs are the cluster's unfinished jobs from or to host.
	Jobs(host string) []migrate.ClusterJobState
	Place(ctx context.Context, uuid string) (migrate.Placement, error)
	Plan(ctx context.Context) ([]migrate.Placement, error)
	StartDrain(ctx context.Context, req migrate.DrainRequest) (*migrate.DrainRecord, error)
	CancelDrain(ctx context.Context, id string) error
	Drain(id string) (*migrate.DrainRecord, bool)
	Drains() []*migrate.DrainRecord
	// DrainsChanged returns a channel closed at the next change of a
	// drain's record (the indications of VSMIG_DrainJob follow it).
	DrainsChanged() <-chan struct{}
	DeleteDrain(ctx context.Context, id string) error
	Percent(ctx context.Context, rec *migrate.DrainRecord) int
}

var fleetClasses = []string{ClassFleetService, ClassDrainJob, ClassConcreteComponent}

// serviceClass is the class of the migration service: the vendor
// subclass in a cluster, DSP1081's otherwise.
func (p *Profile) serviceClass() string {
	if p.cfg.Fleet != nil {
		return ClassFleetService
	}
	return ClassService
}

// peerHosts are the CIM_ComputerSystem hosts of the cluster's other
// members.
func (p *Profile) peerHosts() []*cim.Instance {
	if p.cfg.Fleet == nil {
		return nil
	}
	var out []*cim.Instance
	for _, m := range p.cfg.Fleet.Members() {
		if m.Name == p.host {
			continue
		}
		out = append(out, p.memberInstance(m))
	}
	return out
}

// peerHost is the member named name, if it is one.
func (p *Profile) peerHost(name string) (*cim.Instance, bool) {
	if p.cfg.Fleet == nil {
		return nil, false
	}
	for _, m := range p.cfg.Fleet.Members() {
		if m.Name == name && m.Name != p.host {
			return p.memberInstance(m), true
		}
	}
	return nil, false
}

// memberInstance is a member of the cluster as a host CIM_ComputerSystem.
func (p *Profile) memberInstance(m migrate.Member) *cim.Instance {
	inst := p.newInstance(ClassComputerSystem, p.cfg.Namespace)
	p.set(inst, "CreationClassName", ClassComputerSystem)
	p.set(inst, "Name", m.Name)
	p.set(inst, "ElementName", m.Name)
	p.set(inst, "Caption", "Virtualization host")
	p.set(inst, "Description", fmt.Sprintf("A host of the cluster: %d CPUs (%s), %d MiB of memory, %d MiB free; vsmigd %s",
		m.CPUs, m.CPUModel, m.MemoryKiB/1024, m.FreeKiB/1024, m.Version))
	p.set(inst, "NameFormat", "Other")
	p.set(inst, "Dedicated", []uint64{0})
	p.set(inst, "OtherIdentifyingInfo", []string{m.Endpoint})
	p.set(inst, "IdentifyingDescriptions", []string{"WS-Management endpoint"})
	p.set(inst, "EnabledState", uint64(enabledEnabled))
	p.set(inst, "RequestedState", uint64(12))
	if m.Healthy() {
		p.set(inst, "OperationalStatus", []uint64{2})
		p.set(inst, "HealthState", uint64(5))
	} else {
		p.set(inst, "OperationalStatus", []uint64{3}) // Degraded
		p.set(inst, "HealthState", uint64(15))        // Minor failure
		p.set(inst, "StatusDescriptions", []string{m.Health})
	}
	p.set(inst, "OperatingStatus", uint64(operatingInService))
	if m.Draining {
		p.set(inst, "OperatingStatus", uint64(operatingEmigrating))
	}
	return inst
}

// incomingJobs are the migrations other hosts run to this one, as jobs
// of the class VSMIG_MigrationJob with the source's InstanceID. They are
// read-only here: the source's endpoint controls them.
func (p *Profile) incomingJobs() []*cim.Instance {
	if p.cfg.Fleet == nil {
		return nil
	}
	var out []*cim.Instance
	for _, cj := range p.cfg.Fleet.Jobs(p.host) {
		if cj.Dest != p.host || cj.Source == p.host {
			continue
		}
		name := fmt.Sprintf("Migrate %s to %s", cj.VMName, cj.Dest)
		inst := p.newInstance(ClassJob, p.cfg.Namespace)
		p.set(inst, "InstanceID", cj.ID)
		p.set(inst, "Name", name)
		p.set(inst, "ElementName", name)
		p.set(inst, "Caption", "Virtual system migration job")
		p.set(inst, "Description", fmt.Sprintf("Incoming: run by host %s, whose endpoint controls it", cj.Source))
		state := uint64(jobNew)
		if cj.Running {
			state = jobRunning
		}
		p.set(inst, "JobState", state)
		p.set(inst, "OperationalStatus", operationalStatus(state))
		p.set(inst, "JobStatus", "Incoming from "+cj.Source)
		p.set(inst, "VirtualSystemName", cj.VMName)
		p.set(inst, "VirtualSystemIdentifier", cj.VM)
		p.set(inst, "DestinationHost", cj.Dest)
		out = append(out, inst)
	}
	return out
}

// fleetMethod runs the vendor methods; ok is false for other methods.
func (p *Profile) fleetMethod(ctx context.Context, method string, in map[string]any) (ret any, out map[string]any, ok bool) {
	switch {
	case strings.EqualFold(method, MethodDrainHost):
		ret, out = p.drainHost(ctx, in)
	case strings.EqualFold(method, MethodPlaceVirtualSytem):
		ret, out = p.placeVM(ctx, in)
	default:
		return nil, nil, false
	}
	return ret, out, true
}

// fleetRefused answers a vendor method's refusal with its code and a
// CIM_Error.
func (p *Profile) fleetRefused(ctx context.Context, method string, r *refusal, out map[string]any) (any, map[string]any) {
	p.rate.info(ctx, "cluster request refused", method, r.Code, "reason", r.Reason)
	if out == nil {
		out = map[string]any{}
	}
	out["Error"] = p.errorInstance(r.Code, r.Reason, cim.ObjectPath{})
	return uint64(r.Code), out
}

// drainHost runs VSMIG_DrainHost.
func (p *Profile) drainHost(ctx context.Context, in map[string]any) (any, map[string]any) {
	f := p.cfg.Fleet
	if name, _ := in["HostName"].(string); name != "" && !strings.EqualFold(name, p.host) {
		why := fmt.Sprintf("this endpoint drains its own host %s, not %s", p.host, name)
		for _, m := range f.Members() {
			if strings.EqualFold(m.Name, name) {
				why += "; invoke " + MethodDrainHost + " at " + m.Endpoint
			}
		}
		return p.fleetRefused(ctx, MethodDrainHost, refuse(RetInvalidParameter, why), nil)
	}
	dry, _ := in["DryRun"].(bool)
	if dry {
		plan, err := f.Plan(ctx)
		if err != nil {
			return p.fleetRefused(ctx, MethodDrainHost, refusalOf(err), nil)
		}
		out := planArrays(plan)
		p.log.InfoContext(ctx, "drain planned (dry run)", "host", p.host, "vms", len(plan))
		return uint64(RetOK), out
	}
	owner := ""
	if p.cfg.OwnerOf != nil {
		owner = p.cfg.OwnerOf(ctx)
	}
	rec, err := f.StartDrain(ctx, migrate.DrainRequest{
		ID: p.cfg.OrgID + ":Drain:" + uuid.NewString(), Owner: owner,
		Meta: migrate.Meta{Owner: owner, DeleteOnCompletion: !p.cfg.KeepJobs, TimeBeforeRemoval: p.cfg.TimeBeforeRemoval},
	})
	if err != nil {
		return p.fleetRefused(ctx, MethodDrainHost, refusalOf(err), nil)
	}
	var plan []migrate.Placement
	for _, v := range rec.VMs {
		plan = append(plan, migrate.Placement{VM: v.VM, VMName: v.Name, Dest: v.Dest, Reason: v.Reason})
	}
	out := planArrays(plan)
	out["Job"] = p.instanceIDPath(p.cfg.Namespace, ClassDrainJob, rec.ID)
	p.log.InfoContext(ctx, "drain accepted", "job", rec.ID, "host", p.host, "vms", len(rec.VMs))
	return uint64(RetJobStarted), out
}

// planArrays is a plan as the method's indexed OUT arrays.
func planArrays(plan []migrate.Placement) map[string]any {
	vms, names, dests, reasons := []string{}, []string{}, []string{}, []string{}
	for _, pl := range plan {
		vms, names = append(vms, pl.VM), append(names, pl.VMName)
		dests, reasons = append(dests, pl.Dest), append(reasons, pl.Reason)
	}
	return map[string]any{"VirtualSystems": vms, "VirtualSystemNames": names, "Destinations": dests, "Reasons": reasons}
}

// placeVM runs VSMIG_PlaceVirtualSystem.
func (p *Profile) placeVM(ctx context.Context, in map[string]any) (any, map[string]any) {
	vm, r := p.sourceSystem(in["ComputerSystem"])
	if r != nil {
		return p.fleetRefused(ctx, MethodPlaceVirtualSytem, r, nil)
	}
	pl, err := p.cfg.Fleet.Place(ctx, vm)
	if errors.Is(err, migrate.ErrNoDomain) {
		err = &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: "no virtual machine " + vm + " on this host"}
	}
	if err != nil {
		return p.fleetRefused(ctx, MethodPlaceVirtualSytem, refusalOf(err), nil)
	}
	hosts, reasons := []string{}, []string{}
	for _, c := range pl.Candidates {
		hosts, reasons = append(hosts, c.Host), append(reasons, c.Reason)
	}
	out := map[string]any{"CandidateHosts": hosts, "CandidateReasons": reasons}
	if pl.Dest == "" {
		return p.fleetRefused(ctx, MethodPlaceVirtualSytem, refuse(RetInvalidState, pl.VMName+": "+pl.Reason), out)
	}
	out["DestinationHost"] = pl.Dest
	return uint64(RetOK), out
}
