//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vsmig/vsmig/migrate/fleet/fleettest"
	"github.com/vsmig/vsmig/migrate/sim"
)

// The fleet's end-to-end tests: a real 3-member etcd cluster (etcd
// server processes built from go.etcd.io/etcd/server/v3), one simulated
// cluster of hypervisors shared by every host (testdata/simhv), and a
// vsmigd process per host, registered in etcd, driven through WS-Man by
// python3-winrm (fleet.py) and vsmigctl. Limits are asserted on the
// simulated cluster's recorded timeline of migrations.

const (
	fleetSpeed      = 10 // simulated time runs 10 times faster
	fleetMaxRunning = 3
	fleetMaxIn      = 2
)

// fleetEnv is a running cluster.
type fleetEnv struct {
	t       *testing.T
	etcd    *fleettest.Cluster
	simURL  string
	prefix  string
	daemons map[string]*daemon
}

var (
	simhvOnce sync.Once
	simhvBin  string
	simhvErr  error
)

// simhvPath builds testdata/simhv once.
func simhvPath(t *testing.T) string {
	simhvOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vsmig-simhv-*")
		if err != nil {
			simhvErr = err
			return
		}
		simhvBin = filepath.Join(dir, "simhv")
		cmd := exec.Command("go", "build", "-o", simhvBin, "./testdata/simhv")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			simhvErr = fmt.Errorf("building simhv: %v\n%s", err, out)
		}
	})
	if simhvErr != nil {
		t.Fatal(simhvErr)
	}
	return simhvBin
}

// startSimhv serves cfg and returns its URL.
func startSimhv(t *testing.T, cfg sim.Config) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "cluster.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(simhvPath(t), "-listen", "127.0.0.1:0", "-config", path)
	// Its own session (no terminal signals, no shared process group),
	// and killed if this process dies before its cleanup kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("simhv: %v", err)
	}
	go io.Copy(io.Discard, out)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "simhv: listening on "))
	return "http://" + addr
}

// newFleet starts etcd, the simulated hypervisors and a vsmigd per host.
// vms places n VMs of 1 GiB on each host named.
func newFleet(t *testing.T, hosts []string, vms map[string]int) *fleetEnv {
	t.Helper()
	requirePython(t)
	vsmigdPath(t)
	cfg := sim.Config{Speed: fleetSpeed}
	for _, h := range hosts {
		cfg.Hosts = append(cfg.Hosts, sim.HostConfig{Name: h, CPUModel: "Skylake", MemoryKiB: 16 << 20, CPUs: 8,
			Networks: []string{"default"}, StoragePools: []string{"shared"}})
	}
	for _, h := range hosts {
		for i := range vms[h] {
			cfg.VMs = append(cfg.VMs, sim.VMConfig{Name: fmt.Sprintf("%s-vm%d", h, i), Host: h, MemoryKiB: 1 << 20,
				DirtyRate: 1e6, WorkingSet: 16e6, Networks: []string{"default"}, StoragePools: []string{"shared"}})
		}
	}
	e := &fleetEnv{t: t, etcd: fleettest.Start(t, 3, fleettest.Options{}), simURL: startSimhv(t, cfg),
		prefix: "/" + strings.ReplaceAll(t.Name(), "/", "_") + "/", daemons: map[string]*daemon{}}
	for _, h := range hosts {
		e.start(h, e.etcd.Endpoints())
	}
	e.waitHosts(hosts[0], len(hosts))
	return e
}

// start runs the vsmigd of host h with the given etcd endpoints.
func (e *fleetEnv) start(h string, endpoints []string) *daemon {
	t := e.t
	port := freePort(t, "127.0.0.1")
	d := startDaemon(t, "127.0.0.1", "-driver", "sim", "-sim-url", e.simURL, "-host-name", h,
		"-cluster-endpoints", strings.Join(endpoints, ","), "-cluster-prefix", e.prefix,
		"-cluster-lease-ttl", "3s", "-cluster-max-running", fmt.Sprint(fleetMaxRunning),
		"-max-incoming", fmt.Sprint(fleetMaxIn), "-log-level", "debug",
		"-https-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-advertise-url", fmt.Sprintf("https://127.0.0.1:%d/wsman", port))
	d.Endpoint = fmt.Sprintf("https://127.0.0.1:%d/wsman", port)
	e.daemons[h] = d
	return d
}

