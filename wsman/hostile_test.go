package wsman_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// TestHostileInput checks that malformed and hostile requests get the
// standard fault rather than a panic, a hang or a huge allocation.
func TestHostileInput(t *testing.T) {
	get := string(wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""))
	deep := `<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Header/><s:Body>` +
		strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) + `</s:Body></s:Envelope>`
	wide := `<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Header/><s:Body><x>` +
		strings.Repeat("<a/>", 100000) + `</x></s:Body></s:Envelope>`
	var attrs strings.Builder
	for i := 0; i < 1000; i++ {
		attrs.WriteString(` a` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `="1"`)
	}
	manyAttrs := `<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Header/><s:Body><x` + attrs.String() + `/></s:Body></s:Envelope>`
	billion := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		`<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Body>&lol2;</s:Body></s:Envelope>`
	xxe := `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
		`<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Body>&xxe;</s:Body></s:Envelope>`

	tests := []struct {
		name, body, subcode string
	}{
		{"empty", "", "w:SchemaValidationError"},
		{"malformed", get[:len(get)/2], "w:SchemaValidationError"},
		{"mismatched tags", `<s:Envelope xmlns:s="` + wsman.NSSOAP12 + `"><s:Body></s:Header></s:Envelope>`, "w:SchemaValidationError"},
		{"billion laughs", billion, "w:SchemaValidationError"},
		{"external entity", xxe, "w:SchemaValidationError"},
		{"undeclared entity", strings.Replace(get, "item-1", "&foo;", 1), "w:SchemaValidationError"},
		{"deep nesting", deep, "w:EncodingLimit"},
		{"many elements", wide, "w:EncodingLimit"},
		{"many attributes", manyAttrs, "w:EncodingLimit"},
		{"invalid UTF-8", strings.Replace(get, "item-1", "item-\xff\xfe", 1), "w:SchemaValidationError"},
		{"processing instruction", strings.Replace(get, "<env:Body>", "<env:Body><?php x?>", 1), "w:SchemaValidationError"},
		{"two roots", get + get, "w:SchemaValidationError"},
		{"not an envelope", `<foo/>`, "s:VersionMismatch"},
		// Issue #14: these were accepted.
		{"duplicate attribute", strings.Replace(get, `Name="Name"`, `Name="Name" Name="Other"`, 1), "w:SchemaValidationError"},
		{"duplicate attribute by namespace", strings.Replace(get, "<env:Body>", `<env:Body xmlns:p1="urn:x" xmlns:p2="urn:x" p1:a="1" p2:a="2">`, 1), "w:SchemaValidationError"},
		{"surrogate reference", strings.Replace(get, "item-1", "item-&#xD800;", 1), "w:SchemaValidationError"},
		{"surrogate reference in attribute", strings.Replace(get, `Name="Name"`, `Name="Na&#56320;me"`, 1), "w:SchemaValidationError"},
		{"NUL reference", strings.Replace(get, "item-1", "item-&#0;", 1), "w:SchemaValidationError"},
		// Found by FuzzDecodeEnvelope (testdata/fuzz/FuzzDecodeEnvelope/00d4f18ec2169457).
		{"undeclared prefix", `<env:Envelope xmlns:env="` + wsman.NSSOAP12 + `"><env:Body><a:0/></env:Body></env:Envelope>`, "w:SchemaValidationError"},
		{"SOAP 1.1", strings.ReplaceAll(get, wsman.NSSOAP12, wsman.NSSOAP11), "s:VersionMismatch"},
		{"wrong root in SOAP ns", `<s:Body xmlns:s="` + wsman.NSSOAP12 + `"/>`, "w:SchemaValidationError"},
		{"missing Body", strings.Replace(strings.Replace(get, "<env:Body>", "", 1), "</env:Body>", "", 1), "w:SchemaValidationError"},
		{"two Bodies", strings.Replace(get, "<env:Body>", "<env:Body></env:Body><env:Body>", 1), "w:SchemaValidationError"},
		{"unknown Action", strings.Replace(get, wsmantest.ActionGet, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Frobnicate", 1), "a:ActionNotSupported"},
		{"Subscribe without a body", strings.Replace(get, wsmantest.ActionGet, "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe", 1), "w:SchemaValidationError"},
		{"duplicate Action", strings.Replace(get, "</env:Header>", "<a:Action>x</a:Action></env:Header>", 1), "a:InvalidMessageInformationHeader"},
		{"empty MessageID", string(wsmantest.NewRequestID(" ", wsmantest.ActionGet, wsmantest.ResourceURI, nil, "")), "a:InvalidMessageInformationHeader"},
		{"bad MaxEnvelopeSize", strings.Replace(get, ">153600<", ">lots<", 1), "a:InvalidMessageInformationHeader"},
		{"zero OperationTimeout", strings.Replace(get, "PT20S", "PT0S", 1), "w:TimedOut"},
		{"fragment transfer", strings.Replace(get, "</env:Header>", `<w:FragmentTransfer mustUnderstand="true">Name</w:FragmentTransfer></env:Header>`, 1), "w:UnsupportedFeature"},
		{"selector without name", strings.Replace(get, `Name="Name"`, `Nom="Name"`, 1), "w:InvalidSelectors"},
		{"non-empty Put body missing", string(wsmantest.NewRequest(wsmantest.ActionPut, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, "")), "x:InvalidRepresentation"},
		{"Enumerate with wrong body", string(wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, "<n:Pull/>")), "w:SchemaValidationError"},
		{"Pull without context", string(wsmantest.NewRequest(wsmantest.ActionPull, wsmantest.ResourceURI, nil, "<n:Pull/>")), "n:InvalidEnumerationContext"},
		{"Release unknown", string(wsmantest.NewRequest(wsmantest.ActionRelease, wsmantest.ResourceURI, nil, wsmantest.ReleaseBody("uuid:x"))), "n:InvalidEnumerationContext"},
		{"MaxElements zero", string(wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 0, ""))), "w:SchemaValidationError"},
		{"bad EPR param", string(wsmantest.NewRequest(wsmantest.ResourceURI+"/Echo", wsmantest.ResourceURI, nil,
			`<p:Echo_INPUT xmlns:p="x"><p:Text><a:ReferenceParameters><w:SelectorSet><w:Selector>nameless</w:Selector></w:SelectorSet></a:ReferenceParameters></p:Text></p:Echo_INPUT>`)), "w:InvalidParameter"},
	}
	s := newTestService(t, wsman.Config{DuplicateMessageIDs: -1})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, status := s.ServeSOAP(context.Background(), user, []byte(tc.body))
			if status != 500 {
				t.Errorf("status = %d, want 500", status)
			}
			if sub, _ := faultOf(t, resp); sub != tc.subcode {
				t.Errorf("fault = %q, want %q\n%s", sub, tc.subcode, resp)
			}
		})
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func serve(t testing.TB, s *wsman.Service, caller wsman.Caller, req []byte) []byte {
	t.Helper()
	resp, _ := s.ServeSOAP(context.Background(), caller, req)
	return resp
}

func enumerateContext(t testing.TB, s *wsman.Service, caller wsman.Caller) string {
	t.Helper()
	resp := serve(t, s, caller, wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(false, 0, "")))
	id := findText(t, resp, wsman.NSEnumeration, "EnumerationContext")
	if id == "" {
		t.Fatalf("no enumeration context:\n%s", resp)
	}
	return id
}

func pull(s *wsman.Service, caller wsman.Caller, uri, id string, n int) []byte {
	resp, _ := s.ServeSOAP(context.Background(), caller, wsmantest.NewRequest(wsmantest.ActionPull, uri, nil, wsmantest.PullBody(id, n)))
	return resp
}

func TestEnumerationContextLifetime(t *testing.T) {
	clk := &clock{now: testNow}
	s := newTestService(t, wsman.Config{Now: clk.Now, EnumerationIdleTimeout: time.Minute, MaxEnumerationContexts: 2})

	// Expired after the idle timeout, but not before.
	id := enumerateContext(t, s, user)
	clk.Advance(59 * time.Second)
	if resp := pull(s, user, wsmantest.ResourceURI, id, 1); findText(t, resp, wsman.NSEnumeration, "EnumerationContext") == "" {
		t.Fatalf("pull before expiry failed:\n%s", resp)
	}
	clk.Advance(61 * time.Second)
	if sub, _ := faultOf(t, pull(s, user, wsmantest.ResourceURI, id, 1)); sub != "n:InvalidEnumerationContext" {
		t.Fatalf("pull after expiry: fault %q", sub)
	}
	if n := s.OpenEnumerations(); n != 0 {
		t.Fatalf("OpenEnumerations = %d after expiry", n)
	}

	// Another user's context, or another ResourceURI, is not valid.
	id = enumerateContext(t, s, user)
	if sub, _ := faultOf(t, pull(s, wsman.Caller{User: "mallory"}, wsmantest.ResourceURI, id, 1)); sub != "n:InvalidEnumerationContext" {
		t.Errorf("pull by other user: fault %q", sub)
	}
	if sub, _ := faultOf(t, pull(s, user, bigURI, id, 1)); sub != "n:InvalidEnumerationContext" {
		t.Errorf("pull on other ResourceURI: fault %q", sub)
	}

	// Quota.
	enumerateContext(t, s, user)
	resp := serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(false, 0, "")))
	if sub, _ := faultOf(t, resp); sub != "w:QuotaLimit" {
		t.Errorf("third context: fault %q, want w:QuotaLimit", sub)
	}

	// Release frees a slot; the released context is gone.
	resp = serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionRelease, wsmantest.ResourceURI, nil, wsmantest.ReleaseBody(id)))
	if sub, _ := faultOf(t, resp); sub != "" {
		t.Fatalf("release: fault %q", sub)
	}
	if sub, _ := faultOf(t, pull(s, user, wsmantest.ResourceURI, id, 1)); sub != "n:InvalidEnumerationContext" {
		t.Errorf("pull after release: fault %q", sub)
	}
	if n := s.OpenEnumerations(); n != 1 {
		t.Errorf("OpenEnumerations = %d, want 1", n)
	}
}

// TestPullAll pulls a larger enumeration in batches until the end.
func TestPullAll(t *testing.T) {
	s := wsman.NewService(wsman.Config{})
	defer s.Close()
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(10))
	id := enumerateContext(t, s, user)
	var names []string
	for i := 0; i < 10 && id != ""; i++ {
		resp := pull(s, user, wsmantest.ResourceURI, id, 3)
		doc := parse(t, resp)
		for _, e := range doc.FindElements("//Items/VSMIG_TestItem/Name") {
			names = append(names, e.Text())
		}
		id = findText(t, resp, wsman.NSEnumeration, "EnumerationContext")
		if id == "" && doc.FindElement("//PullResponse/EndOfSequence") == nil {
			t.Fatalf("no context and no EndOfSequence:\n%s", resp)
		}
	}
	if len(names) != 10 || names[0] != "item-1" || names[9] != "item-10" {
		t.Errorf("pulled %v", names)
	}
	if n := s.OpenEnumerations(); n != 0 {
		t.Errorf("OpenEnumerations = %d after EndOfSequence", n)
	}
}

// TestBatchShrinks checks that batches shrink to fit MaxEnvelopeSize.
func TestBatchShrinks(t *testing.T) {
	s := wsman.NewService(wsman.Config{})
	defer s.Close()
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(400))
	req := wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 1000, ""))
	req = []byte(strings.Replace(string(req), ">153600<", ">8192<", 1))
	resp := serve(t, s, user, req)
	if len(resp) > 8192 {
		t.Errorf("response of %d octets exceeds MaxEnvelopeSize 8192", len(resp))
	}
	doc := parse(t, resp)
	n := len(doc.FindElements("//Items/VSMIG_TestItem"))
	if n == 0 || n >= 400 {
		t.Errorf("batch of %d items", n)
	}
	if findText(t, resp, wsman.NSEnumeration, "EnumerationContext") == "" {
		t.Errorf("partial batch without a context")
	}
	if doc.FindElement("//EnumerateResponse/EndOfSequence") != nil {
		t.Errorf("partial batch with EndOfSequence")
	}
}

func TestObserve(t *testing.T) {
	var got []wsman.RequestInfo
	s := newTestService(t, wsman.Config{Observe: func(ri wsman.RequestInfo) { got = append(got, ri) }})
	serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""))
	serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "nope"}, ""))
	serve(t, s, wsman.Caller{Anonymous: true}, wsmantest.NewIdentifyRequest())
	if len(got) != 3 {
		t.Fatalf("Observe called %d times", len(got))
	}
	if got[0].Action != wsman.ActionGet || got[0].ResourceURI != wsmantest.ResourceURI || got[0].FaultSubcode != "" {
		t.Errorf("first = %+v", got[0])
	}
	if got[1].FaultSubcode != wsman.SubcodeDestinationUnreachable {
		t.Errorf("second = %+v", got[1])
	}
	if got[2].Action != wsman.ActionIdentify {
		t.Errorf("third = %+v", got[2])
	}
}

func TestOperationTimeoutCapped(t *testing.T) {
	s := newTestService(t, wsman.Config{MaxOperationTimeout: 20 * time.Millisecond})
	req := wsmantest.NewRequest(wsmantest.ResourceURI+"/Sleep", wsmantest.ResourceURI, nil, "")
	req = []byte(strings.Replace(string(req), "PT20S", "PT600S", 1))
	resp := serve(t, s, user, req)
	if sub, _ := faultOf(t, resp); sub != "w:TimedOut" {
		t.Errorf("fault %q, want w:TimedOut", sub)
	}
}

func TestDuplicateMessageIDDisabled(t *testing.T) {
	s := newTestService(t, wsman.Config{DuplicateMessageIDs: -1})
	req := wsmantest.NewRequestID("0", wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, "")
	for i := 0; i < 2; i++ {
		if sub, _ := faultOf(t, serve(t, s, user, req)); sub != "" {
			t.Fatalf("request %d: fault %q", i, sub)
		}
	}
	// Enabled, the same ID from another user is fine.
	s = newTestService(t, wsman.Config{})
	serve(t, s, user, req)
	if sub, _ := faultOf(t, serve(t, s, wsman.Caller{User: "bob"}, req)); sub != "" {
		t.Fatalf("other user: fault %q", sub)
	}
}

func TestHandle(t *testing.T) {
	s := wsman.NewService(wsman.Config{})
	defer s.Close()
	base := "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2"
	s.Handle(base, wsmantest.NewResource(1))
	s.Handle(base+"/VSMIG_Test", bigResource{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate Handle did not panic")
			}
		}()
		s.Handle(base, bigResource{})
	}()
	// .../VSMIG_TestItem is not under .../VSMIG_Test: the shorter
	// prefix (the test resource) serves it.
	resp := serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""))
	if findText(t, resp, wsmantest.ResourceURI, "Name") != "item-1" {
		t.Errorf("wrong resource:\n%s", resp)
	}
	resp = serve(t, s, user, wsmantest.NewRequest(wsmantest.ActionGet, base+"/VSMIG_Test", nil, ""))
	if findText(t, resp, bigURI, "Data") == "" {
		t.Errorf("wrong resource:\n%s", resp)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := wsman.NewService(wsman.Config{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent runs Gets and whole enumerations in parallel (meant for
// -race).
func TestConcurrent(t *testing.T) {
	s := newTestService(t, wsman.Config{})
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				resp, status := s.ServeSOAP(context.Background(), user,
					wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""))
				if status != 200 {
					t.Errorf("Get: %s", resp)
					return
				}
				id := enumerateContext(t, s, user)
				for n := 0; id != "" && n < 5; n++ {
					id = findText(t, pull(s, user, wsmantest.ResourceURI, id, 2), wsman.NSEnumeration, "EnumerationContext")
				}
				if id != "" {
					t.Errorf("enumeration did not end")
				}
			}
		}()
	}
	wg.Wait()
	if n := s.OpenEnumerations(); n != 0 {
		t.Errorf("OpenEnumerations = %d", n)
	}
}
