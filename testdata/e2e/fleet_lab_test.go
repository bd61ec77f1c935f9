//go:build lab

package e2e

// TestLabFleetDrain proves issue #12 on real libvirt and QEMU: three lab
// hosts (A and B of testdata/lab, and a third, C, at VSMIG_LAB_HOST_C /
// VSMIG_LAB_URI_C), a real 3-member etcd cluster on loopback
// (migrate/fleet/fleettest), one vsmigd per host registered in it, and
// a drain of host A with four guests onto B and C through WS-Man
// (vsmigctl drain --wait at B's endpoint, which finds A's). Each guest
// must end running on exactly one of B and C, intact (its heartbeat
// moves on, its serial log shows no damage), and A's libvirtd, sampled
// through the drain, must never show more migrations at once than the
// cluster's limits let run (fleet_timeline_test.go). The guests go back to A at the end.
//
// Setup: the lab up with its third host; `go test -tags lab
// ./testdata/e2e/ -run TestLabFleetDrain -v` with testdata/lab/env.sh
// sourced.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/migrate/fleet/fleettest"
)

// ctl runs vsmigctl against d.
func ctl(t *testing.T, d *daemon, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "bin", "vsmigctl"), args...)
	cmd.Env = append(os.Environ(), "VSMIG_ENDPOINT="+d.Endpoint, "VSMIG_USER="+testUser,
		"VSMIG_PASSWORD="+testPassword, "VSMIG_INSECURE=1", "VSMIG_CONFIG=/nonexistent")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestLabFleetDrain(t *testing.T) {
	requirePython(t)
	l := loadLab(t)
	hostC, uriC := os.Getenv("VSMIG_LAB_HOST_C"), os.Getenv("VSMIG_LAB_URI_C")
	if hostC == "" || uriC == "" {
		t.Fatal("VSMIG_LAB_HOST_C and VSMIG_LAB_URI_C are not set: the lab needs its third host")
	}
	guests := append([]string(nil), l.guests...)
	for i := len(guests); i < 4; i++ {
		name := fmt.Sprintf("vsmig-fleet%d", i+1)
		l.addGuest(t, name, "64K@10ms", "32M")
		guests = append(guests, name)
	}
	guests = guests[:4]
	for _, g := range guests {
		l.requireRunsOn(t, g, l.uriA)
	}
	etcd := fleettest.Start(t, 3, fleettest.Options{})
	const maxRunning, maxIncoming = 3, 2
	cluster := []string{"-cluster-endpoints", strings.Join(etcd.Endpoints(), ","), "-cluster-prefix", "/lab-fleet/",
		"-cluster-max-running", fmt.Sprint(maxRunning), "-max-incoming", fmt.Sprint(maxIncoming)}
	start := func(host, uri string) *daemon {
		port := freePort(t, host)
		ep := fmt.Sprintf("https://%s:%d/wsman", host, port)
		d := startDaemon(t, host, append(append(labFlags(uri, host), cluster...),
			"-https-addr", fmt.Sprintf("%s:%d", host, port), "-advertise-url", ep)...)
		d.Endpoint = ep
		return d
	}
	start(l.hostA, l.uriA)
	b, c := start(l.hostB, l.uriB), start(hostC, uriC)
	before := map[string][2]int{}
	for _, g := range guests {
		seq, off := l.heartbeat(t, g)
		before[g] = [2]int{seq, off}
	}
	out, code := ctl(t, b, "drain", l.hostA, "--dry-run")
	t.Logf("plan:\n%s", out)
	if code != 0 {
		t.Fatalf("drain --dry-run: exit %d", code)
	}
	sampler := sampleMigrations(t, l.uriA, guests)
	out, code = ctl(t, b, "drain", l.hostA, "--wait")
	sampler.Stop()
	t.Logf("drain:\n%s", out)
	if code != 0 {
		t.Fatalf("vsmigctl drain %s --wait: exit %d", l.hostA, code)
	}
	where, dest := map[string]*daemon{}, map[string]string{}
	for _, g := range guests {
		onA, onB, onC := domstate(l.uriA, g), domstate(l.uriB, g), domstate(uriC, g)
		switch {
		case onA == "" && onB == "running" && onC == "":
			where[g], dest[g] = b, "B"
		case onA == "" && onC == "running" && onB == "":
			where[g], dest[g] = c, "C"
		default:
			t.Fatalf("guest %s: on A %q, B %q, C %q; want running on exactly one of B and C", g, onA, onB, onC)
		}
		l.requireAlive(t, g, before[g][0], before[g][1])
	}
	samples := sampler.Samples()
	requireWithinLimits(t, samples, dest, maxRunning, maxIncoming)
	if !slices.ContainsFunc(samples, func(active []string) bool { return len(active) > 0 }) {
		t.Errorf("no sample of %d saw a migration on A: the timeline is empty", len(samples))
	}
	// Back to A, so that the lab's other tests find their guests there.
	for _, g := range guests {
		if out, code := ctl(t, where[g], "migrate", g, l.hostA, "--wait"); code != 0 {
			t.Errorf("back to A: %s: exit %d\n%s", g, code, out)
		}
	}
	var hosts []map[string]any
	out, _ = ctl(t, c, "-o", "json", "hosts")
	if json.Unmarshal([]byte(out), &hosts) != nil || len(hosts) != 3 {
		t.Errorf("C lists %s, want three hosts", out)
	}
}
