package vsm

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
)

// fakeEngine is an Engine and its Driver with scripted answers.
type fakeEngine struct {
	mu        sync.Mutex
	doms      map[string]migrate.Domain
	checkErr  error
	submitErr error
	cancelErr error
	recErr    error
	hostErr   error
	// onCancel, if set, runs inside Cancel (an engine may report the end of
	// a queued job synchronously).
	onCancel func(id string, kill bool)

	checked   []migrate.Request
	submitted []migrate.Request
	cancelled []string
	recovered []migrate.Request
}

const (
	vmRunning = "0b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f30"
	vmShutoff = "1b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f31"
	vmPaused  = "2b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f32"
	vmOther   = "3b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f33"
	testHost  = "host1.lab"
)

func newFakeEngine() *fakeEngine {
	return &fakeEngine{doms: map[string]migrate.Domain{
		vmRunning: {UUID: vmRunning, Name: "web1", State: migrate.StateRunning, MemoryKiB: 1 << 20, VCPUs: 2, Persistent: true},
		vmShutoff: {UUID: vmShutoff, Name: "db1", State: migrate.StateShutoff, MemoryKiB: 1 << 20, VCPUs: 2, Persistent: true},
		vmPaused:  {UUID: vmPaused, Name: "batch1", State: migrate.StatePaused, MemoryKiB: 1 << 20, VCPUs: 1, Persistent: true},
		vmOther:   {UUID: vmOther, Name: "web2", State: migrate.StateRunning, MemoryKiB: 1 << 20, VCPUs: 1, Persistent: true},
	}}
}

func (f *fakeEngine) Check(ctx context.Context, req migrate.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, req)
	return f.checkErr
}

func (f *fakeEngine) Submit(ctx context.Context, req migrate.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return f.submitErr
	}
	f.submitted = append(f.submitted, req)
	return nil
}

func (f *fakeEngine) Cancel(ctx context.Context, id string, kill bool) error {
	f.mu.Lock()
	f.cancelled = append(f.cancelled, id)
	err, on := f.cancelErr, f.onCancel
	f.mu.Unlock()
	if err == nil && on != nil {
		on(id, kill)
	}
	return err
}

func (f *fakeEngine) Recover(ctx context.Context, req migrate.Request) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recovered = append(f.recovered, req)
	return f.recErr
}

func (f *fakeEngine) Driver() migrate.Driver { return fakeDriver{f} }

// fakeDriver is the engine's inventory.
type fakeDriver struct{ *fakeEngine }

func (fakeDriver) Check(context.Context, migrate.Plan) error { return nil }

func (f fakeDriver) Host(ctx context.Context) (migrate.Host, error) {
	return migrate.Host{Name: testHost}, f.hostErr
}

func (f fakeDriver) Domains(ctx context.Context) ([]migrate.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fixed := []string{vmRunning, vmShutoff, vmPaused, vmOther}
	var out []migrate.Domain
	for _, id := range fixed {
		if d, ok := f.doms[id]; ok {
			out = append(out, d)
		}
	}
	var rest []string
	for id := range f.doms {
		if !slices.Contains(fixed, id) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	for _, id := range rest {
		out = append(out, f.doms[id])
	}
	return out, nil
}

func (f fakeDriver) Domain(ctx context.Context, uuid string) (migrate.Domain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.doms[uuid]
	if !ok {
		return migrate.Domain{}, migrate.ErrNoDomain
	}
	return d, nil
}

// The rest of migrate.Driver is not used by the profile.
func (f fakeDriver) Start(context.Context, migrate.Plan) (migrate.Migration, error) {
	return nil, migrate.ErrUnsupported
}
func (f fakeDriver) Attach(context.Context, migrate.Plan) (migrate.Migration, error) {
	return nil, migrate.ErrUnsupported
}
func (f fakeDriver) Locate(context.Context, migrate.Plan) (migrate.Location, error) {
	return migrate.LocationUnknown, migrate.ErrUnsupported
}
func (f fakeDriver) Close() error { return nil }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// fixture is a Profile over a fake engine.
type fixture struct {
	t      *testing.T
	p      *Profile
	eng    *fakeEngine
	store  job.Store
	clock  *fakeClock
	reg    cim.Registry
	svc    serviceProvider
	jobs   jobProvider
	ctx    context.Context
	config Config
}

func newFixture(t *testing.T, store job.Store, mod ...func(*Config)) *fixture {
	t.Helper()
	if store == nil {
		store = job.NewMemory()
	}
	f := &fixture{t: t, eng: newFakeEngine(), store: store, clock: &fakeClock{t: t0}, reg: testRegistry(t), ctx: context.Background()}
	f.config = Config{
		Registry:      f.reg,
		Store:         store,
		Engine:        f.eng,
		Clock:         f.clock.Now,
		SweepInterval: -1,
		OwnerOf:       func(context.Context) string { return "operator" },
	}
	for _, m := range mod {
		m(&f.config)
	}
	f.open()
	return f
}

// open (re)builds the Profile over the fixture's store and engine.
func (f *fixture) open() {
	f.t.Helper()
	p, err := New(f.config)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { p.Close() })
	f.p, f.svc, f.jobs = p, serviceProvider{p}, jobProvider{p}
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
	rc, out := f.invoke(MethodMigrateToHost, map[string]any{"ComputerSystem": vmRef(uuid), "DestinationHost": dest})
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
