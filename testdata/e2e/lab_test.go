//go:build lab

package e2e

// The lab tests prove issue #4 end to end on real libvirt and QEMU: two
// libvirt hosts on 127.0.0.2 and 127.0.0.3 (testdata/lab/up.sh), one vsmigd
// per host, driven by python3-winrm. Setup: `bash testdata/lab/up.sh`, then
// `go test -tags lab ./testdata/e2e/ -run TestLab -v` (make lab-test does
// both). The subtests run in order and share the lab's guests.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type lab struct {
	dir, serialDir string
	hostA, hostB   string
	uriA, uriB     string
	pidB           string
	unreachable    string
	guests         []string
}

func loadLab(t *testing.T) lab {
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("%s is not set: source testdata/lab/env.sh after testdata/lab/up.sh", k)
		}
		return v
	}
	return lab{
		dir: get("VSMIG_LAB_DIR"), serialDir: get("VSMIG_LAB_SERIAL_DIR"),
		hostA: get("VSMIG_LAB_HOST_A"), hostB: get("VSMIG_LAB_HOST_B"),
		uriA: get("VSMIG_LAB_URI_A"), uriB: get("VSMIG_LAB_URI_B"),
		pidB: get("VSMIG_LAB_LIBVIRTD_PID_B"), unreachable: get("VSMIG_LAB_UNREACHABLE"),
		guests: strings.Fields(get("VSMIG_LAB_GUESTS")),
	}
}

// state returns the virsh domstate of name on uri, "" if it is not there.
func domstate(uri, name string) string {
	out, err := exec.Command("virsh", "-c", uri, "domstate", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// requireRunsOn asserts the guest runs on exactly the host with uri want.
func (l lab) requireRunsOn(t *testing.T, name, want string) {
	t.Helper()
	a, b := domstate(l.uriA, name), domstate(l.uriB, name)
	onA, onB := a == "running", b == "running"
	switch {
	case want == l.uriA && onA && !onB, want == l.uriB && onB && !onA:
		return
	}
	t.Fatalf("guest %s: on A %q, on B %q; want running on %s only", name, a, b, want)
}

var hbRe = regexp.MustCompile(`HB seq=(\d+)`)

// heartbeat returns the last heartbeat sequence number in the guest's
// serial log and whether the log reports a failed memory check.
func (l lab) heartbeat(t *testing.T, name string) (seq int, bad bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.serialDir, name+".log"))
	if err != nil {
		t.Fatalf("serial log: %v", err)
	}
	if bytes.Contains(data, []byte("CHECK BAD")) {
		bad = true
	}
	m := hbRe.FindAllSubmatch(data, -1)
	if len(m) == 0 {
		return -1, bad
	}
	seq, _ = strconv.Atoi(string(m[len(m)-1][1]))
	return seq, bad
}

