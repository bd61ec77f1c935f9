//go:build e2e

package e2e

import "testing"

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
