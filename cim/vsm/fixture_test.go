package vsm

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
)

// The profile's tests run the real engine (migrate.Engine) over the
// simulator: the engine decides every rule and keeps every job, as in the
// daemon. testDriver scripts, at the driver's seam, what a test needs the
// hypervisors to answer.

const (
	vmRunning = "0b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f30"
	vmShutoff = "1b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f31"
	vmPaused  = "2b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f32"
	vmOther   = "3b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f33"
	testHost  = "host1.lab"
	// testSpeed runs the simulator and the engine 200 times faster than
	// the wall clock: a 1 GiB migration takes ~50 ms.
	testSpeed = 200
)

const gib = 1 << 20 // KiB

// testDriver is the simulated host1.lab with scripted answers.
type testDriver struct {
	migrate.Driver

	mu       sync.Mutex
	checkErr error              // Check answers it, if set
	disks    []migrate.DiskPlan // Check's assessment, if set
	startErr error              // Start answers it, if set
	abortErr error              // a started migration's Abort answers it, if set
	gate     chan struct{}      // if set, Start waits until it is closed
	onCheck  func()             // if set, runs at the start of every Check
}

func (d *testDriver) Check(ctx context.Context, p migrate.Plan, vm migrate.Domain) (migrate.Assessment, error) {
	d.mu.Lock()
	err, on, disks := d.checkErr, d.onCheck, d.disks
	d.mu.Unlock()
	if on != nil {
		on()
	}
	if err != nil {
		return migrate.Assessment{}, err
	}
	if disks != nil {
		if _, err := d.Driver.Check(ctx, p, vm); err != nil {
			return migrate.Assessment{}, err
		}
		return migrate.Assessment{Disks: disks}, nil
	}
	return d.Driver.Check(ctx, p, vm)
}

func (d *testDriver) Start(ctx context.Context, p migrate.Plan) (migrate.Migration, error) {
	d.mu.Lock()
	gate, err := d.gate, d.startErr
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	m, err := d.Driver.Start(ctx, p)
	if err != nil {
		return nil, err
	}
	return &testMigration{Migration: m, d: d}, nil
}

// testMigration is a simulated migration whose Abort may be scripted.
type testMigration struct {
	migrate.Migration
	d *testDriver
}

func (m *testMigration) Abort(ctx context.Context) error {
	m.d.mu.Lock()
	err := m.d.abortErr
	m.d.mu.Unlock()
	if err != nil {
		return err
	}
	return m.Migration.Abort(ctx)
}

