package wsman_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// TestOperationTimeoutFaults (issue #14): "-P1D", a negative xs:duration,
// and "PT-5S", no xs:duration at all, are the same mistake and get the
// same fault; zero is a valid timeout that has already expired.
func TestOperationTimeoutFaults(t *testing.T) {
	get := string(wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-1"}, ""))
	s := newTestService(t, wsman.Config{DuplicateMessageIDs: -1})
	for _, tc := range []struct{ timeout, subcode string }{
		{"-P1D", "a:InvalidMessageInformationHeader"},
		{"PT-5S", "a:InvalidMessageInformationHeader"},
		{"-PT5S", "a:InvalidMessageInformationHeader"},
		{"P1S", "a:InvalidMessageInformationHeader"},
		{"PT0S", "w:TimedOut"},
		{"P1Y", ""},
		{"P0Y1D", ""},
	} {
		body := strings.Replace(get, "PT20S", tc.timeout, 1)
		resp, _ := s.ServeSOAP(context.Background(), user, []byte(body))
		sub := ""
		if strings.Contains(string(resp), "Fault>") {
			sub, _ = faultOf(t, resp)
		}
		if sub != tc.subcode {
			t.Errorf("OperationTimeout %s: fault %q, want %q\n%s", tc.timeout, sub, tc.subcode, resp)
		}
	}
}
