//go:build linux

// Command guest is the /init of the lab's test VM. It runs as PID 1 in an
// initramfs, prints a heartbeat on the serial console every half second,
// keeps a region of memory filled with a verifiable pattern, dirties it at
// a rate-limited pace and verifies it periodically, so a migration that
// loses or corrupts memory shows up as "CHECK BAD" on the destination's
// serial log. With a disk it writes checksummed, sequence-numbered records
// to it and verifies them ("DISK BAD"); with a NIC it answers a UDP echo,
// the probe of the downtime its clients see.
//
// On QEMU before 9.0 a helper process keeps QEMU's TCG TLB flushed
// (vsmig.flush, see startFlusher).
// It powers off when the ACPI power button is pressed (the modules for it
// are in the initramfs), so Restart migrations can shut it down cleanly.
//
// Parameters come from the kernel command line (see ParseCmdline):
//
//	vsmig.mem=64M vsmig.dirty=64K@10ms vsmig.check=2s vsmig.hb=500ms [vsmig.flush=1ms]
//	[vsmig.disk=16M vsmig.diskw=64K@100ms] [vsmig.ip=10.213.0.11/24]
//
// Build it static: CGO_ENABLED=0 go build -o init ./testdata/guest
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	if p := os.Getenv(flusherEnv); p != "" {
		flusher(p)
	}
	console()
	if err := syscall.Mount("proc", "/proc", "proc", 0, ""); err != nil && !os.IsExist(err) {
		fmt.Printf("GUEST mount /proc: %v\n", err)
	}
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		fmt.Printf("GUEST read cmdline: %v\n", err)
	}
	cfg, err := ParseCmdline(string(raw))
	if err != nil {
		fmt.Printf("GUEST bad cmdline, using defaults where bad: %v\n", err)
	}
	loadModules()
	watchPowerButton()
	startFlusher(cfg.FlushEvery)
	if cfg.IP != "" {
		go runNet(cfg.IP)
	}
	var diskSeq chan uint64
	if cfg.DiskBytes > 0 {
		diskSeq = make(chan uint64, 1)
		go runDisk(cfg, diskSeq)
	}
	run(cfg, diskSeq)
}

// console makes sure stdout reaches the serial console: the initramfs
// carries /dev/console, but if the kernel could not open it, mount
// devtmpfs and open it ourselves.
func console() {
	if _, err := os.Stdout.Stat(); err == nil {
		return
	}
	_ = os.MkdirAll("/dev", 0o755)
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	f, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		return
	}
	for _, fd := range []int{0, 1, 2} {
		_ = syscall.Dup2(int(f.Fd()), fd)
	}
}

// run owns the memory region: it dirties and verifies it and prints the
// heartbeat, with the disk check's record count (from diskSeq) when the
// guest has a disk.
func run(cfg Config, diskSeq <-chan uint64) {
	boot := time.Now()
	fmt.Printf("GUEST start mem=%d dirty=%d@%v check=%v\n",
		cfg.MemBytes, cfg.DirtyBytes, cfg.DirtyEvery, cfg.CheckEvery)
	r := NewRegion(cfg.MemBytes)
	sum, bad := r.Verify()
	report(sum, bad, r)

	hb := time.NewTicker(cfg.Heartbeat)
	check := time.NewTicker(cfg.CheckEvery)
	var dirty <-chan time.Time
	if cfg.DirtyBytes > 0 {
		t := time.NewTicker(cfg.DirtyEvery)
		dirty = t.C
	}
	// One goroutine owns the region, so dirtying and verifying never
	// race; a tick missed while verifying is simply skipped.
	var seq, disk uint64
	for {
		select {
		case <-hb.C:
			seq++
			d := ""
			if diskSeq != nil {
				d = fmt.Sprintf(" disk=%d", disk)
			}
			fmt.Printf("HB seq=%d uptime=%.1fs sum=%016x gen=%d%s\n",
				seq, time.Since(boot).Seconds(), sum, r.Generations(), d)
		case disk = <-diskSeq:
		case <-check.C:
			sum, bad = r.Verify()
			report(sum, bad, r)
		case <-dirty:
			r.Dirty(cfg.DirtyBytes)
		}
	}
}

func report(sum uint64, bad int, r *Region) {
	if bad < 0 {
		fmt.Printf("CHECK ok sum=%016x pages=%d gen=%d\n", sum, r.Pages(), r.Generations())
		return
	}
	fmt.Printf("CHECK BAD page=%d sum=%016x pages=%d gen=%d\n", bad, sum, r.Pages(), r.Generations())
}

// flusherEnv marks the helper process started by startFlusher.
const flusherEnv = "VSMIG_FLUSHER"

// startFlusher starts a second process that wakes every period. Each wake
// switches the vCPU between two address spaces, and on x86 each switch
// (a CR3 write) flushes QEMU's TCG soft TLB. That works around a QEMU TCG
// bug (fixed upstream in QEMU 9.0, "physmem: Fix migration dirty bitmap
// coherency with TCG memory access"): after a migration's dirty-bitmap
// sync, stores through TLB entries cached before it are not recorded as
// dirty, so the destination gets stale pages. With frequent flushes the
// window in which a store can be lost shrinks to about one period. The
// lab turns it on for its stock-QEMU (7.2) hosts only.
func startFlusher(period time.Duration) {
	if period <= 0 {
		return
	}
	_, err := os.StartProcess("/init", []string{"flusher"}, &os.ProcAttr{
		Env:   []string{flusherEnv + "=" + period.String()},
		Files: []*os.File{nil, os.Stdout, os.Stderr},
	})
	if err != nil {
		fmt.Printf("GUEST flusher: %v\n", err)
	}
}

// flusher is the helper process's whole life.
func flusher(period string) {
	d, err := time.ParseDuration(period)
	if err != nil || d <= 0 {
		d = time.Millisecond
	}
	for {
		time.Sleep(d)
	}
}
