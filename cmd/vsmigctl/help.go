package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/vsmig/vsmig/cmd/internal/clidoc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// synopsis is the usage line after the program's name.
const synopsis = "[flags] COMMAND [args]"

// runFunc runs a command with its positional arguments.
type runFunc func(ctx context.Context, a *app, pos []string) error

// command is one verb of vsmigctl: its documentation, its flags and what
// it does. setup registers the flags on fs and returns the function that
// runs the command with their values; the help, the manual page and the
// completion scripts call it too, so they list exactly what is parsed.
type command struct {
	name, args, summary, description string
	minArgs, maxArgs                 int
	local                            bool // runs without a server
	argChoices                       []string
	argCommands                      bool // the argument is a command name
	setup                            func(fs *flag.FlagSet) runFunc
}

// plain is the setup of a command without flags.
func plain(run runFunc) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc { return run }
}

func commands() []command {
	return []command{
		{name: "identify", summary: "show the server's WS-Management identity (Identify)",
			setup: plain(identifyCommand)},
		{name: "vms", summary: "list the virtual machines with their state and host",
			setup: plain(vmsCommand)},
		{name: "check", args: "VM HOST", minArgs: 2, maxArgs: 2,
			summary: "ask whether VM can migrate to HOST (CheckVirtualSystemIsMigratableToHost)",
			description: `VM is a name or UUID from 'vsmigctl vms'; HOST is the destination as the
source's libvirt reaches it (a DNS name or an address). Prints yes, or no with
the server's reason, and exits 0 for yes and 7 for no. A request the server
refuses to answer exits with the CIM return code (1-6) and its reason.`,
			setup: func(fs *flag.FlagSet) runFunc {
				var m migrationFlags
				m.register(fs)
				return func(ctx context.Context, a *app, pos []string) error { return checkCommand(ctx, a, pos, &m) }
			}},
		{name: "migrate", args: "VM HOST", minArgs: 2, maxArgs: 2,
			summary: "migrate VM to HOST (MigrateVirtualSystemToHost); --wait follows the job",
			description: `Starts a migration job and prints its ID; with --wait it follows the job
as 'watch' does and exits as the job ends. A refused request exits with the
CIM return code (1-6) and prints the server's reason. Interrupting --wait
(Ctrl-C) stops following, not the migration: 'vsmigctl watch ID' follows it
again and 'vsmigctl cancel ID' stops it.`,
			setup: func(fs *flag.FlagSet) runFunc {
				var m migrationFlags
				m.register(fs)
				wait := fs.Bool("wait", false, "follow the job until it ends")
				poll := pollFlag(fs)
				return func(ctx context.Context, a *app, pos []string) error {
					a.poll = *poll
					return migrateCommand(ctx, a, pos, &m, *wait)
				}
			}},
		{name: "jobs", summary: "list migration jobs", setup: plain(jobsCommand)},
		{name: "job", args: "ID", minArgs: 1, maxArgs: 1, summary: "show one job", setup: plain(jobCommand)},
		{name: "watch", args: "ID", minArgs: 1, maxArgs: 1,
			summary: "follow a job until it ends, with a progress bar on a terminal",
			description: `Exits 0 when the job completed and with its JobState (8 Terminated,
9 Killed, 10 Exception) otherwise. Interrupting it stops the watching only.
The job is followed by a WS-Eventing subscription to its changes (each one
shown as the server makes it); a server that takes no subscription is
polled twice a second.`,
			setup: func(fs *flag.FlagSet) runFunc {
				poll := pollFlag(fs)
				return func(ctx context.Context, a *app, pos []string) error {
					a.poll = *poll
					return watchCommand(ctx, a, pos)
				}
			}},
		{name: "cancel", args: "ID", minArgs: 1, maxArgs: 1,
			summary: "cancel a job (RequestStateChange 4 Terminate; --kill for 5 Kill)",
			description: `Both leave the VM running on the source; they differ only in the job's
final state.`,
			setup: func(fs *flag.FlagSet) runFunc {
				kill := fs.Bool("kill", false, "kill (RequestedState 5) instead of terminate (4)")
				return func(ctx context.Context, a *app, pos []string) error { return cancelCommand(ctx, a, pos, *kill) }
			}},
		{name: "errors", args: "ID", minArgs: 1, maxArgs: 1, summary: "show a job's error (GetError)",
			setup: plain(errorsCommand)},
		{name: "hosts", summary: "list the hosts of the server's cluster (* marks the server's own)",
			description: `In a cluster (vsmigd cluster_endpoints) every endpoint lists every live
member with its WS-Management endpoint; a host on its own lists itself.`,
			setup: plain(hostsCommand)},
		{name: "place", args: "VM", minArgs: 1, maxArgs: 1,
			summary: "choose a destination for VM in the cluster (VSMIG_PlaceVirtualSystem)",
			description: `Asks the server which host of its cluster would take VM now: the least
loaded that passes the checks of CheckVirtualSystemIsMigratableToHost
(memory, CPU model, networks, storage pools, limits). Prints the choice and
each candidate's reason; exits 5 when no host can take it.`,
			setup: plain(placeCommand)},
		{name: "drain", args: "HOST", minArgs: 1, maxArgs: 1,
			summary: "move every VM off HOST to other hosts of the cluster (VSMIG_DrainHost)",
			description: `Prints the plan (each VM's destination, or why it cannot move) and starts a
drain job on HOST's vsmigd (found in the cluster if the endpoint is another
host's), which owns the migration jobs and runs them within the cluster's
limits. --dry-run prints the plan only; --wait follows the drain job and
exits as watch does (10 if some VM could not move). 'vsmigctl cancel ID'
stops it starting new migrations.`,
			setup: func(fs *flag.FlagSet) runFunc {
				dry := fs.Bool("dry-run", false, "print the plan, start nothing")
				wait := fs.Bool("wait", false, "follow the drain job until it ends")
				return func(ctx context.Context, a *app, pos []string) error { return drainCommand(ctx, a, pos, *dry, *wait) }
			}},
		{name: "completion", args: "SHELL", minArgs: 1, maxArgs: 1, local: true, argChoices: []string{"bash", "zsh"},
			summary: "print the completion script for SHELL (bash or zsh)",
			description: `For the current shell: source <(vsmigctl completion bash). The Debian
package installs both scripts.`,
			setup: plain(completionCommand)},
		{name: "help", args: "[COMMAND]", maxArgs: 1, local: true, argCommands: true,
			summary: "show the help, or one command's; --man prints the manual page",
			setup: func(fs *flag.FlagSet) runFunc {
				man := fs.Bool("man", false, "print the manual page (roff) instead")
				return func(ctx context.Context, a *app, pos []string) error { return helpCommand(a, pos, *man) }
			}},
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return &c
		}
	}
	return nil
}

