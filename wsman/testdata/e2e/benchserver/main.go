// Command benchserver runs the vsmig WS-Management stack (server.Run,
// NewHTTPHandler, Basic auth against a bcrypt users file, the wsmantest
// resource) for load generators such as wrk, so that its figures can be
// compared with the openwsmand anchors measured the same way
// (/work/shared/reference/perf-anchors.md). It lives under testdata so
// that `go build ./...` ignores it:
//
//	go run ./wsman/testdata/e2e/benchserver -for 60s &
//	wrk -t2 -c32 -d15s --latency -s wsman/testdata/e2e/wrk/get.lua https://127.0.0.1:15986/wsman
//
// The user is bench / bench (so wrk's scripts can carry a fixed
// Authorization header); plain HTTP accepts Basic for the Connection:
// close comparison.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/server"
	"github.com/vsmig/vsmig/wsman/wsmantest"
)

func main() {
	httpsAddr := flag.String("https", "127.0.0.1:15986", "HTTPS listen address")
	httpAddr := flag.String("http", "127.0.0.1:15985", "HTTP listen address")
	items := flag.Int("items", 100, "items of the test resource")
	state := flag.String("state", "", "state directory (default: a temporary directory)")
	runFor := flag.Duration("for", time.Minute, "stop after this long (bounded load tests)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}

	dir := *state
	if dir == "" {
		d, err := os.MkdirTemp("", "vsmig-bench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	users := filepath.Join(dir, "users")
	hash, err := auth.HashPassword("bench")
	if err != nil {
		log.Fatal(err)
	}
	if err := auth.AddUser(users, "bench", hash); err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: users, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	svc := wsman.NewService(wsman.Config{ProductVendor: "vsmig bench", ProductVersion: "bench", Logger: logger})
	defer svc.Close()
	svc.Handle(wsmantest.ResourceURI, wsmantest.NewResource(*items))
	h := wsman.NewHTTPHandler(svc, wsman.HTTPConfig{Authenticator: basic, AllowUnencrypted: true, Logger: logger})

	ctx, cancel := context.WithTimeout(context.Background(), *runFor)
	defer cancel()
	cfg := server.Config{HTTPSAddr: *httpsAddr, HTTPAddr: *httpAddr, StateDir: dir, Logger: logger}
	err = server.Run(ctx, cfg, h, func(a server.Addrs) {
		fmt.Printf("https=%s http=%s sha256=%s\n", a.HTTPS, a.HTTP, a.CertFingerprint)
	})
	if err != nil {
		log.Fatal(err)
	}
}
