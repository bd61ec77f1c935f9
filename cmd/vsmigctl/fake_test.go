package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman/client"
)

// fakeServer is a canned WS-Management server: it answers the requests
// vsmigctl sends for one host (host-a) with one VM (web-01), with the
// outputs a test sets. It checks nothing a real server would; it stands in
// for one in tests of vsmigctl's own behaviour.
type fakeServer struct {
	*httptest.Server

	mu sync.Mutex
	// outputs maps a method name to the inner XML of its _OUTPUT element.
	outputs map[string]string
	// jobState is the JobState every Get of the job answers.
	jobState string
	// gets counts the Gets of the job.
	gets int
	// onGet, when set, runs at each Get of the job.
	onGet func(n int)
}

const (
	fakeVMUUID = "b9960d9a-a881-5511-8a24-10fbadbe4486"
	fakeJobID  = "vsmig:11111111-2222-3333-4444-555555555555"
)

func newFakeServer(t *testing.T, tls bool) *fakeServer {
	f := &fakeServer{outputs: map[string]string{}, jobState: "4"}
	if tls {
		f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	} else {
		f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	}
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) setOutput(method, inner string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outputs[method] = inner
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action, uri := "", ""
	if e := doc.FindElement("//Action"); e != nil {
		action = strings.TrimSpace(e.Text())
	}
	if e := doc.FindElement("//ResourceURI"); e != nil {
		uri = strings.TrimSpace(e.Text())
	}
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	body := ""
	switch {
	case doc.FindElement("//Identify") != nil:
		body = `<wsmid:IdentifyResponse xmlns:wsmid="` + client.NSIdentity + `"><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion><wsmid:ProductVendor>fake</wsmid:ProductVendor><wsmid:ProductVersion>1</wsmid:ProductVersion></wsmid:IdentifyResponse>`
	case strings.HasSuffix(action, "/Enumerate") && strings.HasSuffix(uri, "CIM_VirtualSystemMigrationService"):
		body = enumerateResponse(instance(uri, "CIM_VirtualSystemMigrationService", "CreationClassName", "CIM_VirtualSystemMigrationService",
			"Name", "MigrationService", "SystemCreationClassName", "CIM_ComputerSystem", "SystemName", "host-a"))
	case strings.HasSuffix(action, "/Enumerate") && strings.HasSuffix(uri, "CIM_ComputerSystem"):
		body = enumerateResponse(
			instance(uri, "CIM_ComputerSystem", "CreationClassName", "CIM_ComputerSystem", "Name", "host-a", "EnabledState", "2"),
			instance(uri, "CIM_ComputerSystem", "CreationClassName", "CIM_ComputerSystem", "Name", fakeVMUUID, "ElementName", "web-01", "EnabledState", "2"))
	case strings.HasSuffix(action, "/transfer/Get"):
		f.mu.Lock()
		f.gets++
		n, state, hook := f.gets, f.jobState, f.onGet
		f.mu.Unlock()
		if hook != nil {
			hook(n)
		}
		body = instance(classURI("VSMIG_MigrationJob"), "VSMIG_MigrationJob", "InstanceID", fakeJobID, "JobState", state,
			"PercentComplete", "42", "VirtualSystemName", "web-01", "DestinationHost", "host-b")
	default:
		method := action[strings.LastIndex(action, "/")+1:]
		f.mu.Lock()
		inner, ok := f.outputs[method]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "fake server: no answer for "+action, http.StatusInternalServerError)
			return
		}
		body = fmt.Sprintf(`<p:%s_OUTPUT xmlns:p="%s">%s</p:%s_OUTPUT>`, method, uri, inner, method)
	}
	fmt.Fprintf(w, `<s:Envelope xmlns:s="%s" xmlns:a="%s" xmlns:w="%s" xmlns:n="%s"><s:Header/><s:Body>%s</s:Body></s:Envelope>`,
		client.NSSOAP, client.NSAddressing, client.NSWSMan, client.NSEnumeration, body)
}

func enumerateResponse(items ...string) string {
	return `<n:EnumerateResponse><w:Items>` + strings.Join(items, "") + `</w:Items><w:EndOfSequence/></n:EnumerateResponse>`
}

// instance renders a WS-CIM instance of class with the given property
// name/value pairs.
func instance(uri, class string, kv ...string) string {
	e := etree.NewElement("p:" + class)
	e.CreateAttr("xmlns:p", uri)
	for i := 0; i+1 < len(kv); i += 2 {
		e.CreateElement("p:" + kv[i]).SetText(kv[i+1])
	}
	d := etree.NewDocument()
	d.SetRoot(e)
	s, _ := d.WriteToString()
	return s
}

// cimError is an embedded CIM_Error as vsmigd sends it (CIM-XML, escaped
// in the parameter's text), for an output's Error parameter.
func cimError(code, message string) string {
	inst := `<INSTANCE CLASSNAME="CIM_Error">` +
		`<PROPERTY NAME="OwningEntity" TYPE="string"><VALUE>vsmig</VALUE></PROPERTY>` +
		`<PROPERTY NAME="MessageID" TYPE="string"><VALUE>VSMIG000` + code + `</VALUE></PROPERTY>` +
		`<PROPERTY NAME="Message" TYPE="string"><VALUE>` + xmlText(message) + `</VALUE></PROPERTY>` +
		`<PROPERTY NAME="CIMStatusCode" TYPE="uint32"><VALUE>1</VALUE></PROPERTY></INSTANCE>`
	return `<p:Error>` + xmlText(inst) + `</p:Error>`
}

func xmlText(s string) string {
	var b strings.Builder
	xmlEscape(&b, s)
	return strings.ReplaceAll(b.String(), "'", "&apos;")
}

// jobRef is a Job output parameter naming the fake job.
func jobRef() string {
	return `<p:Job><a:Address>` + client.Anonymous + `</a:Address><a:ReferenceParameters><w:ResourceURI>` +
		classURI("CIM_ConcreteJob") + `</w:ResourceURI><w:SelectorSet><w:Selector Name="InstanceID">` + fakeJobID +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></p:Job>`
}
