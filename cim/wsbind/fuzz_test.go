package wsbind_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// FuzzInvokeArguments feeds arbitrary content of a
// MigrateVirtualSystemToHost_INPUT element through the service: the answer
// is always a well-formed envelope with status 200 or 500, and a value that
// did not convert never reaches the provider.
func FuzzInvokeArguments(f *testing.F) {
	for _, seed := range []string{
		`<q:ComputerSystem>` + eprXML(uriCS, "VSMIG_ComputerSystem", "vm-01") + `</q:ComputerSystem><q:DestinationHost>host-b</q:DestinationHost>`,
		`<q:MigrationSettingData><![CDATA[` + cimxmlMSD + `]]></q:MigrationSettingData>`,
		`<q:MigrationSettingData>` + xmlEscape(cimxmlMSD) + `</q:MigrationSettingData>`,
		`<q:MigrationSettingData>` + mofMSD + `</q:MigrationSettingData>`,
		`<q:MigrationSettingData>` + nestedMSD(`<p0:MigrationType>2</p0:MigrationType>`) + `</q:MigrationSettingData>`,
		`<q:NewResourceSettingData xsi:nil="true"/><q:DestinationHost>a</q:DestinationHost><q:DestinationHost>b</q:DestinationHost>`,
		`<q:ComputerSystem><a:EndpointReference><a:Address>x</a:Address></a:EndpointReference></q:ComputerSystem>`,
	} {
		f.Add(seed)
	}
	m := newModel(f, 2)
	m.svcs.ret = uint64(4096)
	action := uriService + "/MigrateVirtualSystemToHost"
	f.Fuzz(func(t *testing.T, params string) {
		m.svcs.calls = nil
		req := wsmantest.NewRequestID(fixedID, action, uriService, svcSel, migrateBody(params))
		var resp []byte
		var status int
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, status = m.serve(t, req)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			panic(fmt.Sprintf("request hangs on input %q", params))
		}
		if status != 200 && status != 500 {
			t.Fatalf("status %d", status)
		}
		if err := etree.NewDocument().ReadFromBytes(resp); err != nil {
			t.Fatalf("response is not XML: %v", err)
		}
		if status == 200 && !bytes.Contains(resp, []byte("MigrateVirtualSystemToHost_OUTPUT")) {
			t.Fatalf("200 without output: %s", resp)
		}
		for _, c := range m.svcs.calls {
			if strings.Contains(c, "ArgError") {
				t.Fatalf("provider saw an unconverted value: %s", c)
			}
		}
	})
}
