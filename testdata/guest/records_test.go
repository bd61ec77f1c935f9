package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memDisk is a RecordDisk in memory that can lose writes.
type memDisk struct {
	b      []byte
	lose   map[int64]int // offset: which write there (0 the first) is lost
	writes map[int64]int
}

func (d *memDisk) ReadAt(p []byte, off int64) (int, error) { return copy(p, d.b[off:]), nil }
func (d *memDisk) WriteAt(p []byte, off int64) (int, error) {
	n, lost := d.writes[off], false
	if i, ok := d.lose[off]; ok && i == n {
		lost = true
	}
	d.writes[off]++
	if lost {
		return len(p), nil
	}
	return copy(d.b[off:], p), nil
}

func TestRecordsVerify(t *testing.T) {
	const slots = 8
	newDisk := func() *memDisk {
		return &memDisk{b: make([]byte, slots*RecordSize), lose: map[int64]int{}, writes: map[int64]int{}}
	}
	tests := []struct {
		name    string
		writes  int
		damage  func(d *memDisk)
		badSlot int64
		want    string
	}{
		{"nothing written", 0, nil, -1, ""},
		{"part of the slots", 5, nil, -1, ""},
		{"wrapped around twice", 2*slots + 3, nil, -1, ""},
		{"a lost write leaves the old record", 2*slots + 3, func(d *memDisk) {
			d.lose[2*RecordSize] = 2 // seq 18, the third write to slot 2
		}, 2, "seq 10, want 18"},
		{"a lost write to a fresh slot", 5, func(d *memDisk) { d.lose[4*RecordSize] = 0 }, 4, "no record"},
		{"a flipped byte", slots + 1, func(d *memDisk) { d.b[3*RecordSize+1000] ^= 1 }, 3, "checksum"},
		{"records swapped", slots, func(d *memDisk) {
			a, b := d.b[1*RecordSize:2*RecordSize], d.b[6*RecordSize:7*RecordSize]
			tmp := append([]byte(nil), a...)
			copy(a, b)
			copy(b, tmp)
		}, 1, "seq 6, want 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDisk()
			r := NewRecords(d, slots, make([]byte, RecordSize))
			// damage that drops writes applies to writes; damage that
			// changes bytes applies after them
			late := tt.damage != nil && !strings.Contains(tt.name, "lost")
			if tt.damage != nil && !late {
				tt.damage(d)
			}
			if err := r.Write(tt.writes); err != nil {
				t.Fatal(err)
			}
			if late {
				tt.damage(d)
			}
			slot, err := r.Verify()
			if slot != tt.badSlot || (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %d, %v; want %d, %q", slot, err, tt.badSlot, tt.want)
			}
		})
	}
}

// A real file behaves as the memory disk does (the guest's device is a
// file to these methods).
func TestRecordsOnAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "disk"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewRecords(f, 16, make([]byte, RecordSize))
	if err := r.Write(40); err != nil {
		t.Fatal(err)
	}
	if slot, err := r.Verify(); slot != -1 || err != nil {
		t.Fatalf("Verify = %d, %v", slot, err)
	}
	if _, err := f.WriteAt([]byte{0}, 5*RecordSize+recPayload); err != nil {
		t.Fatal(err)
	}
	if slot, err := r.Verify(); slot != 5 || err == nil {
		t.Fatalf("after damage Verify = %d, %v", slot, err)
	}
}
