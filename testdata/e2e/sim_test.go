//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// simFlags make the simulated demo's policy timeouts short enough that a
// migration which cannot converge fails within seconds.
var simFlags = []string{"-driver", "sim", "-completion-timeout-per-gib", "20s", "-progress-timeout", "5s"}

// TestProfileOnSim drives DSP1081 end to end against vsmigd on the simulated
// demo cluster: discovery, every method, return codes, jobs.
func TestProfileOnSim(t *testing.T) {
	requirePython(t)
	d := startDaemon(t, "127.0.0.1", simFlags...)
	python(t, d, "test_profile.py")
}

// TestRestartMidJobOnSim kills vsmigd (SIGKILL) while a migration runs and
// starts it again on the same state directory: the job must be reconciled
// to its true end, never left Running. The simulated cluster lives in the
// daemon's memory and starts afresh with it, so the VM is back on host-a
// and the true outcome is a failure that says the restart interrupted it.
func TestRestartMidJobOnSim(t *testing.T) {
	requirePython(t)
	d := startDaemon(t, "127.0.0.1", simFlags...)
	r := step(t, d, "migrate", "db-01", "host-b", "--bandwidth", "1")
	if r["rc"] != "4096" {
		t.Fatalf("migrate: %v", r)
	}
	if w := step(t, d, "wait", r["job"], "--states", "4", "--timeout", "30"); w["state"] != "4" {
		t.Fatalf("job never ran: %v", w)
	}
	d.Kill()
	d.Restart()
	w := step(t, d, "wait", r["job"], "--timeout", "60")
	if w["state"] != "10" || !strings.Contains(w["description"], "restart") {
		t.Fatalf("after the restart the job ended %v; want 10 Exception saying the restart interrupted it", w)
	}
	if e := step(t, d, "error", r["job"]); e["rc"] != "0" || !strings.Contains(e["error"], "CIM_Error") {
		t.Fatalf("GetError after the restart: %v", e)
	}
}
