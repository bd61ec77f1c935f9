package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleBudget(t *testing.T) {
	th := NewThrottle(ThrottleConfig{Burst: 3, Interval: time.Minute})
	now := time.Unix(1e9, 0)
	for i := range 3 {
		if _, ok := th.Begin("192.0.2.1", now); !ok {
			t.Fatalf("check %d refused within the burst", i+1)
		}
		th.End("192.0.2.1", true, now)
	}
	retry, ok := th.Begin("192.0.2.1", now)
	if ok || retry != time.Minute {
		t.Fatalf("after the burst: ok %v, retry %v; want refused for 1m", ok, retry)
	}
	// Another address is independent.
	if _, ok := th.Begin("192.0.2.2", now); !ok {
		t.Error("other address refused")
	}
	// One more check per interval.
	if _, ok := th.Begin("192.0.2.1", now.Add(59*time.Second)); ok {
		t.Error("allowed before the interval")
	}
	now = now.Add(time.Minute)
	if _, ok := th.Begin("192.0.2.1", now); !ok {
		t.Error("refused after the interval")
	}
	th.End("192.0.2.1", true, now)
	if _, ok := th.Begin("192.0.2.1", now); ok {
		t.Error("two checks earned in one interval")
	}
	// Successes give their token back.
	now = now.Add(time.Hour)
	for i := range 10 {
		if _, ok := th.Begin("192.0.2.1", now); !ok {
			t.Fatalf("success %d refused", i+1)
		}
		th.End("192.0.2.1", false, now)
	}
}

// The bound stated in the README: Burst + 24h/Interval failures per day.
func TestThrottleDailyBound(t *testing.T) {
	th := NewThrottle(ThrottleConfig{})
	start := time.Unix(1e9, 0)
	n := 0
	for now := start; now.Before(start.Add(24 * time.Hour)); now = now.Add(time.Second) {
		for {
			if _, ok := th.Begin("198.51.100.7", now); !ok {
				break
			}
			th.End("198.51.100.7", true, now)
			n++
		}
	}
	if want := DefaultFailureBurst + int(24*time.Hour/DefaultFailureInterval); n > want || n < want-1 {
		t.Errorf("%d failed checks in a day, want %d", n, want)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := NewThrottle(ThrottleConfig{MaxTracked: 50})
	now := time.Unix(1e9, 0)
	for i := range 500 {
		th.Begin(fmt.Sprintf("198.51.100.%d", i), now)
	}
	if n := th.tracked(); n > 50 {
		t.Errorf("tracking %d addresses, bound 50", n)
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5986":                  "192.0.2.1",
		"[::ffff:192.0.2.1]:1":            "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"[fe80::1]:1":                     "fe80::/64",
		"not-an-address":                  "not-an-address",
		"@":                               "@",
	} {
		if got := AddrKey(in); got != want {
			t.Errorf("AddrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
