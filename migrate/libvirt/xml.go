package libvirt

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// hostCaps is what the driver reads from the capabilities XML.
type hostCaps struct {
	UUID     string
	Arch     string
	CPUModel string
	// KVM is true if the host offers <domain type='kvm'> guests.
	KVM bool
}

func parseCaps(s string) (hostCaps, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return hostCaps{}, fmt.Errorf("capabilities XML: %w", err)
	}
	var c hostCaps
	root := doc.SelectElement("capabilities")
	if root == nil {
		return c, fmt.Errorf("capabilities XML: no <capabilities> element")
	}
	if e := root.FindElement("host/uuid"); e != nil {
		c.UUID = strings.ToLower(strings.TrimSpace(e.Text()))
	}
	if e := root.FindElement("host/cpu/arch"); e != nil {
		c.Arch = strings.TrimSpace(e.Text())
	}
	if e := root.FindElement("host/cpu/model"); e != nil {
		c.CPUModel = strings.TrimSpace(e.Text())
	}
	for _, d := range root.FindElements("guest/arch/domain") {
		if d.SelectAttrValue("type", "") == "kvm" {
			c.KVM = true
		}
	}
	return c, nil
}

// domainEdit is a change to a domain definition for the destination.
type domainEdit struct {
	Name      string // empty keeps the name
	MemoryKiB uint64 // zero keeps the memory
	VCPUs     int    // zero keeps the vCPU count
}

func (e domainEdit) empty() bool { return e == domainEdit{} }

// editDomainXML applies e to a domain XML document. Memory sets both
// <memory> and <currentMemory>; vCPUs set <vcpu> (dropping a "current"
// attribute larger than the new count).
func editDomainXML(s string, e domainEdit) (string, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return "", fmt.Errorf("domain XML: %w", err)
	}
	dom := doc.SelectElement("domain")
	if dom == nil {
		return "", fmt.Errorf("domain XML: no <domain> element")
	}
	if e.Name != "" {
		child(dom, "name").SetText(e.Name)
	}
	if e.MemoryKiB > 0 {
		kib := strconv.FormatUint(e.MemoryKiB, 10)
		for _, tag := range []string{"memory", "currentMemory"} {
			m := child(dom, tag)
			m.CreateAttr("unit", "KiB")
			m.SetText(kib)
		}
		// A balloon-less maximum above the new size would not boot the
		// new size: drop <maxMemory> only if it is now smaller.
		if mm := dom.SelectElement("maxMemory"); mm != nil {
			if v, err := strconv.ParseUint(strings.TrimSpace(mm.Text()), 10, 64); err == nil &&
				mm.SelectAttrValue("unit", "KiB") == "KiB" && v < e.MemoryKiB {
				dom.RemoveChild(mm)
			}
		}
	}
	if e.VCPUs > 0 {
		v := child(dom, "vcpu")
		if cur, err := strconv.Atoi(v.SelectAttrValue("current", "")); err == nil && cur > e.VCPUs {
			v.RemoveAttr("current")
		}
		v.SetText(strconv.Itoa(e.VCPUs))
	}
	doc.Indent(2)
	return doc.WriteToString()
}

// child returns parent's first child named tag, creating it if absent.
func child(parent *etree.Element, tag string) *etree.Element {
	if c := parent.SelectElement(tag); c != nil {
		return c
	}
	return parent.CreateElement(tag)
}

// domainFacts is what Check reads from a domain's XML.
type domainFacts struct {
	Type string // "kvm" or "qemu"
	// CPU is the <cpu> element as XML, for ConnectCompareCPU; empty if the
	// domain has none or it names no model.
	CPU string
	// NICs are its network interfaces, whose networks or bridges the
	// destination must have; Disks its disks that move (diskDef.moves).
	NICs  []nicDef
	Disks []diskDef
	// MemoryBytes is the guest's memory (<memory>), 0 if unreadable.
	MemoryBytes uint64
}

func parseDomainFacts(s string) (domainFacts, error) {
	dom, err := domainRoot(s)
	if err != nil {
		return domainFacts{}, err
	}
	f := domainFacts{Type: dom.SelectAttrValue("type", "")}
	if cpu := dom.SelectElement("cpu"); cpu != nil && cpu.SelectElement("model") != nil {
		d := etree.NewDocument()
		d.SetRoot(cpu.Copy())
		f.CPU, _ = d.WriteToString()
	}
	if m := dom.SelectElement("memory"); m != nil {
		f.MemoryBytes = memoryBytes(strings.TrimSpace(m.Text()), m.SelectAttrValue("unit", "KiB"))
	}
	var disks []diskDef
	disks, f.NICs = parseDevices(dom)
	for _, d := range disks {
		if d.moves() {
			f.Disks = append(f.Disks, d)
		}
	}
	return f, nil
}

// domainRoot parses a domain's XML and returns its <domain> element.
func domainRoot(s string) (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return nil, fmt.Errorf("domain XML: %w", err)
	}
	dom := doc.SelectElement("domain")
	if dom == nil {
		return nil, fmt.Errorf("domain XML: no <domain> element")
	}
	return dom, nil
}

// poolTargetPath reads the directory of a storage pool from its XML.
func poolTargetPath(s string) (string, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		return "", fmt.Errorf("storage pool XML: %w", err)
	}
	if p := doc.FindElement("pool/target/path"); p != nil {
		return strings.TrimSpace(p.Text()), nil
	}
	return "", nil
}

// memoryBytes reads a libvirt memory size in unit (b, KiB, MiB, GiB, TiB,
// and the decimal KB, MB, GB, TB); 0 if unreadable.
func memoryBytes(v, unit string) uint64 {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0
	}
	mult := map[string]uint64{"b": 1, "bytes": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6, "g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[strings.ToLower(unit)]
	return n * mult
}
