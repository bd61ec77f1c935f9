package cim_test

import (
	"errors"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

func TestObjectPathString(t *testing.T) {
	p := cim.ObjectPath{
		Namespace: "root/virtualization",
		ClassName: "CIM_ComputerSystem",
		Keys: []cim.KeyBinding{
			{Name: "CreationClassName", Value: "CIM_ComputerSystem"},
			{Name: "Name", Value: "x"},
		},
	}
	const want = `root/virtualization:CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="x"`
	if got := p.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if got := (cim.ObjectPath{ClassName: "CIM_X"}).String(); got != "CIM_X" {
		t.Errorf("keyless String() = %s", got)
	}
}

func TestParseObjectPath(t *testing.T) {
	inner := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_ComputerSystem",
		Keys: []cim.KeyBinding{{Name: "Name", Value: `a"b\c`}}}
	tests := []struct {
		in   string
		want cim.ObjectPath
	}{
		{`root/virtualization:CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="x"`,
			cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_ComputerSystem",
				Keys: []cim.KeyBinding{{Name: "CreationClassName", Value: "CIM_ComputerSystem"}, {Name: "Name", Value: "x"}}}},
		{`CIM_X.A=5,B=-3,C=true,D=1.5`,
			cim.ObjectPath{ClassName: "CIM_X", Keys: []cim.KeyBinding{
				{Name: "A", Value: uint64(5)}, {Name: "B", Value: int64(-3)}, {Name: "C", Value: true}, {Name: "D", Value: 1.5}}}},
		{`//host.example.com/root/cimv2:CIM_X.Name="a,b=c"`,
			cim.ObjectPath{Namespace: "root/cimv2", ClassName: "CIM_X", Keys: []cim.KeyBinding{{Name: "Name", Value: "a,b=c"}}}},
		{`\\HOST\root\virtualization\v2:Msvm_ComputerSystem.Name='vm'`,
			cim.ObjectPath{Namespace: "root/virtualization/v2", ClassName: "Msvm_ComputerSystem", Keys: []cim.KeyBinding{{Name: "Name", Value: "vm"}}}},
		{`CIM_Singleton=@`, cim.ObjectPath{ClassName: "CIM_Singleton"}},
		{`CIM_Assoc.Ref=` + quoteForTest(inner.String()), cim.ObjectPath{ClassName: "CIM_Assoc",
			Keys: []cim.KeyBinding{{Name: "Ref", Value: inner.String()}}}},
	}
	for _, tt := range tests {
		got, err := cim.ParseObjectPath(tt.in)
		if err != nil {
			t.Errorf("ParseObjectPath(%s): %v", tt.in, err)
			continue
		}
		if got.Namespace != tt.want.Namespace || !got.Equal(tt.want) || len(got.Keys) != len(tt.want.Keys) {
			t.Errorf("ParseObjectPath(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
		for i := range got.Keys {
			if got.Keys[i].Name != tt.want.Keys[i].Name || !cim.ValuesEqual(got.Keys[i].Value, tt.want.Keys[i].Value) {
				t.Errorf("ParseObjectPath(%s) key %d = %#v, want %#v", tt.in, i, got.Keys[i], tt.want.Keys[i])
			}
		}
	}
	// The nested reference survives as text and parses back to inner.
	p, _ := cim.ParseObjectPath(`CIM_Assoc.Ref=` + quoteForTest(inner.String()))
	v, _ := p.Key("ref")
	back, err := cim.ParseObjectPath(v.(string))
	if err != nil || !back.Equal(inner) {
		t.Errorf("nested reference = %v, %v", back, err)
	}
}

func quoteForTest(s string) string {
	return cim.FormatValue(cim.ObjectPath{ClassName: "X", Keys: []cim.KeyBinding{{Name: "K", Value: s}}})[len("X.K="):]
}

func TestParseObjectPathErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"//hostonly",
		"ns:",
		"1Class.K=1",
		"CIM_X.",
		"CIM_X.K",
		`CIM_X.K="unterminated`,
		`CIM_X.K=bare`,
		`CIM_X.K="a"junk`,
		`CIM_X=notat`,
		`CIM_X.=5`,
		`A.A=0,B=1,a=00`, // found by FuzzParseObjectPath: duplicate key
	} {
		if p, err := cim.ParseObjectPath(in); err == nil {
			t.Errorf("ParseObjectPath(%q) = %#v, want error", in, p)
		}
	}
}

