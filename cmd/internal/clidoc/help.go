package clidoc

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// WriteHelp writes the program's full help: the usage line, the
// description, every command with its flags, the program's flags and the
// sections marked InHelp.
func (p *Program) WriteHelp(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n", p.Name, p.Synopsis)
	if p.Description != "" {
		b.WriteString("\n" + strings.TrimRight(p.Description, "\n") + "\n")
	}
	b.WriteString("\ncommands:\n")
	var rows []row
	for _, c := range p.visible() {
		rows = append(rows, row{"  " + strings.TrimSpace(c.Name+" "+c.Args), c.Summary})
		for _, f := range flags(c.Flags) {
			rows = append(rows, row{"      " + p.flagTerm(f), p.flagText(c.Flags, f)})
		}
	}
	writeRows(&b, rows)
	if fl := flags(p.Flags); len(fl) > 0 {
		fmt.Fprintf(&b, "\n%s:\n", p.flagsTitle())
		p.writeFlags(&b, p.Flags, fl)
	}
	for _, s := range p.Sections {
		if s.InHelp {
			fmt.Fprintf(&b, "\n%s:\n%s\n", strings.ToLower(s.Title), indent(s.Body))
		}
	}
	fmt.Fprintf(&b, "\n'%s help COMMAND' shows one command; 'man %s' is the manual.\n", p.Name, p.Name)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCommandHelp writes the help of one command.
func (p *Program) WriteCommandHelp(w io.Writer, name string) error {
	c := p.Command(name)
	if c == nil {
		return fmt.Errorf("clidoc: no command %q", name)
	}
	var b strings.Builder
	usage := p.Name
	if len(flags(p.Flags)) > 0 && !p.FlagsAfterCommand {
		usage += " [" + p.flagsTitle() + "]"
	}
	usage += " " + strings.TrimSpace(c.Name+" "+c.Args)
	fl := flags(c.Flags)
	if len(fl) > 0 {
		usage += " [" + c.Name + " flags]"
	}
	fmt.Fprintf(&b, "usage: %s\n\n%s\n", usage, c.Summary)
	if c.Description != "" {
		b.WriteString("\n" + strings.TrimRight(c.Description, "\n") + "\n")
	}
	if len(fl) > 0 {
		fmt.Fprintf(&b, "\n%s flags (before, between or after the arguments):\n", c.Name)
		p.writeFlags(&b, c.Flags, fl)
	}
	if len(flags(p.Flags)) > 0 && !p.FlagsAfterCommand {
		fmt.Fprintf(&b, "\nThe %s (before the command) are listed by '%s help'.\n", p.flagsTitle(), p.Name)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Program) writeFlags(b *strings.Builder, fs *flag.FlagSet, fl []flagInfo) {
	var rows []row
	for _, f := range fl {
		rows = append(rows, row{"  " + p.flagTerm(f), p.flagText(fs, f)})
	}
	writeRows(b, rows)
}

// row is a term and its text in a two-column list.
type row struct{ term, text string }

// helpWidth is the width the help's lists are wrapped to.
const helpWidth = 80

// writeRows writes rows as two columns, the text wrapped to helpWidth
// with a hanging indent; a term too wide for the column gets its text on
// the next line.
func writeRows(b *strings.Builder, rows []row) {
	col := 0
	for _, r := range rows {
		if n := len(r.term); n > col && n <= 32 {
			col = n
		}
	}
	col += 2
	width := max(helpWidth-col, 30)
	for _, r := range rows {
		lines := wrap(r.text, width)
		if len(r.term) > col-2 {
			b.WriteString(r.term + "\n")
		} else {
			b.WriteString(r.term + strings.Repeat(" ", col-len(r.term)) + lines[0] + "\n")
			lines = lines[1:]
		}
		for _, l := range lines {
			b.WriteString(strings.Repeat(" ", col) + l + "\n")
		}
	}
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

// indent indents every non-empty line of s by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}
