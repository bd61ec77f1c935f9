package vsm

import (
	"strings"
	"testing"
)

func TestCheckDestHost(t *testing.T) {
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
		{"", "", false},
		{"10.0.0", "", false},
		{"10.0.0.256", "", false},
		{"010.0.0.1", "", false},
		{"-host", "", false},
		{"host-", "", false},
		{"a..b", "", false},
		{"host_2", "", false},
		{"host2:22", "", false},
		{"[host2]", "", false},
		{"fe80::1%eth0", "", false},
		{"0.0.0.0", "", false},
		{"::", "", false},
		{"ff02::1", "", false},
		{"127.0.0.3", "127.0.0.3", true},
		{"ho st", "", false},
		{strings.Repeat("a", 64) + ".com", "", false},
		{strings.Repeat("a.", 127) + "com", "", false},
	}
	for _, tt := range tests {
		got, r := checkDestHost(tt.in)
		if (r == nil) != tt.ok || got != tt.want {
			t.Errorf("checkDestHost(%q) = %q, %v; want %q ok=%v", tt.in, got, r, tt.want, tt.ok)
		}
		if r != nil && r.Code != RetInvalidParameter {
			t.Errorf("checkDestHost(%q) code %d", tt.in, r.Code)
		}
	}
}

func TestBandwidthBytes(t *testing.T) {
	tests := []struct {
		v    uint64
		unit string
		link uint64
		want uint64
		code uint32
	}{
		{100, "", 0, 100 << 20, 0},
		{100, "byte/second*2^20", 0, 100 << 20, 0},
		{100, "byte*2^20/second", 0, 100 << 20, 0},
		{8, "bit/second*10^6", 0, 1000000, 0},
		{1, "Byte / Second * 2^30", 0, 1 << 30, 0},
		{50, "percent", 1000, 500, 0},
		{150, "percent", 1000, 0, 4},
		{50, "percent", 0, 0, 6},
		{1, "byte", 0, 0, 4},
		{1, "byte/second*3^2", 0, 0, 4},
		{1, "megafoo", 0, 0, 4},
	}
	for _, tt := range tests {
		got, r := bandwidthBytes(tt.v, tt.unit, tt.link)
		code := uint32(0)
		if r != nil {
			code = r.Code
		}
		if got != tt.want || code != tt.code {
			t.Errorf("bandwidthBytes(%d, %q) = %d, %d; want %d, %d", tt.v, tt.unit, got, code, tt.want, tt.code)
		}
	}
}

func TestMemoryUnit(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"", 1 << 20, true},
		{"byte*2^20", 1 << 20, true},
		{"byte * 2^30", 1 << 30, true},
		{"KB", 1024, true},
		{"MegaBytes", 1 << 20, true},
		{"byte", 1, true},
		{"watt", 0, false},
		{"count", 0, false},
	}
	for _, tt := range tests {
		got, err := memoryUnit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("memoryUnit(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// FuzzCheckDestHost: DestinationHost comes from the client. Whatever it
// is, checkDestHost must not panic, and what it accepts must be accepted
// again unchanged (it is what goes into the migration URI).
func FuzzCheckDestHost(f *testing.F) {
	for _, s := range []string{"host2", "10.0.0.2", "fd00::2", "[::1]", "a..b", "fe80::1%eth0", "x-y.example.", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, r := checkDestHost(s)
		if r != nil {
			return
		}
		h2, r2 := checkDestHost(h)
		if r2 != nil || h2 != h {
			t.Fatalf("checkDestHost(%q) = %q, which gives %q, %v", s, h, h2, r2)
		}
		if strings.ContainsAny(h, "/@?#[]% ") {
			t.Fatalf("accepted host %q would break a URI", h)
		}
	})
}

// FuzzBandwidthUnit: BandwidthUnit comes from the client.
func FuzzBandwidthUnit(f *testing.F) {
	for _, s := range []string{"byte/second*2^20", "bit/second*10^6", "percent", "", "byte*2^-3/second", "*", "^^"} {
		f.Add(uint16(100), s)
	}
	f.Fuzz(func(t *testing.T, v uint16, unit string) {
		bandwidthBytes(uint64(v), unit, 1<<30)
		memoryUnit(unit)
	})
}
