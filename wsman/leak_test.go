package wsman_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if a Service's expiry sweeper outlives the tests:
// every Service must be closed, and Close must wait for its goroutine.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := sweepers(time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked Service goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// sweepers waits up to d for Service sweeper goroutines to end and
// returns the stacks of those left.
func sweepers(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "wsman.(*Service).sweep") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
