package libvirt

import (
	"context"
	"errors"
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

var _ migrate.Repairer = (*Driver)(nil)

// Repair ends the state a crash in the middle of a migration can leave,
// the VM present on both hosts: it keeps the copy at keep (the source's
// or the destination's) and removes the other, destroying it if it is
// active and then removing its definition. Only the definition goes: its
// disks and NVRAM stay where they are, as they are shared with, or were
// copied to, the kept copy.
//
// Repair never stops the only running instance: it refuses when the copy
// to remove runs and the kept one does not, whatever keep says. Run again
// after a failure, it carries on from where it stopped.
func (d *Driver) Repair(ctx context.Context, plan migrate.Plan, keep migrate.Location) error {
	u, err := parseUUID(plan.VM)
	if err != nil {
		return err
	}
	dc, err := d.destConn(plan)
	if err != nil {
		return err
	}
	defer dc.close()
	ctx, cancel := context.WithTimeout(ctx, 4*d.cfg.DestTimeout)
	defer cancel()
	var keepOn, dropOn *conn
	switch keep {
	case migrate.LocationSource:
		keepOn, dropOn = d.main, dc
	case migrate.LocationDestination:
		keepOn, dropOn = dc, d.main
	default:
		return fmt.Errorf("libvirt: repair: the copy to keep must be the source's or the destination's, not location %d", keep)
	}
	st, err := stateOn(ctx, keepOn, u)
	if err != nil {
		return fmt.Errorf("libvirt: repair: the copy to keep: %w", err)
	}
	if !st.found {
		return errors.New("libvirt: repair: the copy to keep is gone; nothing was removed")
	}
	kept := domainState(st.state)
	err = call0(ctx, dropOn, "remove the other copy", func(h hypervisor) error {
		dom, err := h.DomainLookupByUUID(u)
		if golibvirt.IsNotFound(err) {
			return nil // removed already
		}
		if err != nil {
			return err
		}
		st, _, err := h.DomainGetState(dom, 0)
		if err != nil {
			return err
		}
		other := domainState(golibvirt.DomainState(st))
		if other == migrate.StateRunning && kept != migrate.StateRunning {
			return errRepairWouldStop
		}
		if other == migrate.StateRunning || other == migrate.StatePaused {
			if err := h.DomainDestroy(dom); err != nil && !isNotRunning(err) {
				return err
			}
		}
		// A transient copy is gone once destroyed; a persistent one loses
		// its definition, not its files.
		err = h.DomainUndefineFlags(dom, golibvirt.DomainUndefineKeepNvram)
		if golibvirt.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("libvirt: repair: %w", err)
	}
	d.log.Warn("removed the second copy of a VM", "vm", plan.VM, "kept", keepName(keep), "dest", plan.DestURI)
	return nil
}

var errRepairWouldStop = errors.New("the copy to remove is the only one running; nothing was removed")

func keepName(l migrate.Location) string {
	if l == migrate.LocationSource {
		return "source"
	}
	return "destination"
}
