package clidoc

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testProgram is a small program with every kind of flag.
func testProgram() *Program {
	global := flag.NewFlagSet("prog", flag.ContinueOnError)
	global.String("endpoint", "", "server `URL`")
	Alias(global, "e", "endpoint")
	global.String("ca-file", "", "CA bundle `FILE`")
	global.Bool("insecure", false, "skip verification")
	NewChoice(global, "o", "table", "output `FORMAT`", "table", "json")

	move := flag.NewFlagSet("move", flag.ContinueOnError)
	NewChoice(move, "type", "live", "migration `TYPE`", "live", "resume", "restart")
	move.Uint("bandwidth", 0, "cap in `MiB/s`")
	move.Bool("wait", false, "follow the job")
	help := flag.NewFlagSet("help", flag.ContinueOnError)
	help.Bool("man", false, "print the manual page")
	return &Program{
		Name: "prog", Section: "1", Version: "1.0", Summary: "a test program", Synopsis: "[flags] COMMAND",
		Description: "Moves things.\n\nA second paragraph.\n  an example line\n.a line that starts with a dot",
		Flags:       global,
		Commands: []Command{
			{Name: "list", Summary: "list things"},
			{Name: "move", Args: "THING HOST", Summary: "move THING to HOST", Description: "Long text.", Flags: move},
			{Name: "completion", Args: "SHELL", Summary: "print a script", ArgChoices: []string{"bash", "zsh"}},
			{Name: "help", Args: "[COMMAND]", Summary: "help", Flags: help, ArgsAreCommands: true},
			{Name: "secret", Summary: "not listed", Hidden: true},
		},
		Sections: []Section{{Title: "EXIT STATUS", Body: "0 fine; 1 not.", InHelp: true}, {Title: "SEE ALSO", Body: "other(1)"}},
	}
}

func TestHelp(t *testing.T) {
	p := testProgram()
	var b strings.Builder
	if err := p.WriteHelp(&b); err != nil {
		t.Fatal(err)
	}
	help := b.String()
	for _, want := range []string{
		"usage: prog [flags] COMMAND\n",
		"  move THING HOST  ",
		"      --bandwidth MiB/s",
		"      --type TYPE  ",
		"migration TYPE: live, resume or restart (default live)",
		"      --wait  ",
		"  -e, --endpoint URL  ",
		"  -o FORMAT  ",
		"output FORMAT: table or json (default table)",
		"exit status:\n  0 fine; 1 not.",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for _, notWant := range []string{"secret", "SEE ALSO", "(default false)", "(default 0)"} {
		if strings.Contains(help, notWant) {
			t.Errorf("help has %q:\n%s", notWant, help)
		}
	}
	for _, l := range strings.Split(help, "\n") {
		if len(l) > helpWidth {
			t.Errorf("help line wider than %d: %q", helpWidth, l)
		}
	}
	b.Reset()
	if err := p.WriteCommandHelp(&b, "move"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "usage: prog [flags] move THING HOST [move flags]") || !strings.Contains(b.String(), "Long text.") {
		t.Errorf("command help:\n%s", b.String())
	}
	if p.WriteCommandHelp(&b, "nope") == nil {
		t.Errorf("help of an unknown command: no error")
	}
}

func TestChoice(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	c := NewChoice(fs, "type", "live", "", "live", "restart")
	if err := fs.Parse([]string{"-type", "restart"}); err != nil || c.Value != "restart" {
		t.Errorf("parse: %v %q", err, c.Value)
	}
	if err := fs.Parse([]string{"-type", "teleport"}); err == nil || !strings.Contains(err.Error(), `want live or restart, got "teleport"`) {
		t.Errorf("bad value: %v", err)
	}
}

// TestManPage: the page has the sections, escapes roff's special
// characters, and groff reads it without a warning (as lintian does).
func TestManPage(t *testing.T) {
	p := testProgram()
	var b strings.Builder
	if err := p.WriteMan(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{".TH PROG 1", ".SH NAME\nprog \\- a test program", ".SH SYNOPSIS", ".SS \"move THING HOST\"",
		`\fB\-e\fR, \fB\-\-endpoint\fR \fIURL\fR`, ".SH EXIT STATUS", ".SH SEE ALSO", ".nf\n  an example line\n.fi", `\&.a line`} {
		if !strings.Contains(page, want) {
			t.Errorf("manual page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "secret") {
		t.Errorf("manual page lists a hidden command")
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed")
	}
	cmd := exec.Command("groff", "-man", "-ww", "-Tutf8", "-z")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}

// completionCases are command lines (the cursor on the last word) and the
// words completion must offer.
var completionCases = []struct {
	line string
	want []string
}{
	{"prog ", []string{"completion", "help", "list", "move"}},
	{"prog m", []string{"move"}},
	{"prog -", []string{"--ca-file", "--endpoint", "--insecure", "-e", "-o"}},
	{"prog -o ", []string{"json", "table"}},
	{"prog --o j", []string{"json"}},
	{"prog -e https://h --insecure mo", []string{"move"}},
	{"prog -o json move --", []string{"--bandwidth", "--type", "--wait"}},
	{"prog move web-01 --type ", []string{"live", "restart", "resume"}},
	{"prog move -type r", []string{"restart", "resume"}},
	{"prog move --bandwidth ", nil},
	{"prog completion ", []string{"bash", "zsh"}},
	{"prog help ", []string{"completion", "help", "list", "move"}},
	{"prog list ", nil},
}

func TestBashCompletion(t *testing.T) {
	var b strings.Builder
	if err := testProgram().WriteBash(&b); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "prog.bash")
	os.WriteFile(script, []byte(b.String()), 0o644)
	for _, tc := range completionCases {
		words := strings.Split(tc.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellWord(w))
		}
		sh := `source "$1"; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _prog; printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command("bash", "-c", sh, "bash", script).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		if got := lines(string(out)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("bash %q: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestZshCompletion runs the zsh function with compadd and _files
// replaced by functions that print what they are given.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		if os.Getenv("VSMIG_E2E") == "1" {
			t.Fatal("zsh is not installed (make deps)")
		}
		t.Skip("zsh is not installed")
	}
	var b strings.Builder
	if err := testProgram().WriteZsh(&b); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "_prog")
	os.WriteFile(script, []byte(b.String()), 0o644)
	for _, tc := range completionCases {
		words := strings.Split(tc.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellWord(w))
		}
		sh := `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; local cur=${words[CURRENT]} w; for w in "$@"; do [[ $w == "$cur"* ]] && print -r -- $w; done; return 0 }
source "$1"; words=(` + strings.Join(quoted, " ") + `); CURRENT=${#words}; _prog`
		out, err := exec.Command("zsh", "-f", "-c", sh, "zsh", script).CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		if got := lines(string(out)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("zsh %q: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
