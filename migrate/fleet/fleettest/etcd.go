// Package fleettest runs a real etcd cluster for tests: etcd server
// processes (go.etcd.io/etcd/server/v3 v3.7, built from the module that
// go.mod names as a tool) on loopback, each its own process in its own
// session with its output in a log file, killed when the test ends. A
// test can kill a member (the leader) and start it again.
//
// Imports: the standard library only (it runs etcd as a program).
package fleettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EtcdModule is the etcd server's module path; go.mod pins its version.
const EtcdModule = "go.etcd.io/etcd/server/v3"

var (
	buildMu  sync.Mutex
	builtBin string
)

// Binary returns the path of an etcd server built from the module go.mod
// names, building it once per test process (the go build cache keeps
// later builds quick). It is written to a temporary file and renamed, so
// that test processes running at once never see half a binary.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		return builtBin
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "vsmig-fleettest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, "etcd")
	tmp, err := os.CreateTemp(dir, "etcd-build-*")
	if err != nil {
		tb.Fatal(err)
	}
	tmp.Close()
	cmd := exec.Command("go", "build", "-o", tmp.Name(), EtcdModule)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		tb.Fatalf("building etcd (%s): %v\n%s", EtcdModule, err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		tb.Fatal(err)
	}
	builtBin = out
	return out
}

// moduleRoot is the directory of the go.mod of the working directory.
func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("fleettest: not inside the vsmig module")
	}
	return filepath.Dir(mod), nil
}

// TLS are the files of an etcd cluster that serves clients over TLS and
// asks them for a certificate (etcd's --client-cert-auth).
type TLS struct {
	CAFile             string // signs the server's and the clients' certificates
	ServerCert, Server string // the server's certificate and key
	ClientCert, Client string // a client's certificate and key
}

// Options of Start.
type Options struct {
	// TLS, if set, makes the client URLs https with client certificates.
	TLS *TLS
}

// Cluster is a running etcd cluster.
type Cluster struct {
	tb      testing.TB
	bin     string
	dir     string
	opts    Options
	Members []*Member
}

// Member is one etcd server.
type Member struct {
	Name      string
	ClientURL string
	PeerURL   string
	dataDir   string
	logPath   string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the process has been waited for.
	exited chan struct{}
}

// Start runs an n-member cluster and waits until every member is
// healthy. The test's cleanup kills them.
func Start(tb testing.TB, n int, opts Options) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, bin: Binary(tb), dir: tb.TempDir(), opts: opts}
	ports := freePorts(tb, 2*n)
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	var initial []string
	for i := range n {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[2*i]),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			dataDir:   filepath.Join(c.dir, fmt.Sprintf("m%d.data", i)),
			logPath:   filepath.Join(c.dir, fmt.Sprintf("m%d.log", i)),
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	for _, m := range c.Members {
		if err := c.start(m, strings.Join(initial, ","), "new"); err != nil {
			c.Stop()
			tb.Fatal(err)
		}
	}
	tb.Cleanup(c.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, m := range c.Members {
		if err := c.waitHealthy(ctx, m); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// freePorts finds n free loopback ports. It holds them all open until it
// has every one, so that it never returns the same port twice.
func freePorts(tb testing.TB, n int) []int {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func (c *Cluster) start(m *Member, initial, state string) error {
	args := []string{
		"--name", m.Name, "--data-dir", m.dataDir,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", initial, "--initial-cluster-state", state,
		"--initial-cluster-token", "vsmig-test",
		"--heartbeat-interval", "100", "--election-timeout", "1000",
		"--log-level", "warn",
	}
	if t := c.opts.TLS; t != nil {
		args = append(args, "--cert-file", t.ServerCert, "--key-file", t.Server,
			"--client-cert-auth", "--trusted-ca-file", t.CAFile)
	}
	log, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, log, log
	// Its own session (no terminal signals, no shared process group),
	// and killed if this process dies before its cleanup kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting etcd %s: %w", m.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	m.mu.Lock()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()
	return nil
}

// waitHealthy polls the member's /health until it says true.
func (c *Cluster) waitHealthy(ctx context.Context, m *Member) error {
	hc := c.httpClient()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.ClientURL+"/health", nil)
		resp, err := hc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(b, []byte(`"health":"true"`)) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			log, _ := os.ReadFile(m.logPath)
			return fmt.Errorf("etcd %s not healthy: %v\n%s", m.Name, ctx.Err(), tail(log, 2000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// Kill kills member i at once (SIGKILL) and waits for it to be gone.
func (c *Cluster) Kill(i int) {
	m := c.Members[i]
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart starts a killed member again on its data and waits until it
// is healthy.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	m := c.Members[i]
	var initial []string
	for _, o := range c.Members {
		initial = append(initial, o.Name+"="+o.PeerURL)
	}
	if err := c.start(m, strings.Join(initial, ","), "existing"); err != nil {
		c.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.waitHealthy(ctx, m); err != nil {
		c.tb.Fatal(err)
	}
}

// Stop kills every member.
func (c *Cluster) Stop() {
	for i := range c.Members {
		c.Kill(i)
	}
}

// Log returns a member's log so far.
func (c *Cluster) Log(i int) string {
	b, _ := os.ReadFile(c.Members[i].logPath)
	return string(b)
}

// httpClient reaches the members' /health, over TLS with the client
// certificate when the cluster has one.
func (c *Cluster) httpClient() *http.Client {
	t := c.opts.TLS
	if t == nil {
		return &http.Client{Timeout: 2 * time.Second}
	}
	cfg, err := ClientTLS(t)
	if err != nil {
		c.tb.Fatal(err)
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}
