//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the fenced code between <!-- NAME:begin --> and
// <!-- NAME:end --> in the README.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)<!-- ` + name + `:begin -->\s*` + "```" + `[a-z]*\n(.*?)` + "```" + `\s*<!-- ` + name + `:end -->`)
	m := re.FindSubmatch(data)
	if m == nil {
		t.Fatalf("README has no %s block", name)
	}
	return string(m[1])
}

// TestReadmeTour runs the README's tour as typed: `make run`'s daemon (the
// same script, the same defaults: :5986, admin/vsmig-demo, the simulated
// demo), then every command of the tour block in one bash, then the
// python3-winrm example.
func TestReadmeTour(t *testing.T) {
	requirePython(t)
	root := repoRoot(t)
	vsmigdPath(t)
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "bin"), filepath.Join(work, "bin")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	demo := exec.CommandContext(ctx, "bash", filepath.Join(root, "testdata", "ci", "run-demo.sh"), filepath.Join(root, "bin", "vsmigd"), filepath.Join(work, "state"), "-driver", "sim")
	log := &lockedBuffer{}
	demo.Stdout, demo.Stderr = log, log
	demo.Cancel = func() error { return demo.Process.Signal(os.Interrupt) }
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		demo.Wait()
		if t.Failed() {
			t.Logf("make run's daemon:\n%s", log.String())
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:9586/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo daemon is not ready:\n%s", log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "SIMULATED") {
		t.Errorf("the demo's log does not say it is simulated:\n%s", log.String())
	}

	tour := readmeBlock(t, "tour")
	sh := exec.Command("bash", "-euo", "pipefail", "-c", tour)
	sh.Dir = work
	sh.Env = os.Environ()
	out, err := sh.CombinedOutput()
	t.Logf("tour output:\n%s", out)
	if err != nil {
		t.Fatalf("the README tour failed: %v", err)
	}
	for _, want := range []string{"vsmig", "web-01", "completed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tour output lacks %q", want)
		}
	}

	// The python example, as written: it migrates the demo's dns-01.
	env := append(os.Environ(), "VSMIG_ENDPOINT=https://localhost:5986/wsman", "VSMIG_USER=admin", "VSMIG_PASSWORD=vsmig-demo",
		"VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	cmd := exec.Command("/usr/bin/python3", "-c", readmeBlock(t, "tour-python"))
	cmd.Env = env
	cmd.Dir = work
	pout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's python example failed: %v\n%s", err, pout)
	}
	if !regexp.MustCompile(`ReturnValue>4096<`).Match(pout) {
		t.Fatalf("python example: no ReturnValue 4096 in\n%s", pout)
	}

	// The demo's refusals, each with the exit code and reason the README gives.
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| (\\d+) \\| (.+) \\|$").FindAllStringSubmatch(readmeTable(t, "demo-refusals"), -1)
	if len(rows) < 4 {
		t.Fatalf("the README lists %d demo refusals", len(rows))
	}
	for _, r := range rows {
		sh := exec.Command("bash", "-c", r[1])
		sh.Dir, sh.Env = work, env
		out, _ := sh.CombinedOutput()
		code := sh.ProcessState.ExitCode()
		why := r[3]
		if i := strings.Index(why, ": "); strings.HasPrefix(why, "returned") && i > 0 {
			why = why[:i] // a reason after the code is the server's to give
		}
		if strconv.Itoa(code) != r[2] || !strings.Contains(string(out), why) {
			t.Errorf("%s: exit %d, want %s and %q:\n%s", r[1], code, r[2], why, out)
		}
	}
}

// readmeTable returns the text between <!-- NAME:begin --> and <!-- NAME:end -->.
func readmeTable(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- "+name+":begin -->")
	body, _, ok2 := strings.Cut(rest, "<!-- "+name+":end -->")
	if !ok || !ok2 {
		t.Fatalf("README has no %s block", name)
	}
	return body
}
