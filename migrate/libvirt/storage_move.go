package libvirt

import (
	"context"
	"fmt"
	"path"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// storageMove is the disk part of a started migration: what is copied
// where, the images made for it on the destination (removed again if the
// migration fails), and the source's files to remove after success when
// the client asked for it.
type storageMove struct {
	disks   []diskFacts
	created []string // images this driver made on the destination
	memory  uint64   // the guest's memory in bytes, for the job's figures
	// detectZeroes asks libvirt to send the zero blocks of the copied
	// disks as such (migrate_disks_detect_zeroes), not as data. The
	// images the driver makes are thin, and the mirror otherwise sends
	// every unwritten block of a thin source as zeroes counted against
	// the bandwidth cap: on the lab (make bench-lab), a 256 MiB qcow2
	// holding 128 MiB took 1.9 times as long as its data at the cap
	// without it, 1.15 times with it. Only when both hosts' libvirt know
	// the parameter (zeroDetectingLibvirt).
	detectZeroes bool
}

// zeroDetectingLibvirt is the first libvirt version with
// migrate_disks_detect_zeroes (10.9.0). The destination is asked too, as
// a precaution: a peer-to-peer migration hands its parameters on to the
// destination's Prepare (as it does migrate_disks), and an older libvirt
// may refuse one it does not know. Mixed versions are not in the lab.
const zeroDetectingLibvirt = 10009000

// startDisks plans the disks of a migration about to start, from the
// definition xml it starts with.
func (d *Driver) startDisks(ctx context.Context, plan migrate.Plan, dom golibvirt.Domain, xml string) (*storageMove, error) {
	return d.diskMove(ctx, plan, dom, xml, false)
}

// attachedDisks is what a migration this driver attached to (after a
// restart of the daemon) does with the disks: the copies it is making
// are taken as the driver's own, removed if it fails, and the source's
// files removed after it completes if the plan asks for it.
func (d *Driver) attachedDisks(ctx context.Context, plan migrate.Plan, dom golibvirt.Domain, xml string) (*storageMove, error) {
	sm, err := d.diskMove(ctx, plan, dom, xml, true)
	if err != nil {
		return nil, err
	}
	for _, f := range sm.disks {
		if f.dispo == migrate.DiskCopied || f.dispo == migrate.DiskRelocated {
			sm.created = append(sm.created, f.destPath)
		}
	}
	return sm, nil
}

func (d *Driver) diskMove(ctx context.Context, plan migrate.Plan, dom golibvirt.Domain, xml string, attached bool) (*storageMove, error) {
	facts, err := parseDomainFacts(xml)
	if err != nil {
		return nil, err
	}
	if len(facts.Disks) == 0 {
		return &storageMove{memory: facts.MemoryBytes}, checkRelocations(plan, nil)
	}
	dc, err := d.destConn(plan)
	if err != nil {
		return nil, err
	}
	defer dc.close()
	disks, err := d.planDisks(ctx, plan, dom, facts.Disks, dc, attached)
	if err != nil {
		return nil, err
	}
	sm := &storageMove{disks: disks, memory: facts.MemoryBytes}
	if len(sm.copies()) > 0 && !attached {
		if sm.detectZeroes, err = bothDetectZeroes(ctx, d.main, dc); err != nil {
			return nil, err
		}
	}
	return sm, nil
}

// bothDetectZeroes tells whether the libvirt of both ends knows
// migrate_disks_detect_zeroes.
func bothDetectZeroes(ctx context.Context, ends ...*conn) (bool, error) {
	for _, c := range ends {
		v, err := call(ctx, c, "libvirt version", func(h hypervisor) (uint64, error) { return h.ConnectGetLibVersion() })
		if err != nil {
			return false, err
		}
		if v < zeroDetectingLibvirt {
			return false, nil
		}
	}
	return true, nil
}

// copies are the target devices libvirt copies (migrate_disks).
func (sm *storageMove) copies() []string {
	if sm == nil {
		return nil
	}
	var out []string
	for _, f := range sm.disks {
		if f.dispo == migrate.DiskCopied || f.dispo == migrate.DiskRelocated {
			out = append(out, f.def.Target)
		}
	}
	return out
}

// relocations maps the target device of each relocated disk to its new
// path; nil if none.
func (sm *storageMove) relocations() map[string]string {
	if sm == nil {
		return nil
	}
	var out map[string]string
	for _, f := range sm.disks {
		if f.dispo == migrate.DiskRelocated {
			if out == nil {
				out = map[string]string{}
			}
			out[f.def.Target] = f.destPath
		}
	}
	return out
}

// flags are the migration flags the disks need.
func (sm *storageMove) flags() golibvirt.DomainMigrateFlags {
	if len(sm.copies()) > 0 {
		return golibvirt.MigrateNonSharedDisk
	}
	return 0
}

// imageXML is a new, empty image on the destination for f: the guest's
// size in the disk's format (a qcow2 without backing file: libvirt's copy
// of the whole chain fills it).
func imageXML(f diskFacts) string {
	format := f.def.Format
	if format == "" {
		format = "raw"
	}
	return fmt.Sprintf("<volume><name>%s</name><capacity unit='bytes'>%d</capacity>"+
		"<allocation unit='bytes'>0</allocation><target><format type='%s'/></target></volume>",
		path.Base(f.destPath), f.capacity, format)
}

// prepareStorage makes the destination's images of the copied disks. On
// failure it removes those it made.
func (d *Driver) prepareStorage(ctx context.Context, plan migrate.Plan, sm *storageMove) error {
	if len(sm.copies()) == 0 {
		return nil
	}
	dc, err := d.destConn(plan)
	if err != nil {
		return err
	}
	defer dc.close()
	for _, f := range sm.disks {
		if f.dispo != migrate.DiskCopied && f.dispo != migrate.DiskRelocated {
			continue
		}
		err := call0(ctx, dc, "make the image "+f.destPath+" on the destination", func(h hypervisor) error {
			vol, err := h.StorageVolCreateXML(f.destPool, imageXML(f), 0)
			if err != nil {
				return err
			}
			got, err := h.StorageVolGetPath(vol)
			if err == nil && got != f.destPath {
				err = fmt.Errorf("the pool made %s, not %s", got, f.destPath)
			}
			return err
		})
		if err != nil {
			d.cleanupImages(context.WithoutCancel(ctx), plan, sm.created)
			return fmt.Errorf("libvirt: %w", err)
		}
		sm.created = append(sm.created, f.destPath)
		d.log.Info("made the destination's image of a disk", "vm", plan.VM, "disk", f.def.Target,
			"path", f.destPath, "capacity", f.capacity, "format", f.def.Format)
	}
	return nil
}

// cleanupAttempts and cleanupEvery bound how long a failed migration's
// images are retried for removal: the destination's libvirtd may be the
// cause of the failure, down for a while.
const (
	cleanupAttempts = 60
	cleanupEvery    = 5 * time.Second
)

// cleanupImages removes the images this driver made on the destination for
// a migration that did not complete: at once, and those the destination
// did not let it remove, in the background (removeImages).
func (d *Driver) cleanupImages(ctx context.Context, plan migrate.Plan, paths []string) {
	if left, _ := d.removeImagesOnce(ctx, plan, paths); len(left) > 0 {
		go d.removeImages(ctx, plan, left)
	}
}

// removeImages removes the images this driver made on the destination for
// a migration that did not complete, retrying while the destination does
// not answer or still holds a VM it may yet drop. It returns once they are
// gone or it gives up (logged).
func (d *Driver) removeImages(ctx context.Context, plan migrate.Plan, paths []string) {
	for attempt := 1; ; attempt++ {
		left, held := d.removeImagesOnce(ctx, plan, paths)
		if paths = left; len(paths) == 0 {
			return
		}
		if attempt == cleanupAttempts || d.isClosed() {
			if held {
				d.log.Info("the VM is still on the destination: the images made there for it stay", "vm", plan.VM, "paths", paths)
				return
			}
			d.log.Error("cannot remove the destination's images of a failed migration; remove them by hand",
				"vm", plan.VM, "dest", plan.DestURI, "paths", paths)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cleanupEvery):
		}
	}
}

