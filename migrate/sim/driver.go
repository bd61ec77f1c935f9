package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// driver is one simulated host seen through migrate.Driver.
type driver struct {
	c    *Cluster
	name string
}

var (
	_ migrate.Driver    = (*driver)(nil)
	_ migrate.Repairer  = (*driver)(nil)
	_ migrate.Resourcer = (*driver)(nil)
)

func (d *driver) self() *host { return d.c.hosts[d.name] }

func (d *driver) Host(ctx context.Context) (migrate.Host, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	h := d.self()
	return migrate.Host{
		Name:       h.cfg.Name,
		UUID:       h.cfg.UUID,
		CPUModel:   h.cfg.CPUModel,
		MemoryKiB:  h.cfg.MemoryKiB,
		FreeKiB:    d.c.freeKiB(h),
		Hypervisor: HypervisorName,
		Simulated:  true,
		CPUs:       h.cfg.CPUs,
	}, nil
}

// HostResources implements migrate.Resourcer.
func (d *driver) HostResources(ctx context.Context) (migrate.Resources, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	h := d.self()
	return migrate.Resources{Networks: h.cfg.Networks, StoragePools: h.cfg.StoragePools}, nil
}

// DomainResources implements migrate.Resourcer.
func (d *driver) DomainResources(ctx context.Context, id string) (migrate.Resources, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	v, ok := d.self().vms[id]
	if !ok {
		return migrate.Resources{}, fmt.Errorf("sim: domain %s on %s: %w", id, d.name, migrate.ErrNoDomain)
	}
	return migrate.Resources{Networks: v.cfg.Networks, StoragePools: v.cfg.StoragePools}, nil
}

func domainOf(v *vm) migrate.Domain {
	return migrate.Domain{UUID: v.cfg.UUID, Name: v.cfg.Name, State: v.state,
		MemoryKiB: v.cfg.MemoryKiB, VCPUs: v.cfg.VCPUs, Persistent: true}
}