func (d *testDriver) set(f func(d *testDriver)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

// fixture is a Profile over a real engine over the simulator.
type fixture struct {
	t      *testing.T
	c      *sim.Cluster
	clk    migrate.Clock
	drv    *testDriver
	eng    *migrate.Engine
	store  migrate.Store
	p      *Profile
	reg    cim.Registry
	svc    serviceProvider
	jobs   jobProvider
	ctx    context.Context
	config Config
	engCfg migrate.Config
}

// newFixture builds the cluster, an engine on host1.lab over store (a new
// memory store if nil) and a Profile; mod may change f.config and
// f.engCfg before they are used.
func newFixture(t *testing.T, store migrate.Store, mod ...func(f *fixture)) *fixture {
	t.Helper()
	if store == nil {
		store = migrate.NewMemoryStore()
	}
	clk := migrate.ScaledClock(testSpeed)
	vm := func(uuid, name string, st migrate.DomainState, vcpus int) sim.VMConfig {
		return sim.VMConfig{Name: name, UUID: uuid, Host: testHost, MemoryKiB: gib, VCPUs: vcpus, State: st, CPUModel: "x"}
	}
	var hosts []sim.HostConfig
	for _, h := range []string{testHost, "host2.lab", "host3.lab", "10.0.0.2", "fd00::2", "fd00::3"} {
		hosts = append(hosts, sim.HostConfig{Name: h, CPUModel: "x", MemoryKiB: 64 * gib})
	}
	c, err := sim.NewCluster(sim.Config{Clock: clk, Hosts: hosts, VMs: []sim.VMConfig{
		vm(vmRunning, "web1", migrate.StateRunning, 2),
		vm(vmShutoff, "db1", migrate.StateShutoff, 2),
		vm(vmPaused, "batch1", migrate.StatePaused, 1),
		vm(vmOther, "web2", migrate.StateRunning, 1),
	}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, c: c, clk: clk, store: store, reg: testRegistry(t), ctx: context.Background()}
	f.drv = &testDriver{Driver: c.Host(testHost)}
	f.engCfg = migrate.DefaultConfig()
	f.engCfg.Clock, f.engCfg.Store = clk, store
	f.config = Config{
		Registry:      f.reg,
		Clock:         clk.Now,
		SweepInterval: -1,
		OwnerOf:       func(context.Context) string { return "operator" },
	}
	for _, m := range mod {
		m(f)
	}
	f.open()
	return f
}

// open (re)builds the engine and the Profile over the fixture's store.
func (f *fixture) open() {
	f.t.Helper()
	eng, err := migrate.New(f.engCfg, f.drv)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		f.drv.set(func(d *testDriver) {
			if d.gate != nil {
				select {
				case <-d.gate:
				default:
					close(d.gate)
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil {
			f.t.Error(err)
		}
	})
	f.eng = eng
	f.config.Engine = eng
	p, err := New(f.config)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { p.Close() })
	f.p, f.svc, f.jobs = p, serviceProvider{p}, jobProvider{p}
}

// gate holds every migration in Start (JobState 3) until release.
func (f *fixture) gate() (release func()) {
	g := make(chan struct{})
	f.drv.set(func(d *testDriver) { d.gate = g })
	var once sync.Once
	return func() { once.Do(func() { close(g) }) }
}

func vmRef(uuid string) cim.ObjectPath {
	return cim.ObjectPath{Namespace: DefaultNamespace, ClassName: ClassComputerSystem, Keys: []cim.KeyBinding{
		{Name: "CreationClassName", Value: ClassComputerSystem}, {Name: "Name", Value: uuid}}}
}

// embed builds an embedded instance of class with the given properties.
func (f *fixture) embed(class string, props map[string]any) *cim.Instance {
	f.t.Helper()
	c, ok := f.reg.Class(class)
	if !ok {
		f.t.Fatalf("no class %s", class)
	}
	inst := cim.NewInstance(c, "")
	for k, v := range props {
		inst.MustSet(k, v)
	}
	return inst
}

// invoke calls a service method and returns its code and OUT parameters.
func (f *fixture) invoke(method string, in map[string]any) (uint64, map[string]any) {
	f.t.Helper()
	ret, out, err := f.svc.InvokeMethod(f.ctx, f.p.servicePath(), method, in)
	if err != nil {
		f.t.Fatalf("%s: %v", method, err)
	}
	return ret.(uint64), out
}

// migrate runs MigrateVirtualSystemToHost for a VM and returns the job ID.
func (f *fixture) migrate(uuid, dest string) string {
	f.t.Helper()
	return f.migrateWith(map[string]any{"ComputerSystem": vmRef(uuid), "DestinationHost": dest})
}

// migrateSlowly migrates a VM capped at 1 MiB/s: it runs for minutes of
// simulated time, seconds of the test's.
func (f *fixture) migrateSlowly(uuid, dest string) string {
	f.t.Helper()
	return f.migrateWith(map[string]any{"ComputerSystem": vmRef(uuid), "DestinationHost": dest,
		"MigrationSettingData": f.embed(ClassSettingData, map[string]any{"Bandwidth": 1})})
}

func (f *fixture) migrateWith(in map[string]any) string {
	f.t.Helper()
	rc, out := f.invoke(MethodMigrateToHost, in)
	if rc != 4096 {
		f.t.Fatalf("Migrate returned %d, want 4096", rc)
	}
	return keyString(out["Job"].(cim.ObjectPath), "InstanceID")
}

func (f *fixture) job(id string) *cim.Instance {
	f.t.Helper()
	inst, err := f.jobs.GetInstance(f.ctx, f.p.jobPath(id))
	if err != nil {
		f.t.Fatal(err)
	}
	return inst
}

// waitState waits until the job's JobState is one of states, and returns
// the job; it fails the test after 10 s.
func (f *fixture) waitState(id string, states ...uint64) *cim.Instance {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := f.job(id)
		for _, s := range states {
			if get(j, "JobState") == s {
				return j
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("job %s in JobState %v, want one of %v", id, get(j, "JobState"), states)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (f *fixture) rsc(id string, in map[string]any) uint64 {
	f.t.Helper()
	ret, _, err := f.jobs.InvokeMethod(f.ctx, f.p.jobPath(id), MethodRequestStateChange, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return ret.(uint64)
}

func get(inst *cim.Instance, name string) any {
	v, _ := inst.Get(name)
	return v
}

// blockerVM is the VM occupy migrates.
const blockerVM = "4b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f34"

// occupy takes the engine's only outgoing slot (set engCfg.MaxOutgoing to
// 1) with a migration of a VM of its own, held in Start, so that every
// job accepted after it waits queued (JobState 2).
func (f *fixture) occupy() {
	f.t.Helper()
	f.gate()
	if err := f.c.AddVM(sim.VMConfig{Name: "blocker", UUID: blockerVM, Host: testHost, MemoryKiB: gib, CPUModel: "x"}); err != nil {
		f.t.Fatal(err)
	}
	id := f.migrate(blockerVM, "host3.lab")
	f.waitState(id, 3)
}

// queued is a fixture mod: one outgoing migration at a time.
func queued(f *fixture) { f.engCfg.MaxOutgoing = 1 }
