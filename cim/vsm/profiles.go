package vsm

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// This file is DSP1081's scoping profile, DMTF's System Virtualization
// profile (DSP1042), and the Virtual System profile (DSP1057) it
// references, at their minimum: what lets a tool that discovers virtual
// systems through the standard profiles find them here.
//
//   - root/interop: the CIM_RegisteredProfile of DSP1042 (1.0.0) and of
//     DSP1057 (1.0.0) beside DSP1081's; CIM_ReferencedProfile from DSP1042
//     (Dependent, the scoping profile) to DSP1081 and to DSP1057
//     (Antecedent); CIM_ElementConformsToProfile from the host
//     CIM_ComputerSystem to DSP1042 (its central instance) and from each
//     virtual system to DSP1057.
//   - root/virtualization: for each virtual system, a
//     CIM_VirtualSystemSettingData (its configuration as the hypervisor
//     defines it), linked to it by CIM_SettingsDefineState (the settings
//     that represent its state) and CIM_ElementSettingData (IsDefault,
//     IsNext: 1 when the definition is persistent; IsCurrent: 1 while it
//     runs or is paused); CIM_HostedDependency from the host (Antecedent)
//     to each virtual system (Dependent).
//
// Left out: the resource allocations of a virtual system
// (CIM_ResourceAllocationSettingData per device, DSP1057's
// CIM_VirtualSystemSettingDataComponent), the host's resource pools and
// the virtual system management service and capabilities of DSP1042
// (CIM_VirtualSystemManagementService: define, modify, destroy virtual
// systems), and CIM_EnabledLogicalElementCapabilities with
// RequestStateChange of a virtual system (vsmig starts and stops none).

// Class names of the scoping profiles.
const (
	ClassSettingsDefineState = "CIM_SettingsDefineState"
	ClassElementSettingData  = "CIM_ElementSettingData"
	ClassHostedDependency    = "CIM_HostedDependency"
	ClassReferencedProfile   = "CIM_ReferencedProfile"
)

// scopingClasses are served when the registry has them all (a trimmed
// schema without them serves DSP1081 alone).
var scopingClasses = []string{ClassSystemSettingData, ClassSettingsDefineState, ClassElementSettingData,
	ClassHostedDependency, ClassReferencedProfile}

// registration is one registered profile.
type registration struct {
	local, name, version string
}

// The profiles vsmig registers: DSP1081, and its scoping profiles.
var (
	profileDSP1081 = registration{"DSP1081", "Virtual System Migration", "1.0.0"}
	profileDSP1042 = registration{"DSP1042", "System Virtualization", "1.0.0"}
	profileDSP1057 = registration{"DSP1057", "Virtual System", "1.0.0"}
)

// hasScoping reports whether the registry has the scoping profiles'
// classes.
func (p *Profile) hasScoping() bool {
	for _, c := range scopingClasses {
		if _, ok := p.reg.Class(c); !ok {
			return false
		}
	}
	return true
}

// registrations are the profiles registered in root/interop.
func (p *Profile) registrations() []registration {
	if !p.scoping {
		return []registration{profileDSP1081}
	}
	return []registration{profileDSP1081, profileDSP1042, profileDSP1057}
}

func (p *Profile) registrationID(r registration) string { return p.cfg.OrgID + ":" + r.local }

func (p *Profile) registrationPath(r registration) cim.ObjectPath {
	return p.instanceIDPath(p.cfg.InteropNamespace, ClassProfile, p.registrationID(r))
}

// conformance lists the CIM_ElementConformsToProfile instances: the
// service to DSP1081, and with the scoping profiles the host to DSP1042
// and each virtual system to DSP1057.
func (p *Profile) conformance(ctx context.Context) ([]*cim.Instance, error) {
	ectp := func(r registration, me cim.ObjectPath) *cim.Instance {
		inst := p.newInstance(ClassConformsToProfile, p.cfg.InteropNamespace)
		p.set(inst, "ConformantStandard", p.registrationPath(r))
		p.set(inst, "ManagedElement", me)
		return inst
	}
	out := []*cim.Instance{ectp(profileDSP1081, p.servicePath())}
	if !p.scoping {
		return out, nil
	}
	out = append(out, ectp(profileDSP1042, p.hostPath()))
	doms, err := p.engine.Domains(ctx)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "list virtual systems", Err: err}
	}
	for _, d := range doms {
		out = append(out, ectp(profileDSP1057, p.vmPath(d.UUID)))
	}
	return out, nil
}

// referencedProfileProvider serves CIM_ReferencedProfile in root/interop.
type referencedProfileProvider struct{ p *Profile }

func (rp *referencedProfileProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: rp.p.cfg.InteropNamespace, Class: ClassReferencedProfile}}
}

func (rp *referencedProfileProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	insts, _ := rp.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	return findByPath(insts, path)
}

