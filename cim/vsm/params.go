package vsm

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// settings are the MigrationSettingData of a request.
type settings struct {
	Type migrate.Type
	// Transport is 0 when the request names none: the engine's default
	// applies (migrate.Config.DefaultTransport, resolved once, there).
	Transport migrate.Transport
	Priority  uint16
	Bandwidth uint64 // bytes per second, 0 = engine default
	// Copy and RemoveSource come from vsmig's subclass of the setting
	// data (ClassVsmigSettingData); the DMTF class leaves the defaults.
	Copy         migrate.StorageCopy
	RemoveSource bool
}

// parseSettingData reads a MigrationSettingData (nil = the defaults the
// capabilities advertise).
func (p *Profile) parseSettingData(msd *cim.Instance) (settings, *refusal) {
	s := settings{Type: p.cfg.DefaultType}
	if msd == nil {
		return s, nil
	}
	if r := p.checkEmbedded("MigrationSettingData", msd, ClassSettingData); r != nil {
		return s, r
	}
	if v, ok, r := uintProp(msd, "MigrationType"); r != nil {
		return s, r
	} else if ok {
		switch {
		case v >= 2 && v <= 4:
			s.Type = migrate.Type(v)
		case v == 1 || v >= 32768:
			return s, refuse(RetNotSupported, fmt.Sprintf("MigrationType %d is not supported (2 Live, 3 Resume, 4 Restart are)", v))
		default:
			return s, refuse(RetInvalidParameter, fmt.Sprintf("MigrationType %d is not a valid value", v))
		}
	}
	if v, ok, r := uintProp(msd, "TransportType"); r != nil {
		return s, r
	} else if ok && v != 0 {
		switch {
		case v >= 2 && v <= 5:
			s.Transport = migrate.Transport(v)
		case v == 1 || v == 6 || v >= 32768:
			return s, refuse(RetIncompatible, fmt.Sprintf("TransportType %d is not supported (2 SSH, 3 TLS, 4 TLS Strict, 5 TCP are)", v))
		default:
			return s, refuse(RetInvalidParameter, fmt.Sprintf("TransportType %d is not a valid value", v))
		}
	}
	if v, ok, r := uintProp(msd, "Priority"); r != nil {
		return s, r
	} else if ok {
		if v > math.MaxUint16 {
			return s, refuse(RetInvalidParameter, "Priority is out of range")
		}
		s.Priority = uint16(v)
	}
	bw, ok, r := uintProp(msd, "Bandwidth")
	if r != nil {
		return s, r
	}
	if ok && bw != 0 {
		unit, _ := msd.Get("BandwidthUnit")
		us, _ := unit.(string)
		if s.Bandwidth, r = bandwidthBytes(bw, us, p.cfg.LinkSpeed); r != nil {
			return s, r
		}
	}
	if p.reg.IsA(msd.Class.Name, ClassVsmigSettingData) {
		if r := parseStorageChoices(msd, &s); r != nil {
			return s, r
		}
	}
	return s, nil
}

// parseStorageChoices reads vsmig's StorageCopy and RemoveSourceStorage.
func parseStorageChoices(msd *cim.Instance, s *settings) *refusal {
	if v, ok, r := uintProp(msd, "StorageCopy"); r != nil {
		return r
	} else if ok {
		switch v {
		case 0:
			s.Copy = migrate.CopyAuto
		case 2:
			s.Copy = migrate.CopyNever
		case 3:
			s.Copy = migrate.CopyAlways
		default:
			return refuse(RetInvalidParameter, fmt.Sprintf("StorageCopy %d is not a valid value (0 Automatic, 2 Never, 3 Always)", v))
		}
	}
	switch v, _ := msd.Get("RemoveSourceStorage"); v := v.(type) {
	case nil:
	case bool:
		s.RemoveSource = v
	default:
		return refuse(RetInvalidParameter, "RemoveSourceStorage is not a boolean")
	}
	return nil
}

// bandwidthBytes converts a Bandwidth and its BandwidthUnit (a DSP0004
// programmatic unit such as "byte/second*2^20" or "bit/second*10^6", or
// "percent" of the configured link speed) to bytes per second. An empty
// unit means DefaultBandwidthUnit.
func bandwidthBytes(v uint64, unit string, linkSpeed uint64) (uint64, *refusal) {
	if strings.TrimSpace(unit) == "" {
		unit = DefaultBandwidthUnit
	}
	if strings.EqualFold(strings.TrimSpace(unit), "percent") {
		if v > 100 {
			return 0, refuse(RetInvalidParameter, fmt.Sprintf("Bandwidth %d percent is more than 100", v))
		}
		if linkSpeed == 0 {
			return 0, refuse(RetIncompatible, "Bandwidth in percent needs a configured link speed on this host")
		}
		return uint64(float64(linkSpeed) * float64(v) / 100), nil
	}
	base, mult, err := parsePUnit(unit)
	if err != nil || (base != "byte/second" && base != "bit/second") {
		return 0, refuse(RetInvalidParameter, fmt.Sprintf("BandwidthUnit %q is not a rate in bytes or bits per second", unit))
	}
	f := float64(v) * mult
	if base == "bit/second" {
		f /= 8
	}
	if f >= math.MaxUint64/2 {
		return 0, refuse(RetInvalidParameter, "Bandwidth is out of range")
	}
	return uint64(f), nil
}

