package fleet_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/fleet"
	"github.com/vsmig/vsmig/migrate/fleet/fleettest"
	"github.com/vsmig/vsmig/migrate/sim"
)

// Figures of BenchmarkDrain1000.
const (
	benchSources    = 50 // hosts drained, all at once
	benchVMs        = 20 // VMs on each
	benchDests      = 25 // empty hosts that receive them
	benchMaxRunning = 20 // the cluster's limit
)

// benchSpeed is how much faster than the wall clock the simulation runs
// (VSMIG_BENCH_SPEED, default 10): high enough that 1,000 migrations
// take about two minutes, low enough that the coordination's own
// latency (tens of milliseconds on a shared 2-core machine) stays small
// against a migration's simulated seconds, as it is on real hosts.
func benchSpeed() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("VSMIG_BENCH_SPEED"), 64); err == nil && v >= 1 {
		return v
	}
	return 10
}

// timedEngine times the drains' Submit calls: the admission decision,
// with the cluster's check and the VM lock in etcd.
type timedEngine struct {
	*migrate.Engine
	mu  sync.Mutex
	lat []time.Duration
}

func (t *timedEngine) Submit(ctx context.Context, req migrate.Request) (*migrate.Job, error) {
	start := time.Now()
	j, err := t.Engine.Submit(ctx, req)
	if err == nil {
		t.mu.Lock()
		t.lat = append(t.lat, time.Since(start))
		t.mu.Unlock()
	}
	return j, err
}

// BenchmarkDrain1000 drains 50 hosts of 20 VMs each (1,000 migrations)
// at once onto 25 empty hosts, through a real 3-member etcd, with the
// cluster's limit at 20 running migrations. It reports the total time
// against the ideal (the sum of the migrations' times divided by the
// cluster's parallelism), the requests to etcd per migration and the
// p99 of the admission (Submit) latency. Run it with -benchtime 1x.
func BenchmarkDrain1000(b *testing.B) {
	for range b.N {
		benchDrain(b)
	}
}

