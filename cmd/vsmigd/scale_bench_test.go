package main

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// Shape of BenchmarkScale1000.
const (
	scaleJobs    = 1000
	scaleClients = 32
	// scaleSpeed runs the simulator 4 times faster than the wall clock
	// (the demo's speed): a 1 GiB VM at 10 MB/s takes ~110 s simulated,
	// ~27 s real, long enough for all 1,000 to run at once for a while.
	scaleSpeed = sim.DemoSpeed
	// scaleWindow is the steady period over which the monitors' CPU is
	// measured, once every job runs.
	scaleWindow = 5 * time.Second
)

// BenchmarkScale1000 is issue #4's "scale on sim": 1,000 concurrent live
// migrations submitted through the WS-Man front end (32 HTTPS clients,
// MigrateVirtualSystemToHost), all running at once, to completion.
//
// The engine's limits are raised so that all 1,000 run together:
// MaxOutgoing = MaxTotal = QueueLength = 1,000, and MaxIncoming at its
// ceiling (migrate.IncomingPortRange, 64 per destination), hence 16
// destination hosts. Each migration is capped at 10 MB/s (simulated) so
// that the first ones accepted still run when the last one starts. The
// engine itself runs on the wall clock, as in the daemon: each monitor
// samples every 500 ms, and each sample is written to the job store.
//
// Figures: jobs/s accepted (and the p99 of an accepting call under that
// load); heap in use per running job (after GC, against the idle stack);
// the whole process's CPU time per running job per second of a steady
// window (monitor, policy, job store, simulator); and the progress
// samples per job per second the monitors achieved (the target is 2).
func BenchmarkScale1000(b *testing.B) {
	for range b.N {
		scaleOnce(b)
	}
}

func scaleOnce(b *testing.B) {
	const n = scaleJobs
	c, dest := benchCluster(b, n, 1<<20, scaleSpeed)
	var samples, done, failed atomic.Int64
	d := startBench(b, c, func(ec *migrate.Config) {
		ec.MaxOutgoing, ec.MaxTotal, ec.QueueLength = n, n, n
		ec.MaxIncoming = migrate.IncomingPortRange
		ec.Bandwidth = benchBandwidth
		ec.OnUpdate = func(u migrate.Update) {
			switch {
			case u.Status == migrate.StatusRunning:
				samples.Add(1)
			case u.Status.Terminal():
				if u.Status != migrate.StatusCompleted {
					failed.Add(1)
				}
				done.Add(1)
			}
		}
	})
	service := d.serviceSelectors(b)
	d.warm(b, scaleClients)

	var idle, steady runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&idle)
	start := time.Now()
	lat, busy, err := d.invokeLoad(b.Context(), service, scaleClients, n, func(i int) (string, string) {
		return sim.VMUUID(vmName(i)), dest(i)
	})
	accepted := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if busy > 0 || len(lat) != n {
		b.Fatalf("%d of %d accepted, %d refused as busy", len(lat), n, busy)
	}

	// Steady state: every job running.
	waitFor(b, 30*time.Second, func() bool { return d.st.eng.Running() == n })
	allRunning := time.Since(start)
	time.Sleep(time.Second) // let the last starts settle
	runtime.GC()
	runtime.ReadMemStats(&steady)
	cpu0, samples0, t0 := cpuTime(), samples.Load(), time.Now()
	time.Sleep(scaleWindow)
	cpu, window := cpuTime()-cpu0, time.Since(t0)
	sampled := samples.Load() - samples0
	if r := d.st.eng.Running(); r != n || done.Load() > 0 {
		b.Errorf("the window was not steady: %d running, %d done at its end", r, done.Load())
	}

	waitFor(b, 60*time.Second, func() bool { return done.Load() == n })
	wall := time.Since(start)
	if failed.Load() > 0 {
		b.Errorf("%d of %d migrations did not complete", failed.Load(), n)
	}
	jobs, err := d.st.store.List(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	completed := 0
	for _, j := range jobs {
		if j.Status == migrate.StatusCompleted {
			completed++
		}
	}

	perJobSecond := float64(n) * window.Seconds()
	b.ReportMetric(n/accepted.Seconds(), "jobs/s")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "accept-p99-ms")
	b.ReportMetric(float64(int64(steady.HeapInuse)-int64(idle.HeapInuse))/n, "heapB/job")
	b.ReportMetric(float64(cpu.Microseconds())/perJobSecond, "cpu-µs/job/s")
	b.ReportMetric(cpu.Seconds()/window.Seconds()*100, "cpu%")
	b.ReportMetric(float64(sampled)/perJobSecond, "samples/job/s")
	b.ReportMetric(allRunning.Seconds(), "all-running-s")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(completed), "completed")
}

// waitFor polls cond until it holds, failing b after timeout.
func waitFor(b *testing.B, timeout time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("condition not reached within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
