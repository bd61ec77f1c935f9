package migrate_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// scaleCluster is one source host with n VMs of 1 GiB and enough
// destinations that no destination exceeds its incoming limit.
func scaleCluster(b testing.TB, clk migrate.Clock, n, perDest int) (*sim.Cluster, []string) {
	hosts := []sim.HostConfig{{Name: "src", CPUModel: "x", MemoryKiB: uint64(n+1) * gib, Bandwidth: uint64(n) * 100e6}}
	var dests []string
	for i := 0; i < (n+perDest-1)/perDest; i++ {
		name := fmt.Sprintf("dst-%02d", i)
		dests = append(dests, name)
		hosts = append(hosts, sim.HostConfig{Name: name, CPUModel: "x", MemoryKiB: uint64(perDest+1) * gib})
	}
	var vms []sim.VMConfig
	for i := 0; i < n; i++ {
		vms = append(vms, sim.VMConfig{Name: fmt.Sprintf("vm-%04d", i), Host: "src", MemoryKiB: gib, DirtyRate: 10e6, WorkingSet: 64e6})
	}
	c, err := sim.NewCluster(sim.Config{Clock: clk, Hosts: hosts, VMs: vms})
	if err != nil {
		b.Fatal(err)
	}
	return c, dests
}

func scaleEngine(b testing.TB, c *sim.Cluster, clk migrate.Clock, n int, onUpdate func(migrate.Update)) *migrate.Engine {
	cfg := migrate.DefaultConfig()
	cfg.Clock = clk
	cfg.MaxOutgoing, cfg.MaxTotal, cfg.MaxIncoming, cfg.QueueLength = n, n, migrate.IncomingPortRange, n
	cfg.OnUpdate = onUpdate
	cfg.Bandwidth = 100e6 // each migration alone takes ~11 s simulated
	e, err := migrate.New(cfg, c.Host("src"))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func shutdown(b testing.TB, e *migrate.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		b.Error(err)
	}
}

// BenchmarkSubmit measures accepting a job: every rule of Submit (the
// form, the VM lookup, its state, admission, the simulated destination's
// check), the job's record (in memory) and the queueing. Jobs queue behind
// one slot, taken by a migration that never leaves Start, so that only
// admission is measured.
func BenchmarkSubmit(b *testing.B) {
	clk := migrate.SystemClock()
	c, dests := scaleCluster(b, clk, b.N, 64)
	cfg := migrate.DefaultConfig()
	cfg.Clock = clk
	cfg.MaxOutgoing, cfg.MaxTotal, cfg.QueueLength = 1, 1, b.N
	e, err := migrate.New(cfg, heldDriver{c.Host("src")})
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown(b, e)
	reqs := make([]migrate.Request, b.N)
	for i := range reqs {
		reqs[i] = migrate.Request{JobID: fmt.Sprint("j", i), Submitted: time.Unix(int64(i), 0),
			Plan: migrate.Plan{VM: sim.VMUUID(fmt.Sprintf("vm-%04d", i)), Type: migrate.Live, DestHost: dests[i/64]}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := errOf(e.Submit(ctx, reqs[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// heldDriver's migrations never leave Start (until the engine shuts down).
type heldDriver struct{ migrate.Driver }

func (heldDriver) Start(ctx context.Context, _ migrate.Plan) (migrate.Migration, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// BenchmarkConcurrent1000 runs 1,000 live migrations at once on the
// simulator, 20 times faster than real time (a 1 GiB VM takes ~11 s
// simulated, ~0.6 s real; the monitors poll every 25 ms real). It reports
// how fast the jobs were accepted, the heap and goroutines per running
// job, and the CPU the whole process spent per progress sample (monitor,
// policy and simulator together).
func BenchmarkConcurrent1000(b *testing.B) {
	const n = 1000
	for range b.N {
		clk := migrate.ScaledClock(20)
		c, dests := scaleCluster(b, clk, n, 50)
		var samples, done atomic.Int64
		var failed atomic.Int64
		finished := make(chan struct{})
		e := scaleEngine(b, c, clk, n, func(u migrate.Update) {
			switch {
			case u.Status == migrate.StatusRunning:
				samples.Add(1)
			case u.Status.Terminal():
				if u.Status != migrate.StatusCompleted {
					failed.Add(1)
				}
				if done.Add(1) == n {
					close(finished)
				}
			}
		})
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		cpu0 := cpuTime()
		start := time.Now()
		ctx := context.Background()
		for i := range n {
			r := migrate.Request{JobID: fmt.Sprint("j", i), Submitted: time.Now(),
				Plan: migrate.Plan{VM: sim.VMUUID(fmt.Sprintf("vm-%04d", i)), Type: migrate.Live, DestHost: dests[i/50]}}
			if err := errOf(e.Submit(ctx, r)); err != nil {
				b.Fatal(err)
			}
		}
		accepted := time.Since(start)
		running := e.Running()
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		select {
		case <-finished:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d done", done.Load(), n)
		}
		wall := time.Since(start)
		cpu := cpuTime() - cpu0
		shutdown(b, e)
		if failed.Load() > 0 {
			b.Errorf("%d migrations failed", failed.Load())
		}
		b.ReportMetric(n/accepted.Seconds(), "jobs/s")
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heapB/job")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/job")
		b.ReportMetric(float64(samples.Load())/n, "samples/job")
		b.ReportMetric(float64(cpu.Microseconds())/float64(samples.Load()), "cpu-µs/sample")
		b.ReportMetric(cpu.Seconds()/wall.Seconds()*100, "cpu%")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(running), "running")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestManyConcurrent is the scale path in small: 100 migrations at once
// all complete and leave nothing behind.
func TestManyConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 100
	clk := migrate.ScaledClock(testSpeed)
	c, dests := scaleCluster(t, clk, n, 50)
	rec := newRecorder()
	e := scaleEngine(t, c, clk, n, rec.record)
	defer shutdown(t, e)
	for i := range n {
		r := migrate.Request{JobID: fmt.Sprint("j", i), Plan: migrate.Plan{VM: sim.VMUUID(fmt.Sprintf("vm-%04d", i)), Type: migrate.Live, DestHost: dests[i/50]}}
		if err := errOf(e.Submit(t.Context(), r)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if u := rec.final(t, fmt.Sprint("j", i)); u.Status != migrate.StatusCompleted {
			t.Fatalf("j%d: %+v", i, u)
		}
	}
	// The engine frees a job's slot just after its final Update (see
	// Engine.end), so the last slot may still be taken for a moment.
	rec.wait(t, "every slot freed", func() bool { return c.Active() == 0 && e.Running() == 0 })
}
