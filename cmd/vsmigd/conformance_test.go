package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// Issue #13's conformance defects, checked through the daemon's own stack
// (newStack: the real providers, Broker and WS-Man binding) on the
// simulated demo cluster.

// testStack is the daemon's stack on a fresh demo cluster; tune adjusts
// the engine's configuration.
func testStack(t *testing.T, tune func(*migrate.Config)) *stack {
	t.Helper()
	st, _ := testStackOn(t, sim.DemoCluster(), tune)
	return st
}

// testStackOn is testStack on cluster c (its host-a), returned with it.
func testStackOn(t *testing.T, c *sim.Cluster, tune func(*migrate.Config)) (*stack, *sim.Cluster) {
	t.Helper()
	return testStackWith(t, c, nil, tune)
}

// testStackWith is testStackOn with the daemon's settings changed by mod.
func testStackWith(t *testing.T, c *sim.Cluster, mod func(*Config), tune func(*migrate.Config)) (*stack, *sim.Cluster) {
	t.Helper()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.StateDir, cfg.UsersFile, cfg.HTTPSAddr = dir, filepath.Join(dir, "users"), "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	os.WriteFile(cfg.UsersFile, nil, 0o600)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	engCfg := engineConfig(cfg, logger)
	if tune != nil {
		tune(&engCfg)
	}
	st, err := newStack(t.Context(), cfg, c.Host(demoHost), demoHost, engCfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st.eng.Shutdown(ctx)
		st.Close()
	})
	return st, c
}

// serve sends one request through st and returns the parsed answer.
func serve(t *testing.T, st *stack, action, uri string, sel map[string]string, body string) (*etree.Element, int) {
	t.Helper()
	resp, status := st.svc.ServeSOAP(t.Context(), wsman.Caller{User: "admin", RemoteAddr: "192.0.2.1:40000"},
		wsmantest.NewRequest(action, uri, sel, body))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(resp); err != nil {
		t.Fatalf("%v\n%s", err, resp)
	}
	return doc.Root(), status
}

var (
	svcURI = wscim.CIMSchemaURI + "CIM_VirtualSystemMigrationService"
	svcSel = map[string]string{"CreationClassName": "CIM_VirtualSystemMigrationService", "Name": "MigrationService",
		"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": demoHost}
)

// vmParam is a REF parameter naming a CIM_ComputerSystem by selectors.
func vmParam(name string, selectors ...[2]string) string {
	var b strings.Builder
	b.WriteString(`<p:` + name + `><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>` +
		`<a:ReferenceParameters><w:ResourceURI>` + wscim.CIMSchemaURI + `CIM_ComputerSystem</w:ResourceURI><w:SelectorSet>`)
	for _, s := range selectors {
		b.WriteString(`<w:Selector Name="` + s[0] + `">` + s[1] + `</w:Selector>`)
	}
	b.WriteString(`</w:SelectorSet></a:ReferenceParameters></p:` + name + `>`)
	return b.String()
}