// parsePUnit splits a programmatic unit (DSP0004 Annex C) of the simple
// forms vsmig accepts into its base ("byte", "byte/second", "bit/second")
// and its multiplier (the product of the "*2^n" and "*10^n" modifiers).
// Spaces and case are ignored; "/second" may follow the modifiers.
func parsePUnit(s string) (base string, mult float64, err error) {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	mult = 1
	parts := strings.Split(s, "*")
	var b strings.Builder
	for i, part := range parts {
		if i == 0 {
			b.WriteString(part)
			continue
		}
		mod, rest, _ := strings.Cut(part, "/")
		if rest != "" {
			b.WriteString("/" + rest)
		}
		m, err := parseModifier(mod)
		if err != nil {
			return "", 0, err
		}
		mult *= m
	}
	return b.String(), mult, nil
}

// parseModifier parses "2^20", "10^6" or a plain positive integer.
func parseModifier(s string) (float64, error) {
	if base, exp, ok := strings.Cut(s, "^"); ok {
		e, err := strconv.Atoi(exp)
		if err != nil || e < -64 || e > 64 || (base != "2" && base != "10") {
			return 0, fmt.Errorf("bad unit modifier %q", s)
		}
		b, _ := strconv.ParseFloat(base, 64)
		return math.Pow(b, float64(e)), nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad unit modifier %q", s)
	}
	return float64(n), nil
}

// memoryUnits are the legacy AllocationUnits spellings accepted besides
// programmatic units, in bytes.
var memoryUnits = map[string]float64{
	"b": 1, "bytes": 1, "kb": 1 << 10, "kib": 1 << 10, "kilobytes": 1 << 10,
	"mb": 1 << 20, "mib": 1 << 20, "megabytes": 1 << 20,
	"gb": 1 << 30, "gib": 1 << 30, "gigabytes": 1 << 30,
}

// plan is what the embedded setting data change on the destination.
type changes struct {
	NewName      string
	NewMemoryKiB uint64
	NewVCPUs     int
	Relocate     []migrate.DiskRelocation
}

// parseSystemSettingData takes the new name of the virtual system from a
// NewSystemSettingData: its ElementName, else its VirtualSystemIdentifier.
func (p *Profile) parseSystemSettingData(vssd *cim.Instance, c *changes) *refusal {
	if vssd == nil {
		return nil
	}
	if r := p.checkEmbedded("NewSystemSettingData", vssd, ClassSystemSettingData); r != nil {
		return r
	}
	for _, prop := range []string{"ElementName", "VirtualSystemIdentifier"} {
		v, _ := vssd.Get(prop)
		s, _ := v.(string)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, "/\x00\n\r\t") || len(s) > 255 {
			return refuse(RetInvalidParameter, fmt.Sprintf("NewSystemSettingData.%s %q is not a valid virtual system name", prop, s))
		}
		c.NewName = s
		return nil
	}
	return nil
}

// CIM_ResourceAllocationSettingData.ResourceType values vsmig can change.
const (
	resourceProcessor   = 3
	resourceMemory      = 4
	resourceDiskDrive   = 17
	resourceLogicalDisk = 31
)

// parseResourceSettingData applies NewResourceSettingData: memory
// (ResourceType 4, VirtualQuantity in AllocationUnits, "byte*2^20" if
// empty), virtual CPUs (ResourceType 3, VirtualQuantity) and disks
// relocated on the destination (ResourceType 31 Logical Disk or 17 Disk
// Drive, see parseRelocation). Anything else cannot be applied to the
// destination definition: 6.
func (p *Profile) parseResourceSettingData(rasds []*cim.Instance, c *changes) *refusal {
	seen := map[uint64]bool{}
	for i, rasd := range rasds {
		name := fmt.Sprintf("NewResourceSettingData[%d]", i)
		if rasd == nil {
			continue
		}
		if r := p.checkEmbedded(name, rasd, ClassResourceSettingData); r != nil {
			return r
		}
		rt, ok, r := uintProp(rasd, "ResourceType")
		if r != nil {
			return r
		}
		if !ok {
			return refuse(RetInvalidParameter, name+" has no ResourceType")
		}
		if rt == resourceLogicalDisk || rt == resourceDiskDrive {
			reloc, r := parseRelocation(name, rasd)
			if r != nil {
				return r
			}
			for _, o := range c.Relocate {
				if o.Disk == reloc.Disk {
					return refuse(RetIncompatible, fmt.Sprintf("%s: disk %q is relocated twice", name, reloc.Disk))
				}
			}
			c.Relocate = append(c.Relocate, reloc)
			continue
		}
		if rt != resourceMemory && rt != resourceProcessor {
			return refuse(RetIncompatible, fmt.Sprintf("%s: ResourceType %d cannot be changed by a migration (only 3 Processor, 4 Memory, 17 Disk Drive and 31 Logical Disk)", name, rt))
		}
		if seen[rt] {
			return refuse(RetIncompatible, fmt.Sprintf("%s: ResourceType %d is given twice", name, rt))
		}
		seen[rt] = true
		q, ok, r := uintProp(rasd, "VirtualQuantity")
		if r != nil {
			return r
		}
		if !ok || q == 0 {
			return refuse(RetInvalidParameter, name+" needs a non-zero VirtualQuantity")
		}
		u, _ := rasd.Get("AllocationUnits")
		units, _ := u.(string)
		if rt == resourceProcessor {
			if units != "" && !strings.EqualFold(units, "count") && !strings.EqualFold(units, "processor core") {
				return refuse(RetIncompatible, fmt.Sprintf("%s: AllocationUnits %q for processors (count expected)", name, units))
			}
			if q > 4096 {
				return refuse(RetIncompatible, fmt.Sprintf("%s: %d virtual CPUs", name, q))
			}
			c.NewVCPUs = int(q)
			continue
		}
		bytesPer, err := memoryUnit(units)
		if err != nil {
			return refuse(RetIncompatible, fmt.Sprintf("%s: AllocationUnits %q is not a memory unit", name, units))
		}
		kib := float64(q) * bytesPer / 1024
		if kib < 1 || kib > float64(math.MaxUint64/2) {
			return refuse(RetIncompatible, fmt.Sprintf("%s: memory size out of range", name))
		}
		c.NewMemoryKiB = uint64(kib)
	}
	return nil
}

