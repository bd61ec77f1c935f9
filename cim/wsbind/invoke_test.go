package wsbind_test

import (
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

const (
	qns       = `xmlns:q="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemMigrationService"`
	uriMSD    = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemMigrationSettingData"
	uriRASD   = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	cimxmlMSD = `<INSTANCE CLASSNAME="CIM_VirtualSystemMigrationSettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>2</VALUE></PROPERTY><PROPERTY NAME="TransportType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY></INSTANCE>`
	mofMSD    = `instance of CIM_VirtualSystemMigrationSettingData { MigrationType = 2; TransportType = 3; };`
	wantMSD   = `instance of CIM_VirtualSystemMigrationSettingData { MigrationType = 2; TransportType = 3; };`
	vmArg     = `ComputerSystem=root/virtualization:CIM_ComputerSystem.CreationClassName="VSMIG_ComputerSystem",Name="vm-01"`
)

func migrateBody(params string) string {
	return `<q:MigrateVirtualSystemToHost_INPUT ` + qns + `>` + params + `</q:MigrateVirtualSystemToHost_INPUT>`
}

func nestedMSD(props string) string {
	return `<p0:CIM_VirtualSystemMigrationSettingData xmlns:p0="` + uriMSD + `">` + props + `</p0:CIM_VirtualSystemMigrationSettingData>`
}

func TestInvoke(t *testing.T) {
	migrate := uriService + "/MigrateVirtualSystemToHost"
	vmRef := `<q:ComputerSystem>` + eprXML(uriCS, "VSMIG_ComputerSystem", "vm-01") + `</q:ComputerSystem>`
	jobStarted := func(m *model) {
		m.svcs.ret = uint64(4096)
		m.svcs.out = map[string]any{"Job": cim.ObjectPath{Namespace: ns, ClassName: "VSMIG_MigrationJob",
			Keys: []cim.KeyBinding{{Name: "InstanceID", Value: "vsmig:5a2c9f44"}}}}
	}
	runGolden(t, []goldenCase{
		{name: "invoke_migrate", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(vmRef + `<q:DestinationHost>host-b.example</q:DestinationHost>` +
				`<q:MigrationSettingData>` + nestedMSD(`<p0:MigrationType>2</p0:MigrationType><p0:TransportType>3</p0:TransportType>`) + `</q:MigrationSettingData>`),
			call: `MigrateVirtualSystemToHost(` + vmArg + `; DestinationHost=string(host-b.example); MigrationSettingData=` + wantMSD + `)`},
		{name: "invoke_ref_wrapped", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:ComputerSystem><a:EndpointReference><a:Address>` + anon + `</a:Address><a:ReferenceParameters><w:ResourceURI>` + uriVMCS +
				`</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">vm-02</w:Selector><w:Selector Name="CreationClassName">VSMIG_ComputerSystem</w:Selector>` +
				`<w:Selector Name="__cimnamespace">root/virtualization</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference></q:ComputerSystem>`),
			call: `MigrateVirtualSystemToHost(ComputerSystem=root/virtualization:VSMIG_ComputerSystem.Name="vm-02",CreationClassName="VSMIG_ComputerSystem")`},
		{name: "invoke_nested_xsi_type", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:MigrationSettingData xmlns:p0="` + uriMSD + `" xsi:type="p0:CIM_VirtualSystemMigrationSettingData_Type">` +
				`<p0:MigrationType xsi:type="cim:cimUnsignedShort">2</p0:MigrationType><p0:TransportType>3</p0:TransportType></q:MigrationSettingData>`),
			call: `MigrateVirtualSystemToHost(MigrationSettingData=` + wantMSD + `)`},
		{name: "invoke_array_nested_instances", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:NewResourceSettingData><p0:CIM_ResourceAllocationSettingData xmlns:p0="` + uriRASD + `"><p0:InstanceID>r1</p0:InstanceID></p0:CIM_ResourceAllocationSettingData></q:NewResourceSettingData>` +
				`<q:NewResourceSettingData><p0:CIM_ResourceAllocationSettingData xmlns:p0="` + uriRASD + `"><p0:ResourceType>17</p0:ResourceType></p0:CIM_ResourceAllocationSettingData></q:NewResourceSettingData>`),
			call: `MigrateVirtualSystemToHost(NewResourceSettingData=[instance of CIM_ResourceAllocationSettingData { InstanceID = "r1"; };, instance of CIM_ResourceAllocationSettingData { ResourceType = 17; };])`},
		{name: "invoke_cimxml_cdata", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:MigrationSettingData><![CDATA[` + cimxmlMSD + `]]></q:MigrationSettingData>`),
			call: `MigrateVirtualSystemToHost(MigrationSettingData=` + wantMSD + `)`},
		{name: "invoke_cimxml_escaped", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:MigrationSettingData>` + xmlEscape(cimxmlMSD) + `</q:MigrationSettingData>`),
			call: `MigrateVirtualSystemToHost(MigrationSettingData=` + wantMSD + `)`},
		{name: "invoke_mof_text", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:MigrationSettingData>` + mofMSD + `</q:MigrationSettingData>`),
			call: `MigrateVirtualSystemToHost(MigrationSettingData=` + wantMSD + `)`},
		{name: "invoke_nil_and_empty", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:DestinationHost xsi:nil="true"/><q:NewResourceSettingData xsi:nil="true"/>`),
			call: `MigrateVirtualSystemToHost(DestinationHost=NULL; NewResourceSettingData=NULL)`},
		{name: "invoke_no_body", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			call: `MigrateVirtualSystemToHost()`},
		{name: "invoke_bad_embedded_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:MigrationSettingData>&lt;INSTANCE CLASSNAME=</q:MigrationSettingData>`)},
		{name: "invoke_scalar_twice_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:DestinationHost>a</q:DestinationHost><q:DestinationHost>b</q:DestinationHost>`)},
		// One key validation for every EPR: a REF parameter with a
		// selector that is not a key, or without a key, is an invalid
		// parameter (4), and the provider is not called.
		{name: "invoke_ref_unknown_selector_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:ComputerSystem><a:Address>` + anon + `</a:Address><a:ReferenceParameters><w:ResourceURI>` + uriCS +
				`</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">vm-01</w:Selector><w:Selector Name="CreationClassName">VSMIG_ComputerSystem</w:Selector>` +
				`<w:Selector Name="Wrong">x</w:Selector></w:SelectorSet></a:ReferenceParameters></q:ComputerSystem><q:DestinationHost>host-b</q:DestinationHost>`)},
		{name: "invoke_ref_missing_key_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:ComputerSystem><a:Address>` + anon + `</a:Address><a:ReferenceParameters><w:ResourceURI>` + uriCS +
				`</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">vm-01</w:Selector></w:SelectorSet></a:ReferenceParameters></q:ComputerSystem>` +
				`<q:DestinationHost>host-b</q:DestinationHost>`)},
		{name: "invoke_unknown_param_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:Destination>host-b</q:Destination>`)},
		{name: "invoke_ref_as_text_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:ComputerSystem>vm-01</q:ComputerSystem>`)},
		{name: "invoke_out_param_as_input_returns_4", action: migrate, uri: uriService, selectors: svcSel, setup: jobStarted,
			body: migrateBody(`<q:Job>x</q:Job>`)},
		{name: "invoke_request_state_change", action: uriCS + "/RequestStateChange", uri: uriCS, selectors: vm1Sel,
			setup: func(m *model) {
				m.vms.ret = uint64(4096)
				m.vms.out = map[string]any{"Job": cim.ObjectPath{ClassName: "VSMIG_MigrationJob", Keys: []cim.KeyBinding{{Name: "InstanceID", Value: "vsmig:1"}}}}
			},
			body: `<p:RequestStateChange_INPUT xmlns:p="` + uriCS + `"><p:RequestedState>3</p:RequestedState>` +
				`<p:TimeoutPeriod><cim:CIM_DateTime xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">00000000000100.000000:000</cim:CIM_DateTime></p:TimeoutPeriod></p:RequestStateChange_INPUT>`,
			call: `RequestStateChange(RequestedState=uint64(3); TimeoutPeriod=cim.Datetime(00000000000100.000000:000))`},
		{name: "invoke_request_state_change_xs_duration", action: uriCS + "/RequestStateChange", uri: uriCS, selectors: vm1Sel,
			setup: func(m *model) { m.vms.ret = uint64(0) },
			body: `<p:RequestStateChange_INPUT xmlns:p="` + uriCS + `"><p:RequestedState>3</p:RequestedState>` +
				`<p:TimeoutPeriod><cim:Interval xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">P1DT2M3.5S</cim:Interval></p:TimeoutPeriod></p:RequestStateChange_INPUT>`,
			call: `RequestStateChange(RequestedState=uint64(3); TimeoutPeriod=cim.Datetime(00000001000203.500000:000))`},
		{name: "invoke_request_state_change_bad_value_returns_5", action: uriCS + "/RequestStateChange", uri: uriCS, selectors: vm1Sel,
			body: `<p:RequestStateChange_INPUT xmlns:p="` + uriCS + `"><p:RequestedState>on</p:RequestedState></p:RequestStateChange_INPUT>`},
		{name: "invoke_probe_outputs", action: uriVSMIGSv + "/Probe", uri: uriVSMIGSv, selectors: svcSel,
			setup: func(m *model) {
				m.svcs.ret = uint64(0)
				msd := newInstance(m.reg, "CIM_VirtualSystemMigrationSettingData", "MigrationType", uint64(2))
				msd.Namespace = ""
				m.svcs.out = map[string]any{"Notes": []string{"a<b", "c"}, "Setting": msd,
					"Took": cim.IntervalOf(90_500_000_000), "Nothing": nil}
			},
			body: `<p:Probe_INPUT xmlns:p="` + uriVSMIGSv + `"><p:Counts>1</p:Counts><p:Counts>2</p:Counts><p:Counts>3</p:Counts>` +
				`<p:When><cim:Datetime xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">2026-11-24T10:00:00Z</cim:Datetime></p:When></p:Probe_INPUT>`,
			call: `Probe(Counts=[]uint64([1 2 3]); When=cim.Datetime(20261124100000.000000+000))`},
		{name: "fault_invoke_bad_value_without_code", action: uriVSMIGSv + "/Probe", uri: uriVSMIGSv, selectors: svcSel, status: 500, subcode: "w:InvalidParameter",
			body: `<p:Probe_INPUT xmlns:p="` + uriVSMIGSv + `"><p:Counts>1</p:Counts><p:Counts>many</p:Counts></p:Probe_INPUT>`},
		{name: "fault_invoke_unknown_method", action: uriService + "/Fly", uri: uriService, selectors: svcSel, status: 500, subcode: "a:ActionNotSupported"},
		{name: "fault_invoke_missing_instance", action: migrate, uri: uriService, status: 500, subcode: "a:DestinationUnreachable",
			selectors: map[string]string{"CreationClassName": "VSMIG_VirtualSystemMigrationService", "Name": "other",
				"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": "host-a"}},
		{name: "fault_invoke_no_selectors", action: migrate, uri: uriService, status: 500, subcode: "w:InvalidSelectors"},
		{name: "fault_invoke_wrong_input_element", action: migrate, uri: uriService, selectors: svcSel, status: 500, subcode: "w:InvalidParameter",
			body: `<q:CheckVirtualSystemIsMigratableToHost_INPUT ` + qns + `/>`},
		{name: "fault_invoke_malformed_epr", action: migrate, uri: uriService, selectors: svcSel, status: 500, subcode: "w:InvalidParameter",
			body: migrateBody(`<q:ComputerSystem><a:ReferenceParameters><w:SelectorSet><w:Bogus/></w:SelectorSet></a:ReferenceParameters></q:ComputerSystem>`)},
	})
}

func xmlEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '"':
			b = append(b, "&quot;"...)
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

func TestParseXSDurationViaInvoke(t *testing.T) {
	// Bad durations are bad arguments: code 5 for RequestStateChange. They
	// are those a Put's interval refuses too (wscim.ParseInterval): a
	// negative one (accepted here before issue #10), years or months, one
	// beyond time.Duration.
	for _, d := range []string{"P", "PT", "P1Y", "PT1D", "P1H", "PTS", "P1DT", "PT1.2.3S", "PT99999999999999H", "-PT1S", "-P1D", "PT-1S", "P1M"} {
		m := newModel(t, 1)
		body := `<p:RequestStateChange_INPUT xmlns:p="` + uriCS + `"><p:TimeoutPeriod><cim:Interval xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">` +
			d + `</cim:Interval></p:TimeoutPeriod></p:RequestStateChange_INPUT>`
		resp, _ := m.serve(t, wsmantest.NewRequestID(fixedID, uriCS+"/RequestStateChange", uriCS, vm1Sel, body))
		if !strings.Contains(string(resp), "<p:ReturnValue>5</p:ReturnValue>") {
			t.Errorf("%s: accepted:\n%s", d, resp)
		}
	}
}
