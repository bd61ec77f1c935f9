//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// vsmigctl runs the client against d and returns its output and exit code.
func vsmigctl(t *testing.T, d *daemon, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), args...)
	cmd.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER="+testUser,
		"VSMIG_PASSWORD="+testPassword, "VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func buildCtl(t *testing.T) { vsmigdPath(t) }

// TestCLI drives vsmigctl against a real vsmigd (simulated demo): table and
// JSON output, a terminal progress bar (under script(1)'s pseudo-terminal)
// and plain lines without one, and exit codes that say what happened.
func TestCLI(t *testing.T) {
	buildCtl(t)
	d := startDaemon(t, "127.0.0.1", simFlags...)

	out, code := vsmigctl(t, d, "identify")
	if code != 0 || !strings.Contains(out, "vsmig") {
		t.Fatalf("identify: %d %s", code, out)
	}
	out, code = vsmigctl(t, d, "-o", "json", "vms")
	var vms []struct{ Name, UUID, State, Host string }
	if code != 0 || json.Unmarshal([]byte(out), &vms) != nil || len(vms) < 2 {
		t.Fatalf("vms -o json: %d %s", code, out)
	}
	// Two of the demo's VMs that converge within the short policy timeouts
	// of simFlags, and a large one for the cancelled migration.
	var running []string
	for _, name := range []string{"dns-01", "web-01", "db-01"} {
		for _, v := range vms {
			if v.Name == name && v.State == "running" {
				running = append(running, v.Name)
			}
		}
	}
	if len(running) < 3 {
		t.Fatalf("want 3 running demo VMs, have %v", vms)
	}

	if _, code = vsmigctl(t, d, "frobnicate"); code != 64 {
		t.Errorf("unknown command: exit %d, want 64", code)
	}
	if _, code = vsmigctl(t, d, "migrate", running[0], "not a host!"); code != 4 {
		t.Errorf("bad destination: exit %d, want 4 (Invalid Parameter)", code)
	}
	if out, code = vsmigctl(t, d, "check", running[0], "unknown-host.invalid"); code != 7 || !strings.Contains(out, "no: ") {
		t.Errorf("check to an unknown host: exit %d, want 7 (not migratable) and the reason\n%s", code, out)
	}
	bad := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), "vms")
	bad.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER=admin", "VSMIG_PASSWORD=wrong", "VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	var ee *exec.ExitError
	if err := bad.Run(); !errors.As(err, &ee) || ee.ExitCode() != 77 {
		t.Errorf("wrong password: %v, want exit 77", err)
	}
	// Certificate pinning: a wrong fingerprint is refused, the right one works.
	wrongPin := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), "--fingerprint", strings.Repeat("00", 32), "identify")
	wrongPin.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_CONFIG=/nonexistent")
	if err := wrongPin.Run(); err == nil {
		t.Errorf("a wrong pinned fingerprint was accepted")
	}
	// No pin and no CA: the refusal says how to pin vsmigd's certificate.
	unpinned := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), "identify")
	unpinned.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_CONFIG=/nonexistent", "VSMIG_INSECURE=", "VSMIG_FINGERPRINT=")
	if out, err := unpinned.CombinedOutput(); !errors.As(err, &ee) || ee.ExitCode() != 70 ||
		!strings.Contains(string(out), "vsmigd fingerprint") || !strings.Contains(string(out), "--fingerprint") {
		t.Errorf("an unverified certificate: %v, want exit 70 and the way to pin it:\n%s", err, out)
	}
	fp, err := exec.Command(d.bin, "fingerprint", "-state-dir", d.stateDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	pinned := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), "identify")
	pinned.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER="+testUser, "VSMIG_PASSWORD="+testPassword,
		"VSMIG_FINGERPRINT="+strings.TrimSpace(string(fp)), "VSMIG_CONFIG=/nonexistent")
	if out, err := pinned.CombinedOutput(); err != nil {
		t.Errorf("pinned to the right fingerprint: %v %s", err, out)
	}

	// Not a terminal: one plain line per change, exit 0 on completion.
	out, code = vsmigctl(t, d, "migrate", running[0], "host-b", "--wait")
	if code != 0 || !strings.Contains(out, "100% completed") || strings.Contains(out, "\r") {
		t.Fatalf("migrate --wait (no terminal): exit %d\n%s", code, out)
	}
	// A terminal: the bar is redrawn in place.
	script := exec.Command("script", "-qec", filepath.Join(repoRoot(t), "bin", "vsmigctl")+" migrate "+running[1]+" host-b --wait", "/dev/null")
	script.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER="+testUser, "VSMIG_PASSWORD="+testPassword, "VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	tout, err := script.CombinedOutput()
	if err != nil || !strings.Contains(string(tout), "\r") || !strings.Contains(string(tout), "[####") {
		t.Fatalf("migrate --wait on a terminal: %v\n%q", err, tout)
	}
	// A cancelled job: exit 8 (Terminated).
	out, code = vsmigctl(t, d, "-o", "json", "migrate", running[2], "host-b", "--bandwidth", "1")
	var started struct{ Job string }
	if code != 0 || json.Unmarshal([]byte(out), &started) != nil || started.Job == "" {
		t.Fatalf("migrate: %d %s", code, out)
	}
	if out, code = vsmigctl(t, d, "cancel", started.Job); code != 0 {
		t.Fatalf("cancel: %d %s", code, out)
	}
	if out, code = vsmigctl(t, d, "watch", started.Job); code != 8 {
		t.Fatalf("watch of a cancelled job: exit %d, want 8\n%s", code, out)
	}
	out, code = vsmigctl(t, d, "-o", "json", "jobs")
	var jobs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &jobs) != nil || len(jobs) < 3 {
		t.Fatalf("jobs -o json: %d %s", code, out)
	}
	// A completed job shows the migration's own time and bytes, for scripts
	// (-o json) and people.
	var completed string
	for _, j := range jobs {
		if j["state"] == "completed" {
			completed, _ = j["id"].(string)
		}
	}
	// watch -o json: one object per line (JSON Lines), the last as the job
	// ended.
	out, code = vsmigctl(t, d, "-o", "json", "watch", completed)
	var done struct {
		State     string
		TotalTime float64 `json:"total_time_seconds"`
		Sent      uint64  `json:"data_processed_bytes"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &done); err != nil {
			t.Errorf("watch -o json: a line that is no JSON object: %v\n%s", err, out)
		}
	}
	if code != 0 || done.State != "completed" || done.TotalTime <= 0 || done.Sent == 0 {
		t.Errorf("watch -o json of a completed job %q: exit %d, want it completed with total_time_seconds and data_processed_bytes\n%s", completed, code, out)
	}
	if out, code = vsmigctl(t, d, "job", completed); code != 0 || !strings.Contains(out, "Total time") || !strings.Contains(out, "Data sent") {
		t.Errorf("job of a completed job: exit %d, want its total time and data sent\n%s", code, out)
	}
	if out, code = vsmigctl(t, d, "errors", started.Job); code != 0 {
		t.Errorf("errors: %d %s", code, out)
	}

	if out, code = vsmigctl(t, d, "job", "vsmig:no-such-job"); code != 70 {
		t.Errorf("job of an unknown ID: exit %d, want 70 (a WS-Man fault)\n%s", code, out)
	}

	// Every log line of a request carries its MessageID and user; no line
	// carries a password.
	if !regexp.MustCompile(`msg="migration accepted".* message_id=uuid:\S+ user=admin`).MatchString(d.log.String()) {
		t.Errorf("the migration's log line lacks message_id and user:\n%s", d.log.String())
	}
	if strings.Contains(d.log.String(), testPassword) || strings.Contains(d.log.String(), "wrong") && strings.Contains(d.log.String(), "password=") {
		t.Errorf("a password reached the log")
	}

	// The metrics moved.
	resp, err := http.Get(d.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, re := range []string{
		`vsmig_migrations_total\{outcome="completed",type="live"\} [2-9]`,
		`vsmig_migrations_total\{outcome="cancelled",type="live"\} 1`,
		`vsmig_wsman_requests_total\{action="Enumerate",outcome="ok"\} \d+`,
		`vsmig_wsman_requests_total\{action="Invoke MigrateVirtualSystemToHost",outcome="ok"\} \d+`,
		`vsmig_wsman_faults_total\{subcode="[^"]+"\} \d+`,
		`vsmig_auth_failures_total [1-9]`,
		`vsmig_migration_downtime_seconds_count\{type="live"\} [2-9]`,
		`vsmig_jobs\{state="completed"\} [2-9]`,
		`vsmig_wsman_enumeration_contexts \d+`,
		`vsmig_migration_queue_depth 0`,
	} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
}

