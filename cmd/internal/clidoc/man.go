package clidoc

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// WriteMan writes the program's manual page in roff (man(7) macros): the
// same commands, flags and texts as the help.
func (p *Program) WriteMan(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s \"\" \"%s\" \"%s\"\n", strings.ToUpper(p.Name), p.Section,
		roff(strings.TrimSpace("vsmig "+p.Version)), "vsmig")
	// Left-aligned and unhyphenated: flag and class names must stay whole.
	b.WriteString(".ad l\n.nh\n")
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(p.Name), roff(p.Summary))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n%s\n", roff(p.Name), roff(p.Synopsis))
	for _, c := range p.visible() {
		fmt.Fprintf(&b, ".br\n.B %s\n", roff(p.Name+" "+c.Name))
		if c.Args != "" {
			b.WriteString(roff(c.Args) + "\n")
		}
	}
	if p.Description != "" {
		b.WriteString(".SH DESCRIPTION\n")
		paragraphs(&b, p.Description)
	}
	b.WriteString(".SH COMMANDS\n")
	for _, c := range p.visible() {
		fmt.Fprintf(&b, ".SS \"%s\"\n", roff(strings.TrimSpace(c.Name+" "+c.Args)))
		paragraphs(&b, c.Summary+".")
		if c.Description != "" {
			b.WriteString(".PP\n")
			paragraphs(&b, c.Description)
		}
		p.manFlags(&b, c.Flags)
	}
	if fl := flags(p.Flags); len(fl) > 0 {
		fmt.Fprintf(&b, ".SH %s\n", roff(strings.ToUpper(p.flagsTitle())))
		p.manFlags(&b, p.Flags)
	}
	for _, s := range p.Sections {
		fmt.Fprintf(&b, ".SH %s\n", roff(s.Title))
		paragraphs(&b, s.Body)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Program) manFlags(b *strings.Builder, fs *flag.FlagSet) {
	for _, f := range flags(fs) {
		var names []string
		for _, n := range f.names {
			names = append(names, `\fB`+roff(p.spelled(n))+`\fR`)
		}
		term := strings.Join(names, ", ")
		if f.arg != "" {
			term += ` \fI` + roff(f.arg) + `\fR`
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", term, roff(p.flagText(fs, f)))
	}
}

// paragraphs writes text: blank lines separate paragraphs, and lines that
// start with two spaces are shown as they are (examples, tables).
func paragraphs(b *strings.Builder, text string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	literal := false
	for i, l := range lines {
		isLit := strings.HasPrefix(l, "  ")
		switch {
		case l == "":
			if literal {
				b.WriteString(".fi\n")
				literal = false
			}
			if i+1 < len(lines) {
				b.WriteString(".PP\n")
			}
			continue
		case isLit && !literal:
			b.WriteString(".nf\n")
			literal = true
		case !isLit && literal:
			b.WriteString(".fi\n")
			literal = false
		}
		b.WriteString(roff(l) + "\n")
	}
	if literal {
		b.WriteString(".fi\n")
	}
}

// roff escapes text for a roff line: backslashes, dashes (options must be
// typed as ASCII hyphen-minus) and a leading control character.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
