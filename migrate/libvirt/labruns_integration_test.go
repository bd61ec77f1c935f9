//go:build integration

// The recorder of migrate/sim/testdata/lab_runs.json: live migrations of
// guests with known workloads on the lab, measured through this driver,
// which migrate/sim's TestLabAgreement compares with the model. It runs
// only when asked (about 3.5 minutes for 20 migrations of six guests of its
// own, and it rewrites a checked-in file):
//
//	bash testdata/lab/up.sh
//	go test -tags integration ./migrate/libvirt/ -run TestRecordLabRuns -record-lab-runs -v -timeout 20m
package libvirt

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

var recordLabRuns = flag.Bool("record-lab-runs", false, "run TestRecordLabRuns: migrate a sweep of lab guests and rewrite migrate/sim/testdata/lab_runs.json")

// labSweep is what TestRecordLabRuns measures: each guest is migrated
// A to B and back at each bandwidth cap, with a 150 ms downtime limit
// (the engine's first limit, migrate.DefaultMaxDowntime). The paces run
// from idle to 256 KiB every 10 ms, the lab's proven-safe ceiling under
// TCG (testdata/lab/README.md); the 128 MiB region checks that the
// model's round 0 grows with the guest's non-zero memory.
var labSweep = []struct {
	dirty, region string
	caps          []uint64 // MiB/s
}{
	{"0", "64M", []uint64{32, 64}},
	{"4K@100ms", "64M", []uint64{32, 64}},
	{"64K@10ms", "64M", []uint64{32, 64}},
	{"256K@10ms", "64M", []uint64{32, 64}},
	{"0", "128M", []uint64{32}},
	{"64K@10ms", "128M", []uint64{64}},
}

const labDowntimeLimit = 150 * time.Millisecond

func TestRecordLabRuns(t *testing.T) {
	if !*recordLabRuns {
		t.Skip("records lab runs only with -record-lab-runs")
	}
	out := labRunsFile()
	file := sim.LabRuns{
		Comment: "Live migrations on the two-host lab (TCG guests, loopback, a shared 2-core machine), " +
			"recorded by TestRecordLabRuns in migrate/libvirt; migrate/sim's TestLabAgreement compares them with the model.",
		Recorded: time.Now().UTC().Format(time.RFC3339),
	}
	file.QEMU, file.Libvirt = labVersions(t)
	start := time.Now()
	for i, s := range labSweep {
		name := fmt.Sprintf("vsmig-agr-%d", i)
		g := addLabGuest(t, name, s.dirty, s.region)
		for _, mibps := range s.caps {
			for _, dir := range []string{"a->b", "b->a"} {
				r := recordLabRun(t, g, dir, mibps*mib)
				t.Logf("%s %-9s %s cap %d MiB/s: total %.0f ms (data from %.0f, finishing at %.0f, dest running at %.0f), downtime %.0f ms, %d iterations, %.1f MiB (normal %.1f MiB, %d zero pages); guest dirtied %.2f MiB/s (configured %.2f); load %.2f",
					name, s.dirty, dir, mibps, r.TotalTimeMS, r.TransferStartAtMS, r.FinishingAtMS, r.DestRunningAtMS, r.DowntimeMS, r.Iterations,
					float64(r.DataTransferred)/mib, float64(r.Stats["memory_normal_bytes"])/mib, r.Stats["memory_constant"],
					r.GuestDirtyRate/mib, float64(g.DirtyRate())/mib, r.LoadAvg)
				file.Runs = append(file.Runs, r)
			}
		}
		removeGuest(t, name)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "a->b", not "a-\u003eb"
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d runs in %v written to %s", len(file.Runs), time.Since(start).Round(time.Second), out)
}

// labRunsFile is where the recorded runs live.
func labRunsFile() string { return filepath.Join(repoRoot, "migrate/sim/testdata/lab_runs.json") }

func labVersions(t *testing.T) (qemu, lib string) {
	t.Helper()
	s, err := openLibvirt(context.Background(), uriA)
	if err != nil {
		t.Fatal(err)
	}
	defer s.kill()
	l := s.h.(*golibvirt.Libvirt)
	v, err := l.ConnectGetVersion()
	if err != nil {
		t.Fatal(err)
	}
	lv, err := l.ConnectGetLibVersion()
	if err != nil {
		t.Fatal(err)
	}
	ver := func(v uint64) string { return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000) }
	return ver(v), ver(lv)
}

