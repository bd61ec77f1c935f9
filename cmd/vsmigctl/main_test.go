package main

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// runCtl runs vsmigctl in process with env as its whole environment.
func runCtl(ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = run(ctx, args, &out, &errOut, getenv)
	return out.String(), errOut.String(), code
}

// against is the environment of a vsmigctl pointed at f.
func against(f *fakeServer) map[string]string {
	env := map[string]string{"VSMIG_ENDPOINT": f.URL + "/wsman", "VSMIG_USER": "admin", "VSMIG_PASSWORD": "pw", "VSMIG_CONFIG": "/nonexistent"}
	if strings.HasPrefix(f.URL, "https:") {
		env["VSMIG_INSECURE"] = "1"
	}
	return env
}

// TestHelp: every way of asking for help prints it on stdout and exits 0;
// the full help names every command's flags.
func TestHelp(t *testing.T) {
	env := map[string]string{"VSMIG_CONFIG": "/nonexistent"}
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"--help"}, "usage: vsmigctl [flags] COMMAND"},
		{[]string{"-h"}, "usage: vsmigctl [flags] COMMAND"},
		{[]string{"-help"}, "usage: vsmigctl [flags] COMMAND"},
		{[]string{"help"}, "usage: vsmigctl [flags] COMMAND"},
		{[]string{"-o", "json", "--help"}, "usage: vsmigctl [flags] COMMAND"},
		{[]string{"migrate", "--help"}, "usage: vsmigctl [flags] migrate VM HOST [migrate flags]"},
		{[]string{"migrate", "web-01", "-h"}, "usage: vsmigctl [flags] migrate VM HOST"},
		{[]string{"help", "migrate"}, "usage: vsmigctl [flags] migrate VM HOST"},
		{[]string{"cancel", "--help"}, "--kill"},
		{[]string{"help", "--man"}, ".TH VSMIGCTL 1"},
		{[]string{"completion", "bash"}, "complete -F _vsmigctl vsmigctl"},
		{[]string{"completion", "zsh"}, "#compdef vsmigctl"},
	} {
		out, errOut, code := runCtl(t.Context(), env, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || errOut != "" {
			t.Errorf("vsmigctl %s: exit %d, stderr %q; stdout lacks %q:\n%s", strings.Join(tc.args, " "), code, errOut, tc.want, out)
		}
		if strings.Contains(out+errOut, "flag: help requested") {
			t.Errorf("vsmigctl %s: says %q", strings.Join(tc.args, " "), "flag: help requested")
		}
	}
	out, _, _ := runCtl(t.Context(), env, "help")
	for _, want := range []string{"--type TYPE", "--transport TRANSPORT", "--bandwidth MiB/s", "--priority N", "--new-name NAME", "--wait", "--kill", "-e, --endpoint URL", "--fingerprint SHA256"} {
		if !strings.Contains(out, want) {
			t.Errorf("vsmigctl help lacks %q", want)
		}
	}
}

// TestUsageErrors: bad usage exits 64 with the reason and the command's
// usage line on stderr.
func TestUsageErrors(t *testing.T) {
	env := map[string]string{"VSMIG_CONFIG": "/nonexistent"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "'vsmigctl help' lists the commands"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"migrate", "web-01"}, "usage: vsmigctl [flags] migrate VM HOST [migrate flags]"},
		{[]string{"migrate", "web-01", "host-b", "--type", "teleport"}, `want live, resume or restart, got "teleport"`},
		{[]string{"migrate", "web-01", "host-b", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"completion", "fish"}, `want bash or zsh, got "fish"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"-o", "yaml", "vms"}, `want table or json, got "yaml"`},
	} {
		out, errOut, code := runCtl(t.Context(), env, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("vsmigctl %s: exit %d, stdout %q, stderr lacks %q:\n%s", strings.Join(tc.args, " "), code, out, tc.want, errOut)
		}
	}
}

// TestOneSource: every flag that a command parses appears in the help,
// the manual page and both completion scripts.
func TestOneSource(t *testing.T) {
	p := program()
	var help, man, bash, zsh strings.Builder
	p.WriteHelp(&help)
	p.WriteMan(&man)
	p.WriteBash(&bash)
	p.WriteZsh(&zsh)
	check := func(where, name string) {
		dashed := "--" + name
		if len(name) == 1 {
			dashed = "-" + name
		}
		roffed := strings.ReplaceAll(dashed, "-", `\-`)
		if !strings.Contains(help.String(), dashed) || !strings.Contains(man.String(), roffed) ||
			!strings.Contains(bash.String(), dashed) || !strings.Contains(zsh.String(), dashed) {
			t.Errorf("%s flag %s is missing from the help, manual or a completion script", where, dashed)
		}
	}
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.setup(fs)
		fs.VisitAll(func(f *flag.Flag) { check(c.name, f.Name) })
		if !strings.Contains(help.String(), "  "+c.name) || !strings.Contains(bash.String(), "'"+c.name+"'") {
			t.Errorf("command %s is missing from the help or the bash completion", c.name)
		}
	}
	global := flag.NewFlagSet("vsmigctl", flag.ContinueOnError)
	globalFlags(global, &settings{})
	global.VisitAll(func(f *flag.Flag) { check("global", f.Name) })
}

// TestThrottledLogin (issue #13): HTTP 429 says what happened and when to
// retry (it was "HTTP 429 with a body that is not XML"), exit 77.
func TestThrottledLogin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	env := map[string]string{"VSMIG_ENDPOINT": srv.URL + "/wsman", "VSMIG_USER": "admin", "VSMIG_PASSWORD": "pw", "VSMIG_CONFIG": "/nonexistent"}
	_, errOut, code := runCtl(t.Context(), env, "identify")
	if code != exitAuth || !strings.Contains(errOut, "too many failed logins") || !strings.Contains(errOut, "retry after 1s") ||
		strings.Contains(errOut, "not XML") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}