// TestCLIInterrupt: Ctrl-C (SIGINT) on migrate --wait stops the following,
// not the migration: vsmigctl says so, names the commands that follow and
// cancel the job, and exits 130; the job is still running afterwards.
func TestCLIInterrupt(t *testing.T) {
	buildCtl(t)
	d := startDaemon(t, "127.0.0.1", simFlags...)
	cmd := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), "migrate", "cache-01", "host-b", "--bandwidth", "1", "--wait")
	cmd.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER="+testUser,
		"VSMIG_PASSWORD="+testPassword, "VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first line names the job; a second one means it is followed.
	sc := bufio.NewScanner(stdout)
	var id string
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "job "); ok && id == "" {
			id, _, _ = strings.Cut(rest, ": ")
			continue
		}
		if id != "" {
			break
		}
	}
	if id == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("migrate --wait printed no job:\n%s", stderr.String())
	}
	cmd.Process.Signal(os.Interrupt)
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("interrupted migrate --wait: %v, want exit 130", err)
	}
	for _, want := range []string{"job " + id + " goes on", "vsmigctl watch " + id, "vsmigctl cancel " + id} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr says %q:\n%s", "context canceled", stderr.String())
	}
	out, code := vsmigctl(t, d, "-o", "json", "job", id)
	var j struct{ State string }
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.State == "" || j.State == "terminated" || j.State == "completed" {
		t.Errorf("the job after the interrupt: exit %d\n%s", code, out)
	}
	if out, code := vsmigctl(t, d, "cancel", id); code != 0 {
		t.Errorf("cancel: %d %s", code, out)
	}
	if out, code := vsmigctl(t, d, "watch", id); code != 8 {
		t.Errorf("watch of the cancelled job: exit %d, want 8\n%s", code, out)
	}
}
