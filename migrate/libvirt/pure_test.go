package libvirt

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	golibvirt "github.com/digitalocean/go-libvirt"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/vsmig/vsmig/migrate"
)

func TestDialerFor(t *testing.T) {
	key := writeSSHKey(t)
	tests := []struct {
		uri     string
		want    string // dialer type
		wantErr string
	}{
		{uri: "qemu:///system", want: "*dialers.Local"},
		{uri: "qemu:///system?socket=/tmp/x.sock", want: "*dialers.Local"},
		{uri: "qemu+unix:///system", want: "*dialers.Local"},
		{uri: "qemu+tcp://127.0.0.2/system", want: "*dialers.Remote"},
		{uri: "qemu+tcp://[fd00::2]:16510/system", want: "*dialers.Remote"},
		{uri: "qemu+tls://host.example/system?pkipath=/etc/pki/x&no_verify=1", want: "*libvirt.tlsDialer"},
		{uri: "qemu://host.example/system", want: "*libvirt.tlsDialer"},
		{uri: "qemu+ssh://root@host.example:2222/system?keyfile=" + key + "&no_verify=1", want: "*libvirt.sshDialer"},
		{uri: "qemu+ssh://host.example/system?keyfile=" + key + "&known_hosts=/nonexistent", wantErr: "known hosts"},
		{uri: "qemu+ssh://host.example/system?keyfile=/nonexistent&no_verify=1", wantErr: "ssh key"},
		{uri: "qemu+ext:///system?command=/bin/x", wantErr: "not supported"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		d, err := dialerFor(u, time.Second)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("dialerFor(%s) err = %v, want %q", tt.uri, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("dialerFor(%s) err = %v", tt.uri, err)
			continue
		}
		if got := fmt.Sprintf("%T", d); got != tt.want {
			t.Errorf("dialerFor(%s) = %s, want %s", tt.uri, got, tt.want)
		}
	}
	d, err := dialerFor(mustParse(t, "qemu+ssh://admin@h.example:2222/system?keyfile="+key+"&no_verify=1&socket=/run/x.sock"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s := d.(*sshDialer); s.addr != "h.example:2222" || s.socket != "/run/x.sock" || s.config.User != "admin" {
		t.Errorf("ssh dialer %+v", s)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// writeSSHKey writes a fresh ed25519 private key in OpenSSH's format.
func writeSSHKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostKeyCallback(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	known, _ := ssh.NewPublicKey(pub)
	pub2, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(pub2)
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(knownhosts.Line([]string{"[h.example]:2222"}, known)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 2222}
	tests := []struct {
		name      string
		acceptNew bool
		host      string
		key       ssh.PublicKey
		ok        bool
	}{
		{"known key", false, "h.example:2222", known, true},
		{"changed key", false, "h.example:2222", other, false},
		{"changed key, accepting new hosts", true, "h.example:2222", other, false},
		{"unknown host", false, "new.example:22", known, false},
		{"unknown host, accepting new hosts", true, "new.example:22", known, true},
	}
	for _, tt := range tests {
		cb, err := hostKeyCallback(file, tt.acceptNew)
		if err != nil {
			t.Fatal(err)
		}
		if err := cb(tt.host, addr, tt.key); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

const domainXML = `<domain type='kvm'>
  <name>web1</name>
  <uuid>3f0e0c8a-5b52-4c1e-9d6e-0a8b1c2d3e4f</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Server</model></cpu>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>`

func TestEditDomainXML(t *testing.T) {
	tests := []struct {
		name string
		edit domainEdit
		want map[string]string // path -> text
	}{
		{"rename", domainEdit{Name: "web2"}, map[string]string{"name": "web2", "memory": "262144", "vcpu": "4"}},
		{"memory", domainEdit{MemoryKiB: 524288}, map[string]string{"name": "web1", "memory": "524288", "currentMemory": "524288"}},
		{"vcpus below current", domainEdit{VCPUs: 1}, map[string]string{"vcpu": "1"}},
		{"all", domainEdit{Name: "x", MemoryKiB: 1024, VCPUs: 8}, map[string]string{"name": "x", "memory": "1024", "vcpu": "8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := editDomainXML(domainXML, tt.edit)
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromString(out); err != nil {
				t.Fatal(err)
			}
			dom := doc.SelectElement("domain")
			for path, want := range tt.want {
				if got := strings.TrimSpace(dom.FindElement(path).Text()); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			if dom.FindElement("uuid").Text() != "3f0e0c8a-5b52-4c1e-9d6e-0a8b1c2d3e4f" {
				t.Error("UUID changed")
			}
			if tt.edit.VCPUs == 1 && dom.FindElement("vcpu").SelectAttr("current") != nil {
				t.Error("current='2' kept above the new vCPU count")
			}
		})
	}
	if _, err := editDomainXML("<notdomain/>", domainEdit{Name: "x"}); err == nil {
		t.Error("non-domain XML accepted")
	}
	if _, err := editDomainXML("<domain", domainEdit{Name: "x"}); err == nil {
		t.Error("broken XML accepted")
	}
}

func TestParseDomainFacts(t *testing.T) {
	f, err := parseDomainFacts(domainXML)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != "kvm" || !strings.Contains(f.CPU, "Skylake-Server") || !strings.HasPrefix(f.CPU, "<cpu") {
		t.Errorf("facts = %+v", f)
	}
}

func TestParseCaps(t *testing.T) {
	c, err := parseCaps(`<capabilities><host><uuid>6D1F6A3E-7C2B-4B8E-9A51-0000000000A1</uuid>
<cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model></cpu></host>
<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>`)
	if err != nil {
		t.Fatal(err)
	}
	want := hostCaps{UUID: "6d1f6a3e-7c2b-4b8e-9a51-0000000000a1", Arch: "x86_64", CPUModel: "Skylake-Client-IBRS", KVM: true}
	if c != want {
		t.Errorf("parseCaps = %+v, want %+v", c, want)
	}
}

func params(kv map[string]any) []golibvirt.TypedParam {
	var out []golibvirt.TypedParam
	for k, v := range kv {
		out = append(out, golibvirt.TypedParam{Field: k, Value: golibvirt.TypedParamValue{I: v}})
	}
	return out
}

func TestJobStats(t *testing.T) {
	running := decodeJobStats(int32(golibvirt.DomainJobUnbounded), params(map[string]any{
		"time_elapsed": uint64(1500), "data_total": uint64(300), "data_processed": uint64(200),
		"data_remaining": uint64(100), "memory_total": uint64(280), "memory_processed": uint64(190),
		"memory_remaining": uint64(90), "memory_iteration": uint64(2), "memory_dirty_rate": uint64(10),
		"memory_page_size": uint64(4096), "memory_bps": uint64(1000), "downtime": uint64(42),
		"operation": int32(5),
	}))
	got := running.progress(0)
	want := migrate.Progress{Elapsed: 1500 * time.Millisecond, DataTotal: 300, DataProcessed: 200, DataRemaining: 100,
		MemoryTotal: 280, MemoryRemaining: 90, Iteration: 2, DirtyRate: 40960, Bandwidth: 1000,
		ExpectedDowntime: 42 * time.Millisecond, Phase: "precopy"}
	if got != want {
		t.Errorf("progress = %+v\nwant %+v", got, want)
	}
	// While the disks are copied, libvirt's data figures count them
	// alone; the memory still to send is added (figures as seen on the
	// lab: 64 MiB disk, memory not started).
	copying := decodeJobStats(int32(golibvirt.DomainJobUnbounded), params(map[string]any{
		"data_total": uint64(64 << 20), "data_processed": uint64(16 << 20), "data_remaining": uint64(48 << 20),
		"disk_total": uint64(64 << 20), "disk_processed": uint64(16 << 20), "disk_remaining": uint64(48 << 20),
	}))
	if got := copying.progress(256 << 20); got.Phase != "storage copy" || got.DataTotal != 320<<20 ||
		got.DataRemaining != 304<<20 || got.DataProcessed != 16<<20 || got.MemoryTotal != 256<<20 {
		t.Errorf("progress while copying disks = %+v", got)
	}
	if running.operation() != golibvirt.DomainJobOperationStrMigrationOut {
		t.Errorf("operation = %d", running.operation())
	}
	phases := []struct {
		typ  golibvirt.DomainJobType
		kv   map[string]any
		want string
	}{
		{golibvirt.DomainJobNone, nil, "setup"},
		{golibvirt.DomainJobUnbounded, map[string]any{"memory_total": uint64(0)}, "setup"},
		{golibvirt.DomainJobUnbounded, map[string]any{"memory_total": uint64(10), "memory_processed": uint64(10), "memory_remaining": uint64(0)}, "stop-and-copy"},
		{golibvirt.DomainJobUnbounded, map[string]any{"memory_total": uint64(10), "memory_postcopy_requests": uint64(3)}, "postcopy"},
		{golibvirt.DomainJobCompleted, nil, "finishing"},
	}
	for _, p := range phases {
		if got := decodeJobStats(int32(p.typ), params(p.kv)).phase(); got != p.want {
			t.Errorf("phase(%d, %v) = %q, want %q", p.typ, p.kv, got, p.want)
		}
	}
	done := decodeJobStats(int32(golibvirt.DomainJobCompleted), params(map[string]any{
		"time_elapsed": uint64(2100), "downtime": uint64(24), "data_processed": uint64(141e6), "memory_iteration": uint64(3),
	}))
	if r := done.result(); r != (migrate.Result{TotalTime: 2100 * time.Millisecond, Downtime: 24 * time.Millisecond,
		DataTransferred: 141e6, Iterations: 3}) {
		t.Errorf("result = %+v", r)
	}
}

func TestMigrateFlags(t *testing.T) {
	base := golibvirt.MigratePeer2peer | golibvirt.MigratePersistDest | golibvirt.MigrateUndefineSource
	tests := []struct {
		plan migrate.Plan
		was  migrate.DomainState
		want golibvirt.DomainMigrateFlags
	}{
		{migrate.Plan{Type: migrate.Live}, migrate.StateRunning, base | golibvirt.MigrateLive},
		{migrate.Plan{Type: migrate.Live, AutoConverge: true, PostCopy: true}, migrate.StateRunning, base | golibvirt.MigrateLive | golibvirt.MigrateAutoConverge | golibvirt.MigratePostcopy},
		{migrate.Plan{Type: migrate.Live, Transport: migrate.TLSStrict}, migrate.StateRunning, base | golibvirt.MigrateLive | golibvirt.MigrateTLS},
		{migrate.Plan{Type: migrate.Resume}, migrate.StateRunning, base},
		{migrate.Plan{Type: migrate.Restart, AutoConverge: true}, migrate.StateRunning, base | golibvirt.MigrateOffline},
		{migrate.Plan{Type: migrate.Restart}, migrate.StateShutoff, base | golibvirt.MigrateOffline},
		// A paused VM stays paused on the destination (migrate.StateAllows).
		{migrate.Plan{Type: migrate.Live}, migrate.StatePaused, base | golibvirt.MigrateLive | golibvirt.MigratePaused},
		{migrate.Plan{Type: migrate.Resume}, migrate.StatePaused, base | golibvirt.MigratePaused},
	}
	for _, tt := range tests {
		if got := migrateFlags(tt.plan, tt.was); got != tt.want {
			t.Errorf("migrateFlags(%+v, %v) = %#x, want %#x", tt.plan, tt.was, got, tt.want)
		}
	}
}

func TestMigrateParams(t *testing.T) {
	get := func(ps []golibvirt.TypedParam) map[string]any {
		m := map[string]any{}
		for _, p := range ps {
			m[p.Field] = p.Value.I
		}
		return m
	}
	live := migrate.Plan{Type: migrate.Live, DestHost: "10.0.0.3", Bandwidth: 100*mib + 1}
	ps, err := migrateParams(live, domainXML, "web1", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := get(ps)
	if m["bandwidth"] != uint64(101) || m["migrate_uri"] != "tcp://10.0.0.3" || len(m) != 2 {
		t.Errorf("live params = %v", m)
	}

	v6 := migrate.Plan{Type: migrate.Live, DestHost: "fd00::3", NewName: "web2", NewMemoryKiB: 524288}
	m = get(must2(migrateParams(v6, domainXML, "web1", nil)))
	if m["migrate_uri"] != "tcp://[fd00::3]" || m["destination_name"] != "web2" {
		t.Errorf("v6 params = %v", m)
	}
	pxml, _ := m["persistent_xml"].(string)
	if !strings.Contains(pxml, "<name>web2</name>") || !strings.Contains(pxml, ">524288<") || m["destination_xml"] != nil {
		t.Errorf("live memory change must go to persistent_xml only: %v", m)
	}

	restart := migrate.Plan{Type: migrate.Restart, DestHost: "h", NewName: "web3", NewVCPUs: 2}
	m = get(must2(migrateParams(restart, domainXML, "web1", nil)))
	dxml, _ := m["destination_xml"].(string)
	if !strings.Contains(dxml, "<name>web3</name>") || m["migrate_uri"] != nil || m["persistent_xml"] != nil {
		t.Errorf("restart params = %v", m)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCheckPlan(t *testing.T) {
	ok := migrate.Plan{VM: "x", Type: migrate.Live, DestURI: "qemu+tcp://h/system"}
	tests := []struct {
		mod  func(*migrate.Plan)
		want migrate.CheckKind
	}{
		{func(p *migrate.Plan) {}, 0},
		{func(p *migrate.Plan) { p.Type = 9 }, migrate.NotSupported},
		{func(p *migrate.Plan) { p.DestURI = "" }, migrate.InvalidParameter},
		{func(p *migrate.Plan) { p.NewVCPUs = -1 }, migrate.InvalidParameter},
		{func(p *migrate.Plan) { p.Type, p.PostCopy = migrate.Restart, true }, migrate.InvalidParameter},
	}
	for i, tt := range tests {
		p := ok
		tt.mod(&p)
		err := checkPlan(p)
		if kindOf(err) != tt.want {
			t.Errorf("%d: checkPlan = %v, want kind %d", i, err, tt.want)
		}
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		src, dst presence
		want     migrate.Location
	}{
		{active, absent, migrate.LocationSource},
		{absent, active, migrate.LocationDestination},
		{active, active, migrate.LocationBoth},
		{defined, active, migrate.LocationDestination},
		{active, defined, migrate.LocationSource},
		{defined, absent, migrate.LocationSource},
		{absent, defined, migrate.LocationDestination},
		{defined, defined, migrate.LocationBoth},
		{absent, absent, migrate.LocationNowhere},
	}
	for _, tt := range tests {
		if got := locate(tt.src, tt.dst); got != tt.want {
			t.Errorf("locate(%d, %d) = %d, want %d", tt.src, tt.dst, got, tt.want)
		}
	}
}
