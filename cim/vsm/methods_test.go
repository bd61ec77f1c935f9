package vsm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

func TestMigrateReturnCodes(t *testing.T) {
	msd := func(f *fixture, props map[string]any) *cim.Instance {
		return f.embed(ClassSettingData, props)
	}
	tests := []struct {
		name      string
		method    string
		in        func(f *fixture) map[string]any
		setup     func(f *fixture)
		want      uint64
		checkPlan func(t *testing.T, p migrate.Plan)
	}{
		{name: "live ok", want: 4096, checkPlan: func(t *testing.T, p migrate.Plan) {
			if p.VM != vmRunning || p.Type != migrate.Live || p.Transport != migrate.TCP || p.DestHost != "host2.lab" {
				t.Errorf("plan %+v", p)
			}
		}},
		{name: "no ComputerSystem", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem not a reference", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRunning, "DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem to nothing", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef("9b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f39"), "DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem name not a UUID", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef("web1"), "DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem is the host", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(testHost), "DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem of another class", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": f.p.servicePath(), "DestinationHost": "host2.lab"}
		}},
		{name: "ComputerSystem without Name", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": cim.ObjectPath{ClassName: ClassComputerSystem}, "DestinationHost": "host2.lab"}
		}},
		{name: "upper-case UUID", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(strings.ToUpper(vmRunning)), "DestinationHost": "host2.lab"}
		}},
		{name: "no DestinationHost", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning)}
		}},
		{name: "bad DestinationHost", want: 4, in: dest("bad_host!")},
		{name: "DestinationHost with port", want: 4, in: dest("host2:16509")},
		{name: "DestinationHost IPv4 short", want: 4, in: dest("10.1.2")},
		{name: "DestinationHost is this host", want: 4, in: dest("HOST1.lab")},
		{name: "DestinationHost IPv4", want: 4096, in: dest("10.0.0.2")},
		{name: "DestinationHost IPv6", want: 4096, in: dest("fd00::2"), checkPlan: func(t *testing.T, p migrate.Plan) {
			if p.DestHost != "fd00::2" {
				t.Errorf("DestHost %q", p.DestHost)
			}
		}},
		{name: "DestinationHost IPv6 bracketed", want: 4096, in: dest("[fd00::3]")},
		{name: "DestinationHost IPv6 zone", want: 4, in: dest("fe80::1%eth0")},
		{name: "MSD of the wrong class", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"MigrationSettingData": f.embed(ClassSystemSettingData, map[string]any{"ElementName": "x"})}
		}},
		{name: "MSD not an instance", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab", "MigrationSettingData": "<INSTANCE/>"}
		}},
		{name: "MSD subclass accepted", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"MigrationSettingData": f.embed("Msvm_VirtualSystemMigrationSettingData", map[string]any{"MigrationType": 3, "TransportType": 3, "Priority": 7})}
		}, checkPlan: func(t *testing.T, p migrate.Plan) {
			if p.Type != migrate.Resume || p.Transport != migrate.TLS {
				t.Errorf("plan %+v", p)
			}
		}},
		{name: "MigrationType Other", want: 1, in: withMSD(map[string]any{"MigrationType": 1})},
		{name: "MigrationType vendor", want: 1, in: withMSD(map[string]any{"MigrationType": 32768})},
		{name: "MigrationType reserved", want: 4, in: withMSD(map[string]any{"MigrationType": 9})},
		{name: "TransportType IPC", want: 6, in: withMSD(map[string]any{"TransportType": 6})},
		{name: "TransportType Other", want: 6, in: withMSD(map[string]any{"TransportType": 1})},
		{name: "TransportType reserved", want: 4, in: withMSD(map[string]any{"TransportType": 99})},
		{name: "TransportType SSH", want: 4096, in: withMSD(map[string]any{"TransportType": 2})},
		{name: "Bandwidth MiB/s", want: 4096, in: withMSD(map[string]any{"Bandwidth": 100, "BandwidthUnit": "byte/second*2^20"}),
			checkPlan: func(t *testing.T, p migrate.Plan) {
				if p.Bandwidth != 100<<20 {
					t.Errorf("Bandwidth %d", p.Bandwidth)
				}
			}},
		{name: "Bandwidth bad unit", want: 4, in: withMSD(map[string]any{"Bandwidth": 100, "BandwidthUnit": "furlong/fortnight"})},
		{name: "Bandwidth percent without link speed", want: 6, in: withMSD(map[string]any{"Bandwidth": 50, "BandwidthUnit": "percent"})},
		{name: "Live of a shut-off VM", want: 5, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmShutoff), "DestinationHost": "host2.lab"}
		}},
		{name: "Restart of a shut-off VM", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmShutoff), "DestinationHost": "host2.lab", "MigrationSettingData": msd(f, map[string]any{"MigrationType": 4})}
		}},
		// The paused-VM rule (migrate.StateAllows), through the engine.
		{name: "Restart of a paused VM", want: 5, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmPaused), "DestinationHost": "host2.lab", "MigrationSettingData": msd(f, map[string]any{"MigrationType": 4})}
		}},
		{name: "Live of a paused VM", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmPaused), "DestinationHost": "host2.lab"}
		}},
		{name: "Resume of a paused VM", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmPaused), "DestinationHost": "host2.lab", "MigrationSettingData": msd(f, map[string]any{"MigrationType": 3})}
		}},
		{name: "already migrating", want: 5, setup: func(f *fixture) { f.migrate(vmRunning, "host3.lab") }},
		{name: "destination unreachable", want: 5, in: dest("host9.lab")},
		{name: "driver: destination unreachable", want: 5, setup: func(f *fixture) {
			f.drv.set(func(d *testDriver) {
				d.checkErr = &migrate.CheckError{Kind: migrate.InvalidState, Reason: "cannot connect to host2.lab"}
			})
		}},
		{name: "driver: incompatible CPU", want: 6, setup: func(f *fixture) {
			f.drv.set(func(d *testDriver) { d.checkErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "CPU model"} })
		}},
		{name: "driver: not supported", want: 1, setup: func(f *fixture) {
			f.drv.set(func(d *testDriver) { d.checkErr = &migrate.CheckError{Kind: migrate.NotSupported, Reason: "post-copy"} })
		}},
		{name: "driver: busy", want: 5, setup: func(f *fixture) { f.drv.set(func(d *testDriver) { d.checkErr = migrate.ErrBusy }) }},
		{name: "driver: unknown failure", want: 2, setup: func(f *fixture) { f.drv.set(func(d *testDriver) { d.checkErr = errors.New("boom") }) }},
		{name: "driver: timeout", want: 3, setup: func(f *fixture) {
			f.drv.set(func(d *testDriver) { d.checkErr = fmt.Errorf("check destination: %w", context.DeadlineExceeded) })
		}},
		{name: "name taken on the destination", want: 6, setup: func(f *fixture) {
			if err := f.c.AddVM(sim.VMConfig{Name: "web1", Host: "host2.lab", MemoryKiB: gib}); err != nil {
				f.t.Fatal(err)
			}
		}},
		{name: "new name", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewSystemSettingData": f.embed(ClassSystemSettingData, map[string]any{"ElementName": "web1-moved"})}
		}, checkPlan: func(t *testing.T, p migrate.Plan) {
			if p.NewName != "web1-moved" {
				t.Errorf("NewName %q", p.NewName)
			}
		}},
		{name: "bad new name", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewSystemSettingData": f.embed(ClassSystemSettingData, map[string]any{"ElementName": "a/b"})}
		}},
		{name: "memory and vCPUs", want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{
					f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 4, "VirtualQuantity": 2048, "AllocationUnits": "byte*2^20"}),
					f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 3, "VirtualQuantity": 4}),
				}}
		}, checkPlan: func(t *testing.T, p migrate.Plan) {
			if p.NewMemoryKiB != 2048*1024 || p.NewVCPUs != 4 {
				t.Errorf("plan %+v", p)
			}
		}},
		{name: "disk relocation without a place", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 31, "VirtualQuantity": 1})}}
		}},
		{name: "disk relocation to a relative path", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{f.embed(ClassStorageSettingData, map[string]any{"ResourceType": 31,
					"HostResource": []string{"images/x.qcow2"}})}}
		}},
		{name: "network adapter change", want: 6, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 10, "VirtualQuantity": 1})}}
		}},
		{name: "storage copy value", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"MigrationSettingData": f.embed(ClassVsmigSettingData, map[string]any{"MigrationType": 2, "StorageCopy": 1})}
		}},
		{name: "memory in bad units", want: 6, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 4, "VirtualQuantity": 1, "AllocationUnits": "watt"})}}
		}},
		{name: "RASD without quantity", want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
				"NewResourceSettingData": []*cim.Instance{f.embed(ClassResourceSettingData, map[string]any{"ResourceType": 4})}}
		}},
		{name: "ToSystem ok", method: MethodMigrateToSystem, want: 4096, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": vmRef("host2.lab")}
		}},
		{name: "ToSystem without Name", method: MethodMigrateToSystem, want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": cim.ObjectPath{ClassName: ClassComputerSystem}}
		}},
		{name: "ToSystem with a bad host name", method: MethodMigrateToSystem, want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": vmRef("no such host")}
		}},
		{name: "ToSystem of a non-system", method: MethodMigrateToSystem, want: 4, in: func(f *fixture) map[string]any {
			return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": f.p.servicePath()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Jobs wait queued behind one that holds the only slot: a new
			// job is in JobState 2 when it is read.
			f := newFixture(t, nil, queued)
			f.occupy()
			if tt.setup != nil {
				tt.setup(f)
			}
			in := map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"}
			if tt.in != nil {
				in = tt.in(f)
			}
			method := tt.method
			if method == "" {
				method = MethodMigrateToHost
			}
			before, _ := f.eng.Jobs(f.ctx)
			rc, out := f.invoke(method, in)
			if rc != tt.want {
				t.Fatalf("return %d, want %d", rc, tt.want)
			}
			jobs, _ := f.eng.Jobs(f.ctx)
			switch {
			case rc == 4096:
				ref, ok := out["Job"].(cim.ObjectPath)
				if !ok || ref.ClassName != ClassJob {
					t.Fatalf("Job out parameter %v", out["Job"])
				}
				id := keyString(ref, "InstanceID")
				j := f.job(id)
				if get(j, "JobState") != uint64(2) {
					t.Errorf("new job JobState %v", get(j, "JobState"))
				}
				if method == MethodMigrateToSystem {
					ncs, _ := out["NewComputerSystem"].(cim.ObjectPath)
					if keyString(ncs, "Name") != vmRunning {
						t.Errorf("NewComputerSystem %v", out["NewComputerSystem"])
					}
				}
				if len(jobs) != len(before)+1 {
					t.Fatal("nothing submitted")
				}
				if tt.checkPlan != nil {
					rec, err := f.eng.Job(f.ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					tt.checkPlan(t, rec.Plan)
				}
			default:
				if len(jobs) != len(before) {
					t.Errorf("a refused call created a job: %d jobs", len(jobs))
				}
				if vm := keyString(asRef(in["ComputerSystem"]), "Name"); vm != "" && vm != blockerVM && f.eng.Migrating(vm) != "" && tt.name != "already migrating" {
					t.Error("VM marked migrating after a refusal")
				}
			}
		})
	}
}

