package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

func within(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) <= rel
	}
	return math.Abs(got-want)/math.Abs(want) <= rel
}

// TestAnalyticAgreement sweeps the dirty rate from idle to 0.9 of the
// bandwidth and checks the model against the closed-form series.
func TestAnalyticAgreement(t *testing.T) {
	const (
		M = 2 << 30
		B = 117_000_000
	)
	for _, ratio := range []float64{0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9} {
		p := Params{Memory: M, DirtyRate: uint64(ratio * B), Bandwidth: B, MaxDowntime: 300 * time.Millisecond}
		want, ok := Analytic(p)
		if !ok {
			t.Fatalf("ρ=%.2f: analytic model does not converge", ratio)
		}
		got, done := Predict(p, time.Hour)
		if !done {
			t.Fatalf("ρ=%.2f: sim did not converge", ratio)
		}
		t.Logf("ρ=%.2f: sim %v total, %v downtime, %.0f MiB, %d rounds; analytic %v, %v, %.0f MiB, %d",
			ratio, got.TotalTime, got.Downtime, float64(got.DataTransferred)/(1<<20), got.Iterations,
			want.TotalTime, want.Downtime, float64(want.DataTransferred)/(1<<20), want.Iterations)
		if got.Iterations != want.Iterations {
			t.Errorf("ρ=%.2f: iterations %d, analytic %d", ratio, got.Iterations, want.Iterations)
		}
		if !within(float64(got.DataTransferred), float64(want.DataTransferred), 0.001) {
			t.Errorf("ρ=%.2f: bytes %d, analytic %d", ratio, got.DataTransferred, want.DataTransferred)
		}
		if !within(float64(got.TotalTime), float64(want.TotalTime), 0.005) {
			t.Errorf("ρ=%.2f: total %v, analytic %v", ratio, got.TotalTime, want.TotalTime)
		}
		if d := got.Downtime - want.Downtime; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("ρ=%.2f: downtime %v, analytic %v", ratio, got.Downtime, want.Downtime)
		}
	}
}

// TestAnalyticFinishAndZeroPages: the closed form and the model agree with
// the lab's terms too, a finish phase of any length (counted in the total
// only) and a guest that is mostly zero pages (round 0 sends those as
// markers).
func TestAnalyticFinishAndZeroPages(t *testing.T) {
	const (
		M = 2 << 30
		B = 117_000_000
	)
	for _, ratio := range []float64{0, 0.1, 0.5, 0.8} {
		for _, finish := range []time.Duration{time.Nanosecond, DefaultFinishTime, 5 * time.Second} {
			p := Params{Memory: M, NonZero: M / 4, DirtyRate: uint64(ratio * B), Bandwidth: B,
				MaxDowntime: 300 * time.Millisecond, Finish: finish}
			want, ok := Analytic(p)
			got, done := Predict(p, time.Hour)
			if !ok || !done {
				t.Fatalf("ρ=%.2f finish %v: analytic converged %v, sim %v", ratio, finish, ok, done)
			}
			if got.Iterations != want.Iterations ||
				!within(float64(got.DataTransferred), float64(want.DataTransferred), 0.001) ||
				!within(float64(got.TotalTime), float64(want.TotalTime), 0.005) ||
				(got.Downtime-want.Downtime).Abs() > time.Millisecond {
				t.Errorf("ρ=%.2f finish %v: sim %+v, analytic %+v", ratio, finish, got, want)
			}
			// Round 0 is the non-zero quarter plus a marker per zero page.
			zero := uint64(M-M/4) / pageSize * zeroPageMarker
			if ratio == 0 && got.DataTransferred != M/4+zero {
				t.Errorf("idle guest sent %d bytes, want %d", got.DataTransferred, M/4+zero)
			}
			// The finish phase adds to the total, not to the downtime.
			base, _ := Analytic(Params{Memory: M, NonZero: M / 4, DirtyRate: uint64(ratio * B), Bandwidth: B,
				MaxDowntime: 300 * time.Millisecond, Finish: time.Nanosecond})
			if want.TotalTime-base.TotalTime != finish-time.Nanosecond || want.Downtime != base.Downtime {
				t.Errorf("ρ=%.2f: finish %v moved the total by %v and the downtime by %v", ratio, finish,
					want.TotalTime-base.TotalTime, want.Downtime-base.Downtime)
			}
		}
	}
}

