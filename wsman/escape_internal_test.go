package wsman

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// escapeReference is escape without the plainASCII shortcut: the rules
// one byte at a time.
func escapeReference(buf *bytes.Buffer, s string, inAttr bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, w := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && w == 1) || r == 0xFFFE || r == 0xFFFF {
				buf.WriteByte('?')
			} else {
				buf.WriteString(s[i : i+w])
			}
			i += w
			continue
		}
		switch {
		case c == '&':
			buf.WriteString("&amp;")
		case c == '<':
			buf.WriteString("&lt;")
		case c == '>':
			buf.WriteString("&gt;")
		case c == '"' && inAttr:
			buf.WriteString("&quot;")
		case c == '\r':
			buf.WriteString("&#xD;")
		case c == '\t' && inAttr:
			buf.WriteString("&#x9;")
		case c == '\n' && inAttr:
			buf.WriteString("&#xA;")
		case c < 0x20 && c != '\t' && c != '\n':
			buf.WriteByte('?')
		default:
			buf.WriteByte(c)
		}
		i++
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a&b<c>d\"e'f", "\t\n\r\x01\x7f", "é\uFFFE\uFFFF\xff", "&amp;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, inAttr := range []bool{false, true} {
			var got, want bytes.Buffer
			escape(&got, s, inAttr)
			escapeReference(&want, s, inAttr)
			if got.String() != want.String() {
				t.Fatalf("escape(%q, %v) = %q, want %q", s, inAttr, got.String(), want.String())
			}
		}
	})
}
