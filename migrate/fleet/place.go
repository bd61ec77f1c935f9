package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vsmig/vsmig/migrate"
)

// This file chooses destinations. The rules are the ones a
// CheckVirtualSystemIsMigratableToHost call applies (the engine's Check:
// the VM's state, its job, the cluster's rules, the driver's check of
// memory, CPU model, networks and storage against the destination's
// hypervisor), asked of the candidates in the order that spreads the
// load, after a first cut on what the hosts registered (free memory,
// networks, storage pools, health, drains) that costs no request.

// planner places VMs one after another, counting what it has placed so
// far as load on the hosts it chose.
type planner struct {
	f        *Fleet
	eng      Engine
	members  []migrate.Member
	load     map[string]int    // migrations queued or running to a host, planned ones included
	reserved map[string]uint64 // KiB those take
}

func (f *Fleet) newPlanner() (*planner, error) {
	f.mu.Lock()
	eng := f.eng
	f.mu.Unlock()
	if eng == nil {
		return nil, f.unavailable("not started")
	}
	p := &planner{f: f, eng: eng, members: f.cache.members(), load: map[string]int{}, reserved: map[string]uint64{}}
	for _, cj := range f.cache.locks() {
		p.load[cj.Dest]++
		p.reserved[cj.Dest] += cj.MemoryKiB
	}
	return p, nil
}

// typeFor is the migration type that moves a VM in its state: live if it
// runs or is paused, restart (its definition) if it is shut off.
func typeFor(d migrate.Domain) migrate.Type {
	if d.State == migrate.StateShutoff {
		return migrate.Restart
	}
	return migrate.Live
}

// place chooses a destination for d, or says why there is none.
func (p *planner) place(ctx context.Context, d migrate.Domain) migrate.Placement {
	pl := migrate.Placement{VM: d.UUID, VMName: d.Name}
	res, _ := p.eng.DomainResources(ctx, d.UUID)
	var ok, all []migrate.Candidate
	for _, m := range p.members {
		if m.Name == p.f.cfg.Host {
			continue
		}
		c := migrate.Candidate{Host: m.Name, Load: p.load[m.Name]}
		if r := p.reserved[m.Name]; r < m.FreeKiB {
			c.FreeKiB = m.FreeKiB - r
		}
		lack := res.Lacking(migrate.Resources{Networks: m.Networks, StoragePools: m.StoragePools})
		switch {
		case m.Draining:
			c.Reason = "being drained"
		case !m.Healthy():
			c.Reason = "unhealthy: " + m.Health
		case d.State != migrate.StateShutoff && d.MemoryKiB > c.FreeKiB:
			c.Reason = fmt.Sprintf("not enough free memory: %d MiB needed, %d MiB free", d.MemoryKiB/1024, c.FreeKiB/1024)
		case lack != "":
			c.Reason = "no " + lack
		default:
			c.OK = true
			ok = append(ok, c)
			continue
		}
		all = append(all, c)
	}
	// Least loaded first, then most free memory: spread the load.
	slices.SortFunc(ok, func(a, b migrate.Candidate) int {
		return cmp.Or(cmp.Compare(a.Load, b.Load), cmp.Compare(b.FreeKiB, a.FreeKiB), strings.Compare(a.Host, b.Host))
	})
	for i := range ok {
		c := &ok[i]
		if pl.Dest != "" {
			continue // kept as a candidate, not asked
		}
		req := migrate.Request{JobID: "placement-check", Plan: migrate.Plan{VM: d.UUID, Type: typeFor(d), DestHost: c.Host}}
		if _, err := p.eng.Check(ctx, req); err != nil {
			c.OK, c.Reason = false, reasonOf(err)
			continue
		}
		pl.Dest = c.Host
	}
	pl.Candidates = append(ok, all...)
	slices.SortFunc(pl.Candidates, func(a, b migrate.Candidate) int { return strings.Compare(a.Host, b.Host) })
	if pl.Dest == "" {
		pl.Reason = noDestination(pl.Candidates)
		return pl
	}
	p.load[pl.Dest]++
	p.reserved[pl.Dest] += d.MemoryKiB
	return pl
}

// noDestination says why no candidate fits.
func noDestination(cs []migrate.Candidate) string {
	if len(cs) == 0 {
		return "no other host is a member of the cluster"
	}
	// Hosts with the same reason are said once: "dst1, dst2 and 3
	// others: not enough free memory".
	var reasons []string
	hosts := map[string][]string{}
	for _, c := range cs {
		if _, ok := hosts[c.Reason]; !ok {
			reasons = append(reasons, c.Reason)
		}
		hosts[c.Reason] = append(hosts[c.Reason], c.Host)
	}
	var parts []string
	for _, r := range reasons {
		hs := hosts[r]
		names := strings.Join(hs, ", ")
		if len(hs) > 3 {
			names = fmt.Sprintf("%s and %d others", strings.Join(hs[:2], ", "), len(hs)-2)
		}
		parts = append(parts, names+": "+r)
	}
	return "no host can take it (" + strings.Join(parts, "; ") + ")"
}

func reasonOf(err error) string { return strings.TrimPrefix(err.Error(), "migrate: ") }

// Place chooses a destination for the local VM uuid (a name or UUID):
// the least loaded member that passes every check. A VM no host can take
// has a Placement with no Dest and a Reason.
func (f *Fleet) Place(ctx context.Context, uuid string) (migrate.Placement, error) {
	if _, err := f.session(); err != nil {
		return migrate.Placement{}, err
	}
	p, err := f.newPlanner()
	if err != nil {
		return migrate.Placement{}, err
	}
	d, err := p.eng.Domain(ctx, uuid)
	if errors.Is(err, migrate.ErrNoDomain) {
		return migrate.Placement{}, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: fmt.Sprintf("no virtual machine %s on this host", uuid)}
	}
	if err != nil {
		return migrate.Placement{}, err
	}
	return p.place(ctx, d), nil
}

// Plan places every VM of this host, the largest first (they are the
// hardest to fit), each counting on the hosts as load for the next:
// the plan a drain would follow now.
func (f *Fleet) Plan(ctx context.Context) ([]migrate.Placement, error) {
	if _, err := f.session(); err != nil {
		return nil, err
	}
	p, err := f.newPlanner()
	if err != nil {
		return nil, err
	}
	doms, err := p.eng.Domains(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: list virtual machines: %w", err)
	}
	sortForDrain(doms)
	out := make([]migrate.Placement, 0, len(doms))
	for _, d := range doms {
		out = append(out, p.place(ctx, d))
	}
	return out, nil
}

// sortForDrain orders VMs the largest first, then by name.
func sortForDrain(doms []migrate.Domain) {
	slices.SortFunc(doms, func(a, b migrate.Domain) int {
		return cmp.Or(cmp.Compare(b.MemoryKiB, a.MemoryKiB), strings.Compare(a.Name, b.Name), strings.Compare(a.UUID, b.UUID))
	})
}
