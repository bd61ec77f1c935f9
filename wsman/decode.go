package wsman

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

	var tb treeBuilder
	fail := func(err error) (*etree.Element, error) {
		line, _ := d.InputPos()
		return nil, &decodeError{Line: line, Err: err}
	}
	for {
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
		switch t := tok.(type) {
		case xml.StartElement:
			e, err := tb.startElement(t.Name.Space, t.Name.Local, len(t.Attr))
			if err != nil {
				return fail(err)
			}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					e.CreateAttr(a.Name.Local, a.Value)
				} else {
					e.CreateAttr(a.Name.Space+":"+a.Name.Local, a.Value)
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

// treeBuilder assembles the tree from the tokens of either reader and
// enforces the limits and the document rules, so that both readers agree
// on both.
type treeBuilder struct {
	root  *etree.Element
	stack []*etree.Element // open elements, root first
	count int              // elements so far
}

// startElement checks the limits for a new element with nattr attributes
// and returns it, not yet linked into the tree: the caller adds the
// attributes, then calls open.
func (tb *treeBuilder) startElement(space, local string, nattr int) (*etree.Element, error) {
	if len(tb.stack) >= maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", errLimit, maxDepth)
	}
	tb.count++
	if tb.count > maxElements {
		return nil, fmt.Errorf("%w: more than %d elements", errLimit, maxElements)
	}
	if nattr > maxAttrs {
		return nil, fmt.Errorf("%w: more than %d attributes", errLimit, maxAttrs)
	}
	if len(tb.stack) == 0 && tb.root != nil {
		return nil, errContent
	}
	e := &etree.Element{Space: space, Tag: local}
	if nattr > 0 {
		e.Attr = make([]etree.Attr, 0, nattr)
	}
	return e, nil
}

// open links e (from startElement, attributes added) into the tree and
// makes it the current element.
func (tb *treeBuilder) open(e *etree.Element) error {
	if len(tb.stack) == 0 {
		tb.root = e
	} else {
		tb.stack[len(tb.stack)-1].AddChild(e)
	}
	if p := undeclaredPrefix(e); p != "" {
		return fmt.Errorf("namespace prefix %q is not declared", p)
	}
	tb.stack = append(tb.stack, e)
	return nil
}

// endElement closes the current element, which must be space:local.
func (tb *treeBuilder) endElement(space, local string) error {
	if len(tb.stack) == 0 {
		return errors.New("unexpected end element")
	}
	top := tb.stack[len(tb.stack)-1]
	if top.Tag != local || top.Space != space {
		return fmt.Errorf("element <%s> closed by </%s>", top.FullTag(), fullName(xml.Name{Space: space, Local: local}))
	}
	tb.stack = tb.stack[:len(tb.stack)-1]
	return nil
}

// keepText reports whether character data belongs in the tree; blank
// tells whether it is all white space. Only white space may stand outside
// the root element.
func (tb *treeBuilder) keepText(blank bool) (bool, error) {
	switch {
	case len(tb.stack) == 0:
		if !blank {
			return false, errContent
		}
		return false, nil
	case len(tb.stack) <= 2 && blank:
		// Whitespace directly inside Envelope, Header or Body is
		// insignificant: their content is elements only.
		return false, nil
	}
	return true, nil
}

// addText appends character data to the current element (after keepText).
func (tb *treeBuilder) addText(s string) { tb.stack[len(tb.stack)-1].CreateText(s) }

// procInst accepts the XML declaration before the root and nothing else.
func (tb *treeBuilder) procInst(target string) error {
	if target == "xml" && tb.root == nil && len(tb.stack) == 0 {
		return nil
	}
	return errPI
}

// finish checks the document is complete.
func (tb *treeBuilder) finish() error {
	if tb.root == nil {
		return errNoRoot
	}
	if len(tb.stack) != 0 {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// undeclaredPrefix returns a prefix used by e or its attributes that no
// namespace declaration in scope binds (Namespaces in XML §5), or "".
func undeclaredPrefix(e *etree.Element) string {
	if e.Space != "" && !prefixDeclared(e, e.Space) {
		return e.Space
	}
	for _, a := range e.Attr {
		if a.Space != "" && a.Space != "xmlns" && !prefixDeclared(e, a.Space) {
			return a.Space
		}
	}
	return ""
}

func prefixDeclared(e *etree.Element, prefix string) bool {
	if prefix == "xml" {
		return true
	}
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value != ""
			}
		}
	}
	return false
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
