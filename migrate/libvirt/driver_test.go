package libvirt

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

const (
	uriSrc = "qemu+tcp://10.0.0.2/system"
	uriDst = "qemu+tcp://10.0.0.3/system"
	vmID   = "50cf1512-6d4a-4b5b-928b-871b2673d1b2"
)

func kindOf(err error) migrate.CheckKind {
	var ce *migrate.CheckError
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return 0
}

// fakePair is a source and a destination host with one running VM on the
// source, and a driver for the source.
func fakePair(t *testing.T) (d *Driver, src, dst *fakeHost, dom golibvirt.Domain) {
	t.Helper()
	src = newFakeHost("00000000-0000-4000-8000-0000000000a1")
	dst = newFakeHost("00000000-0000-4000-8000-0000000000b2")
	dom = src.addDomain(vmID, "web1", golibvirt.DomainRunning)
	net := fakeNet{uriSrc: src, uriDst: dst}
	d, err := newDriver(context.Background(), Config{URI: uriSrc, PollInterval: 10 * time.Millisecond}, net.open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, src, dst, dom
}

func livePlan() migrate.Plan {
	return migrate.Plan{VM: vmID, Type: migrate.Live, DestHost: "10.0.0.3", Transport: migrate.TCP, DestURI: uriDst}
}

func TestInventoryFake(t *testing.T) {
	d, _, _, _ := fakePair(t)
	ctx := context.Background()
	h, err := d.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := migrate.Host{Name: "10.0.0.2", UUID: "00000000-0000-4000-8000-0000000000a1", CPUModel: "qemu64",
		MemoryKiB: 8 << 20, FreeKiB: 6 << 20, Hypervisor: "QEMU 7.2.0 (TCG)", CPUs: 4}
	if h != want {
		t.Errorf("Host = %+v\nwant %+v", h, want)
	}
	doms, err := d.Domains(ctx)
	if err != nil || len(doms) != 1 {
		t.Fatalf("Domains = %v, %v", doms, err)
	}
	wantDom := migrate.Domain{UUID: vmID, Name: "web1", State: migrate.StateRunning, MemoryKiB: 256 << 10, VCPUs: 1, Persistent: true}
	if doms[0] != wantDom {
		t.Errorf("Domains[0] = %+v", doms[0])
	}
	if _, err := d.Domain(ctx, strings.ToUpper(vmID)); err != nil {
		t.Errorf("Domain(upper-case UUID) = %v", err)
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-uuid"} {
		if _, err := d.Domain(ctx, id); !errors.Is(err, migrate.ErrNoDomain) {
			t.Errorf("Domain(%s) = %v, want ErrNoDomain", id, err)
		}
	}
}

func TestCheckFake(t *testing.T) {
	tests := []struct {
		name  string
		setup func(src, dst *fakeHost)
		plan  func(p *migrate.Plan)
		want  migrate.CheckKind
		in    string
	}{
		{name: "ok"},
		{name: "unreachable", plan: func(p *migrate.Plan) { p.DestURI = "qemu+tcp://10.0.0.9/system" },
			want: migrate.InvalidState, in: "destination unreachable"},
		{name: "same host", plan: func(p *migrate.Plan) { p.DestURI = uriSrc }, want: migrate.Incompatible, in: "same host UUID"},
		{name: "name taken", setup: func(_, dst *fakeHost) {
			dst.addDomain("11111111-1111-4111-8111-111111111111", "web1", golibvirt.DomainShutoff)
		},
			want: migrate.Incompatible, in: `named "web1"`},
		{name: "renamed avoids the taken name", setup: func(_, dst *fakeHost) {
			dst.addDomain("11111111-1111-4111-8111-111111111111", "web1", golibvirt.DomainShutoff)
		},
			plan: func(p *migrate.Plan) { p.NewName = "web9" }},
		{name: "uuid taken", setup: func(_, dst *fakeHost) { dst.addDomain(vmID, "other", golibvirt.DomainShutoff) },
			want: migrate.Incompatible, in: "UUID"},
		{name: "more than free", plan: func(p *migrate.Plan) { p.NewMemoryKiB = 7 << 20 }, want: migrate.Incompatible, in: "free"},
		{name: "more than the host", plan: func(p *migrate.Plan) { p.NewMemoryKiB = 9 << 20 }, want: migrate.Incompatible, in: "in all"},
		{name: "too many vcpus", plan: func(p *migrate.Plan) { p.NewVCPUs = 64 }, want: migrate.Incompatible, in: "vCPUs"},
		// The VM's run state is the engine's rule (migrate.StateAllows):
		// Check does not repeat it, but does not ask a stopped VM for a job.
		{name: "shut off: the engine's rule, not Check's", setup: func(src, _ *fakeHost) {
			src.doms[golibvirt.UUID(mustUUID(vmID))].state = golibvirt.DomainShutoff
			src.job[golibvirt.UUID(mustUUID(vmID))] = jobStats{Type: golibvirt.DomainJobUnbounded}
		}},
		{name: "paused and busy", setup: func(src, _ *fakeHost) {
			src.doms[golibvirt.UUID(mustUUID(vmID))].state = golibvirt.DomainPaused
			src.job[golibvirt.UUID(mustUUID(vmID))] = jobStats{Type: golibvirt.DomainJobUnbounded}
		}, want: migrate.InvalidState, in: "job"},
		{name: "busy", setup: func(src, _ *fakeHost) {
			src.job[golibvirt.UUID(mustUUID(vmID))] = jobStats{Type: golibvirt.DomainJobUnbounded}
		}, want: migrate.InvalidState, in: "job"},
		{name: "unknown VM", plan: func(p *migrate.Plan) { p.VM = "00000000-0000-4000-8000-000000000000" }, want: migrate.InvalidParameter},
		{name: "bad type", plan: func(p *migrate.Plan) { p.Type = 7 }, want: migrate.NotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, src, dst, _ := fakePair(t)
			if tt.setup != nil {
				tt.setup(src, dst)
			}
			p := livePlan()
			if tt.plan != nil {
				tt.plan(&p)
			}
			err := checkAsEngine(context.Background(), d, p)
			if kindOf(err) != tt.want || tt.want == 0 && err != nil {
				t.Fatalf("Check = %v, want kind %d", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("Check = %v, want it to mention %q", err, tt.in)
			}
		})
	}
}

func TestStartSucceeds(t *testing.T) {
	d, src, dst, dom := fakePair(t)
	release := make(chan struct{})
	var gotFlags golibvirt.DomainMigrateFlags
	var gotParams []golibvirt.TypedParam
	src.perform = func(dom golibvirt.Domain, uri string, params []golibvirt.TypedParam, flags golibvirt.DomainMigrateFlags) error {
		gotFlags, gotParams = flags, params
		src.mu.Lock()
		src.job[dom.UUID] = jobStats{Type: golibvirt.DomainJobUnbounded, Fields: map[string]any{
			"memory_total": uint64(1000), "memory_processed": uint64(400), "memory_remaining": uint64(600), "memory_iteration": uint64(1)}}
		src.mu.Unlock()
		<-release
		dst.mu.Lock()
		dst.completed[dom.UUID] = params2(map[string]any{"time_elapsed": uint64(900), "downtime": uint64(30),
			"data_processed": uint64(1200), "memory_iteration": uint64(3)})
		dst.mu.Unlock()
		src.move(dom, dst, "web2")
		return nil
	}
	p := livePlan()
	p.NewName = "web2"
	p.MaxDowntime = 200 * time.Millisecond
	m, err := d.Start(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pre-copy progress", func() bool {
		pr, err := m.Progress(context.Background())
		return err == nil && pr.Phase == "precopy" && pr.MemoryRemaining == 600
	})
	waitFor(t, "downtime applied", func() bool { src.mu.Lock(); defer src.mu.Unlock(); return src.downtime == 200 })
	if err := m.EnableAutoConverge(context.Background()); !errors.Is(err, migrate.ErrUnsupported) {
		t.Errorf("EnableAutoConverge = %v", err)
	}
	if err := m.StartPostCopy(context.Background()); !errors.Is(err, migrate.ErrUnsupported) {
		t.Errorf("StartPostCopy without PostCopy = %v", err)
	}
	close(release)
	<-m.Done()
	res, err := m.Result()
	if err != nil {
		t.Fatal(err)
	}
	if res.Downtime != 30*time.Millisecond || res.Iterations != 3 || res.DataTransferred != 1200 || res.TotalTime <= 0 {
		t.Errorf("Result = %+v", res)
	}
	dst.mu.Lock()
	kept := len(dst.completed[dom.UUID])
	dst.mu.Unlock()
	if kept == 0 {
		t.Error("reading the final statistics made the destination forget them (virsh domjobinfo --completed)")
	}
	if gotFlags != migrateFlags(p, migrate.StateRunning) || len(gotParams) == 0 {
		t.Errorf("perform flags %#x params %v", gotFlags, gotParams)
	}
	if loc, err := d.Locate(context.Background(), p); loc != migrate.LocationDestination || err != nil {
		t.Errorf("Locate = %d, %v", loc, err)
	}
	if err := m.Abort(context.Background()); !errors.Is(err, migrate.ErrFinished) {
		t.Errorf("Abort after the end = %v", err)
	}
	_ = dom
}

