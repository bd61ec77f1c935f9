package xmlcim

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text\twith\nwhite\rspace", "plain text\twith\nwhite\rspace"},
		{"a\x01b\tc\uFFFEd\xffe", "a?b\tc?d?e"},
		{"\uFFFD kept, \U0001F600 kept", "\uFFFD kept, \U0001F600 kept"},
		{"\x00\uFFFF\xed\xa0\x80", "??" + "???"}, // NUL, U+FFFF, an encoded surrogate byte by byte
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	clean := "nothing to replace"
	if n := testing.AllocsPerRun(10, func() { _ = Sanitize(clean) }); n != 0 {
		t.Errorf("Sanitize of clean text allocates %v times", n)
	}
}

func TestValueText(t *testing.T) {
	tests := []struct {
		t    cim.Type
		v    any
		want string
	}{
		{cim.Real32, float64(float32(0.1)), "0.1"},
		{cim.Real64, float64(float32(0.1)), "0.10000000149011612"},
		{cim.Real64, math.Inf(1), "+Inf"},
		{cim.Real64, math.NaN(), "NaN"},
		{cim.Uint8, uint64(255), "255"},
		{cim.Boolean, true, "true"},
		{cim.String, "a\x01b", "a?b"},
		{cim.String, nil, ""},
	}
	for _, tt := range tests {
		if got := ValueText(tt.t, tt.v); got != tt.want {
			t.Errorf("ValueText(%s, %#v) = %q, want %q", tt.t, tt.v, got, tt.want)
		}
	}
}

func TestTextAndAttr(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<x:A xmlns:x="u" x:Name="n1">one<!-- no --><![CDATA[<two>]]><B>not</B>three</x:A>`); err != nil {
		t.Fatal(err)
	}
	el := doc.Root()
	if got := Text(el); got != "one<two>three" {
		t.Errorf("Text = %q", got)
	}
	if v, ok := Attr(el, "NAME"); !ok || v != "n1" {
		t.Errorf("Attr(NAME) = %q, %v", v, ok)
	}
	if v, ok := Attr(el, "x"); ok {
		t.Errorf("Attr(x) = %q: a namespace declaration is not an attribute", v)
	}
}

func TestLocator(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<R><P NAME="a"/><p:P xmlns:p="u"/><P/><Q><V/><V/></Q></R>`); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	kids := root.ChildElements()
	v2 := kids[3].ChildElements()[1]
	tests := []struct {
		loc  Locator
		el   *etree.Element
		want string
	}{
		{Locator{}, root, "/R"},
		{Locator{}, kids[0], "/R/P[1]"},
		{Locator{}, kids[1], "/R/p:P"},
		{Locator{}, kids[2], "/R/P[2]"},
		{Locator{LocalNames: true}, kids[2], "/R/P[3]"},
		{Locator{KeyAttr: "NAME"}, kids[0], "/R/P[@NAME=a]"},
		{Locator{KeyAttr: "NAME", LocalNames: true}, kids[1], "/R/p:P[2]"},
		{Locator{}, v2, "/R/Q/V[2]"},
		{Locator{}, &etree.Element{}, "/"},
	}
	for _, tt := range tests {
		if got := tt.loc.Where(tt.el); got != tt.want {
			t.Errorf("%+v.Where(%s) = %q, want %q", tt.loc, tt.el.FullTag(), got, tt.want)
		}
	}
}

func TestResolveClass(t *testing.T) {
	reg := cimtest.Registry(t)
	tests := []struct {
		expect  string
		names   []string
		class   string
		lenient bool
		err     error
		msg     string
	}{
		{"", []string{"CIM_SettingData"}, "CIM_SettingData", false, nil, ""},
		{"CIM_ManagedElement", []string{"vsmig_settingdata"}, "VSMIG_SettingData", false, nil, ""},
		{"", []string{"X_Unknown", "CIM_AllTypes"}, "CIM_AllTypes", false, nil, ""},
		{"CIM_SettingData", []string{"Msvm_Sub", ""}, "CIM_SettingData", true, nil, ""},
		{"CIM_SettingData", []string{"CIM_AllTypes"}, "", false, ErrClassMismatch, "class mismatch: CIM_AllTypes is not a CIM_SettingData"},
		{"", []string{"X_One", "X_Two"}, "", false, ErrUnknownClass, "unknown class X_Two"},
		{"", []string{"X_One", ""}, "", false, ErrUnknownClass, "unknown class X_One"},
		{"X_Expected", []string{"X_One"}, "", false, ErrUnknownClass, "unknown class X_Expected (the expected class)"},
	}
	for _, tt := range tests {
		c, lenient, err := ResolveClass(reg, tt.expect, tt.names...)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || err.Error() != tt.msg {
				t.Errorf("ResolveClass(%q, %q) error = %v, want %q", tt.expect, tt.names, err, tt.msg)
			}
			continue
		}
		if err != nil || c.Name != tt.class || lenient != tt.lenient {
			t.Errorf("ResolveClass(%q, %q) = %v, %v, %v; want %s, %v", tt.expect, tt.names, c, lenient, err, tt.class, tt.lenient)
		}
	}
}

func BenchmarkSanitize(b *testing.B) {
	s := strings.Repeat("Virtual System Migration Setting Data ", 4)
	for b.Loop() {
		_ = Sanitize(s)
	}
}
