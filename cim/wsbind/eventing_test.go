package wsbind_test

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

const (
	actionSubscribe = "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe"
	nsEventing      = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
	modePull        = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
)

// pullSubscribe is a Pull-mode Subscribe body with a WQL filter ("" for none)
// and extra children.
func pullSubscribe(wql, extra string) string {
	f := ""
	if wql != "" {
		f = `<w:Filter Dialect="` + dialectWQL + `">` + wql + `</w:Filter>`
	}
	return `<e:Subscribe xmlns:e="` + nsEventing + `"><e:Delivery Mode="` + modePull + `"/><e:Expires>PT10M</e:Expires>` + f + extra + `</e:Subscribe>`
}

func pullBody(ctx string) string {
	return `<n:Pull><n:EnumerationContext>` + ctx + `</n:EnumerationContext><n:MaxTime>PT5S</n:MaxTime><n:MaxElements>10</n:MaxElements></n:Pull>`
}

var subContextRE = regexp.MustCompile(`<n:EnumerationContext>([^<]+)</n:EnumerationContext>`)

// TestIndications subscribes as Windows and openwsman clients do, changes a
// job through WS-Man (the Broker's intrinsic operations are a source of
// indications), and pulls the CIM_InstModification and CIM_InstDeletion.
func TestIndications(t *testing.T) {
	m := newModel(t, 2)
	sub := func(uri, wql string) string {
		resp, status := m.serve(t, wsmantest.NewRequestID(fixedID, actionSubscribe, uri, nil, pullSubscribe(wql, "")))
		if status != 200 {
			t.Fatalf("subscribe: %d\n%s", status, resp)
		}
		return string(subContextRE.FindSubmatch(resp)[1])
	}
	mods := sub(uriAll, `SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob`)
	dels := sub(wscim.CIMSchemaURI+"CIM_InstDeletion", "")
	vmMods := sub(uriAll, `SELECT * FROM CIM_InstModification WHERE SourceInstance ISA 'CIM_ComputerSystem'`)

	put := `<p:CIM_ConcreteJob xmlns:p="` + uriJob + `"><p:InstanceID>vsmig:5a2c9f44</p:InstanceID><p:ElementName>renamed</p:ElementName></p:CIM_ConcreteJob>`
	if resp, status := m.serve(t, wsmantest.NewRequestID(fixedID, actionPut, uriJob, jobSel, put)); status != 200 {
		t.Fatalf("put: %d\n%s", status, resp)
	}
	if resp, status := m.serve(t, wsmantest.NewRequestID(fixedID, actionDelete, uriJob, jobSel, "")); status != 200 {
		t.Fatalf("delete: %d\n%s", status, resp)
	}
	pull := func(name, uri, ctx string) {
		resp, status := m.serve(t, wsmantest.NewRequestID(fixedID, actionPull, uri, nil, pullBody(ctx)))
		if status != 200 {
			t.Fatalf("%s: pull %d\n%s", name, status, resp)
		}
		checkGolden(t, name, normalize(t, volatileTimes(resp)))
	}
	pull("event_job_modification", uriAll, mods)
	pull("event_job_deletion", wscim.CIMSchemaURI+"CIM_InstDeletion", dels)
	resp, _ := m.serve(t, wsmantest.NewRequestID(fixedID, actionPull, uriAll, nil,
		`<n:Pull><n:EnumerationContext>`+vmMods+`</n:EnumerationContext><n:MaxTime>PT0.05S</n:MaxTime></n:Pull>`))
	if !bytes.Contains(resp, []byte("n:TimedOut")) {
		t.Errorf("a VM filter saw the job's modification:\n%s", resp)
	}
}

var identifierRE = regexp.MustCompile(`(IndicationIdentifier>|SequenceContext>|Bookmark>)[0-9a-f-]{36}`)

// volatileTimes replaces the per-run publisher epoch.
func volatileTimes(b []byte) []byte { return identifierRE.ReplaceAll(b, []byte("${1}EPOCH")) }

func TestSubscribeFaults(t *testing.T) {
	runGolden(t, []goldenCase{
		{name: "fault_subscribe_not_indication_class", action: actionSubscribe, uri: uriCS, status: 500,
			subcode: "e:EventSourceUnableToProcess", body: pullSubscribe("", "")},
		{name: "fault_subscribe_wql_not_indication", action: actionSubscribe, uri: uriAll, status: 500,
			subcode: "w:CannotProcessFilter", body: pullSubscribe(`SELECT * FROM CIM_ComputerSystem`, "")},
		{name: "fault_subscribe_wql_bad_property", action: actionSubscribe, uri: uriAll, status: 500,
			subcode: "w:CannotProcessFilter", body: pullSubscribe(`SELECT * FROM CIM_InstModification WHERE JobState = 7`, "")},
		{name: "fault_subscribe_all_without_filter", action: actionSubscribe, uri: uriAll, status: 500,
			subcode: "w:UnsupportedFeature", body: pullSubscribe("", "")},
		{name: "fault_subscribe_bookmark", action: actionSubscribe, uri: uriAll, status: 500, subcode: "w:InvalidBookmark",
			body: pullSubscribe(`SELECT * FROM CIM_InstDeletion`, `<w:Bookmark>from-elsewhere:7</w:Bookmark>`)},
	})
}
