package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestNormalizeHost is the one grammar of destination hosts (it was
// cim/vsm's checkDestHost and this package's, which differed).
func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"host2", "host2", true},
		{"Host2.Example.COM.", "host2.example.com", true},
		{"3com.example", "3com.example", true},
		{"10.0.0.2", "10.0.0.2", true},
		{"fd00::2", "fd00::2", true},
		{"FD00:0:0::2", "fd00::2", true},
		{"[fd00::2]", "fd00::2", true},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1", true},
		{"127.0.0.3", "127.0.0.3", true},
		{"fe80::1", "fe80::1", true},
		{"", "", false},
		{"10.0.0", "", false},
		{"1.2.3", "", false},
		{"1234", "", false},
		{"10.0.0.256", "", false},
		{"010.0.0.1", "", false},
		{"-host", "", false},
		{"host-", "", false},
		{"a..b", "", false},
		{"host_2", "", false},
		{"host2:22", "", false},
		{"h:16509", "", false},
		{"[host2]", "", false},
		{"fe80::1%eth0", "", false},
		{"0.0.0.0", "", false},
		{"::", "", false},
		{"ff02::1", "", false},
		{"ho st", "", false},
		{"h/x", "", false},
		{"root@h", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{strings.Repeat("a.", 127) + "com", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeHost(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		var ce *CheckError
		if err != nil && (!errors.As(err, &ce) || ce.Kind != InvalidParameter) {
			t.Errorf("NormalizeHost(%q): %v is not an InvalidParameter CheckError", tt.in, err)
		}
	}
}

// FuzzNormalizeHost: a destination host comes from the client. Whatever it
// is, NormalizeHost must not panic, and what it accepts must be accepted
// again unchanged (it is what goes into the migration URI).
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"host2", "10.0.0.2", "fd00::2", "[::1]", "a..b", "fe80::1%eth0", "x-y.example.", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := NormalizeHost(s)
		if err != nil {
			return
		}
		h2, err := NormalizeHost(h)
		if err != nil || h2 != h {
			t.Fatalf("NormalizeHost(%q) = %q, which gives %q, %v", s, h, h2, err)
		}
		if strings.ContainsAny(h, "/@?#[]% ") {
			t.Fatalf("accepted host %q would break a URI", h)
		}
	})
}

// TestStateAllows is the paused-VM rule, decided once (issue #10).
func TestStateAllows(t *testing.T) {
	states := []DomainState{StateRunning, StatePaused, StateShutoff, StateCrashed, StateUnknown}
	want := map[Type][]bool{ // in the order of states
		Live:    {true, true, false, false, false},
		Resume:  {true, true, false, false, false},
		Restart: {true, false, true, false, false},
	}
	for typ, oks := range want {
		for i, st := range states {
			err := StateAllows(Domain{Name: "vm1", State: st}, typ)
			if (err == nil) != oks[i] {
				t.Errorf("%v migration of a VM %v: %v, want allowed=%v", typ, st, err, oks[i])
			}
			var ce *CheckError
			if err != nil && (!errors.As(err, &ce) || ce.Kind != InvalidState || !strings.Contains(ce.Reason, "vm1")) {
				t.Errorf("%v of %v: %v, want an InvalidState CheckError naming the VM", typ, st, err)
			}
		}
	}
	err := StateAllows(Domain{Name: "vm1", State: StatePaused}, Restart)
	if err == nil || !strings.Contains(err.Error(), "resume it first") {
		t.Errorf("restart of a paused VM: %v, want it to say what to do", err)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want CheckKind
	}{
		{&CheckError{Kind: Incompatible, Reason: "x"}, Incompatible},
		{fmt.Errorf("wrapped: %w", &CheckError{Kind: NotSupported}), NotSupported},
		{&CheckError{Kind: InvalidState, Err: ErrVMBusy}, InvalidState},
		{ErrBusy, InvalidState},
		{fmt.Errorf("%w (job j)", ErrVMBusy), InvalidState},
		{ErrShuttingDown, InvalidState},
		{ErrNoDomain, InvalidParameter},
		{ErrUnsupported, NotSupported},
		{context.DeadlineExceeded, Timeout},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), Timeout},
		{errors.New("boom"), Failed},
		{ErrPolicyAbort, Failed},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
