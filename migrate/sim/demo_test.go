package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

func TestDemo(t *testing.T) {
	cfg := DemoConfig()
	clk := NewManualClock()
	cfg.Clock = clk
	c, err := NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a := c.Host("host-a")
	h, _ := a.Host(ctx)
	if !h.Simulated || h.Hypervisor != "simulated" {
		t.Errorf("host %+v does not say it is simulated", h)
	}
	doms, _ := a.Domains(ctx)
	if len(doms) < 5 {
		t.Errorf("%d demo VMs", len(doms))
	}
	refusals := []struct {
		vm, dest string
		kind     migrate.CheckKind
	}{
		{"web-02", "host-b", migrate.Incompatible}, // name taken
		{"web-01", "host-c", migrate.Incompatible}, // CPU model
	}
	for _, r := range refusals {
		var ce *migrate.CheckError
		if _, err := a.Check(ctx, plan(r.vm, r.dest), migrate.Domain{}); !errors.As(err, &ce) || ce.Kind != r.kind {
			t.Errorf("%s to %s: %v, want %v", r.vm, r.dest, err, r.kind)
		}
	}
	// A shut-off VM moves by Restart only: the engine's rule
	// (migrate.StateAllows), which Start applies too.
	var ce *migrate.CheckError
	if _, err := a.Start(ctx, plan("batch-01", "host-b")); !errors.As(err, &ce) || ce.Kind != migrate.InvalidState {
		t.Errorf("live start of batch-01: %v, want InvalidState", err)
	}
	g, err := a.Start(ctx, plan("web-01", "host-b"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(t, clk, g, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A 2 GiB VM over 1 GbE: ~19 s simulated, under 5 s at DemoSpeed.
	if real := res.TotalTime / DemoSpeed; real < time.Second || real > 8*time.Second {
		t.Errorf("demo migration takes %v simulated, %v real", res.TotalTime, real)
	}
	t.Logf("web-01: %+v", res)
}
