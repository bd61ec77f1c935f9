package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/fleet"
	"github.com/vsmig/vsmig/migrate/fleet/fleettest"
	"github.com/vsmig/vsmig/migrate/sim"
)

const (
	gib   = 1 << 20 // KiB
	speed = 40      // the simulation runs 40 times faster than the wall clock
)

// node is one host of a test cluster: its engine on a simulated host and
// its fleet membership.
type node struct {
	name string
	eng  *migrate.Engine
	f    *fleet.Fleet
}

// harness is a simulated cluster of hosts sharing a real etcd cluster.
type harness struct {
	t      *testing.T
	etcd   *fleettest.Cluster
	sc     *sim.Cluster
	prefix string
	nodes  map[string]*node
}

func logger(t *testing.T) *slog.Logger {
	if os.Getenv("VSMIG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newHarness builds the simulated cluster and starts a node per host.
func newHarness(t *testing.T, etcd *fleettest.Cluster, cfg sim.Config, mod func(*fleet.Config)) *harness {
	t.Helper()
	cfg.Speed = speed
	sc, err := sim.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, etcd: etcd, sc: sc, prefix: "/" + strings.ReplaceAll(t.Name(), "/", "_") + "/", nodes: map[string]*node{}}
	for _, hc := range cfg.Hosts {
		h.start(hc.Name, etcd.Endpoints(), mod)
	}
	return h
}

// start runs a node for host name.
func (h *harness) start(name string, endpoints []string, mod func(*fleet.Config)) *node {
	t := h.t
	fc := fleet.Config{Endpoints: endpoints, Prefix: h.prefix, Host: name, LeaseTTL: 3 * time.Second,
		OpTimeout: 2 * time.Second, MaxRunning: 3, Refresh: 200 * time.Millisecond, Logger: logger(t).With("host", name)}
	if mod != nil {
		mod(&fc)
	}
	f, err := fleet.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	ec := migrate.DefaultConfig()
	ec.Clock = h.sc.Clock()
	ec.Cluster = f
	ec.MaxIncoming = 2
	ec.Logger = logger(t).With("host", name)
	eng, err := migrate.New(ec, h.sc.Host(name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.Start(ctx, eng); err != nil {
		t.Fatal(err)
	}
	if err := eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, eng: eng, f: f}
	h.nodes[name] = n
	t.Cleanup(func() { n.stop() })
	return n
}

// stop shuts the node's engine down and closes its membership (the
// lease stays until it lapses, as when vsmigd stops).
func (n *node) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.eng.Shutdown(ctx)
	n.f.Close()
}

// waitMembers waits until every node sees want members.
func (h *harness) waitMembers(want int) {
	h.t.Helper()
	eventually(h.t, 20*time.Second, func() error {
		for _, n := range h.nodes {
			if got := len(n.f.Members()); got != want {
				return fmt.Errorf("%s sees %d members, want %d", n.name, got, want)
			}
		}
		return nil
	})
}

// eventually retries cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkPeaks asserts the trace never shows more than maxTotal migrations
// at once, nor more than maxIn into a destination.
func checkPeaks(t *testing.T, trace []sim.TraceEvent, maxTotal, maxIn int) {
	t.Helper()
	total, in, _ := sim.Peaks(trace)
	if total > maxTotal {
		t.Errorf("%d migrations ran at once, the cluster limit is %d", total, maxTotal)
	}
	for d, n := range in {
		if n > maxIn {
			t.Errorf("%d migrations ran into %s at once, its limit is %d", n, d, maxIn)
		}
	}
	if total == 0 {
		t.Error("the trace shows no migration")
	}
	t.Logf("peaks: %d at once (limit %d), per destination %v (limit %d)", total, maxTotal, in, maxIn)
}

// hosts builds host configs.
func hosts(names ...string) []sim.HostConfig {
	var out []sim.HostConfig
	for _, n := range names {
		out = append(out, sim.HostConfig{Name: n, CPUModel: "Skylake", MemoryKiB: 64 * gib, CPUs: 16})
	}
	return out
}

// vms builds n small idle VMs on host.
func vms(host string, n int) []sim.VMConfig {
	var out []sim.VMConfig
	for i := range n {
		out = append(out, sim.VMConfig{Name: fmt.Sprintf("%s-vm%02d", host, i), Host: host, MemoryKiB: gib / 2, DirtyRate: 1e6, WorkingSet: 16e6})
	}
	return out
}

var (
	etcdOnce sync.Once
	etcdC    *fleettest.Cluster
)

// sharedEtcd is one 3-member cluster for the tests that do not kill a
// member; each test has its own key prefix.
func sharedEtcd(t *testing.T) *fleettest.Cluster {
	etcdOnce.Do(func() { etcdC = fleettest.Start(&longLived{t}, 3, fleettest.Options{}) })
	if etcdC == nil {
		t.Fatal("no etcd cluster")
	}
	return etcdC
}

// longLived is a testing.TB whose cleanup runs at the end of the test
// binary (TestMain) rather than of the first test.
type longLived struct{ *testing.T }

func (l *longLived) Cleanup(f func()) { cleanups = append(cleanups, f) }
func (l *longLived) TempDir() string {
	d, err := os.MkdirTemp("", "vsmig-fleet-etcd-*")
	if err != nil {
		l.T.Fatal(err)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(d) })
	return d
}

