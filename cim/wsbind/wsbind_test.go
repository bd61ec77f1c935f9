package wsbind_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	fixedID = "uuid:00000000-0000-4000-8000-000000000001"

	actionGet       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
	actionPut       = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put"
	actionDelete    = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	actionEnumerate = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
	actionPull      = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"

	dialectSelector    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
	dialectAssociation = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
	dialectWQL         = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	anon               = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

var (
	uriCS      = wscim.CIMSchemaURI + "CIM_ComputerSystem"
	uriVMCS    = wscim.VendorSchemaURI + "VSMIG_ComputerSystem"
	uriService = wscim.CIMSchemaURI + "CIM_VirtualSystemMigrationService"
	uriVSMIGSv = wscim.VendorSchemaURI + "VSMIG_VirtualSystemMigrationService"
	uriJob     = wscim.CIMSchemaURI + "CIM_ConcreteJob"
	uriAll     = wscim.AllClassesURI

	hostSel = map[string]string{"CreationClassName": "CIM_ComputerSystem", "Name": "host-a"}
	vm1Sel  = map[string]string{"CreationClassName": "VSMIG_ComputerSystem", "Name": "vm-01", "__cimnamespace": ns}
	svcSel  = map[string]string{"CreationClassName": "VSMIG_VirtualSystemMigrationService", "Name": "migration",
		"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": "host-a"}
	jobSel = map[string]string{"InstanceID": "vsmig:5a2c9f44"}
)

// eprXML is the unwrapped EPR content of a CIM_ComputerSystem.
func eprXML(uri, ccn, name string) string {
	return `<a:Address>` + anon + `</a:Address><a:ReferenceParameters><w:ResourceURI>` + uri +
		`</w:ResourceURI><w:SelectorSet><w:Selector Name="CreationClassName">` + ccn +
		`</w:Selector><w:Selector Name="Name">` + name + `</w:Selector></w:SelectorSet></a:ReferenceParameters>`
}

func optimized(filter string) string {
	return `<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements>` +
		`<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>` + filter + `</n:Enumerate>`
}

// optimizedPoly is an optimized ObjectAndEPR enumeration with a
// wsmb:PolymorphismMode and a filter ("" for none).
func optimizedPoly(mode, filter string) string {
	return optimized(`<b:PolymorphismMode>` + mode + `</b:PolymorphismMode>` + filter)
}

func wqlFilter(q string) string {
	return `<w:Filter Dialect="` + dialectWQL + `">` + q + `</w:Filter>`
}

// normalize parses a response envelope and returns it indented, with the
// values that change per run (MessageID, RelatesTo, enumeration contexts)
// replaced by placeholders.
func normalize(t *testing.T, resp []byte) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(resp); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, resp)
	}
	for _, path := range []string{"//MessageID", "//RelatesTo", "//EnumerationContext"} {
		for _, e := range doc.FindElements(path) {
			if e.Text() != "" {
				e.SetText("(volatile)")
			}
		}
	}
	doc.Indent(1)
	var b bytes.Buffer
	doc.WriteTo(&b)
	return b.String()
}

// checkGolden compares got with testdata/name.golden.xml.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden.xml")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("response differs from %s:\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

var subcodeRE = regexp.MustCompile(`<s:Subcode>\s*<s:Value>([^<]*)</s:Value>`)

type goldenCase struct {
	name      string
	action    string
	uri       string
	selectors map[string]string
	body      string
	status    int    // HTTP status, 200 when 0
	subcode   string // expected fault subcode
	call      string // the provider call an Invoke must cause ("" for none)
	setup     func(m *model)
	header    string // extra SOAP header elements
}

func runGolden(t *testing.T, cases []goldenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, 2)
			if tc.setup != nil {
				tc.setup(m)
			}
			req := wsmantest.NewRequestID(fixedID, tc.action, tc.uri, tc.selectors, tc.body)
			req = bytes.Replace(req, []byte("</env:Header>"), []byte(tc.header+"</env:Header>"), 1)
			resp, status := m.serve(t, req)
			want := tc.status
			if want == 0 {
				want = 200
			}
			if status != want {
				t.Errorf("HTTP status %d, want %d", status, want)
			}
			if tc.subcode != "" {
				sm := subcodeRE.FindSubmatch(resp)
				if sm == nil || string(sm[1]) != tc.subcode {
					t.Errorf("fault subcode %q, want %q", sm, tc.subcode)
				}
			}
			var calls []string
			for _, s := range []*store{m.svcs, m.vms, m.hosts, m.jobs} {
				calls = append(calls, s.calls...)
			}
			if got := strings.Join(calls, "\n"); got != tc.call {
				t.Errorf("provider calls:\n%s\nwant:\n%s", got, tc.call)
			}
			checkGolden(t, tc.name, normalize(t, resp))
		})
	}
}

