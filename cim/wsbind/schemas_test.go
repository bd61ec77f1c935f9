package wsbind_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/wsbind"
	"github.com/vsmig/vsmig/schemas"
	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// TestWithSchemas runs the binding over the real class definitions of
// schemas/ with fake providers: the MOF's keys, value maps and method
// signatures (MigrateVirtualSystemToHost, CIM_ConcreteJob.RequestStateChange)
// drive the conversions, as in production.
func TestWithSchemas(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	inst := func(class string, kv ...any) *cim.Instance {
		c, ok := reg.Class(class)
		if !ok {
			t.Fatalf("schemas have no %s", class)
		}
		i := cim.NewInstance(c, ns)
		for j := 0; j < len(kv); j += 2 {
			i.MustSet(kv[j].(string), kv[j+1])
		}
		return i
	}
	vm := inst("CIM_ComputerSystem", "CreationClassName", "CIM_ComputerSystem", "Name", "vm-01", "EnabledState", uint64(2))
	svc := inst("CIM_VirtualSystemMigrationService", "SystemCreationClassName", "CIM_ComputerSystem", "SystemName", "host-a",
		"CreationClassName", "CIM_VirtualSystemMigrationService", "Name", "migration")
	job := inst("VSMIG_MigrationJob", "InstanceID", "vsmig:1", "JobState", uint64(4))
	systems := &store{refs: []cim.ClassRef{{Namespace: ns, Class: "CIM_ComputerSystem"}}, insts: []*cim.Instance{vm}}
	services := &store{refs: []cim.ClassRef{{Namespace: ns, Class: "CIM_VirtualSystemMigrationService"}}, insts: []*cim.Instance{svc},
		ret: uint32(4096), out: map[string]any{"Job": job.Path()}}
	jobs := &store{refs: []cim.ClassRef{{Namespace: ns, Class: "VSMIG_MigrationJob"}}, insts: []*cim.Instance{job}, ret: uint32(0)}
	b := cim.NewBroker(reg, nil)
	b.Register(systems)
	b.Register(services)
	b.Register(jobs)
	s := wsman.NewService(wsman.Config{DuplicateMessageIDs: -1, Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	wsbind.Register(s, b, reg, wsbind.Options{})
	serve := func(action, uri string, sel map[string]string, body string) string {
		resp, _ := s.ServeSOAP(context.Background(), wsman.Caller{User: "test"}, wsmantest.NewRequestID(fixedID, action, uri, sel, body))
		return string(resp)
	}
	svcURI := uriService
	svcSel := map[string]string{"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": "host-a",
		"CreationClassName": "CIM_VirtualSystemMigrationService", "Name": "migration"}
	input := func(params string) string {
		return `<q:MigrateVirtualSystemToHost_INPUT ` + qns + `>` + params + `</q:MigrateVirtualSystemToHost_INPUT>`
	}
	vmRef := `<q:ComputerSystem>` + eprXML(uriCS, "CIM_ComputerSystem", "vm-01") + `</q:ComputerSystem>`

	// The libvirt hyperv-driver shape: REF, host, CIM-XML in CDATA.
	resp := serve(svcURI+"/MigrateVirtualSystemToHost", svcURI, svcSel, input(vmRef+`<q:DestinationHost>host-b</q:DestinationHost>`+
		`<q:MigrationSettingData><![CDATA[<INSTANCE CLASSNAME="Msvm_VirtualSystemMigrationSettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>2</VALUE></PROPERTY></INSTANCE>]]></q:MigrationSettingData>`))
	for _, want := range []string{`<p:ReturnValue>4096</p:ReturnValue>`, `<w:Selector Name="InstanceID">vsmig:1</w:Selector>`} {
		if !strings.Contains(resp, want) {
			t.Errorf("migrate: response lacks %s:\n%s", want, resp)
		}
	}
	wantCall := `MigrateVirtualSystemToHost(ComputerSystem=root/virtualization:CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="vm-01"; ` +
		`DestinationHost=string(host-b); MigrationSettingData=instance of CIM_VirtualSystemMigrationSettingData { MigrationType = 2; };)`
	if len(services.calls) != 1 || services.calls[0] != wantCall {
		t.Errorf("provider calls %q\nwant %q", services.calls, wantCall)
	}

	// Bad arguments are the method's "Invalid Parameter" code of the MOF.
	for _, bad := range []string{
		`<q:MigrationSettingData>instance of CIM_VirtualSystemMigrationSettingData { MigrationType = "x"; };</q:MigrationSettingData>`,
		`<q:MigrationSettingData><![CDATA[<INSTANCE CLASSNAME="CIM_ComputerSystem"></INSTANCE>]]></q:MigrationSettingData>`,
		`<q:NewResourceSettingData>not an instance {</q:NewResourceSettingData>`,
		`<q:DestinationHosts>host-b</q:DestinationHosts>`,
	} {
		if resp := serve(svcURI+"/MigrateVirtualSystemToHost", svcURI, svcSel, input(bad)); !strings.Contains(resp, `<p:ReturnValue>4</p:ReturnValue>`) {
			t.Errorf("%s: not return code 4:\n%s", bad, resp)
		}
	}
	if len(services.calls) != 1 {
		t.Errorf("bad arguments reached the provider: %q", services.calls[1:])
	}

	// libvirt polls the job with WQL, and Get on CIM_ConcreteJob finds it.
	resp = serve(actionEnumerate, uriAll, nil, optimized(wqlFilter(`SELECT * FROM CIM_ConcreteJob WHERE InstanceID = 'vsmig:1'`)))
	if !strings.Contains(resp, `<p:JobState>4</p:JobState>`) || !strings.Contains(resp, "VSMIG_MigrationJob") {
		t.Errorf("WQL job poll:\n%s", resp)
	}
	resp = serve(actionGet, uriJob, map[string]string{"InstanceID": "vsmig:1"}, "")
	if !strings.Contains(resp, `<p:VSMIG_MigrationJob`) {
		t.Errorf("Get job:\n%s", resp)
	}
	// RequestStateChange: a RequestedState that is no uint16 is the MOF's
	// Invalid Parameter value of CIM_ConcreteJob.RequestStateChange.
	c, _ := reg.Class("CIM_ConcreteJob")
	m := c.Method("RequestStateChange")
	var code string
	for i, v := range m.Values {
		if v == "Invalid Parameter" {
			code = m.ValueMap[i]
		}
	}
	rsc := uriJob + "/RequestStateChange"
	body := `<p:RequestStateChange_INPUT xmlns:p="` + uriJob + `"><p:RequestedState>kill</p:RequestedState></p:RequestStateChange_INPUT>`
	if resp := serve(rsc, uriJob, map[string]string{"InstanceID": "vsmig:1"}, body); code == "" || !strings.Contains(resp, `<p:ReturnValue>`+code+`</p:ReturnValue>`) {
		t.Errorf("RequestStateChange with a bad state: want code %q:\n%s", code, resp)
	}
	body = strings.Replace(body, "kill", "4", 1)
	if resp := serve(rsc, uriJob, map[string]string{"InstanceID": "vsmig:1"}, body); !strings.Contains(resp, `<p:ReturnValue>0</p:ReturnValue>`) ||
		!bytes.Contains([]byte(strings.Join(jobs.calls, "\n")), []byte("RequestStateChange(RequestedState=uint64(4))")) {
		t.Errorf("RequestStateChange: %q\n%s", jobs.calls, resp)
	}
}
