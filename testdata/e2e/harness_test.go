//go:build e2e || lab

// Package e2e runs vsmig end to end: the real vsmigd binary, driven over
// HTTPS by Debian's python3-winrm. `make e2e` builds bin/vsmigd and runs
// these tests with VSMIG_E2E=1, which turns a missing client into a failure
// instead of a skip.
package e2e

import (
	"bufio"
	"context"
	"fmt"
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

const (
	testUser     = "admin"
	testPassword = "e2e-secret"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// vsmigdPath builds bin/vsmigd from the working tree (cached by the go
// build cache, so cheap when nothing changed) and returns its path, so the
// tests never run a stale binary.
func vsmigdPath(t testing.TB) string {
	root := repoRoot(t)
	bin := filepath.Join(root, "bin", "vsmigd")
	buildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", filepath.Join(root, "bin")+"/", "./cmd/vsmigd", "./cmd/vsmigctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building vsmigd and vsmigctl: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

var (
	buildOnce sync.Once
	buildErr  error
)

// requirePython fails (under VSMIG_E2E=1) or skips when python3-winrm is missing.
func requirePython(t testing.TB) {
	if err := exec.Command("/usr/bin/python3", "-c", "import winrm").Run(); err != nil {
		if os.Getenv("VSMIG_E2E") == "1" {
			t.Fatalf("python3-winrm is not importable by /usr/bin/python3: %v (run make deps)", err)
		}
		t.Skip("python3-winrm not installed")
	}
}

func freePort(t testing.TB, host string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon is one running vsmigd.
type daemon struct {
	t        testing.TB
	bin      string
	args     []string
	stateDir string
	Endpoint string
	Metrics  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon starts vsmigd with a fresh state directory on loopback ports
// and waits until /readyz answers. extra are additional flags.
func startDaemon(t testing.TB, host string, extra ...string) *daemon {
	t.Helper()
	bin := vsmigdPath(t)
	state := t.TempDir()
	add := exec.Command(bin, "user", "add", testUser, "-users-file", filepath.Join(state, "users"))
	add.Stdin = strings.NewReader(testPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("vsmigd user add: %v\n%s", err, out)
	}
	wsPort, mPort := freePort(t, host), freePort(t, host)
	d := &daemon{
		t:        t,
		bin:      bin,
		stateDir: state,
		Endpoint: fmt.Sprintf("https://%s/wsman", net.JoinHostPort(host, fmt.Sprint(wsPort))),
		Metrics:  fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(mPort))),
		log:      &lockedBuffer{},
	}
	d.args = append([]string{"serve",
		"-state-dir", state,
		"-https-addr", net.JoinHostPort(host, fmt.Sprint(wsPort)),
		"-metrics-addr", net.JoinHostPort(host, fmt.Sprint(mPort)),
	}, extra...)
	d.start()
	t.Cleanup(func() {
		d.Stop()
		// VSMIG_E2E_LOGS=1 shows the log of a test that passed too.
		if t.Failed() || os.Getenv("VSMIG_E2E_LOGS") != "" {
			t.Logf("vsmigd log:\n%s", d.log.String())
		}
	})
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.mu.Lock()
	d.cmd = exec.Command(d.bin, d.args...)
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		d.mu.Unlock()
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	go func() { cmd.Wait(); close(done) }()
	d.waitReady(30 * time.Second)
}

func (d *daemon) waitReady(timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.t.Fatalf("vsmigd exited early:\n%s", d.log.String())
		default:
		}
		resp, err := client.Get(d.Metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("vsmigd not ready after %v:\n%s", timeout, d.log.String())
}

// Stop sends SIGTERM and waits for a graceful exit.
func (d *daemon) Stop() {
	d.signal(syscall.SIGTERM, 30*time.Second)
}

// Kill ends the daemon with SIGKILL, as a crash would.
func (d *daemon) Kill() {
	d.signal(syscall.SIGKILL, 10*time.Second)
}

func (d *daemon) signal(sig syscall.Signal, wait time.Duration) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		cmd.Process.Kill()
		<-done
		d.t.Errorf("vsmigd did not exit within %v of %v", wait, sig)
	}
}

// Restart starts the daemon again on the same state directory and ports.
func (d *daemon) Restart() { d.start() }

// python runs a scenario script with the daemon's endpoint in its
// environment; its output goes to the test log. It returns stdout lines
// that start with "RESULT " (for scenarios that hand values back).
func python(t testing.TB, d *daemon, script string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{script}, args...)...)
	cmd.Dir = filepath.Join(repoRoot(t), "testdata", "e2e")
	cmd.Env = append(os.Environ(),
		"VSMIG_ENDPOINT="+d.Endpoint,
		"VSMIG_USER="+testUser,
		"VSMIG_PASSWORD="+testPassword,
		"VSMIG_METRICS="+d.Metrics,
		"VSMIG_CA="+filepath.Join(d.stateDir, "cert.pem"),
		"PYTHONUNBUFFERED=1",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var results []string
	sc := bufio.NewScanner(stdout)
	// A job's samples (step.py's samples_json) make long lines.
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			results = append(results, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s %v: reading its output: %v", script, args, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Log(s)
	}
	return results
}

// results turns `RESULT key=value` lines into a map.
func results(lines []string) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func step(t *testing.T, d *daemon, args ...string) map[string]string {
	t.Helper()
	return results(python(t, d, "step.py", args...))
}
