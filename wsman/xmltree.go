package wsman

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
)

// treeBuilder assembles the tree from the tokens of either reader and
// enforces the limits and the document rules, so that both readers agree
// on both.
//
// It allocates elements, text nodes, attribute and child lists from
// slabs, so that a request envelope costs a handful of allocations rather
// than several per element; the slabs live as long as any node of the
// tree. An element's children are collected on a scratch stack and linked
// when it closes, when their number, hence the exact list size, is known.
type treeBuilder struct {
	root  *etree.Element
	stack []*etree.Element // open elements, root first
	marks []int            // per open element, where its children start in kids
	kids  []etree.Token    // children of the open elements, not yet linked
	count int              // elements so far

	chunk     int // slab size, elements and text
	attrChunk int // slab size, attributes
	elems     []etree.Element
	texts     []etree.CharData
	attrs     []etree.Attr
	toks      []etree.Token
}

// treeScratch holds the initial scratch stacks of a treeBuilder, large
// enough for any real envelope, so that they come with the one allocation
// of their owner.
type treeScratch struct {
	stack [16]*etree.Element
	marks [16]int
	kids  [32]etree.Token
}

// newTreeBuilder returns a builder whose slabs hold about elems elements
// and attrs attributes, using sc for its scratch stacks.
func newTreeBuilder(elems, attrs int, sc *treeScratch) treeBuilder {
	return treeBuilder{
		chunk:     min(max(elems, 1), 256),
		attrChunk: min(max(attrs, 1), 256),
		stack:     sc.stack[:0],
		marks:     sc.marks[:0],
		kids:      sc.kids[:0],
	}
}

// startElement checks the limits for a new element with nattr attributes
// and returns it, not yet in the tree: the caller adds the attributes
// (CreateAttr fits them in the list allocated here), then calls open.
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
	if len(tb.elems) == cap(tb.elems) {
		tb.elems = make([]etree.Element, 0, tb.chunk)
	}
	tb.elems = append(tb.elems, etree.Element{Space: space, Tag: local})
	e := &tb.elems[len(tb.elems)-1]
	if nattr > 0 {
		e.Attr = carve(&tb.attrs, nattr, tb.attrChunk)
	}
	return e, nil
}

// carve returns an empty slice with capacity n cut from *slab, starting a
// new slab of at least chunk entries when it is full. The capacity is
// exact, so appending beyond n never writes into a neighbour's part.
func carve[T any](slab *[]T, n, chunk int) []T {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(n, chunk))
	}
	lo := len(*slab)
	*slab = (*slab)[:lo+n]
	return (*slab)[lo : lo : lo+n]
}

// addAttr adds the attribute space:key (space is the prefix, "" for
// none) to e, an element from startElement. A second attribute of the same
// name is an error (XML 1.0 §3.1, WFC: Unique Att Spec): etree would
// silently keep the last one, and the readers' token streams allow it.
func addAttr(e *etree.Element, space, key, value string) error {
	for _, a := range e.Attr {
		if a.Key == key && a.Space == space {
			return fmt.Errorf("attribute %s appears twice on <%s>", qualified(space, key), e.FullTag())
		}
	}
	e.CreateAttr(qualified(space, key), value)
	return nil
}

func qualified(space, key string) string {
	if space == "" {
		return key
	}
	return space + ":" + key
}

// open makes e (from startElement, attributes added) the current element.
func (tb *treeBuilder) open(e *etree.Element) error {
	if len(tb.stack) == 0 {
		tb.root = e
	} else {
		tb.kids = append(tb.kids, e)
	}
	if p := tb.undeclaredPrefix(e); p != "" {
		return fmt.Errorf("namespace prefix %q is not declared", p)
	}
	if a := tb.sameExpandedName(e); a != "" {
		return fmt.Errorf("attribute %s appears twice on <%s> (two prefixes of one namespace)", a, e.FullTag())
	}
	tb.stack = append(tb.stack, e)
	tb.marks = append(tb.marks, len(tb.kids))
	return nil
}

// endElement closes the current element, which must be space:local, and
// links its children to it.
func (tb *treeBuilder) endElement(space, local string) error {
	if len(tb.stack) == 0 {
		return errors.New("unexpected end element")
	}
	top := tb.stack[len(tb.stack)-1]
	if top.Tag != local || top.Space != space {
		return fmt.Errorf("element <%s> closed by </%s>", top.FullTag(), fullName(xml.Name{Space: space, Local: local}))
	}
	mark := tb.marks[len(tb.marks)-1]
	if kids := tb.kids[mark:]; len(kids) > 0 {
		top.Child = carve(&tb.toks, len(kids), 2*tb.chunk)
		for _, k := range kids {
			top.AddChild(k)
		}
		clear(kids)
		tb.kids = tb.kids[:mark]
	}
	tb.stack = tb.stack[:len(tb.stack)-1]
	tb.marks = tb.marks[:len(tb.marks)-1]
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
// The node is what etree's CreateText makes: plain text, no flags.
func (tb *treeBuilder) addText(s string) {
	if len(tb.texts) == cap(tb.texts) {
		tb.texts = make([]etree.CharData, 0, tb.chunk)
	}
	tb.texts = append(tb.texts, etree.CharData{Data: s})
	tb.kids = append(tb.kids, &tb.texts[len(tb.texts)-1])
}

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
// namespace declaration in scope (on e or the open elements) binds
// (Namespaces in XML §5), or "".
func (tb *treeBuilder) undeclaredPrefix(e *etree.Element) string {
	if e.Space != "" && !tb.prefixDeclared(e, e.Space) {
		return e.Space
	}
	for _, a := range e.Attr {
		if a.Space != "" && a.Space != "xmlns" && !tb.prefixDeclared(e, a.Space) {
			return a.Space
		}
	}
	return ""
}

func (tb *treeBuilder) prefixDeclared(e *etree.Element, prefix string) bool {
	return prefix == "xml" || tb.namespaceOf(e, prefix) != ""
}

// namespaceOf returns the namespace prefix is bound to in scope at e (on
// e or the open elements), or "".
func (tb *treeBuilder) namespaceOf(e *etree.Element, prefix string) string {
	if v, ok := declaration(e, prefix); ok {
		return v
	}
	for i := len(tb.stack) - 1; i >= 0; i-- {
		if v, ok := declaration(tb.stack[i], prefix); ok {
			return v
		}
	}
	return ""
}

// sameExpandedName returns the qualified name of an attribute of e whose
// namespace and local name equal another's under a different prefix
// (Namespaces in XML §6.3), or "". Prefixes are declared (open checked).
func (tb *treeBuilder) sameExpandedName(e *etree.Element) string {
	for i, a := range e.Attr {
		if a.Space == "" || a.Space == "xmlns" {
			continue
		}
		for _, b := range e.Attr[:i] {
			if b.Key == a.Key && b.Space != "" && b.Space != "xmlns" && b.Space != a.Space &&
				tb.namespaceOf(e, a.Space) == tb.namespaceOf(e, b.Space) {
				return qualified(a.Space, a.Key)
			}
		}
	}
	return ""
}

// declaration returns the namespace e binds to prefix, if it does.
func declaration(e *etree.Element, prefix string) (string, bool) {
	for _, a := range e.Attr {
		if a.Space == "xmlns" && a.Key == prefix {
			return a.Value, true
		}
	}
	return "", false
}
