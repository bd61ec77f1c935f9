package libvirt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

const (
	images = "/var/lib/libvirt/images"
	alt    = "/var/lib/libvirt/alt-images"
	shared = "/srv/shared"
)

// diskXML is a domain with the given devices (disk and interface elements).
func diskXML(devices string) string {
	return fmt.Sprintf("<domain type='qemu'><name>web1</name><uuid>%s</uuid><memory unit='KiB'>262144</memory>"+
		"<vcpu>1</vcpu><devices>%s</devices></domain>", vmID, devices)
}

func fileDisk(target, path, cache string) string {
	return fmt.Sprintf("<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='%s'/>"+
		"<source file='%s'/><target dev='%s' bus='virtio'/></disk>", cache, path, target)
}

// storagePair is fakePair with the lab's storage: on each host a local
// images pool and a second local pool, and a shared directory mounted on
// both, each a pool; the VM has the given devices.
func storagePair(t *testing.T, devices string) (*Driver, *fakeHost, *fakeHost) {
	t.Helper()
	d, src, dst, dom := fakePair(t)
	src.doms[dom.UUID].xml = diskXML(devices)
	fs := newFakeFS()
	for _, h := range []*fakeHost{src, dst} {
		h.addPool("default", images, 1<<30)
		h.addPool("vsmig-alt", alt, 1<<30)
		h.addPool("vsmig-shared", shared, 1<<30)
		h.st().mounts[shared] = fs
		h.st().networks["lan"] = true
	}
	return d, src, dst
}