var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// submit asks n's engine to migrate vm to dest.
func submit(t *testing.T, n *node, vm, dest string) (*migrate.Job, error) {
	t.Helper()
	return n.eng.Submit(context.Background(), migrate.Request{
		JobID: "job-" + vm, Plan: migrate.Plan{VM: sim.VMUUID(vm), Type: migrate.Live, DestHost: dest},
	})
}

// waitJobs waits until every job has ended and returns them.
func waitJobs(t *testing.T, n *node, ids []string, d time.Duration) []*migrate.Job {
	t.Helper()
	var out []*migrate.Job
	eventually(t, d, func() error {
		out = out[:0]
		for _, id := range ids {
			j, err := n.eng.Job(context.Background(), id)
			if err != nil {
				return err
			}
			if !j.Status.Terminal() {
				return fmt.Errorf("job %s: %s", id, j.StatusLine)
			}
			out = append(out, j)
		}
		return nil
	})
	return out
}

// TestClusterLimits: three sources send twelve migrations to two
// destinations at once; the recorded timeline never exceeds the
// cluster's limit (3) nor a destination's incoming limit (2), counted
// across the sources.
func TestClusterLimits(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("s1", "s2", "s3", "d1", "d2")}
	for _, s := range []string{"s1", "s2", "s3"} {
		cfg.VMs = append(cfg.VMs, vms(s, 4)...)
	}
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(5)
	ids := map[string][]string{}
	for i, v := range cfg.VMs {
		dest := []string{"d1", "d2"}[i%2]
		if _, err := submit(t, h.nodes[v.Host], v.Name, dest); err != nil {
			t.Fatalf("submit %s: %v", v.Name, err)
		}
		ids[v.Host] = append(ids[v.Host], "job-"+v.Name)
	}
	for src, js := range ids {
		for _, j := range waitJobs(t, h.nodes[src], js, 60*time.Second) {
			if j.Status != migrate.StatusCompleted {
				t.Errorf("%s: %s", j.ID, j.StatusLine)
			}
		}
	}
	checkPeaks(t, h.sc.Trace(), 3, 2)
	// Every slot and lock is given back.
	eventually(t, 10*time.Second, func() error {
		r, err := h.nodes["s1"].f.Client().Get(context.Background(), h.prefix, clientv3WithPrefix()...)
		if err != nil {
			return err
		}
		for _, kv := range r.Kvs {
			k := string(kv.Key)
			if strings.Contains(k, "/slots/") || strings.Contains(k, "/vms/") {
				return fmt.Errorf("%s still held", k)
			}
		}
		return nil
	})
}

// TestOneMigrationPerVM: a VM's cluster lock refuses a second job for it
// from another host (as after a crash that left it defined on two).
func TestOneMigrationPerVM(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b", "c"), VMs: []sim.VMConfig{{Name: "big", Host: "a", MemoryKiB: 8 * gib, DirtyRate: 1e6}}}
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(3)
	if _, err := submit(t, h.nodes["a"], "big", "b"); err != nil {
		t.Fatal(err)
	}
	// A copy on c, as a crash could leave it, tries to move too.
	if err := h.sc.Place(sim.VMUUID("big"), map[string]migrate.DomainState{"a": migrate.StateRunning, "c": migrate.StateRunning}); err == nil {
		_, err := h.nodes["c"].eng.Submit(context.Background(), migrate.Request{JobID: "second",
			Plan: migrate.Plan{VM: sim.VMUUID("big"), Type: migrate.Live, DestHost: "b"}})
		if !errors.Is(err, migrate.ErrVMBusy) {
			t.Errorf("second job for the VM: err %v, want ErrVMBusy", err)
		}
	}
}

