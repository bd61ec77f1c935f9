package libvirt

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

// How the driver moves disks (Check's assessment, Start's copies). A disk file on
// storage both hosts see stays; one only the source sees is copied by
// libvirt's non-shared-disk migration (VIR_MIGRATE_NON_SHARED_DISK with the
// disks listed in migrate_disks: QEMU mirrors it to an NBD server of the
// destination QEMU while the VM runs, then the memory moves). libvirt's NBD
// server takes its port from the destination's migration port range
// through the same allocator as the memory stream, so the two never
// collide. The driver makes each image on the destination itself,
// beforehand, in the storage pool of its directory (same format and size;
// a qcow2's backing chain is flattened into it), so that it knows what to
// remove if the migration fails and can tell before any job whether the
// destination can take it.
//
// Which storage is shared, the driver finds out as nova does: it writes a
// marker file into the destination's pool of the disk's directory and
// looks for it in the source's pool of the same directory. Hence storage
// pools: every directory a disk lives in must be one on the destination
// (and, to be found shared, on the source), as libvirt's "default" pool is
// for /var/lib/libvirt/images.

// sharedTTL is how long a directory's sharedness, once probed, is trusted.
const sharedTTL = 5 * time.Minute

// diskFacts is a movable disk of the VM, what the source and destination
// say about it, and what happens to it.
type diskFacts struct {
	def                diskDef
	path               string // the image file on the source
	capacity, physical uint64 // bytes: the guest's size, the file's
	relocation         migrate.DiskRelocation
	relocated          bool
	destPath           string // where it is or goes on the destination
	destPool           golibvirt.StoragePool
	destPoolOK         bool   // the destination has a pool for destPath's directory
	destPoolActive     bool   //
	destFree           uint64 // bytes available in destPool
	destExists         bool   // a file is already at destPath
	probe              dirProbe
	dispo              migrate.Disposition
}

// diskPlans is what Check reports of the disks.
func diskPlans(disks []diskFacts) []migrate.DiskPlan {
	if len(disks) == 0 {
		return nil
	}
	out := make([]migrate.DiskPlan, 0, len(disks))
	for _, f := range disks {
		p := migrate.DiskPlan{Disk: f.def.Target, Source: f.path, Dest: f.destPath, Disposition: f.dispo}
		if f.dispo != migrate.DiskShared {
			p.Bytes = f.physical
		}
		out = append(out, p)
	}
	return out
}

// planDisks works out, for each movable disk (defs, of domain dom) of the
// plan's VM, what happens to it, and refuses what cannot be done
// (*migrate.CheckError). dc is a connection to the destination. A VM
// without disks costs no call. For a migration already under way
// (attached), it only classifies: the copies are on their way.
func (d *Driver) planDisks(ctx context.Context, plan migrate.Plan, dom golibvirt.Domain, defs []diskDef, dc *conn, attached bool) ([]diskFacts, error) {
	if err := checkRelocations(plan, defs); err != nil {
		return nil, err
	}
	if len(defs) == 0 {
		return nil, nil
	}
	for _, def := range defs {
		if err := unsupported(def); err != nil {
			return nil, err
		}
	}
	disks, err := d.sourceDisks(ctx, dom, defs)
	if err != nil {
		return nil, &migrate.CheckError{Kind: migrate.InvalidState, Reason: "source host not answering", Err: err}
	}
	for i := range disks {
		disks[i].relocation, disks[i].relocated = relocationFor(plan, disks[i].def.Target, len(disks))
	}
	dctx, cancel := context.WithTimeout(ctx, d.cfg.DestTimeout)
	defer cancel()
	unreachable := func(err error) error {
		if ce := (*migrate.CheckError)(nil); errors.As(err, &ce) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &migrate.CheckError{Kind: migrate.InvalidState, Reason: "destination unreachable: " + plan.DestURI, Err: err}
	}
	if err := d.storageFacts(dctx, dc, disks); err != nil {
		return nil, unreachable(err)
	}
	for i := range disks {
		f := &disks[i]
		if f.def.Type == "network" || !f.destPoolOK || !f.destPoolActive {
			continue
		}
		if f.probe, err = d.probeDir(dctx, dc, plan.DestURI, f.destPool, path.Dir(f.destPath)); err != nil {
			return nil, unreachable(err)
		}
	}
	for i := range disks {
		if attached {
			classify(&disks[i])
			continue
		}
		if err := decide(plan, &disks[i]); err != nil {
			return nil, err
		}
	}
	return disks, nil
}