// TestREFParametersCheckedOnTheWire: a ComputerSystem or DestinationSystem
// REF with a missing key or an unknown selector gets the methods' Invalid
// Parameter, 4, from every one of the four methods (the issue's
// {Name: <uuid>, Wrong: x} was answered 0 / true by the Check methods).
func TestREFParametersCheckedOnTheWire(t *testing.T) {
	st := testStack(t, nil)
	vm := sim.VMUUID("web-01")
	good := vmParam("ComputerSystem", [2]string{"CreationClassName", "CIM_ComputerSystem"}, [2]string{"Name", vm})
	dest := vmParam("DestinationSystem", [2]string{"CreationClassName", "CIM_ComputerSystem"}, [2]string{"Name", "host-b"})
	bad := map[string]string{
		"unknown selector": vmParam("ComputerSystem", [2]string{"Name", vm}, [2]string{"Wrong", "x"}),
		"missing key":      vmParam("ComputerSystem", [2]string{"Name", vm}),
		"wrong class":      vmParam("ComputerSystem", [2]string{"CreationClassName", "CIM_VirtualSystemMigrationService"}, [2]string{"Name", vm}),
	}
	badDest := vmParam("DestinationSystem", [2]string{"Name", "host-b"}, [2]string{"Wrong", "x"})
	for _, method := range []string{"CheckVirtualSystemIsMigratableToHost", "MigrateVirtualSystemToHost",
		"CheckVirtualSystemIsMigratableToSystem", "MigrateVirtualSystemToSystem"} {
		toSystem := strings.HasSuffix(method, "ToSystem")
		destParam := `<p:DestinationHost>host-b</p:DestinationHost>`
		if toSystem {
			destParam = dest
		}
		cases := map[string]string{}
		for name, cs := range bad {
			cases[name] = cs + destParam
		}
		if toSystem {
			cases["destination with an unknown selector"] = good + badDest
		}
		for name, params := range cases {
			t.Run(method+"/"+name, func(t *testing.T) {
				body := `<p:` + method + `_INPUT xmlns:p="` + svcURI + `">` + params + `</p:` + method + `_INPUT>`
				root, status := serve(t, st, svcURI+"/"+method, svcURI, svcSel, body)
				rv := root.FindElement("//ReturnValue")
				if status != 200 || rv == nil || rv.Text() != "4" {
					var b strings.Builder
					root.WriteTo(&b, &etree.WriteSettings{})
					t.Fatalf("HTTP %d, want ReturnValue 4:\n%s", status, b.String())
				}
				if im := root.FindElement("//IsMigratable"); im != nil {
					t.Errorf("IsMigratable %q given with return code 4", im.Text())
				}
			})
		}
	}
	// The same parameters, well formed, are answered.
	body := `<p:CheckVirtualSystemIsMigratableToHost_INPUT xmlns:p="` + svcURI + `">` + good +
		`<p:DestinationHost>host-b</p:DestinationHost></p:CheckVirtualSystemIsMigratableToHost_INPUT>`
	root, _ := serve(t, st, svcURI+"/CheckVirtualSystemIsMigratableToHost", svcURI, svcSel, body)
	if rv, im := root.FindElement("//ReturnValue"), root.FindElement("//IsMigratable"); rv == nil || rv.Text() != "0" || im == nil || im.Text() != "true" {
		t.Fatalf("well-formed Check: %v %v", rv, im)
	}
}

// checkWireGolden compares an answer with testdata/NAME.golden.xml (go
// test -update rewrites it) after masking what changes from run to run:
// MessageID and RelatesTo, and the strings of mask (job IDs) by their
// names.
func checkWireGolden(t *testing.T, name string, root *etree.Element, mask map[string]string) {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(root.Copy())
	for _, tag := range []string{"MessageID", "RelatesTo"} {
		for _, e := range doc.FindElements("//" + tag) {
			e.SetText("(volatile)")
		}
	}
	doc.Indent(1)
	var got bytes.Buffer
	doc.WriteTo(&got)
	out := got.Bytes()
	for from, to := range mask {
		out = bytes.ReplaceAll(out, []byte(from), []byte(to))
	}
	file := filepath.Join("testdata", name+".golden.xml")
	if *update {
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("answer differs from %s:\n--- got\n%s\n--- want\n%s", file, out, want)
	}
}

var jobIDPattern = regexp.MustCompile(`vsmig:[0-9a-f-]{36}`)

// migrateOnWire starts a migration of vm to host-b with params (extra IN
// parameters) and returns the job's InstanceID.
func migrateOnWire(t *testing.T, st *stack, vm, params string) string {
	t.Helper()
	body := `<p:MigrateVirtualSystemToHost_INPUT xmlns:p="` + svcURI + `">` +
		vmParam("ComputerSystem", [2]string{"CreationClassName", "CIM_ComputerSystem"}, [2]string{"Name", sim.VMUUID(vm)}) +
		`<p:DestinationHost>host-b</p:DestinationHost>` + params + `</p:MigrateVirtualSystemToHost_INPUT>`
	root, status := serve(t, st, svcURI+"/MigrateVirtualSystemToHost", svcURI, svcSel, body)
	rv := root.FindElement("//ReturnValue")
	if status != 200 || rv == nil || rv.Text() != "4096" {
		t.Fatalf("Migrate: HTTP %d %v", status, rv)
	}
	id := ""
	for _, s := range root.FindElements("//Selector") {
		if s.SelectAttrValue("Name", "") == "InstanceID" {
			id = s.Text()
		}
	}
	if !jobIDPattern.MatchString(id) {
		t.Fatalf("job ID %q", id)
	}
	return id
}

// slowly is the MigrationSettingData of a migration capped at 1 MiB/s:
// minutes of the demo's time.
const slowly = `<p:MigrationSettingData><![CDATA[<INSTANCE CLASSNAME="CIM_VirtualSystemMigrationSettingData">` +
	`<PROPERTY NAME="Bandwidth" TYPE="uint16"><VALUE>1</VALUE></PROPERTY></INSTANCE>]]></p:MigrationSettingData>`

var jobURI = wscim.VendorSchemaURI + "VSMIG_MigrationJob"

