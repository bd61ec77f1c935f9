package wsman

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// TestOperationTimeout: the header is read by package xsd's rules (its
// own tests hold the grammar); here, what the service makes of them.
func TestOperationTimeout(t *testing.T) {
	const longest = time.Duration(1<<63 - 1)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT60S", time.Minute, true},
		{"PT60.000S", time.Minute, true},
		{"PT20S", 20 * time.Second, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"PT1H", time.Hour, true},
		{"P1D", 24 * time.Hour, true},
		{"PT0S", 0, true},
		{"P0Y1D", 24 * time.Hour, true},
		// Not a timeout, whether the text is an xs:duration or not: one
		// fault for both (issue #14).
		{"-PT5S", 0, false},
		{"-P1D", 0, false},
		{"-PT0S", 0, false},
		{"-P1Y", 0, false},
		{"PT-5S", 0, false},
		{"", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P1DT", 0, false},
		{"60", 0, false},
		{"PT1.S", 0, false},
		{"PT.5S", 0, false},
		{"P1.5D", 0, false},
		{"PT5S3M", 0, false},
		{"PT1H1H", 0, false},
		{"PTS", 0, false},
		{"P1H", 0, false},
		{"PT1D", 0, false},
		{"2024-01-01T00:00:00Z", 0, false},
		// Longer than any cap.
		{"P1Y", longest, true},
		{"P1M", longest, true},
		{"P99999999999999999999Y", longest, true},
		{"P99999999999999999999D", longest, true},
	}
	for _, tc := range tests {
		got, ok := operationTimeout(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("operationTimeout(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSelectorSetCheck(t *testing.T) {
	keys := []string{"CreationClassName", "Name"}
	tests := []struct {
		name   string
		set    SelectorSet
		detail string
	}{
		{"exact", SelectorSet{{Name: "CreationClassName", Value: "X"}, {Name: "Name", Value: "a"}}, ""},
		{"case-insensitive", SelectorSet{{Name: "creationclassname"}, {Name: "NAME"}}, ""},
		{"with namespace", SelectorSet{{Name: "CreationClassName"}, {Name: "Name"}, {Name: "__CIMNamespace", Value: "root/cimv2"}}, ""},
		{"missing", SelectorSet{{Name: "Name"}}, DetailInsufficientSelectors},
		{"empty", nil, DetailInsufficientSelectors},
		{"unexpected", SelectorSet{{Name: "CreationClassName"}, {Name: "Name"}, {Name: "Color"}}, DetailUnexpectedSelectors},
		{"duplicate", SelectorSet{{Name: "Name"}, {Name: "name"}, {Name: "CreationClassName"}}, DetailDuplicateSelectors},
	}
	for _, tc := range tests {
		err := tc.set.Check(keys)
		var f *Fault
		switch {
		case tc.detail == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.detail != "" && (!errors.As(err, &f) || f.Subcode != SubcodeInvalidSelectors || f.Detail != tc.detail):
			t.Errorf("%s: %v, want InvalidSelectors/%s", tc.name, err, tc.detail)
		}
	}
}

func mustParse(t testing.TB, s string) *etree.Element {
	t.Helper()
	e, err := parseDocument([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParseParams(t *testing.T) {
	in := mustParse(t, `<q:M_INPUT xmlns:q="urn:svc" xmlns:a="`+NSAddressing+`" xmlns:w="`+NSWSMan+`" xmlns:xsi="`+NSXSI+`">
  <q:ComputerSystem>
    <a:Address>`+AddressAnonymous+`</a:Address>
    <a:ReferenceParameters>
      <w:ResourceURI>urn:cs</w:ResourceURI>
      <w:SelectorSet><w:Selector Name="Name">vm-01</w:Selector><w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector></w:SelectorSet>
    </a:ReferenceParameters>
  </q:ComputerSystem>
  <q:Wrapped><a:EndpointReference><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>urn:w</w:ResourceURI></a:ReferenceParameters></a:EndpointReference></q:Wrapped>
  <q:DestinationHost>host-b</q:DestinationHost>
  <q:Settings><![CDATA[<INSTANCE CLASSNAME="X"/>]]></q:Settings>
  <q:Escaped>&lt;INSTANCE CLASSNAME="X"/&gt;</q:Escaped>
  <q:Arr>1</q:Arr><q:Arr>2</q:Arr>
  <q:Null xsi:nil="true"/>
  <q:Embedded xsi:type="q:X_Type"><q:Prop>v</q:Prop></q:Embedded>
</q:M_INPUT>`)
	params, err := ParseParams(in)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, p := range params {
		names = append(names, p.Name)
	}
	if len(params) != 8 {
		t.Fatalf("params %v", names)
	}
	cs := FindParam(params, "ComputerSystem").Values[0].EPR
	if cs == nil || cs.ResourceURI != "urn:cs" || cs.Selectors.Value("name") != "vm-01" || cs.Address != AddressAnonymous {
		t.Errorf("ComputerSystem = %+v", cs)
	}
	if w := FindParam(params, "Wrapped").Values[0].EPR; w == nil || w.ResourceURI != "urn:w" || w.Address != "x" {
		t.Errorf("Wrapped = %+v", w)
	}
	if v := FindParam(params, "DestinationHost").Values[0].Text; v != "host-b" {
		t.Errorf("DestinationHost = %q", v)
	}
	s1, s2 := FindParam(params, "Settings").Values[0].Text, FindParam(params, "Escaped").Values[0].Text
	if s1 != `<INSTANCE CLASSNAME="X"/>` || s1 != s2 {
		t.Errorf("CDATA %q vs escaped %q", s1, s2)
	}
	if a := FindParam(params, "Arr").Values; len(a) != 2 || a[1].Text != "2" {
		t.Errorf("Arr = %+v", a)
	}
	if n := FindParam(params, "Null").Values[0]; !n.Nil {
		t.Errorf("Null = %+v", n)
	}
	if e := FindParam(params, "Embedded").Values[0].Element; e == nil || len(e.ChildElements()) != 1 {
		t.Errorf("Embedded = %v", e)
	}
	if p, err := ParseParams(nil); p != nil || err != nil {
		t.Errorf("ParseParams(nil) = %v, %v", p, err)
	}
}

func TestEPRRoundTrip(t *testing.T) {
	epr := &EPR{ResourceURI: "urn:job", Selectors: SelectorSet{
		{Name: "InstanceID", Value: "Job:1 & <2>"},
		{Name: "Ref", EPR: &EPR{Address: "http://x/wsman", ResourceURI: "urn:cs", Selectors: SelectorSet{{Name: "Name", Value: "vm"}}}},
	}}
	// Through AppendEPR (tree) and writeEPRContent (direct writer).
	parent := etree.NewElement("p:Job")
	AppendEPR(parent, epr)
	var viaTree, direct bytes.Buffer
	writeElement(&viaTree, parent)
	direct.WriteString("<p:Job>")
	writeEPRContent(&direct, epr)
	direct.WriteString("</p:Job>")
	if viaTree.String() != direct.String() {
		t.Errorf("AppendEPR and writeEPRContent differ:\n%s\n%s", viaTree.String(), direct.String())
	}
	doc := `<r xmlns:p="urn:p" xmlns:a="` + NSAddressing + `" xmlns:w="` + NSWSMan + `">` + viaTree.String() + `</r>`
	got, err := DecodeEPR(firstChild(mustParse(t, doc)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != AddressAnonymous || got.ResourceURI != "urn:job" || got.Selectors.Value("InstanceID") != "Job:1 & <2>" {
		t.Errorf("got %+v", got)
	}
	ref, _ := got.Selectors.Get("ref")
	if ref.EPR == nil || ref.EPR.Address != "http://x/wsman" || ref.EPR.Selectors.Value("Name") != "vm" {
		t.Errorf("nested = %+v", ref.EPR)
	}
}

func TestEscapeControlCharacters(t *testing.T) {
	var b bytes.Buffer
	escapeText(&b, "a\x01b\tc\nd\re&<>\"\xff\uFFFE")
	if got, want := b.String(), "a?b\tc\nd&#xD;e&amp;&lt;&gt;\"??"; got != want {
		t.Errorf("escapeText = %q, want %q", got, want)
	}
	b.Reset()
	escapeAttr(&b, "x\"\t\n")
	if got, want := b.String(), "x&quot;&#x9;&#xA;"; got != want {
		t.Errorf("escapeAttr = %q, want %q", got, want)
	}
}

func TestAsFault(t *testing.T) {
	tests := []struct {
		err      error
		subcode  string
		internal bool
	}{
		{ErrNotFound, SubcodeDestinationUnreachable, false},
		{errors.Join(errors.New("x"), ErrInvalidParameter), SubcodeInvalidParameter, false},
		{NewFault(SubcodeInvalidSelectors, DetailInsufficientSelectors, ""), SubcodeInvalidSelectors, false},
		{errors.New("boom"), SubcodeInternalError, true},
	}
	for _, tc := range tests {
		f, internal := AsFault(tc.err)
		if f.Subcode != tc.subcode || internal != tc.internal {
			t.Errorf("AsFault(%v) = %s, %v", tc.err, f.Subcode, internal)
		}
		if f.Code == "" || f.Action == "" || f.Reason == "" {
			t.Errorf("AsFault(%v) incomplete: %+v", tc.err, f)
		}
	}
	for sub, info := range faultTable {
		if info.code == "" || info.action == "" || info.reason == "" {
			t.Errorf("faultTable[%s] incomplete", sub)
		}
	}
}

func TestEnumStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := newEnumStore(2, 2, 1<<20, time.Minute, func() time.Time { return now })
	a := newEnumContext("u", "r", EnumerateObjects, nil)
	if f := st.add(a); f != nil {
		t.Fatal(f)
	}
	if f := st.add(newEnumContext("v", "r", EnumerateObjects, nil)); f != nil {
		t.Fatal(f)
	}
	if f := st.add(newEnumContext("w", "r", EnumerateObjects, nil)); f == nil || f.Subcode != SubcodeQuotaLimit {
		t.Errorf("third add: %v", f)
	}
	c, f := st.take(a.id, "u", "r")
	if f != nil {
		t.Fatal(f)
	}
	if _, f := st.take(a.id, "u", "r"); f == nil || f.Subcode != SubcodeConcurrency {
		t.Errorf("second take: %v", f)
	}
	now = now.Add(2 * time.Minute)
	st.expire() // a busy context survives expiry
	st.done(c, false)
	if st.len() != 1 {
		t.Errorf("len = %d, want 1 (the busy one)", st.len())
	}
	if _, f := st.take(a.id, "u", "r"); f != nil {
		t.Errorf("take after done: %v", f)
	}
}

// Issue #14: one user filled the global quota and every other user's
// Enumerate got w:QuotaLimit. Quotas are per user as well, in number and
// in bytes; releasing gives the quota back.
func TestEnumStorePerUserQuota(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := newEnumStore(100, 3, 1<<20, time.Minute, func() time.Time { return now })
	var mallory []*enumContext
	for range 3 {
		c := newEnumContext("mallory", "r", EnumerateObjects, nil)
		if f := st.add(c); f != nil {
			t.Fatal(f)
		}
		mallory = append(mallory, c)
	}
	if f := st.add(newEnumContext("mallory", "r", EnumerateObjects, nil)); f == nil || f.Subcode != SubcodeQuotaLimit || !st.full("mallory") {
		t.Errorf("fourth context of one user: %v", f)
	}
	if f := st.add(newEnumContext("alice", "r", EnumerateObjects, nil)); f != nil || st.full("alice") {
		t.Errorf("other user refused: %v", f)
	}
	if !st.remove(mallory[0].id, "mallory", "r") || st.full("mallory") {
		t.Error("release did not give the quota back")
	}
	// Bytes: a context larger than the user's budget is refused.
	big := newEnumContext("bob", "r", EnumerateObjects, nil)
	big.data = make([]byte, 2<<20)
	if f := st.add(big); f == nil || f.Subcode != SubcodeQuotaLimit {
		t.Errorf("2 MiB context with a 1 MiB budget: %v", f)
	}
	// Expiry gives the quota back too.
	now = now.Add(2 * time.Minute)
	st.expire()
	if st.len() != 0 || len(st.usage) != 0 {
		t.Errorf("after expiry: %d contexts, usage %v", st.len(), st.usage)
	}
}

func TestDecodeFilter(t *testing.T) {
	const decl = ` xmlns:n="` + NSEnumeration + `" xmlns:w="` + NSWSMan + `" xmlns:a="` + NSAddressing + `" xmlns:b="` + NSCIMBinding + `"`
	assoc := mustParse(t, `<n:Enumerate`+decl+`><n:Filter Dialect="`+DialectAssociation+`"><b:AssociationInstances>
  <b:Object><a:EndpointReference><a:Address>`+AddressAnonymous+`</a:Address><a:ReferenceParameters><w:ResourceURI>urn:cs</w:ResourceURI>
  <w:SelectorSet><w:Selector Name="Name">vm-01</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference></b:Object>
  <b:AssociationClassName>CIM_AffectedJobElement</b:AssociationClassName><b:Role>AffectedElement</b:Role>
  <b:IncludeResultProperty>InstanceID</b:IncludeResultProperty><b:IncludeResultProperty>JobState</b:IncludeResultProperty>
</b:AssociationInstances></n:Filter></n:Enumerate>`)
	f, fault := decodeFilter(assoc)
	if fault != nil {
		t.Fatal(fault)
	}
	a := f.Association
	if f.Dialect != DialectAssociation || a == nil || a.Kind != AssociationInstances || a.Object.ResourceURI != "urn:cs" ||
		a.Object.Selectors.Value("Name") != "vm-01" || a.AssociationClassName != "CIM_AffectedJobElement" ||
		a.Role != "AffectedElement" || len(a.IncludeResultProperty) != 2 {
		t.Errorf("association filter = %+v / %+v", f, a)
	}
	sel := mustParse(t, `<n:Enumerate`+decl+`><w:Filter Dialect="`+DialectSelector+`"><w:SelectorSet><w:Selector Name="Name">x</w:Selector></w:SelectorSet></w:Filter></n:Enumerate>`)
	if f, fault := decodeFilter(sel); fault != nil || f.Selectors.Value("name") != "x" {
		t.Errorf("selector filter = %+v, %v", f, fault)
	}
	wq := mustParse(t, `<n:Enumerate`+decl+`><w:Filter Dialect="`+DialectWQL+`"> SELECT Name FROM CIM_ComputerSystem WHERE Name = 'vm-01' </w:Filter></n:Enumerate>`)
	if f, fault := decodeFilter(wq); fault != nil || f.WQL == nil || f.WQL.Class != "CIM_ComputerSystem" {
		t.Errorf("WQL filter = %+v, %v", f, fault)
	}
	none := mustParse(t, `<n:Enumerate`+decl+`/>`)
	if f, fault := decodeFilter(none); f != nil || fault != nil {
		t.Errorf("no filter = %+v, %v", f, fault)
	}
	noDialect := mustParse(t, `<n:Enumerate`+decl+`><n:Filter>/x</n:Filter></n:Enumerate>`)
	if _, fault := decodeFilter(noDialect); fault == nil || fault.Subcode != SubcodeFilterDialectRequestedUnavailable {
		t.Errorf("XPath default dialect: %v", fault)
	}
}
