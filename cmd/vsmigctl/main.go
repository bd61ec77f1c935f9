// Command vsmigctl is the command-line client of vsmigd (and of other
// DSP1081 servers over WS-Management).
//
//	vsmigctl [flags] COMMAND [args]
//
// Commands: identify, vms, check VM HOST, migrate VM HOST, jobs, job ID,
// watch ID, cancel ID, errors ID, completion bash|zsh, help [COMMAND].
// Connection settings come from flags, then VSMIG_* environment variables,
// then the config file ($XDG_CONFIG_HOME/vsmig/vsmigctl.json). The help,
// the manual page and the completion scripts are all rendered from the
// command table in help.go.
//
// Exit codes: 0 success; 1..6 the CIM return code of a refused method
// (1 Not Supported, 2 Failed, 3 Timeout, 4 Invalid Parameter, 5 Invalid
// State, 6 Incompatible Parameters); 7 check answered "not migratable";
// 8, 9 and 10 a job that ended Terminated, Killed or in Exception (its
// JobState); 64 bad usage; 69 the server could not be reached; 70 a
// WS-Management fault or other failure; 77 authentication failed; 130
// interrupted while following a job, which goes on.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vsmig/vsmig/wsman/client"
)

// Exit codes; see the package documentation.
const (
	exitOK           = 0
	exitNotMigrating = 7
	exitUsage        = 64
	exitUnavailable  = 69
	exitFailure      = 70
	exitAuth         = 77
	exitInterrupted  = 130
)

// exitError carries a specific exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run parses the program's flags, then the command's, and runs the
// command. -h, -help and --help, anywhere, print the help on stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	s, output, path, rest, err := parseGlobal(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		program().WriteHelp(stdout)
		return exitOK
	}
	if err != nil {
		return report(stderr, err)
	}
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "usage: vsmigctl %s\n'vsmigctl help' lists the commands and their flags.\n", synopsis)
		return exitUsage
	}
	c := findCommand(rest[0])
	if c == nil {
		return report(stderr, usageErrorf("unknown command %q ('vsmigctl help' lists them)", rest[0]))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	runCommand := c.setup(fs)
	pos, err := parseArgs(fs, rest[1:], c.minArgs, c.maxArgs)
	if errors.Is(err, flag.ErrHelp) {
		program().WriteCommandHelp(stdout, c.name)
		return exitOK
	}
	if err != nil {
		code := report(stderr, err)
		fmt.Fprintf(stderr, "usage: vsmigctl [flags] %s ('vsmigctl help %s' says more)\n", commandUsage(c, fs), c.name)
		return code
	}
	a := &app{stdout: stdout, stderr: stderr, cfgPath: path}
	if !c.local {
		if err := a.connect(s, output); err != nil {
			return report(stderr, err)
		}
	}
	return report(stderr, runCommand(ctx, a, pos))
}

// report prints err and chooses the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "vsmigctl:", err)
	var ee *exitError
	var fault *client.Fault
	var throttled *client.ThrottledError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, client.ErrUnauthorized):
		return exitAuth
	case errors.As(err, &throttled):
		// The server checks no credentials from this address for now:
		// retrying at once only prolongs it.
		fmt.Fprint(stderr, throttledHint)
		return exitAuth
	case errors.As(err, &fault):
		return exitFailure
	case untrustedCertificate(err):
		fmt.Fprint(stderr, certificateHint)
		return exitFailure
	case isUnreachable(err):
		return exitUnavailable
	}
	return exitFailure
}

// throttledHint follows an HTTP 429.
const throttledHint = `vsmigctl: the server has seen too many failed logins from this address (your
  own, or others' behind the same NAT) and refuses it until the time above has
  passed. Check the user name and password (VSMIG_USER, VSMIG_PASSWORD or the
  config file) before retrying.
`

// certificateHint follows a certificate the client could not verify: most
// often vsmigd's own self-signed one, which is meant to be pinned.
const certificateHint = `vsmigctl: the server's TLS certificate is not trusted by this machine.
  If it is vsmigd's self-signed certificate, pin it: run 'vsmigd fingerprint'
  on the server and pass what it prints with --fingerprint (or set
  VSMIG_FINGERPRINT). If a CA of your own signed it, name the CA with
  --ca-file. (--insecure turns verification off: for tests only.)
`

// untrustedCertificate reports whether err is a failed verification of the
// server's certificate chain or name.
func untrustedCertificate(err error) bool {
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verr) || errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// commandUsage is a command's usage line after "vsmigctl [flags]".
func commandUsage(c *command, fs *flag.FlagSet) string {
	s := strings.TrimSpace(c.name + " " + c.args)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		s += " [" + c.name + " flags]"
	}
	return s
}
