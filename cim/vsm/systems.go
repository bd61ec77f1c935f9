package vsm

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// CIM_EnabledLogicalElement.EnabledState values.
const (
	enabledUnknown  = 0
	enabledOther    = 1
	enabledEnabled  = 2
	enabledDisabled = 3
	enabledQuiesce  = 9
)

// CIM_ManagedSystemElement.OperatingStatus values.
const (
	operatingEmigrating = 10
	operatingInService  = 16
	operatingStopped    = 5
)

// systemProvider serves CIM_ComputerSystem: the host, and one instance per
// virtual system the engine reports on its host (Name = the libvirt UUID).
type systemProvider struct{ p *Profile }

func (sp *systemProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: sp.p.cfg.Namespace, Class: ClassComputerSystem}}
}

func (sp *systemProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	p := sp.p
	if cc := keyString(path, "CreationClassName"); cc != "" && !strings.EqualFold(cc, ClassComputerSystem) {
		return nil, notFound(path)
	}
	name := keyString(path, "Name")
	if name == "" {
		return nil, notFound(path)
	}
	if name == p.host {
		return p.hostInstance(), nil
	}
	if inst, ok := p.peerHost(name); ok {
		return inst, nil
	}
	id, err := uuid.Parse(name)
	if err != nil {
		return nil, notFound(path)
	}
	d, err := p.engine.Domain(ctx, id.String())
	if errors.Is(err, migrate.ErrNoDomain) {
		return nil, notFound(path)
	}
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "read virtual system " + name, Err: err}
	}
	return p.vmInstance(d, p.engine.Migrating(d.UUID) != ""), nil
}

func (sp *systemProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := sp.p
	doms, err := p.engine.Domains(ctx)
	if err != nil {
		return nil, &cim.Error{Status: cim.StatusFailed, Message: "list virtual systems", Err: err}
	}
	out := make([]*cim.Instance, 0, len(doms)+1)
	out = append(out, p.hostInstance())
	out = append(out, p.peerHosts()...)
	for _, d := range doms {
		out = append(out, p.vmInstance(d, p.engine.Migrating(d.UUID) != ""))
	}
	return out, nil
}

func (p *Profile) hostInstance() *cim.Instance {
	inst := p.newInstance(ClassComputerSystem, p.cfg.Namespace)
	p.set(inst, "CreationClassName", ClassComputerSystem)
	p.set(inst, "Name", p.host)
	p.set(inst, "ElementName", p.host)
	p.set(inst, "Caption", "Virtualization host")
	p.set(inst, "Description", "The host system that runs the virtual systems and the migration service")
	p.set(inst, "NameFormat", "Other")
	p.set(inst, "Dedicated", []uint64{0}) // Not Dedicated
	p.set(inst, "EnabledState", uint64(enabledEnabled))
	p.set(inst, "RequestedState", uint64(12)) // Not Applicable
	p.set(inst, "OperationalStatus", []uint64{2})
	p.set(inst, "HealthState", uint64(5))
	p.set(inst, "OperatingStatus", uint64(operatingInService))
	return inst
}

// vmInstance is the CIM_ComputerSystem of a virtual system; OperatingStatus
// is Emigrating while a job moves it away.
func (p *Profile) vmInstance(d migrate.Domain, migrating bool) *cim.Instance {
	inst := p.newInstance(ClassComputerSystem, p.cfg.Namespace)
	p.set(inst, "CreationClassName", ClassComputerSystem)
	p.set(inst, "Name", d.UUID)
	p.set(inst, "ElementName", d.Name)
	p.set(inst, "Caption", "Virtual system")
	p.set(inst, "Description", "Virtual system "+d.Name+" on host "+p.host)
	p.set(inst, "NameFormat", "Other")
	p.set(inst, "OtherIdentifyingInfo", []string{d.Name})
	p.set(inst, "IdentifyingDescriptions", []string{"Domain name"})
	es, other := enabledState(d.State)
	p.set(inst, "EnabledState", uint64(es))
	if other != "" {
		p.set(inst, "OtherEnabledState", other)
	}
	p.set(inst, "RequestedState", uint64(12)) // Not Applicable
	p.set(inst, "HealthState", uint64(5))
	switch {
	case migrating:
		p.set(inst, "OperatingStatus", uint64(operatingEmigrating))
	case d.State == migrate.StateShutoff:
		p.set(inst, "OperatingStatus", uint64(operatingStopped))
	default:
		p.set(inst, "OperatingStatus", uint64(operatingInService))
	}
	if d.State == migrate.StateCrashed {
		p.set(inst, "OperationalStatus", []uint64{6}) // Error
	} else {
		p.set(inst, "OperationalStatus", []uint64{2})
	}
	return inst
}

// enabledState maps a domain state to EnabledState (and OtherEnabledState
// when that is 1 Other).
func enabledState(s migrate.DomainState) (uint16, string) {
	switch s {
	case migrate.StateRunning:
		return enabledEnabled, ""
	case migrate.StateShutoff:
		return enabledDisabled, ""
	case migrate.StatePaused:
		return enabledQuiesce, ""
	case migrate.StateCrashed:
		return enabledOther, "Crashed"
	}
	return enabledUnknown, ""
}