// requireAlive waits until the guest's heartbeat moves past after, with its
// memory checksum intact.
func (l lab) requireAlive(t *testing.T, name string, after int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seq, bad := l.heartbeat(t, name)
		if bad {
			t.Fatalf("guest %s reports CHECK BAD in its serial log: memory corrupted", name)
		}
		if seq > after+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest %s: heartbeat stuck at %d (was %d before)", name, seq, after)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// labFlags: policy timeouts short enough for CI, generous enough for TCG.
func labFlags(uri, host string) []string {
	return []string{"-driver", "libvirt", "-libvirt-uri", uri, "-host-name", host,
		"-progress-timeout", "20s", "-completion-timeout-per-gib", "120s"}
}

func TestLab(t *testing.T) {
	requirePython(t)
	l := loadLab(t)
	if len(l.guests) < 2 {
		t.Fatalf("need two lab guests, have %v", l.guests)
	}
	g1, g2 := l.guests[0], l.guests[1]
	a := startDaemon(t, l.hostA, labFlags(l.uriA, l.hostA)...)
	b := startDaemon(t, l.hostB, labFlags(l.uriB, l.hostB)...)

	t.Run("check refusals against the real destination", func(t *testing.T) {
		if r := step(t, a, "check", g1, l.hostB); r["rc"] != "0" || r["migratable"] != "true" {
			t.Fatalf("check %s -> %s: %v, want migratable", g1, l.hostB, r)
		}
		if r := step(t, a, "check", g1, l.unreachable); r["migratable"] == "true" {
			t.Fatalf("check to unreachable %s: %v", l.unreachable, r)
		}
		if r := step(t, a, "check", g1, l.hostB, "--new-memory-mib", "4000000"); r["migratable"] == "true" {
			t.Fatalf("check with 4 TB of memory: %v", r)
		}
		// a domain of the same name already defined on the destination
		xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>`, g1)
		f := filepath.Join(t.TempDir(), "dup.xml")
		os.WriteFile(f, []byte(xml), 0o644)
		if out, err := exec.Command("virsh", "-c", l.uriB, "define", f).CombinedOutput(); err != nil {
			t.Fatalf("define duplicate on B: %v %s", err, out)
		}
		defer exec.Command("virsh", "-c", l.uriB, "undefine", g1).Run()
		if r := step(t, a, "check", g1, l.hostB); r["migratable"] == "true" {
			t.Fatalf("check with the name already on B: %v", r)
		}
	})

	t.Run("live migration A to B with the guest intact", func(t *testing.T) {
		before, _ := l.heartbeat(t, g1)
		r := step(t, a, "migrate", g1, l.hostB)
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		w := step(t, a, "wait", r["job"])
		if w["state"] != "7" || w["percent"] != "100" {
			t.Fatalf("job ended %v", w)
		}
		t.Logf("completed: downtime %s ms, %s iterations (%s)", w["downtime_ms"], w["iterations"], w["samples"])
		l.requireRunsOn(t, g1, l.uriB)
		l.requireAlive(t, g1, before)
	})

	t.Run("back to A with MigrateVirtualSystemToSystem through B", func(t *testing.T) {
		before, _ := l.heartbeat(t, g1)
		r := step(t, b, "migrate", g1, l.hostA, "--to-system")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		if w := step(t, b, "wait", r["job"]); w["state"] != "7" {
			t.Fatalf("job ended %v", w)
		}
		l.requireRunsOn(t, g1, l.uriA)
		l.requireAlive(t, g1, before)
	})

	t.Run("cancel mid-migration", func(t *testing.T) {
		r := step(t, a, "migrate", g2, l.hostB, "--bandwidth", "1")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		step(t, a, "wait", r["job"], "--states", "4", "--timeout", "60")
		time.Sleep(time.Second)
		if c := step(t, a, "cancel", r["job"]); c["rc"] != "0" && c["rc"] != "4096" {
			t.Fatalf("cancel: %v", c)
		}
		if w := step(t, a, "wait", r["job"]); w["state"] != "8" {
			t.Fatalf("job ended %v, want 8 Terminated", w)
		}
		l.requireRunsOn(t, g2, l.uriA)
	})

	t.Run("destination libvirtd killed mid-migration", func(t *testing.T) {
		r := step(t, a, "migrate", g2, l.hostB, "--bandwidth", "1")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		step(t, a, "wait", r["job"], "--states", "4", "--timeout", "60")
		time.Sleep(time.Second)
		pid, err := os.ReadFile(l.pidB)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		syscall.Kill(n, syscall.SIGKILL)
		w := step(t, a, "wait", r["job"])
		if w["state"] != "10" || w["description"] == "" {
			t.Fatalf("job ended %v, want 10 Exception with a description", w)
		}
		if e := step(t, a, "error", r["job"]); e["rc"] != "0" || !strings.Contains(e["error"], "CIM_Error") {
			t.Fatalf("GetError: %v", e)
		}
		if st := domstate(l.uriA, g2); st != "running" {
			t.Fatalf("guest %s on A is %q after the destination died", g2, st)
		}
		// bring host B back for the next scenarios
		up := exec.Command("bash", filepath.Join(repoRoot(t), "testdata", "lab", "up.sh"))
		if out, err := up.CombinedOutput(); err != nil {
			t.Fatalf("restarting the lab: %v\n%s", err, out)
		}
		l.requireRunsOn(t, g2, l.uriA)
	})

	t.Run("vsmigd killed mid-migration and restarted", func(t *testing.T) {
		r := step(t, a, "migrate", g1, l.hostB, "--bandwidth", "4")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		step(t, a, "wait", r["job"], "--states", "4", "--timeout", "60")
		a.Kill()
		a.Restart()
		w := step(t, a, "wait", r["job"])
		switch w["state"] {
		case "7":
			l.requireRunsOn(t, g1, l.uriB)
		case "8", "10":
			l.requireRunsOn(t, g1, l.uriA)
		default:
			t.Fatalf("job ended %v", w)
		}
		t.Logf("after the restart the job ended %s: %s", w["state"], w["status"]+w["description"])
		if w["state"] == "7" {
			// put g1 back on A for the policy scenario
			r := step(t, b, "migrate", g1, l.hostA)
			if w := step(t, b, "wait", r["job"]); w["state"] != "7" {
				t.Fatalf("moving back: %v", w)
			}
		}
	})

	t.Run("policy finishes or cleanly aborts a migration defaults cannot finish", func(t *testing.T) {
		// The guests dirty memory continuously; 2 MiB/s is below their pace,
		// so plain pre-copy never converges. Auto-converge and the downtime
		// ramp may finish it; otherwise the progress timeout aborts it.
		before, _ := l.heartbeat(t, g2)
		r := step(t, a, "migrate", g2, l.hostB, "--bandwidth", "2")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		w := step(t, a, "wait", r["job"], "--timeout", "400")
		switch w["state"] {
		case "7":
			t.Logf("finished by the policy: %s", w["status"])
			l.requireRunsOn(t, g2, l.uriB)
		case "10":
			t.Logf("aborted cleanly: %s", w["description"])
			if !strings.Contains(strings.ToLower(w["description"]), "progress") && !strings.Contains(strings.ToLower(w["description"]), "converge") {
				t.Errorf("abort reason %q does not name the timeout", w["description"])
			}
			l.requireRunsOn(t, g2, l.uriA)
		default:
			t.Fatalf("job ended %v", w)
		}
		l.requireAlive(t, g2, before)
	})
}
