package wsman

import (
	"bytes"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// writeElement serializes e and its subtree to buf. It is the service's
// only XML writer for resource output: CDATA sections are written as
// escaped text, comments and processing instructions are dropped, and
// characters XML 1.0 cannot carry (0x01-0x1F except tab, LF, CR; invalid
// UTF-8; U+FFFE/U+FFFF) are replaced by '?', as Windows WinRM does.
func writeElement(buf *bytes.Buffer, e *etree.Element) {
	buf.WriteByte('<')
	writeName(buf, e.Space, e.Tag)
	for i := range e.Attr {
		a := &e.Attr[i]
		buf.WriteByte(' ')
		writeName(buf, a.Space, a.Key)
		buf.WriteString(`="`)
		escapeAttr(buf, a.Value)
		buf.WriteByte('"')
	}
	if len(e.Child) == 0 {
		buf.WriteString("/>")
		return
	}
	buf.WriteByte('>')
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			writeElement(buf, t)
		case *etree.CharData:
			escapeText(buf, t.Data)
		}
	}
	buf.WriteString("</")
	writeName(buf, e.Space, e.Tag)
	buf.WriteByte('>')
}

func writeName(buf *bytes.Buffer, space, local string) {
	if space != "" {
		buf.WriteString(space)
		buf.WriteByte(':')
	}
	buf.WriteString(local)
}

// escapeText writes s as XML character data.
func escapeText(buf *bytes.Buffer, s string) { escape(buf, s, false) }

// escapeAttr writes s as a double-quoted attribute value.
func escapeAttr(buf *bytes.Buffer, s string) { escape(buf, s, true) }

// plainASCII marks the ASCII bytes escape copies unchanged in text (bit
// 0) and in attribute values (bit 1), so that it can skip runs of them
// without the per-byte switch below.
var plainASCII = func() (t [utf8.RuneSelf]uint8) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = 3
	}
	t['\t'], t['\n'] = 1, 1
	t['&'], t['<'], t['>'] = 0, 0, 0
	t['"'] = 1
	return t
}()

func escape(buf *bytes.Buffer, s string, inAttr bool) {
	var plain uint8 = 1
	if inAttr {
		plain = 2
	}
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && plainASCII[c]&plain != 0 {
			i++
			continue
		}
		var esc string
		width := 1
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '"' && inAttr:
				esc = "&quot;"
			case c == '\r':
				esc = "&#xD;"
			case c == '\t' && inAttr:
				esc = "&#x9;"
			case c == '\n' && inAttr:
				esc = "&#xA;"
			case c < 0x20 && c != '\t' && c != '\n':
				esc = "?"
			}
		} else {
			r, w := utf8.DecodeRuneInString(s[i:])
			width = w
			if (r == utf8.RuneError && w == 1) || r == 0xFFFE || r == 0xFFFF {
				esc = "?"
			}
		}
		if esc != "" {
			buf.WriteString(s[last:i])
			buf.WriteString(esc)
			last = i + width
		}
		i += width
	}
	buf.WriteString(s[last:])
}
