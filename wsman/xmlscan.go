package wsman

import (
	"strings"

	"github.com/beevik/etree"
)

// scanDocument is the fast reader of parseDocument. It reads the subset of
// XML that WS-Management clients actually send (ASCII names with at most
// one prefix, the five predefined entities, comments, CDATA sections, an
// XML 1.0 declaration in UTF-8) with plain string searches, and makes
// every name and most values substrings of one copy of the body, so that a
// request costs a few allocations in all (see treeBuilder) instead of
// several per token as with encoding/xml.
//
// It returns ok=false for anything outside that subset and for every
// error (a DOCTYPE, a character reference, a limit reached, a
// malformed tag...), without deciding anything: parseDocument then reads
// the document with the strict reader. So the rules it must follow are
// only: never accept what encoding/xml's strict RawToken would refuse, and
// hand the treeBuilder exactly the tokens encoding/xml would. The body is
// valid UTF-8 without a BOM (parseDocument checked).
func scanDocument(body []byte) (root *etree.Element, ok bool) {
	return scan(body, len(body) > maxSharedBody)
}

// maxSharedBody is the largest body whose names and values are all
// substrings of one copy of it. Any of them kept beyond the request (a
// MessageID in the duplicate store, a value a resource stores) keeps that
// whole copy alive, so a larger body gets a copy per value instead, and
// the service's own stores clone what they keep.
const maxSharedBody = 16 << 10

// scan is scanDocument; copyAll gives every name and value its own copy.
func scan(body []byte, copyAll bool) (root *etree.Element, ok bool) {
	src := string(body)
	s := &scanner{src: src, copyAll: copyAll}
	// About half the '<' open an element; every attribute has a '='.
	s.tb = newTreeBuilder(strings.Count(src, "<")/2+1, strings.Count(src, "="), &s.scratch)
	s.attrs = s.attrBuf[:0]
	if !s.document() {
		return nil, false
	}
	return s.tb.root, true
}

// scanner is the state of scanDocument.
type scanner struct {
	src   string
	pos   int
	tb    treeBuilder
	attrs []scannedAttr // of the current start tag, reused
	buf   []byte        // for values with entity references, reused

	copyAll bool              // see maxSharedBody
	names   map[string]string // interned names, when copyAll

	// Initial backing arrays of attrs and of tb's scratch stacks: the
	// scanner is one allocation.
	attrBuf [16]scannedAttr
	scratch treeScratch
}

type scannedAttr struct{ qname, value string }

// document reads the whole input, one markup item or text run at a time.
func (s *scanner) document() bool {
	for s.pos < len(s.src) {
		if s.src[s.pos] != '<' {
			if !s.charData() {
				return false
			}
			continue
		}
		if s.pos+1 >= len(s.src) {
			return false
		}
		var ok bool
		switch s.src[s.pos+1] {
		case '/':
			ok = s.endTag()
		case '?':
			ok = s.declaration()
		case '!':
			ok = s.commentOrCDATA()
		default:
			ok = s.startTag()
		}
		if !ok {
			return false
		}
	}
	return s.tb.finish() == nil
}

// charData reads text up to the next '<' (or the end), as encoding/xml
// returns it: one token per run.
func (s *scanner) charData() bool {
	raw := s.src[s.pos:]
	if i := strings.IndexByte(raw, '<'); i >= 0 {
		raw = raw[:i]
	}
	s.pos += len(raw)
	if strings.Contains(raw, "]]>") {
		return false // an error outside CDATA
	}
	text, ok := s.unescape(raw)
	return ok && s.text(text)
}

// text hands character data to the tree builder.
func (s *scanner) text(t string) bool {
	keep, err := s.tb.keepText(len(strings.TrimSpace(t)) == 0)
	if err != nil {
		return false
	}
	if keep {
		s.tb.addText(t)
	}
	return true
}