// parseRelocation reads a disk's new place on the destination: which disk
// (AddressOnParent, else ElementName: its target device, "vda"; neither
// for a VM's only disk) and where (HostResource[0], else HostExtentName):
// a storage pool's name, or an absolute path: a directory if it is a
// storage pool's directory on the destination, else the new file.
func parseRelocation(name string, rasd *cim.Instance) (migrate.DiskRelocation, *refusal) {
	var d migrate.DiskRelocation
	for _, prop := range []string{"AddressOnParent", "ElementName"} {
		if v, _ := rasd.Get(prop); v != nil {
			if s, _ := v.(string); s != "" {
				d.Disk = s
				break
			}
		}
	}
	if v, _ := rasd.Get("HostResource"); v != nil {
		if l, _ := v.([]string); len(l) > 0 {
			d.To = l[0]
		}
	}
	if d.To == "" {
		if v, _ := rasd.Get("HostExtentName"); v != nil {
			d.To, _ = v.(string)
		}
	}
	bad := func(format string, args ...any) (migrate.DiskRelocation, *refusal) {
		return d, refuse(RetInvalidParameter, name+": "+fmt.Sprintf(format, args...))
	}
	switch {
	case d.To == "":
		return bad("a disk relocation needs HostResource (the new directory, file or storage pool)")
	case strings.ContainsAny(d.To, "\x00\n\r") || len(d.To) > 4096:
		return bad("HostResource %q is not a path or a pool name", d.To)
	case strings.Contains(d.To, "/") && !path.IsAbs(d.To):
		return bad("HostResource %q is not an absolute path", d.To)
	case strings.ContainsAny(d.Disk, "/\x00\n\r ") || len(d.Disk) > 64:
		return bad("%q does not name a disk (a target device such as vda)", d.Disk)
	}
	if strings.Contains(d.To, "/") {
		d.To = path.Clean(d.To)
	}
	return d, nil
}

// memoryUnit returns the size in bytes of one AllocationUnit of memory.
func memoryUnit(units string) (float64, error) {
	if units == "" {
		return 1 << 20, nil
	}
	if b, ok := memoryUnits[strings.ToLower(strings.TrimSpace(units))]; ok {
		return b, nil
	}
	base, mult, err := parsePUnit(units)
	if err != nil {
		return 0, err
	}
	switch base {
	case "byte":
		return mult, nil
	case "bit":
		return mult / 8, nil
	}
	return 0, fmt.Errorf("not a memory unit")
}

// checkEmbedded refuses an embedded instance that is not of class want.
func (p *Profile) checkEmbedded(param string, inst *cim.Instance, want string) *refusal {
	if inst.Class == nil || !p.reg.IsA(inst.Class.Name, want) {
		got := "<none>"
		if inst.Class != nil {
			got = inst.Class.Name
		}
		return refuse(RetInvalidParameter, fmt.Sprintf("%s is an instance of %s, not %s", param, got, want))
	}
	return nil
}

// uintProp reads an unsigned integer property of an embedded instance:
// ok is false when it is absent or NULL; a value of another type is
// refused with 4.
func uintProp(inst *cim.Instance, name string) (v uint64, ok bool, r *refusal) {
	raw, _ := inst.Get(name)
	switch x := raw.(type) {
	case nil:
		return 0, false, nil
	case uint64:
		return x, true, nil
	case int64:
		if x >= 0 {
			return uint64(x), true, nil
		}
	case string:
		if n, err := strconv.ParseUint(strings.TrimSpace(x), 10, 64); err == nil {
			return n, true, nil
		}
	}
	return 0, false, refuse(RetInvalidParameter, fmt.Sprintf("%s.%s: %v is not an unsigned integer", inst.Class.Name, name, raw))
}
