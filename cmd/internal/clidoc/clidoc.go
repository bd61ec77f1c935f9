// Package clidoc renders the reference of a command-line program — the
// usage that --help prints, a manual page, bash and zsh completion scripts —
// from one description built on the program's own flag.FlagSets. The parser
// and the three documents read the same flags, so they cannot disagree
// about what a command accepts.
package clidoc

import (
	"flag"
	"reflect"
	"sort"
	"strings"
)

// Program describes a command-line program.
type Program struct {
	Name    string // "vsmigctl"
	Section string // manual section: "1" for user commands, "8" for daemons
	Version string // shown in the manual page's footer
	Summary string // one line, for NAME: "command-line client of vsmigd"
	// Synopsis is the usage line after the name, e.g. "[flags] COMMAND [args]".
	Synopsis string
	// Description is the text after the usage line: paragraphs separated
	// by blank lines.
	Description string
	// Flags are the program's flags, accepted before the command.
	Flags      *flag.FlagSet
	FlagsTitle string // heading of Flags in help and manual; "flags" when empty
	// Dash is the prefix shown before long flag names: "--" or "-". The
	// flag package accepts both; a one-letter flag is always shown as -x.
	Dash string
	// FlagNote, when set, adds text to the description of one of Flags,
	// e.g. the environment variable that sets it too.
	FlagNote func(f *flag.Flag) string
	// FlagsAfterCommand says Flags follow the command (vsmigd serve
	// -state-dir DIR) instead of preceding it (vsmigctl -o json vms).
	FlagsAfterCommand bool
	Commands          []Command
	// Sections are further manual sections (ENVIRONMENT, FILES, EXIT
	// STATUS, ...) in order; help prints those marked InHelp.
	Sections []Section
}

// Command is one verb of a program.
type Command struct {
	Name        string // "migrate"; may have two words ("user add")
	Args        string // "VM HOST"
	Summary     string // one line
	Description string // paragraphs, for `help COMMAND` and the manual
	Flags       *flag.FlagSet
	// ArgChoices are the values completion offers for the positional
	// arguments (e.g. "bash", "zsh"); when empty, none are offered.
	ArgChoices []string
	// ArgsAreCommands makes completion offer the program's command names
	// (for a help command).
	ArgsAreCommands bool
	// Hidden commands are accepted but not listed.
	Hidden bool
}

// Section is a titled block of text for the manual page.
type Section struct {
	Title  string // "EXIT STATUS"
	Body   string // paragraphs; lines starting with "  " are kept as they are
	InHelp bool   // also printed at the end of the full help
}

// Choices is implemented by flag values that accept a fixed set of words;
// completion offers them and the help shows them.
type Choices interface {
	Choices() []string
}

// Placeholder is implemented by flag values that name their value in the
// help ("-https-addr ADDR") when the usage text has no `word` for it.
type Placeholder interface {
	Placeholder() string
}

// Choice is a string flag value limited to a set of words.
type Choice struct {
	Value   string
	Allowed []string
}

// NewChoice registers a Choice flag on fs and returns it.
func NewChoice(fs *flag.FlagSet, name, def, usage string, allowed ...string) *Choice {
	c := &Choice{Value: def, Allowed: allowed}
	fs.Var(c, name, usage)
	return c
}

func (c *Choice) String() string {
	if c == nil {
		return ""
	}
	return c.Value
}

// Set accepts one of the allowed words.
func (c *Choice) Set(s string) error {
	for _, a := range c.Allowed {
		if s == a {
			c.Value = s
			return nil
		}
	}
	return &ChoiceError{Got: s, Allowed: c.Allowed}
}

// Choices returns the allowed words.
func (c *Choice) Choices() []string { return c.Allowed }

// ChoiceError is a value outside a Choice's set.
type ChoiceError struct {
	Got     string
	Allowed []string
}

