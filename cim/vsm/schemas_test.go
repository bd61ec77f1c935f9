package vsm

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/schemas"
)

// warnRecorder is a slog.Handler that keeps WARN and ERROR records.
type warnRecorder struct {
	mu   sync.Mutex
	msgs *[]string
}

func (w *warnRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnRecorder) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { sb.WriteString(" " + a.String()); return true })
	w.mu.Lock()
	*w.msgs = append(*w.msgs, sb.String())
	w.mu.Unlock()
	return nil
}
func (w *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnRecorder) WithGroup(string) slog.Handler      { return w }

// TestWithSchemas runs the profile over the real schema (schemas.Load):
// every instance the providers build, a job's life and GetError, and no
// property the profile sets may be missing from the MOF or of another
// type.
func TestWithSchemas(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Skipf("schemas.Load: %v", err)
	}
	var warns []string
	f := newFixture(t, nil, func(f *fixture) {
		f.config.Registry, f.reg = reg, reg
		f.config.Logger = slog.New(&warnRecorder{msgs: &warns})
	})
	ctx := context.Background()
	// A job that failed while running (figures, an error: its destination
	// died) and one that completed (final statistics).
	f.c.Inject(sim.Fault{Kind: sim.DestinationDies, Dest: "host2.lab", At: 2 * time.Second})
	failed := f.migrateSlowly(vmRunning, "host2.lab")
	if j := f.waitState(failed, 10); get(j, "DataTotal") == uint64(0) {
		t.Errorf("failed job without figures: %v", j)
	}
	_, out, err := f.jobs.InvokeMethod(ctx, f.p.jobPath(failed), MethodGetError, nil)
	if err != nil || out["Error"] == nil {
		t.Fatalf("GetError: %v %v", out, err)
	}
	f.c.SetDown("host2.lab", false)
	id2 := f.migrate(vmOther, "host3.lab")
	f.waitState(id2, 7)

	// Embedded instances of the real classes reach the checks.
	rc, _ := f.invoke(MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
		"MigrationSettingData":   f.embed(ClassSettingData, map[string]any{"MigrationType": 2, "TransportType": 3, "Bandwidth": 10, "BandwidthUnit": "byte/second*2^20"}),
		"NewResourceSettingData": []*cim.Instance{f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 4, "VirtualQuantity": 512, "AllocationUnits": "byte*2^20"})},
		"NewSystemSettingData":   f.embed(ClassSystemSettingData, map[string]any{"ElementName": "renamed"}),
	})
	if rc != 0 {
		t.Fatalf("Check over the real schema = %d", rc)
	}
	f.drv.set(func(d *testDriver) { d.checkErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "CPU"} })
	f.invoke(MethodCheckToSystem, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": vmRef("host2.lab")})

	for _, pr := range f.p.Providers() {
		for _, ref := range pr.Classes() {
			c, _ := reg.Class(ref.Class)
			if c.Association {
				continue
			}
			insts, err := pr.EnumerateInstances(ctx, ref.Namespace, ref.Class)
			if err != nil {
				t.Fatalf("%s: %v", ref.Class, err)
			}
			if len(insts) == 0 {
				t.Errorf("%s: no instances", ref.Class)
			}
			for _, in := range insts {
				for _, k := range in.Class.Keys() {
					if v, _ := in.Get(k.Name); v == nil {
						t.Errorf("%s: key %s is NULL", ref.Class, k.Name)
					}
				}
			}
		}
	}
	// Associations: every reference property set.
	for _, pr := range f.p.Providers() {
		for _, ref := range pr.Classes() {
			c, _ := reg.Class(ref.Class)
			if !c.Association {
				continue
			}
			insts, err := pr.EnumerateInstances(ctx, ref.Namespace, ref.Class)
			if err != nil {
				t.Fatalf("%s: %v", ref.Class, err)
			}
			for _, in := range insts {
				for p, v := range in.Properties() {
					if p.Type == cim.Reference && v == nil {
						t.Errorf("%s.%s is NULL", ref.Class, p.Name)
					}
				}
			}
		}
	}
	for _, w := range warns {
		t.Errorf("warning: %s", w)
	}
}
