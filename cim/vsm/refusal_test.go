package vsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/schemas"
)

// TestMigrateRefusalSaysWhy (issue #14): a refused Migrate answered only
// its return code, where a Check carries the reason. Every refusal now
// returns it in the OUT Error (a CIM_Error, the vsmig extension the
// Check methods have), on both Migrate methods; an accepted one has none.
func TestMigrateRefusalSaysWhy(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil, func(f *fixture) { f.config.Registry, f.reg = reg, reg })
	if err := f.c.AddVM(sim.VMConfig{Name: "web1", Host: "host3.lab", MemoryKiB: gib}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		in     map[string]any
		code   uint64
		status uint64 // CIMStatusCode
		says   string
	}{
		{"not a VM of this host", MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef("9b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f39"), "DestinationHost": "host2.lab"},
			4, 4, "no virtual machine"},
		{"bad destination", MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "a..b"},
			4, 4, "not a valid DNS name"},
		{"shut off", MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmShutoff), "DestinationHost": "host2.lab"},
			5, 1, "only a restart migration moves a shut-off virtual machine"},
		{"unreachable", MethodMigrateToSystem, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": vmRef("host9.lab")},
			5, 1, "unreachable"},
		{"name taken", MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host3.lab"},
			6, 4, `a domain named "web1" already exists on host3.lab`},
		{"other type", MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
			"MigrationSettingData": f.embed(ClassSettingData, map[string]any{"MigrationType": 1})}, 1, 7, "MigrationType 1 is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, out := f.invoke(tt.method, tt.in)
			if rc != tt.code || out["Job"] != nil {
				t.Fatalf("return %d, %v; want %d and no job", rc, out, tt.code)
			}
			e, ok := out["Error"].(*cim.Instance)
			if !ok || e.Class.Name != ClassError {
				t.Fatalf("no CIM_Error in %v", out)
			}
			msg, _ := get(e, "Message").(string)
			if !strings.Contains(msg, tt.says) || get(e, "CIMStatusCode") != tt.status || get(e, "OwningEntity") != "vsmig" {
				t.Errorf("CIM_Error %v; want a Message saying %q and CIMStatusCode %d", e, tt.says, tt.status)
			}
		})
	}
	rc, out := f.invoke(MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(vmOther), "DestinationHost": "host2.lab"})
	if _, ok := out["Error"]; rc != 4096 || ok {
		t.Errorf("an accepted Migrate: %d, %v; want 4096 and no Error", rc, out)
	}
}

// TestMigrateArgRefusalSaysWhy: arguments the Broker refuses before the
// provider sees them (here one that did not parse) are answered 4 with
// the reason too, through the provider's cim.ArgRefuser; a Check answers
// 4 alone.
func TestMigrateArgRefusalSaysWhy(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil, func(f *fixture) { f.config.Registry, f.reg = reg, reg })
	b := cim.NewBroker(reg, nil)
	for _, pr := range f.p.Providers() {
		b.Register(pr)
	}
	in := map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
		"MigrationSettingData": &cim.ArgError{Err: errors.New("element <INSTANCE> is not closed")}}
	ret, out, err := b.InvokeMethod(f.ctx, f.p.servicePath(), MethodMigrateToHost, in)
	if err != nil || ret != uint64(4) {
		t.Fatalf("Migrate = %v, %v", ret, err)
	}
	e, ok := out["Error"].(*cim.Instance)
	if msg, _ := get(e, "Message").(string); !ok || !strings.Contains(msg, "MigrationSettingData") || !strings.Contains(msg, "not closed") {
		t.Errorf("OUT %v; want a CIM_Error naming the parameter and the problem", out)
	}
	ret, out, err = b.InvokeMethod(f.ctx, f.p.servicePath(), MethodCheckToHost, in)
	if err != nil || ret != uint64(4) || len(out) != 0 {
		t.Errorf("Check = %v, %v, %v; want 4 and nothing else", ret, out, err)
	}
}
