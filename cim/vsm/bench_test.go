package vsm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/cim/job/jobtest"
	"github.com/vsmig/vsmig/migrate"
)

// BenchmarkMigrateAccept measures the Invoke path of
// MigrateVirtualSystemToHost up to its 4096 answer: parameter checks, the
// (fake, instant) engine check, the durable (fsync'ed bbolt) job record
// and the submission. It reports the p99 latency; the target is 10 ms.
func BenchmarkMigrateAccept(b *testing.B) {
	store := jobtest.NewTempStore(b)
	eng := newFakeEngine()
	// Many VMs, so that every call migrates a VM that is not migrating.
	for i := range b.N {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		eng.doms[id] = migrate.Domain{UUID: id, Name: fmt.Sprintf("vm%d", i), State: migrate.StateRunning}
	}
	p, err := New(Config{Registry: testRegistry(b), Store: store, Engine: eng, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	svc := serviceProvider{p}
	ctx := b.Context()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		start := time.Now()
		ret, _, err := svc.InvokeMethod(ctx, p.servicePath(), MethodMigrateToHost, map[string]any{
			"ComputerSystem":  cim.ObjectPath{ClassName: ClassComputerSystem, Keys: []cim.KeyBinding{{Name: "Name", Value: id}}},
			"DestinationHost": "host2.lab",
		})
		lat = append(lat, time.Since(start))
		if err != nil || ret != uint64(4096) {
			b.Fatal(ret, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEnumerateVMs builds the CIM_ComputerSystem instances of 10 000
// virtual systems, what one full enumeration costs the provider.
func BenchmarkEnumerateVMs(b *testing.B) {
	eng := newFakeEngine()
	for i := range 10000 {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		eng.doms[id] = migrate.Domain{UUID: id, Name: fmt.Sprintf("vm%d", i), State: migrate.StateRunning}
	}
	p, err := New(Config{Registry: testRegistry(b), Store: job.NewMemory(), Engine: eng, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	sp := &systemProvider{p}
	ctx := b.Context()
	b.ResetTimer()
	for range b.N {
		insts, err := sp.EnumerateInstances(ctx, DefaultNamespace, ClassComputerSystem)
		if err != nil || len(insts) < 5 {
			b.Fatal(len(insts), err)
		}
	}
	b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "instances/s")
}
