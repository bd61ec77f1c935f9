package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// The guest's disk check: it writes sequence-numbered, checksummed records
// to its disk, one per 4 KiB slot, round robin over a region of the disk,
// and reads them all back from time to time. It knows the last sequence
// number it wrote, so it knows which record each slot must hold; a
// migration that lost or damaged a write on the way to the destination's
// copy of the disk shows as a slot with an old, missing or broken record.

// RecordSize is one record, one slot: the unit of the guest's disk I/O
// (O_DIRECT needs whole, aligned blocks).
const RecordSize = 4096

var recordMagic = [8]byte{'V', 'S', 'M', 'I', 'G', 'R', 'E', 'C'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record layout: magic, seq, slot, payload, CRC-32C of all before it.
const (
	recSeq     = 8
	recSlot    = 16
	recPayload = 24
	recCRC     = RecordSize - 4
)

// EncodeRecord fills b (RecordSize bytes) with record seq for slot.
func EncodeRecord(b []byte, seq, slot uint64) {
	copy(b, recordMagic[:])
	binary.LittleEndian.PutUint64(b[recSeq:], seq)
	binary.LittleEndian.PutUint64(b[recSlot:], slot)
	for off := recPayload; off+8 <= recCRC; off += 8 {
		binary.LittleEndian.PutUint64(b[off:], word(seq, uint64(off)))
	}
	binary.LittleEndian.PutUint32(b[recCRC:], crc32.Checksum(b[:recCRC], castagnoli))
}

// CheckRecord reports what is wrong with b as the record seq of slot, or
// nil.
func CheckRecord(b []byte, seq, slot uint64) error {
	if !bytes.Equal(b[:len(recordMagic)], recordMagic[:]) {
		return fmt.Errorf("no record (want seq %d)", seq)
	}
	if crc32.Checksum(b[:recCRC], castagnoli) != binary.LittleEndian.Uint32(b[recCRC:]) {
		return fmt.Errorf("checksum mismatch (want seq %d)", seq)
	}
	if got := binary.LittleEndian.Uint64(b[recSeq:]); got != seq {
		return fmt.Errorf("seq %d, want %d", got, seq)
	}
	if got := binary.LittleEndian.Uint64(b[recSlot:]); got != slot {
		return fmt.Errorf("record of slot %d", got)
	}
	for off := recPayload; off+8 <= recCRC; off += 8 {
		if binary.LittleEndian.Uint64(b[off:]) != word(seq, uint64(off)) {
			return fmt.Errorf("payload differs at byte %d (seq %d)", off, seq)
		}
	}
	return nil
}

// Records is the disk check's state: Slots slots on Disk, Next the
// sequence number of the next record (records 0..Next-1 were written).
type Records struct {
	Disk  RecordDisk
	Slots uint64
	Next  uint64
	buf   []byte
}

// RecordDisk is where records go: the guest's block device opened with
// O_DIRECT, or a file in tests. buf is RecordSize bytes, suitably aligned.
type RecordDisk interface {
	io.ReaderAt
	io.WriterAt
}

// NewRecords returns the check for slots slots of disk; buf is its I/O
// buffer (RecordSize bytes, page-aligned for O_DIRECT).
func NewRecords(disk RecordDisk, slots uint64, buf []byte) *Records {
	return &Records{Disk: disk, Slots: slots, buf: buf[:RecordSize]}
}

// Write writes the next n records.
func (r *Records) Write(n int) error {
	for range n {
		slot := r.Next % r.Slots
		EncodeRecord(r.buf, r.Next, slot)
		if _, err := r.Disk.WriteAt(r.buf, int64(slot*RecordSize)); err != nil {
			return fmt.Errorf("write seq %d: %w", r.Next, err)
		}
		r.Next++
	}
	return nil
}

// Verify reads every slot written so far and checks it holds the last
// record written to it. It returns the first bad slot (-1 if none) and
// why.
func (r *Records) Verify() (int64, error) {
	for slot := range min(r.Next, r.Slots) {
		// the last seq written to slot: the largest s < Next with s ≡ slot
		want := slot + (r.Next-1-slot)/r.Slots*r.Slots
		if _, err := r.Disk.ReadAt(r.buf, int64(slot*RecordSize)); err != nil {
			return int64(slot), fmt.Errorf("read: %w", err)
		}
		if err := CheckRecord(r.buf, want, slot); err != nil {
			return int64(slot), err
		}
	}
	return -1, nil
}

// word is the payload word at byte off of record seq: distinct for every
// record and offset, so a record of another seq or a shifted block fails.
func word(seq, off uint64) uint64 {
	x := seq*0x9e3779b97f4a7c15 ^ off
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return x
}
