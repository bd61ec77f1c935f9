package vsm

// This file generated jobs-e7b7390.db, a job store as the release at
// commit e7b7390 writes it (before the engine owned its jobs), and
// jobs-e7b7390.golden, that release's CIM rendering of each job. It ran
// once at that commit, copied to cim/vsm/zz_genfixture_test.go, as
//
//	VSMIG_GEN_FIXTURE=$PWD/migrate/boltstore/testdata go test -run TestGenerateUpgradeFixture ./cim/vsm/
//
// It is kept here, outside the build (the go tool ignores testdata), to
// show how the fixture was made: real migrations on the simulator through
// the profile and the engine of that release, ending in every job state,
// then a stop with one job running and one queued.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/schemas"

	bolt "go.etcd.io/bbolt"
)

func TestGenerateUpgradeFixture(t *testing.T) {
	out := os.Getenv("VSMIG_GEN_FIXTURE")
	if out == "" {
		t.Skip("VSMIG_GEN_FIXTURE not set")
	}
	const speed = 100
	clk := migrate.ScaledClock(speed)
	const gib = 1 << 20
	vm := func(name string, mem uint64) sim.VMConfig {
		return sim.VMConfig{Name: name, Host: "host-a", MemoryKiB: mem, VCPUs: 2}
	}
	c, err := sim.NewCluster(sim.Config{
		Clock: clk,
		Hosts: []sim.HostConfig{
			{Name: "host-a", CPUModel: "x", MemoryKiB: 64 * gib},
			{Name: "host-b", CPUModel: "x", MemoryKiB: 64 * gib},
			{Name: "host-c", CPUModel: "x", MemoryKiB: 64 * gib},
		},
		VMs: []sim.VMConfig{
			vm("done-vm", gib), vm("fail-vm", gib), vm("term-vm", 8*gib), vm("clash-vm", gib),
			vm("kill-vm", gib), vm("keep-vm", gib), vm("run-vm", 8*gib), vm("queue-vm", gib),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	store, err := job.Open(path, job.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	owner := "operator"
	var p *Profile
	var pmu sync.Mutex
	ecfg := migrate.DefaultConfig()
	ecfg.Clock = clk
	ecfg.MaxOutgoing = 1
	ecfg.OnUpdate = func(u migrate.Update) {
		pmu.Lock()
		pp := p
		pmu.Unlock()
		pp.OnUpdate(u)
	}
	eng, err := migrate.New(ecfg, c.Host("host-a"))
	if err != nil {
		t.Fatal(err)
	}
	pmu.Lock()
	p, err = New(Config{Registry: reg, Store: store, Engine: eng, SweepInterval: -1,
		OwnerOf: func(context.Context) string { mu.Lock(); defer mu.Unlock(); return owner }})
	pmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var svc cim.InstanceProvider
	for _, pr := range p.Providers() {
		if _, ok := pr.(*serviceProvider); ok {
			svc = pr
		}
	}
	ctx := context.Background()
	migrateVM := func(name, dest string, bw uint64) string {
		t.Helper()
		in := map[string]any{"ComputerSystem": vmRef(sim.VMUUID(name)), "DestinationHost": dest}
		if bw > 0 {
			cls, _ := reg.Class(ClassSettingData)
			msd := cim.NewInstance(cls, "")
			msd.MustSet("Bandwidth", bw)
			msd.MustSet("Priority", 3)
			msd.MustSet("TransportType", 3)
			in["MigrationSettingData"] = msd
		}
		ret, outp, err := svc.(cim.MethodProvider).InvokeMethod(ctx, p.servicePath(), MethodMigrateToHost, in)
		if err != nil || ret.(uint64) != 4096 {
			t.Fatalf("migrate %s: %v %v", name, ret, err)
		}
		return keyString(outp["Job"].(cim.ObjectPath), "InstanceID")
	}
	state := func(id string) job.State {
		j, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return j.State
	}
	waitFor := func(id string, ok func(*job.Job) bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			j, err := store.Get(ctx, id)
			if err == nil && ok(j) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s: %+v", id, j)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ended := func(j *job.Job) bool { return j.State.Terminal() }

	// 7 Completed.
	done := migrateVM("done-vm", "host-b", 0)
	waitFor(done, ended)
	// 10 Exception, code 2: the destination refuses at the start.
	c.Inject(sim.Fault{Kind: sim.Refuse, Dest: "host-b", Reason: "out of ports"})
	fail := migrateVM("fail-vm", "host-b", 0)
	waitFor(fail, ended)
	// 8 Terminated (running), 9 Killed (queued), 10 Exception code 6 (a
	// name clash found by the driver when the queued job starts).
	term := migrateVM("term-vm", "host-b", 1)
	waitFor(term, func(j *job.Job) bool { return j.State == job.Running && j.PercentComplete > 0 })
	clash := migrateVM("clash-vm", "host-c", 0)
	kill := migrateVM("kill-vm", "host-c", 0)
	if err := c.AddVM(sim.VMConfig{Name: "clash-vm", UUID: "9e0c0b7a-5b7e-4a61-9d0c-6b1b8a0c1f00", Host: "host-c", MemoryKiB: gib}); err != nil {
		t.Fatal(err)
	}
	jp := jobProvider{p}
	if rc, _, err := jp.InvokeMethod(ctx, p.jobPath(kill), MethodRequestStateChange, map[string]any{"RequestedState": uint64(5)}); err != nil || rc.(uint64) != 0 {
		t.Fatalf("kill: %v %v", rc, err)
	}
	if rc, _, err := jp.InvokeMethod(ctx, p.jobPath(term), MethodRequestStateChange, map[string]any{"RequestedState": uint64(4)}); err != nil || rc.(uint64) != 4096 {
		t.Fatalf("terminate: %v %v", rc, err)
	}
	waitFor(term, ended)
	waitFor(clash, ended)
	// 7 Completed, another owner, kept for an hour by a Put.
	mu.Lock()
	owner = "alice"
	mu.Unlock()
	keep := migrateVM("keep-vm", "host-c", 0)
	waitFor(keep, ended)
	inst, err := jp.GetInstance(ctx, p.jobPath(keep))
	if err != nil {
		t.Fatal(err)
	}
	inst.MustSet("DeleteOnCompletion", false)
	inst.MustSet("TimeBeforeRemoval", cim.IntervalOf(time.Hour))
	if err := jp.ModifyInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	// The crash: one job running, one queued behind it.
	mu.Lock()
	owner = "operator"
	mu.Unlock()
	run := migrateVM("run-vm", "host-b", 1)
	waitFor(run, func(j *job.Job) bool { return j.State == job.Running && j.PercentComplete >= 5 })
	queued := migrateVM("queue-vm", "host-c", 0)
	if st := state(queued); st != job.New {
		t.Fatalf("queued job in state %d", st)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	p.Close()

	// The old code's rendering of every job, for the upgrade test.
	jobs, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{done: "completed", fail: "failed", term: "terminated", clash: "clash",
		kill: "killed", keep: "kept", run: "running", queued: "queued"}
	var b strings.Builder
	for _, j := range jobs {
		inst := p.jobInstance(j)
		if !j.State.Terminal() {
			inst.Set("ElapsedTime", nil) // depends on the time it is read
		}
		b.WriteString("// " + names[j.InstanceID] + "\n" + inst.String() + "\n")
	}
	keys := slices.Collect(func(yield func(string) bool) {
		for id, n := range names {
			if !yield(n + " " + id) {
				return
			}
		}
	})
	slices.Sort(keys)
	b.WriteString("// ids\n// " + strings.Join(keys, "\n// ") + "\n")
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// The file as the daemon left it, without the unused tail of its
	// 8 MiB initial memory map: a consistent copy of its pages.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error { return tx.CopyFile(filepath.Join(out, "jobs-e7b7390.db"), 0o644) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "jobs-e7b7390.golden"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
