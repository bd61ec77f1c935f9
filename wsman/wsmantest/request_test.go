package wsmantest

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func TestNewRequest(t *testing.T) {
	req := NewRequestID("uuid:1", ActionGet, ResourceURI, map[string]string{"Name": `a<&>"b`, "A": "1"}, "")
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(req); err != nil {
		t.Fatalf("%v\n%s", err, req)
	}
	sels := doc.FindElements("//SelectorSet/Selector")
	if len(sels) != 2 || sels[0].SelectAttrValue("Name", "") != "A" || sels[1].Text() != `a<&>"b` {
		t.Errorf("selectors wrong:\n%s", req)
	}
	if !strings.Contains(string(req), `<a:Address mustUnderstand="true">`) {
		t.Errorf("not pywinrm layout:\n%s", req)
	}
	for _, body := range []string{EnumerateBody(true, 7, "EnumerateEPR"), PullBody("uuid:x", 3), ReleaseBody("uuid:x")} {
		if err := etree.NewDocument().ReadFromBytes(NewRequest(ActionPull, ResourceURI, nil, body)); err != nil {
			t.Errorf("%v: %s", err, body)
		}
	}
}
