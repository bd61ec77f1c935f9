package vsm

import (
	"context"
	"fmt"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

func TestProviderInstances(t *testing.T) {
	f := newFixture(t, nil)
	f.gate()
	id := f.migrate(vmRunning, "host2.lab")
	byClass := map[string]cim.InstanceProvider{}
	for _, pr := range f.p.Providers() {
		for _, ref := range pr.Classes() {
			if _, dup := byClass[ref.Class]; dup {
				t.Fatalf("class %s served twice", ref.Class)
			}
			if _, ok := f.reg.Class(ref.Class); !ok {
				t.Fatalf("unknown class %s", ref.Class)
			}
			byClass[ref.Class] = pr
		}
	}
	tests := []struct {
		class string
		ns    string
		count int
		check func(t *testing.T, insts []*cim.Instance)
	}{
		{ClassComputerSystem, DefaultNamespace, 5, func(t *testing.T, insts []*cim.Instance) {
			if get(insts[0], "Name") != testHost || get(insts[0], "EnabledState") != uint64(2) {
				t.Errorf("host %v", insts[0])
			}
			states := map[any]any{}
			for _, in := range insts[1:] {
				states[get(in, "ElementName")] = fmt.Sprint(get(in, "EnabledState"), "/", get(in, "OperatingStatus"))
			}
			want := map[any]any{"web1": "2/10", "db1": "3/5", "batch1": "9/16", "web2": "2/16"}
			if fmt.Sprint(states) != fmt.Sprint(want) {
				t.Errorf("VM states %v, want %v", states, want)
			}
		}},
		{ClassService, DefaultNamespace, 1, func(t *testing.T, insts []*cim.Instance) {
			if get(insts[0], "Name") != ServiceName || get(insts[0], "SystemName") != testHost {
				t.Errorf("service %v", insts[0])
			}
		}},
		{ClassCapabilities, DefaultNamespace, 1, func(t *testing.T, insts []*cim.Instance) {
			c := insts[0]
			if get(c, "InstanceID") != "vsmig:MigrationCapabilities" || fmt.Sprint(get(c, "SynchronousMethodsSupported")) != "[4 5]" ||
				fmt.Sprint(get(c, "AsynchronousMethodsSupported")) != "[2 3]" || fmt.Sprint(get(c, "DestinationHostFormatsSupported")) != "[2 3 4]" {
				t.Errorf("capabilities %v", c)
			}
		}},
		{ClassSettingData, DefaultNamespace, 3, func(t *testing.T, insts []*cim.Instance) {
			if get(insts[0], "InstanceID") != "vsmig:MigrationSettingData:Live" || get(insts[0], "TransportType") != uint64(5) {
				t.Errorf("setting data %v", insts[0])
			}
		}},
		{ClassJob, DefaultNamespace, 1, nil},
		{ClassHostedService, DefaultNamespace, 1, nil},
		{ClassServiceAffectsElement, DefaultNamespace, 4, nil},
		{ClassElementCapabilities, DefaultNamespace, 1, nil},
		{ClassSettingsDefineCaps, DefaultNamespace, 3, func(t *testing.T, insts []*cim.Instance) {
			var roles []any
			for _, in := range insts {
				roles = append(roles, get(in, "ValueRole"))
			}
			if fmt.Sprint(roles) != "[0 3 3]" {
				t.Errorf("ValueRoles %v", roles)
			}
		}},
		{ClassAffectedJobElement, DefaultNamespace, 1, func(t *testing.T, insts []*cim.Instance) {
			ref := get(insts[0], "AffectedElement").(cim.ObjectPath)
			if keyString(ref, "Name") != vmRunning || keyString(get(insts[0], "AffectingElement").(cim.ObjectPath), "InstanceID") != id {
				t.Errorf("AffectedJobElement %v", insts[0])
			}
		}},
		{ClassOwningJobElement, DefaultNamespace, 1, nil},
		{ClassProfile, InteropNamespace, 1, func(t *testing.T, insts []*cim.Instance) {
			p := insts[0]
			if get(p, "InstanceID") != "vsmig:DSP1081" || get(p, "RegisteredName") != "Virtual System Migration" ||
				get(p, "RegisteredVersion") != "1.0.0" || get(p, "RegisteredOrganization") != uint64(2) {
				t.Errorf("registered profile %v", p)
			}
		}},
		{ClassConformsToProfile, InteropNamespace, 1, func(t *testing.T, insts []*cim.Instance) {
			me := get(insts[0], "ManagedElement").(cim.ObjectPath)
			if me.Namespace != DefaultNamespace || me.ClassName != ClassService {
				t.Errorf("ManagedElement %v", me)
			}
		}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			pr := byClass[tt.class]
			if pr == nil {
				t.Fatalf("no provider for %s", tt.class)
			}
			insts, err := pr.EnumerateInstances(ctx, tt.ns, tt.class)
			if err != nil {
				t.Fatal(err)
			}
			if len(insts) != tt.count {
				t.Fatalf("%d instances, want %d", len(insts), tt.count)
			}
			for _, in := range insts {
				if in.Class.Name != tt.class || in.Namespace != tt.ns {
					t.Errorf("instance of %s in %q", in.Class.Name, in.Namespace)
				}
				got, err := pr.GetInstance(ctx, in.Path())
				if err != nil {
					t.Fatalf("GetInstance(%v): %v", in.Path(), err)
				}
				if !got.Path().Equal(in.Path()) {
					t.Errorf("GetInstance returned %v", got.Path())
				}
			}
			if tt.check != nil {
				tt.check(t, insts)
			}
		})
	}
	// Absent instances are StatusNotFound.
	for _, path := range []cim.ObjectPath{
		vmRef("9b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f39"), vmRef("nope"),
		f.p.jobPath("vsmig:none"),
		f.p.instanceIDPath(DefaultNamespace, ClassCapabilities, "other"),
	} {
		_, err := byClass[path.ClassName].GetInstance(ctx, path)
		if ce, ok := err.(*cim.Error); !ok || ce.Status != cim.StatusNotFound {
			t.Errorf("GetInstance(%v) = %v, want not found", path, err)
		}
	}
}

func TestNewNeedsClasses(t *testing.T) {
	reg, _ := cim.NewRegistry(&cim.Class{Name: "CIM_ManagedElement"})
	_, err := New(Config{Registry: reg})
	if err == nil {
		t.Fatal("New without an Engine succeeded")
	}
	f := newFixture(t, nil)
	cfg := f.config
	cfg.Registry = reg
	if _, err := New(cfg); err == nil {
		t.Fatal("New with a registry lacking the profile's classes succeeded")
	}
}