// TestFinishPhase runs a migration through the driver into libvirt's
// finish phase: the VM's downtime is over, Progress says "finishing", an
// abort is too late and changes nothing, and the phase's length is in the
// total.
func TestFinishPhase(t *testing.T) {
	c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib})
	ctx := t.Context()
	g, err := c.Host("a").Start(ctx, plan("v", "b"))
	if err != nil {
		t.Fatal(err)
	}
	total := DefaultSetupTime + sendTime(1<<30, DefaultBandwidth) + DefaultSwitchoverCost + DefaultFinishTime
	clk.Advance(total - DefaultFinishTime/2)
	p, err := g.Progress(ctx)
	if err != nil || p.Phase != "finishing" || p.DataRemaining != 0 {
		t.Errorf("in the finish phase: %+v, %v", p, err)
	}
	select {
	case <-g.Done():
		t.Fatal("done before its finish phase ended")
	default:
	}
	if err := g.Abort(ctx); err != nil {
		t.Errorf("abort in the finish phase: %v", err)
	}
	clk.Advance(DefaultFinishTime)
	<-g.Done()
	res, err := g.Result()
	if err != nil {
		t.Fatalf("after a late abort: %v", err)
	}
	if res.TotalTime != total || res.Downtime != DefaultSwitchoverCost {
		t.Errorf("result %+v, want total %v, downtime %v", res, total, DefaultSwitchoverCost)
	}
	if w := c.Where(VMUUID("v")); len(w) != 1 || w[0] != "b" {
		t.Errorf("VM on %v, want [b]", w)
	}
}

func TestNonConvergence(t *testing.T) {
	// Dirtying faster than the link never converges...
	p := Params{Memory: 1 << 30, DirtyRate: 150e6, Bandwidth: 117e6}
	if _, ok := Analytic(p); ok {
		t.Error("analytic: converged with ρ > 1")
	}
	if _, done := Predict(p, 10*time.Minute); done {
		t.Error("sim: converged with ρ > 1")
	}
	// ...unless the hot set fits in one downtime window.
	p.WorkingSet = 30e6 // 117e6 * 0.3 = 35.1e6
	r, done := Predict(p, 10*time.Minute)
	if !done || r.Iterations != 2 {
		t.Errorf("small working set: done=%v after %d rounds, want 2", done, r.Iterations)
	}
}

