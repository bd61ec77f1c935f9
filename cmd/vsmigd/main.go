// Command vsmigd is the vsmig daemon: a WS-Management (WinRM) server that
// implements the DMTF Virtual System Migration Profile (DSP1081) for the
// KVM host it runs on.
//
//	vsmigd [serve] [-config FILE] [-key value ...]   run the server
//	vsmigd user add NAME [-users-file F]             add or reset a user (password on stdin)
//	vsmigd user remove NAME [-users-file F]          remove a user
//	vsmigd fingerprint [-config FILE] [-key value ...]   print the TLS certificate's SHA-256 fingerprint
//	vsmigd version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vsmig/vsmig/wsman/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// cli runs one vsmigd command and returns the process exit code: 0 success,
// 1 failure, 2 bad usage or configuration, or state the operator must
// repair first (a damaged job store, an unsafe state directory; see
// exitCode).
func cli(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "user" || args[0] == "fingerprint" || args[0] == "version" || args[0] == "help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "vsmigd", version)
		return 0
	case "help":
		cfg := defaultConfig()
		fmt.Fprint(stdout, usage(cfg.settings()))
		return 0
	case "user":
		return userCommand(args, stdin, stdout, stderr, getenv)
	}
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return 2
	}
	if cmd == "fingerprint" {
		return fingerprintCommand(cfg, stdout, stderr)
	}
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return exitCode(err)
	}
	return 0
}

// fingerprintCommand prints the SHA-256 fingerprint of the certificate the
// server presents (generating the self-signed one if there is none yet), so
// that clients can pin it: vsmigctl --fingerprint, VSMIG_FINGERPRINT.
func fingerprintCommand(cfg Config, stdout, stderr io.Writer) int {
	cert, err := server.LoadCert(server.Config{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, StateDir: cfg.StateDir})
	if err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return 1
	}
	fmt.Fprintln(stdout, cert.Fingerprint)
	return 0
}