func (e *ChoiceError) Error() string {
	return "want " + orList(e.Allowed) + ", got \"" + e.Got + "\""
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// Alias makes short another name of the flag long on fs; help, manual and
// completion show the two together.
func Alias(fs *flag.FlagSet, short, long string) {
	f := fs.Lookup(long)
	if f == nil {
		panic("clidoc: alias of unknown flag " + long)
	}
	fs.Var(f.Value, short, f.Usage)
}

// flagInfo is one flag (with its aliases) as the documents show it.
type flagInfo struct {
	names   []string // shortest first
	arg     string   // value placeholder; "" for a boolean flag
	usage   string
	def     string // default shown, "" for none
	choices []string
	bool    bool
}

// flags lists fs's flags, aliases merged, in name order.
func flags(fs *flag.FlagSet) []flagInfo {
	if fs == nil {
		return nil
	}
	var out []flagInfo
	index := map[any]int{} // flag value identity -> position in out
	fs.VisitAll(func(f *flag.Flag) {
		if id, ok := identity(f.Value); ok {
			if i, seen := index[id]; seen {
				out[i].names = append(out[i].names, f.Name)
				return
			}
			index[id] = len(out)
		}
		arg, usage := flag.UnquoteUsage(f)
		fi := flagInfo{names: []string{f.Name}, arg: arg, usage: usage}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			fi.bool, fi.arg = true, ""
		}
		if ph, ok := f.Value.(Placeholder); ok && arg == "value" {
			fi.arg = ph.Placeholder()
		}
		if c, ok := f.Value.(Choices); ok {
			fi.choices = c.Choices()
			if arg == "value" {
				fi.arg = strings.ToUpper(f.Name)
			}
		}
		if !fi.bool && f.DefValue != "" && f.DefValue != "0" {
			fi.def = f.DefValue
		}
		if fi.bool && f.DefValue == "true" {
			fi.def = "true"
		}
		out = append(out, fi)
	})
	for i := range out {
		sort.Slice(out[i].names, func(a, b int) bool {
			na, nb := out[i].names[a], out[i].names[b]
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			return na < nb
		})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].long() < out[b].long() })
	return out
}

// identity returns a comparable key for a flag value that is a pointer,
// so two flags sharing one value (an alias) can be recognised.
func identity(v flag.Value) (any, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, false
	}
	return [2]any{rv.Type(), rv.Pointer()}, true
}

// long is the flag's longest name.
func (f flagInfo) long() string { return f.names[len(f.names)-1] }

// spelled returns a flag name with its dash.
func (p *Program) spelled(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	if p.Dash == "" {
		return "--" + name
	}
	return p.Dash + name
}

// flagTerm is how the flag reads in a list: "-e, --endpoint URL".
func (p *Program) flagTerm(f flagInfo) string {
	var names []string
	for _, n := range f.names {
		names = append(names, p.spelled(n))
	}
	s := strings.Join(names, ", ")
	if f.arg != "" {
		s += " " + f.arg
	}
	return s
}

// flagText is the flag's description with its choices, default and note.
func (p *Program) flagText(fs *flag.FlagSet, f flagInfo) string {
	s := f.usage
	if len(f.choices) > 0 && !strings.Contains(s, f.choices[0]) {
		s += ": " + orList(f.choices)
	}
	if f.def != "" {
		s += " (default " + f.def + ")"
	}
	if p.FlagNote != nil && fs == p.Flags {
		if note := p.FlagNote(fs.Lookup(f.long())); note != "" {
			s += " " + note
		}
	}
	return s
}

// visible returns the commands that are listed.
func (p *Program) visible() []Command {
	var out []Command
	for _, c := range p.Commands {
		if !c.Hidden {
			out = append(out, c)
		}
	}
	return out
}

// Command returns the command called name, or nil.
func (p *Program) Command(name string) *Command {
	for i := range p.Commands {
		if p.Commands[i].Name == name {
			return &p.Commands[i]
		}
	}
	return nil
}

func (p *Program) flagsTitle() string {
	if p.FlagsTitle == "" {
		return "flags"
	}
	return p.FlagsTitle
}
