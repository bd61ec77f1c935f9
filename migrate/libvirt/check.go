package libvirt

import (
	"context"
	"errors"
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// Check reports, without changing anything, what the two libvirtds know
// that stops plan (see migrate.Driver): a libvirt job already running on
// the VM; the destination unreachable, or the same host (same host UUID);
// the VM's UUID or (new) name already defined there; too little memory in
// all or free, too few CPUs; for KVM guests with a CPU model, a CPU the
// destination cannot run; a libvirt network or bridge a NIC uses that the
// destination lacks (disks are PlanStorage's). vm supplies what Domain read (state, memory,
// vCPUs), so the source is asked only for the job, the definition and,
// once per driver, its host UUID. Failures are *migrate.CheckError.
func (d *Driver) Check(ctx context.Context, plan migrate.Plan, vm migrate.Domain) (migrate.Assessment, error) {
	if err := checkPlan(plan); err != nil {
		return migrate.Assessment{}, err
	}
	u, err := parseUUID(plan.VM)
	if err != nil {
		return migrate.Assessment{}, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: "no such VM " + plan.VM, Err: err}
	}
	src, err := d.sourceFacts(ctx, u, vm)
	if err != nil {
		if errors.Is(err, migrate.ErrNoDomain) {
			return migrate.Assessment{}, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: "no such VM " + plan.VM, Err: err}
		}
		return migrate.Assessment{}, &migrate.CheckError{Kind: migrate.InvalidState, Reason: "source host not answering", Err: err}
	}
	if src.JobType != golibvirt.DomainJobNone {
		return migrate.Assessment{}, &migrate.CheckError{Kind: migrate.InvalidState,
			Reason: "the VM already has a job running in libvirt", Err: migrate.ErrVMBusy}
	}

	dc, err := d.destConn(plan)
	if err != nil {
		return migrate.Assessment{}, err
	}
	defer dc.close()
	dctx, cancel := context.WithTimeout(ctx, d.cfg.DestTimeout)
	defer cancel()
	dst, err := destFacts(dctx, dc, u, plan, src)
	if err != nil {
		if ctx.Err() != nil {
			return migrate.Assessment{}, ctx.Err()
		}
		return migrate.Assessment{}, &migrate.CheckError{Kind: migrate.InvalidState,
			Reason: "destination unreachable: " + plan.DestURI, Err: err}
	}
	if err := checkDest(plan, src, dst); err != nil {
		return migrate.Assessment{}, err
	}
	disks, err := d.planDisks(ctx, plan, src.Dom, src.Facts.Disks, dc, false)
	if err != nil {
		return migrate.Assessment{}, err
	}
	return migrate.Assessment{Disks: diskPlans(disks)}, nil
}

// checkPlan rejects plans that are formally wrong.
func checkPlan(p migrate.Plan) error {
	bad := func(reason string) error {
		return &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: reason}
	}
	switch p.Type {
	case migrate.Live, migrate.Resume, migrate.Restart:
	default:
		return &migrate.CheckError{Kind: migrate.NotSupported, Reason: fmt.Sprintf("migration type %d", p.Type)}
	}
	switch {
	case p.DestURI == "":
		return bad("no destination URI")
	case p.NewVCPUs < 0:
		return bad("negative vCPU count")
	case p.PostCopy && p.Type != migrate.Live:
		return bad("post-copy needs a live migration")
	}
	return nil
}

// srcFacts is what Check knows about the VM on the source.
type srcFacts struct {
	Dom      golibvirt.Domain
	State    migrate.DomainState
	MaxKiB   uint64
	VCPUs    int
	JobType  golibvirt.DomainJobType
	Facts    domainFacts
	HostUUID string
}

// sourceFacts adds to vm what only libvirt can tell: the domain's job,
// its definition, and the host's UUID (cached: it never changes).
func (d *Driver) sourceFacts(ctx context.Context, u golibvirt.UUID, vm migrate.Domain) (srcFacts, error) {
	hostUUID := d.cachedHostUUID()
	f, err := call(ctx, d.main, "check source", func(h hypervisor) (srcFacts, error) {
		f := srcFacts{State: vm.State, MaxKiB: vm.MemoryKiB, VCPUs: vm.VCPUs, HostUUID: hostUUID}
		dom, err := h.DomainLookupByUUID(u)
		if err != nil {
			return f, err
		}
		f.Dom = dom
		if f.State == migrate.StateRunning || f.State == migrate.StatePaused {
			typ, _, err := h.DomainGetJobStats(dom, 0)
			if err != nil && !isNotRunning(err) {
				return f, err
			}
			f.JobType = golibvirt.DomainJobType(typ)
		}
		xml, err := h.DomainGetXMLDesc(dom, 0)
		if err != nil {
			return f, err
		}
		if f.Facts, err = parseDomainFacts(xml); err != nil {
			return f, err
		}
		if f.HostUUID == "" {
			caps, err := h.ConnectGetCapabilities()
			if err != nil {
				return f, err
			}
			c, err := parseCaps(caps)
			if err != nil {
				return f, err
			}
			f.HostUUID = c.UUID
		}
		return f, nil
	})
	if err == nil {
		d.cacheHostUUID(f.HostUUID)
	}
	return f, err
}