func TestObjectPathEqual(t *testing.T) {
	a := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_Service", Keys: []cim.KeyBinding{
		{Name: "Name", Value: "svc"}, {Name: "Port", Value: uint64(5)}}}
	tests := []struct {
		b    cim.ObjectPath
		want bool
	}{
		{cim.ObjectPath{Namespace: `root\virtualization`, ClassName: "cim_service", Keys: []cim.KeyBinding{
			{Name: "port", Value: uint64(5)}, {Name: "NAME", Value: "svc"}}}, true},
		{cim.ObjectPath{ClassName: "CIM_Service", Keys: []cim.KeyBinding{
			{Name: "Name", Value: "svc"}, {Name: "Port", Value: "5"}}}, true}, // selector text
		{cim.ObjectPath{ClassName: "CIM_Service", Keys: []cim.KeyBinding{
			{Name: "Name", Value: "SVC"}, {Name: "Port", Value: uint64(5)}}}, false},
		{cim.ObjectPath{Namespace: "root/cimv2", ClassName: "CIM_Service", Keys: a.Keys}, false},
		{cim.ObjectPath{ClassName: "CIM_Service", Keys: a.Keys[:1]}, false},
		{cim.ObjectPath{ClassName: "CIM_Other", Keys: a.Keys}, false},
	}
	for _, tt := range tests {
		if got := a.Equal(tt.b); got != tt.want {
			t.Errorf("Equal(%v) = %t, want %t", tt.b, got, tt.want)
		}
		if got := tt.b.Equal(a); got != tt.want {
			t.Errorf("reverse Equal(%v) = %t, want %t", tt.b, got, tt.want)
		}
	}
}

func TestObjectPathCanonicalAndKey(t *testing.T) {
	p := cim.ObjectPath{Namespace: `root\x`, ClassName: "C", Keys: []cim.KeyBinding{{Name: "b", Value: "2"}, {Name: "A", Value: "1"}}}
	c := p.Canonical()
	if c.String() != `root/x:C.A="1",b="2"` {
		t.Errorf("Canonical = %s", c)
	}
	if p.Keys[0].Name != "b" {
		t.Error("Canonical modified its receiver")
	}
	if v, ok := p.Key("B"); !ok || v != "2" {
		t.Errorf("Key(B) = %v, %t", v, ok)
	}
	if _, ok := p.Key("Z"); ok {
		t.Error("Key(Z) found")
	}
}

func TestResolveKeys(t *testing.T) {
	reg := coreTestRegistry(t)
	c, _ := reg.Class("Test_Service")
	p, err := cim.ParseObjectPath(`Test_Service.name="svc",Port="8",SystemName="h"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ResolveKeys(c)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != `Test_Service.SystemName="h",Name="svc",Port=8` {
		t.Errorf("ResolveKeys = %s", got)
	}
	for _, bad := range []string{
		`Test_Service.Name="svc",Port=8`,                             // missing key
		`Test_Service.Name="svc",Port=70000,SystemName="h"`,          // out of range
		`Test_Service.Name="svc",Port=8,SystemName="h",Started=true`, // not a key
	} {
		p, _ := cim.ParseObjectPath(bad)
		_, err := p.ResolveKeys(c)
		var ce *cim.Error
		if !errors.As(err, &ce) || ce.Status != cim.StatusInvalidParameter {
			t.Errorf("ResolveKeys(%s) error = %v, want InvalidParameter", bad, err)
		}
	}
}

func FuzzParseObjectPath(f *testing.F) {
	for _, s := range []string{
		`root/virtualization:CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="x"`,
		`CIM_X.A=5,B=-3,C=true,D=1.5`,
		`\\HOST\root\virtualization\v2:Msvm_ComputerSystem.Name='vm'`,
		`CIM_Singleton=@`,
		`//h/ns:C.R="ns:C.K=\"v\\\\\""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := cim.ParseObjectPath(s)
		if err != nil {
			return
		}
		back, err := cim.ParseObjectPath(p.String())
		if err != nil {
			t.Fatalf("%q -> %q: %v", s, p.String(), err)
		}
		if !back.Equal(p) || back.Namespace != p.Namespace || back.String() != p.String() {
			t.Fatalf("%q -> %q -> %q", s, p.String(), back.String())
		}
	})
}

func BenchmarkObjectPathString(b *testing.B) {
	p := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_VirtualSystemMigrationService", Keys: []cim.KeyBinding{
		{Name: "SystemCreationClassName", Value: "CIM_ComputerSystem"}, {Name: "SystemName", Value: "host1"},
		{Name: "CreationClassName", Value: "CIM_VirtualSystemMigrationService"}, {Name: "Name", Value: "MigrationService"}}}
	for b.Loop() {
		_ = p.String()
	}
}

func BenchmarkParseObjectPath(b *testing.B) {
	const s = `root/virtualization:CIM_VirtualSystemMigrationService.SystemCreationClassName="CIM_ComputerSystem",SystemName="host1",CreationClassName="CIM_VirtualSystemMigrationService",Name="MigrationService"`
	for b.Loop() {
		if _, err := cim.ParseObjectPath(s); err != nil {
			b.Fatal(err)
		}
	}
}