// lab is the cluster of the driver tests: two hosts of 16 GiB.
func lab(t *testing.T, vms ...VMConfig) (*Cluster, *ManualClock) {
	t.Helper()
	clk := NewManualClock()
	c, err := NewCluster(Config{
		Clock: clk,
		Hosts: []HostConfig{
			{Name: "a", CPUModel: "x", MemoryKiB: 16 * gib},
			{Name: "b", CPUModel: "x", MemoryKiB: 16 * gib},
			{Name: "c", CPUModel: "y", MemoryKiB: 16 * gib},
		},
		VMs: vms,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func plan(vm, dest string) migrate.Plan {
	return migrate.Plan{VM: VMUUID(vm), Type: migrate.Live, DestHost: dest, MaxDowntime: 300 * time.Millisecond}
}

func run(t *testing.T, clk *ManualClock, g migrate.Migration, limit time.Duration) (migrate.Result, error) {
	t.Helper()
	for step := time.Duration(0); step < limit; step += time.Second {
		select {
		case <-g.Done():
			return g.Result()
		default:
		}
		clk.Advance(time.Second)
	}
	select {
	case <-g.Done():
		return g.Result()
	default:
		t.Fatalf("migration not done after %v", limit)
		return migrate.Result{}, nil
	}
}

// TestClusterMatchesPredict runs a migration through the driver on a
// manual clock and checks it against the model run alone, and that the
// VM moved.
func TestClusterMatchesPredict(t *testing.T) {
	c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: 2 * gib, DirtyRate: 40e6})
	ctx := t.Context()
	p := plan("v", "b")
	p.NewName = "v2"
	g, err := c.Host("a").Start(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, clk, g, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Predict(Params{Memory: 2 << 30, DirtyRate: 40e6, Bandwidth: DefaultBandwidth}, time.Hour)
	if got != want {
		t.Errorf("cluster %+v, predict %+v", got, want)
	}
	if w := c.Where(VMUUID("v")); len(w) != 1 || w[0] != "b" {
		t.Fatalf("VM on %v, want [b]", w)
	}
	d, err := c.Host("b").Domain(ctx, VMUUID("v"))
	if err != nil || d.Name != "v2" || d.State != migrate.StateRunning {
		t.Errorf("destination domain %+v, %v", d, err)
	}
}

func TestCheckRefusals(t *testing.T) {
	c, _ := lab(t,
		VMConfig{Name: "v", Host: "a", MemoryKiB: 2 * gib, CPUModel: "x"},
		VMConfig{Name: "big", Host: "a", MemoryKiB: 15 * gib},
		VMConfig{Name: "off", Host: "a", MemoryKiB: gib, State: migrate.StateShutoff},
		VMConfig{Name: "v", UUID: VMUUID("v on b"), Host: "b", MemoryKiB: 2 * gib},
		VMConfig{Name: "filler", Host: "b", MemoryKiB: 8 * gib},
	)
	c.SetDown("c", false)
	src := c.Host("a")
	tests := []struct {
		name string
		p    migrate.Plan
		kind migrate.CheckKind
	}{
		{"unknown host", plan("big", "nowhere"), migrate.InvalidState},
		{"same host", plan("big", "a"), migrate.InvalidParameter},
		{"unknown VM", plan("ghost", "b"), migrate.InvalidParameter},
		{"name on destination", plan("v", "b"), migrate.Incompatible},
		{"not enough memory", plan("big", "b"), migrate.Incompatible},
		{"CPU model", func() migrate.Plan { p := plan("v", "c"); return p }(), migrate.Incompatible},
		{"too large for host", func() migrate.Plan {
			p := plan("off", "b")
			p.Type = migrate.Restart
			p.NewMemoryKiB = 32 * gib
			return p
		}(), migrate.Incompatible},
	}
	for _, tt := range tests {
		_, err := src.Check(t.Context(), tt.p, migrate.Domain{})
		var ce *migrate.CheckError
		if !errors.As(err, &ce) || ce.Kind != tt.kind {
			t.Errorf("%s: got %v, want kind %v", tt.name, err, tt.kind)
		}
	}
	if _, err := src.Check(t.Context(), func() migrate.Plan { p := plan("v", "b"); p.NewName = "v-new"; return p }(), migrate.Domain{}); err != nil {
		t.Errorf("renamed: %v", err)
	}
	c.SetDown("b", true)
	p := plan("v", "b")
	p.NewName = "v-new"
	var ce *migrate.CheckError
	if _, err := src.Check(t.Context(), p, migrate.Domain{}); !errors.As(err, &ce) || ce.Kind != migrate.InvalidState {
		t.Errorf("down host: %v", err)
	}
	// The VM's run state is the engine's rule (migrate.StateAllows): Check
	// leaves it, Start applies it to the state it finds.
	c.SetDown("b", false)
	if _, err := src.Check(t.Context(), plan("off", "b"), migrate.Domain{}); err != nil {
		t.Errorf("Check of a live migration of a shut-off VM: %v, want the state left to the engine", err)
	}
	if _, err := src.Start(t.Context(), plan("off", "b")); !errors.As(err, &ce) || ce.Kind != migrate.InvalidState {
		t.Errorf("Start of a live migration of a shut-off VM: %v, want InvalidState", err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		wantErr bool
		where   string
	}{
		{"destination dies", Fault{Kind: DestinationDies, At: 3 * time.Second}, true, "a"},
		{"short network cut", Fault{Kind: NetworkCut, At: 3 * time.Second, Duration: 10 * time.Second}, false, "b"},
		{"network cut for good", Fault{Kind: NetworkCut, At: 3 * time.Second}, true, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib, DirtyRate: 10e6})
			c.Inject(tt.fault)
			g, err := c.Host("a").Start(t.Context(), plan("v", "b"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := run(t, clk, g, 2*time.Minute)
			t.Logf("result %+v, err %v", res, err)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if w := c.Where(VMUUID("v")); len(w) != 1 || w[0] != tt.where {
				t.Errorf("VM on %v, want [%s]", w, tt.where)
			}
			if d, _ := c.Host("a").Domain(t.Context(), VMUUID("v")); tt.where == "a" && d.State != migrate.StateRunning {
				t.Errorf("source VM %v", d.State)
			}
		})
	}
	t.Run("refuse", func(t *testing.T) {
		c, _ := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib})
		c.Inject(Fault{Kind: Refuse, Dest: "b", Reason: "no ports left"})
		if _, err := c.Host("a").Start(t.Context(), plan("v", "b")); err == nil {
			t.Fatal("started despite refusal")
		}
		if _, err := c.Host("a").Start(t.Context(), plan("v", "b")); err != nil {
			t.Fatalf("fault not used up: %v", err)
		}
	})
}