// program describes vsmigctl for its help, manual page and completions.
func program() *clidoc.Program {
	global := flag.NewFlagSet("vsmigctl", flag.ContinueOnError)
	globalFlags(global, &settings{})
	p := &clidoc.Program{
		Name:     "vsmigctl",
		Section:  "1",
		Version:  version,
		Summary:  "command-line client of vsmigd, the DSP1081 migration service",
		Synopsis: synopsis,
		Description: `vsmigctl lists the virtual machines of a vsmigd host (or of another server of
the DMTF Virtual System Migration Profile over WS-Management), checks and
starts migrations and follows, cancels and explains migration jobs.
The flags stand before the command; a command's own flags may stand before,
between or after its arguments.`,
		Flags: global,
		Dash:  "--",
	}
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.setup(fs)
		p.Commands = append(p.Commands, clidoc.Command{Name: c.name, Args: c.args, Summary: c.summary,
			Description: c.description, Flags: fs, ArgChoices: c.argChoices, ArgsAreCommands: c.argCommands})
	}
	p.Sections = []clidoc.Section{
		{Title: "EXIT STATUS", InHelp: true, Body: `0 success; 1-6 the CIM return code of a refused request (1 Not Supported,
2 Failed, 3 Timeout, 4 Invalid Parameter, 5 Invalid State, 6 Incompatible
Parameters; the reason is printed); 7 check answered "not migratable";
8, 9, 10 a followed job ended Terminated, Killed or in Exception; 64 bad
usage; 69 server unreachable; 70 a WS-Management fault or other failure;
77 authentication failed; 130 interrupted while following a job (the job
goes on).`},
		{Title: "ENVIRONMENT", Body: `VSMIG_ENDPOINT, VSMIG_USER, VSMIG_PASSWORD, VSMIG_FINGERPRINT, VSMIG_CA_FILE
and VSMIG_INSECURE=1 set what the flags set; flags win. VSMIG_CONFIG names
the config file.`},
		{Title: "FILES", Body: `$XDG_CONFIG_HOME/vsmig/vsmigctl.json (default ~/.config/vsmig/vsmigctl.json):
a JSON object with the keys endpoint, user, password, fingerprint, ca_file,
insecure and namespace; unknown keys are errors. The environment and the
flags override it.`},
		{Title: "EXAMPLES", Body: `  export VSMIG_ENDPOINT=https://kvm-01:5986/wsman VSMIG_USER=admin
  export VSMIG_PASSWORD=secret VSMIG_FINGERPRINT=<output of 'vsmigd fingerprint'>
  vsmigctl vms
  vsmigctl check web-01 kvm-02
  vsmigctl migrate web-01 kvm-02 --wait
  vsmigctl -o json jobs`},
		{Title: "SEE ALSO", Body: `vsmigd(8)`},
	}
	return p
}

func helpCommand(a *app, pos []string, man bool) error {
	p := program()
	switch {
	case man:
		return p.WriteMan(a.stdout)
	case len(pos) == 0:
		return p.WriteHelp(a.stdout)
	case p.Command(pos[0]) == nil:
		return usageErrorf("help: unknown command %q", pos[0])
	}
	return p.WriteCommandHelp(a.stdout, pos[0])
}

func completionCommand(_ context.Context, a *app, pos []string) error {
	switch pos[0] {
	case "bash":
		return program().WriteBash(a.stdout)
	case "zsh":
		return program().WriteZsh(a.stdout)
	}
	return usageErrorf("completion: want bash or zsh, got %q", pos[0])
}

// interrupted is the error of a command stopped by a signal while it was
// following job id: the job goes on in the server.
func interrupted(id string) error {
	return &exitError{code: exitInterrupted, err: fmt.Errorf(`interrupted; job %s goes on in the server.
  follow it:  vsmigctl watch %s
  cancel it:  vsmigctl cancel %s`, id, id, id)}
}

// pollFlag registers --poll, which follows a job by polling instead of by
// subscription.
func pollFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("poll", false, "follow the job by reading it twice a second, not by subscribing to its changes")
}
