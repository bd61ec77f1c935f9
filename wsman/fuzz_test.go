package wsman_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// FuzzServeSOAP feeds arbitrary bodies to a Service: it must never panic,
// and must always answer 200 or 500 with a well-formed SOAP envelope.
func FuzzServeSOAP(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add(wsmantest.NewIdentifyRequest(), true)
	s := wsman.NewService(wsman.Config{DuplicateMessageIDs: -1, Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(3))
	f.Fuzz(func(t *testing.T, body []byte, anonymous bool) {
		caller := wsman.Caller{User: "fuzz", Anonymous: anonymous}
		resp, status := s.ServeSOAP(context.Background(), caller, body)
		if status != 200 && status != 500 {
			t.Fatalf("status %d", status)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(resp); err != nil {
			t.Fatalf("response is not XML: %v\n%s", err, resp)
		}
		if r := doc.Root(); r == nil || r.Tag != "Envelope" || r.NamespaceURI() != wsman.NSSOAP12 {
			t.Fatalf("response is not a SOAP 1.2 envelope:\n%s", resp)
		}
		if (status == 500) != (doc.FindElement("/Envelope/Body/Fault") != nil) {
			t.Fatalf("status %d does not match body:\n%s", status, resp)
		}
	})
}
