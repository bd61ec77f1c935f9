package vsm

import (
	"context"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// supportedTypes are the migration types the service performs, one
// CIM_VirtualSystemMigrationSettingData each.
var supportedTypes = []migrate.Type{migrate.Live, migrate.Resume, migrate.Restart}

// CIM_VirtualSystemMigrationCapabilities value maps.
var (
	syncMethods  = []uint64{4, 5} // CheckVirtualSystemIsMigratableToHost/ToSystem
	asyncMethods = []uint64{2, 3} // MigrateVirtualSystemToHost/ToSystem
	hostFormats  = []uint64{2, 3, 4}
)

func (p *Profile) serviceInstance() *cim.Instance {
	inst := p.newInstance(p.serviceClass(), p.cfg.Namespace)
	p.set(inst, "SystemCreationClassName", ClassComputerSystem)
	p.set(inst, "SystemName", p.host)
	p.set(inst, "CreationClassName", p.serviceClass())
	p.set(inst, "Name", ServiceName)
	p.set(inst, "ElementName", "Virtual System Migration Service")
	p.set(inst, "Caption", "Virtual System Migration Service")
	p.set(inst, "Description", "Moves virtual systems of host "+p.host+" to other hosts (DMTF DSP1081)")
	p.set(inst, "Started", true)
	p.set(inst, "EnabledState", uint64(enabledEnabled))
	p.set(inst, "RequestedState", uint64(12))
	p.set(inst, "EnabledDefault", uint64(2))
	p.set(inst, "OperationalStatus", []uint64{2})
	p.set(inst, "HealthState", uint64(5))
	return inst
}

func (p *Profile) capabilitiesInstance() *cim.Instance {
	inst := p.newInstance(ClassCapabilities, p.cfg.Namespace)
	p.set(inst, "InstanceID", p.capsID())
	p.set(inst, "ElementName", "Migration Capabilities")
	p.set(inst, "Caption", "Virtual System Migration Capabilities")
	p.set(inst, "SynchronousMethodsSupported", syncMethods)
	p.set(inst, "AsynchronousMethodsSupported", asyncMethods)
	p.set(inst, "DestinationHostFormatsSupported", hostFormats)
	return inst
}

func (p *Profile) settingDataID(t migrate.Type) string {
	return p.cfg.OrgID + ":MigrationSettingData:" + engineTypeName(t)
}

func (p *Profile) settingDataInstance(t migrate.Type) *cim.Instance {
	inst := p.newInstance(ClassSettingData, p.cfg.Namespace)
	p.set(inst, "InstanceID", p.settingDataID(t))
	p.set(inst, "ElementName", engineTypeName(t)+" migration")
	p.set(inst, "Caption", engineTypeName(t)+" migration defaults")
	p.set(inst, "MigrationType", uint64(t))
	p.set(inst, "TransportType", uint64(p.engine.Config().DefaultTransport))
	p.set(inst, "Priority", uint64(0))
	p.set(inst, "Bandwidth", uint64(0))
	p.set(inst, "BandwidthUnit", DefaultBandwidthUnit)
	return inst
}

// serviceProvider serves the one CIM_VirtualSystemMigrationService and its
// methods (methods.go).
type serviceProvider struct{ p *Profile }

func (sp *serviceProvider) Classes() []cim.ClassRef {
	return []cim.ClassRef{{Namespace: sp.p.cfg.Namespace, Class: sp.p.serviceClass()}}
}

func (sp *serviceProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	return findByPath([]*cim.Instance{sp.p.serviceInstance()}, path)
}

func (sp *serviceProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	return []*cim.Instance{sp.p.serviceInstance()}, nil
}

// capsProvider serves the capabilities and the setting data.
type capsProvider struct{ p *Profile }

func (cp *capsProvider) Classes() []cim.ClassRef {
	ns := cp.p.cfg.Namespace
	return []cim.ClassRef{{Namespace: ns, Class: ClassCapabilities}, {Namespace: ns, Class: ClassSettingData}}
}

func (cp *capsProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	insts, _ := cp.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	return findByPath(insts, path)
}

func (cp *capsProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := cp.p
	if equalClass(class, ClassCapabilities) {
		return []*cim.Instance{p.capabilitiesInstance()}, nil
	}
	out := make([]*cim.Instance, 0, len(supportedTypes))
	for _, t := range supportedTypes {
		out = append(out, p.settingDataInstance(t))
	}
	return out, nil
}

// interopProvider serves, in root/interop, the registration of DSP1081 and
// its conformance association to the service (a reference across
// namespaces), and those of the scoping profiles (profiles.go).
type interopProvider struct{ p *Profile }

func (ip *interopProvider) Classes() []cim.ClassRef {
	ns := ip.p.cfg.InteropNamespace
	return []cim.ClassRef{{Namespace: ns, Class: ClassProfile}, {Namespace: ns, Class: ClassConformsToProfile}}
}

func (ip *interopProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	insts, _ := ip.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	return findByPath(insts, path)
}

func (ip *interopProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := ip.p
	if equalClass(class, ClassProfile) {
		var out []*cim.Instance
		for _, r := range p.registrations() {
			out = append(out, p.registeredProfile(r))
		}
		return out, nil
	}
	return p.conformance(ctx)
}

func (p *Profile) registeredProfile(r registration) *cim.Instance {
	inst := p.newInstance(ClassProfile, p.cfg.InteropNamespace)
	p.set(inst, "InstanceID", p.registrationID(r))
	p.set(inst, "RegisteredOrganization", uint64(2)) // DMTF
	p.set(inst, "RegisteredName", r.name)
	p.set(inst, "RegisteredVersion", r.version)
	p.set(inst, "AdvertiseTypes", []uint64{2}) // Not Advertised: no SLP
	p.set(inst, "AdvertiseTypeDescriptions", []string{"Not advertised; discover through root/interop"})
	p.set(inst, "ElementName", r.local+" "+r.name+" "+r.version)
	return inst
}

func equalClass(a, b string) bool { return strings.EqualFold(a, b) }