// waitJobState polls the job until its JobState is want.
func waitJobState(t *testing.T, st *stack, id, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		root, _ := serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", jobURI,
			map[string]string{"InstanceID": id}, "")
		if js := root.FindElement("//JobState"); js != nil && js.Text() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached JobState %s", id, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJobDefectsOnTheWire: the Delete of a running job is refused with a
// fault the client can act on (wsman:Concurrency, the reason saying to
// terminate it first; it was a bare wsman:InternalError), and GetErrors,
// declared by the schema, is served (it was wsa:ActionNotSupported).
func TestJobDefectsOnTheWire(t *testing.T) {
	st, c := testStackOn(t, sim.DemoCluster(), nil)
	id := migrateOnWire(t, st, "db-01", slowly)
	waitJobState(t, st, id, "4")
	root, status := serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", jobURI,
		map[string]string{"InstanceID": id}, "")
	if status != 500 {
		t.Fatalf("Delete of a running job: HTTP %d", status)
	}
	checkWireGolden(t, "fault_delete_running_job", root, map[string]string{id: "vsmig:(job)"})

	c.Inject(sim.Fault{Kind: sim.Refuse, Dest: "host-b", Reason: "the destination refused the migration"})
	failed := migrateOnWire(t, st, "web-01", "")
	waitJobState(t, st, failed, "10")
	root, status = serve(t, st, jobURI+"/GetErrors", jobURI, map[string]string{"InstanceID": failed},
		`<p:GetErrors_INPUT xmlns:p="`+jobURI+`"/>`)
	if status != 200 {
		t.Fatalf("GetErrors: HTTP %d", status)
	}
	checkWireGolden(t, "invoke_get_errors", root, map[string]string{failed: "vsmig:(job)"})
	// A job without an error answers 0 and a NULL Errors.
	root, _ = serve(t, st, jobURI+"/GetErrors", jobURI, map[string]string{"InstanceID": id},
		`<p:GetErrors_INPUT xmlns:p="`+jobURI+`"/>`)
	if e := root.FindElement("//Errors"); e == nil || e.SelectAttrValue("xsi:nil", "") != "true" {
		t.Errorf("GetErrors of a running job: %v", e)
	}
}

const (
	actionSubscribe = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe"
	actionPull      = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
	actionRelease   = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"
	allClassesURI   = "http://schemas.dmtf.org/wbem/wscim/1/*"
)

// subscribePull subscribes to the indications a WQL query selects, in
// Pull mode, and returns the subscription's enumeration context.
func subscribePull(t *testing.T, st *stack, wql string) string {
	t.Helper()
	body := `<e:Subscribe xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing">` +
		`<e:Delivery Mode="http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"/><e:Expires>PT10M</e:Expires>` +
		`<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">` + wql + `</w:Filter></e:Subscribe>`
	root, status := serve(t, st, actionSubscribe, allClassesURI, nil, body)
	ctx := root.FindElement("//EnumerationContext")
	if status != 200 || ctx == nil {
		var b strings.Builder
		root.WriteTo(&b, &etree.WriteSettings{})
		t.Fatalf("Subscribe: HTTP %d\n%s", status, b.String())
	}
	return ctx.Text()
}

// pullEvents pulls a subscription's events: up to 20, waiting up to 2 s.
// It returns the answer (nil when nothing came in time) and the items.
func pullEvents(t *testing.T, st *stack, context string) (*etree.Element, []*etree.Element) {
	t.Helper()
	body := `<n:Pull><n:EnumerationContext>` + context + `</n:EnumerationContext><n:MaxTime>PT2S</n:MaxTime>` +
		`<n:MaxElements>20</n:MaxElements></n:Pull>`
	root, status := serve(t, st, actionPull, allClassesURI, nil, body)
	if status != 200 {
		if f := root.FindElement("//Subcode/Value"); f != nil && strings.HasSuffix(f.Text(), "TimedOut") {
			return nil, nil
		}
		var b strings.Builder
		root.WriteTo(&b, &etree.WriteSettings{})
		t.Fatalf("Pull: HTTP %d\n%s", status, b.String())
	}
	items := root.FindElement("//Items")
	if items == nil {
		return root, nil
	}
	return root, items.ChildElements()
}

// maskVolatile replaces the text of the elements named in names (at any
// depth, any prefix) with "(volatile)".
func maskVolatile(e *etree.Element, names ...string) {
	for _, c := range e.ChildElements() {
		for _, n := range names {
			if c.Tag == n {
				c.SetText("(volatile)")
				for _, cc := range c.ChildElements() {
					c.RemoveChild(cc)
				}
			}
		}
		maskVolatile(c, names...)
	}
}

