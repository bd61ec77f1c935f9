//go:build lab

package e2e

// TestLabStorage proves issue #11 on the lab: real VMs, with disks and
// NICs, moved live. vsmig-g1 has a local disk (a qcow2 in its host's own
// images directory), vsmig-g2 a shared one (in the directory both hosts
// see), both a NIC on the lab's bridge; each writes checksummed records to
// its disk and answers a UDP echo. Every migration is watched by a probe
// that sends a request every millisecond: the longest time without an
// answer is the downtime a client of the guest sees, printed beside the
// downtime QEMU reports.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vsmig/vsmig/testdata/probe"
)

// hostImage is where a host keeps a file of its namespace's dir
// (/var/lib/libvirt/...), on the machine.
func (l lab) hostImage(host, dir, name string) string {
	return filepath.Join(l.dir, "hosts", host, "lib", strings.TrimPrefix(dir, "/var/lib/libvirt/"), name)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// guestAddr is a lab guest's address on the lab network.
func guestAddr(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(os.Getenv("VSMIG_LAB_GUEST_ADDRS"))
	if err != nil {
		t.Fatalf("guest addresses: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == name {
			return fs[1]
		}
	}
	t.Fatalf("no address of %s in %s", name, f.Name())
	return ""
}

var diskOKRe = regexp.MustCompile(`DISK ok seq=(\d+)`)

// diskSeq is the last disk record count a guest's check found good.
func (l lab) diskSeq(t *testing.T, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.serialDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	m := diskOKRe.FindAllSubmatch(data, -1)
	if len(m) == 0 {
		return -1
	}
	n, _ := strconv.Atoi(string(m[len(m)-1][1]))
	return n
}

// requireDiskAlive waits until the guest's disk check, on the copy it now
// runs from, has passed with more records than after.
func (l lab) requireDiskAlive(t *testing.T, name string, after int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.diskSeq(t, name) <= after {
		if time.Now().After(deadline) {
			t.Fatalf("guest %s: no disk check passed since the migration (records %d before)", name, after)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// moved is one migration through WS-Man, watched by the probe.
type moved struct {
	job, wait map[string]string
	probe     probe.Result
}

// move migrates name with d to dest (step.py migrate's extra args) and
// waits for the job, probing the guest all along; it checks the job's
// figures like every lab scenario and prints the two downtimes.
func (l lab) move(t *testing.T, d *daemon, name, dest string, args ...string) moved {
	t.Helper()
	p, err := probe.Start(guestAddr(t, name)+":7", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	r := step(t, d, append([]string{"migrate", name, dest}, args...)...)
	if r["rc"] != "4096" {
		p.Stop()
		t.Fatalf("migrate %s to %s: %v", name, dest, r)
	}
	w := step(t, d, "wait", r["job"])
	// The guest answers again once it runs on the destination and the
	// bridge has learnt where it is; give the probe a moment past the end.
	time.Sleep(time.Second)
	res := p.Stop()
	t.Logf("%s to %s: job %s in %s, QEMU's downtime %s ms, downtime seen by a client %v (%v)",
		name, dest, w["state"], w["total_time"], w["downtime_ms"], res.LongestGap.Round(time.Millisecond), res)
	if w["state"] == "7" {
		requireConsistentFigures(t, w, d, r["job"])
	}
	return moved{job: r, wait: w, probe: res}
}

// moveIntact moves name like move, and requires the job Completed (with
// the disk's bytes in its figures, or without), the guest running on
// destURI, and its memory and disk checks passing there since before.
func (l lab) moveIntact(t *testing.T, d *daemon, name, dest, destURI string, withDisk bool, args ...string) {
	t.Helper()
	before, off := l.heartbeat(t, name)
	disk := l.diskSeq(t, name)
	m := l.move(t, d, name, dest, args...)
	requireCompleted(t, m, withDisk)
	l.requireRunsOn(t, name, destURI)
	l.requireAlive(t, name, before, off)
	l.requireDiskAlive(t, name, disk)
}

// requireCompleted fails unless m completed with figures that include
// the disk (or not).
func requireCompleted(t *testing.T, m moved, withDisk bool) {
	t.Helper()
	if m.wait["state"] != "7" {
		t.Fatalf("job ended %v", m.wait)
	}
	total, _ := strconv.ParseUint(m.wait["data_total"], 10, 64)
	const memory = 256 << 20
	switch {
	case withDisk && total <= memory:
		t.Errorf("DataTotal %d: no disk bytes in the job's figures (memory alone is %d)", total, memory)
	case !withDisk && total > memory+(16<<20):
		t.Errorf("DataTotal %d: more than the memory; a shared disk must not be copied", total)
	}
	// The guest answered on the network through the destination: the
	// probe's answers continued after the longest gap.
	if m.probe.Answered == 0 || m.probe.LongestGap > 10*time.Second {
		t.Errorf("the guest did not answer through the destination: %v", m.probe)
	}
}

// keepDisks drops -remove-source-storage from a daemon's flags.
func keepDisks(flags []string) []string {
	var out []string
	for _, f := range flags {
		if f != "-remove-source-storage" {
			out = append(out, f)
		}
	}
	return out
}

func virsh(t *testing.T, uri string, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// diskSource is the path of a guest's vda on the host of uri.
func diskSource(t *testing.T, uri, name string) string {
	t.Helper()
	for _, line := range strings.Split(virsh(t, uri, "domblklist", name), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "vda" {
			return f[1]
		}
	}
	t.Fatalf("%s has no vda on %s", name, uri)
	return ""
}

func TestLabStorage(t *testing.T) {
	requirePython(t)
	l := loadLab(t)
	if os.Getenv("VSMIG_LAB_FLAVOUR") == "stock" {
		t.Skip("the stock lab's guests have no disks")
	}
	const local, sharedG = "vsmig-g1", "vsmig-g2"
	images, alt := os.Getenv("VSMIG_LAB_IMAGES"), os.Getenv("VSMIG_LAB_ALT_IMAGES")
	l.requireRunsOn(t, local, l.uriA)
	l.requireRunsOn(t, sharedG, l.uriA)
	// Daemons on vsmig's default: the source's copy of a disk stays
	// unless a request asks for its removal.
	a := startDaemon(t, l.hostA, keepDisks(labFlags(l.uriA, l.hostA))...)
	b := startDaemon(t, l.hostB, keepDisks(labFlags(l.uriB, l.hostB))...)
	img := local + ".qcow2"

	t.Run("local disk moves live A to B and back", func(t *testing.T) {
		c := step(t, a, "check", local, l.hostB)
		if c["migratable"] != "true" || !strings.Contains(c["storage_plan"], "vda: copied to "+images+"/"+img) {
			t.Fatalf("check: %v, want vda copied", c)
		}
		l.moveIntact(t, a, local, l.hostB, l.uriB, true)
		if !exists(l.hostImage("b", images, img)) || !exists(l.hostImage("a", images, img)) {
			t.Fatalf("after the copy: on B %t, on A %t; want the copy on B and the source's file kept",
				exists(l.hostImage("b", images, img)), exists(l.hostImage("a", images, img)))
		}
		// Back: A still has its (now stale) file, which vsmig does not
		// overwrite.
		if c := step(t, b, "check", local, l.hostA); c["migratable"] != "false" || !strings.Contains(c["error"], "already exists") {
			t.Fatalf("check back onto the kept file: %v, want refused (already exists)", c)
		}
		virsh(t, l.uriA, "vol-delete", "--pool", "default", img)
		l.moveIntact(t, b, local, l.hostA, l.uriA, true, "--remove-source")
		if exists(l.hostImage("b", images, img)) {
			t.Errorf("B's copy is still there after a migration that asked to remove it")
		}
	})

	t.Run("disk relocated by NewResourceSettingData", func(t *testing.T) {
		c := step(t, a, "check", local, l.hostB, "--relocate", "vda=vsmig-alt")
		if c["migratable"] != "true" || !strings.Contains(c["storage_plan"], "vda: relocated, copied from "+images+"/"+img+" to "+alt+"/"+img) {
			t.Fatalf("check: %v, want vda relocated", c)
		}
		l.moveIntact(t, a, local, l.hostB, l.uriB, true, "--relocate", "vda=vsmig-alt", "--remove-source")
		if got := diskSource(t, l.uriB, local); got != alt+"/"+img {
			t.Errorf("on B the disk is %s, want %s/%s", got, alt, img)
		}
		if persistent := virsh(t, l.uriB, "dumpxml", "--inactive", local); !strings.Contains(persistent, alt+"/"+img) {
			t.Errorf("B's persistent definition does not use the new path:\n%s", persistent)
		}
		if exists(l.hostImage("a", images, img)) {
			t.Errorf("A's file is still there after a migration that asked to remove it")
		}
		// And back into A's images directory, named as a directory.
		l.moveIntact(t, b, local, l.hostA, l.uriA, true, "--relocate", "vda="+images, "--remove-source")
		if got := diskSource(t, l.uriA, local); got != images+"/"+img {
			t.Errorf("on A the disk is %s, want %s/%s", got, images, img)
		}
	})

	t.Run("shared disk is not copied", func(t *testing.T) {
		c := step(t, a, "check", sharedG, l.hostB)
		if c["migratable"] != "true" || !strings.Contains(c["storage_plan"], "vda: shared, not copied") {
			t.Fatalf("check: %v, want vda shared", c)
		}
		if c := step(t, a, "check", sharedG, l.hostB, "--storage-copy", "always"); c["migratable"] != "false" {
			t.Errorf("check with StorageCopy Always of a shared disk: %v, want refused", c)
		}
		l.moveIntact(t, a, sharedG, l.hostB, l.uriB, false)
		l.moveIntact(t, b, sharedG, l.hostA, l.uriA, false)
	})

	// waitStorageCopy waits until the job reports the disk copy.
	waitStorageCopy := func(t *testing.T, d *daemon, job string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			w := step(t, d, "wait", job, "--states", "4,7,8,9,10", "--timeout", "60")
			if strings.Contains(w["status"], "storage copy") {
				return
			}
			if w["state"] != "4" || time.Now().After(deadline) {
				t.Fatalf("the job never showed its disk copy: %v", w)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// requireImageGone waits for B's partial copy to disappear.
	requireImageGone := func(t *testing.T, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for exists(l.hostImage("b", images, img)) {
			if time.Now().After(deadline) {
				t.Fatalf("B's partial copy %s is still there %v after the migration ended", l.hostImage("b", images, img), within)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	t.Run("cancel during the disk copy", func(t *testing.T) {
		before, off := l.heartbeat(t, local)
		r := step(t, a, "migrate", local, l.hostB, "--bandwidth", "1")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		waitStorageCopy(t, a, r["job"])
		if c := step(t, a, "cancel", r["job"]); c["rc"] != "0" && c["rc"] != "4096" {
			t.Fatalf("cancel: %v", c)
		}
		w := step(t, a, "wait", r["job"])
		if w["state"] != "8" {
			t.Fatalf("job ended %v, want 8 Terminated", w)
		}
		requireConsistentFigures(t, w, a, r["job"])
		l.requireRunsOn(t, local, l.uriA)
		requireImageGone(t, 30*time.Second)
		l.requireAlive(t, local, before, off)
		if !exists(l.hostImage("a", images, img)) {
			t.Fatal("the source's disk is gone")
		}
	})

	t.Run("destination libvirtd killed during the disk copy", func(t *testing.T) {
		before, off := l.heartbeat(t, local)
		r := step(t, a, "migrate", local, l.hostB, "--bandwidth", "1")
		if r["rc"] != "4096" {
			t.Fatalf("migrate: %v", r)
		}
		waitStorageCopy(t, a, r["job"])
		pid, err := os.ReadFile(l.pidB)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
		syscall.Kill(n, syscall.SIGKILL)
		w := step(t, a, "wait", r["job"])
		if w["state"] != "10" {
			t.Fatalf("job ended %v, want 10 Exception", w)
		}
		if st := domstate(l.uriA, local); st != "running" {
			t.Fatalf("guest on A is %q after the destination died", st)
		}
		// B comes back; vsmigd removes the partial copy it made there.
		up := exec.Command("bash", filepath.Join(repoRoot(t), "testdata", "lab", "up.sh"))
		if out, err := up.CombinedOutput(); err != nil {
			t.Fatalf("restarting the lab: %v\n%s", err, out)
		}
		l.requireRunsOn(t, local, l.uriA)
		requireImageGone(t, 90*time.Second)
		l.requireAlive(t, local, before, off)
	})

	t.Run("check refusals: space, network, disk type", func(t *testing.T) {
		// No space: a pool on a 4 MiB filesystem of B's.
		small := "/var/lib/libvirt/small-images"
		bpid, err := os.ReadFile(l.pidB)
		if err != nil {
			t.Fatal(err)
		}
		ns := strings.TrimSpace(string(bpid))
		if out, err := exec.Command("nsenter", "-m", "-t", ns, "sh", "-c",
			"mkdir -p "+small+" && mount -t tmpfs -o size=4m vsmig-small "+small).CombinedOutput(); err != nil {
			t.Fatalf("small filesystem on B: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			exec.Command("virsh", "-c", l.uriB, "pool-destroy", "vsmig-small").Run()
			exec.Command("virsh", "-c", l.uriB, "pool-undefine", "vsmig-small").Run()
			exec.Command("nsenter", "-m", "-t", ns, "umount", small).Run()
		})
		virsh(t, l.uriB, "pool-create-as", "vsmig-small", "dir", "--target", small)
		if c := step(t, a, "check", local, l.hostB, "--relocate", "vda=vsmig-small"); c["migratable"] != "false" || !strings.Contains(c["error"], "no space") {
			t.Errorf("check into a full pool: %v, want refused for space", c)
		}
		if r := step(t, a, "migrate", local, l.hostB, "--relocate", "vda=vsmig-small"); r["rc"] != "6" || !strings.Contains(r["error"], "no space") {
			t.Errorf("migrate into a full pool: %v, want 6 for space", r)
		}

		// No network: B's lab network gone for a moment.
		netXML := virsh(t, l.uriB, "net-dumpxml", "vsmig-lan")
		f := filepath.Join(t.TempDir(), "net.xml")
		os.WriteFile(f, []byte(netXML), 0o644)
		virsh(t, l.uriB, "net-destroy", "vsmig-lan")
		virsh(t, l.uriB, "net-undefine", "vsmig-lan")
		c := step(t, a, "check", local, l.hostB)
		virsh(t, l.uriB, "net-define", f)
		virsh(t, l.uriB, "net-start", "vsmig-lan")
		virsh(t, l.uriB, "net-autostart", "vsmig-lan")
		if c["migratable"] != "false" || !strings.Contains(c["error"], `no libvirt network "vsmig-lan"`) {
			t.Errorf("check without the network on B: %v, want refused", c)
		}

		// A raw block device.
		file := filepath.Join(t.TempDir(), "block.img")
		if out, err := exec.Command("truncate", "-s", "16M", file).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		out, err := exec.Command("losetup", "-f", "--show", file).CombinedOutput()
		if err != nil {
			t.Fatalf("losetup: %v %s", err, out)
		}
		dev := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		script := filepath.Join(repoRoot(t), "testdata", "lab", "guest.sh")
		const blk = "vsmig-block"
		t.Cleanup(func() { exec.Command("bash", script, "remove", blk).Run() })
		add := exec.Command("bash", script, "add", blk, "off", "16M")
		add.Env = append(os.Environ(), "VSMIG_LAB_GUEST_DISK=block:"+dev)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("guest.sh add %s: %v\n%s", blk, err, out)
		}
		if c := step(t, a, "check", blk, l.hostB); c["migratable"] != "false" || !strings.Contains(c["error"], "raw block device "+dev) {
			t.Errorf("check of a guest on a raw block device: %v, want refused", c)
		}
	})
}
