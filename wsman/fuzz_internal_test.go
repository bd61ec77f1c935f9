package wsman

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// encodeRequest writes env back as a request envelope: the inverse of
// decodeEnvelope for the fields it decodes.
func encodeRequest(env *envelope) []byte {
	var b bytes.Buffer
	r := &env.req
	b.WriteString(`<s:Envelope` + rootNamespaces + `><s:Header>`)
	text := func(tag, v string) {
		b.WriteString("<" + tag + ">")
		escapeText(&b, v)
		b.WriteString("</" + tag + ">")
	}
	if env.hasAction {
		text("a:Action", r.Action)
	}
	if env.hasMessageID {
		text("a:MessageID", r.MessageID)
	}
	if r.To != "" {
		text("a:To", r.To)
	}
	if env.hasReplyTo {
		b.WriteString("<a:ReplyTo>")
		text("a:Address", env.replyTo)
		b.WriteString("</a:ReplyTo>")
	}
	if env.hasFaultTo {
		b.WriteString("<a:FaultTo>")
		text("a:Address", env.faultTo)
		b.WriteString("</a:FaultTo>")
	}
	if env.hasResourceURI {
		text("w:ResourceURI", r.ResourceURI)
	}
	if len(r.Selectors) > 0 {
		b.WriteString(`<w:SelectorSet>`)
		for _, sel := range r.Selectors {
			b.WriteString(`<w:Selector Name="`)
			escapeAttr(&b, sel.Name)
			b.WriteString(`">`)
			if sel.EPR != nil {
				writeEPRElement(&b, "a:EndpointReference", sel.EPR)
			} else {
				escapeText(&b, sel.Value)
			}
			b.WriteString(`</w:Selector>`)
		}
		b.WriteString(`</w:SelectorSet>`)
	}
	if env.maxEnvelope > 0 {
		text("w:MaxEnvelopeSize", strconv.Itoa(env.maxEnvelope))
	}
	if env.hasOpTimeout {
		d := r.OperationTimeout
		sign := ""
		if d < 0 {
			sign, d = "-", -d
		}
		text("w:OperationTimeout", sign+"PT"+strconv.FormatInt(int64(d/time.Second), 10)+"."+
			strconv.FormatInt(int64(d%time.Second)+1e9, 10)[1:]+"S")
	}
	if r.Locale != "" {
		b.WriteString(`<w:Locale xml:lang="`)
		escapeAttr(&b, r.Locale)
		b.WriteString(`"/>`)
	}
	if r.DataLocale != "" {
		b.WriteString(`<p:DataLocale xml:lang="`)
		escapeAttr(&b, r.DataLocale)
		b.WriteString(`"/>`)
	}
	if len(r.Options) > 0 {
		b.WriteString(`<w:OptionSet>`)
		for _, o := range r.Options {
			b.WriteString(`<w:Option Name="`)
			escapeAttr(&b, o.Name)
			b.WriteString(`"`)
			if o.Type != "" {
				b.WriteString(` Type="`)
				escapeAttr(&b, o.Type)
				b.WriteString(`"`)
			}
			if o.MustComply {
				b.WriteString(` MustComply="true"`)
			}
			b.WriteString(`>`)
			escapeText(&b, o.Value)
			b.WriteString(`</w:Option>`)
		}
		b.WriteString(`</w:OptionSet>`)
	}
	if env.requestEstimate {
		b.WriteString(`<w:RequestTotalItemsCountEstimate/>`)
	}
	b.WriteString(`</s:Header><s:Body>`)
	if r.Body != nil {
		writeElement(&b, selfContained(r.Body))
	}
	b.WriteString(`</s:Body></s:Envelope>`)
	return b.Bytes()
}

// selfContained returns a copy of e that declares every namespace prefix
// in scope at e, so that it can be moved into another document.
func selfContained(e *etree.Element) *etree.Element {
	c := e.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" {
			declared[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			declared[""] = true
		}
	}
	for p := e.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			switch {
			case a.Space == "xmlns" && !declared[a.Key]:
				declared[a.Key] = true
				c.CreateAttr("xmlns:"+a.Key, a.Value)
			case a.Space == "" && a.Key == "xmlns" && !declared[""]:
				declared[""] = true
				c.CreateAttr("xmlns", a.Value)
			}
		}
	}
	return c
}

// bodyString is a namespace-resolved rendering of e, independent of
// prefixes and namespace declarations.
func bodyString(e *etree.Element) string {
	if e == nil {
		return ""
	}
	var b bytes.Buffer
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		b.WriteString("<{" + e.NamespaceURI() + "}" + e.Tag)
		var attrs []string
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			attrs = append(attrs, " {"+a.NamespaceURI()+"}"+a.Key+"="+strconv.Quote(a.Value))
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			b.WriteString(a)
		}
		b.WriteString(">")
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				b.WriteString(strconv.Quote(t.Data))
			}
		}
		b.WriteString("</>")
	}
	walk(e)
	return b.String()
}

// FuzzDecodeEnvelope checks that decoding never panics and that a decoded
// envelope survives encode then decode.
func FuzzDecodeEnvelope(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := parseDocument(data)
		if err != nil {
			return
		}
		env, fault := decodeEnvelope(root)
		if fault != nil || env.headerFault != nil {
			return
		}
		enc := encodeRequest(env)
		root2, err := parseDocument(enc)
		if err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, enc)
		}
		env2, fault := decodeEnvelope(root2)
		if fault != nil {
			t.Fatalf("re-encoded envelope faults: %v\n%s", fault, enc)
		}
		a, b := env.req, env2.req
		if d := a.OperationTimeout - b.OperationTimeout; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("OperationTimeout %v != %v", a.OperationTimeout, b.OperationTimeout)
		}
		a.OperationTimeout, b.OperationTimeout = 0, 0
		if bodyString(a.Body) != bodyString(b.Body) {
			t.Errorf("body differs:\n%s\n%s", bodyString(a.Body), bodyString(b.Body))
		}
		a.Body, b.Body = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("request differs:\n%+v\n%+v\n%s", a, b, enc)
		}
		if env.identify != env2.identify || env.maxEnvelope != env2.maxEnvelope ||
			env.requestEstimate != env2.requestEstimate || env.replyTo != env2.replyTo {
			t.Errorf("envelope differs:\n%+v\n%+v", env, env2)
		}
	})
}