func TestActions(t *testing.T) {
	ctx := t.Context()
	t.Run("abort", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib})
		g, _ := c.Host("a").Start(ctx, plan("v", "b"))
		clk.Advance(2 * time.Second)
		if err := g.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Result(); err == nil {
			t.Error("aborted migration succeeded")
		}
		if w := c.Where(VMUUID("v")); len(w) != 1 || w[0] != "a" {
			t.Errorf("VM on %v", w)
		}
	})
	t.Run("auto-converge finishes a fast dirtier", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib, DirtyRate: 150e6})
		p := plan("v", "b")
		p.AutoConverge = true
		g, _ := c.Host("a").Start(ctx, p)
		clk.Advance(20 * time.Second)
		if err := g.EnableAutoConverge(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := run(t, clk, g, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if res.Downtime > 400*time.Millisecond {
			t.Errorf("downtime %v", res.Downtime)
		}
	})
	t.Run("post-copy", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib, DirtyRate: 150e6})
		p := plan("v", "b")
		p.PostCopy = true
		g, _ := c.Host("a").Start(ctx, p)
		clk.Advance(20 * time.Second)
		if err := g.StartPostCopy(ctx); err != nil {
			t.Fatal(err)
		}
		if err := g.Abort(ctx); !errors.Is(err, migrate.ErrUnsupported) {
			t.Errorf("abort in post-copy: %v", err)
		}
		res, err := run(t, clk, g, time.Minute)
		if err != nil || res.Downtime != DefaultSwitchoverCost {
			t.Errorf("post-copy: %+v, %v", res, err)
		}
	})
	t.Run("resume pauses throughout", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib, DirtyRate: 150e6})
		p := plan("v", "b")
		p.Type = migrate.Resume
		g, _ := c.Host("a").Start(ctx, p)
		res, err := run(t, clk, g, time.Minute)
		if err != nil || res.Downtime != res.TotalTime || res.DataTransferred != 1<<30 {
			t.Errorf("resume: %+v, %v", res, err)
		}
	})
	t.Run("restart", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib})
		p := plan("v", "b")
		p.Type = migrate.Restart
		g, _ := c.Host("a").Start(ctx, p)
		res, err := run(t, clk, g, time.Minute)
		if err != nil || res.TotalTime != DefaultShutdownTime+DefaultDefineTime {
			t.Errorf("restart: %+v, %v", res, err)
		}
	})
	t.Run("restart shutdown timeout", func(t *testing.T) {
		c, clk := lab(t, VMConfig{Name: "v", Host: "a", MemoryKiB: gib, ShutdownTime: time.Hour})
		p := plan("v", "b")
		p.Type, p.ShutdownTimeout = migrate.Restart, 10*time.Second
		g, _ := c.Host("a").Start(ctx, p)
		if _, err := run(t, clk, g, time.Minute); err == nil {
			t.Error("no error")
		}
		if w := c.Where(VMUUID("v")); len(w) != 1 || w[0] != "a" {
			t.Errorf("VM on %v", w)
		}
	})
}

