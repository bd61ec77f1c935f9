package main

import (
	"fmt"
	"testing"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// BenchmarkEnumerate10k is issue #3's enumeration figure: one client
// enumerates CIM_ComputerSystem (the host and its 10,000 VMs) over HTTPS
// with keep-alive and cached Basic credentials, EnumerateObjectAndEPR,
// optimized, MaxElements 500 in the Enumerate and in every Pull, pulled
// to the end. One op is one whole enumeration; instances/s counts every
// item the client received.
func BenchmarkEnumerate10k(b *testing.B) {
	const n = 10000
	c, _ := benchCluster(b, n, 1<<20, 1)
	d := startBench(b, c, nil)
	ctx := b.Context()
	items, responses, err := d.enumerateAll(ctx, uriComputerSystem, nil) // warm up, and check
	if err != nil {
		b.Fatal(err)
	}
	if items != n+1 {
		b.Fatalf("enumeration returned %d items, want %d (the host and %d VMs)", items, n+1, n)
	}
	total := 0
	for b.Loop() {
		got, _, err := d.enumerateAll(ctx, uriComputerSystem, nil)
		if err != nil {
			b.Fatal(err)
		}
		total += got
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "instances/s")
	b.ReportMetric(float64(responses), "responses/op")
	b.ReportMetric(float64(items)/float64(responses), "items/response")
}

// BenchmarkInvokeAccept is issue #3's Invoke figure: 1, 8 or 32
// concurrent clients each call MigrateVirtualSystemToHost for a VM of their own, and
// each call is answered 4096 once the job is durably recorded (bbolt,
// fsync'ed). The engine keeps its default limits (2 migrations run at
// once) with a queue long enough for every job, so admission does not
// refuse; refusals (5) would be counted in busy, not in the latencies.
// One op is one Invoke; accepts/s, p50 and p99 are of accepted calls;
// cpu% is the whole process's (client and server; 200 is both cores).
func BenchmarkInvokeAccept(b *testing.B) {
	for _, clients := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("clients-%d", clients), func(b *testing.B) {
			c, dest := benchCluster(b, b.N, 1<<20, 1)
			d := startBench(b, c, func(ec *migrate.Config) { ec.QueueLength = b.N + 1 })
			service := d.serviceSelectors(b)
			d.warm(b, clients)
			b.ResetTimer()
			cpu0 := cpuTime()
			lat, busy, err := d.invokeLoad(b.Context(), service, clients, b.N, func(i int) (string, string) {
				return sim.VMUUID(vmName(i)), dest(i)
			})
			b.StopTimer()
			cpu := cpuTime() - cpu0
			if err != nil {
				b.Fatal(err)
			}
			jobs, err := d.st.store.List(b.Context())
			if err != nil || len(jobs) != len(lat) {
				b.Fatalf("store holds %d jobs after %d accepted calls (%v)", len(jobs), len(lat), err)
			}
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "accepts/s")
			b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(busy), "busy")
			b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds()*100, "cpu%")
		})
	}
}