func params2(kv map[string]any) []golibvirt.TypedParam { return params(kv) }

func TestStartAborted(t *testing.T) {
	d, src, _, _ := fakePair(t)
	aborted := make(chan struct{})
	src.perform = func(dom golibvirt.Domain, _ string, _ []golibvirt.TypedParam, _ golibvirt.DomainMigrateFlags) error {
		src.mu.Lock()
		src.job[dom.UUID] = jobStats{Type: golibvirt.DomainJobUnbounded, Fields: map[string]any{"memory_total": uint64(10)}}
		src.mu.Unlock()
		<-aborted
		return golibvirt.Error{Code: uint32(golibvirt.ErrOperationAborted), Message: "operation aborted: job 'migration out' canceled by client"}
	}
	src.abort = func(golibvirt.Domain) error { close(aborted); return nil }
	m, err := d.Start(context.Background(), livePlan())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Abort(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	if _, err := m.Result(); err == nil || !strings.Contains(err.Error(), "aborted") {
		t.Errorf("Result err = %v", err)
	}
	if loc, err := d.Locate(context.Background(), livePlan()); loc != migrate.LocationSource || err != nil {
		t.Errorf("Locate = %d, %v", loc, err)
	}
}

func TestRestartMigration(t *testing.T) {
	d, src, dst, _ := fakePair(t)
	var flags golibvirt.DomainMigrateFlags
	src.perform = func(dom golibvirt.Domain, _ string, _ []golibvirt.TypedParam, f golibvirt.DomainMigrateFlags) error {
		flags = f
		if st, _, _ := src.DomainGetState(dom, 0); golibvirt.DomainState(st) != golibvirt.DomainShutoff {
			t.Errorf("offline migration of a running VM")
		}
		src.move(dom, dst, dom.Name)
		return nil
	}
	p := livePlan()
	p.Type = migrate.Restart
	p.ShutdownTimeout = 5 * time.Second
	m, err := d.Start(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	if _, err := m.Result(); err != nil {
		t.Fatal(err)
	}
	if flags&golibvirt.MigrateOffline == 0 {
		t.Errorf("flags %#x lack OFFLINE", flags)
	}
	if st, _, _ := dst.DomainGetState(golibvirt.Domain{UUID: golibvirt.UUID(mustUUID(vmID))}, 0); golibvirt.DomainState(st) != golibvirt.DomainRunning {
		t.Errorf("VM not started on the destination (state %d)", st)
	}
}

func TestAttach(t *testing.T) {
	d, src, dst, dom := fakePair(t)
	if _, err := d.Attach(context.Background(), livePlan()); !errors.Is(err, migrate.ErrNoJob) {
		t.Fatalf("Attach with no job = %v", err)
	}
	src.job[dom.UUID] = jobStats{Type: golibvirt.DomainJobUnbounded, Fields: map[string]any{
		"operation": int32(golibvirt.DomainJobOperationStrMigrationOut), "time_elapsed": uint64(5000), "memory_total": uint64(10)}}
	m, err := d.Attach(context.Background(), livePlan())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
		t.Fatal("attached migration ended while the job runs")
	case <-time.After(50 * time.Millisecond):
	}
	src.move(dom, dst, dom.Name) // the job ends with the VM on the destination
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("attached migration did not end")
	}
	if res, err := m.Result(); err != nil || res.TotalTime < 5*time.Second {
		t.Errorf("Result = %+v, %v", res, err)
	}
}

func TestCallHonoursContext(t *testing.T) {
	d, src, _, _ := fakePair(t)
	src.block = make(chan struct{})
	defer close(src.block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.Host(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Host on a hung daemon = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Host returned after %v", time.Since(start))
	}
	src.mu.Lock()
	kills := src.kills
	src.mu.Unlock()
	if kills == 0 {
		t.Error("the hung session was not killed")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRestartShutdownTimeout(t *testing.T) {
	d, src, _, _ := fakePair(t)
	src.ignoreShutdown = true
	p := livePlan()
	p.Type = migrate.Restart
	p.ShutdownTimeout = 100 * time.Millisecond
	m, err := d.Start(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("no timeout")
	}
	if _, err := m.Result(); err == nil || !strings.Contains(err.Error(), "did not shut down") {
		t.Errorf("Result = %v", err)
	}
	if loc, _ := d.Locate(context.Background(), p); loc != migrate.LocationSource {
		t.Errorf("Locate = %d", loc)
	}
}