// TestSharedLink: two migrations from one host share its NIC, so each
// takes twice as long to transfer; the fixed costs (setup, switch-over,
// finish) are paid once, not shared.
func TestSharedLink(t *testing.T) {
	c, clk := lab(t, VMConfig{Name: "v1", Host: "a", MemoryKiB: gib}, VMConfig{Name: "v2", Host: "a", MemoryKiB: gib})
	g1, _ := c.Host("a").Start(t.Context(), plan("v1", "b"))
	g2, _ := c.Host("a").Start(t.Context(), plan("v2", "b"))
	r1, _ := run(t, clk, g1, time.Minute)
	r2, _ := run(t, clk, g2, time.Minute)
	alone, _ := Predict(Params{Memory: 1 << 30, Bandwidth: DefaultBandwidth}, time.Hour)
	fixed := DefaultSetupTime + DefaultSwitchoverCost + DefaultFinishTime
	want := 2*alone.TotalTime - fixed
	for _, r := range []migrate.Result{r1, r2} {
		if !within(float64(r.TotalTime), float64(want), 0.02) {
			t.Errorf("shared total %v, want %v (alone %v)", r.TotalTime, want, alone.TotalTime)
		}
	}
}

// readLabRuns reads the runs recorded on the lab by migrate/libvirt's
// TestRecordLabRuns.
func readLabRuns(t *testing.T) LabRuns {
	t.Helper()
	b, err := os.ReadFile("testdata/lab_runs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f LabRuns
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Runs) == 0 {
		t.Fatal("testdata/lab_runs.json has no runs")
	}
	return f
}

// TestLabAgreement predicts every recorded lab run from its parameters
// (LabRun.Params: the guest's region and pace, the link the run had, and
// the lab's constants) and checks that the model and the lab agree
// (CheckLabAgreement states the tolerances and why).
func TestLabAgreement(t *testing.T) {
	f := readLabRuns(t)
	t.Logf("%d runs recorded %s (QEMU %s, libvirt %s)", len(f.Runs), f.Recorded, f.QEMU, f.Libvirt)
	t.Logf("%-9s %-5s %3s %4s %5s | %9s %9s %8s %3s | %9s %9s %8s %3s", "dirty", "region", "cap", "dir", "link",
		"lab xfer", "downtime", "MiB", "it", "sim xfer", "downtime", "MiB", "it")
	for i, r := range f.Runs {
		p := r.Params()
		got, done := Predict(p, time.Hour)
		lab := r.Result()
		t.Logf("%-9s %-5s %3d %4s %5.1f | %9v %9v %8.1f %3d | %9v %9v %8.1f %3d", r.Guest.Dirty,
			fmt.Sprintf("%dM", r.Guest.Region>>20), r.Bandwidth>>20, r.Direction, float64(r.Link())/(1<<20),
			r.Transfer().Round(time.Millisecond), lab.Downtime, float64(lab.DataTransferred)/(1<<20), lab.Iterations,
			(got.TotalTime - p.Setup - p.Finish).Round(time.Millisecond), got.Downtime.Round(time.Millisecond),
			float64(got.DataTransferred)/(1<<20), got.Iterations)
		if !done {
			t.Errorf("run %d: the model did not converge within an hour", i)
			continue
		}
		if err := CheckLabAgreement(p, r, got); err != nil {
			t.Errorf("run %d (%s, %d MiB/s, %s): %v", i, r.Guest.Dirty, r.Bandwidth>>20, r.Direction, err)
		}
	}
}

