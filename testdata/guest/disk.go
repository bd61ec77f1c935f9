//go:build linux

package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// diskDevice is the guest's first virtio disk.
const diskDevice = "/dev/vda"

// runDisk writes records to the disk at the configured pace and verifies
// them all every check period, in a goroutine of its own (disk I/O under
// TCG must not delay the memory region's dirtying). The disk is opened
// with O_DIRECT: writes reach the virtual disk at once, and reads come
// from it, not from the guest's page cache, so after a migration they
// read the destination's copy. It reports on the serial console:
// "DISK ok seq=N slots=M" after each good check, "DISK BAD slot=S: why"
// otherwise. seq receives the number of records written, for the
// heartbeat.
func runDisk(cfg Config, seq chan<- uint64) {
	dev, err := waitForDevice(diskDevice, 10*time.Second)
	if err != nil {
		fmt.Printf("DISK BAD open: %v\n", err)
		return
	}
	buf, err := unix.Mmap(-1, 0, RecordSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		fmt.Printf("DISK BAD buffer: %v\n", err)
		return
	}
	r := NewRecords(dev, uint64(cfg.DiskBytes/RecordSize), buf)
	fmt.Printf("GUEST disk %s: %d slots\n", diskDevice, r.Slots)
	check := time.NewTicker(cfg.CheckEvery)
	var write <-chan time.Time
	if cfg.DiskWriteBytes > 0 {
		write = time.NewTicker(cfg.DiskWriteEvery).C
	}
	n := max(cfg.DiskWriteBytes/RecordSize, 1)
	for {
		select {
		case <-write:
			if err := r.Write(n); err != nil {
				fmt.Printf("DISK BAD %v\n", err)
				return
			}
			select {
			case seq <- r.Next:
			default:
			}
		case <-check.C:
			if slot, err := r.Verify(); err != nil {
				fmt.Printf("DISK BAD slot=%d: %v\n", slot, err)
			} else {
				fmt.Printf("DISK ok seq=%d slots=%d\n", r.Next, r.Slots)
			}
		}
	}
}

// waitForDevice opens path with O_DIRECT once devtmpfs has it (the virtio
// block driver was just loaded).
func waitForDevice(path string, timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != syscall.ENOENT || time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