// removeImagesOnce tries once to remove paths on the destination and
// returns those left to try again, and whether the destination held the
// VM. It never removes them while the destination has the VM: a handle can
// fail while libvirt carries the migration on (the daemon's connection
// lost, a peer-to-peer migration going on without it), and a VM must never
// lose its disk. A VM there that runs or is persistent has made it (none
// is left to try); one that is neither is an incoming VM that libvirt may
// still finish or drop (after a libvirtd restart it kills an unfinished
// one, a moment after it lists it again), so paths are left to try.
func (d *Driver) removeImagesOnce(ctx context.Context, plan migrate.Plan, paths []string) (left []string, held bool) {
	u, err := parseUUID(plan.VM)
	if err != nil {
		return nil, false
	}
	dc, err := d.destConn(plan)
	if err != nil {
		return paths, false
	}
	defer dc.close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	there, err := call(cctx, dc, "look for the VM on the destination", func(h hypervisor) (destVM, error) {
		dom, err := h.DomainLookupByUUID(u)
		if notFound(err) {
			return destVM{}, nil
		}
		if err != nil {
			return destVM{}, err
		}
		st, _, err := h.DomainGetState(dom, 0)
		if err != nil {
			return destVM{}, err
		}
		pers, err := h.DomainIsPersistent(dom)
		if err != nil {
			return destVM{}, err
		}
		return destVM{present: true, settled: golibvirt.DomainState(st) == golibvirt.DomainRunning || pers == 1}, nil
	})
	cancel()
	switch {
	case err != nil:
		return paths, false
	case there.settled:
		d.log.Info("the VM is on the destination: the images made there for it stay", "vm", plan.VM, "paths", paths)
		return nil, true
	case there.present:
		d.log.Debug("the destination lists the VM, neither running nor defined: its images wait", "vm", plan.VM, "paths", paths)
		return paths, true
	}
	for _, p := range paths {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := d.removeVolume(cctx, dc, p)
		cancel()
		if err != nil {
			d.log.Warn("cannot remove the destination's image of a failed migration yet", "vm", plan.VM, "path", p, "err", err)
			left = append(left, p)
			continue
		}
		d.log.Info("removed the destination's image of a failed migration", "vm", plan.VM, "path", p)
	}
	return left, false
}

// destVM is what the destination holds of a migration's VM.
type destVM struct {
	present bool
	settled bool // running or persistent: the migration made it
}

// removeSources deletes the source's files of the copied disks after a
// completed migration whose client asked for it (RemoveSource).
func (d *Driver) removeSources(ctx context.Context, plan migrate.Plan, sm *storageMove) {
	if !plan.Storage.RemoveSource || sm == nil {
		return
	}
	for _, f := range sm.disks {
		if f.dispo != migrate.DiskCopied && f.dispo != migrate.DiskRelocated {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := d.removeVolume(cctx, d.main, f.path)
		cancel()
		if err != nil {
			d.log.Warn("cannot remove the source's copy of a migrated disk", "vm", plan.VM, "path", f.path, "err", err)
			continue
		}
		d.log.Info("removed the source's copy of a migrated disk, as asked", "vm", plan.VM, "path", f.path)
	}
}