// The properties of an indication or a job that change from run to run.
var volatileProps = []string{"EnumerationContext", "IndicationIdentifier", "IndicationTime", "SequenceContext",
	"SequenceNumber", "TimeSubmitted", "StartTime", "ElapsedTime", "TimeOfLastStateChange", "DataTotal",
	"DataProcessed", "DataRemaining", "Iteration", "DirtyRate", "ExpectedDowntime", "Downtime", "TotalTime",
	"JobStatus", "PercentComplete"}

// TestJobIndicationsOnTheWire: a migration through the daemon's stack, a
// Pull subscription on the job indications (the WQL Windows and openwsman
// clients send) and one on the virtual systems' deletions: the job's
// creation, its modifications with PreviousInstance, its end, and the
// VM's departure. The creation's, the final modification's and the
// VM deletion's answers are golden files (volatile parts masked).
func TestJobIndicationsOnTheWire(t *testing.T) {
	st := testStack(t, nil)
	jobsCtx := subscribePull(t, st, "SELECT * FROM CIM_InstIndication WHERE SourceInstance ISA CIM_ConcreteJob")
	vmCtx := subscribePull(t, st, "SELECT * FROM CIM_InstDeletion WHERE SourceInstance ISA CIM_ComputerSystem")
	id := migrateOnWire(t, st, "dns-01", "")
	mask := map[string]string{id: "vsmig:(job)"}
	var kinds []string
	var lastState string
	deadline := time.Now().Add(60 * time.Second)
	for lastState != "7" {
		if time.Now().After(deadline) {
			t.Fatalf("no indication of the job's completion; seen %v", kinds)
		}
		root, items := pullEvents(t, st, jobsCtx)
		for _, it := range items {
			src := it.FindElement("./SourceInstance/*")
			if src == nil {
				t.Fatalf("indication without SourceInstance: %s", it.Tag)
			}
			state := src.FindElement("./JobState").Text()
			kinds = append(kinds, it.Tag+"/"+state)
			if it.Tag == "CIM_InstModification" {
				if prev := it.FindElement("./PreviousInstance/*/JobState"); prev == nil || prev.Text() == "" {
					t.Errorf("modification to %s without PreviousInstance", state)
				}
			}
			if it.Tag == "CIM_InstCreation" || state == "7" {
				// One indication per golden answer.
				one := root.Copy()
				its := one.FindElement("//Items")
				for _, c := range its.ChildElements() {
					its.RemoveChild(c)
				}
				its.AddChild(it.Copy())
				maskVolatile(one, volatileProps...)
				checkWireGolden(t, "event_job_"+strings.TrimPrefix(strings.ToLower(it.Tag), "cim_inst")+"_"+state, one, mask)
			}
			lastState = state
		}
	}
	if kinds[0] != "CIM_InstCreation/2" {
		t.Errorf("first indication %s, want the job's creation", kinds[0])
	}
	t.Logf("job indications: %v", kinds)
	root, items := pullEvents(t, st, vmCtx)
	if len(items) != 1 || items[0].FindElement("./SourceInstance/*/Name").Text() != sim.VMUUID("dns-01") {
		t.Fatalf("VM deletions: %d items", len(items))
	}
	maskVolatile(root, volatileProps...)
	checkWireGolden(t, "event_vm_deletion", root, mask)
	// A Put and a Delete of the job are reported once each (the profile
	// sees them in the store; the Broker does not report them again).
	put := `<p:VSMIG_MigrationJob xmlns:p="` + jobURI + `"><p:DeleteOnCompletion>false</p:DeleteOnCompletion></p:VSMIG_MigrationJob>`
	if _, status := serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put", jobURI, map[string]string{"InstanceID": id}, put); status != 200 {
		t.Fatalf("Put: HTTP %d", status)
	}
	if _, status := serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", jobURI, map[string]string{"InstanceID": id}, ""); status != 200 {
		t.Fatalf("Delete: HTTP %d", status)
	}
	var after []string
	for len(after) < 2 {
		_, items := pullEvents(t, st, jobsCtx)
		if items == nil {
			break
		}
		for _, it := range items {
			after = append(after, it.Tag+"/"+it.FindElement("./SourceInstance/*/DeleteOnCompletion").Text())
		}
	}
	if fmt.Sprint(after) != "[CIM_InstModification/false CIM_InstDeletion/false]" {
		t.Errorf("indications of a Put and a Delete: %v", after)
	}
	for _, c := range []string{jobsCtx, vmCtx} {
		if _, status := serve(t, st, actionRelease, allClassesURI, nil,
			`<n:Release><n:EnumerationContext>`+c+`</n:EnumerationContext></n:Release>`); status != 200 {
			t.Errorf("Release: HTTP %d", status)
		}
	}
}