func TestTransfer(t *testing.T) {
	vm1NoNS := map[string]string{"CreationClassName": "VSMIG_ComputerSystem", "Name": "vm-01"}
	runGolden(t, []goldenCase{
		{name: "get_host", action: actionGet, uri: uriCS, selectors: hostSel},
		{name: "get_vm_by_superclass", action: actionGet, uri: uriCS, selectors: vm1Sel},
		{name: "get_vm_vendor_uri", action: actionGet, uri: uriVMCS, selectors: vm1NoNS},
		{name: "get_vm_selector_case", action: actionGet, uri: uriCS,
			selectors: map[string]string{"creationclassname": "VSMIG_ComputerSystem", "NAME": "vm-01"}},
		{name: "get_job_by_superclass", action: actionGet, uri: uriJob, selectors: jobSel},
		{name: "get_exclude_nil", action: actionGet, uri: uriCS, selectors: hostSel,
			header: `<w:OptionSet><w:Option Name="ExcludeNilProperties">true</w:Option></w:OptionSet>`},
		{name: "get_by_abstract_root", action: actionGet, uri: wscim.CIMSchemaURI + "CIM_ManagedElement", selectors: vm1NoNS},
		{name: "fault_get_not_found", action: actionGet, uri: uriCS, status: 500, subcode: "a:DestinationUnreachable",
			selectors: map[string]string{"CreationClassName": "VSMIG_ComputerSystem", "Name": "nope"}},
		{name: "fault_get_insufficient_selectors", action: actionGet, uri: uriCS, status: 500, subcode: "w:InvalidSelectors",
			selectors: map[string]string{"Name": "host-a"}},
		{name: "fault_get_unexpected_selector", action: actionGet, uri: uriCS, status: 500, subcode: "w:InvalidSelectors",
			selectors: map[string]string{"CreationClassName": "CIM_ComputerSystem", "Name": "host-a", "Color": "blue"}},
		{name: "fault_get_unknown_class", action: actionGet, uri: wscim.CIMSchemaURI + "CIM_Nope", status: 500,
			subcode: "a:DestinationUnreachable", selectors: hostSel},
		{name: "fault_get_bad_namespace", action: actionGet, uri: uriCS, status: 500, subcode: "a:DestinationUnreachable",
			selectors: map[string]string{"CreationClassName": "CIM_ComputerSystem", "Name": "host-a", "__cimnamespace": "root/cimv2"}},
		{name: "fault_get_all_classes", action: actionGet, uri: uriAll, status: 500, subcode: "a:ActionNotSupported"},
		{name: "put_job", action: actionPut, uri: uriJob, selectors: jobSel,
			body: `<p:CIM_ConcreteJob xmlns:p="` + uriJob + `"><p:InstanceID>vsmig:5a2c9f44</p:InstanceID>` +
				`<p:ElementName>renamed</p:ElementName></p:CIM_ConcreteJob>`,
			call: `modify root/virtualization:VSMIG_MigrationJob.InstanceID="vsmig:5a2c9f44"`},
		{name: "fault_put_changes_key", action: actionPut, uri: uriJob, selectors: jobSel, status: 500, subcode: "x:InvalidRepresentation",
			body: `<p:CIM_ConcreteJob xmlns:p="` + uriJob + `"><p:InstanceID>vsmig:other</p:InstanceID></p:CIM_ConcreteJob>`},
		{name: "delete_job", action: actionDelete, uri: uriJob, selectors: jobSel,
			call: `delete root/virtualization:VSMIG_MigrationJob.InstanceID="vsmig:5a2c9f44"`},
		{name: "fault_delete_missing", action: actionDelete, uri: uriJob, status: 500, subcode: "a:DestinationUnreachable",
			selectors: map[string]string{"InstanceID": "vsmig:gone"}},
		// A running job cannot be deleted: the provider says why, and the
		// client gets wsman:Concurrency with that reason (not a bare
		// InternalError).
		{name: "fault_delete_running_job", action: actionDelete, uri: uriJob, selectors: jobSel, status: 500, subcode: "w:Concurrency",
			setup: func(m *model) {
				m.jobs.deleteErr = &cim.Error{Status: cim.StatusFailed, Err: cim.ErrInvalidState,
					Message: "job vsmig:5a2c9f44 is running; terminate it with RequestStateChange(4) first, then delete it"}
			}},
		// One key validation for every EPR: Get's selectors...
		{name: "fault_get_wrong_creation_class", action: actionGet, uri: uriCS, status: 500, subcode: "w:InvalidSelectors",
			selectors: map[string]string{"CreationClassName": "CIM_Nope", "Name": "vm-01"}},
	})
}