func asRef(v any) cim.ObjectPath {
	r, _ := v.(cim.ObjectPath)
	return r
}

func dest(h string) func(f *fixture) map[string]any {
	return func(f *fixture) map[string]any {
		return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": h}
	}
}

func withMSD(props map[string]any) func(f *fixture) map[string]any {
	return func(f *fixture) map[string]any {
		return map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab",
			"MigrationSettingData": f.embed(ClassSettingData, props)}
	}
}

func TestCheckMethods(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		in         map[string]any
		checkErr   error
		want       uint64
		migratable any // nil: no IsMigratable
	}{
		{"ok", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"}, nil, 0, true},
		{"ok to system", MethodCheckToSystem, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationSystem": vmRef("host2.lab")}, nil, 0, true},
		{"incompatible destination", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"},
			&migrate.CheckError{Kind: migrate.Incompatible, Reason: "not enough free memory on host2.lab"}, 0, false},
		{"unreachable destination", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"},
			&migrate.CheckError{Kind: migrate.InvalidState, Reason: "connection refused"}, 0, false},
		{"wrong VM state", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmShutoff), "DestinationHost": "host2.lab"}, nil, 0, false},
		{"paused VM live", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmPaused), "DestinationHost": "host2.lab"}, nil, 0, true},
		{"reference to nothing", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRef("x").ClassName), "DestinationHost": "host2.lab"}, nil, 4, nil},
		{"malformed destination", MethodCheckToHost, map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "a..b"}, nil, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.drv.set(func(d *testDriver) { d.checkErr = tt.checkErr })
			rc, out := f.invoke(tt.method, tt.in)
			if rc != tt.want {
				t.Fatalf("return %d, want %d", rc, tt.want)
			}
			if got := out["IsMigratable"]; got != tt.migratable {
				t.Fatalf("IsMigratable %v, want %v", got, tt.migratable)
			}
			if jobs, _ := f.eng.Jobs(f.ctx); len(jobs) != 0 {
				t.Error("a Check created a job")
			}
			if tt.migratable == false {
				vm := keyString(tt.in["ComputerSystem"].(cim.ObjectPath), "Name")
				e := f.p.LastCheck(vm)
				if e == nil {
					t.Fatal("no CIM_Error kept for a failed check")
				}
				if msg, _ := get(e, "Message").(string); msg == "" || get(e, "OwningEntity") != "vsmig" {
					t.Errorf("CIM_Error %v", e)
				}
				if tt.checkErr != nil && !strings.Contains(get(e, "Message").(string), tt.checkErr.(*migrate.CheckError).Reason) {
					t.Errorf("CIM_Error message %q lacks the reason", get(e, "Message"))
				}
			}
		})
	}
}