// startTag reads <name attr="value"...> or <name.../>.
func (s *scanner) startTag() bool {
	s.pos++ // '<'
	_, space, local, ok := s.name()
	if !ok {
		return false
	}
	s.attrs = s.attrs[:0]
	empty := false
	for {
		s.skipSpace()
		if s.pos >= len(s.src) {
			return false
		}
		if c := s.src[s.pos]; c == '>' {
			s.pos++
			break
		} else if c == '/' {
			if !strings.HasPrefix(s.src[s.pos:], "/>") {
				return false
			}
			s.pos += 2
			empty = true
			break
		}
		if !s.attribute() {
			return false
		}
	}
	e, err := s.tb.startElement(space, local, len(s.attrs))
	if err != nil {
		return false
	}
	for _, a := range s.attrs {
		space, key, ok := strings.Cut(a.qname, ":")
		if !ok {
			space, key = "", a.qname
		}
		if addAttr(e, space, key, a.value) != nil {
			return false
		}
	}
	if s.tb.open(e) != nil {
		return false
	}
	return !empty || s.tb.endElement(space, local) == nil
}

// attribute reads name="value" or name='value' into s.attrs.
func (s *scanner) attribute() bool {
	qname, _, _, ok := s.name()
	if !ok {
		return false
	}
	s.skipSpace()
	if s.pos >= len(s.src) || s.src[s.pos] != '=' {
		return false
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.src) {
		return false
	}
	quote := s.src[s.pos]
	if quote != '"' && quote != '\'' {
		return false
	}
	s.pos++
	n := strings.IndexByte(s.src[s.pos:], quote)
	if n < 0 {
		return false
	}
	raw := s.src[s.pos : s.pos+n]
	s.pos += n + 1
	value, ok := s.unescape(raw)
	if !ok {
		return false
	}
	s.attrs = append(s.attrs, scannedAttr{qname, value})
	return true
}

// endTag reads </name>.
func (s *scanner) endTag() bool {
	s.pos += 2 // "</"
	_, space, local, ok := s.name()
	if !ok {
		return false
	}
	s.skipSpace()
	if s.pos >= len(s.src) || s.src[s.pos] != '>' {
		return false
	}
	s.pos++
	return s.tb.endElement(space, local) == nil
}

// xmlDeclarations are the XML declarations accepted, after "<?xml" and
// white space, up to "?>" (trailing spaces aside). encoding/xml accepts
// them all; anything else goes to the strict reader.
var xmlDeclarations = [...]string{
	`version="1.0"`,
	`version="1.0" encoding="utf-8"`,
	`version="1.0" encoding="UTF-8"`,
	`version='1.0' encoding='utf-8'`,
	`version='1.0' encoding='UTF-8'`,
}

// declaration reads the XML declaration; any other processing
// instruction is left to the strict reader.
func (s *scanner) declaration() bool {
	rest := s.src[s.pos:]
	if !strings.HasPrefix(rest, "<?xml") || len(rest) < 6 || !isXMLSpace(rest[5]) {
		return false
	}
	end := strings.Index(rest, "?>")
	if end < 0 {
		return false
	}
	content := strings.TrimRight(strings.TrimLeft(rest[5:end], " \t\r\n"), " ")
	known := false
	for _, d := range xmlDeclarations {
		known = known || content == d
	}
	if !known || s.tb.procInst("xml") != nil {
		return false
	}
	s.pos += end + 2
	return true
}

// commentOrCDATA reads <!--...--> (dropped) or <![CDATA[...]]> (text).
// Anything else after "<!" is a DTD or an error.
func (s *scanner) commentOrCDATA() bool {
	rest := s.src[s.pos:]
	switch {
	case strings.HasPrefix(rest, "<!--"):
		// encoding/xml ends the comment at the first "--", which must
		// be followed by '>'.
		body := rest[4:]
		i := strings.Index(body, "--")
		if i < 0 || i+2 >= len(body) || body[i+2] != '>' {
			return false
		}
		s.pos += 4 + i + 3
		return true
	case strings.HasPrefix(rest, "<![CDATA["):
		body := rest[9:]
		i := strings.Index(body, "]]>")
		if i < 0 {
			return false
		}
		s.pos += 9 + i + 3
		text, ok := s.cdata(body[:i])
		return ok && s.text(text)
	}
	return false
}

