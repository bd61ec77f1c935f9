package migrate

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestResolve(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Bandwidth = 100 << 20
	req := Request{JobID: "j", Plan: Plan{VM: "u", Type: Live, DestHost: "FE80::1"}}
	orig := req
	p := Resolve(cfg, req)
	if !reflect.DeepEqual(req, orig) {
		t.Fatal("Resolve changed its input")
	}
	want := Plan{VM: "u", Type: Live, DestHost: "fe80::1", Transport: TCP, DestURI: "qemu+tcp://[fe80::1]/system",
		Bandwidth: 100 << 20, MaxDowntime: DefaultMaxDowntime, AutoConverge: true, ShutdownTimeout: DefaultShutdownTimeout}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Resolve:\n got %+v\nwant %+v", p, want)
	}
	req.Plan.Type, req.Plan.PostCopy, req.Plan.MaxDowntime = Resume, true, time.Second
	p = Resolve(cfg, req)
	if p.PostCopy || p.AutoConverge || p.MaxDowntime != time.Second {
		t.Errorf("resume plan %+v", p)
	}
}

func TestPolicyFor(t *testing.T) {
	cfg := DefaultConfig()
	live := Resolve(cfg, Request{Plan: Plan{Type: Live, DestHost: "b"}})
	o := PolicyFor(cfg, live, 4<<30)
	if o.CompletionTimeout != 600*time.Second || o.StepDelay != 40*time.Second || len(o.Downtime) != 11 ||
		o.Downtime[0] != 150*time.Millisecond || o.Downtime[10] != time.Second {
		t.Errorf("4 GiB live: %+v", o)
	}
	if o := PolicyFor(cfg, live, 256<<20); o.CompletionTimeout != DefaultMinCompletionTimeout {
		t.Errorf("small VM completion timeout %v", o.CompletionTimeout)
	}
	restart := Resolve(cfg, Request{Plan: Plan{Type: Restart, DestHost: "b"}})
	if o := PolicyFor(cfg, restart, 1<<30); o.ProgressTimeout != 0 || len(o.Downtime) != 1 ||
		o.CompletionTimeout != DefaultMinCompletionTimeout+DefaultShutdownTimeout {
		t.Errorf("restart: %+v", o)
	}
}

func TestDowntimeSteps(t *testing.T) {
	got := DowntimeSteps(50*time.Millisecond, 500*time.Millisecond, 10)
	if len(got) != 11 || got[0] != 50*time.Millisecond || got[1] != 95*time.Millisecond || got[10] != 500*time.Millisecond {
		t.Errorf("nova ramp %v", got)
	}
	if got := DowntimeSteps(time.Second, time.Second, 10); len(got) != 1 {
		t.Errorf("flat ramp %v", got)
	}
}

