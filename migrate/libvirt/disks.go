package libvirt

import (
	"fmt"
	"path"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/migrate"
)

// diskDef is a disk of a domain's definition, as the storage plan needs
// it.
type diskDef struct {
	Target string // target device, "vda"
	Device string // disk, lun, cdrom, floppy
	Type   string // file, block, network, volume, dir, nvme, vhostuser
	// Source is the file (type file) or device (type block) path; for
	// type volume, Pool and Volume name it instead.
	Source       string
	Pool, Volume string
	Format       string // the driver's type: qcow2, raw, ...
	Cache        string // the driver's cache mode; "" is libvirt's default
	ReadOnly     bool
	Shareable    bool
}

// nicDef is a network interface of a domain's definition.
type nicDef struct {
	Type    string // network, bridge, direct, user, ...
	Network string // type network: the libvirt network
	Bridge  string // type bridge: the host bridge
	MAC     string
}

// parseDevices reads the disks and NICs of a domain's definition.
func parseDevices(dom *etree.Element) (disks []diskDef, nics []nicDef) {
	devs := dom.SelectElement("devices")
	if devs == nil {
		return nil, nil
	}
	for _, d := range devs.SelectElements("disk") {
		disk := diskDef{
			Type:      d.SelectAttrValue("type", "file"),
			Device:    d.SelectAttrValue("device", "disk"),
			ReadOnly:  d.SelectElement("readonly") != nil,
			Shareable: d.SelectElement("shareable") != nil,
		}
		if t := d.SelectElement("target"); t != nil {
			disk.Target = t.SelectAttrValue("dev", "")
		}
		if drv := d.SelectElement("driver"); drv != nil {
			disk.Format = drv.SelectAttrValue("type", "")
			disk.Cache = drv.SelectAttrValue("cache", "")
		}
		if s := d.SelectElement("source"); s != nil {
			switch disk.Type {
			case "file":
				disk.Source = s.SelectAttrValue("file", "")
			case "block":
				disk.Source = s.SelectAttrValue("dev", "")
			case "dir":
				disk.Source = s.SelectAttrValue("dir", "")
			case "volume":
				disk.Pool, disk.Volume = s.SelectAttrValue("pool", ""), s.SelectAttrValue("volume", "")
			case "network":
				disk.Source = s.SelectAttrValue("protocol", "") + ":" + s.SelectAttrValue("name", "")
			}
		}
		disks = append(disks, disk)
	}
	for _, n := range devs.SelectElements("interface") {
		nic := nicDef{Type: n.SelectAttrValue("type", "")}
		if s := n.SelectElement("source"); s != nil {
			nic.Network = s.SelectAttrValue("network", "")
			nic.Bridge = s.SelectAttrValue("bridge", "")
		}
		if m := n.SelectElement("mac"); m != nil {
			nic.MAC = m.SelectAttrValue("address", "")
		}
		nics = append(nics, nic)
	}
	return disks, nics
}

// moves reports whether a migration has anything to do with d: disks and
// LUNs with a source. CD-ROMs and floppies are media the destination must
// offer itself, as libvirt expects; empty drives have nothing to move.
func (d diskDef) moves() bool {
	return (d.Device == "disk" || d.Device == "lun") && (d.Source != "" || d.Volume != "")
}

// safeShared reports whether d may stay on storage both hosts use while
// the VM moves: QEMU must not cache its writes on the source (cache none
// or directsync), unless nothing writes it.
func (d diskDef) safeShared() bool {
	return d.ReadOnly || d.Shareable || d.Cache == "none" || d.Cache == "directsync"
}

// relocationFor finds the client's relocation of disk target among the
// plan's (an unnamed relocation means the VM's only movable disk).
func relocationFor(p migrate.Plan, target string, movable int) (migrate.DiskRelocation, bool) {
	for _, r := range p.Storage.Relocate {
		if r.Disk == target || r.Disk == "" && movable == 1 {
			return r, true
		}
	}
	return migrate.DiskRelocation{}, false
}

// checkRelocations refuses relocations of disks the VM does not have, and
// an unnamed one when the VM has several disks.
func checkRelocations(p migrate.Plan, disks []diskDef) error {
	var movable []string
	for _, d := range disks {
		if d.moves() {
			movable = append(movable, d.Target)
		}
	}
	for _, r := range p.Storage.Relocate {
		switch {
		case r.Disk == "" && len(movable) != 1:
			return &migrate.CheckError{Kind: migrate.InvalidParameter,
				Reason: fmt.Sprintf("a relocation without a disk name needs a VM with one disk; this one has %d (%s): name it with AddressOnParent", len(movable), strings.Join(movable, ", "))}
		case r.Disk != "" && !contains(movable, r.Disk):
			return &migrate.CheckError{Kind: migrate.InvalidParameter,
				Reason: fmt.Sprintf("the VM has no disk %q to relocate (its disks: %s)", r.Disk, strings.Join(movable, ", "))}
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// relocateDisks rewrites the sources of the relocated disks in a domain
// definition: to holds the new path of each disk by target device.
func relocateDisks(xml string, to map[string]string) (string, error) {
	if len(to) == 0 {
		return xml, nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		return "", fmt.Errorf("domain XML: %w", err)
	}
	devs := doc.FindElement("domain/devices")
	if devs == nil {
		return "", fmt.Errorf("domain XML: no devices")
	}
	done := 0
	for _, d := range devs.SelectElements("disk") {
		t := d.SelectElement("target")
		if t == nil {
			continue
		}
		p, ok := to[t.SelectAttrValue("dev", "")]
		if !ok {
			continue
		}
		// The new place is a plain file, whatever the disk was.
		d.CreateAttr("type", "file")
		if old := d.SelectElement("source"); old != nil {
			d.RemoveChild(old)
		}
		src := etree.NewElement("source")
		src.CreateAttr("file", p)
		d.InsertChildAt(sourceIndex(d), src)
		done++
	}
	if done != len(to) {
		return "", fmt.Errorf("domain XML: %d of %d relocated disks found", done, len(to))
	}
	return doc.WriteToString()
}

// sourceIndex is where <source> goes in a <disk>: after <driver>, as
// libvirt writes it (libvirt accepts any order).
func sourceIndex(d *etree.Element) int {
	if drv := d.SelectElement("driver"); drv != nil {
		return drv.Index() + 1
	}
	return 0
}

// destPath is where a disk's image goes on the destination: its own path,
// or for a relocation the pool's or directory's path with the image's
// name, or the file named. isDir tells whether an absolute path names a
// directory (a storage pool's) rather than a file; poolPath resolves a
// pool name.
func destPath(src string, r migrate.DiskRelocation, relocated bool, isDir func(string) bool, poolPath func(string) (string, error)) (string, error) {
	if !relocated {
		return src, nil
	}
	switch {
	case !strings.Contains(r.To, "/"):
		dir, err := poolPath(r.To)
		if err != nil {
			return "", err
		}
		return path.Join(dir, path.Base(src)), nil
	case isDir(r.To):
		return path.Join(r.To, path.Base(src)), nil
	}
	return r.To, nil
}
