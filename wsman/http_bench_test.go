package wsman_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

// benchClients is the number of concurrent clients of the load generator
// (the openwsman anchor figures use 32 connections).
const benchClients = 32

// benchRequests build one fresh envelope per call (the service refuses a
// reused MessageID).
var benchRequests = []struct {
	name string
	body func() []byte
}{
	{"Identify", func() []byte { return wsmantest.NewIdentifyRequest() }},
	{"Get", func() []byte {
		return wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-42"}, "")
	}},
	{"Enumerate100", func() []byte {
		return wsmantest.NewRequest(wsmantest.ActionEnumerate, wsmantest.ResourceURI, nil, wsmantest.EnumerateBody(true, 100, ""))
	}},
	{"Invoke", func() []byte {
		return wsmantest.NewRequest(wsmantest.ResourceURI+"/Echo", wsmantest.ResourceURI, map[string]string{"Name": "item-7"},
			`<p:Echo_INPUT xmlns:p="`+wsmantest.ResourceURI+`"><p:Text>hello</p:Text></p:Echo_INPUT>`)
	}},
}

// BenchmarkHTTP measures the whole stack over loopback with a load
// generator in the same process (so the 2 cores are shared, as with the
// openwsman anchors): 32 concurrent clients, Basic auth against a bcrypt
// users file (the credential cache at work), TLS 1.3 with keep-alive, and
// plain HTTP with `Connection: close` for comparison with openwsmand.
// Metrics: req/s, p50/p99 latency in microseconds; allocs/op counts the
// client and the server together.
func BenchmarkHTTP(b *testing.B) {
	s := startE2E(b, e2eOptions{items: 100, allowUnencrypted: true, maxConns: 4 * benchClients})
	transports := []struct {
		name  string
		url   string
		close bool
	}{
		{"HTTPS-keepalive", s.HTTPS, false},
		{"HTTP-close", s.HTTP, true},
	}
	for _, tr := range transports {
		for _, rq := range benchRequests {
			if tr.close && rq.name != "Identify" && rq.name != "Get" {
				continue
			}
			b.Run(tr.name+"/"+rq.name, func(b *testing.B) {
				client := &http.Client{Transport: &http.Transport{
					TLSClientConfig:     &tls.Config{RootCAs: s.RootCAs, MinVersion: tls.VersionTLS13},
					MaxIdleConnsPerHost: benchClients,
					DisableKeepAlives:   tr.close,
				}}
				defer client.CloseIdleConnections()
				runLoad(b, client, tr.url, rq.body)
			})
		}
	}
}

// runLoad sends b.N requests from benchClients goroutines and reports
// throughput and latency percentiles.
func runLoad(b *testing.B, client *http.Client, url string, body func() []byte) {
	send := func() (time.Duration, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body()))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		req.SetBasicAuth(e2eUser, e2ePassword)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return d, err
	}
	// Warm up: connections, TLS sessions and the credential cache.
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			if _, err := send(); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}

	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism((benchClients + runtimeProcs() - 1) / runtimeProcs()) // RunParallel starts parallelism x GOMAXPROCS goroutines
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			d, err := send()
			if err != nil {
				b.Error(err)
				return
			}
			lat = append(lat, d)
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkHTTPHandlerGet measures the server side alone (handler,
// cached Basic auth, service, resource) without sockets or TLS, so its
// allocs/op are the server's per-request allocations.
func BenchmarkHTTPHandlerGet(b *testing.B) {
	dir := b.TempDir()
	hash, err := auth.HashPassword(e2ePassword)
	if err != nil {
		b.Fatal(err)
	}
	users := dir + "/users"
	if err := auth.AddUser(users, e2eUser, hash); err != nil {
		b.Fatal(err)
	}
	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: users})
	if err != nil {
		b.Fatal(err)
	}
	svc := wsman.NewService(wsman.Config{DuplicateMessageIDs: -1})
	defer svc.Close()
	svc.Handle(wsmantest.ResourceURI, wsmantest.NewResource(100))
	h := wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Authenticator: basic})
	body := wsmantest.NewRequest(wsmantest.ActionGet, wsmantest.ResourceURI, map[string]string{"Name": "item-42"}, "")
	newReq := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "https://vsmig.test/wsman", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		r.SetBasicAuth(e2eUser, e2ePassword)
		return r
	}
	h.ServeHTTP(httptest.NewRecorder(), newReq()) // fill the credential cache
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq())
		if rec.Code != http.StatusOK {
			b.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
