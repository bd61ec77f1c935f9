package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/server"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// The benchmarks of this package drive the daemon's own stack (newStack,
// as run builds it) over a real HTTPS listener on loopback with a
// keep-alive Go client in the same process, so the load generator shares
// the machine's cores with the server, as in perf-anchors.md. They run on
// the simulator: see the figures' caveats in testdata/bench/run.sh.

const (
	benchUser     = "bench"
	benchPassword = "bench-secret"
	// benchEnvelopeSize is the wsman:MaxEnvelopeSize the client asks
	// for: Windows' MaxEnvelopeSizekb default, the service's ceiling.
	benchEnvelopeSize = "512000"
)

var (
	uriComputerSystem = wscim.ResourceURI("CIM_ComputerSystem")
	uriService        = wscim.ResourceURI("CIM_VirtualSystemMigrationService")
)

// benchDaemon is one stack served over HTTPS on 127.0.0.1, and a client.
type benchDaemon struct {
	st      *stack
	url     string
	client  *http.Client
	cluster *sim.Cluster
	dir     string // the state directory (cert.pem)
}

// startBench serves a stack on the "src" host of c. tune adjusts the
// engine's configuration (limits, observers) before the engine starts.
// Everything is torn down when b ends.
func startBench(b testing.TB, c *sim.Cluster, tune func(*migrate.Config)) *benchDaemon {
	b.Helper()
	dir := b.TempDir()
	cfg := defaultConfig()
	cfg.StateDir = dir
	cfg.UsersFile = filepath.Join(dir, "users")
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.MetricsAddr = ""
	hash, err := auth.HashPassword(benchPassword) // bcrypt: the credential cache must carry the load
	if err != nil {
		b.Fatal(err)
	}
	if err := auth.AddUser(cfg.UsersFile, benchUser, hash); err != nil {
		b.Fatal(err)
	}
	// Logs are formatted as the daemon formats them, then dropped.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	engCfg := engineConfig(cfg, logger)
	if tune != nil {
		tune(&engCfg)
	}
	drv := c.Host("src")
	st, err := newStack(b.Context(), cfg, drv, "src", engCfg, logger)
	if err != nil {
		b.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan server.Addrs, 1)
	served := make(chan error, 1)
	go func() {
		served <- server.Run(ctx, server.Config{HTTPSAddr: cfg.HTTPSAddr, StateDir: dir, MaxConns: cfg.MaxConnections, Logger: logger},
			st.handler, func(a server.Addrs) { addrs <- a })
	}()
	var a server.Addrs
	select {
	case a = <-addrs:
	case err := <-served:
		b.Fatalf("server: %v", err)
	}
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := st.eng.Shutdown(sctx); err != nil {
			b.Error(err)
		}
		if err := st.Close(); err != nil {
			b.Error(err)
		}
		drv.Close()
	})

	pem, err := os.ReadFile(filepath.Join(dir, server.CertFileName))
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13},
		MaxIdleConnsPerHost: 128,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchDaemon{st: st, url: "https://" + a.HTTPS + "/wsman", client: &http.Client{Transport: tr, Timeout: time.Minute}, cluster: c, dir: dir}
}

// post sends one envelope and returns the response body; a status other
// than 200 is an error carrying the body.
func (d *benchDaemon) post(ctx context.Context, envelope []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(envelope))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth(benchUser, benchPassword)
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("HTTP %d: %.600s", resp.StatusCode, body)
	}
	return body, nil
}

// request builds an envelope in pywinrm's layout asking for responses of
// up to benchEnvelopeSize octets.
func request(action, resourceURI string, selectors map[string]string, body string) []byte {
	env := wsmantest.NewRequest(action, resourceURI, selectors, body)
	return bytes.Replace(env, []byte(">153600<"), []byte(">"+benchEnvelopeSize+"<"), 1)
}

var (
	contextRE = regexp.MustCompile(`<(?:\w+:)?EnumerationContext>([^<]+)</`)
	selectRE  = regexp.MustCompile(`<(?:\w+:)?Selector Name="(\w+)">([^<]*)</`)
	returnRE  = regexp.MustCompile(`<(?:\w+:)?ReturnValue>(\d+)</`)
	itemOpen  = []byte("<w:Item>")
)

// enumerateAll enumerates resourceURI (EnumerateObjectAndEPR, optimized,
// MaxElements 500 in every request) and pulls to the end. It returns the
// number of items and of responses; each response is handed to seen, if
// not nil.
func (d *benchDaemon) enumerateAll(ctx context.Context, resourceURI string, seen func([]byte)) (items, responses int, err error) {
	resp, err := d.post(ctx, request(wsmantest.ActionEnumerate, resourceURI, nil, wsmantest.EnumerateBody(true, 500, "EnumerateObjectAndEPR")))
	for err == nil {
		responses++
		items += bytes.Count(resp, itemOpen)
		if seen != nil {
			seen(resp)
		}
		m := contextRE.FindSubmatch(resp)
		if m == nil || bytes.Contains(resp, []byte("EndOfSequence")) {
			return items, responses, nil
		}
		resp, err = d.post(ctx, request(wsmantest.ActionPull, resourceURI, nil, wsmantest.PullBody(string(m[1]), 500)))
	}
	return items, responses, err
}

