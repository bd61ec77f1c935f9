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

// parseDocument reads a UTF-8 XML document into an etree tree. It streams
// tokens with encoding/xml's strict decoder (which never expands entities
// beyond the five predefined ones) and builds the tree itself, so that it
// can refuse DOCTYPE declarations (SOAP 1.2 Part 1 §5: a SOAP message MUST
// NOT contain a DTD) and processing instructions, and stop at maxDepth and
// maxElements before allocating more. Comments are dropped.
func parseDocument(body []byte) (*etree.Element, error) {
	if !utf8.Valid(body) {
		return nil, &decodeError{Line: 1, Err: errUTF8}
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// The transport has already transcoded the body to UTF-8, whatever
	// the XML declaration says.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var (
		root  *etree.Element
		stack []*etree.Element
		count int
	)
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
			if len(stack) >= maxDepth {
				return fail(fmt.Errorf("%w: nesting deeper than %d", errLimit, maxDepth))
			}
			count++
			if count > maxElements {
				return fail(fmt.Errorf("%w: more than %d elements", errLimit, maxElements))
			}
			if len(t.Attr) > maxAttrs {
				return fail(fmt.Errorf("%w: more than %d attributes", errLimit, maxAttrs))
			}
			if len(stack) == 0 && root != nil {
				return fail(errContent)
			}
			e := &etree.Element{Space: t.Name.Space, Tag: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					e.CreateAttr(a.Name.Local, a.Value)
				} else {
					e.CreateAttr(a.Name.Space+":"+a.Name.Local, a.Value)
				}
			}
			if len(stack) == 0 {
				root = e
			} else {
				stack[len(stack)-1].AddChild(e)
			}
			if p := undeclaredPrefix(e); p != "" {
				return fail(fmt.Errorf("namespace prefix %q is not declared", p))
			}
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 0 {
				return fail(errors.New("unexpected end element"))
			}
			top := stack[len(stack)-1]
			if top.Tag != t.Name.Local || top.Space != t.Name.Space {
				return fail(fmt.Errorf("element <%s> closed by </%s>", top.FullTag(), fullName(t.Name)))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return fail(errContent)
				}
				continue
			}
			if len(stack) <= 2 && len(bytes.TrimSpace(t)) == 0 {
				// Whitespace directly inside Envelope, Header or Body
				// is insignificant: their content is elements only.
				continue
			}
			stack[len(stack)-1].CreateText(string(t))
		case xml.Directive:
			return fail(errDTD)
		case xml.ProcInst:
			if t.Target == "xml" && root == nil && len(stack) == 0 {
				continue // the XML declaration
			}
			return fail(errPI)
		case xml.Comment:
			// dropped
		}
	}
	if root == nil {
		return fail(errNoRoot)
	}
	if len(stack) != 0 {
		return fail(io.ErrUnexpectedEOF)
	}
	return root, nil
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
