// Command vsmigd is the vsmig daemon: a WS-Management (WinRM) server that
// implements the DMTF Virtual System Migration Profile (DSP1081) for the
// KVM host it runs on.
//
//	vsmigd [serve] [-config FILE] [-key value ...]        run the server
//	vsmigd user add NAME [-users-file F]                  add or reset a user (password on stdin)
//	vsmigd user remove NAME [-users-file F]               remove a user
//	vsmigd fingerprint [-config FILE] [-key value ...]    print the TLS certificate's SHA-256 fingerprint
//	vsmigd version
//	vsmigd help [--man]
//
// The help and the manual page are rendered from the command table in
// help.go and the settings in config.go.
package main

import (
	"context"
	"errors"
	"flag"
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

// Exit codes of cli.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2 // bad usage or configuration, or state the operator must repair first
)

// cli runs one vsmigd command and returns the process exit code: 0 success
// (the help included), 1 failure, 2 bad usage or configuration, or state
// the operator must repair first (a damaged job store, an unsafe state
// directory; see exitCode).
func cli(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && isCommand(args[0]) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version", "help":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		man := new(bool)
		if cmd == "help" {
			man = helpFlags(fs)
		}
		if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
			if errors.Is(err, flag.ErrHelp) {
				program().WriteCommandHelp(stdout, cmd)
				return exitOK
			}
			fmt.Fprintf(stderr, "vsmigd: usage: vsmigd %s ('vsmigd help' says more)\n", cmd)
			return exitUsage
		}
		switch {
		case cmd == "version":
			fmt.Fprintln(stdout, "vsmigd", version)
		case *man:
			program().WriteMan(stdout)
		default:
			program().WriteHelp(stdout)
		}
		return exitOK
	case "user":
		return userCommand(args, stdin, stdout, stderr, getenv)
	}
	cfg, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		program().WriteHelp(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return exitUsage
	}
	if cmd == "fingerprint" {
		return fingerprintCommand(cfg, stdout, stderr)
	}
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return exitCode(err)
	}
	return exitOK
}

// isCommand reports whether word is one of vsmigd's commands.
func isCommand(word string) bool {
	switch word {
	case "serve", "user", "fingerprint", "version", "help":
		return true
	}
	return false
}

// fingerprintCommand prints the SHA-256 fingerprint of the certificate the
// server presents (generating the self-signed one if there is none yet), so
// that clients can pin it: vsmigctl --fingerprint, VSMIG_FINGERPRINT.
func fingerprintCommand(cfg Config, stdout, stderr io.Writer) int {
	cert, err := server.LoadCert(server.Config{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, StateDir: cfg.StateDir})
	if err != nil {
		fmt.Fprintln(stderr, "vsmigd:", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, cert.Fingerprint)
	return exitOK
}
