package wsman_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// benchService has duplicate-MessageID detection off so that one request
// can be replayed.
func benchService(b *testing.B, items int) *wsman.Service {
	s := wsman.NewService(wsman.Config{DuplicateMessageIDs: -1, Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { s.Close() })
	s.Handle(wsmantest.ResourceURI, wsmantest.NewResource(items))
	return s
}

func benchServe(b *testing.B, s *wsman.Service, req []byte) {
	b.Helper()
	ctx := context.Background()
	if _, status := s.ServeSOAP(ctx, user, req); status != 200 {
		resp, _ := s.ServeSOAP(ctx, user, req)
		b.Fatalf("status %d\n%s", status, resp)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	b.ResetTimer()
	for b.Loop() {
		s.ServeSOAP(ctx, user, req)
	}
}

func BenchmarkServeSOAPIdentify(b *testing.B) {
	benchServe(b, benchService(b, 1), wsmantest.NewIdentifyRequest())
}

func BenchmarkServeSOAPGet(b *testing.B) {
	benchServe(b, benchService(b, 3), wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-2"}, ""))
}

func BenchmarkServeSOAPEnumerate100(b *testing.B) {
	s := benchService(b, 100)
	benchServe(b, s, wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 100, "EnumerateObjectAndEPR")))
	if n := s.OpenEnumerations(); n != 0 {
		b.Fatalf("%d contexts left open", n)
	}
}

func BenchmarkServeSOAPInvoke(b *testing.B) {
	benchServe(b, benchService(b, 1), wsmantest.NewRequest(wsmantest.ResourceURI+"/Echo", wsmantest.ResourceURI, map[string]string{"Name": "item-1"},
		`<p:Echo_INPUT xmlns:p="`+wsmantest.ResourceURI+`"><p:Text>hello</p:Text></p:Echo_INPUT>`))
}
