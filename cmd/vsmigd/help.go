package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vsmig/vsmig/cmd/internal/clidoc"
)

// program describes vsmigd for its help and manual page: the commands
// below and, as its flags, the settings of config.go, registered exactly
// as loadConfig registers them.
func program() *clidoc.Program {
	settings := flag.NewFlagSet("vsmigd", flag.ContinueOnError)
	cfg := defaultConfig()
	settingFlags(settings, cfg.settings(), "")
	userFS := func(verb string) *flag.FlagSet {
		fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
		userFlags(fs, "")
		return fs
	}
	helpFS := flag.NewFlagSet("help", flag.ContinueOnError)
	helpFlags(helpFS)
	return &clidoc.Program{
		Name:     "vsmigd",
		Section:  "8",
		Version:  version,
		Summary:  "WS-Management server of the DMTF Virtual System Migration Profile for KVM hosts",
		Synopsis: "[COMMAND] [settings]",
		Description: `vsmigd serves the DMTF Virtual System Migration Profile (DSP1081) over
WS-Management (WinRM) for the KVM host it runs on: a WinRM client invokes
CIM_VirtualSystemMigrationService.MigrateVirtualSystemToHost and a running
virtual machine moves to another host by libvirt live migration, tracked as a
CIM_ConcreteJob. Without a command, vsmigd serves.

Every setting has one name in three places: the flag -https-addr, the
environment variable VSMIGD_HTTPS_ADDR and the key https_addr of the JSON
config file. They apply in layers: defaults, the config file (-config or
VSMIGD_CONFIG), the environment, the flags. For integers and durations 0
means the engine's default. A boolean flag alone turns its setting on
(-allow-unencrypted); -auto-converge=false turns one off.`,
		Flags:             settings,
		FlagsTitle:        "settings",
		Dash:              "-",
		FlagsAfterCommand: true,
		FlagNote: func(f *flag.Flag) string {
			if f.Name == "config" {
				return ""
			}
			key := strings.ReplaceAll(f.Name, "-", "_")
			return "[" + envName(key) + ", file key " + key + "]"
		},
		Commands: []clidoc.Command{
			{Name: "serve", Args: "[settings]", Summary: "run the server (the default command)",
				Description: `Serves WS-Management until SIGINT or SIGTERM, then stops accepting requests,
hands the migrations in flight back to the hypervisor (they are re-attached at
the next start) and exits. A bad setting exits 2 with a message naming it.`},
			{Name: "user add", Args: "NAME", Flags: userFS("add"),
				Summary: "add a user, or reset its password, in the users file",
				Description: `The password is the first line of standard input, never an argument. The
file keeps a bcrypt hash and is rewritten atomically with mode 0600; a running
vsmigd notices the change within a second.`},
			{Name: "user remove", Args: "NAME", Flags: userFS("remove"), Summary: "remove a user from the users file"},
			{Name: "fingerprint", Args: "[settings]",
				Summary: "print the SHA-256 fingerprint of the server's TLS certificate",
				Description: `Clients pin it (vsmigctl --fingerprint, VSMIG_FINGERPRINT). Without
cert_file the self-signed certificate in state_dir is made if there is none
yet. Takes the same settings as serve.`},
			{Name: "version", Summary: "print the version"},
			{Name: "help", Flags: helpFS, Summary: "print this help; with -man, the manual page"},
		},
		Sections: []clidoc.Section{
			{Title: "EXIT STATUS", InHelp: true, Body: `0 success (help included); 1 failure; 2 bad usage or configuration.`},
			{Title: "FILES", Body: `/etc/vsmig/vsmigd.json: the configuration the systemd unit starts vsmigd with.
/var/lib/vsmig (state_dir): the job store jobs.db, the users file users and the
generated certificate cert.pem and key.pem.`},
			{Title: "EXAMPLES", Body: `  echo 'a password' | vsmigd user add admin
  vsmigd serve -config /etc/vsmig/vsmigd.json
  vsmigd serve -driver sim -state-dir ./state -allow-unencrypted -http-addr :5985
  vsmigd fingerprint -config /etc/vsmig/vsmigd.json`},
			{Title: "SEE ALSO", Body: `vsmigctl(1), libvirtd(8), systemd.exec(5)`},
		},
	}
}

// helpFlags registers the flags of the help command.
func helpFlags(fs *flag.FlagSet) *bool {
	return fs.Bool("man", false, "print the manual page (roff) instead")
}

// isHelpFlag reports whether arg asks for help as the flag package does.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// parseInterspersed parses fs's flags wherever they stand among the
// positional arguments, which it returns. flag.ErrHelp is returned as is.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
