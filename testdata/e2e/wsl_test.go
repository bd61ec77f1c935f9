//go:build e2e

package e2e

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Debian's wsl (Dell's WS-Management shell client: bash, curl, xmllint) is
// a second real client no one here wrote. Its commands write each answer
// to ./response.xml, so each runs in its own directory; the server
// certificate is pinned by placing it as HOST:PORT.crt there (wsl passes
// it to curl --cacert).

// requireWSL fails (under VSMIG_E2E=1) or skips when wsl is missing.
func requireWSL(t *testing.T) {
	if _, err := exec.LookPath("wslid"); err != nil {
		if os.Getenv("VSMIG_E2E") == "1" {
			t.Fatalf("wsl is not installed: %v (run make deps)", err)
		}
		t.Skip("wsl not installed")
	}
}

// wslClient runs wsl commands against d.
type wslClient struct {
	t   *testing.T
	d   *daemon
	dir string
	env []string
}

func newWSL(t *testing.T, d *daemon) *wslClient {
	u, err := url.Parse(d.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, err := os.ReadFile(filepath.Join(d.stateDir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, u.Host+".crt"), cert, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "WSENDPOINT="+u.Host, "WSUSER="+testUser, "WSPASS="+testPassword, "WSDONTASK=y")
	return &wslClient{t: t, d: d, dir: dir, env: env}
}

// run runs one wsl command and returns its ./response.xml.
func (w *wslClient) run(args ...string) string {
	w.t.Helper()
	os.Remove(filepath.Join(w.dir, "response.xml"))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = w.dir, w.env
	out, err := cmd.CombinedOutput()
	resp, rerr := os.ReadFile(filepath.Join(w.dir, "response.xml"))
	if rerr != nil {
		w.t.Fatalf("%s: no response (%v): %v\n%s", strings.Join(args, " "), err, rerr, out)
	}
	return string(resp)
}

func (w *wslClient) write(name, content string) string {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return name
}

// TestWSLOnSim drives every wsl command against vsmigd on the simulated
// cluster: identify, enumerate, get, invoke (a Check and a Migrate, the
// VM's EPR pasted from an enumeration as wsl does; a job's GetErrors), and
// put; and the scoping profiles' classes. (wsl has no WS-Eventing.)
func TestWSLOnSim(t *testing.T) {
	requireWSL(t)
	d := startDaemon(t, "127.0.0.1", simFlags...)
	w := newWSL(t, d)

	if r := w.run("wslid", "check"); !strings.Contains(r, "<wsmid:ProductVendor>vsmig</wsmid:ProductVendor>") {
		t.Fatalf("wslid: %s", r)
	}

	// Enumerate, optimized, objects with EPRs.
	r := w.run("wslenum", "CIM_ComputerSystem", "-mode", "objepr", "-opti", "100")
	items := regexp.MustCompile(`(?s)<w:Item>(.*?)</w:Item>`).FindAllStringSubmatch(r, -1)
	var webEPR, webUUID string
	for _, it := range items {
		if strings.Contains(it[1], "<p:ElementName>web-01</p:ElementName>") {
			webEPR = regexp.MustCompile(`(?s)<a:EndpointReference>.*?</a:EndpointReference>`).FindString(it[1])
			webUUID = regexp.MustCompile(`<w:Selector Name="Name">([^<]+)<`).FindStringSubmatch(it[1])[1]
		}
	}
	if len(items) < 2 || webEPR == "" {
		t.Fatalf("wslenum: %d items, web-01 EPR %q\n%s", len(items), webEPR, r)
	}
	// Plain enumeration: Enumerate, then Pull while the context is non-empty.
	if r := w.run("wslenum", "CIM_VirtualSystemMigrationService"); !strings.Contains(r, "MigrationService") {
		t.Fatalf("wslenum (pull loop): %s", r)
	}

	if r := w.run("wslget", "CIM_ComputerSystem", "CreationClassName=CIM_ComputerSystem", "Name="+webUUID); !strings.Contains(r, "<p:ElementName>web-01</p:ElementName>") {
		t.Fatalf("wslget: %s", r)
	}

	// Invoke: wsl pastes the lines inside the EPR's EndpointReference into
	// an envelope that declares only the wsa: and wsman: prefixes; the
	// service's SelectorSet is copied from its EPR the same way.
	vm := w.write("web.xml", webEPR+"\n")
	r = w.run("wslinvoke", "CIM_VirtualSystemMigrationService", "CheckVirtualSystemIsMigratableToHost", "ComputerSystem=FILE:"+vm, "DestinationHost=host-b")
	if !strings.Contains(r, "<p:ReturnValue>0</p:ReturnValue>") || !strings.Contains(r, "<p:IsMigratable>true</p:IsMigratable>") {
		t.Fatalf("wslinvoke Check: %s", r)
	}
	r = w.run("wslinvoke", "CIM_VirtualSystemMigrationService", "MigrateVirtualSystemToHost", "ComputerSystem=FILE:"+vm, "DestinationHost=host-b")
	if !strings.Contains(r, "<p:ReturnValue>4096</p:ReturnValue>") {
		t.Fatalf("wslinvoke Migrate: %s", r)
	}
	job := regexp.MustCompile(`<w:Selector Name="InstanceID">([^<]+)<`).FindStringSubmatch(r)
	if job == nil {
		t.Fatalf("no job in %s", r)
	}
	// A REF whose selectors are not the class's keys is an invalid
	// parameter (4), not a question answered.
	bad := w.write("bad.xml", strings.Replace(webEPR, `<w:Selector Name="CreationClassName">`, `<w:Selector Name="Wrong">x</w:Selector><w:Selector Name="CreationClassName">`, 1)+"\n")
	if r := w.run("wslinvoke", "CIM_VirtualSystemMigrationService", "CheckVirtualSystemIsMigratableToHost", "ComputerSystem=FILE:"+bad, "DestinationHost=host-b"); !strings.Contains(r, "<p:ReturnValue>4</p:ReturnValue>") {
		t.Fatalf("wslinvoke with an unknown selector: %s", r)
	}

	// Put: wslput reads the instance back from an EnumerateObjectAndEPR
	// answer by a start-tag line ending in ":Class>". vsmigd, like Windows,
	// declares each instance's namespace on the instance element
	// (<p:VSMIG_MigrationJob xmlns:p="...">), so wslput finds no instance
	// and sends an empty Put: the answer is the fault for it, and the job
	// is unchanged. (wslput works with servers that declare the class
	// namespace on the Envelope, as Dell's iDRAC does.) With curl's retry
	// of an HTTP 500 the fault must still be the real one, not a
	// duplicate-MessageID refusal.
	r = w.run("wslput", "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/VSMIG_MigrationJob", "DeleteOnCompletion=false")
	if !strings.Contains(r, "w:SchemaValidationError") || strings.Contains(r, "DuplicateMessageID") {
		t.Fatalf("wslput: %s", r)
	}
	if r := w.run("wslget", "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/VSMIG_MigrationJob", "InstanceID="+job[1]); !strings.Contains(r, "<p:DeleteOnCompletion>true</p:DeleteOnCompletion>") {
		t.Fatalf("job after wslput: %s", r)
	}

	// Issue #13. GetErrors (DSP1103) on the one job: wslinvoke finds it
	// by enumerating the class.
	if r := w.run("wslinvoke", "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/VSMIG_MigrationJob", "GetErrors"); !strings.Contains(r, "<p:ReturnValue>0</p:ReturnValue>") {
		t.Fatalf("wslinvoke GetErrors: %s", r)
	}
	// The scoping profiles: DSP1042 and DSP1057 registered in
	// root/interop, a CIM_VirtualSystemSettingData per virtual system and
	// its CIM_ElementSettingData.
	r = w.run("wslenum", "CIM_RegisteredProfile", "-ns", "root/interop", "-opti", "100")
	for _, name := range []string{"System Virtualization", "Virtual System", "Virtual System Migration"} {
		if !strings.Contains(r, "<p:RegisteredName>"+name+"</p:RegisteredName>") {
			t.Fatalf("wslenum CIM_RegisteredProfile lacks %s: %s", name, r)
		}
	}
	r = w.run("wslenum", "CIM_VirtualSystemSettingData", "-opti", "100")
	if !strings.Contains(r, "<p:ElementName>dns-01</p:ElementName>") || !strings.Contains(r, "<p:VirtualSystemType>vsmig:simulated</p:VirtualSystemType>") {
		t.Fatalf("wslenum CIM_VirtualSystemSettingData: %s", r)
	}
	vssd := regexp.MustCompile(`<p:InstanceID>(vsmig:VirtualSystem:[^<]+)</p:InstanceID>`).FindStringSubmatch(r)
	if vssd == nil {
		t.Fatalf("no VSSD InstanceID in %s", r)
	}
	if r := w.run("wslget", "CIM_VirtualSystemSettingData", "InstanceID="+vssd[1]); !strings.Contains(r, "<p:VirtualSystemIdentifier>") {
		t.Fatalf("wslget CIM_VirtualSystemSettingData: %s", r)
	}
	if r := w.run("wslenum", "CIM_ElementSettingData", "-opti", "100"); !strings.Contains(r, "<p:IsCurrent>") {
		t.Fatalf("wslenum CIM_ElementSettingData: %s", r)
	}
}