// dstFacts is what Check learns about the destination.
type dstFacts struct {
	HostUUID   string
	MemKiB     uint64
	FreeKiB    uint64
	CPUs       int
	UUIDTaken  bool
	NameTaken  bool
	CPUCompare int32 // -1 not compared; else virConnectCompareCPU's result
	CPUErr     error
	// NICProblem is what the destination lacks for a NIC ("" if nothing).
	NICProblem string
}

func destFacts(ctx context.Context, c *conn, u golibvirt.UUID, p migrate.Plan, src srcFacts) (dstFacts, error) {
	name := p.NewName
	if name == "" {
		name = src.Dom.Name
	}
	return call(ctx, c, "check destination", func(h hypervisor) (dstFacts, error) {
		f := dstFacts{CPUCompare: -1}
		caps, err := h.ConnectGetCapabilities()
		if err != nil {
			return f, err
		}
		hc, err := parseCaps(caps)
		if err != nil {
			return f, err
		}
		f.HostUUID = hc.UUID
		_, mem, cpus, _, _, _, _, _, err := h.NodeGetInfo()
		if err != nil {
			return f, err
		}
		f.MemKiB, f.CPUs = mem, int(cpus)
		free, err := h.NodeGetFreeMemory()
		if err != nil {
			return f, err
		}
		f.FreeKiB = free / 1024
		if _, err := h.DomainLookupByUUID(u); err == nil {
			f.UUIDTaken = true
		} else if !golibvirt.IsNotFound(err) {
			return f, err
		}
		if _, err := h.DomainLookupByName(name); err == nil {
			f.NameTaken = true
		} else if !golibvirt.IsNotFound(err) {
			return f, err
		}
		// Only a KVM guest with a named CPU model depends on the host
		// CPU; TCG emulates whatever it is asked for.
		if src.Facts.Type == "kvm" && src.Facts.CPU != "" {
			f.CPUCompare, f.CPUErr = h.ConnectCompareCPU(src.Facts.CPU, 0)
		}
		for _, nic := range src.Facts.NICs {
			if f.NICProblem, err = nicProblem(h, nic); err != nil || f.NICProblem != "" {
				return f, err
			}
		}
		return f, nil
	})
}

func checkDest(p migrate.Plan, src srcFacts, dst dstFacts) error {
	incompatible := func(format string, args ...any) error {
		return &migrate.CheckError{Kind: migrate.Incompatible, Reason: fmt.Sprintf(format, args...)}
	}
	name := p.NewName
	if name == "" {
		name = src.Dom.Name
	}
	need := src.MaxKiB
	if p.NewMemoryKiB > 0 {
		need = p.NewMemoryKiB
	}
	vcpus := src.VCPUs
	if p.NewVCPUs > 0 {
		vcpus = p.NewVCPUs
	}
	switch {
	case src.HostUUID != "" && src.HostUUID == dst.HostUUID:
		return incompatible("the destination is this host (same host UUID %s)", dst.HostUUID)
	case dst.UUIDTaken:
		return incompatible("a VM with UUID %s is already defined on the destination", p.VM)
	case dst.NameTaken:
		return incompatible("a VM named %q is already defined on the destination", name)
	case need > dst.MemKiB:
		return incompatible("the VM needs %d KiB of memory, the destination has %d KiB in all", need, dst.MemKiB)
	case need > dst.FreeKiB:
		return incompatible("not enough free memory on the destination: the VM needs %d KiB, %d KiB free", need, dst.FreeKiB)
	case dst.CPUs > 0 && vcpus > dst.CPUs:
		return incompatible("the VM has %d vCPUs, the destination %d CPUs", vcpus, dst.CPUs)
	case dst.CPUCompare == 0 && dst.CPUErr == nil:
		// VIR_CPU_COMPARE_INCOMPATIBLE
		return incompatible("the destination's CPU cannot run the VM's CPU model")
	case dst.NICProblem != "":
		return incompatible("%s", dst.NICProblem)
	}
	return nil
}
