package cim_test

import (
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

// coreTestClasses returns unresolved classes, as cim/mof would parse them.
func coreTestClasses() []*cim.Class {
	return []*cim.Class{
		{Name: "Test_Service", SuperClass: "Test_Element",
			Qualifiers: cim.Qualifiers{{Name: "Version", Value: "2.0"}},
			Properties: []*cim.Property{
				{Name: "Name", Type: cim.String, Key: true, Qualifiers: cim.Qualifiers{{Name: "Key", Value: true}, {Name: "Override", Value: "Name"}}},
				{Name: "Port", Type: cim.Uint16, Key: true},
				{Name: "Started", Type: cim.Boolean},
			},
			Methods: []*cim.Method{{Name: "Stop", ReturnType: cim.Uint32}},
		},
		{Name: "Test_Element", Abstract: true,
			Qualifiers: cim.Qualifiers{{Name: "Abstract", Value: true}, {Name: "Version", Value: "1.0"}, {Name: "UMLPackagePath", Value: "X"}, {Name: "Description", Value: "base"}},
			Properties: []*cim.Property{
				{Name: "SystemName", Type: cim.String, Key: true},
				{Name: "Name", Type: cim.String, Qualifiers: cim.Qualifiers{{Name: "MaxLen", Value: uint64(256)}, {Name: "Description", Value: "old"}}},
				{Name: "State", Type: cim.Uint16, ValueMap: []string{"2", "3"}, Values: []string{"On", "Off"}, Default: uint64(2)},
			},
			Methods: []*cim.Method{{Name: "Start", ReturnType: cim.Uint32, ValueMap: []string{"0"}, Values: []string{"OK"}}},
		},
		{Name: "Test_Assoc", Association: true, Qualifiers: cim.Qualifiers{{Name: "Association", Value: true}},
			Properties: []*cim.Property{{Name: "A", Type: cim.Reference, RefClass: "Test_Element", Key: true}}},
		{Name: "Test_SubAssoc", SuperClass: "test_assoc"},
		{Name: "Test_Leaf", SuperClass: "Test_Service",
			Properties: []*cim.Property{{Name: "State", Type: cim.Uint16, Qualifiers: cim.Qualifiers{{Name: "Description", Value: "leaf"}}}},
			Methods:    []*cim.Method{{Name: "START", ReturnType: cim.Uint32}}},
	}
}

func coreTestRegistry(t testing.TB) cim.Registry {
	t.Helper()
	reg, err := cim.NewRegistry(coreTestClasses()...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func propNames(c *cim.Class) string {
	var names []string
	for _, p := range c.Properties {
		names = append(names, p.Name+"@"+p.ClassOrigin)
	}
	return strings.Join(names, ",")
}

func TestRegistryResolve(t *testing.T) {
	reg := coreTestRegistry(t)
	svc, ok := reg.Class("TEST_SERVICE")
	if !ok {
		t.Fatal("Test_Service missing")
	}
	if got, want := propNames(svc), "SystemName@Test_Element,Name@Test_Element,State@Test_Element,Port@Test_Service,Started@Test_Service"; got != want {
		t.Errorf("properties = %s, want %s", got, want)
	}
	name := svc.Property("name")
	if !name.Key {
		t.Error("overriding Key lost")
	}
	if q, ok := name.Qualifiers.Get("MaxLen"); !ok || q.Value != uint64(256) {
		t.Errorf("inherited MaxLen = %v, %t", q, ok)
	}
	if _, ok := name.Qualifiers.Get("Override"); !ok {
		t.Error("own Override qualifier lost")
	}
	if svc.Abstract {
		t.Error("Abstract inherited")
	}
	if _, ok := svc.Qualifiers.Get("UMLPackagePath"); ok {
		t.Error("restricted class qualifier inherited")
	}
	if q, _ := svc.Qualifiers.Get("Version"); q.Value != "2.0" {
		t.Errorf("Version = %v", q.Value)
	}
	if q, _ := svc.Qualifiers.Get("Description"); q.Value != "base" {
		t.Errorf("Description = %v", q.Value)
	}
	if got := len(svc.Keys()); got != 3 {
		t.Errorf("keys = %d", got)
	}
	if m := svc.Method("start"); m == nil || m.ClassOrigin != "Test_Element" {
		t.Errorf("inherited method = %+v", m)
	}

	leaf, _ := reg.Class("Test_Leaf")
	st := leaf.Property("State")
	if st.ClassOrigin != "Test_Element" || len(st.ValueMap) != 2 || st.Default != uint64(2) {
		t.Errorf("overridden State = %+v", st)
	}
	if q, _ := st.Qualifiers.Get("Description"); q.Value != "leaf" {
		t.Errorf("override Description = %v", q.Value)
	}
	if m := leaf.Method("Start"); m.Name != "Start" || m.ValueMap[0] != "0" || m.ClassOrigin != "Test_Element" {
		t.Errorf("overridden method = %+v", m)
	}
	if leaf.Methods[0].Name != "Start" {
		t.Errorf("override not in place: %s", leaf.Methods[0].Name)
	}
	sub, _ := reg.Class("Test_SubAssoc")
	if !sub.Association || sub.SuperClass != "Test_Assoc" || len(sub.Keys()) != 1 {
		t.Errorf("Test_SubAssoc = %+v", sub)
	}

	// The inputs are untouched.
	in := coreTestClasses()
	if _, err := cim.NewRegistry(in...); err != nil {
		t.Fatal(err)
	}
	if len(in[0].Properties) != 3 || in[0].Properties[0].ClassOrigin != "" {
		t.Error("NewRegistry modified its input")
	}
}

func TestRegistryQueries(t *testing.T) {
	reg := coreTestRegistry(t)
	var names []string
	for _, c := range reg.Classes() {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "Test_Assoc,Test_Element,Test_Leaf,Test_Service,Test_SubAssoc" {
		t.Errorf("Classes = %s", got)
	}
	for _, tt := range []struct {
		class, ancestor string
		want            bool
	}{
		{"Test_Leaf", "test_element", true},
		{"Test_Leaf", "Test_Leaf", true},
		{"Test_Element", "Test_Leaf", false},
		{"Nope", "Nope", false},
		{"Test_Assoc", "Test_Element", false},
	} {
		if got := reg.IsA(tt.class, tt.ancestor); got != tt.want {
			t.Errorf("IsA(%s, %s) = %t", tt.class, tt.ancestor, got)
		}
	}
	names = names[:0]
	for _, c := range reg.Descendants("test_element") {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "Test_Element,Test_Service,Test_Leaf" {
		t.Errorf("Descendants = %s", got)
	}
	if d := reg.Descendants("Nope"); d != nil {
		t.Errorf("Descendants(Nope) = %v", d)
	}
}

func TestRegistryErrors(t *testing.T) {
	tests := []struct {
		name    string
		classes []*cim.Class
		want    string
	}{
		{"duplicate", []*cim.Class{{Name: "A"}, {Name: "a"}}, "duplicate class"},
		{"unknown super", []*cim.Class{{Name: "A", SuperClass: "B"}}, "unknown superclass"},
		{"cycle", []*cim.Class{{Name: "A", SuperClass: "B"}, {Name: "B", SuperClass: "C"}, {Name: "C", SuperClass: "A"}}, "cycle"},
		{"self", []*cim.Class{{Name: "A", SuperClass: "A"}}, "cycle"},
		{"bad name", []*cim.Class{{Name: "1A"}}, "invalid class name"},
		{"nil", []*cim.Class{nil}, "invalid class name"},
		{"dup property", []*cim.Class{{Name: "A", Properties: []*cim.Property{{Name: "P", Type: cim.String}, {Name: "p", Type: cim.String}}}}, "duplicate property"},
		{"dup method", []*cim.Class{{Name: "A", Methods: []*cim.Method{{Name: "M"}, {Name: "M"}}}}, "duplicate method"},
	}
	for _, tt := range tests {
		_, err := cim.NewRegistry(tt.classes...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNewRegistry did not panic")
		}
	}()
	cim.MustNewRegistry(&cim.Class{Name: "A"}, &cim.Class{Name: "A"})
}
