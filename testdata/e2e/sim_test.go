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

// TestRestartWithQueuedJobOnSim: with one outgoing slot, a second
// migration waits queued (JobState 2) behind a running one when vsmigd is
// killed. After the restart the running one is reconciled as above, and
// the queued one, whose VM never left host-a, is queued again and runs to
// completion instead of failing.
func TestRestartWithQueuedJobOnSim(t *testing.T) {
	requirePython(t)
	d := startDaemon(t, "127.0.0.1", append(simFlags, "-max-outgoing", "1")...)
	first := step(t, d, "migrate", "db-01", "host-b", "--bandwidth", "1")
	if first["rc"] != "4096" {
		t.Fatalf("migrate: %v", first)
	}
	if w := step(t, d, "wait", first["job"], "--states", "4", "--timeout", "30"); w["state"] != "4" {
		t.Fatalf("first job never ran: %v", w)
	}
	second := step(t, d, "migrate", "web-01", "host-b")
	if second["rc"] != "4096" {
		t.Fatalf("migrate: %v", second)
	}
	if j := step(t, d, "wait", second["job"], "--states", "2,3,4,7,8,9,10", "--timeout", "10"); j["state"] != "2" {
		t.Fatalf("second job %v, want 2 New (queued)", j)
	}
	d.Kill()
	d.Restart()
	w := step(t, d, "wait", second["job"], "--timeout", "60")
	if w["state"] != "7" {
		t.Fatalf("after the restart the queued job ended %v; want 7 Completed", w)
	}
	if w := step(t, d, "wait", first["job"], "--timeout", "60"); w["state"] != "10" {
		t.Fatalf("after the restart the running job ended %v; want 10 Exception", w)
	}
}

// TestEventingOnSim drives WS-Eventing end to end with python3-winrm
// (test_eventing.py): a Pull subscription to a real migration's job
// indications, Renew, GetStatus, Unsubscribe; Push and PushWithAck to
// receivers the script starts, and the SubscriptionEnd when the receiver
// disappears. Push delivery is allowed to loopback only.
func TestEventingOnSim(t *testing.T) {
	requirePython(t)
	d := startDaemon(t, "127.0.0.1", append(simFlags, "-push-targets", "127.0.0.1/32")...)
	r := results(python(t, d, "test_eventing.py"))
	if r["pull_indications"] == "" || r["push_indications"] == "" {
		t.Errorf("results %v", r)
	}
}