// EnumerateInstances: DSP1042 references DSP1081 (the profile it scopes)
// and DSP1057 (the virtual systems it hosts).
func (rp *referencedProfileProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := rp.p
	var out []*cim.Instance
	for _, r := range []registration{profileDSP1081, profileDSP1057} {
		inst := p.newInstance(ClassReferencedProfile, p.cfg.InteropNamespace)
		p.set(inst, "Antecedent", p.registrationPath(r))
		p.set(inst, "Dependent", p.registrationPath(profileDSP1042))
		out = append(out, inst)
	}
	return out, nil
}

// virtualSystemProvider serves, in the profile's namespace, the virtual
// systems' CIM_VirtualSystemSettingData and the associations DSP1042 and
// DSP1057 ask for.
type virtualSystemProvider struct{ p *Profile }

func (vp *virtualSystemProvider) Classes() []cim.ClassRef {
	ns := vp.p.cfg.Namespace
	var refs []cim.ClassRef
	for _, c := range []string{ClassSystemSettingData, ClassSettingsDefineState, ClassElementSettingData, ClassHostedDependency} {
		refs = append(refs, cim.ClassRef{Namespace: ns, Class: c})
	}
	return refs
}

func (vp *virtualSystemProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	p := vp.p
	if equalClass(path.ClassName, ClassSystemSettingData) {
		// One VM read, not the inventory.
		id, ok := strings.CutPrefix(keyString(path, "InstanceID"), p.vssdPrefix())
		u, err := uuid.Parse(id)
		if !ok || err != nil {
			return nil, notFound(path)
		}
		d, err := p.engine.Domain(ctx, u.String())
		if errors.Is(err, migrate.ErrNoDomain) {
			return nil, notFound(path)
		}
		if err != nil {
			return nil, &cim.Error{Status: cim.StatusFailed, Message: "read virtual system " + id, Err: err}
		}
		return findByPath([]*cim.Instance{p.vssdInstance(d)}, path)
	}
	insts, err := vp.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	if err != nil {
		return nil, err
	}
	return findByPath(insts, path)
}

func (vp *virtualSystemProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := vp.p
	doms, err := p.engine.Domains(ctx)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "list virtual systems", Err: err}
	}
	out := make([]*cim.Instance, 0, len(doms))
	for _, d := range doms {
		vm := p.vmPath(d.UUID)
		var inst *cim.Instance
		switch {
		case equalClass(class, ClassSystemSettingData):
			inst = p.vssdInstance(d)
		case equalClass(class, ClassSettingsDefineState):
			inst = p.newInstance(ClassSettingsDefineState, p.cfg.Namespace)
			p.set(inst, "ManagedElement", vm)
			p.set(inst, "SettingData", p.vssdPath(d.UUID))
		case equalClass(class, ClassElementSettingData):
			inst = p.newInstance(ClassElementSettingData, p.cfg.Namespace)
			p.set(inst, "ManagedElement", vm)
			p.set(inst, "SettingData", p.vssdPath(d.UUID))
			p.set(inst, "IsDefault", isOrNot(d.Persistent))
			p.set(inst, "IsCurrent", isOrNot(d.State == migrate.StateRunning || d.State == migrate.StatePaused))
			p.set(inst, "IsNext", isOrNot(d.Persistent))
		case equalClass(class, ClassHostedDependency):
			inst = p.newInstance(ClassHostedDependency, p.cfg.Namespace)
			p.set(inst, "Antecedent", p.hostPath())
			p.set(inst, "Dependent", vm)
		default:
			return nil, cim.Errorf(cim.StatusInvalidClass, "class %s is not served here", class)
		}
		out = append(out, inst)
	}
	return out, nil
}

// isOrNot is the IsDefault/IsCurrent/IsNext value: 1 Is, 2 Is Not.
func isOrNot(b bool) uint64 {
	if b {
		return 1
	}
	return 2
}

func (p *Profile) vssdPrefix() string { return p.cfg.OrgID + ":VirtualSystem:" }

func (p *Profile) vssdPath(uuid string) cim.ObjectPath {
	return p.instanceIDPath(p.cfg.Namespace, ClassSystemSettingData, p.vssdPrefix()+uuid)
}

// vssdInstance is the CIM_VirtualSystemSettingData of a virtual system.
func (p *Profile) vssdInstance(d migrate.Domain) *cim.Instance {
	inst := p.newInstance(ClassSystemSettingData, p.cfg.Namespace)
	p.set(inst, "InstanceID", p.vssdPrefix()+d.UUID)
	p.set(inst, "ElementName", d.Name)
	p.set(inst, "Caption", "Virtual system settings")
	p.set(inst, "Description", "The configuration of virtual system "+d.Name+" as the hypervisor of "+p.host+" defines it")
	p.set(inst, "VirtualSystemIdentifier", d.UUID)
	p.set(inst, "VirtualSystemType", p.systemType)
	return inst
}
