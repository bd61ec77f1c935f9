package wscim

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func writeElement(t testing.TB, el *etree.Element) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	doc.Indent(1)
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func parseElement(t testing.TB, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	cimtest.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestResourceURI(t *testing.T) {
	tests := []struct{ class, uri string }{
		{"CIM_ComputerSystem", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem"},
		{"VSMIG_MigrationJob", "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/VSMIG_MigrationJob"},
		{"vsmig_MigrationJob", "http://schemas.vsmig.dev/wbem/wscim/1/cim-schema/2/vsmig_MigrationJob"},
		{"Msvm_ComputerSystem", "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Msvm_ComputerSystem"},
	}
	for _, tt := range tests {
		if got := ResourceURI(tt.class); got != tt.uri {
			t.Errorf("ResourceURI(%q) = %q, want %q", tt.class, got, tt.uri)
		}
		if got, ok := ClassName(tt.uri); !ok || got != tt.class {
			t.Errorf("ClassName(%q) = %q, %v", tt.uri, got, ok)
		}
	}
	for _, uri := range []string{
		AllClassesURI, "", "http://example.com/CIM_X", CIMSchemaURI, CIMSchemaURI + "Bad-Name", CIMSchemaURI + "NoSchema",
		"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/a/CIM_X",
	} {
		if c, ok := ClassName(uri); ok {
			t.Errorf("ClassName(%q) = %q, want false", uri, c)
		}
	}
	if c, ok := ClassName("HTTP://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_X.xsd"); !ok || c != "CIM_X" {
		t.Errorf("ClassName with .xsd = %q, %v", c, ok)
	}
	if c, ok := ClassName(VendorSchemaURI + "CIM_X"); !ok || c != "CIM_X" {
		t.Errorf("ClassName vendor tree = %q, %v", c, ok)
	}
}

func TestEncodeGolden(t *testing.T) {
	reg := cimtest.Registry(t)
	inst := cimtest.AllTypes(t, reg)
	golden(t, "all_types.golden.xml", writeElement(t, EncodeInstance(inst, EncodeOptions{})))
	golden(t, "all_types_typed_nonil.golden.xml", writeElement(t, EncodeInstance(inst, EncodeOptions{TypeAttr: true, ExcludeNil: true})))
	golden(t, "all_types_include.golden.xml", writeElement(t, EncodeInstance(inst, EncodeOptions{IncludeProperties: []string{"instanceid", "Ref", "nope"}})))
}

func TestRoundTrip(t *testing.T) {
	reg := cimtest.Registry(t)
	inst := cimtest.AllTypes(t, reg)
	for _, opt := range []EncodeOptions{{}, {TypeAttr: true}, {ExcludeNil: true}} {
		text := writeElement(t, EncodeInstance(inst, opt))
		got, err := DecodeInstance(parseElement(t, text), reg, DecodeOptions{Namespace: "root/virtualization"})
		if err != nil {
			t.Fatalf("%+v: decode: %v\n%s", opt, err, text)
		}
		// The key with quotes and the text with tabs survive; references
		// come back with untyped (string) keys, which Equal accepts.
		if !cim.ValuesEqual(inst, got) {
			for p, v := range inst.Properties() {
				g, _ := got.Get(p.Name)
				if !cim.ValuesEqual(v, g) {
					t.Errorf("%+v: %s = %#v, want %#v", opt, p.Name, g, v)
				}
			}
		}
	}
}

func TestDecodeWindowsMI(t *testing.T) {
	reg := cimtest.Registry(t)
	// As sent by Windows MI clients: p0 prefix, xsi:type with an
	// undeclared cim prefix, and a vendor subclass unknown to us.
	const doc = `<p0:Msvm_VirtualSystemMigrationSettingData
	  xmlns:p0="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/virtualization/v2/Msvm_VirtualSystemMigrationSettingData"
	  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
	  xsi:type="p0:Msvm_VirtualSystemMigrationSettingData_Type">
	  <p0:MigrationType xsi:type="cim:cimUnsignedShort">32768</p0:MigrationType>
	  <p0:Hosts xsi:type="cim:cimString">10.0.0.2</p0:Hosts>
	  <p0:ElementName xsi:nil="true"/>
	  <p0:RetainVhdCopiesOnSource>true</p0:RetainVhdCopiesOnSource>
	</p0:Msvm_VirtualSystemMigrationSettingData>`
	el := parseElement(t, doc)
	if _, err := DecodeInstance(el, reg, DecodeOptions{}); !errors.Is(err, ErrUnknownClass) {
		t.Fatalf("without Expect: err = %v, want ErrUnknownClass", err)
	}
	inst, err := DecodeInstance(el, reg, DecodeOptions{Expect: "CIM_SettingData", Namespace: "root/virtualization"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.Class.Name != "CIM_SettingData" || inst.Namespace != "root/virtualization" {
		t.Fatalf("class %s ns %s", inst.Class.Name, inst.Namespace)
	}
	if v, _ := inst.Get("MigrationType"); v != uint64(32768) {
		t.Errorf("MigrationType = %#v", v)
	}
	if v, _ := inst.Get("Hosts"); !cim.ValuesEqual(v, []string{"10.0.0.2"}) {
		t.Errorf("Hosts = %#v", v)
	}
}

func TestDecodeForms(t *testing.T) {
	reg := cimtest.Registry(t)
	const head = `<p:CIM_AllTypes xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AllTypes" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:c="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">`
	const tail = `</p:CIM_AllTypes>`
	tests := []struct {
		name, body, prop string
		want             any
	}{
		{"cim datetime text", `<p:When>20240501100000.000000+120</p:When>`, "When", "20240501100000.000000+120"},
		{"xs datetime text", `<p:When>2024-05-01T08:00:00Z</p:When>`, "When", "20240501080000.000000+000"},
		{"CIM_DateTime child", `<p:When><c:CIM_DateTime>00000001000000.000000:000</c:CIM_DateTime></p:When>`, "When", "00000001000000.000000:000"},
		{"Interval child", `<p:Every><c:Interval>P1DT1H</c:Interval></p:Every>`, "Every", "00000001010000.000000:000"},
		{"Date child", `<p:When><c:Date>2024-05-01</c:Date></p:When>`, "When", "20240501000000.000000+000"},
		{"duration text", `<p:Every>PT1.5S</p:Every>`, "Every", "00000000000001.500000:000"},
		{"hex and spaces", `<p:U16> 0x10 </p:U16>`, "U16", uint64(16)},
		{"bool case", `<p:B>TRUE</p:B>`, "B", true},
		{"real INF", `<p:R64>-INF</p:R64>`, "R64", "-Inf"},
		{"cdata string", `<p:S><![CDATA[<x>]]></p:S>`, "S", "<x>"},
		{"cim Location skipped", `<c:Location/><p:S>x</p:S>`, "S", "x"},
		{"array nil", `<p:UArr xsi:nil="true"/>`, "UArr", nil},
		{"wrapped EPR", `<p:Ref><a:EndpointReference><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ManagedElement</w:ResourceURI><w:SelectorSet><w:Selector Name="InstanceID">J1</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference></p:Ref>`, "Ref", `CIM_ManagedElement.InstanceID="J1"`},
		{"embedded direct", `<p:Emb xsi:type="p:CIM_SettingData_Type"><p:MigrationType>3</p:MigrationType></p:Emb>`, "Emb", "CIM_SettingData:3"},
		{"embedded nested subclass", `<p:Emb><q:VSMIG_SettingData xmlns:q="x"><q:Extra>9</q:Extra></q:VSMIG_SettingData></p:Emb>`, "Emb", "VSMIG_SettingData:<nil>"},
		{"embedded nested unknown", `<p:Emb><q:Msvm_X xmlns:q="x"><q:MigrationType>4</q:MigrationType><q:Other>1</q:Other></q:Msvm_X></p:Emb>`, "Emb", "CIM_SettingData:4"},
		{"embedded direct with nested", `<p:Emb xsi:type="p:CIM_SettingData_Type"><p:Nested><p:CIM_SettingData><p:MigrationType>5</p:MigrationType></p:CIM_SettingData></p:Nested></p:Emb>`, "Emb", "CIM_SettingData:<nil>"},
		{"embedded text", `<p:Emb>instance of X {};</p:Emb>`, "Emb", "instance of X {};"},
	}
	for _, tt := range tests {
		inst, err := DecodeInstance(parseElement(t, head+tt.body+tail), reg, DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		v, _ := inst.Get(tt.prop)
		var got any = v
		switch x := v.(type) {
		case cim.Datetime:
			got = x.String()
		case float64:
			got = cim.FormatValue(x)
		case cim.ObjectPath:
			got = x.String()
		case *cim.Instance:
			mt, _ := x.Get("MigrationType")
			got = x.Class.Name + ":" + cim.FormatValue(mt)
			if mt == nil {
				got = x.Class.Name + ":<nil>"
			}
		}
		if !cim.ValuesEqual(got, tt.want) {
			t.Errorf("%s: %s = %#v, want %#v", tt.name, tt.prop, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	reg := cimtest.Registry(t)
	const head = `<p:CIM_AllTypes xmlns:p="x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`
	tests := []struct {
		name, body, expect, msg string
		is                      error
	}{
		{"unknown property", `<p:Nope>1</p:Nope>`, "", "/p:CIM_AllTypes/p:Nope", ErrUnknownProperty},
		{"class mismatch", ``, "CIM_SettingData", "CIM_AllTypes is not a CIM_SettingData", ErrClassMismatch},
		{"scalar twice", `<p:U8>1</p:U8><p:U8>2</p:U8>`, "", "/p:CIM_AllTypes/p:U8[2]: property U8 is not an array", nil},
		{"out of range", `<p:U8>256</p:U8>`, "", "/p:CIM_AllTypes/p:U8: property U8", nil},
		{"bad bool", `<p:B>yes</p:B>`, "", "property B", nil},
		{"bad datetime", `<p:When>tomorrow</p:When>`, "", "property When", nil},
		{"nil in array", `<p:UArr>1</p:UArr><p:UArr xsi:nil="true"/>`, "", "/p:CIM_AllTypes/p:UArr[2]: NULL element", nil},
		{"child in scalar", `<p:U8><x/></p:U8>`, "", "unexpected element content", nil},
		{"ref without params", `<p:Ref>text</p:Ref>`, "", "without ReferenceParameters", nil},
		{"ref bad uri", `<p:Ref><Address/><ReferenceParameters><ResourceURI>urn:x</ResourceURI></ReferenceParameters></p:Ref>`, "", "names no class", nil},
		{"dup selector", `<p:Ref><ReferenceParameters><ResourceURI>http://x/CIM_A</ResourceURI><SelectorSet><Selector Name="a">1</Selector><Selector Name="A">2</Selector></SelectorSet></ReferenceParameters></p:Ref>`, "", "duplicate selector", nil},
		{"interval with years", `<p:Every><Interval>P1Y</Interval></p:Every>`, "", "years and months", nil},
		{"embedded too deep", `<p:Emb>` + strings.Repeat(`<p:CIM_SettingData><p:Nested>`, 10) + strings.Repeat(`</p:Nested></p:CIM_SettingData>`, 10) + `</p:Emb>`, "", "nested too deeply", nil},
	}
	for _, tt := range tests {
		_, err := DecodeInstance(parseElement(t, head+tt.body+`</p:CIM_AllTypes>`), reg, DecodeOptions{Expect: tt.expect})
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) || tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %q, want it to contain %q (is %v)", tt.name, err, tt.msg, tt.is)
		}
	}
}

func TestEPR(t *testing.T) {
	inner := cim.ObjectPath{Namespace: "root/cimv2", ClassName: "CIM_ComputerSystem",
		Keys: []cim.KeyBinding{{Name: "CreationClassName", Value: "CIM_ComputerSystem"}, {Name: "Name", Value: "host1"}}}
	path := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "VSMIG_MigrationJob",
		Keys: []cim.KeyBinding{{Name: "InstanceID", Value: "Job:1"}, {Name: "Count", Value: uint64(3)}, {Name: "Owner", Value: inner}}}
	el := etree.NewElement("p:Job")
	EncodeEPR(el, path)
	golden(t, "epr.golden.xml", writeElement(t, el))
	got, err := DecodeEPR(parseElement(t, writeElement(t, el)))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(path) || got.Namespace != path.Namespace {
		t.Fatalf("DecodeEPR = %v, want %v", got, path)
	}
	// Windows-style URI outside our trees: class from the last segment.
	const win = `<a:EndpointReference xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/virtualization/v2/Msvm_ComputerSystem</w:ResourceURI><w:SelectorSet><w:Selector Name="Name">8FF5</w:Selector><w:Selector Name="__CIMnamespace">root/virtualization/v2</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference>`
	got, err = DecodeEPR(parseElement(t, win))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != `root/virtualization/v2:Msvm_ComputerSystem.Name="8FF5"` {
		t.Fatalf("DecodeEPR(windows) = %s", got)
	}
}

// TestDuration: intervals follow package xsd's rules (its tests hold the
// grammar), are never negative, and are written in the same canonical
// form.
func TestDuration(t *testing.T) {
	for _, s := range []string{"PT0S", "P1D", "P1DT2H3M4.000005S", "PT59M", "P106751DT23H47M16.854775S"} {
		d, err := ParseInterval(s)
		if err != nil {
			t.Errorf("ParseInterval(%q): %v", s, err)
			continue
		}
		if got := FormatDatetime(cim.IntervalOf(d)); got != s {
			t.Errorf("FormatDatetime(ParseInterval(%q)) = %q", s, got)
		}
	}
	for _, s := range []string{"", "P", "PT", "1D", "-P1D", "-PT1S", "P1H", "PT1D", "P1.5D", "PTT1S", "P1D1D", "P99999999999999999999D", "P106751DT23H47M16.854776S", "P1Y", "P1M"} {
		if d, err := ParseInterval(s); err == nil {
			t.Errorf("ParseInterval(%q) = %v, want error", s, d)
		}
	}
	if d, err := ParseInterval("P0Y1D"); err != nil || d != 24*time.Hour {
		t.Errorf("ParseInterval(P0Y1D) = %v, %v", d, err)
	}
	if got := FormatDatetime(cim.IntervalOf(-time.Second)); got != "PT0S" {
		t.Errorf("a negative interval is written as %q", got)
	}
	// Text read by ParseDatetime, as an Invoke argument is: the same rules.
	for _, s := range []string{"-PT1S", "P1Y", "PT-1S"} {
		if d, err := ParseDatetime(s); err == nil {
			t.Errorf("ParseDatetime(%q) = %v, want error", s, d)
		}
	}
}