func TestConcurrentMigrateOneVM(t *testing.T) {
	f := newFixture(t, nil)
	codes := make(chan uint64, 8)
	for range 8 {
		go func() {
			ret, _, err := f.svc.InvokeMethod(f.ctx, f.p.servicePath(), MethodMigrateToHost,
				map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"})
			if err != nil {
				t.Error(err)
			}
			codes <- ret.(uint64)
		}()
	}
	started := 0
	for range 8 {
		switch rc := <-codes; rc {
		case 4096:
			started++
		case 5:
		default:
			t.Errorf("return %d", rc)
		}
	}
	if started != 1 {
		t.Fatalf("%d migrations of one VM started, want 1", started)
	}
}

// TestConcurrentMigrateWhileChecking (issue #14): two Migrates of one VM,
// the first still being checked against a destination that will refuse
// it. No job ever exists, so neither may answer "already migrating": both
// get the destination's answer, 6. (At e7b7390 the second got 5: the
// profile refused any request for a VM whose first request was still
// being checked.)
func TestConcurrentMigrateWhileChecking(t *testing.T) {
	f := newFixture(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.drv.set(func(d *testDriver) {
		d.checkErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "a VM named web1 exists on host2.lab"}
		d.onCheck = func() {
			first := false
			once.Do(func() { first = true })
			if first {
				close(entered)
				<-release
			}
		}
	})
	in := map[string]any{"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"}
	first := make(chan uint64, 1)
	go func() { rc, _ := f.invoke(MethodMigrateToHost, in); first <- rc }()
	<-entered
	second := make(chan uint64, 1)
	go func() { rc, _ := f.invoke(MethodMigrateToHost, in); second <- rc }()
	var rc2 uint64
	got2 := false
	select {
	case rc2 = <-second: // answered while the first is being checked
		got2 = true
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	rc1 := <-first
	if !got2 {
		rc2 = <-second
	}
	if rc1 != 6 || rc2 != 6 {
		t.Fatalf("return codes %d and %d; want 6 and 6 (no job exists, the destination refuses both)", rc1, rc2)
	}
	if jobs, _ := f.eng.Jobs(f.ctx); len(jobs) != 0 {
		t.Errorf("jobs %v", jobs)
	}
}