func TestEnumerate(t *testing.T) {
	assoc := func(kind, object, extra string) string {
		return `<w:Filter Dialect="` + dialectAssociation + `"><b:` + kind + `><b:Object>` + object + `</b:Object>` +
			extra + `</b:` + kind + `></w:Filter>`
	}
	hostEPR := eprXML(uriCS, "CIM_ComputerSystem", "host-a")
	vmEPR := eprXML(uriCS, "VSMIG_ComputerSystem", "vm-01")
	runGolden(t, []goldenCase{
		{name: "enum_plain", action: actionEnumerate, uri: uriCS, body: wsmantest.EnumerateBody(false, 0, "")},
		{name: "enum_objects", action: actionEnumerate, uri: uriCS, body: wsmantest.EnumerateBody(true, 100, "")},
		{name: "enum_epr", action: actionEnumerate, uri: uriCS, body: wsmantest.EnumerateBody(true, 100, "EnumerateEPR")},
		{name: "enum_object_and_epr", action: actionEnumerate, uri: uriCS, body: wsmantest.EnumerateBody(true, 100, "EnumerateObjectAndEPR")},
		{name: "enum_selector_filter", action: actionEnumerate, uri: uriCS,
			body: optimized(`<w:Filter Dialect="` + dialectSelector + `"><w:SelectorSet><w:Selector Name="Name">vm-02</w:Selector></w:SelectorSet></w:Filter>`)},
		{name: "fault_enum_selector_filter_bad_property", action: actionEnumerate, uri: uriCS, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(`<w:Filter Dialect="` + dialectSelector + `"><w:SelectorSet><w:Selector Name="Color">red</w:Selector></w:SelectorSet></w:Filter>`)},
		{name: "enum_associated_instances", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociatedInstances", hostEPR, ""))},
		{name: "enum_associated_instances_filtered", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociatedInstances", vmEPR, `<b:AssociationClassName>CIM_AffectedJobElement</b:AssociationClassName>`+
				`<b:Role>AffectedElement</b:Role><b:ResultClassName>CIM_ConcreteJob</b:ResultClassName><b:ResultRole>AffectingElement</b:ResultRole>`+
				`<b:IncludeResultProperty>JobState</b:IncludeResultProperty>`))},
		{name: "enum_association_instances", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociationInstances", vmEPR, `<b:Role>AffectedElement</b:Role>`))},
		{name: "fault_enum_association_bad_class", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(assoc("AssociatedInstances", hostEPR, `<b:AssociationClassName>Not a class!</b:AssociationClassName>`))},
		// A standard association class the model does not have: no
		// instances, not a fault.
		{name: "enum_association_unknown_standard_class", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociatedInstances", hostEPR, `<b:AssociationClassName>CIM_SystemDevice</b:AssociationClassName>`))},
		{name: "enum_association_instances_unknown_standard_class", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociationInstances", hostEPR, `<b:ResultClassName>CIM_SystemDevice</b:ResultClassName>`))},
		// DSP0227 AssociationInstances: ResultClassName is the association
		// class; openwsman also sends ResultRole, which is ignored.
		{name: "enum_association_instances_result_class", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociationInstances", vmEPR, `<b:ResultClassName>CIM_AffectedJobElement</b:ResultClassName><b:ResultRole>AffectingElement</b:ResultRole>`))},
		{name: "enum_association_instances_other_result_class", action: actionEnumerate, uri: uriAll,
			body: optimized(assoc("AssociationInstances", hostEPR, `<b:ResultClassName>CIM_AffectedJobElement</b:ResultClassName>`))},
		// ...and the Object of an association filter: a missing key, a
		// selector that is no key, a CreationClassName of another class.
		{name: "fault_enum_association_object_missing_key", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(assoc("AssociatedInstances", `<a:Address>`+anon+`</a:Address><a:ReferenceParameters><w:ResourceURI>`+uriCS+
				`</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">vm-01</w:Selector></w:SelectorSet></a:ReferenceParameters>`, ""))},
		{name: "fault_enum_association_object_unknown_selector", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(assoc("AssociatedInstances", `<a:Address>`+anon+`</a:Address><a:ReferenceParameters><w:ResourceURI>`+uriCS+
				`</w:ResourceURI><w:SelectorSet><w:Selector Name="CreationClassName">VSMIG_ComputerSystem</w:Selector><w:Selector Name="Name">vm-01</w:Selector>`+
				`<w:Selector Name="Wrong">x</w:Selector></w:SelectorSet></a:ReferenceParameters>`, ""))},
		{name: "fault_enum_association_object_wrong_ccn", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(assoc("AssociatedInstances", eprXML(uriCS, "CIM_Nope", "vm-01"), ""))},
		// wsmb:PolymorphismMode (DSP0227 §9.3).
		{name: "enum_polymorphism_none", action: actionEnumerate, uri: uriCS,
			body: optimizedPoly("None", "")},
		{name: "enum_polymorphism_exclude", action: actionEnumerate, uri: uriCS,
			body: optimizedPoly("ExcludeSubClassProperties", "")},
		{name: "fault_enum_polymorphism_unknown", action: actionEnumerate, uri: uriCS, status: 500, subcode: "b:PolymorphismModeNotSupported",
			body: optimizedPoly("Sometimes", "")},
		{name: "fault_enum_polymorphism_with_wql", action: actionEnumerate, uri: uriAll, status: 500, subcode: "b:PolymorphismModeNotSupported",
			body: optimizedPoly("None", wqlFilter(`SELECT * FROM CIM_ComputerSystem`))},
		{name: "enum_wql", action: actionEnumerate, uri: uriAll,
			body: optimized(wqlFilter(`SELECT ElementName FROM CIM_ComputerSystem WHERE EnabledState = 3 OR Name = 'host-a'`))},
		{name: "enum_wql_isa", action: actionEnumerate, uri: uriCS,
			body: optimized(wqlFilter(`SELECT * FROM CIM_ManagedElement WHERE __CLASS ISA 'CIM_ConcreteJob'`))},
		{name: "fault_enum_wql_bad_property", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(wqlFilter(`SELECT Color FROM CIM_ComputerSystem`))},
		{name: "fault_enum_wql_bad_where", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(wqlFilter(`SELECT * FROM CIM_ComputerSystem WHERE Color = 'red'`))},
		{name: "fault_enum_wql_bad_class", action: actionEnumerate, uri: uriAll, status: 500, subcode: "n:CannotProcessFilter",
			body: optimized(wqlFilter(`SELECT * FROM CIM_Nope`))},
		{name: "fault_enum_all_without_filter", action: actionEnumerate, uri: uriAll, status: 500, subcode: "w:UnsupportedFeature",
			body: wsmantest.EnumerateBody(true, 10, "")},
	})
}

// TestWireRequests serves the hand-written envelopes in
// testdata/*.request.xml, laid out as real clients send them (Windows,
// libvirt), and compares each answer with its .golden.xml.
func TestWireRequests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.request.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no request files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".request.xml")
		t.Run(name, func(t *testing.T) {
			req, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m := newModel(t, 2)
			m.svcs.ret = uint64(4096)
			resp, _ := m.serve(t, req)
			got := normalize(t, resp)
			for _, s := range []*store{m.svcs} {
				for _, c := range s.calls {
					got += "<!-- provider call: " + strings.ReplaceAll(c, "--", "- -") + " -->\n"
				}
			}
			checkGolden(t, name, got)
		})
	}
}
