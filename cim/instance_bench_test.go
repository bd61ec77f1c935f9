package cim_test

import (
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/schemas"
)

// BenchmarkJobInstance builds and reads a VSMIG_MigrationJob the way the
// job provider does on every Get of a running migration.
func BenchmarkJobInstance(b *testing.B) {
	c, ok := schemas.MustLoad().Class("VSMIG_MigrationJob")
	if !ok {
		b.Fatal("no VSMIG_MigrationJob")
	}
	for b.Loop() {
		inst := cim.NewInstance(c, "root/virtualization")
		inst.MustSet("InstanceID", "vsmig:6f1c")
		inst.MustSet("Name", "migrate vm1")
		inst.MustSet("JobState", 4)
		inst.MustSet("OperationalStatus", []uint64{2})
		inst.MustSet("PercentComplete", 42)
		inst.MustSet("DataTotal", uint64(8<<30))
		inst.MustSet("DataProcessed", uint64(3<<30))
		inst.MustSet("DataRemaining", uint64(5<<30))
		inst.MustSet("DirtyRate", uint64(100<<20))
		inst.MustSet("VirtualSystemName", "vm1")
		n := 0
		for _, v := range inst.Properties() {
			if v != nil {
				n++
			}
		}
		if n != 10 {
			b.Fatal(n)
		}
		_ = inst.Path().String()
	}
}
