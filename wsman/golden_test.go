package wsman_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	bigURI    = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/VSMIG_Big"
	brokenURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/VSMIG_Broken"
)

// bigResource returns representations larger than the minimum envelope.
type bigResource struct{}

func bigElement() *etree.Element {
	e := etree.NewElement("p:VSMIG_Big")
	e.CreateAttr("xmlns:p", bigURI)
	e.CreateElement("p:Data").SetText(strings.Repeat("0123456789", 1000))
	return e
}

func (bigResource) Get(context.Context, *wsman.Request) (*etree.Element, error) {
	return bigElement(), nil
}

func (bigResource) Enumerate(context.Context, *wsman.EnumerateRequest) ([]wsman.Item, error) {
	return []wsman.Item{{Object: bigElement(), EPR: &wsman.EPR{ResourceURI: bigURI}}}, nil
}

// brokenResource fails with an internal error.
type brokenResource struct{}

func (brokenResource) Get(context.Context, *wsman.Request) (*etree.Element, error) {
	return nil, errors.New("database /var/lib/secret.db exploded")
}

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// newTestService returns a Service with the test resources registered.
func newTestService(t testing.TB, cfg wsman.Config) *wsman.Service {
	t.Helper()
	if cfg.ProductVendor == "" {
		cfg.ProductVendor = "vsmig"
		cfg.ProductVersion = "0.1.0"
		cfg.SecurityProfiles = []string{wsman.NSWSManSecProf + "/https/basic"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	s := wsman.NewService(cfg)
	t.Cleanup(func() { s.Close() })
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(3))
	s.Handle(bigURI, bigResource{})
	s.Handle(brokenURI, brokenResource{})
	return s
}

var user = wsman.Caller{User: "alice", RemoteAddr: "192.0.2.1:40000"}

type goldenCase struct {
	name      string
	file      string   // request file; name + ".xml" when empty
	setup     []string // request files sent first; {{CONTEXT}} takes the last context seen
	anonymous bool
	subcode   string // expected fault subcode (or code); "" for success
	detail    string // expected fault detail name
	// pushTargets, if set, is the service's PushTargets list.
	pushTargets *string
}

var goldenCases = []goldenCase{
	{name: "identify"},
	{name: "identify_anonymous", file: "identify.xml", anonymous: true},
	{name: "get_windows"},
	{name: "get_pywinrm"},
	{name: "get_windows_mi"},
	{name: "put"},
	{name: "create"},
	{name: "delete"},
	{name: "enumerate"},
	{name: "pull", setup: []string{"enumerate.xml"}},
	{name: "pull_last", setup: []string{"enumerate.xml", "pull.xml"}},
	{name: "release", setup: []string{"enumerate.xml"}},
	{name: "enumerate_optimized"},
	{name: "enumerate_optimized_partial"},
	{name: "enumerate_epr"},
	{name: "enumerate_objectandepr"},
	{name: "enumerate_selectorfilter"},
	{name: "enumerate_wql"},
	{name: "enumerate_association"},
	{name: "invoke"},
	{name: "invoke_openwsman"},

	{name: "fault_action_not_supported", subcode: "a:ActionNotSupported"},
	{name: "fault_invoke_unknown_method", subcode: "a:ActionNotSupported"},
	{name: "fault_destination_unreachable", subcode: "a:DestinationUnreachable", detail: "InvalidResourceURI"},
	{name: "fault_missing_resource_uri", subcode: "a:DestinationUnreachable", detail: "InvalidResourceURI"},
	{name: "fault_not_found", subcode: "a:DestinationUnreachable"},
	{name: "fault_insufficient_selectors", subcode: "w:InvalidSelectors", detail: "InsufficientSelectors"},
	{name: "fault_unexpected_selectors", subcode: "w:InvalidSelectors", detail: "UnexpectedSelectors"},
	{name: "fault_duplicate_selectors", subcode: "w:InvalidSelectors", detail: "DuplicateSelectors"},
	{name: "fault_must_understand", subcode: "s:MustUnderstand"},
	{name: "fault_version_mismatch", subcode: "s:VersionMismatch"},
	{name: "fault_missing_message_id", subcode: "a:MessageInformationHeaderRequired"},
	{name: "fault_missing_action", subcode: "a:MessageInformationHeaderRequired"},
	{name: "fault_missing_reply_to", subcode: "a:MessageInformationHeaderRequired"},
	{name: "fault_reply_to_not_anonymous", subcode: "w:UnsupportedFeature", detail: "AddressingMode"},
	{name: "fault_fault_to", subcode: "w:UnsupportedFeature", detail: "AddressingMode"},
	{name: "fault_duplicate_message_id", setup: []string{"fault_duplicate_message_id.xml"}, subcode: "a:InvalidMessageInformationHeader", detail: "DuplicateMessageID"},
	{name: "fault_minimum_envelope", subcode: "w:EncodingLimit", detail: "MinimumEnvelopeLimit"},
	{name: "fault_operation_timeout", subcode: "a:InvalidMessageInformationHeader", detail: "OperationTimeout"},
	{name: "fault_locale_must_understand", subcode: "w:UnsupportedFeature", detail: "Locale"},
	{name: "fault_access_denied", anonymous: true, subcode: "w:AccessDenied"},
	{name: "fault_filter_dialect", subcode: "n:FilterDialectRequestedUnavailable"},
	{name: "fault_both_filters", subcode: "n:CannotProcessFilter"},
	{name: "fault_bad_wql", subcode: "n:CannotProcessFilter"},
	{name: "fault_enumeration_mode", subcode: "w:UnsupportedFeature", detail: "EnumerationMode"},
	{name: "fault_invalid_enumeration_context", subcode: "n:InvalidEnumerationContext"},
	{name: "fault_malformed", subcode: "w:SchemaValidationError"},
	{name: "fault_dtd", subcode: "w:SchemaValidationError"},
	{name: "fault_missing_body", subcode: "w:SchemaValidationError"},
	{name: "fault_encoding_limit", subcode: "w:EncodingLimit", detail: "ServiceEnvelopeLimit"},
	{name: "fault_enumerate_item_too_big", subcode: "w:EncodingLimit", detail: "ServiceEnvelopeLimit"},
	{name: "fault_timed_out", subcode: "w:TimedOut"},
	{name: "fault_internal_error", subcode: "w:InternalError"},
	{name: "fault_put_no_body", subcode: "x:InvalidRepresentation", detail: "MissingValues"},
	{name: "fault_already_exists", subcode: "w:AlreadyExists"},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, wsman.Config{})
			ctxID := ""
			for _, f := range tc.setup {
				resp, _ := s.ServeSOAP(context.Background(), user, readRequest(t, f, ctxID))
				if id := findText(t, resp, wsman.NSEnumeration, "EnumerationContext"); id != "" {
					ctxID = id
				}
			}
			file := tc.file
			if file == "" {
				file = tc.name + ".xml"
			}
			caller := user
			if tc.anonymous {
				caller = wsman.Caller{Anonymous: true}
			}
			resp, status := s.ServeSOAP(context.Background(), caller, readRequest(t, file, ctxID))
			wantStatus := 200
			if tc.subcode != "" {
				wantStatus = 500
			}
			if status != wantStatus {
				t.Errorf("status = %d, want %d\n%s", status, wantStatus, resp)
			}
			if tc.subcode != "" {
				sub, detail := faultOf(t, resp)
				if sub != tc.subcode || detail != tc.detail {
					t.Errorf("fault = %s/%s, want %s/%s\n%s", sub, detail, tc.subcode, tc.detail, resp)
				}
			}
			got := canonical(t, resp)
			golden := filepath.Join("testdata", tc.name+".golden.xml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if w := canonical(t, want); got != w {
				t.Errorf("response differs from %s\ngot:\n%s\nwant:\n%s", golden, got, w)
			}
		})
	}
}