// unsupported refuses disks the driver cannot move: not a file (a raw
// block device has no counterpart vsmig can make or verify on the
// destination; network disks are fine, they are shared by nature).
func unsupported(def diskDef) error {
	switch def.Type {
	case "file", "volume", "network":
		return nil
	}
	what := def.Type
	if def.Type == "block" {
		what = "the raw block device " + def.Source
	} else if def.Source != "" {
		what = def.Type + " " + def.Source
	}
	return &migrate.CheckError{Kind: migrate.Incompatible,
		Reason: fmt.Sprintf("disk %s is %s: vsmig moves disk images (files) and network disks only; a disk of this type has no counterpart it can make or verify on the destination", def.Target, what)}
}

// sourceDisks reads what the source knows of the movable disks defs of
// dom: their image path (a volume resolved through its pool) and sizes.
func (d *Driver) sourceDisks(ctx context.Context, dom golibvirt.Domain, defs []diskDef) ([]diskFacts, error) {
	return call(ctx, d.main, "read disks", func(h hypervisor) ([]diskFacts, error) {
		var out []diskFacts
		for _, def := range defs {
			f := diskFacts{def: def, path: def.Source}
			if def.Type == "volume" {
				pool, err := h.StoragePoolLookupByName(def.Pool)
				if err != nil {
					return nil, fmt.Errorf("disk %s: pool %s: %w", def.Target, def.Pool, err)
				}
				vol, err := h.StorageVolLookupByName(pool, def.Volume)
				if err != nil {
					return nil, fmt.Errorf("disk %s: volume %s/%s: %w", def.Target, def.Pool, def.Volume, err)
				}
				if f.path, err = h.StorageVolGetPath(vol); err != nil {
					return nil, err
				}
			}
			if def.Type != "network" {
				_, capacity, physical, err := h.DomainGetBlockInfo(dom, def.Target, 0)
				if err != nil {
					return nil, fmt.Errorf("disk %s: %w", def.Target, err)
				}
				f.capacity, f.physical = capacity, physical
			}
			out = append(out, f)
		}
		return out, nil
	})
}

// storageFacts learns, for each disk, its destination path and pool, the
// pool's space, whether a file is already there, and whether its
// directory is shared with the source (probed, see sharedDir).
func (d *Driver) storageFacts(ctx context.Context, dc *conn, disks []diskFacts) error {
	return call0(ctx, dc, "check destination storage", func(dst hypervisor) error {
		for i := range disks {
			f := &disks[i]
			if f.def.Type == "network" {
				f.dispo, f.destPath = migrate.DiskShared, f.path
				continue
			}
			var err error
			f.destPath, err = destPath(f.path, f.relocation, f.relocated,
				func(p string) bool { _, err := dst.StoragePoolLookupByTargetPath(p); return err == nil },
				func(name string) (string, error) { return poolDir(dst, name) })
			if err != nil {
				return &migrate.CheckError{Kind: migrate.Incompatible, Reason: fmt.Sprintf("disk %s: %v", f.def.Target, err)}
			}
			dir := path.Dir(f.destPath)
			if f.destPool, err = dst.StoragePoolLookupByTargetPath(dir); err == nil {
				f.destPoolOK = true
				state, _, _, avail, err := dst.StoragePoolGetInfo(f.destPool)
				if err != nil {
					return err
				}
				f.destPoolActive, f.destFree = golibvirt.StoragePoolState(state) == golibvirt.StoragePoolRunning, avail
				if f.destPoolActive {
					_ = dst.StoragePoolRefresh(f.destPool, 0)
					if _, err := dst.StorageVolLookupByPath(f.destPath); err == nil {
						f.destExists = true
					}
				}
			} else if !notFound(err) {
				return err
			}
		}
		return nil
	})
}