// waitHosts waits until host's endpoint lists n hosts.
func (e *fleetEnv) waitHosts(host string, n int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, code := vsmigctl(e.t, e.daemons[host], "-o", "json", "hosts")
		var hs []map[string]any
		if code == 0 && json.Unmarshal([]byte(out), &hs) == nil && len(hs) == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s lists %d hosts, want %d: %s", host, len(hs), n, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// remote is the shared simulated cluster.
func (e *fleetEnv) remote() *sim.Remote { return sim.NewRemote(e.simURL) }

// checkTimeline asserts the limits on the recorded timeline and that
// every VM completed at most one migration, or more only when each but
// the last brought it to one of the drained hosts (admitted before that
// host's drain began, which then moved it on); it returns the number of
// completed migrations per VM.
func (e *fleetEnv) checkTimeline(drained ...string) map[string]int {
	t := e.t
	t.Helper()
	trace, err := e.remote().Trace(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total, in, _ := sim.Peaks(trace)
	if total > fleetMaxRunning {
		t.Errorf("%d migrations ran at once; the cluster's limit is %d", total, fleetMaxRunning)
	}
	for d, n := range in {
		if n > fleetMaxIn {
			t.Errorf("%d migrations ran into %s at once; its limit is %d", n, d, fleetMaxIn)
		}
	}
	done := map[string]int{}
	dests := map[string][]string{}
	for _, ev := range trace {
		if !ev.Start && ev.Err == "" {
			done[ev.VM]++
			dests[ev.VM] = append(dests[ev.VM], ev.Dest)
		}
	}
	for vm, n := range done {
		if n > 1 {
			for _, d := range dests[vm][:n-1] {
				if !slices.Contains(drained, d) {
					t.Errorf("VM %s migrated %d times (to %v)", vm, n, dests[vm])
					break
				}
			}
			t.Logf("VM %s migrated %d times (to %v): it reached a host as its drain began", vm, n, dests[vm])
		}
	}
	t.Logf("timeline: %d events, at most %d at once (limit %d), per destination %v (limit %d)", len(trace), total, fleetMaxRunning, in, fleetMaxIn)
	return done
}

// checkOff asserts each VM first placed on host is on exactly one host,
// another one.
func (e *fleetEnv) checkOff(host string, n int) {
	t := e.t
	t.Helper()
	where, err := e.remote().Where(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("%s-vm%d", host, i)
		w := where[sim.VMUUID(name)]
		if w == "" || strings.Contains(w, ",") || w == host {
			t.Errorf("%s is on %q, want exactly one host other than %s", name, w, host)
		}
	}
}

// drainJob starts `vsmigctl drain host` at d and returns the job ID.
func drainJob(t *testing.T, d *daemon, host string) string {
	t.Helper()
	out, code := vsmigctl(t, d, "-o", "json", "drain", host)
	if code != 0 {
		t.Fatalf("vsmigctl drain %s: exit %d\n%s", host, code, out)
	}
	var r struct {
		Job string `json:"job"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Job == "" {
		t.Fatalf("vsmigctl drain: %v\n%s", err, out)
	}
	return r.Job
}

// waitMigrating waits until some migration of the cluster runs.
func (e *fleetEnv) waitMigrating() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		trace, _ := e.remote().Trace(context.Background())
		if len(trace) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("no migration started")
}

// TestFleetDrain drains host-a's four VMs onto host-b and host-c through
// WS-Man: the plan through python3-winrm, the drain with vsmigctl
// against another host's endpoint, the drain job's parts, the limits.
func TestFleetDrain(t *testing.T) {
	e := newFleet(t, []string{"host-a", "host-b", "host-c"}, map[string]int{"host-a": 4})
	a, b := e.daemons["host-a"], e.daemons["host-b"]
	plan := results(python(t, a, "fleet.py", "plan"))
	count := map[string]int{}
	for i := range 4 {
		count[plan[fmt.Sprintf("host-a-vm%d", i)]]++
	}
	if count["host-b"] != 2 || count["host-c"] != 2 {
		t.Errorf("dry-run plan %v: want two VMs on host-b and two on host-c", plan)
	}
	hosts := python(t, b, "fleet.py", "hosts")
	if len(hosts) != 3 {
		t.Errorf("host-b's endpoint lists %v, want 3 hosts", hosts)
	}
	if out, code := vsmigctl(t, a, "place", "host-a-vm0"); code != 0 || !strings.Contains(out, "host-") {
		t.Errorf("vsmigctl place: exit %d\n%s", code, out)
	}
	out, code := vsmigctl(t, b, "drain", "host-a", "--wait")
	if code != 0 {
		t.Fatalf("vsmigctl drain host-a --wait (at host-b): exit %d\n%s", code, out)
	}
	t.Log(out)
	id := ""
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "drain job "); ok {
			id = strings.Fields(rest)[0]
			id = strings.TrimSuffix(id, ":")
		}
	}
	parts := results(python(t, a, "fleet.py", "parts", id))
	if parts["parts"] != "4" || parts["percent"] != "100" || parts["state"] != "7" {
		t.Errorf("drain job %s: %v, want 4 parts, 100%%, state 7", id, parts)
	}
	e.checkOff("host-a", 4)
	e.checkTimeline()
}

// TestFleetDrainIndications: a python3-winrm client subscribed (Pull)
// to the drain jobs' indications before it drains host-a sees the drain
// job created and its end, each modification carrying the instance the
// indication before it showed as PreviousInstance.
func TestFleetDrainIndications(t *testing.T) {
	e := newFleet(t, []string{"host-a", "host-b", "host-c"}, map[string]int{"host-a": 2})
	r := results(python(t, e.daemons["host-a"], "fleet.py", "drain-events"))
	inds := strings.Split(r["indications"], ",")
	t.Logf("drain %s: indications %v", r["job"], inds)
	if !strings.HasPrefix(inds[0], "CIM_InstCreation:") {
		t.Errorf("first indication %s, want CIM_InstCreation", inds[0])
	}
	if last := inds[len(inds)-1]; !strings.HasSuffix(last, ":7:100") {
		t.Errorf("last indication %s, want JobState 7 Completed at 100%%", last)
	}
	if r["previous"] != "ok" {
		t.Errorf("PreviousInstance: %s", r["previous"])
	}
	e.checkOff("host-a", 2)
}

// TestFleetLeaderKilled: the etcd leader is killed during a drain; the
// drain goes on and completes.
func TestFleetLeaderKilled(t *testing.T) {
	e := newFleet(t, []string{"host-a", "host-b", "host-c"}, map[string]int{"host-a": 4})
	a := e.daemons["host-a"]
	id := drainJob(t, a, "host-a")
	e.waitMigrating()
	leader := etcdLeader(t, e.etcd)
	t.Logf("killing the etcd leader %s", e.etcd.Members[leader].Name)
	e.etcd.Kill(leader)
	if out, code := vsmigctl(t, a, "watch", id); code != 0 {
		t.Fatalf("drain after the leader's death: exit %d\n%s", code, out)
	}
	e.checkOff("host-a", 4)
	e.checkTimeline()
}

// etcdLeader finds the index of the leader.
func etcdLeader(t *testing.T, c *fleettest.Cluster) int {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for i, ep := range c.Endpoints() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no etcd leader")
	return -1
}

// TestFleetVsmigdKilled: host-a's vsmigd is killed (SIGKILL) during its
// drain and started again: the drain resumes and completes, no VM moved
// twice, none on two hosts.
func TestFleetVsmigdKilled(t *testing.T) {
	e := newFleet(t, []string{"host-a", "host-b", "host-c"}, map[string]int{"host-a": 4})
	a := e.daemons["host-a"]
	id := drainJob(t, a, "host-a")
	e.waitMigrating()
	a.Kill()
	time.Sleep(500 * time.Millisecond)
	a.Restart()
	out, code := vsmigctl(t, a, "watch", id)
	if code != 0 {
		t.Fatalf("drain after vsmigd's restart: exit %d\n%s", code, out)
	}
	e.checkOff("host-a", 4)
	done := e.checkTimeline()
	if len(done) != 4 {
		t.Errorf("%d VMs completed a migration, want 4", len(done))
	}
}

// TestFleetTwoDrains: two clients drain two hosts at once; the cluster's
// limits hold across both, and no VM goes to a host being drained.
func TestFleetTwoDrains(t *testing.T) {
	e := newFleet(t, []string{"host-a", "host-b", "host-c", "host-d"}, map[string]int{"host-a": 4, "host-b": 4})
	var wg sync.WaitGroup
	for _, h := range []string{"host-a", "host-b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client talks to another host's endpoint.
			via := map[string]string{"host-a": "host-c", "host-b": "host-d"}[h]
			if out, code := vsmigctl(t, e.daemons[via], "drain", h, "--wait"); code != 0 {
				t.Errorf("drain %s: exit %d\n%s", h, code, out)
			}
		}()
	}
	wg.Wait()
	e.checkOff("host-a", 4)
	e.checkOff("host-b", 4)
	where, _ := e.remote().Where(context.Background())
	for vm, w := range where {
		if w == "host-a" || w == "host-b" {
			t.Errorf("VM %s ended on drained host %s", vm, w)
		}
	}
	e.checkTimeline("host-a", "host-b")
}

// cutProxy is a TCP proxy to one etcd member that the test can cut.
type cutProxy struct {
	l    net.Listener
	to   string
	mu   sync.Mutex
	cut  bool
	open []net.Conn
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, to: to}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			u, err := net.Dial("tcp", p.to)
			if p.cut || err != nil {
				p.mu.Unlock()
				c.Close()
				if u != nil {
					u.Close()
				}
				continue
			}
			p.open = append(p.open, c, u)
			p.mu.Unlock()
			go func() { io.Copy(c, u); c.Close(); u.Close() }()
			go func() { io.Copy(u, c); c.Close(); u.Close() }()
		}
	}()
	t.Cleanup(func() { l.Close(); p.setCut(true) })
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.open {
			c.Close()
		}
		p.open = nil
	}
}

// TestFleetCutOff: host-a is cut off from etcd while a migration runs:
// it refuses new ones with 5 "cluster unavailable", finishes the running
// one, and the others stop listing it (and choosing it) once its lease
// lapsed.
func TestFleetCutOff(t *testing.T) {
	requirePython(t)
	vsmigdPath(t)
	cfg := sim.Config{Speed: fleetSpeed}
	for _, h := range []string{"host-a", "host-b", "host-c"} {
		cfg.Hosts = append(cfg.Hosts, sim.HostConfig{Name: h, CPUModel: "Skylake", MemoryKiB: 64 << 20})
	}
	cfg.VMs = []sim.VMConfig{
		{Name: "long", Host: "host-a", MemoryKiB: 16 << 20, DirtyRate: 1e6},
		{Name: "short", Host: "host-a", MemoryKiB: 1 << 20, DirtyRate: 1e6},
		{Name: "other", Host: "host-b", MemoryKiB: 1 << 20, DirtyRate: 1e6},
	}
	e := &fleetEnv{t: t, etcd: fleettest.Start(t, 3, fleettest.Options{}), simURL: startSimhv(t, cfg),
		prefix: "/TestFleetCutOff/", daemons: map[string]*daemon{}}
	px := newCutProxy(t, strings.TrimPrefix(e.etcd.Endpoints()[0], "http://"))
	a := e.start("host-a", []string{"http://" + px.l.Addr().String()})
	b := e.start("host-b", e.etcd.Endpoints())
	e.start("host-c", e.etcd.Endpoints())
	e.waitHosts("host-b", 3)
	out, code := vsmigctl(t, a, "-o", "json", "migrate", "long", "host-b")
	if code != 0 {
		t.Fatalf("migrate long: exit %d\n%s", code, out)
	}
	var job struct {
		Job string `json:"job"`
	}
	json.Unmarshal([]byte(out), &job)
	e.waitMigrating()
	px.setCut(true)
	out, code = vsmigctl(t, a, "migrate", "short", "host-c")
	if code != 5 || !strings.Contains(out, "cluster unavailable") {
		t.Errorf("migrate while cut off: exit %d, want 5 cluster unavailable\n%s", code, out)
	}
	if out, code := vsmigctl(t, a, "watch", job.Job); code != 0 {
		t.Errorf("the running migration: exit %d\n%s", code, out)
	}
	e.waitHosts("host-b", 2)
	if out, code := vsmigctl(t, b, "place", "other"); code != 0 || !strings.Contains(out, "host-c") {
		t.Errorf("placement from host-b after host-a's lease lapsed: exit %d\n%s", code, out)
	}
	if out, code := vsmigctl(t, b, "migrate", "other", "host-a"); code != 5 {
		t.Errorf("migrate to the lapsed host-a: exit %d, want 5\n%s", code, out)
	}
	px.setCut(false)
	e.waitHosts("host-b", 3)
}