// TestDestinationMustBeMember: a destination without a live registration
// is refused with 5 (InvalidState).
func TestDestinationMustBeMember(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b"), VMs: vms("a", 1)}
	// b exists as a hypervisor, but no vsmigd of it is a member.
	h := newHarness(t, etcd, sim.Config{Hosts: cfg.Hosts[:1], VMs: cfg.VMs}, nil)
	_, err := submit(t, h.nodes["a"], "a-vm00", "b")
	if migrate.KindOf(err) != migrate.InvalidState || !strings.Contains(err.Error(), "not a member") {
		t.Errorf("err = %v, want InvalidState: not a member", err)
	}
}

// TestDrain moves four VMs off a host onto two others, spread.
func TestDrain(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b", "c"), VMs: vms("a", 4)}
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(3)
	a := h.nodes["a"]
	plan, err := a.f.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dests := map[string]int{}
	for _, p := range plan {
		dests[p.Dest]++
	}
	if dests["b"] != 2 || dests["c"] != 2 {
		t.Errorf("plan spreads %v, want 2 on b and 2 on c", dests)
	}
	rec := drainAndWait(t, a, "vsmig:Drain:1", 60*time.Second)
	if rec.State != migrate.DrainCompleted {
		t.Fatalf("drain %s: %s", rec.State, rec.Status)
	}
	for _, v := range cfg.VMs {
		if w := h.sc.Where(sim.VMUUID(v.Name)); len(w) != 1 || w[0] == "a" {
			t.Errorf("%s is on %v", v.Name, w)
		}
	}
	checkPeaks(t, h.sc.Trace(), 3, 2)
	if a.f.Percent(context.Background(), rec) != 100 {
		t.Errorf("percent %d", a.f.Percent(context.Background(), rec))
	}
}

// TestDrainReportsWhatCannotMove: a VM too big for every other host is
// reported with the reason, and the drain ends incomplete.
func TestDrainReportsWhatCannotMove(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b"), VMs: append(vms("a", 1), sim.VMConfig{Name: "huge", Host: "a", MemoryKiB: 60 * gib})}
	cfg.Hosts[1].MemoryKiB = 32 * gib
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(2)
	a := h.nodes["a"]
	rec := drainAndWait(t, a, "vsmig:Drain:2", 60*time.Second)
	if rec.State != migrate.DrainIncomplete {
		t.Fatalf("drain %s: %s", rec.State, rec.Status)
	}
	for _, v := range rec.VMs {
		if v.Name == "huge" && (v.State != migrate.VMStays || !strings.Contains(v.Reason, "memory")) {
			t.Errorf("huge: %s (%s)", v.State, v.Reason)
		}
	}
}

// TestDrainTakesArrivals: a migration into b runs when b's drain starts
// (admitted before b was draining). The drain does not end before that
// VM has arrived, and then moves it off too: no VM is left on a host a
// completed drain emptied.
func TestDrainTakesArrivals(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b", "c"),
		VMs: append(vms("b", 1), sim.VMConfig{Name: "late", Host: "a", MemoryKiB: 16 * gib, DirtyRate: 1e6, WorkingSet: 16e6})}
	cfg.Hosts[0].Bandwidth = 60_000_000 // a's copy of late takes about 7 s of wall time
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(3)
	a, b := h.nodes["a"], h.nodes["b"]
	if _, err := submit(t, a, "late", "b"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if j, err := a.eng.Job(context.Background(), "job-late"); err != nil || j.Status != migrate.StatusRunning {
			return fmt.Errorf("job-late is not running yet (%v)", err)
		}
		return nil
	})
	rec := drainAndWait(t, b, "vsmig:Drain:arrivals", 90*time.Second)
	if rec.State != migrate.DrainCompleted {
		t.Fatalf("drain %s: %s", rec.State, rec.Status)
	}
	if j, err := a.eng.Job(context.Background(), "job-late"); err != nil || j.Status != migrate.StatusCompleted {
		t.Fatalf("job-late: %v %v", j, err)
	}
	for _, vm := range []string{"b-vm00", "late"} {
		if w := h.sc.Where(sim.VMUUID(vm)); len(w) != 1 || w[0] == "b" {
			t.Errorf("%s is on %v after b's drain, want one host other than b", vm, w)
		}
	}
	if len(rec.VMs) != 2 {
		t.Errorf("the drain's record has %d VMs, want 2 (b-vm00 and late, which arrived): %+v", len(rec.VMs), rec.VMs)
	}
}

