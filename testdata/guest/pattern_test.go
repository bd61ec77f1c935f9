package main

import (
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in      string
		want    Config
		wantErr bool
	}{
		{in: "console=ttyS0 quiet", want: DefaultConfig()},
		{in: "console=ttyS0 vsmig.mem=8M vsmig.dirty=256K@10ms vsmig.check=1s vsmig.hb=250ms vsmig.flush=1ms",
			want: Config{MemBytes: 8 << 20, DirtyBytes: 256 << 10, DirtyEvery: 10 * time.Millisecond,
				CheckEvery: time.Second, Heartbeat: 250 * time.Millisecond, FlushEvery: time.Millisecond}},
		{in: "vsmig.flush=off", want: DefaultConfig()},
		{in: "vsmig.disk=16M vsmig.diskw=64K@100ms vsmig.ip=10.213.0.11/24", want: func() Config {
			c := DefaultConfig()
			c.DiskBytes, c.DiskWriteBytes, c.DiskWriteEvery, c.IP = 16<<20, 64<<10, 100*time.Millisecond, "10.213.0.11/24"
			return c
		}()},
		{in: "vsmig.disk=10000", want: func() Config { c := DefaultConfig(); c.DiskBytes = 8192; return c }()},
		{in: "vsmig.disk=100", wantErr: true},
		{in: "vsmig.ip=10.213.0.11", wantErr: true},
		{in: "vsmig.flush=5ms", want: func() Config { c := DefaultConfig(); c.FlushEvery = 5 * time.Millisecond; return c }()},
		{in: "vsmig.dirty=off", want: func() Config { c := DefaultConfig(); c.DirtyBytes, c.DirtyEvery = 0, 0; return c }()},
		{in: "vsmig.mem=10000", want: func() Config { c := DefaultConfig(); c.MemBytes = 8192; return c }()},
		{in: "vsmig.mem=12Q", wantErr: true},
		{in: "vsmig.mem=1", wantErr: true},
		{in: "vsmig.dirty=256K", wantErr: true},
		{in: "vsmig.dirty=256K@0s", wantErr: true},
		{in: "vsmig.nope=1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseCmdline(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseCmdline(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("ParseCmdline(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestRegionVerifiesWhileDirtied(t *testing.T) {
	r := NewRegion(64 * PageSize)
	sum0, bad := r.Verify()
	if bad != -1 {
		t.Fatalf("fresh region: bad page %d", bad)
	}
	r.Dirty(10 * PageSize)
	sum1, bad := r.Verify()
	if bad != -1 {
		t.Fatalf("dirtied region: bad page %d", bad)
	}
	if sum1 == sum0 {
		t.Errorf("checksum did not change after dirtying")
	}
	if g := r.Generations(); g != 10 {
		t.Errorf("Generations = %d, want 10", g)
	}
	// Wrap around the region several times.
	for range 20 {
		r.Dirty(7 * PageSize)
	}
	if _, bad := r.Verify(); bad != -1 {
		t.Fatalf("after wrap: bad page %d", bad)
	}
	r.Corrupt(5*PageSize + 123)
	if _, bad := r.Verify(); bad != 5 {
		t.Errorf("corrupted page 5: Verify bad = %d", bad)
	}
}

func TestRegionSameStateSameSum(t *testing.T) {
	a, b := NewRegion(16*PageSize), NewRegion(16*PageSize)
	a.Dirty(3 * PageSize)
	b.Dirty(PageSize)
	b.Dirty(2 * PageSize)
	sa, _ := a.Verify()
	sb, _ := b.Verify()
	if sa != sb {
		t.Errorf("same generations, different sums: %x != %x", sa, sb)
	}
}

func TestIsPowerPress(t *testing.T) {
	ev := func(typ, code uint16, value int32) []byte {
		b := make([]byte, 24)
		b[16], b[17] = byte(typ), byte(typ>>8)
		b[18], b[19] = byte(code), byte(code>>8)
		b[20], b[21], b[22], b[23] = byte(value), byte(value>>8), byte(value>>16), byte(value>>24)
		return b
	}
	if !isPowerPress(ev(1, 116, 1)) {
		t.Error("KEY_POWER press not recognised")
	}
	for _, b := range [][]byte{ev(1, 116, 0), ev(1, 115, 1), ev(0, 116, 1), ev(1, 116, 1)[:20]} {
		if isPowerPress(b) {
			t.Errorf("isPowerPress(%v) = true", b)
		}
	}
}
