// Command vsmigctl is the command-line client of vsmigd (and of other
// DSP1081 servers over WS-Management).
//
//	vsmigctl [connection flags] COMMAND [args]
//
// Commands: identify, vms, check VM HOST, migrate VM HOST, jobs, job ID,
// watch ID, cancel ID, errors ID. Connection settings come from flags, then
// VSMIG_* environment variables, then the config file
// ($XDG_CONFIG_HOME/vsmig/vsmigctl.json).
//
// Exit codes: 0 success; 1..6 the CIM return code of a refused method
// (1 Not Supported, 2 Failed, 3 Timeout, 4 Invalid Parameter, 5 Invalid
// State, 6 Incompatible Parameters); 8, 9 and 10 a job that ended
// Terminated, Killed or in Exception (its JobState); 64 bad usage; 69 the
// server could not be reached; 70 a WS-Management fault or other failure;
// 77 authentication failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vsmig/vsmig/wsman/client"
)

// Exit codes; see the package documentation.
const (
	exitOK          = 0
	exitUsage       = 64
	exitUnavailable = 69
	exitFailure     = 70
	exitAuth        = 77
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

// command is one verb of vsmigctl.
type command struct {
	name, args, help string
	run              func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"identify", "", "show the server's WS-Management identity", identifyCommand},
		{"vms", "", "list the virtual machines with their state and host", vmsCommand},
		{"check", "VM HOST", "ask whether VM can migrate to HOST (CheckVirtualSystemIsMigratableToHost)", checkCommand},
		{"migrate", "VM HOST", "migrate VM to HOST (MigrateVirtualSystemToHost); --wait follows the job", migrateCommand},
		{"jobs", "", "list migration jobs", jobsCommand},
		{"job", "ID", "show one job", jobCommand},
		{"watch", "ID", "follow a job until it ends, with a progress bar on a terminal", watchCommand},
		{"cancel", "ID", "cancel a job (RequestStateChange 4 Terminate; --kill for 5 Kill)", cancelCommand},
		{"errors", "ID", "show a job's error (GetError)", errorsCommand},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a, rest, err := newApp(args, stdout, stderr, getenv)
	if err != nil {
		return report(stderr, err)
	}
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == rest[0] {
			return report(stderr, c.run(ctx, a, rest[1:]))
		}
	}
	if rest[0] == "help" {
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	return report(stderr, usageErrorf("unknown command %q (see vsmigctl help)", rest[0]))
}

// report prints err and chooses the exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "vsmigctl:", err)
	var ee *exitError
	var fault *client.Fault
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, client.ErrUnauthorized):
		return exitAuth
	case errors.As(err, &fault):
		return exitFailure
	case isUnreachable(err):
		return exitUnavailable
	}
	return exitFailure
}

func usage() string {
	s := "usage: vsmigctl [-e ENDPOINT] [-u USER] [--fingerprint SHA256 | --ca-file F | --insecure] [-o table|json] COMMAND [args]\n\ncommands:\n"
	for _, c := range commands() {
		s += fmt.Sprintf("  %-8s %-8s %s\n", c.name, c.args, c.help)
	}
	s += "\nThe password comes from VSMIG_PASSWORD or the config file, never from a flag.\n"
	return s
}
