package wscim

import (
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

// jobInstance is a VSMIG_MigrationJob as the job provider serves it.
func jobInstance(t testing.TB) (*cim.Instance, cim.Registry) {
	t.Helper()
	reg := cimtest.Schemas(t)
	job := cim.NewInstance(cimtest.Class(t, reg, "VSMIG_MigrationJob"), "root/virtualization")
	job.MustSet("InstanceID", "vsmig:5A2C9F44-1111-2222-3333-444455556666")
	job.MustSet("Name", "Migrate vm-01")
	job.MustSet("JobState", 4)
	job.MustSet("OperationalStatus", []uint64{2, 17})
	job.MustSet("PercentComplete", 42)
	job.MustSet("TimeSubmitted", cim.Timestamp(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)))
	job.MustSet("TimeBeforeRemoval", cim.IntervalOf(5*time.Minute))
	job.MustSet("DeleteOnCompletion", true)
	return job, reg
}

func TestSchemaJobGolden(t *testing.T) {
	job, reg := jobInstance(t)
	el := EncodeInstance(job, EncodeOptions{ExcludeNil: true})
	golden(t, "migration_job.golden.xml", writeElement(t, el))
	got, err := DecodeInstance(parseElement(t, writeElement(t, el)), reg, DecodeOptions{Expect: "CIM_ConcreteJob", Namespace: job.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	if !cim.ValuesEqual(job, got) {
		t.Errorf("round trip differs:\n%s", writeElement(t, EncodeInstance(got, EncodeOptions{ExcludeNil: true})))
	}
}

func BenchmarkEncodeInstance(b *testing.B) {
	job, _ := jobInstance(b)
	for b.Loop() {
		EncodeInstance(job, EncodeOptions{})
	}
}

func BenchmarkDecodeInstance(b *testing.B) {
	job, reg := jobInstance(b)
	el := EncodeInstance(job, EncodeOptions{})
	for b.Loop() {
		if _, err := DecodeInstance(el, reg, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
