package libvirt

import (
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

const mib = 1 << 20

// migrateFlags returns the libvirt flags that carry out plan for a VM
// found in state was: always peer-to-peer, persistent on the destination
// and undefined on the source, so the VM is defined on exactly one host
// when it succeeds. A VM that was paused stays paused on the destination
// (migrate.StateAllows): libvirt does so by itself for a paused domain,
// and PAUSED says it rather than rely on it.
func migrateFlags(p migrate.Plan, was migrate.DomainState) golibvirt.DomainMigrateFlags {
	f := golibvirt.MigratePeer2peer | golibvirt.MigratePersistDest | golibvirt.MigrateUndefineSource
	switch p.Type {
	case migrate.Live:
		f |= golibvirt.MigrateLive
	case migrate.Resume:
		// Without LIVE the guest is paused for the transfer, and without
		// PAUSED it is resumed on the destination.
	case migrate.Restart:
		return f | golibvirt.MigrateOffline
	}
	if was == migrate.StatePaused {
		f |= golibvirt.MigratePaused
	}
	if p.AutoConverge {
		f |= golibvirt.MigrateAutoConverge
	}
	if p.PostCopy {
		f |= golibvirt.MigratePostcopy
	}
	if p.Transport == migrate.TLSStrict {
		// Encrypt the migration stream itself, not only the control
		// connection (needs QEMU TLS certificates on both hosts).
		f |= golibvirt.MigrateTLS
	}
	return f
}

// migrateParams returns the typed parameters of plan. xml is the VM's
// migratable definition (inactive for Restart), name its current name, sm
// the disks it moves (nil for none).
//
// New memory and vCPU counts cannot change a running guest's ABI, so for
// Live and Resume they go into the persistent definition on the
// destination (used from the next boot), while the running guest keeps its
// own. For Restart the guest is off, and the new definition is the one it
// boots with. A relocated disk's new path is host-side configuration: it
// goes into both the running guest's definition (DestXML) and the
// persistent one. The copied disks are listed in migrate_disks, and in
// migrate_disks_detect_zeroes where both hosts' libvirt has it.
func migrateParams(p migrate.Plan, xml, name string, sm *storageMove) ([]golibvirt.TypedParam, error) {
	var params []golibvirt.TypedParam
	str := func(k, v string) {
		params = append(params, golibvirt.TypedParam{Field: k, Value: *golibvirt.NewTypedParamValueString(v)})
	}
	newName := name
	if p.NewName != "" && p.NewName != name {
		newName = p.NewName
		str(golibvirt.MigrateParamDestName, newName)
	}
	edit := domainEdit{MemoryKiB: p.NewMemoryKiB, VCPUs: p.NewVCPUs}
	relocate := sm.relocations()
	if !edit.empty() || len(relocate) > 0 || p.Type == migrate.Restart && newName != name {
		edit.Name = newName
		def, err := editDomainXML(xml, edit)
		if err != nil {
			return nil, err
		}
		if def, err = relocateDisks(def, relocate); err != nil {
			return nil, err
		}
		if p.Type == migrate.Restart {
			str(golibvirt.MigrateParamDestXML, def)
		} else {
			str(golibvirt.MigrateParamPersistXML, def)
		}
	}
	if p.Type != migrate.Restart && len(relocate) > 0 {
		// The running guest as it is, its disks on their new paths (its
		// name changes through DestName).
		live, err := relocateDisks(xml, relocate)
		if err != nil {
			return nil, err
		}
		str(golibvirt.MigrateParamDestXML, live)
	}
	for _, target := range sm.copies() {
		str(golibvirt.MigrateParamMigrateDisks, target)
		if sm.detectZeroes {
			str(golibvirt.MigrateParamMigrateDisksDetectZeroes, target)
		}
	}
	if p.Bandwidth > 0 {
		params = append(params, golibvirt.TypedParam{Field: golibvirt.MigrateParamBandwidth,
			Value: *golibvirt.NewTypedParamValueUllong((p.Bandwidth + mib - 1) / mib)})
	}
	if u := dataURI(p); u != "" {
		str(golibvirt.MigrateParamURI, u)
	}
	return params, nil
}

// dataURI is where the source's QEMU sends the migration stream: the
// destination address the plan names, so a destination whose host name
// resolves to a loopback address still works. libvirt picks the port from
// the destination's migration port range. Offline migrations have no
// stream.
func dataURI(p migrate.Plan) string {
	if p.Type == migrate.Restart || p.DestHost == "" {
		return ""
	}
	host := strings.Trim(p.DestHost, "[]")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "tcp://" + host
}