// TestPushedIndicationOnTheWire: a PushWithAck subscription through the
// daemon's stack (push_targets allowing loopback) delivers the job's
// indications to a receiver; the first message, the job's creation, is a
// golden file (volatile parts masked).
func TestPushedIndicationOnTheWire(t *testing.T) {
	msgs := make(chan []byte, 64)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		msgs <- b
		doc := etree.NewDocument()
		doc.ReadFromBytes(b)
		id := ""
		if e := doc.FindElement("//Header/MessageID"); e != nil {
			id = e.Text()
		}
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">`+
			`<s:Header><a:Action>`+wsman.ActionAck+`</a:Action><a:RelatesTo>`+id+`</a:RelatesTo></s:Header><s:Body/></s:Envelope>`)
	}))
	defer rc.Close()
	st, _ := testStackWith(t, sim.DemoCluster(), func(c *Config) { c.PushTargets = "127.0.0.1" }, nil)
	body := `<e:Subscribe xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing">` +
		`<e:Delivery Mode="http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck"><e:NotifyTo><a:Address>` + rc.URL + `/sink</a:Address>` +
		`<a:ReferenceParameters><x:Sink xmlns:x="urn:collector">jobs</x:Sink></a:ReferenceParameters></e:NotifyTo></e:Delivery>` +
		`<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA CIM_ConcreteJob</w:Filter></e:Subscribe>`
	if root, status := serve(t, st, actionSubscribe, allClassesURI, nil, body); status != 200 {
		var b strings.Builder
		root.WriteTo(&b, &etree.WriteSettings{})
		t.Fatalf("Subscribe: HTTP %d\n%s", status, b.String())
	}
	id := migrateOnWire(t, st, "dns-01", "")
	var msg []byte
	select {
	case msg = <-msgs:
	case <-time.After(30 * time.Second):
		t.Fatal("no event reached the receiver")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		t.Fatal(err)
	}
	maskVolatile(doc.Root(), volatileProps...)
	checkWireGolden(t, "event_push_job_creation", doc.Root(), map[string]string{id: "vsmig:(job)", rc.URL: "http://receiver"})
}

// TestScopingProfilesOnTheWire: the scoping profiles through the daemon's
// stack, as golden files: the registered profiles of root/interop (an
// optimized Enumerate), a VM's CIM_VirtualSystemSettingData (Get), and the
// VM's associations of DSP1057 (AssociationInstances).
func TestScopingProfilesOnTheWire(t *testing.T) {
	st := testStack(t, nil)
	enum := func(filter string) string {
		return `<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>50</w:MaxElements>` + filter + `</n:Enumerate>`
	}
	root, status := serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
		wscim.CIMSchemaURI+"CIM_RegisteredProfile", map[string]string{"__cimnamespace": "root/interop"}, enum(""))
	if status != 200 || len(root.FindElements("//Items/*")) != 3 {
		t.Fatalf("registered profiles: HTTP %d", status)
	}
	checkWireGolden(t, "enum_registered_profiles", root, nil)

	vm := sim.VMUUID("dns-01")
	root, status = serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
		wscim.CIMSchemaURI+"CIM_VirtualSystemSettingData", map[string]string{"InstanceID": "vsmig:VirtualSystem:" + vm}, "")
	if status != 200 {
		t.Fatalf("Get VSSD: HTTP %d", status)
	}
	checkWireGolden(t, "get_virtual_system_setting_data", root, nil)

	object := `<b:Object><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>` +
		`<a:ReferenceParameters><w:ResourceURI>` + wscim.CIMSchemaURI + `CIM_ComputerSystem</w:ResourceURI><w:SelectorSet>` +
		`<w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector><w:Selector Name="Name">` + vm + `</w:Selector>` +
		`</w:SelectorSet></a:ReferenceParameters></b:Object>`
	for _, class := range []string{"CIM_SettingsDefineState", "CIM_ElementSettingData", "CIM_HostedDependency"} {
		filter := `<w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"><b:AssociationInstances>` +
			object + `<b:ResultClassName>` + class + `</b:ResultClassName></b:AssociationInstances></w:Filter>`
		root, status = serve(t, st, "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", allClassesURI, nil, enum(filter))
		if status != 200 || len(root.FindElements("//Items/*")) != 1 {
			var b strings.Builder
			root.WriteTo(&b, &etree.WriteSettings{})
			t.Fatalf("%s of the VM: HTTP %d\n%s", class, status, b.String())
		}
		checkWireGolden(t, "enum_references_"+strings.ToLower(strings.TrimPrefix(class, "CIM_")), root, nil)
	}
}
