package libvirt

import (
	"strings"
	"testing"
)

// FuzzDomainXML feeds arbitrary documents to the XML readers and editor:
// they must never panic, and an edit that succeeds must produce a
// document that reads back with the new name.
func FuzzDomainXML(f *testing.F) {
	f.Add(domainXML, "web2")
	f.Add(`<domain type='qemu'><name>a</name></domain>`, "b")
	f.Add(`<capabilities><host><uuid>x</uuid></host></capabilities>`, "")
	f.Add(`<domain><vcpu current='x'>y</vcpu><maxMemory unit='GiB'>z</maxMemory></domain>`, "n")
	f.Fuzz(func(t *testing.T, doc, name string) {
		_, _ = parseCaps(doc)
		_, _ = parseDomainFacts(doc)
		out, err := editDomainXML(doc, domainEdit{Name: name, MemoryKiB: 1024, VCPUs: 2})
		if err != nil || name == "" || strings.ContainsAny(name, "\x00\r") {
			return
		}
		if _, err := parseDomainFacts(out); err != nil {
			t.Fatalf("edited document does not parse: %v\n%s", err, out)
		}
	})
}