// TestLabCalibration re-derives the lab's constants from the recorded runs,
// so a re-recorded file that moves them fails here, not silently in the
// agreement: the guest's non-zero memory and the switch-over from the idle
// runs (64 MiB region, no dirtying), the setup and finish phases, which
// do not depend on the workload, from all runs. It also states the spread
// of the fixed phases, which CheckLabAgreement leaves out for that reason.
func TestLabCalibration(t *testing.T) {
	var base, switchover, setup, finish []float64
	ms := float64(time.Millisecond)
	for _, r := range readLabRuns(t).Runs {
		if r.TransferStartAtMS <= 0 || r.DestRunningAtMS <= r.TransferStartAtMS {
			t.Fatalf("run %s %s: no measured transfer start (%.0f ms) before the destination ran it (%.0f ms)",
				r.Guest.Name, r.Direction, r.TransferStartAtMS, r.DestRunningAtMS)
		}
		setup = append(setup, float64(r.Setup())/ms)
		finish = append(finish, float64(r.Finish())/ms)
		g := r.Guest
		if g.DirtyBytes != 0 || g.Region != 64<<20 {
			continue
		}
		zero, ok := r.Stats["memory_constant"]
		if !ok {
			t.Fatalf("idle run %s %s: no memory_constant in its statistics", g.Name, r.Direction)
		}
		base = append(base, float64(g.Memory-zero*pageSize-g.Region))
		switchover = append(switchover, r.DowntimeMS)
	}
	if len(base) < 2 {
		t.Fatalf("%d idle runs with a 64 MiB region, want at least 2", len(base))
	}
	for _, c := range []struct {
		name      string
		got       []float64
		want, tol float64
	}{
		{"LabBaseNonZero (bytes)", base, LabBaseNonZero, 0.01},
		{"LabSwitchover (ms)", switchover, float64(LabSwitchover) / ms, 0.05},
		{"LabSetupTime (ms)", setup, float64(LabSetupTime) / ms, 0.05},
		{"LabFinishTime (ms)", finish, float64(LabFinishTime) / ms, 0.05},
	} {
		t.Logf("%s: median %.0f (%.0f-%.0f over %d runs), constant %.0f", c.name, median(c.got),
			slices.Min(c.got), slices.Max(c.got), len(c.got), c.want)
		if !within(median(c.got), c.want, c.tol) {
			t.Errorf("%s is %.0f, but the runs give %.0f: recalibrate (lab.go)", c.name, c.want, median(c.got))
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestLabTolerancesBite shows that the agreement means something: the
// model without one of its lab terms disagrees with the lab.
func TestLabTolerancesBite(t *testing.T) {
	runs := readLabRuns(t).Runs
	for _, c := range []struct {
		name    string
		change  func(*Params)
		atLeast int // runs that must disagree
	}{
		{"half the link", func(p *Params) { p.Bandwidth /= 2 }, len(runs)},
		{"zero pages sent whole", func(p *Params) { p.NonZero = p.Memory }, len(runs)},
		{"twice the dirty rate", func(p *Params) { p.DirtyRate *= 2 }, len(runs) / 4},
	} {
		failed := 0
		for _, r := range runs {
			p := r.Params()
			c.change(&p)
			got, _ := Predict(p, time.Hour)
			if CheckLabAgreement(p, r, got) != nil {
				failed++
			}
		}
		t.Logf("%s: %d of %d runs disagree", c.name, failed, len(runs))
		if failed < c.atLeast {
			t.Errorf("%s: only %d of %d runs disagree, want at least %d", c.name, failed, len(runs), c.atLeast)
		}
	}
}