// addLabGuest defines and starts a guest of the lab with its own
// workload (testdata/lab/guest.sh), removed when the test ends.
func addLabGuest(t *testing.T, name, dirty, region string) sim.LabGuest {
	t.Helper()
	addGuest(t, name, dirty, region)
	g, err := parseLabGuest(name, dirty, region)
	if err != nil {
		t.Fatal(err)
	}
	a := labDriver(t, uriA, hostA)
	dom, ok := findGuest(t, a, name)
	if !ok {
		t.Fatalf("guest %s not on A after guest.sh add", name)
	}
	g.Memory = dom.MemoryKiB * 1024
	// Let it settle: boot done, region filled and dirtied for a while.
	waitGuestHealthy(t, name, 0)
	return g
}

// parseLabGuest reads vsmig.dirty and vsmig.mem as the guest does
// (testdata/guest: SIZE with K, M or G in powers of 1024, "0" or "off"
// for no dirtying).
func parseLabGuest(name, dirty, region string) (sim.LabGuest, error) {
	g := sim.LabGuest{Name: name, Dirty: dirty}
	size := func(s string) (uint64, error) {
		mult := uint64(1)
		switch {
		case strings.HasSuffix(s, "K"):
			mult = 1 << 10
		case strings.HasSuffix(s, "M"):
			mult = 1 << 20
		case strings.HasSuffix(s, "G"):
			mult = 1 << 30
		}
		n, err := strconv.ParseUint(strings.TrimRight(s, "KMG"), 10, 64)
		return n * mult, err
	}
	var err error
	if g.Region, err = size(region); err != nil {
		return g, fmt.Errorf("region %q: %w", region, err)
	}
	if dirty == "0" || dirty == "off" {
		return g, nil
	}
	sz, per, ok := strings.Cut(dirty, "@")
	if !ok {
		return g, fmt.Errorf("dirty %q: want SIZE@PERIOD", dirty)
	}
	if g.DirtyBytes, err = size(sz); err != nil {
		return g, fmt.Errorf("dirty %q: %w", dirty, err)
	}
	d, err := time.ParseDuration(per)
	if err != nil {
		return g, fmt.Errorf("dirty %q: %w", dirty, err)
	}
	g.DirtyEveryMS = float64(d) / float64(time.Millisecond)
	return g, nil
}