func (d *driver) Domains(ctx context.Context) ([]migrate.Domain, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	var out []migrate.Domain
	for _, v := range d.self().vms {
		out = append(out, domainOf(v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *driver) Domain(ctx context.Context, id string) (migrate.Domain, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	v, ok := d.self().vms[id]
	if !ok {
		return migrate.Domain{}, fmt.Errorf("sim: domain %s on %s: %w", id, d.name, migrate.ErrNoDomain)
	}
	return domainOf(v), nil
}

// Check makes the refusals real hypervisors would (see check). It reads
// the VM itself, as it is cheap here, rather than trust vm. Simulated VMs
// have no disks: nothing to assess.
func (d *driver) Check(ctx context.Context, plan migrate.Plan, _ migrate.Domain) (migrate.Assessment, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	_, _, err := d.check(plan)
	return migrate.Assessment{}, err
}

// check makes the refusals real hypervisors would: the VM missing or
// already migrating, the destination unknown, unreachable or the source
// itself, its UUID or name already there, too little memory, a CPU model
// the destination lacks. The VM's run state is the engine's rule
// (migrate.StateAllows), applied again by Start.
func (d *driver) check(plan migrate.Plan) (*vm, *host, error) {
	refuse := func(k migrate.CheckKind, format string, args ...any) (*vm, *host, error) {
		return nil, nil, &migrate.CheckError{Kind: k, Reason: fmt.Sprintf(format, args...)}
	}
	src := d.self()
	v, ok := src.vms[plan.VM]
	if !ok {
		return refuse(migrate.InvalidParameter, "no virtual machine %s on %s", plan.VM, d.name)
	}
	if len(plan.Storage.Relocate) > 0 {
		return refuse(migrate.InvalidParameter, "virtual machine %s has no disk to relocate (simulated VMs have none)", v.cfg.Name)
	}
	if _, busy := d.c.migs[plan.VM]; busy {
		return refuse(migrate.InvalidState, "virtual machine %s is already migrating", v.cfg.Name)
	}
	dst, ok := d.c.hosts[plan.DestHost]
	if !ok {
		return refuse(migrate.InvalidState, "destination host %q is unreachable: no such host", plan.DestHost)
	}
	if dst == src {
		return refuse(migrate.InvalidParameter, "destination %s is the source host", dst.cfg.Name)
	}
	if dst.down {
		return refuse(migrate.InvalidState, "cannot connect to %s: connection refused", dst.cfg.Name)
	}
	if o, ok := dst.vms[plan.VM]; ok {
		return refuse(migrate.Incompatible, "a domain with UUID %s already exists on %s (%s)", plan.VM, dst.cfg.Name, o.cfg.Name)
	}
	name := v.cfg.Name
	if plan.NewName != "" {
		name = plan.NewName
	}
	for _, o := range dst.vms {
		if o.cfg.Name == name {
			return refuse(migrate.Incompatible, "a domain named %q already exists on %s", name, dst.cfg.Name)
		}
	}
	if v.cfg.CPUModel != "" && v.cfg.CPUModel != dst.cfg.CPUModel {
		return refuse(migrate.Incompatible, "the guest's CPU model %s is not available on %s (%s)", v.cfg.CPUModel, dst.cfg.Name, dst.cfg.CPUModel)
	}
	uses := migrate.Resources{Networks: v.cfg.Networks, StoragePools: v.cfg.StoragePools}
	if r := uses.Lacking(migrate.Resources{Networks: dst.cfg.Networks, StoragePools: dst.cfg.StoragePools}); r != "" {
		return refuse(migrate.Incompatible, "the guest's %s is not on %s", r, dst.cfg.Name)
	}
	mem := v.cfg.MemoryKiB
	if plan.NewMemoryKiB != 0 {
		mem = plan.NewMemoryKiB
	}
	if mem > dst.cfg.MemoryKiB {
		return refuse(migrate.Incompatible, "%d MiB of memory is more than %s has (%d MiB)", mem/1024, dst.cfg.Name, dst.cfg.MemoryKiB/1024)
	}
	if v.state == migrate.StateRunning || v.state == migrate.StatePaused {
		if free := d.c.freeKiB(dst); mem > free {
			return refuse(migrate.Incompatible, "not enough free memory on %s: %d MiB needed, %d MiB free", dst.cfg.Name, mem/1024, free/1024)
		}
	}
	return v, dst, nil
}

// Start checks plan again (as libvirt's Begin/Prepare would) and starts
// the simulated transfer.
func (d *driver) Start(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	v, dst, err := d.check(plan)
	if err != nil {
		return nil, err
	}
	if err := migrate.StateAllows(domainOf(v), plan.Type); err != nil {
		return nil, err
	}
	f := d.c.takeFault(dst.cfg.Name)
	if f != nil && f.Kind == Refuse {
		why := f.Reason
		if why == "" {
			why = "the destination refused the incoming migration"
		}
		return nil, fmt.Errorf("sim: %s: %s (simulated)", dst.cfg.Name, why)
	}
	g := &migration{
		c: d.c, plan: plan, src: d.self(), dst: dst, vm: v, before: v.state,
		last: d.c.clock.Now(), cap: float64(plan.Bandwidth), fault: f,
		done: make(chan struct{}), iters: make(chan uint64, 1),
	}
	downtime := plan.MaxDowntime
	if downtime == 0 {
		downtime = qemuDefaultDowntime
	}
	g.m = model{
		mem:        float64(v.cfg.MemoryKiB * 1024),
		dirtyRate:  float64(v.cfg.DirtyRate),
		wws:        float64(v.cfg.WorkingSet),
		downtime:   downtime,
		setup:      d.c.cfg.SetupTime,
		switchover: d.c.cfg.SwitchoverCost,
		finish:     d.c.cfg.FinishTime,
		// A Resume migration pauses the guest; a paused one dirties
		// nothing and stays paused (it moves whole, as in Resume).
		paused: plan.Type == migrate.Resume || v.state == migrate.StatePaused,
	}
	if plan.Type == migrate.Restart {
		g.m.restart = true
		g.m.shutdownTime = v.cfg.ShutdownTime
		if v.state != migrate.StateRunning {
			g.m.shutdownTime = 0
		}
		g.m.shutdownTimeout = plan.ShutdownTimeout
		if g.m.shutdownTimeout == 0 {
			g.m.shutdownTimeout = migrate.DefaultShutdownTimeout
		}
		g.m.defineTime = d.c.cfg.DefineTime
	}
	if plan.Type == migrate.Resume && v.state != migrate.StatePaused {
		v.state = migrate.StatePaused
		d.c.touch(d.self(), plan.VM)
	}
	g.m.start()
	d.c.migs[plan.VM] = g
	d.c.traceLocked(g, true, nil)
	d.c.rebalance(g.src)
	return g, nil
}

// qemuDefaultDowntime is QEMU's downtime-limit default.
const qemuDefaultDowntime = 300 * time.Millisecond

func (d *driver) Attach(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	g, ok := d.c.migs[plan.VM]
	if !ok || g.src != d.self() {
		return nil, fmt.Errorf("sim: no migration of %s from %s: %w", plan.VM, d.name, migrate.ErrNoJob)
	}
	return g, nil
}

func (d *driver) Locate(ctx context.Context, plan migrate.Plan) (migrate.Location, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	_, here := d.self().vms[plan.VM]
	there := false
	if dst, ok := d.c.hosts[plan.DestHost]; ok {
		_, there = dst.vms[plan.VM]
	}
	switch {
	case here && there:
		return migrate.LocationBoth, nil
	case here:
		return migrate.LocationSource, nil
	case there:
		return migrate.LocationDestination, nil
	}
	return migrate.LocationNowhere, nil
}

// Repair keeps the copy at keep, running, and removes the other.
func (d *driver) Repair(ctx context.Context, plan migrate.Plan, keep migrate.Location) error {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	dst, ok := d.c.hosts[plan.DestHost]
	if !ok {
		return fmt.Errorf("sim: no host %q", plan.DestHost)
	}
	src := d.self()
	kept, gone := src, dst
	switch keep {
	case migrate.LocationSource:
	case migrate.LocationDestination:
		kept, gone = dst, src
	default:
		return fmt.Errorf("sim: repair: cannot keep %s", keep)
	}
	v, ok := kept.vms[plan.VM]
	if !ok {
		return fmt.Errorf("sim: repair: no copy of %s on %s", plan.VM, kept.cfg.Name)
	}
	delete(gone.vms, plan.VM)
	v.state = migrate.StateRunning
	d.c.touch(gone, plan.VM)
	d.c.touch(kept, plan.VM)
	return nil
}

func (d *driver) Close() error { return nil }