func benchDrain(b *testing.B) {
	etcd := fleettest.Start(b, 3, fleettest.Options{})
	cfg := sim.Config{Speed: benchSpeed()}
	var sources []string
	for i := range benchSources {
		h := fmt.Sprintf("src%02d", i)
		sources = append(sources, h)
		cfg.Hosts = append(cfg.Hosts, sim.HostConfig{Name: h, CPUModel: "Skylake", MemoryKiB: 64 * gib})
		for j := range benchVMs {
			cfg.VMs = append(cfg.VMs, sim.VMConfig{Name: fmt.Sprintf("%s-vm%02d", h, j), Host: h, MemoryKiB: gib, DirtyRate: 1e6, WorkingSet: 16e6})
		}
	}
	for i := range benchDests {
		cfg.Hosts = append(cfg.Hosts, sim.HostConfig{Name: fmt.Sprintf("dst%02d", i), CPUModel: "Skylake", MemoryKiB: 64 * gib})
	}
	sc, err := sim.NewCluster(cfg)
	if err != nil {
		b.Fatal(err)
	}
	type member struct {
		eng *timedEngine
		f   *fleet.Fleet
	}
	var members []member
	prefix := fmt.Sprintf("/bench-%d/", time.Now().UnixNano())
	for _, h := range cfg.Hosts {
		f, err := fleet.New(fleet.Config{Endpoints: etcd.Endpoints(), Prefix: prefix, Host: h.Name, MaxRunning: benchMaxRunning,
			Logger: benchLogger()})
		if err != nil {
			b.Fatal(err)
		}
		ec := migrate.DefaultConfig()
		ec.Clock, ec.Cluster, ec.MaxIncoming, ec.OnUpdate = sc.Clock(), f, 2, f.Notify
		eng, err := migrate.New(ec, sc.Host(h.Name))
		if err != nil {
			b.Fatal(err)
		}
		te := &timedEngine{Engine: eng}
		if err := f.Start(context.Background(), te); err != nil {
			b.Fatal(err)
		}
		members = append(members, member{te, f})
	}
	defer func() {
		for _, m := range members {
			m.eng.Shutdown(context.Background())
			m.f.Close()
		}
	}()
	for _, m := range members {
		for len(m.f.Members()) < len(cfg.Hosts) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var before int64
	for _, m := range members {
		before += m.f.Count.Requests()
	}
	b.ResetTimer()
	start, wall := sc.Clock().Now(), time.Now()
	ids := make([]string, benchSources)
	for i := range sources {
		rec, err := members[i].f.StartDrain(context.Background(), migrate.DrainRequest{ID: fmt.Sprintf("vsmig:Drain:%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = rec.ID
	}
	for i := range sources {
		for {
			rec, ok := members[i].f.Drain(ids[i])
			if ok && rec.State.Terminal() {
				if rec.State != migrate.DrainCompleted {
					for _, v := range rec.VMs {
						if v.State != migrate.VMMoved {
							b.Logf("%s: %s: %s", v.Name, v.State, v.Reason)
						}
					}
					b.Fatalf("drain of %s: %s", sources[i], rec.Status)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	total := sc.Clock().Now().Sub(start)
	b.StopTimer()
	wallTotal := time.Since(wall)

	trace := sc.Trace()
	starts := map[string]time.Time{}
	var sum time.Duration
	n := 0
	for _, ev := range trace {
		if ev.Start {
			starts[ev.VM] = ev.Time
		} else {
			sum += ev.Time.Sub(starts[ev.VM])
			n++
		}
	}
	peak, in, _ := sim.Peaks(trace)
	maxIn := 0
	for _, v := range in {
		maxIn = max(maxIn, v)
	}
	var requests, messages int64
	var lat []time.Duration
	for _, m := range members {
		requests += m.f.Count.Requests()
		messages += m.f.Count.StreamMessages()
		lat = append(lat, m.eng.lat...)
	}
	requests -= before
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	ideal := sum / benchMaxRunning
	b.ReportMetric(float64(n), "migrations")
	b.ReportMetric(total.Seconds(), "total-s")
	b.ReportMetric(ideal.Seconds(), "ideal-s")
	b.ReportMetric(total.Seconds()/ideal.Seconds(), "total/ideal")
	b.ReportMetric(float64(requests)/float64(n), "etcd-req/migration")
	b.ReportMetric(float64(p99.Microseconds())/1000, "admit-p99-ms")
	b.ReportMetric(float64(peak), "peak-running")
	b.Logf("%d migrations in %v simulated (%v wall, speed %g): ideal %v (sum %v / %d), ratio %.2f; peak %d running, %d into one host; etcd: %d requests (%.1f per migration), %d stream messages (lease keep-alives, watches); admission (Submit) latency p50 %v p99 %v",
		n, total.Round(time.Second), wallTotal.Round(time.Millisecond), benchSpeed(), ideal.Round(time.Second), sum.Round(time.Second), benchMaxRunning,
		total.Seconds()/ideal.Seconds(), peak, maxIn, requests, float64(requests)/float64(n), messages, lat[len(lat)/2], p99)
	if peak > benchMaxRunning || maxIn > 2 {
		b.Errorf("limits exceeded: %d running (limit %d), %d into one host (limit 2)", peak, benchMaxRunning, maxIn)
	}
	// Every drain completed: no VM is left on a drained host (one placed
	// there by another drain just before it began included).
	for _, v := range cfg.VMs {
		if w := sc.Where(sim.VMUUID(v.Name)); len(w) != 1 || slices.Contains(sources, w[0]) {
			b.Errorf("%s is on %v, want one host that was not drained", v.Name, w)
		}
	}
}

func benchLogger() *slog.Logger {
	if os.Getenv("VSMIG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}