// name reads an ASCII XML name with at most one colon that splits it into
// a non-empty prefix and local part, each starting with a letter or '_'.
// Other names encoding/xml accepts (non-ASCII, odd colons) are left to it.
func (s *scanner) name() (qname, space, local string, ok bool) {
	start, colon := s.pos, -1
	for ; s.pos < len(s.src); s.pos++ {
		c := s.src[s.pos]
		if c >= 0x80 {
			return "", "", "", false
		}
		if c == ':' {
			if colon >= 0 {
				return "", "", "", false
			}
			colon = s.pos
			continue
		}
		if !isNameChar(c) {
			break
		}
	}
	qname = s.intern(s.src[start:s.pos])
	if colon < 0 {
		return qname, "", qname, qname != "" && isNameStart(qname[0])
	}
	colon -= start
	space, local = qname[:colon], qname[colon+1:]
	ok = space != "" && local != "" && isNameStart(space[0]) && isNameStart(local[0])
	return qname, space, local, ok
}

// share returns v, a substring of the body, as the tree may keep it.
func (s *scanner) share(v string) string {
	if !s.copyAll {
		return v
	}
	return strings.Clone(v)
}

// intern is share for names, which repeat.
func (s *scanner) intern(n string) string {
	if !s.copyAll {
		return n
	}
	if v, ok := s.names[n]; ok {
		return v
	}
	if s.names == nil {
		s.names = make(map[string]string)
	}
	v := strings.Clone(n)
	s.names[v] = v
	return v
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && isXMLSpace(s.src[s.pos]) {
		s.pos++
	}
}

// unescape returns raw text or attribute content as encoding/xml does:
// the five predefined entity references replaced, CR LF and lone CR made
// LF. ok is false for anything else it would refuse or change: a '<',
// another reference, a character outside the XML Char production.
func (s *scanner) unescape(raw string) (string, bool) {
	if !validChars(raw) || strings.IndexByte(raw, '<') >= 0 {
		return "", false
	}
	i := strings.IndexByte(raw, '&')
	if cr := strings.IndexByte(raw, '\r'); cr >= 0 && (i < 0 || cr < i) {
		i = cr
	}
	if i < 0 {
		return s.share(raw), true
	}
	s.buf = append(s.buf[:0], raw[:i]...)
	for i < len(raw) {
		switch c := raw[i]; c {
		case '&':
			r, n := predefinedEntity(raw[i:])
			if n == 0 {
				return "", false
			}
			s.buf = append(s.buf, r)
			i += n
		case '\r':
			s.buf = append(s.buf, '\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		default:
			s.buf = append(s.buf, c)
			i++
		}
	}
	return string(s.buf), true
}

// cdata returns the content of a CDATA section as encoding/xml does: CR
// LF and lone CR made LF, nothing else interpreted.
func (s *scanner) cdata(raw string) (string, bool) {
	if !validChars(raw) {
		return "", false
	}
	if strings.IndexByte(raw, '\r') < 0 {
		return s.share(raw), true
	}
	s.buf = s.buf[:0]
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] != '\r':
			s.buf = append(s.buf, raw[i])
		case i+1 < len(raw) && raw[i+1] == '\n':
			// the LF follows
		default:
			s.buf = append(s.buf, '\n')
		}
	}
	return string(s.buf), true
}

// predefinedEntity decodes the predefined entity reference at the start
// of s, returning its character and length (0 if there is none).
func predefinedEntity(s string) (byte, int) {
	for _, e := range [...]struct {
		ref string
		c   byte
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}} {
		if strings.HasPrefix(s, e.ref) {
			return e.c, len(e.ref)
		}
	}
	return 0, 0
}

// validChars reports whether s (valid UTF-8) holds only characters of the
// XML Char production: no C0 control but tab, LF and CR, no U+FFFE or
// U+FFFF (surrogates cannot occur in valid UTF-8).
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20:
			if c != '\t' && c != '\n' && c != '\r' {
				return false
			}
		case c == 0xEF:
			if i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF) {
				return false
			}
		}
	}
	return true
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isNameStart reports whether c may start a name (ASCII letters and '_').
func isNameStart(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' }

// isNameChar reports whether c may continue a name (colon aside).
func isNameChar(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '.' || c == '-'
}
