package wsman_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
)

// eventingCases are the golden wire files of WS-Eventing (DSP0226 §10),
// the requests shaped like DSP0226's examples. setup requests run first;
// {{CONTEXT}} and {{IDENTIFIER}} take the last enumeration context and
// wse:Identifier seen.
var eventingCases = []goldenCase{
	{name: "subscribe_pull"},
	{name: "subscribe_push"},
	{name: "subscribe_pushwithack"},
	{name: "subscribe_events_basic"},
	{name: "renew", setup: []string{"subscribe_pull.xml"}},
	{name: "getstatus", setup: []string{"subscribe_pull.xml"}},
	{name: "getstatus_after_renew", file: "getstatus.xml", setup: []string{"subscribe_pull.xml", "renew.xml"}},
	{name: "unsubscribe", setup: []string{"subscribe_pull.xml"}},
	{name: "pull_events", setup: []string{"subscribe_pull.xml", "put_item1.xml"}},
	{name: "pull_events_earliest", file: "pull_events.xml", setup: []string{"put_item1.xml", "subscribe_pull_earliest.xml"}},
	{name: "release_subscription", setup: []string{"subscribe_pull.xml"}},

	{name: "fault_subscribe_delivery_mode", subcode: "e:DeliveryModeRequestedUnavailable"},
	{name: "fault_subscribe_expires_invalid", subcode: "e:InvalidExpirationTime", detail: "ExpirationTime"},
	{name: "fault_subscribe_expires_past", subcode: "e:InvalidExpirationTime", detail: "ExpirationTime"},
	{name: "fault_subscribe_expires_unsupported", subcode: "e:UnsupportedExpirationType"},
	{name: "fault_subscribe_filter_dialect", subcode: "e:FilteringRequestedUnavailable"},
	{name: "fault_subscribe_bad_wql", subcode: "w:CannotProcessFilter"},
	{name: "fault_subscribe_filter_class", subcode: "w:CannotProcessFilter"},
	{name: "fault_subscribe_auth_profile", subcode: "w:UnsupportedFeature", detail: "AuthorizationMode"},
	{name: "fault_subscribe_heartbeats", subcode: "w:UnsupportedFeature", detail: "Heartbeats"},
	{name: "fault_subscribe_bookmark", subcode: "w:InvalidBookmark", detail: "Invalid"},
	{name: "fault_subscribe_no_notify_to", subcode: "e:InvalidMessage"},
	{name: "fault_subscribe_notify_to_scheme", subcode: "w:UnsupportedFeature", detail: "AddressingMode"},
	{name: "fault_subscribe_not_supported", subcode: "a:ActionNotSupported"},
	{name: "fault_subscribe_push_target", file: "subscribe_push.xml", pushTargets: ptr("10.0.0.0/8"), subcode: "w:UnsupportedFeature", detail: "AddressingMode"},
	{name: "fault_subscribe_push_off", file: "subscribe_push.xml", pushTargets: ptr(""), subcode: "w:UnsupportedFeature", detail: "AddressingMode"},
	{name: "subscribe_push_allowed", file: "subscribe_push.xml", pushTargets: ptr("127.0.0.0/8")},
	{name: "fault_renew_unknown", subcode: "e:UnableToRenew"},
	{name: "fault_unsubscribe_unknown", subcode: "a:DestinationUnreachable", detail: "InvalidValue"},
	{name: "fault_getstatus_no_identifier", subcode: "a:MessageInformationHeaderRequired"},
	{name: "fault_renew_after_unsubscribe", file: "renew.xml", setup: []string{"subscribe_pull.xml", "unsubscribe.xml"}, subcode: "e:UnableToRenew"},
	{name: "fault_pull_events_timed_out", setup: []string{"subscribe_pull.xml"}, subcode: "n:TimedOut"},
	{name: "fault_pull_after_release", file: "pull_events.xml", setup: []string{"subscribe_pull.xml", "release_subscription.xml"}, subcode: "n:InvalidEnumerationContext"},
}

func TestEventingGolden(t *testing.T) {
	for _, tc := range eventingCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := wsman.Config{}
			if tc.pushTargets != nil {
				pt, err := wsman.ParsePushTargets(*tc.pushTargets)
				if err != nil {
					t.Fatal(err)
				}
				cfg.PushTargets = pt
			}
			s := newTestService(t, cfg)
			ctxID, id := "", ""
			fill := func(b []byte) []byte {
				return bytes.ReplaceAll(b, []byte("{{IDENTIFIER}}"), []byte(id))
			}
			for _, f := range tc.setup {
				resp, status := s.ServeSOAP(context.Background(), user, fill(readRequest(t, f, ctxID)))
				if status != 200 {
					t.Fatalf("setup %s: status %d\n%s", f, status, resp)
				}
				if v := findText(t, resp, wsman.NSEnumeration, "EnumerationContext"); v != "" {
					ctxID = v
				}
				if v := findText(t, resp, wsman.NSEventing, "Identifier"); v != "" {
					id = v
				}
			}
			file := tc.file
			if file == "" {
				file = tc.name + ".xml"
			}
			resp, status := s.ServeSOAP(context.Background(), user, fill(readRequest(t, file, ctxID)))
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
			got := canonicalEvents(t, resp)
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
			if w := canonicalEvents(t, want); got != w {
				t.Errorf("response differs from %s\ngot:\n%s\nwant:\n%s", golden, got, w)
			}
		})
	}
}

// canonicalEvents is canonical with subscription identifiers replaced too.
func canonicalEvents(t testing.TB, b []byte) string {
	doc := parse(t, []byte(canonical(t, b)))
	walk(doc.Root(), func(e *etree.Element) {
		if e.Tag == "Identifier" && e.NamespaceURI() == wsman.NSEventing {
			e.SetText("uuid:IDENTIFIER")
		}
	})
	doc.Indent(1)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