func readRequest(t testing.TB, name, ctxID string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("{{CONTEXT}}"), []byte(ctxID))
}

func parse(t testing.TB, b []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, b)
	}
	return doc
}

// walk calls fn for every element under e.
func walk(e *etree.Element, fn func(*etree.Element)) {
	fn(e)
	for _, c := range e.ChildElements() {
		walk(c, fn)
	}
}

// findText returns the text of the first element {ns}local in b.
func findText(t testing.TB, b []byte, ns, local string) string {
	var out string
	walk(parse(t, b).Root(), func(e *etree.Element) {
		if out == "" && e.Tag == local && e.NamespaceURI() == ns {
			out = e.Text()
		}
	})
	return out
}

// faultOf returns the subcode (or code when there is none) and the detail
// name of a fault response.
func faultOf(t testing.TB, b []byte) (subcode, detail string) {
	doc := parse(t, b)
	code := doc.FindElement("//Fault/Code/Value")
	sub := doc.FindElement("//Fault/Code/Subcode/Value")
	if sub != nil {
		subcode = sub.Text()
	} else if code != nil {
		subcode = code.Text()
	}
	if d := doc.FindElement("//Fault/Detail/FaultDetail"); d != nil {
		detail = strings.TrimPrefix(d.Text(), wsman.FaultDetailPrefix)
	}
	return subcode, detail
}

// canonical normalizes a response for comparison: random MessageIDs and
// enumeration contexts are replaced and the document is indented.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	doc := parse(t, b)
	walk(doc.Root(), func(e *etree.Element) {
		switch {
		case e.Tag == "MessageID" && e.NamespaceURI() == wsman.NSAddressing:
			e.SetText("uuid:00000000-0000-0000-0000-000000000000")
		case e.Tag == "EnumerationContext" && e.NamespaceURI() == wsman.NSEnumeration && e.Text() != "":
			e.SetText("uuid:CONTEXT")
		}
	})
	doc.Indent(1)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