// poolDir is the directory of the destination's storage pool name.
func poolDir(h hypervisor, name string) (string, error) {
	pool, err := h.StoragePoolLookupByName(name)
	if err != nil {
		return "", fmt.Errorf("the destination has no storage pool %q", name)
	}
	xml, err := h.StoragePoolGetXMLDesc(pool, 0)
	if err != nil {
		return "", err
	}
	dir, err := poolTargetPath(xml)
	if err != nil || dir == "" {
		return "", fmt.Errorf("storage pool %q of the destination has no directory", name)
	}
	return dir, nil
}

// classify sets what happens to one disk: a network disk or a file the
// probe found shared stays (unless relocated), the rest is copied.
func classify(f *diskFacts) {
	switch {
	case f.dispo == migrate.DiskShared: // a network disk
	case f.relocated:
		f.dispo = migrate.DiskRelocated
	case f.probe.shared:
		f.dispo = migrate.DiskShared
	default:
		f.dispo = migrate.DiskCopied
	}
}

// decide classifies one disk and refuses what cannot be done with it.
func decide(plan migrate.Plan, f *diskFacts) error {
	incompatible := func(format string, args ...any) error {
		return &migrate.CheckError{Kind: migrate.Incompatible, Reason: fmt.Sprintf("disk %s: ", f.def.Target) + fmt.Sprintf(format, args...)}
	}
	network := f.dispo == migrate.DiskShared
	classify(f)
	if f.dispo == migrate.DiskShared {
		switch {
		case network:
		case plan.Storage.Copy == migrate.CopyAlways:
			return incompatible("%s is on storage both hosts share, and StorageCopy is Always: copied onto itself it would be destroyed; relocate it (NewResourceSettingData) instead", f.path)
		case !f.def.safeShared():
			return incompatible("%s is on storage both hosts share with cache mode %q: the source would keep writes the destination does not see; a shared disk needs cache none or directsync", f.path, cacheText(f.def.Cache))
		}
		return nil
	}
	if plan.Storage.Copy == migrate.CopyNever {
		return incompatible("%s is on storage the destination does not see, and StorageCopy is Never: it would have to be copied", f.path)
	}
	if plan.Type == migrate.Restart {
		return incompatible("%s would have to be copied, and a restart migration cannot copy disks (libvirt's offline migration): use a live or resume migration", f.path)
	}
	switch {
	case !f.destPoolOK:
		return incompatible("the destination has no storage pool for %s to make the copy in: define one there (or relocate the disk)", path.Dir(f.destPath))
	case !f.destPoolActive:
		return incompatible("the destination's storage pool for %s is not active", path.Dir(f.destPath))
	case f.destExists:
		return incompatible("a file already exists at %s on the destination; vsmig does not overwrite it "+
			"(a copy an earlier migration left there? remove it, e.g. virsh vol-delete, or relocate the disk; "+
			"RemoveSourceStorage removes the source's copy after a migration)", f.destPath)
	case f.probe.unwritable != nil:
		return incompatible("%s on the destination is not writable: %v", path.Dir(f.destPath), f.probe.unwritable)
	case f.physical > f.destFree:
		return incompatible("no space for a copy of %s on the destination: it needs %s, the pool of %s has %s free",
			f.path, bytesText(f.physical), path.Dir(f.destPath), bytesText(f.destFree))
	}
	return nil
}

func cacheText(c string) string {
	if c == "" {
		return "default (writeback)"
	}
	return c
}

func bytesText(b uint64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", b)
}

// markerName is a probe file's name: hidden, unique, recognisable.
func markerName() string { return ".vsmig-probe-" + uuid.NewString() }

// isMarker reports whether a volume name is a probe file's.
func isMarker(name string) bool { return strings.HasPrefix(name, ".vsmig-probe-") }
