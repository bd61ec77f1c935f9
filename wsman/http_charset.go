package wsman

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
)

// The HTTP binding carries envelopes in UTF-8 or UTF-16 (MS-WSMV §2.2.4:
// the charset MUST be one of them; Windows clients send UTF-16 with a BOM).
// The service works on UTF-8 only; httpCharset converts at the edge and
// the response goes back in the request's encoding, as Windows and
// openwsman answer.

// textEncoding is the encoding of a request body.
type textEncoding uint8

const (
	encUTF8 textEncoding = iota
	encUTF16LE
	encUTF16BE
)

// httpCharset is how a request body is encoded and how to label and
// encode the response.
type httpCharset struct {
	enc textEncoding
	// label is the charset parameter of the response Content-Type.
	label string
	// bom: the response starts with a byte order mark (UTF-16 labelled
	// without endianness, RFC 2781 §3.3).
	bom bool
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// parseSOAPContentType checks that v is application/soap+xml (with any
// parameters) and returns its charset parameter ("" when absent). ok is
// false for any other media type.
func parseSOAPContentType(v string) (charset string, ok bool) {
	mt, params, _ := strings.Cut(v, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), "application/soap+xml") {
		return "", false
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "charset") {
			return strings.Trim(strings.TrimSpace(val), `"`), true
		}
	}
	return "", true
}

// supportedCharset reports whether a Content-Type charset label names
// UTF-8 or UTF-16 ("" counts: the body's BOM or UTF-8 decides).
func supportedCharset(label string) bool {
	for _, l := range [...]string{"", "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be"} {
		if strings.EqualFold(label, l) {
			return true
		}
	}
	return false
}

// detectCharset decides the body encoding from the Content-Type charset
// label and the body's byte order mark, which wins when present. It
// returns the body without its BOM. ok is false for a charset other than
// UTF-8 or UTF-16.
func detectCharset(label string, body []byte) (cs httpCharset, rest []byte, ok bool) {
	switch {
	case bytes.HasPrefix(body, bomUTF16LE):
		return httpCharset{encUTF16LE, "UTF-16", true}, body[2:], true
	case bytes.HasPrefix(body, bomUTF16BE):
		return httpCharset{encUTF16BE, "UTF-16", true}, body[2:], true
	}
	body = bytes.TrimPrefix(body, bomUTF8)
	switch {
	case label == "" || strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8"):
		return httpCharset{encUTF8, "UTF-8", false}, body, true
	case strings.EqualFold(label, "utf-16le"):
		return httpCharset{encUTF16LE, "UTF-16LE", false}, body, true
	case strings.EqualFold(label, "utf-16be"):
		return httpCharset{encUTF16BE, "UTF-16BE", false}, body, true
	case strings.EqualFold(label, "utf-16"):
		// No BOM: XML starts with '<' (or white space), so the zero byte
		// tells the order; RFC 2781 defaults to big-endian.
		if len(body) >= 2 && body[0] != 0 && body[1] == 0 {
			return httpCharset{encUTF16LE, "UTF-16", true}, body, true
		}
		return httpCharset{encUTF16BE, "UTF-16", true}, body, true
	}
	return httpCharset{}, nil, false
}

func (cs httpCharset) utf16() *unicode.Endianness {
	var e unicode.Endianness
	switch cs.enc {
	case encUTF16LE:
		e = unicode.LittleEndian
	case encUTF16BE:
		e = unicode.BigEndian
	default:
		return nil
	}
	return &e
}

// decode returns body (without BOM) as UTF-8. Invalid UTF-16, an odd
// number of bytes or a lone surrogate, is a *decodeError (errUTF16) with
// its line: it would otherwise become U+FFFD and pass for a character the
// client never sent. The XML parser judges the rest.
func (cs httpCharset) decode(body []byte) ([]byte, error) {
	if cs.enc == encUTF8 {
		return body, nil
	}
	unit := func(i int) rune { return rune(body[i])<<8 | rune(body[i+1]) }
	if cs.enc == encUTF16LE {
		unit = func(i int) rune { return rune(body[i+1])<<8 | rune(body[i]) }
	}
	out := make([]byte, 0, len(body)/2+len(body)/8)
	line := 1
	for i := 0; i < len(body); i += 2 {
		if i+1 == len(body) {
			return nil, &decodeError{Line: line, Err: fmt.Errorf("%w: an odd number of bytes", errUTF16)}
		}
		r := unit(i)
		if utf16.IsSurrogate(r) {
			if r < 0xDC00 && i+3 < len(body) {
				if r2 := unit(i + 2); 0xDC00 <= r2 && r2 < 0xE000 {
					out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
					i += 2
					continue
				}
			}
			return nil, &decodeError{Line: line, Err: fmt.Errorf("%w: lone surrogate %#04x at byte %d", errUTF16, r, i)}
		}
		if r == '\n' {
			line++
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// encode returns the UTF-8 response in the response charset.
func (cs httpCharset) encode(resp []byte) ([]byte, error) {
	e := cs.utf16()
	if e == nil {
		return resp, nil
	}
	policy := unicode.IgnoreBOM
	if cs.bom {
		policy = unicode.UseBOM
	}
	return unicode.UTF16(*e, policy).NewEncoder().Bytes(resp)
}

// contentType returns the response Content-Type header value.
func (cs httpCharset) contentType() []string {
	if cs.enc == encUTF8 {
		return contentTypeUTF8
	}
	return []string{"application/soap+xml;charset=" + cs.label}
}

// contentTypeUTF8 is shared by all UTF-8 responses (net/http never
// modifies header values).
var contentTypeUTF8 = []string{"application/soap+xml;charset=UTF-8"}