func TestCheckDisks(t *testing.T) {
	local := images + "/web1.qcow2"
	tests := []struct {
		name    string
		devices string
		setup   func(src, dst *fakeHost)
		plan    func(p *migrate.Plan)
		want    []string // DiskPlan.String() of each disk
		kind    migrate.CheckKind
		in      string
	}{
		{name: "no disk", want: nil},
		{name: "local disk: copied", devices: fileDisk("vda", local, "none"),
			want: []string{"vda: copied to " + local + " on the destination (10.0 MiB)"}},
		{name: "shared disk: stays", devices: fileDisk("vda", shared+"/web1.qcow2", "none"),
			want: []string{"vda: shared, not copied (" + shared + "/web1.qcow2)"}},
		{name: "both", devices: fileDisk("vda", local, "none") + fileDisk("vdb", shared+"/data.qcow2", "directsync"),
			want: []string{"vda: copied to " + local + " on the destination (10.0 MiB)", "vdb: shared, not copied (" + shared + "/data.qcow2)"}},
		{name: "relocated to a pool", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{To: "vsmig-alt"}} },
			want: []string{"vda: relocated, copied from " + local + " to " + alt + "/web1.qcow2 (10.0 MiB)"}},
		{name: "relocated to a directory, by name", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{Disk: "vda", To: alt}} },
			want: []string{"vda: relocated, copied from " + local + " to " + alt + "/web1.qcow2 (10.0 MiB)"}},
		{name: "relocated to a file", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{To: alt + "/new.qcow2"}} },
			want: []string{"vda: relocated, copied from " + local + " to " + alt + "/new.qcow2 (10.0 MiB)"}},
		{name: "a shared disk relocated is copied", devices: fileDisk("vda", shared+"/web1.qcow2", "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{To: "vsmig-alt"}} },
			want: []string{"vda: relocated, copied from " + shared + "/web1.qcow2 to " + alt + "/web1.qcow2 (10.0 MiB)"}},
		{name: "cdrom and empty drives stay out", devices: fileDisk("vda", local, "none") +
			"<disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda'/></disk>" +
			"<disk type='file' device='disk'><target dev='vdc'/></disk>",
			want: []string{"vda: copied to " + local + " on the destination (10.0 MiB)"}},
		{name: "network disk: shared", devices: "<disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vda'/></disk>",
			want: []string{"vda: shared, not copied (rbd:pool/img)"}},

		{name: "copy forbidden", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Copy = migrate.CopyNever }, kind: migrate.Incompatible, in: "StorageCopy is Never"},
		{name: "copy of a shared disk onto itself", devices: fileDisk("vda", shared+"/web1.qcow2", "none"),
			plan: func(p *migrate.Plan) { p.Storage.Copy = migrate.CopyAlways }, kind: migrate.Incompatible, in: "destroyed"},
		{name: "shared with a caching mode", devices: fileDisk("vda", shared+"/web1.qcow2", "writeback"),
			kind: migrate.Incompatible, in: `cache mode "writeback"`},
		{name: "no space", devices: fileDisk("vda", local, "none"),
			setup: func(_, dst *fakeHost) { dst.st().pools["default"].avail = 1 << 20 }, kind: migrate.Incompatible, in: "no space"},
		{name: "no pool on the destination", devices: fileDisk("vda", local, "none"),
			setup: func(_, dst *fakeHost) { delete(dst.st().pools, "default") }, kind: migrate.Incompatible, in: "no storage pool"},
		{name: "pool inactive", devices: fileDisk("vda", local, "none"),
			setup: func(_, dst *fakeHost) { dst.st().pools["default"].active = false }, kind: migrate.Incompatible, in: "not active"},
		{name: "not writable", devices: fileDisk("vda", local, "none"),
			setup: func(_, dst *fakeHost) {
				dst.st().refuseCreate = golibvirt.Error{Code: uint32(golibvirt.ErrInternalError), Message: "Permission denied"}
			}, kind: migrate.Incompatible, in: "not writable"},
		{name: "file already there", devices: fileDisk("vda", local, "none"),
			setup: func(_, dst *fakeHost) { dst.addFile(local, 5) }, kind: migrate.Incompatible, in: "already exists"},
		{name: "raw block device", devices: "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vda'/></disk>",
			kind: migrate.Incompatible, in: "raw block device /dev/sdb"},
		{name: "restart cannot copy", devices: fileDisk("vda", local, "none"),
			setup: func(src, _ *fakeHost) { src.doms[golibvirt.UUID(mustUUID(vmID))].state = golibvirt.DomainShutoff },
			plan:  func(p *migrate.Plan) { p.Type = migrate.Restart }, kind: migrate.Incompatible, in: "restart migration cannot copy"},
		{name: "relocation of a disk it does not have", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{Disk: "vdz", To: alt}} },
			kind: migrate.InvalidParameter, in: `no disk "vdz"`},
		{name: "unnamed relocation of one of two disks", devices: fileDisk("vda", local, "none") + fileDisk("vdb", images+"/b.qcow2", "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{To: alt}} },
			kind: migrate.InvalidParameter, in: "name it"},
		{name: "relocation to an unknown pool", devices: fileDisk("vda", local, "none"),
			plan: func(p *migrate.Plan) { p.Storage.Relocate = []migrate.DiskRelocation{{To: "nowhere"}} },
			kind: migrate.Incompatible, in: `no storage pool "nowhere"`},
		{name: "missing network", devices: "<interface type='network'><source network='other'/><mac address='52:54:00:00:00:01'/></interface>",
			kind: migrate.Incompatible, in: `no libvirt network "other"`},
		{name: "inactive network", devices: "<interface type='network'><source network='lan'/></interface>",
			setup: func(_, dst *fakeHost) { dst.st().networks["lan"] = false }, kind: migrate.Incompatible, in: "not active"},
		{name: "missing bridge", devices: "<interface type='bridge'><source bridge='br9'/></interface>",
			kind: migrate.Incompatible, in: `no bridge "br9"`},
		{name: "bridge present", devices: "<interface type='bridge'><source bridge='br0'/></interface>",
			setup: func(_, dst *fakeHost) { dst.st().bridges["br0"] = true }},
		{name: "bridge: no interface driver to ask", devices: "<interface type='bridge'><source bridge='br9'/></interface>",
			setup: func(_, dst *fakeHost) { dst.st().noInterfaceDriver = true }},
		{name: "the running guest's network NIC", devices: "<interface type='bridge'><source network='other' bridge='br0'/></interface>",
			setup: func(_, dst *fakeHost) { dst.st().bridges["br0"] = true }, kind: migrate.Incompatible, in: `no libvirt network "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, src, dst := storagePair(t, tt.devices)
			for _, p := range []string{local, images + "/b.qcow2", shared + "/web1.qcow2", shared + "/data.qcow2"} {
				src.addFile(p, 10<<20)
			}
			if tt.setup != nil {
				tt.setup(src, dst)
			}
			p := livePlan()
			if tt.plan != nil {
				tt.plan(&p)
			}
			a, err := checkDisksAsEngine(context.Background(), d, p)
			if kindOf(err) != tt.kind || tt.kind == 0 && err != nil {
				t.Fatalf("Check = %v, want kind %d", err, tt.kind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("Check = %v, want it to mention %q", err, tt.in)
			}
			var got []string
			for _, dp := range a.Disks {
				got = append(got, dp.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("disks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// The probe leaves nothing behind, on either host.
			for _, h := range []*fakeHost{src, dst} {
				for _, fs := range []*fakeFS{h.st().local, h.st().mounts[shared]} {
					for f := range fs.files {
						if isMarker(f[strings.LastIndex(f, "/")+1:]) {
							t.Errorf("a probe's marker is left at %s", f)
						}
					}
				}
			}
		})
	}
}

// A started migration with a local disk makes the destination's image
// first, asks libvirt to copy the disk, and removes the image when the
// migration fails; with RemoveSource, a completed one removes the
// source's file.
func TestStartCopiesDisks(t *testing.T) {
	local := images + "/web1.qcow2"
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%t", fail), func(t *testing.T) {
			d, src, dst := storagePair(t, fileDisk("vda", local, "none"))
			src.addFile(local, 10<<20)
			var gotFlags golibvirt.DomainMigrateFlags
			var gotDisks []string
			src.perform = func(dom golibvirt.Domain, uri string, params []golibvirt.TypedParam, flags golibvirt.DomainMigrateFlags) error {
				gotFlags = flags
				for _, p := range params {
					if p.Field == golibvirt.MigrateParamMigrateDisks {
						gotDisks = append(gotDisks, p.Value.I.(string))
					}
				}
				if !dst.hasFile(local) {
					return errors.New("the destination's image was not made before the migration")
				}
				if fail {
					return golibvirt.Error{Code: uint32(golibvirt.ErrOperationFailed), Message: "NBD mirror failed"}
				}
				src.mu.Lock()
				delete(src.doms, dom.UUID)
				src.mu.Unlock()
				return nil
			}
			p := livePlan()
			p.Storage.RemoveSource = true
			m, err := d.Start(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			<-m.Done()
			_, err = m.Result()
			if fail != (err != nil) {
				t.Fatalf("Result = %v", err)
			}
			if gotFlags&golibvirt.MigrateNonSharedDisk == 0 || strings.Join(gotDisks, ",") != "vda" {
				t.Errorf("flags %v, migrate_disks %v; want NON_SHARED_DISK and vda", gotFlags, gotDisks)
			}
			deadline := time.Now().Add(5 * time.Second)
			for fail && dst.hasFile(local) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if fail == dst.hasFile(local) {
				t.Errorf("destination image present: %t after fail=%t", dst.hasFile(local), fail)
			}
			if fail != src.hasFile(local) {
				t.Errorf("source file present: %t after fail=%t (RemoveSource asked)", src.hasFile(local), fail)
			}
		})
	}
}

// Zero blocks of a copied disk go as zeroes, not data, where both hosts'
// libvirt can say so (10.9.0 on); an older libvirt at either end would
// refuse the parameter.
func TestStartDetectsZeroes(t *testing.T) {
	local := images + "/web1.qcow2"
	for _, tc := range []struct {
		src, dst uint64
		want     string
	}{
		{11003000, 11003000, "vda"},
		{10009000, 10009000, "vda"},
		{9000000, 11003000, ""},
		{11003000, 9000000, ""},
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.src, tc.dst), func(t *testing.T) {
			d, src, dst := storagePair(t, fileDisk("vda", local, "none"))
			src.addFile(local, 10<<20)
			src.libVersion, dst.libVersion = tc.src, tc.dst
			var got []string
			src.perform = func(dom golibvirt.Domain, _ string, params []golibvirt.TypedParam, _ golibvirt.DomainMigrateFlags) error {
				for _, p := range params {
					if p.Field == golibvirt.MigrateParamMigrateDisksDetectZeroes {
						got = append(got, p.Value.I.(string))
					}
				}
				src.mu.Lock()
				delete(src.doms, dom.UUID)
				src.mu.Unlock()
				return nil
			}
			m, err := d.Start(context.Background(), livePlan())
			if err != nil {
				t.Fatal(err)
			}
			<-m.Done()
			if _, err := m.Result(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("migrate_disks_detect_zeroes = %q, want %q", got, tc.want)
			}
		})
	}
}

// A migration whose handle fails while the destination has the VM (the
// daemon lost its connection; libvirt goes on with a peer-to-peer
// migration) leaves the destination's image: the VM runs from it.
func TestFailedHandleKeepsTheVMsImage(t *testing.T) {
	local := images + "/web1.qcow2"
	d, src, dst := storagePair(t, fileDisk("vda", local, "none"))
	src.addFile(local, 10<<20)
	src.perform = func(golibvirt.Domain, string, []golibvirt.TypedParam, golibvirt.DomainMigrateFlags) error {
		dst.addDomain(vmID, "web1", golibvirt.DomainRunning) // it arrived
		return golibvirt.Error{Code: uint32(golibvirt.ErrOperationFailed), Message: "the reply was lost"}
	}
	m, err := d.Start(context.Background(), livePlan())
	if err != nil {
		t.Fatal(err)
	}
	dst.mu.Lock()
	before := dst.uuidLookups // the Check's and the start's
	dst.mu.Unlock()
	<-m.Done()
	if _, err := m.Result(); err == nil {
		t.Fatal("Result = nil, want the handle's error")
	}
	// The removal runs in the background: once it has looked for the VM
	// on the destination, it has decided.
	for {
		dst.mu.Lock()
		asked := dst.uuidLookups > before
		dst.mu.Unlock()
		if asked {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // past the lookup, to the decision
	if !dst.hasFile(local) {
		t.Error("the destination's image was removed while the VM is there")
	}
}

// TestRemoveImagesOnceWaitsForTheDestinationsVM: the images made for a
// migration that did not complete go only once the destination holds no
// VM of it. A VM there that runs, or is defined, made it: its images stay
// for good. An incoming VM neither running nor defined (libvirt kills an
// unfinished one a moment after a libvirtd restart lists it again) leaves
// them to try again.
func TestRemoveImagesOnceWaitsForTheDestinationsVM(t *testing.T) {
	const img = "/var/lib/libvirt/images/web1.qcow2"
	for _, tt := range []struct {
		name       string
		state      golibvirt.DomainState // 0: no VM on the destination
		transient  bool
		left, held bool
		removed    bool
	}{
		{name: "no VM there: removed", removed: true},
		{name: "incoming VM, paused and transient: tried again", state: golibvirt.DomainPaused, transient: true, left: true, held: true},
		{name: "running there: stays", state: golibvirt.DomainRunning, transient: true, held: true},
		{name: "paused and defined there: stays", state: golibvirt.DomainPaused, held: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _, dst, dom := fakePair(t)
			dst.addPool("default", "/var/lib/libvirt/images", 1<<30)
			dst.addFile(img, 1<<20)
			if tt.state != 0 {
				dst.addDomain(vmID, dom.Name, tt.state)
				dst.mu.Lock()
				dst.doms[dom.UUID].transient = tt.transient
				dst.mu.Unlock()
			}
			left, held := d.removeImagesOnce(context.Background(), livePlan(), []string{img})
			if (len(left) > 0) != tt.left || held != tt.held {
				t.Errorf("left %v, held %t; want left %t, held %t", left, held, tt.left, tt.held)
			}
			if dst.hasFile(img) == tt.removed {
				t.Errorf("image there: %t, want %t", dst.hasFile(img), !tt.removed)
			}
		})
	}
}
