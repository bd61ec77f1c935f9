package vsm

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
	"github.com/vsmig/vsmig/migrate/sim"
)

// benchProfile is a Profile over an engine on a simulated host with n
// running VMs (UUIDs benchVM(i)) and its jobs in store.
func benchProfile(b *testing.B, n int, store migrate.Store) *Profile {
	b.Helper()
	clk := migrate.ScaledClock(testSpeed)
	vms := make([]sim.VMConfig, n)
	for i := range vms {
		vms[i] = sim.VMConfig{Name: fmt.Sprintf("vm%d", i), UUID: benchVM(i), Host: testHost, MemoryKiB: gib}
	}
	c, err := sim.NewCluster(sim.Config{Clock: clk, VMs: vms, Hosts: []sim.HostConfig{
		{Name: testHost, MemoryKiB: 1 << 40}, {Name: "host2.lab", MemoryKiB: 1 << 40}}})
	if err != nil {
		b.Fatal(err)
	}
	cfg := migrate.DefaultConfig()
	cfg.Clock, cfg.Store, cfg.MaxOutgoing, cfg.MaxTotal, cfg.QueueLength = clk, store, 1, 1, n
	// Nothing starts: the first job takes the only slot and never leaves
	// Start, the others wait; the benchmark measures admission alone.
	gate := make(chan struct{})
	b.Cleanup(func() { close(gate) })
	e, err := migrate.New(cfg, &testDriver{Driver: c.Host(testHost), gate: gate})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Shutdown(b.Context()) })
	p, err := New(Config{Registry: testRegistry(b), Engine: e, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func benchVM(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }

// BenchmarkMigrateAccept measures the Invoke path of
// MigrateVirtualSystemToHost up to its 4096 answer: parameter checks, the
// engine's rules (the VM, admission, the simulated destination check),
// the durable (fsync'ed bbolt) job record and the queueing. It reports
// the p99 latency; the target is 10 ms.
func BenchmarkMigrateAccept(b *testing.B) {
	store, err := boltstore.Open(filepath.Join(b.TempDir(), "jobs.db"), boltstore.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	// Many VMs, so that every call migrates a VM that is not migrating.
	p := benchProfile(b, b.N, store)
	b.Cleanup(func() { store.Close() })
	svc := serviceProvider{p}
	ctx := b.Context()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		ret, _, err := svc.InvokeMethod(ctx, p.servicePath(), MethodMigrateToHost, map[string]any{
			"ComputerSystem":  cim.ObjectPath{ClassName: ClassComputerSystem, Keys: []cim.KeyBinding{{Name: "Name", Value: benchVM(i)}}},
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
	p := benchProfile(b, 10000, nil)
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
