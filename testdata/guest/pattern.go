package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// PageSize is the unit the guest dirties and verifies: one x86 page, so a
// dirtied unit is exactly one page QEMU must send again.
const PageSize = 4096

// Config is what the guest reads from the kernel command line.
type Config struct {
	// MemBytes is the size of the checked region (vsmig.mem=64M).
	MemBytes int
	// DirtyBytes are rewritten every DirtyEvery (vsmig.dirty=256K@10ms);
	// zero means the guest only verifies and never dirties.
	DirtyBytes int
	DirtyEvery time.Duration
	// CheckEvery is how often the whole region is verified (vsmig.check=2s).
	CheckEvery time.Duration
	// Heartbeat is the heartbeat period (vsmig.hb=500ms).
	Heartbeat time.Duration
	// DiskBytes is the region of the guest's disk (/dev/vda) its record
	// check uses (vsmig.disk=16M), one record per 4 KiB; zero (the
	// default) leaves the disk alone.
	DiskBytes int
	// DiskWriteBytes of records are written every DiskWriteEvery
	// (vsmig.diskw=64K@100ms); zero only verifies.
	DiskWriteBytes int
	DiskWriteEvery time.Duration
	// IP is the address (with prefix) of the guest's first NIC, eth0
	// (vsmig.ip=10.213.0.11/24); with one, the guest echoes every UDP
	// datagram sent to its port 7.
	IP string
	// FlushEvery is the period of the TLB-flushing helper process
	// (vsmig.flush=1ms; off by default): a workaround needed on QEMU
	// before 9.0 only, see startFlusher in main.go.
	FlushEvery time.Duration
}

// DefaultConfig is safe under TCG: lab.md found 256 KiB every 10 ms
// migrated cleanly, so the default dirties a quarter of that.
func DefaultConfig() Config {
	return Config{
		MemBytes:   64 << 20,
		DirtyBytes: 64 << 10,
		DirtyEvery: 10 * time.Millisecond,
		CheckEvery: 2 * time.Second,
		Heartbeat:  500 * time.Millisecond,
	}
}

// ParseCmdline reads vsmig.* parameters from a kernel command line, leaving
// defaults for those absent.
func ParseCmdline(cmdline string) (Config, error) {
	c := DefaultConfig()
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !strings.HasPrefix(k, "vsmig.") {
			continue
		}
		var err error
		switch k {
		case "vsmig.mem":
			c.MemBytes, err = ParseSize(v)
			if err == nil && c.MemBytes < PageSize {
				err = fmt.Errorf("smaller than one page")
			}
		case "vsmig.dirty":
			c.DirtyBytes, c.DirtyEvery, err = ParseDirty(v)
		case "vsmig.check":
			c.CheckEvery, err = time.ParseDuration(v)
		case "vsmig.hb":
			c.Heartbeat, err = time.ParseDuration(v)
		case "vsmig.disk":
			c.DiskBytes, err = ParseSize(v)
			if err == nil && c.DiskBytes != 0 && c.DiskBytes < RecordSize {
				err = fmt.Errorf("smaller than one record")
			}
		case "vsmig.diskw":
			c.DiskWriteBytes, c.DiskWriteEvery, err = ParseDirty(v)
		case "vsmig.ip":
			c.IP = v
			if _, _, e := net.ParseCIDR(v); e != nil {
				err = fmt.Errorf("want ADDRESS/PREFIX: %w", e)
			}
		case "vsmig.flush":
			if v == "off" || v == "0" {
				c.FlushEvery = 0
			} else {
				c.FlushEvery, err = time.ParseDuration(v)
			}
		default:
			err = fmt.Errorf("unknown parameter")
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", f, err)
		}
	}
	c.MemBytes -= c.MemBytes % PageSize
	c.DiskBytes -= c.DiskBytes % RecordSize
	return c, nil
}

