package wsbind_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman/wsmantest"
)

var (
	contextRE = regexp.MustCompile(`<n:EnumerationContext>([^<]+)</n:EnumerationContext>`)
	nameRE    = regexp.MustCompile(`<w:Selector Name="Name">([^<]+)</w:Selector>`)
)

// pullAll enumerates uri (EnumerateObjectAndEPR, optimized, maxElements per
// batch) and pulls to the end; it returns the instance names seen, in order.
func pullAll(tb testing.TB, m *model, uri string, maxElements int) []string {
	var names []string
	pull(tb, m, uri, maxElements, func(resp []byte) {
		for _, sm := range nameRE.FindAllSubmatch(resp, -1) {
			names = append(names, string(sm[1]))
		}
	})
	return names
}

// pull runs the enumeration, handing each response to seen.
func pull(tb testing.TB, m *model, uri string, maxElements int, seen func(resp []byte)) {
	tb.Helper()
	enumerate := wsmantest.NewRequestID(fixedID, actionEnumerate, uri, nil, wsmantest.EnumerateBody(true, maxElements, "EnumerateObjectAndEPR"))
	enumerate = bytes.Replace(enumerate, []byte(">153600<"), []byte(">512000<"), 1)
	resp, status := m.serve(tb, enumerate)
	for i := 0; ; i++ {
		if status != 200 {
			tb.Fatalf("status %d: %s", status, resp)
		}
		seen(resp)
		cm := contextRE.FindSubmatch(resp)
		if cm == nil {
			return
		}
		if i > 100000 {
			tb.Fatal("enumeration does not end")
		}
		pull := wsmantest.NewRequestID(fmt.Sprintf("uuid:00000000-0000-4000-8000-%012d", i), actionPull, uri, nil, wsmantest.PullBody(string(cm[1]), maxElements))
		pull = bytes.Replace(pull, []byte(">153600<"), []byte(">512000<"), 1)
		resp, status = m.serve(tb, pull)
	}
}

func TestEnumeratePullAll(t *testing.T) {
	m := newModel(t, 1200)
	names := pullAll(t, m, uriCS, 500)
	if len(names) != 1201 {
		t.Fatalf("got %d instances, want 1201", len(names))
	}
	// every instance once, in the Broker's order: the host, then the VMs
	if names[0] != "host-a" || names[1] != "vm-01" || names[1200] != "vm-1200" {
		t.Errorf("order: %s %s ... %s", names[0], names[1], names[1200])
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("%s seen twice", n)
		}
		seen[n] = true
	}
}

// BenchmarkEnumerate10k enumerates 10,000 CIM_ComputerSystem instances
// through ServeSOAP the way a polling client does: EnumerateObjectAndEPR,
// optimized, MaxElements 500, pulling to the end.
func BenchmarkEnumerate10k(b *testing.B) {
	m := newModel(b, 9999)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		pull(b, m, uriCS, 500, func(resp []byte) { n += bytes.Count(resp, []byte("<w:Item>")) })
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "instances/s")
	if n != 10000*b.N {
		b.Fatalf("%d instances, want %d", n, 10000*b.N)
	}
}
