package vsm

import (
	"context"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// assocProvider serves the profile's associations in the profile's
// namespace; the Broker answers Associators and References from them.
type assocProvider struct{ p *Profile }

func (ap *assocProvider) Classes() []cim.ClassRef {
	ns := ap.p.cfg.Namespace
	var refs []cim.ClassRef
	for _, c := range []string{ClassHostedService, ClassServiceAffectsElement, ClassElementCapabilities,
		ClassSettingsDefineCaps, ClassAffectedJobElement, ClassOwningJobElement} {
		refs = append(refs, cim.ClassRef{Namespace: ns, Class: c})
	}
	return refs
}

func (ap *assocProvider) GetInstance(ctx context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	insts, err := ap.EnumerateInstances(ctx, path.Namespace, path.ClassName)
	if err != nil {
		return nil, err
	}
	return findByPath(insts, path)
}

func (ap *assocProvider) EnumerateInstances(ctx context.Context, ns, class string) ([]*cim.Instance, error) {
	p := ap.p
	svc := p.servicePath()
	switch {
	case equalClass(class, ClassHostedService):
		inst := p.newInstance(ClassHostedService, p.cfg.Namespace)
		p.set(inst, "Antecedent", p.hostPath())
		p.set(inst, "Dependent", svc)
		return []*cim.Instance{inst}, nil

	case equalClass(class, ClassServiceAffectsElement):
		doms, err := p.engine.Domains(ctx)
		if err != nil {
			return nil, &cim.Error{Status: cim.StatusFailed, Message: "list virtual systems", Err: err}
		}
		out := make([]*cim.Instance, 0, len(doms))
		for _, d := range doms {
			inst := p.newInstance(ClassServiceAffectsElement, p.cfg.Namespace)
			p.set(inst, "AffectingElement", svc)
			p.set(inst, "AffectedElement", p.vmPath(d.UUID))
			p.set(inst, "ElementEffects", []uint64{5}) // Manages
			out = append(out, inst)
		}
		return out, nil

	case equalClass(class, ClassElementCapabilities):
		inst := p.newInstance(ClassElementCapabilities, p.cfg.Namespace)
		p.set(inst, "ManagedElement", svc)
		p.set(inst, "Capabilities", p.instanceIDPath(p.cfg.Namespace, ClassCapabilities, p.capsID()))
		return []*cim.Instance{inst}, nil

	case equalClass(class, ClassSettingsDefineCaps):
		caps := p.instanceIDPath(p.cfg.Namespace, ClassCapabilities, p.capsID())
		out := make([]*cim.Instance, 0, len(supportedTypes))
		for _, t := range supportedTypes {
			inst := p.newInstance(ClassSettingsDefineCaps, p.cfg.Namespace)
			p.set(inst, "GroupComponent", caps)
			p.set(inst, "PartComponent", p.instanceIDPath(p.cfg.Namespace, ClassSettingData, p.settingDataID(t)))
			p.setNamed(inst, "PropertyPolicy", "Independent", 0)
			p.set(inst, "ValueRange", uint64(0)) // Point
			if t == p.cfg.DefaultType {
				p.set(inst, "ValueRole", uint64(0)) // Default
			} else {
				p.set(inst, "ValueRole", uint64(3)) // Supported
			}
			out = append(out, inst)
		}
		return out, nil

	case equalClass(class, ClassAffectedJobElement), equalClass(class, ClassOwningJobElement):
		jobs, err := p.engine.Jobs(ctx)
		if err != nil {
			return nil, &cim.Error{Status: cim.StatusFailed, Message: "list jobs", Err: err}
		}
		out := make([]*cim.Instance, 0, len(jobs))
		for _, j := range jobs {
			jp := p.jobPath(j.ID)
			if equalClass(class, ClassAffectedJobElement) {
				if j.Plan.VM == "" {
					continue
				}
				out = append(out, p.affectedJobElement(j, jp))
				continue
			}
			inst := p.newInstance(ClassOwningJobElement, p.cfg.Namespace)
			p.set(inst, "OwningElement", svc)
			p.set(inst, "OwnedElement", jp)
			out = append(out, inst)
		}
		if equalClass(class, ClassOwningJobElement) {
			out = append(out, p.drainOwnings()...)
		}
		return out, nil
	}
	return nil, cim.Errorf(cim.StatusInvalidClass, "class %s is not served here", class)
}

// affectedJobElement links job j (at jp) to the virtual system it moves,
// for as long as the job is kept, whatever became of it (DSP1103: the
// association names the element the job affects). While the job has not
// completed the VM is on this host and the job has its exclusive use (2).
// Once it has completed, the VM runs on the destination, whose vsmigd
// serves it under the same path (the keys are the UUID the VM keeps, as
// MigrateVirtualSystemToSystem's NewComputerSystem says): the reference
// is kept as it is, dangling here but meaningful there, and
// ElementEffects says where it went (1 Other, "Moved to <destination>").
// Associators of the job return instances, so they reach the moved VM
// only through the destination; References return this association.
func (p *Profile) affectedJobElement(j *migrate.Job, jp cim.ObjectPath) *cim.Instance {
	inst := p.newInstance(ClassAffectedJobElement, p.cfg.Namespace)
	p.set(inst, "AffectingElement", jp)
	p.set(inst, "AffectedElement", p.vmPath(j.Plan.VM))
	if j.Status == migrate.StatusCompleted {
		p.set(inst, "ElementEffects", []uint64{1}) // Other
		p.set(inst, "OtherElementEffectsDescriptions", []string{"Moved to " + j.Plan.DestHost})
	} else {
		p.set(inst, "ElementEffects", []uint64{2}) // Exclusive Use
	}
	return inst
}