// ParseSize reads a byte count with an optional K, M or G suffix (powers
// of 1024).
func ParseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult = 1 << 10
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult = 1 << 20
	case strings.HasSuffix(s, "G"), strings.HasSuffix(s, "g"):
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// ParseDirty reads "SIZE@PERIOD" ("256K@10ms"); "0" or "off" disables.
func ParseDirty(s string) (int, time.Duration, error) {
	if s == "0" || s == "off" {
		return 0, 0, nil
	}
	size, period, ok := strings.Cut(s, "@")
	if !ok {
		return 0, 0, fmt.Errorf("want SIZE@PERIOD, got %q", s)
	}
	n, err := ParseSize(size)
	if err != nil {
		return 0, 0, err
	}
	d, err := time.ParseDuration(period)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("bad period %q", period)
	}
	return n, d, nil
}

// Region is memory whose every page holds a pattern derived from the page
// number and its generation. Dirtying a page bumps its generation and
// rewrites it, so a checker that knows the generations can verify the
// whole region at any time, even while it is being dirtied.
type Region struct {
	mem  []byte
	gen  []uint32 // per page
	next int      // next page to dirty, round robin
}

// NewRegion allocates and fills size bytes (a multiple of PageSize).
func NewRegion(size int) *Region {
	r := &Region{mem: make([]byte, size), gen: make([]uint32, size/PageSize)}
	for p := range r.gen {
		r.fill(p)
	}
	return r
}

// Pages is the number of pages in the region.
func (r *Region) Pages() int { return len(r.gen) }

// seed is the first word of page p at generation g; the following words
// step by an odd constant, so each word of each page is distinct.
func seed(p int, g uint32) uint64 {
	x := uint64(p)<<32 | uint64(g)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

const step = 0x9e3779b97f4a7c15

func (r *Region) fill(p int) {
	page := r.mem[p*PageSize : (p+1)*PageSize]
	w := seed(p, r.gen[p])
	for i := 0; i < PageSize; i += 8 {
		binary.LittleEndian.PutUint64(page[i:], w)
		w += step
	}
}

// Dirty rewrites n bytes' worth of pages (at least one) with their next
// generation.
func (r *Region) Dirty(n int) {
	pages := max(1, n/PageSize)
	for range pages {
		p := r.next
		r.gen[p]++
		r.fill(p)
		r.next = (p + 1) % len(r.gen)
	}
}

// Verify checks every page against its generation. It returns a checksum
// of the region (the sum of all page seeds, which changes with each
// dirtied page) and the first bad page, or -1.
func (r *Region) Verify() (sum uint64, bad int) {
	bad = -1
	for p := range r.gen {
		page := r.mem[p*PageSize : (p+1)*PageSize]
		w := seed(p, r.gen[p])
		sum += w
		if bad >= 0 {
			continue
		}
		for i := 0; i < PageSize; i += 8 {
			if binary.LittleEndian.Uint64(page[i:]) != w {
				bad = p
				break
			}
			w += step
		}
	}
	return sum, bad
}

// Generations is the total number of page rewrites so far.
func (r *Region) Generations() uint64 {
	var n uint64
	for _, g := range r.gen {
		n += uint64(g)
	}
	return n
}

// Corrupt flips one byte; tests use it to prove Verify notices.
func (r *Region) Corrupt(off int) { r.mem[off] ^= 0xff }

// Linux input event codes (linux/input-event-codes.h).
const (
	evKey    = 1
	keyPower = 116
	// inputEventSize is sizeof(struct input_event) on 64-bit: a timeval
	// (16 bytes), type and code (2 each), value (4).
	inputEventSize = 24
)

// isPowerPress reports whether an input_event is a press of KEY_POWER.
func isPowerPress(ev []byte) bool {
	if len(ev) < inputEventSize {
		return false
	}
	typ := binary.LittleEndian.Uint16(ev[16:])
	code := binary.LittleEndian.Uint16(ev[18:])
	value := int32(binary.LittleEndian.Uint32(ev[20:]))
	return typ == evKey && code == keyPower && value == 1
}
