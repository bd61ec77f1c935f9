package auth

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestThrottleDelays(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	now := time.Unix(1e9, 0)
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		d, n := th.Failure("192.0.2.1", now)
		if d != w*time.Millisecond || n != i+1 {
			t.Errorf("failure %d: delay %v count %d, want %v", i+1, d, n, w*time.Millisecond)
		}
	}
	// Another address is independent.
	if d, _ := th.Failure("192.0.2.2", now); d != DefaultFailureBaseDelay {
		t.Errorf("other address delay %v", d)
	}
	// Failures decay: after 5 decay intervals 7 failures count as 2 (+1 new).
	if d, n := th.Failure("192.0.2.1", now.Add(5*DefaultFailureDecay)); n != 3 || d != 400*time.Millisecond {
		t.Errorf("after decay: delay %v count %d", d, n)
	}
	// Fully decayed: back to the base delay.
	if d, _ := th.Failure("192.0.2.1", now.Add(time.Hour)); d != DefaultFailureBaseDelay {
		t.Errorf("after long quiet: delay %v", d)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxTracked: 50})
	now := time.Unix(1e9, 0)
	for i := range 500 {
		th.Failure(fmt.Sprintf("198.51.100.%d", i), now)
	}
	if n := th.tracked(); n > 50 {
		t.Errorf("tracking %d addresses, bound 50", n)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { Wait(ctx, time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait ignored a cancelled context")
	}
}
