package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMigrateRefusalOnTheWire (issue #14): the envelope a refused
// MigrateVirtualSystemToHost answers with, through the daemon's own stack
// on the simulated demo cluster: ReturnValue 5 and, in the vsmig extension
// OUT parameter Error, the embedded CIM_Error that says why (a shut-off
// VM cannot move live). Compared with testdata/migrate_refused.golden.xml
// (go test -update rewrites it).
func TestMigrateRefusalOnTheWire(t *testing.T) {
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.StateDir, cfg.UsersFile, cfg.HTTPSAddr = dir, filepath.Join(dir, "users"), "127.0.0.1:0"
	os.WriteFile(cfg.UsersFile, nil, 0o600)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := newStack(t.Context(), cfg, sim.DemoCluster().Host(demoHost), demoHost, engineConfig(cfg, logger), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st.eng.Shutdown(ctx)
		st.Close()
	})
	uri := wscim.CIMSchemaURI + "CIM_VirtualSystemMigrationService"
	sel := map[string]string{"CreationClassName": "CIM_VirtualSystemMigrationService", "Name": "MigrationService",
		"SystemCreationClassName": "CIM_ComputerSystem", "SystemName": demoHost}
	vm := `<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + wscim.CIMSchemaURI + `CIM_ComputerSystem</w:ResourceURI><w:SelectorSet>` +
		`<w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector>` +
		`<w:Selector Name="Name">` + sim.VMUUID("batch-01") + `</w:Selector></w:SelectorSet></a:ReferenceParameters>`
	body := `<p:MigrateVirtualSystemToHost_INPUT xmlns:p="` + uri + `"><p:ComputerSystem>` + vm + `</p:ComputerSystem>` +
		`<p:DestinationHost>host-b</p:DestinationHost></p:MigrateVirtualSystemToHost_INPUT>`
	req := wsmantest.NewRequestID("uuid:00000000-0000-4000-8000-000000000001", uri+"/MigrateVirtualSystemToHost", uri, sel, body)
	resp, status := st.svc.ServeSOAP(t.Context(), wsman.Caller{User: "admin", RemoteAddr: "192.0.2.1:40000"}, req)
	if status != 200 {
		t.Fatalf("HTTP %d:\n%s", status, resp)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(resp); err != nil {
		t.Fatalf("%v\n%s", err, resp)
	}
	for _, e := range doc.FindElements("//MessageID") {
		e.SetText("(volatile)")
	}
	doc.Indent(1)
	var got bytes.Buffer
	doc.WriteTo(&got)
	file := filepath.Join("testdata", "migrate_refused.golden.xml")
	if *update {
		if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("response differs from %s:\n--- got\n%s\n--- want\n%s", file, got.Bytes(), want)
	}
}
