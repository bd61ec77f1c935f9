package wscim

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim/cimtest"
)

// readSettings are the limits a WS-Man server parses requests with.
var readSettings = etree.ReadSettings{MaxDepth: 64}

func encodeText(t *testing.T, el *etree.Element) string {
	doc := etree.NewDocument()
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true} // keep CR as &#xD;
	doc.SetRoot(el)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzDecodeInstance checks that DecodeInstance never panics on any
// element, and that what it decodes encodes to text that decodes to the
// same text again (a fixed point after one round).
func FuzzDecodeInstance(f *testing.F) {
	for _, text := range cimtest.ReadFiles(f, "testdata/*.xml") {
		f.Add(text, "")
		f.Add(text, "CIM_SettingData")
	}
	f.Add(`<p:Msvm_X xmlns:p="x"><p:MigrationType>1</p:MigrationType><p:Other/></p:Msvm_X>`, "CIM_SettingData")
	reg := cimtest.Registry(f)
	f.Fuzz(func(t *testing.T, text, expect string) {
		doc := etree.NewDocument()
		doc.ReadSettings = readSettings
		if err := doc.ReadFromString(text); err != nil || doc.Root() == nil {
			return
		}
		if _, err := DecodeEPR(doc.Root()); err != nil {
			_ = err // only must not panic
		}
		inst, err := DecodeInstance(doc.Root(), reg, DecodeOptions{Expect: expect})
		if err != nil {
			return
		}
		once := encodeText(t, EncodeInstance(inst, EncodeOptions{}))
		doc2 := etree.NewDocument()
		if err := doc2.ReadFromString(once); err != nil {
			t.Fatalf("encoded instance does not parse: %v\n%s", err, once)
		}
		inst2, err := DecodeInstance(doc2.Root(), reg, DecodeOptions{})
		if err != nil {
			t.Fatalf("encoded instance does not decode: %v\n%s", err, once)
		}
		if twice := encodeText(t, EncodeInstance(inst2, EncodeOptions{})); twice != once {
			t.Fatalf("round trip changed the instance:\n%s\n%s", once, twice)
		}
	})
}
