package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os/signal"
	"syscall"

	"github.com/vsmig/vsmig/wsman"
	"github.com/vsmig/vsmig/wsman/auth"
	"github.com/vsmig/vsmig/wsman/server"
)

// Example shows how a daemon wires the WS-Management endpoint: a Service,
// its HTTP binding with Basic authentication from a users file (and
// client certificates first), a mux with extra handlers, and Run until a
// signal arrives.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	basic, err := auth.NewBasicFile(auth.BasicFileConfig{Path: "/etc/vsmig/users"})
	if err != nil {
		log.Fatal(err)
	}
	certs, err := auth.LoadCertMap("/etc/vsmig/clientcerts")
	if err != nil {
		log.Fatal(err)
	}
	svc := wsman.NewService(wsman.Config{ProductVendor: "vsmig", ProductVersion: "1.0"})
	defer svc.Close()
	// svc.Handle(resourceURIPrefix, resource) for each resource ...

	mux := http.NewServeMux()
	wsmanHandler := wsman.NewHTTPHandler(svc, wsman.HTTPConfig{
		Authenticator: auth.Chain(auth.NewClientCert(certs), basic),
	})
	mux.Handle(wsman.PathWSMan, wsmanHandler)
	mux.Handle(wsman.PathAnonIdentify, wsmanHandler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })

	cfg := server.Config{StateDir: "/var/lib/vsmig", RequestClientCert: true}
	err = server.Run(ctx, cfg, mux, func(a server.Addrs) {
		log.Printf("listening on %s, certificate SHA-256 %s", a.HTTPS, a.CertFingerprint)
	})
	if err != nil {
		log.Fatal(err)
	}
}