func TestDecide(t *testing.T) {
	opts := Options{
		Downtime:          []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
		StepDelay:         10 * time.Second,
		AutoConverge:      true,
		CompletionTimeout: 300 * time.Second,
		ProgressTimeout:   150 * time.Second,
	}
	noAC := opts
	noAC.AutoConverge = false
	withPC := opts
	withPC.PostCopy = true
	pre := func(it, rem uint64) Progress {
		return Progress{Iteration: it, DataRemaining: rem, DataTotal: 1 << 30, Bandwidth: 100e6, DirtyRate: 10e6, Phase: "precopy"}
	}
	// feed folds samples (at 1 s spacing from t0) into a state.
	feed := func(samples ...Progress) (monitorState, time.Time) {
		s, now := newMonitorState(t0), t0
		for _, p := range samples {
			now = now.Add(time.Second)
			s = s.observe(p, now)
		}
		return s, now
	}
	stalled, at := feed(pre(0, 1<<30), pre(1, 50e6), pre(2, 49e6))
	shrinking, _ := feed(pre(0, 1<<30), pre(1, 50e6), pre(2, 30e6))
	hot := func() (monitorState, time.Time) {
		p := pre(1, 50e6)
		p.DirtyRate = 95e6
		q := p
		q.Iteration = 2
		return feed(pre(0, 1<<30), p, q)
	}
	hotState, hotAt := hot()

	tests := []struct {
		name   string
		s      monitorState
		p      Progress
		o      Options
		now    time.Time
		kind   ActionKind
		reason string
	}{
		{"steady", shrinking, pre(2, 30e6), opts, at.Add(20 * time.Second), ActNothing, ""},
		{"stalled but too soon after the start", stalled, pre(2, 49e6), opts, at, ActNothing, ""},
		{"stalled: raise", stalled, pre(2, 49e6), opts, t0.Add(11 * time.Second), ActRaiseDowntime, "max downtime raised to 200ms"},
		{"ramp exhausted", func() monitorState { s := stalled; s.step = 2; return s }(), pre(2, 49e6), opts, t0.Add(11 * time.Second), ActNothing, ""},
		{"hot: auto-converge", hotState, pre(2, 50e6), opts, hotAt, ActAutoConverge, "keeps up with bandwidth"},
		{"hot, not allowed", hotState, pre(2, 50e6), noAC, hotAt, ActNothing, ""},
		{"hot, already throttled", func() monitorState { s := hotState; s.throttled = true; return s }(), pre(2, 50e6), opts, hotAt, ActNothing, ""},
		{"completion timeout: abort", shrinking, func() Progress { p := pre(9, 30e6); p.Elapsed = 301 * time.Second; return p }(),
			opts, at, ActAbort, "did not converge within 5m0s"},
		{"completion timeout: post-copy", shrinking, func() Progress { p := pre(9, 30e6); p.Elapsed = 301 * time.Second; return p }(),
			withPC, at, ActPostCopy, "switching to post-copy"},
		{"completion timeout by the monitor's clock", shrinking, pre(9, 30e6), opts, t0.Add(302 * time.Second), ActAbort, "did not converge"},
		{"no progress", shrinking, pre(2, 30e6), Options{ProgressTimeout: 150 * time.Second}, at.Add(151 * time.Second), ActAbort, "no progress for 2m30s"},
		// Seen on the lab with the network cut: libvirt takes seconds to
		// end an aborted job, and the abort was asked for every sample.
		{"aborting: asked once", shrinking.applied(Action{Kind: ActAbort}, opts, at), pre(2, 30e6),
			Options{ProgressTimeout: 150 * time.Second}, at.Add(151 * time.Second), ActNothing, ""},
		{"post-copy is left alone", func() monitorState { s := shrinking; s.postCopy = true; return s }(),
			func() Progress { p := pre(9, 30e6); p.Elapsed = time.Hour; return p }(), opts, at, ActNothing, ""},
		{"stop-and-copy: no tuning", stalled, func() Progress { p := pre(2, 49e6); p.Phase = "stop-and-copy"; return p }(),
			opts, t0.Add(11 * time.Second), ActNothing, ""},
		{"timeouts disabled", shrinking, func() Progress { p := pre(9, 30e6); p.Elapsed = time.Hour; return p }(),
			Options{Downtime: opts.Downtime}, at.Add(time.Hour), ActNothing, ""},
	}
	for _, tt := range tests {
		a, why := Decide(tt.s, tt.p, tt.o, tt.now)
		if a.Kind != tt.kind || !strings.Contains(why, tt.reason) || (tt.kind == ActNothing) != (why == "") {
			t.Errorf("%s: got %v %q, want %v %q", tt.name, a.Kind, why, tt.kind, tt.reason)
		}
	}
}

func TestObserveWatermark(t *testing.T) {
	sized := func(rem uint64) Progress { return Progress{DataRemaining: rem, DataTotal: 1000} }
	s := newMonitorState(t0)
	s = s.observe(sized(100), t0.Add(time.Second))
	s = s.observe(sized(120), t0.Add(2*time.Second))
	if s.low != 100 || !s.lowAt.Equal(t0.Add(time.Second)) {
		t.Errorf("watermark %d at %v", s.low, s.lowAt)
	}
	s = s.observe(sized(90), t0.Add(3*time.Second))
	if s.low != 90 || !s.lowAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("new low %d at %v", s.low, s.lowAt)
	}
}