// drainAndWait starts the drain id of n's host and returns its record
// once it has ended.
func drainAndWait(t *testing.T, n *node, id string, d time.Duration) *migrate.DrainRecord {
	t.Helper()
	rec, err := n.f.StartDrain(context.Background(), migrate.DrainRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return waitDrain(t, n, rec.ID, d)
}

func waitDrain(t *testing.T, n *node, id string, d time.Duration) *migrate.DrainRecord {
	t.Helper()
	var rec *migrate.DrainRecord
	eventually(t, d, func() error {
		r, ok := n.f.Drain(id)
		if !ok {
			return fmt.Errorf("no drain %s", id)
		}
		rec = r
		if !r.State.Terminal() {
			return fmt.Errorf("drain %s: %s", r.State, r.Status)
		}
		return nil
	})
	return rec
}

// TestLeaderKilledDuringDrain: the etcd leader dies while a drain runs;
// the drain goes on and completes within the limits.
func TestLeaderKilledDuringDrain(t *testing.T) {
	etcd := fleettest.Start(t, 3, fleettest.Options{})
	cfg := sim.Config{Hosts: hosts("a", "b", "c"), VMs: vms("a", 6)}
	h := newHarness(t, etcd, cfg, nil)
	h.waitMembers(3)
	a := h.nodes["a"]
	rec, err := a.f.StartDrain(context.Background(), migrate.DrainRequest{ID: "vsmig:Drain:3"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if r, _ := a.f.Drain(rec.ID); r.Status == "" || !strings.Contains(r.Status, "migrating") {
			return fmt.Errorf("drain not migrating yet")
		}
		return nil
	})
	leader := leaderOf(t, a.f)
	t.Logf("killing etcd leader %s", etcd.Members[leader].Name)
	etcd.Kill(leader)
	rec = waitDrain(t, a, rec.ID, 90*time.Second)
	if rec.State != migrate.DrainCompleted {
		t.Fatalf("drain %s: %s", rec.State, rec.Status)
	}
	checkPeaks(t, h.sc.Trace(), 3, 2)
}

// leaderOf finds the index of the etcd leader.
func leaderOf(t *testing.T, f *fleet.Fleet) int {
	t.Helper()
	cli := f.Client()
	for i, ep := range cli.Endpoints() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no leader found")
	return -1
}

// proxy is a TCP proxy to one address that a test can cut: it closes its
// connections and refuses new ones until healed.
type proxy struct {
	l    net.Listener
	to   string
	mu   sync.Mutex
	cut  bool
	open map[net.Conn]bool
}

func newProxy(t *testing.T, to string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, to: to, open: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { l.Close(); p.setCut(true) })
	return p
}

func (p *proxy) addr() string { return "http://" + p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.to)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.open[c], p.open[u] = true, true
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *proxy) pipe(a, b net.Conn) {
	io.Copy(a, b)
	a.Close()
	b.Close()
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.open {
			c.Close()
		}
		p.open = map[net.Conn]bool{}
	}
}