// serviceSelectors finds the migration service's keys by enumerating it.
func (d *benchDaemon) serviceSelectors(b *testing.B) map[string]string {
	sel := map[string]string{}
	_, _, err := d.enumerateAll(b.Context(), uriService, func(resp []byte) {
		for _, m := range selectRE.FindAllSubmatch(resp, -1) {
			sel[string(m[1])] = string(m[2])
		}
	})
	if err != nil || sel["Name"] == "" {
		b.Fatalf("enumerating the migration service: %v (selectors %v)", err, sel)
	}
	return sel
}

// migrateRequest is the Invoke of MigrateVirtualSystemToHost for one VM,
// with default settings, as vsmigctl sends it.
func migrateRequest(service map[string]string, vmUUID, dest string) []byte {
	body := `<m:MigrateVirtualSystemToHost_INPUT xmlns:m="` + uriService + `">` +
		`<m:ComputerSystem><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>` +
		`<a:ReferenceParameters><w:ResourceURI>` + uriComputerSystem + `</w:ResourceURI><w:SelectorSet>` +
		`<w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector><w:Selector Name="Name">` + vmUUID + `</w:Selector>` +
		`</w:SelectorSet></a:ReferenceParameters></m:ComputerSystem>` +
		`<m:DestinationHost>` + dest + `</m:DestinationHost></m:MigrateVirtualSystemToHost_INPUT>`
	return request(uriService+"/MigrateVirtualSystemToHost", uriService, service, body)
}

// invokeMigrate sends migrateRequest and returns the method's ReturnValue.
func (d *benchDaemon) invokeMigrate(ctx context.Context, service map[string]string, vmUUID, dest string) (int, error) {
	resp, err := d.post(ctx, migrateRequest(service, vmUUID, dest))
	if err != nil {
		return 0, err
	}
	m := returnRE.FindSubmatch(resp)
	if m == nil {
		return 0, fmt.Errorf("no ReturnValue in %.600s", resp)
	}
	return strconv.Atoi(string(m[1]))
}

// benchCluster is a simulated cluster on a clock speed times the wall
// clock: host "src" with n running VMs "vm-00000".. of memKiB, nearly
// idle, and destination hosts "dst-00".. that each receive at most
// migrate.IncomingPortRange of them (the engine's per-destination ceiling).
// dest(i) is VM i's destination.
func benchCluster(b *testing.B, n int, memKiB uint64, speed float64) (c *sim.Cluster, dest func(i int) string) {
	const perDest = migrate.IncomingPortRange
	// The source's NIC gives each of n migrations 10 MB/s.
	hosts := []sim.HostConfig{{Name: "src", CPUModel: "x", MemoryKiB: uint64(n+1) * memKiB, Bandwidth: uint64(n) * benchBandwidth}}
	for i := range (n + perDest - 1) / perDest {
		hosts = append(hosts, sim.HostConfig{Name: fmt.Sprintf("dst-%02d", i), CPUModel: "x", MemoryKiB: (perDest + 1) * memKiB})
	}
	vms := make([]sim.VMConfig, n)
	for i := range vms {
		vms[i] = sim.VMConfig{Name: vmName(i), Host: "src", MemoryKiB: memKiB, DirtyRate: 1e6, WorkingSet: 16e6}
	}
	c, err := sim.NewCluster(sim.Config{Hosts: hosts, VMs: vms, Speed: speed})
	if err != nil {
		b.Fatal(err)
	}
	return c, func(i int) string { return fmt.Sprintf("dst-%02d", i/perDest) }
}

func vmName(i int) string { return fmt.Sprintf("vm-%05d", i) }

// percentile returns the p-th percentile (0..100) of lat, sorting it.
func percentile(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[(len(lat)-1)*p/100]
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchBandwidth is each migration's share of the source NIC, in
// simulated bytes per second, when all of a benchCluster's VMs move.
const benchBandwidth = 10e6

// invokeLoad migrates VMs 0..n-1 (vm(i) gives the UUID and destination)
// from the given number of concurrent clients. It returns the latency of
// every accepted (4096) call and the number of calls refused with 5
// (invalid state: VM busy or the engine's queue full); any other answer
// is an error.
func (d *benchDaemon) invokeLoad(ctx context.Context, service map[string]string, clients, n int, vm func(i int) (uuid, dest string)) (lat []time.Duration, busy int, err error) {
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			var refused int
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				uuid, dest := vm(i)
				start := time.Now()
				rv, cerr := d.invokeMigrate(ctx, service, uuid, dest)
				took := time.Since(start)
				if cerr == nil && rv != 4096 && rv != 5 {
					cerr = fmt.Errorf("MigrateVirtualSystemToHost of %s returned %d", uuid, rv)
				}
				if cerr != nil {
					mu.Lock()
					err = errors.Join(err, cerr)
					mu.Unlock()
					next.Store(int64(n)) // stop everyone
					break
				}
				if rv == 5 {
					refused++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			lat = append(lat, mine...)
			busy += refused
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, busy, err
}

// warm opens clients keep-alive connections and fills the credential
// cache, with an authenticated enumeration of the service from each.
func (d *benchDaemon) warm(b *testing.B, clients int) {
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			if _, _, err := d.enumerateAll(b.Context(), uriService, nil); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}