// TestSetupSamplesAreNotProgress: libvirt reports all-zero statistics while
// a migration sets up. Taken as a watermark of 0 they made every migration
// longer than the progress timeout abort with "stuck above 0.0 MiB" (seen
// in the lab with a bandwidth cap).
func TestSetupSamplesAreNotProgress(t *testing.T) {
	o := Options{ProgressTimeout: 20 * time.Second}
	s := newMonitorState(t0)
	s = s.observe(Progress{Phase: "setup"}, t0.Add(100*time.Millisecond))
	now := t0.Add(time.Second)
	for rem := uint64(250 << 20); rem > 100<<20; rem -= 2 << 20 {
		p := Progress{DataTotal: 256 << 20, DataRemaining: rem, Phase: "precopy"}
		s = s.observe(p, now)
		if a, why := Decide(s, p, o, now); a.Kind == ActAbort {
			t.Fatalf("aborted a steadily progressing migration at %v: %s", now.Sub(t0), why)
		}
		now = now.Add(time.Second)
	}
	// Statistics that never appear still end in the progress timeout.
	s = newMonitorState(t0)
	zero := Progress{Phase: "setup"}
	s = s.observe(zero, t0.Add(21*time.Second))
	if a, _ := Decide(s, zero, o, t0.Add(21*time.Second)); a.Kind != ActAbort {
		t.Fatalf("no statistics for 21s: %v, want an abort", a.Kind)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		prev int
		p    Progress
		want int
	}{
		{0, Progress{}, 0},
		{0, Progress{DataTotal: 100, DataRemaining: 100, DataProcessed: 1}, 0},
		{0, Progress{DataTotal: 100, DataRemaining: 40, DataProcessed: 30}, 60},
		{60, Progress{DataTotal: 100, DataRemaining: 70, DataProcessed: 90}, 60}, // re-sync: never back
		{0, Progress{DataTotal: 1000, DataRemaining: 1, DataProcessed: 900}, 99},
		{0, Progress{DataTotal: 100, DataRemaining: 0, DataProcessed: 100}, 99}, // 100 only on completion
		{0, Progress{DataTotal: 200, DataRemaining: 50, DataProcessed: 150}, 75},
		{0, Progress{DataTotal: 100, DataRemaining: 500, DataProcessed: 1}, 0},
		// Zero pages leave the remaining memory without data sent (seen on
		// the lab at setup): nothing is done until data moves.
		{0, Progress{DataTotal: 100, DataRemaining: 94, MemoryTotal: 100, MemoryRemaining: 94}, 0},
		// Memory alone does not count: the job's figures are its data
		// (with disks, more than its memory).
		{0, Progress{DataTotal: 300, DataRemaining: 250, DataProcessed: 50, MemoryTotal: 100, MemoryRemaining: 50}, 16},
	}
	for _, tt := range tests {
		if got := Percent(tt.prev, tt.p); got != tt.want {
			t.Errorf("Percent(%d, %+v) = %d, want %d", tt.prev, tt.p, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxIncoming = 65
	c.PollInterval = time.Second
	c.MaxDowntimeLimit = -time.Millisecond
	c.DefaultTransport = 7
	err := c.Validate()
	for _, key := range []string{"MaxIncoming", "PollInterval", "MaxDowntimeLimit", "DefaultTransport"} {
		if err == nil || !strings.Contains(err.Error(), "config "+key+":") {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a zero Config")
	}
}

func TestDestURI(t *testing.T) {
	tests := []struct {
		host string
		t    Transport
		want string
	}{
		{"host-b", TCP, "qemu+tcp://host-b/system"},
		{"Host-B.example.com.", TLS, "qemu+tls://host-b.example.com/system?no_verify=1"},
		{"127.0.0.3", TLSStrict, "qemu+tls://127.0.0.3/system"},
		{"2001:db8::1", SSH, "qemu+ssh://[2001:db8::1]/system"},
		{"[2001:DB8::1]", TCP, "qemu+tcp://[2001:db8::1]/system"},
		{"::ffff:10.0.0.1", TCP, "qemu+tcp://[::ffff:10.0.0.1]/system"},
		{"", TCP, ""},
		{"host b", TCP, ""},
		{"h/x", TCP, ""},
		{"root@h", TCP, ""},
		{"h:16509", TCP, ""},
		{"fe80::1%eth0", TCP, ""},
		{"-h", TCP, ""},
		{"1.2.3", TCP, ""},
		{"host-b", Transport(1), ""},
	}
	for _, tt := range tests {
		got, err := DestURI(tt.host, tt.t)
		if tt.want == "" {
			ce, ok := err.(*CheckError)
			if !ok || ce.Kind != InvalidParameter {
				t.Errorf("DestURI(%q, %v) = %q, %v; want an InvalidParameter error", tt.host, tt.t, got, err)
			}
			continue
		}
		if got != tt.want || err != nil {
			t.Errorf("DestURI(%q, %v) = %q, %v; want %q", tt.host, tt.t, got, err, tt.want)
		}
	}
}

func FuzzDestURI(f *testing.F) {
	for _, s := range []string{"host-b", "127.0.0.1", "::1", "[::1]", "a..b", "x%y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		u, err := DestURI(host, TCP)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "qemu+tcp://") || !strings.HasSuffix(u, "/system") ||
			strings.ContainsAny(u[len("qemu+tcp://"):len(u)-len("/system")], "/@?#% ") {
			t.Errorf("DestURI(%q) = %q", host, u)
		}
	})
}
