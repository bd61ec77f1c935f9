package vsm

import (
	"testing"
)

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
