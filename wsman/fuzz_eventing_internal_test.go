package wsman

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecodeSubscribe feeds request documents to the Subscribe decoder
// (Body, wst:IssuedTokens credentials, filters, expiry): it must never
// panic, and what it accepts must be within the service's bounds.
func FuzzDecodeSubscribe(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*subscribe*.xml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := parseDocument(body)
		if err != nil {
			return
		}
		env, fault := decodeEnvelope(root)
		if fault != nil || env.req.Body == nil {
			return
		}
		sb, fault := decodeSubscribe(env, now)
		if fault != nil {
			if fault.Subcode == "" && fault.Code == "" {
				t.Fatalf("fault without code: %+v", fault)
			}
			return
		}
		if sb.heartbeat != 0 && sb.heartbeat < minHeartbeat {
			t.Fatalf("heartbeat %v below the minimum", sb.heartbeat)
		}
		if sb.maxTime > maxBatchWait || sb.retries < 0 {
			t.Fatalf("unbounded delivery settings: %+v", sb)
		}
		if sb.expires.set && !sb.expires.at.After(now) {
			t.Fatalf("expiry %v accepted though not in the future", sb.expires.at)
		}
	})
}

// FuzzParseExpires: any wse:Expires text gives a fault or a future time.
func FuzzParseExpires(f *testing.F) {
	for _, s := range []string{"PT10M", "P1DT2H", "-PT1S", "PT0S", "2026-11-25T12:00:00Z", "2026-11-25T12:00:00", "2001-01-01T00:00:00+02:00", "tomorrow", "P", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		x, fault := parseExpires(s, now)
		if fault == nil && !x.at.After(now) {
			t.Fatalf("parseExpires(%q) = %v, not after now", s, x.at)
		}
	})
}

// FuzzDeliveryAnswer: a receiver's answer to an event never panics the
// acknowledgement and fault readers.
func FuzzDeliveryAnswer(f *testing.F) {
	f.Add([]byte(`<s:Envelope xmlns:s="` + NSSOAP12 + `" xmlns:a="` + NSAddressing + `"><s:Header><a:Action>` + ActionAck + `</a:Action><a:RelatesTo>uuid:1</a:RelatesTo></s:Header><s:Body/></s:Envelope>`))
	f.Add([]byte(`<s:Envelope xmlns:s="` + NSSOAP12 + `"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:DeliveryRefused</s:Value></s:Subcode></s:Code></s:Fault></s:Body></s:Envelope>`))
	f.Add([]byte("not xml"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkAck(b, "uuid:1")
		_ = faultSubcodeOf(b)
	})
}
