package wsman

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// dumpTree writes e's subtree with every field the service reads, so two
// trees compare equal exactly when their dumps do.
func dumpTree(b *strings.Builder, e *etree.Element) {
	b.WriteString("<" + strconv.Quote(e.Space) + " " + strconv.Quote(e.Tag))
	for _, a := range e.Attr {
		b.WriteString(" " + strconv.Quote(a.Space) + ":" + strconv.Quote(a.Key) + "=" + strconv.Quote(a.Value))
	}
	b.WriteString(">")
	for _, t := range e.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t.Parent() != e {
				b.WriteString("!parent")
			}
			dumpTree(b, t)
		case *etree.CharData:
			b.WriteString("T" + strconv.Quote(t.Data) + strconv.FormatBool(t.IsCData()))
		default:
			b.WriteString("?")
		}
	}
	b.WriteString("</>")
}

// checkScanMatchesStrict fails if the fast reader accepts data that the
// strict reader refuses, or builds a different tree.
func checkScanMatchesStrict(t *testing.T, data []byte) (scanned bool) {
	t.Helper()
	if !utf8.Valid(data) {
		return false
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	fast, ok := scan(data, false)
	copied, okCopied := scan(data, true)
	if ok != okCopied {
		t.Fatalf("fast reader took %q with copyAll=%v only", data, okCopied)
	}
	if !ok {
		return false
	}
	strict, err := parseDocumentStrict(data)
	if err != nil {
		t.Fatalf("fast reader accepted what the strict reader refuses (%v):\n%q", err, data)
	}
	var a, b, c strings.Builder
	dumpTree(&a, fast)
	dumpTree(&b, strict)
	dumpTree(&c, copied)
	if a.String() != b.String() || c.String() != b.String() {
		t.Fatalf("trees differ for %q:\nfast   %s\ncopied %s\nstrict %s", data, a.String(), c.String(), b.String())
	}
	return true
}

// scanFast are documents the fast reader must take: the shapes real
// clients send (declaration, entities, comments, CDATA, CR LF).
var scanFast = []string{
	`<a/>`,
	` <?xml version="1.0" encoding="utf-8"?>` + "\n" + `<a:b xmlns:a="u" x='1' y="&lt;&amp;&gt;&quot;&apos;"z="]]>"/>`,
	`<a><!-- c --><b>x<!---->y<![CDATA[<&]]]>z</b></a>`,
	"<a b=\"1\r\n2\r\"\r\n\tc='3'>\r\n <d>x\r\r\ny&amp;\r</d><d><![CDATA[\r\n\r]]>\r</d>\r</a>\r\n",
	"<a>\u00a0<b>\u00a0</b></a>",
}

// scanSeeds are documents at the edges of what the fast reader accepts.
var scanSeeds = []string{
	`<?xml version="1.1"?><a/>`,
	`<?xml version="1.0" encoding="latin1"?><a/>`,
	`<a><b>x&#65;</b></a>`,
	`<a><b>x&lt</b></a>`,
	`<a><b>x]]>y</b></a>`,
	"<a>\r\n<b>x\ry</b></a>",
	"<a b=\"\t\n\"><c>\x01</c></a>",
	"<a><b>\uFFFE</b><c>\uFFFD</c></a>",
	`<a:b:c/>`, `<:a/>`, `<a:/>`, `<a:1/>`, `<1a/>`, `<a.b-c_d/>`, `<é/>`,
	`<a b/>`, `<a b=1/>`, `<a b="<"/>`, `<a / >`, `<a></a >`, `<a></b>`, `<a>`, `</a>`,
	`<a/><b/>`, `<a/>x`, `x<a/>`, `<a/><!-- -- -->`, `<a><!--->x--></a>`, `<!DOCTYPE a><a/>`,
	`<a><?pi x?></a>`, `<a x="1" x="2"/>`, `<a xmlns:p="u"><p:b p:c="1"/></a>`, `<a><p:b/></a>`,
	"<a>\u00a0<b>\u00a0</b></a>",
	`<e><h/><b> <![CDATA[ ]]> </b></e>`,
	`<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, `<a>&#xD800;</a>`, `<a b="&#0;"/>`,
}

func TestScanMatchesStrict(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	scanned := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if checkScanMatchesStrict(t, b) {
			scanned++
		}
	}
	t.Logf("fast reader took %d of %d testdata documents", scanned, len(files))
	// The fast path must actually serve real requests: all but the
	// deliberately broken ones.
	if scanned < len(files)*3/4 {
		t.Errorf("fast reader took only %d of %d testdata documents", scanned, len(files))
	}
	for _, s := range scanSeeds {
		checkScanMatchesStrict(t, []byte(s))
	}
	for _, s := range scanFast {
		if !checkScanMatchesStrict(t, []byte(s)) {
			t.Errorf("fast reader refused %q", s)
		}
	}
}

// TestParseDocumentErrors checks that both readers refuse what they must
// (the fast one by leaving the document to the strict one).
func TestParseDocumentErrors(t *testing.T) {
	for _, doc := range []string{
		`<a><p:b/></a>`, `<a:0/>`, `<a xmlns:p=""><p:b/></a>`, `<a><b p:c="1"/></a>`,
		`<!DOCTYPE a><a/>`, `<a><?pi?></a>`, `<a/><b/>`, `x<a/>`, `<a>`, ``, "<a>\x01</a>",
		`<a>&foo;</a>`, `<a></b>`,
		// Issue #14: duplicate attributes, references to non-characters.
		`<a x="1" x="2"/>`, `<a xmlns:p="u" p:x="1" p:x="2"/>`,
		`<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, `<a xmlns:p="u"><b xmlns:q="u" q:x="1" p:x="2"/></a>`,
		`<a>&#xD800;</a>`, `<a>&#xdfff;</a>`, `<a b="&#55296;"/>`, `<a>&#0;</a>`, `<a>&#x1;</a>`,
		`<a>x&#xFFFE;</a>`, `<a>&#x110000;</a>`, `<a><b c="x&#xD800;"/></a>`,
	} {
		if _, ok := scanDocument([]byte(doc)); ok {
			t.Errorf("fast reader accepted %q", doc)
		}
		if _, err := parseDocumentStrict([]byte(doc)); err == nil {
			t.Errorf("strict reader accepted %q", doc)
		}
	}
}

// TestParseDocumentAccepts checks documents near the new refusals that
// stay valid: distinct attributes, character references to characters,
// and "&#xD800;" as plain text in CDATA or a comment.
func TestParseDocumentAccepts(t *testing.T) {
	for _, doc := range []string{
		`<a x="1" y="2" p:x="3" xmlns:p="u"/>`, `<a xmlns:p="u" xmlns:q="v" p:x="1" q:x="2"/>`,
		`<a b="&#xE9;&#9;">&#x1F600;&#13;&#xD7FF;&#xE000;&#xFFFD;&#x10FFFF;</a>`,
		`<a><![CDATA[&#xD800;]]><!-- &#0; --></a>`,
	} {
		if _, err := parseDocument([]byte(doc)); err != nil {
			t.Errorf("parseDocument(%q): %v", doc, err)
		}
	}
}

// FuzzScanDocument checks the fast reader against the strict one.
func FuzzScanDocument(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range append(scanFast, scanSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanMatchesStrict(t, data)
	})
}
