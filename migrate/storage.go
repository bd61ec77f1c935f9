package migrate

import "fmt"

// A VM's disks move with it in one of three ways. A disk on storage both
// hosts see (NFS, Ceph, a cluster filesystem) stays where it is: the
// destination opens the same file. A disk on storage only the source sees
// (a file in the host's own images directory, the common case on KVM
// hosts) is copied while the VM runs (libvirt's non-shared-disk migration:
// an NBD mirror from the source's QEMU to an image made beforehand on the
// destination). A relocated disk is copied to a place the client named.

// StorageCopy is the client's rule for copying disks (vsmig's
// VSMIG_VirtualSystemMigrationSettingData.StorageCopy).
type StorageCopy int

const (
	// CopyAuto copies the disks the destination does not see and leaves
	// shared ones where they are (the default).
	CopyAuto StorageCopy = iota
	// CopyNever refuses a migration that would copy a disk.
	CopyNever
	// CopyAlways copies every disk; a shared disk must then be relocated
	// (copied onto itself it would be destroyed).
	CopyAlways
)

func (c StorageCopy) String() string {
	switch c {
	case CopyAuto:
		return "auto"
	case CopyNever:
		return "never"
	case CopyAlways:
		return "always"
	}
	return fmt.Sprintf("StorageCopy(%d)", int(c))
}

// DiskRelocation puts one disk elsewhere on the destination (DSP1081's
// NewResourceSettingData with a storage allocation setting).
type DiskRelocation struct {
	// Disk names the disk by its target device ("vda"); empty means the
	// VM's only disk.
	Disk string
	// To is where it goes: an absolute directory (the file keeps its
	// name), an absolute file path, or the name of a storage pool of the
	// destination (its directory).
	To string
}

// Storage is what the client asked for the VM's disks.
type Storage struct {
	Copy     StorageCopy
	Relocate []DiskRelocation
	// RemoveSource deletes the source's copy of each copied disk once the
	// migration has completed; without it (the default) the files stay.
	RemoveSource bool
}

// Disposition is what a migration does with one disk.
type Disposition int

const (
	DiskShared    Disposition = iota + 1 // stays where it is; the destination sees it
	DiskCopied                           // copied to the same path on the destination
	DiskRelocated                        // copied to another place on the destination
)

func (d Disposition) String() string {
	switch d {
	case DiskShared:
		return "shared"
	case DiskCopied:
		return "copied"
	case DiskRelocated:
		return "relocated"
	}
	return fmt.Sprintf("Disposition(%d)", int(d))
}

// DiskPlan is what a migration will do with one disk of the VM.
type DiskPlan struct {
	Disk        string // target device, e.g. "vda"
	Source      string // path on the source
	Dest        string // path on the destination
	Disposition Disposition
	// Bytes is what a copy sends at most: the image's allocation (zero
	// for a shared disk).
	Bytes uint64
}

func (d DiskPlan) String() string {
	switch d.Disposition {
	case DiskShared:
		return fmt.Sprintf("%s: shared, not copied (%s)", d.Disk, d.Source)
	case DiskRelocated:
		return fmt.Sprintf("%s: relocated, copied from %s to %s (%s)", d.Disk, d.Source, d.Dest, bytesText(d.Bytes))
	}
	return fmt.Sprintf("%s: copied to %s on the destination (%s)", d.Disk, d.Dest, bytesText(d.Bytes))
}

// Assessment is what checking a migration found besides its refusals:
// what it will do with each disk.
type Assessment struct {
	Disks []DiskPlan
}
