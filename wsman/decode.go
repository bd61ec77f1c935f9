package wsman

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"encoding/xml"

	"github.com/beevik/etree"
)

// Limits on a request document, checked while it is read so that a hostile
// request cannot make the service build a huge tree. The request size
// itself is bounded by the HTTP layer.
const (
	// maxDepth is the deepest element nesting accepted. Real envelopes
	// nest below 20 (an embedded instance inside an Invoke parameter
	// inside a Body); 256 leaves ample room.
	maxDepth = 256
	// maxElements is the most elements accepted in one request.
	maxElements = 50000
	// maxAttrs is the most attributes (namespace declarations included)
	// accepted on one element.
	maxAttrs = 256
)

// Errors from parseDocument. errLimit becomes wsman:EncodingLimit, the
// others wsman:SchemaValidationError.
var (
	errLimit   = errors.New("document exceeds a parser limit")
	errDTD     = errors.New("DTDs and entity declarations are not allowed in SOAP messages")
	errUTF8    = errors.New("invalid UTF-8")
	errNoRoot  = errors.New("no root element")
	errPI      = errors.New("processing instructions are not allowed in SOAP messages")
	errContent = errors.New("content outside the root element")
	errUTF16   = errors.New("invalid UTF-16")
)

// decodeError is a parse failure with its position, for logs and the
// fault reason.
type decodeError struct {
	Line int
	Err  error
}

func (e *decodeError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *decodeError) Unwrap() error { return e.Err }

// parseDocument reads a UTF-8 XML document into an etree tree, refusing
// DOCTYPE declarations (SOAP 1.2 Part 1 §5: a SOAP message MUST NOT contain
// a DTD) and processing instructions, and stopping at maxDepth and
// maxElements before allocating more. Comments are dropped.
//
// Two readers build the same tree through one treeBuilder, which applies
// the limits and the document rules. scanDocument is fast but accepts only
// the plain XML that real clients send; on anything else, including every
// error, it gives up and the strict reader (encoding/xml) reads the
// document again and has the last word, with its exact error and line.
// The fast reader therefore never decides that a document is bad, and
// FuzzScanDocument checks that it builds exactly the strict reader's tree
// whenever it succeeds.
func parseDocument(body []byte) (*etree.Element, error) {
	if !utf8.Valid(body) {
		return nil, &decodeError{Line: 1, Err: errUTF8}
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if root, ok := scanDocument(body); ok {
		return root, nil
	}
	return parseDocumentStrict(body)
}

// parseDocumentStrict streams tokens with encoding/xml's strict decoder
// (which never expands entities beyond the five predefined ones) into a
// treeBuilder.
func parseDocumentStrict(body []byte) (*etree.Element, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// The transport has already transcoded the body to UTF-8, whatever
	// the XML declaration says.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	tb := newTreeBuilder(16, 32, new(treeScratch))
	fail := func(err error) (*etree.Element, error) {
		line, _ := d.InputPos()
		return nil, &decodeError{Line: line, Err: err}
	}
	for {
		start := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &decodeError{Line: se.Line, Err: errors.New(se.Msg)}
			}
			return fail(err)
		}
		switch tok.(type) {
		case xml.StartElement, xml.CharData:
			// encoding/xml turns a reference to a character XML does not
			// allow into that character (or U+FFFD for a surrogate).
			if ref := badCharRef(body[start:d.InputOffset()]); ref != "" {
				return fail(fmt.Errorf("character reference %s names no XML character", ref))
			}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var e *etree.Element
			if e, err = tb.startElement(t.Name.Space, t.Name.Local, len(t.Attr)); err != nil {
				return fail(err)
			}
			for _, a := range t.Attr {
				if err = addAttr(e, a.Name.Space, a.Name.Local, a.Value); err != nil {
					return fail(err)
				}
			}
			err = tb.open(e)
		case xml.EndElement:
			err = tb.endElement(t.Name.Space, t.Name.Local)
		case xml.CharData:
			var keep bool
			keep, err = tb.keepText(len(bytes.TrimSpace(t)) == 0)
			if keep {
				tb.addText(string(t))
			}
		case xml.Directive:
			err = errDTD
		case xml.ProcInst:
			err = tb.procInst(t.Target)
		case xml.Comment:
			// dropped
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := tb.finish(); err != nil {
		return fail(err)
	}
	return tb.root, nil
}

// badCharRef returns the first character reference in raw markup (a
// start tag or a run of character data, not CDATA) that does not name a
// character of the XML Char production (XML 1.0 §4.1, WFC: Legal
// Character), such as &#xD800; or &#0;, or "" if there is none. References
// that do not parse are left to the decoder, which refuses them.
func badCharRef(raw []byte) string {
	if bytes.HasPrefix(raw, []byte("<![CDATA[")) {
		return "" // no references in CDATA
	}
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte("&#"))
		if j < 0 {
			return ""
		}
		j += i
		end := bytes.IndexByte(raw[j:], ';')
		if end < 0 {
			return ""
		}
		ref := string(raw[j+2 : j+end])
		var n uint64
		var err error
		if strings.HasPrefix(ref, "x") {
			n, err = strconv.ParseUint(ref[1:], 16, 32)
		} else {
			n, err = strconv.ParseUint(ref, 10, 32)
		}
		if err == nil && !isXMLChar(rune(n)) {
			return string(raw[j : j+end+1])
		}
		i = j + 2
	}
}

// isXMLChar reports whether r is in the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

func fullName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// decodeFault turns a parseDocument error into the fault to send: a
// document beyond our limits is wsman:EncodingLimit, anything else that is
// not well-formed XML (bad syntax, DTD, invalid UTF-8) is
// wsman:SchemaValidationError. We use that rather than openwsman's
// wsa:InvalidMessageInformationHeader because the failure concerns the
// whole message, not an addressing header (DSP0226 §14.6.17: the message
// does not conform to the SOAP/WS-Management schema).
func decodeFault(err error) *Fault {
	reason := "The request is not a well-formed XML document: " + err.Error() + "."
	sub := SubcodeSchemaValidationError
	if errors.Is(err, errLimit) {
		sub = SubcodeEncodingLimit
		reason = "The request exceeds a limit of the service: " + err.Error() + "."
	}
	f := NewFault(sub, "", strings.ToValidUTF8(reason, "?"))
	f.Err = err
	return f
}