// recordLabRun migrates g in direction dir ("a->b" or "b->a") capped at
// bw bytes/s, and returns what it measured.
func recordLabRun(t *testing.T, g sim.LabGuest, dir string, bw uint64) sim.LabRun {
	t.Helper()
	src, dst := labDriver(t, uriA, hostA), labDriver(t, uriB, hostB)
	dstURI, dstHost := uriB, hostB
	if dir == "b->a" {
		src, dst = dst, src
		dstURI, dstHost = uriA, hostA
	}
	dom, ok := findGuest(t, src, g.Name)
	if !ok || dom.State != migrate.StateRunning {
		t.Fatalf("guest %s not running at the source of %s: %+v", g.Name, dir, dom)
	}
	r := sim.LabRun{Guest: g, Direction: dir, Bandwidth: bw, MaxDowntimeMS: float64(labDowntimeLimit.Milliseconds()),
		LoadAvg: loadAvg()}
	offset := fileSize(t, serialLog(g.Name))
	before := lastHeartbeat(t, g.Name)

	p := plan(dom.UUID, dstHost, dstURI)
	p.Bandwidth, p.MaxDowntime = bw, labDowntimeLimit
	started := time.Now()
	m, err := src.Start(context.Background(), p)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the moment the destination runs the guest, then its statistics
		defer wg.Done()
		r.DestRunningAtMS = msSince(started, waitDestRunning(dst, dom.UUID, stop))
		r.Stats = destCompletedStats(dst, golibvirt.Domain{Name: g.Name, UUID: mustParseUUID(dom.UUID)}, stop)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	for done := false; !done; {
		pr, err := m.Progress(context.Background())
		if err == nil && pr.DataProcessed > 0 && r.TransferStartAtMS == 0 {
			r.TransferStartAtMS = msSince(started, time.Now())
		}
		if err == nil && pr.Phase == "finishing" && r.FinishingAtMS == 0 {
			r.FinishingAtMS = msSince(started, time.Now())
		}
		select {
		case <-m.Done():
			done = true
		case <-tick.C:
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	res, err := m.Result()
	if err != nil {
		t.Fatalf("migration %s of %s failed: %v", dir, g.Name, err)
	}
	r.TotalTimeMS = float64(res.TotalTime) / float64(time.Millisecond)
	r.DowntimeMS = float64(res.Downtime) / float64(time.Millisecond)
	r.DataTransferred, r.Iterations = res.DataTransferred, res.Iterations
	if r.Stats == nil {
		t.Errorf("no completed-job statistics from the destination of %s", dir)
	}
	waitGuestHealthy(t, g.Name, offset)
	after := lastHeartbeat(t, g.Name)
	if dt := after.uptime - before.uptime; dt > 0 && after.gen >= before.gen {
		r.GuestDirtyRate = float64(after.gen-before.gen) * 4096 / dt
	}
	return r
}

func msSince(t0, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Sub(t0)) / float64(time.Millisecond)
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// waitDestRunning polls the destination every 25 ms until it reports the
// guest running, and returns when it first did (zero if stop came first).
func waitDestRunning(d *Driver, vm string, stop <-chan struct{}) time.Time {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := d.Domain(ctx, vm)
		cancel()
		if err == nil && got.State == migrate.StateRunning {
			return time.Now()
		}
		select {
		case <-stop:
			return time.Time{}
		case <-tick.C:
		}
	}
}

// destCompletedStats reads the destination's completed-job statistics as
// soon as there are any, keeping them for the driver: libvirt forgets them
// on a read without KEEP_COMPLETED, and the driver reads them once the
// migrate call returns, while the destination has them from its finish
// phase on (JOB_COMPLETED events would carry the source's, but go-libvirt
// drops events whose typed parameters it cannot decode). It gives up when
// stop closes.
func destCompletedStats(d *Driver, dom golibvirt.Domain, stop <-chan struct{}) map[string]uint64 {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := call(ctx, d.main, "completed job stats", func(h hypervisor) (jobStats, error) {
			typ, params, err := h.DomainGetJobStats(dom, golibvirt.DomainJobStatsCompleted|golibvirt.DomainJobStatsKeepCompleted)
			return decodeJobStats(typ, params), err
		})
		cancel()
		if err == nil && st.Type == golibvirt.DomainJobCompleted {
			m := make(map[string]uint64, len(st.Fields))
			for k := range st.Fields {
				if v, ok := st.u64(k); ok {
					m[k] = v
				}
			}
			return m
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

type heartbeat struct {
	uptime float64 // seconds, the guest's clock
	gen    uint64  // page rewrites so far
}

// lastHeartbeat reads the guest's last "HB seq=N uptime=Xs sum=S gen=G"
// line.
func lastHeartbeat(t *testing.T, name string) heartbeat {
	t.Helper()
	f, err := os.Open(serialLog(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hb heartbeat
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "HB ") {
			continue
		}
		var h heartbeat
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "uptime":
				h.uptime, _ = strconv.ParseFloat(strings.TrimSuffix(v, "s"), 64)
			case "gen":
				h.gen, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		hb = h
	}
	return hb
}
