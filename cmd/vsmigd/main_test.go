package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs vsmigd's cli in process (commands that return at once).
func runCLI(t *testing.T, stdin string, getenv map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli(t.Context(), args, strings.NewReader(stdin), &out, &errOut, env(getenv))
	return out.String(), errOut.String(), code
}

// TestHelp: every way of asking for help prints it on stdout and exits 0,
// and the help lists every command, fingerprint included.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"-h"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"help"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"serve", "--help"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"-driver", "sim", "-h"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"fingerprint", "-help"}, "usage: vsmigd [COMMAND] [settings]"},
		{[]string{"user", "--help"}, "usage: vsmigd user add NAME"},
		{[]string{"user", "add", "-h"}, "usage: vsmigd user add NAME"},
		{[]string{"user", "remove", "admin", "--help"}, "usage: vsmigd user remove NAME"},
		{[]string{"version", "--help"}, "usage: vsmigd version"},
		{[]string{"help", "-man"}, ".TH VSMIGD 8"},
		{[]string{"version"}, "vsmigd " + version},
	} {
		out, errOut, code := runCLI(t, "", nil, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || errOut != "" {
			t.Errorf("vsmigd %s: exit %d, stderr %q; stdout lacks %q:\n%s", strings.Join(tc.args, " "), code, errOut, tc.want, out)
		}
	}
	out, _, _ := runCLI(t, "", nil, "--help")
	for _, want := range []string{"serve", "user add NAME", "user remove NAME", "fingerprint", "version", "help",
		"-allow-unencrypted ", "-https-addr ADDR", "-max-connections N", "-max-downtime DURATION", "[VSMIGD_STATE_DIR, file key"} {
		if !strings.Contains(out, want) {
			t.Errorf("vsmigd --help lacks %q", want)
		}
	}
}

// TestBooleanFlags: a boolean setting's flag needs no value, so the flag
// after it keeps its own; =false turns one off.
func TestBooleanFlags(t *testing.T) {
	cfg, err := loadConfig([]string{"-allow-unencrypted", "-metrics-addr", "127.0.0.1:1", "-auto-converge=false", "-allow-post-copy", "-http-addr", ":5985"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowUnencrypted || cfg.MetricsAddr != "127.0.0.1:1" || cfg.AutoConverge || !cfg.AllowPostCopy || cfg.HTTPAddr != ":5985" {
		t.Errorf("got %+v", cfg)
	}
	if _, err := loadConfig([]string{"-allow-unencrypted=maybe"}, env(nil)); err == nil || !strings.Contains(err.Error(), "want true or false") {
		t.Errorf("-allow-unencrypted=maybe: %v", err)
	}
	// A flag that is not given leaves the file's and environment's value.
	cfg, err = loadConfig(nil, env(map[string]string{"VSMIGD_AUTO_CONVERGE": "false"}))
	if err != nil || cfg.AutoConverge {
		t.Errorf("environment's auto_converge=false lost: %v %+v", err, cfg)
	}
}

// TestUsageErrors: bad usage exits 2 with a message on stderr only.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"user"}, "usage: vsmigd user add|remove NAME"},
		{[]string{"user", "add"}, "usage: vsmigd user add|remove NAME"},
		{[]string{"user", "add", "a", "b"}, "usage: vsmigd user add|remove NAME"},
		{[]string{"version", "extra"}, "usage: vsmigd version"},
	} {
		out, errOut, code := runCLI(t, "", nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("vsmigd %s: exit %d, stdout %q, stderr lacks %q:\n%s", strings.Join(tc.args, " "), code, out, tc.want, errOut)
		}
	}
}

// TestUserFlagsAnywhere: -users-file may stand before or after the name.
func TestUserFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"user", "add", "alice", "-users-file", dir + "/u1"},
		{"user", "add", "-users-file", dir + "/u2", "alice"},
	} {
		out, errOut, code := runCLI(t, "pw\n", nil, args...)
		if code != 0 || !strings.Contains(out, "user alice stored") {
			t.Errorf("vsmigd %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}