// TestCutOff: a host cut off from etcd starts no new migration (5,
// cluster unavailable), finishes the one running, and its peers stop
// choosing it once its lease has lapsed; healed, it comes back.
func TestCutOff(t *testing.T) {
	etcd := sharedEtcd(t)
	cfg := sim.Config{Hosts: hosts("a", "b", "c"), VMs: append(vms("a", 2), sim.VMConfig{Name: "long", Host: "a", MemoryKiB: 16 * gib, DirtyRate: 1e6})}
	cfg.VMs = append(cfg.VMs, vms("b", 1)...)
	sc, err := sim.NewCluster(sim.Config{Hosts: cfg.Hosts, VMs: cfg.VMs, Speed: speed})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, etcd: etcd, sc: sc, prefix: "/TestCutOff/", nodes: map[string]*node{}}
	px := newProxy(t, strings.TrimPrefix(etcd.Endpoints()[0], "http://"))
	h.start("a", []string{px.addr()}, nil)
	h.start("b", etcd.Endpoints(), nil)
	h.start("c", etcd.Endpoints(), nil)
	h.waitMembers(3)
	a := h.nodes["a"]
	if _, err := submit(t, a, "long", "b"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if j, _ := a.eng.Job(context.Background(), "job-long"); j.Status != migrate.StatusRunning {
			return fmt.Errorf("long: %s", j.StatusLine)
		}
		return nil
	})
	px.setCut(true)
	start := time.Now()
	_, err = submit(t, a, "a-vm00", "c")
	if !errors.Is(err, migrate.ErrClusterUnavailable) || migrate.KindOf(err) != migrate.InvalidState {
		t.Fatalf("submit while cut off: %v, want cluster unavailable (5)", err)
	}
	t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
	// The running migration finishes.
	j := waitJobs(t, a, []string{"job-long"}, 60*time.Second)[0]
	if j.Status != migrate.StatusCompleted {
		t.Errorf("running migration: %s", j.StatusLine)
	}
	// Peers stop choosing it once its lease lapsed.
	eventually(t, 15*time.Second, func() error {
		for _, m := range h.nodes["b"].f.Members() {
			if m.Name == "a" {
				return errors.New("b still sees a")
			}
		}
		return nil
	})
	p, err := h.nodes["b"].f.Place(context.Background(), sim.VMUUID("b-vm00"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Dest != "c" {
		t.Errorf("placement from b: %+v, want c", p)
	}
	if _, err := h.nodes["b"].eng.Submit(context.Background(), migrate.Request{JobID: "to-a",
		Plan: migrate.Plan{VM: sim.VMUUID("b-vm00"), Type: migrate.Live, DestHost: "a"}}); migrate.KindOf(err) != migrate.InvalidState {
		t.Errorf("migration to the lapsed host: %v, want refused (5)", err)
	}
	// Healed, it registers again and migrates.
	px.setCut(false)
	h.waitMembers(3)
	eventually(t, 20*time.Second, func() error {
		if ok, why := a.f.Available(); !ok {
			return errors.New(why)
		}
		return nil
	})
	if _, err := submit(t, a, "a-vm01", "c"); err != nil {
		t.Errorf("submit after healing: %v", err)
	}
}

func clientv3WithPrefix() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }

// TestTLSClientCertificate: a host registers in an etcd that asks for
// client certificates, with the certificate of its configuration; one
// without a certificate is refused, and its host says "cluster
// unavailable".
func TestTLSClientCertificate(t *testing.T) {
	tl := fleettest.NewTLS(t)
	etcd := fleettest.Start(t, 1, fleettest.Options{TLS: tl})
	cfg := sim.Config{Hosts: hosts("a", "b"), VMs: vms("a", 1)}
	h := newHarness(t, etcd, sim.Config{Hosts: cfg.Hosts[:1], VMs: cfg.VMs}, func(c *fleet.Config) {
		c.CertFile, c.KeyFile, c.CAFile = tl.ClientCert, tl.Client, tl.CAFile
	})
	h.waitMembers(1)
	if m := h.nodes["a"].f.Members(); len(m) != 1 || m[0].Name != "a" || m[0].MemoryKiB == 0 {
		t.Fatalf("members over TLS: %+v", m)
	}
	f, err := fleet.New(fleet.Config{Endpoints: etcd.Endpoints(), Host: "b", CAFile: tl.CAFile, OpTimeout: time.Second, Prefix: h.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ec := migrate.DefaultConfig()
	ec.Cluster = f
	eng, err := migrate.New(ec, h.sc.Host("a"))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.Start(ctx, eng); err == nil {
		t.Fatal("registered without a client certificate")
	}
	if ok, why := f.Available(); ok || !strings.Contains(why, "cluster unavailable") {
		t.Errorf("available %t (%s) without a client certificate", ok, why)
	}
}
