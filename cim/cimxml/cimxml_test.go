package cimxml

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	cimtest.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestDecodeWMI(t *testing.T) {
	reg := msdRegistry(t)
	text := cimtest.Testdata(t, "wmi_gettext.xml")
	if _, err := DecodeInstance(text, reg, ""); !errors.Is(err, ErrUnknownClass) {
		t.Fatalf("without expect: %v, want ErrUnknownClass", err)
	}
	inst, err := DecodeInstance(text, reg, "CIM_VirtualSystemMigrationSettingData")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"InstanceID":        "Microsoft:Default",
		"Caption":           "Virtual System Migration Setting Data",
		"Description":       nil,
		"ElementName":       "",
		"MigrationType":     uint64(32768),
		"Priority":          uint64(0),
		"TransportType":     uint64(5),
		"Bandwidth":         nil,
		"BandwidthUnit":     nil,
		"ConnectionTimeout": cim.IntervalOf(90 * time.Second),
	}
	for name, w := range want {
		if v, _ := inst.Get(name); !cim.ValuesEqual(v, w) {
			t.Errorf("%s = %#v, want %#v", name, v, w)
		}
	}
}

func TestDecodeSamples(t *testing.T) {
	reg := msdRegistry(t)
	inst, err := DecodeInstance(cimtest.Testdata(t, "libvirt_hyperv.xml"), reg, "CIM_VirtualSystemMigrationSettingData")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := inst.Get("MigrationType"); v != uint64(32768) {
		t.Errorf("libvirt sample MigrationType = %#v", v)
	}
	inst, err = DecodeInstance(cimtest.Testdata(t, "dmtf_msd.xml"), reg, "CIM_SettingData")
	if err != nil {
		t.Fatal(err)
	}
	if inst.Class.Name != "CIM_VirtualSystemMigrationSettingData" {
		t.Errorf("class = %s", inst.Class.Name)
	}
	if v, _ := inst.Get("BandwidthUnit"); v != "megabit per second" {
		t.Errorf("BandwidthUnit = %#v", v)
	}
}

func TestRoundTrip(t *testing.T) {
	reg := cimtest.Registry(t)
	inst := cimtest.AllTypes(t, reg)
	inst.MustSet("S", "cr\r lf\n tab\t <&> \"'")
	text := EncodeInstance(inst)
	got, err := DecodeInstance(text, reg, "")
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, text)
	}
	for p, v := range inst.Properties() {
		g, _ := got.Get(p.Name)
		if !cim.ValuesEqual(v, g) {
			t.Errorf("%s = %#v, want %#v", p.Name, g, v)
		}
	}
	if again := EncodeInstance(got); again != text {
		t.Errorf("second encoding differs:\n%s\n%s", text, again)
	}
}

func TestEncodeGolden(t *testing.T) {
	reg := msdRegistry(t)
	c, _ := reg.Class("CIM_Error")
	e := cim.NewInstance(c, "root/virtualization")
	e.MustSet("ErrorType", uint64(4))
	e.MustSet("OwningEntity", "vsmig")
	e.MustSet("MessageID", "VSMIG0003")
	e.MustSet("Message", `migration of "vm-01" failed: <timeout> & more`)
	e.MustSet("MessageArguments", []string{"vm-01", "host2"})
	e.MustSet("PerceivedSeverity", uint64(6))
	e.MustSet("CIMStatusCode", uint64(1))
	golden(t, "cim_error.golden.xml", EncodeInstance(e))
	reg2 := cimtest.Registry(t)
	golden(t, "all_types.golden.xml", EncodeInstance(cimtest.AllTypes(t, reg2)))
}

func TestDecodeErrors(t *testing.T) {
	reg := msdRegistry(t)
	tests := []struct {
		name, text, expect, msg string
		is                      error
	}{
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><INSTANCE CLASSNAME="CIM_Error"/>`, "", "DOCTYPE is not allowed", nil},
		{"entity", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message"><VALUE>&a;</VALUE></PROPERTY></INSTANCE>`, "", "malformed XML", nil},
		{"not xml", `instance of CIM_Error {};`, "", "text outside the root element", nil},
		{"empty", ``, "", "no root element", nil},
		{"two roots", `<INSTANCE CLASSNAME="CIM_Error"/><INSTANCE CLASSNAME="CIM_Error"/>`, "", "more than one root element", nil},
		{"wrong root", `<CLASS NAME="CIM_Error"/>`, "", "/CLASS[@NAME=CIM_Error]: expected INSTANCE", nil},
		{"no classname", `<INSTANCE/>`, "", "without CLASSNAME", nil},
		{"unknown class", `<INSTANCE CLASSNAME="X_Y"/>`, "", "unknown class X_Y", ErrUnknownClass},
		{"mismatch", `<INSTANCE CLASSNAME="CIM_Error"/>`, "CIM_SettingData", "CIM_Error is not a CIM_SettingData", ErrClassMismatch},
		{"unknown property", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Nope" TYPE="string"/></INSTANCE>`, "", "/INSTANCE/PROPERTY[@NAME=Nope]: unknown property", ErrUnknownProperty},
		{"bad value", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="ErrorType" TYPE="uint16"><VALUE>70000</VALUE></PROPERTY></INSTANCE>`, "", "PROPERTY[@NAME=ErrorType]/VALUE: property ErrorType", nil},
		{"array as scalar", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="MessageArguments" TYPE="string"><VALUE>x</VALUE></PROPERTY></INSTANCE>`, "", "PROPERTY.ARRAY expected", nil},
		{"scalar as array", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY.ARRAY NAME="Message" TYPE="string"/></INSTANCE>`, "", "not an array", nil},
		{"twice", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message"/><PROPERTY NAME="message"/></INSTANCE>`, "", "given twice", nil},
		{"null in array", `<INSTANCE CLASSNAME="CIM_Error"><PROPERTY.ARRAY NAME="MessageArguments"><VALUE.ARRAY><VALUE.NULL/></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE>`, "", "NULL elements", nil},
		{"deep", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), "", "malformed XML", nil},
		{"too big", `<INSTANCE CLASSNAME="CIM_Error">` + strings.Repeat(" ", MaxTextSize) + `</INSTANCE>`, "", "exceeds the limit", nil},
	}
	for _, tt := range tests {
		_, err := DecodeInstance(tt.text, reg, tt.expect)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) || tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %q, want it to contain %q (is %v)", tt.name, err, tt.msg, tt.is)
		}
	}
}

func TestDecodeReferences(t *testing.T) {
	reg := cimtest.Registry(t)
	text := `<INSTANCE CLASSNAME="CIM_AllTypes"><PROPERTY.REFERENCE NAME="Ref" REFERENCECLASS="CIM_ManagedElement"><VALUE.REFERENCE><INSTANCEPATH><NAMESPACEPATH><HOST>h</HOST><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH></NAMESPACEPATH><INSTANCENAME CLASSNAME="CIM_X"><KEYBINDING NAME="A"><KEYVALUE VALUETYPE="numeric">-3</KEYVALUE></KEYBINDING><KEYBINDING NAME="B"><KEYVALUE VALUETYPE="boolean">true</KEYVALUE></KEYBINDING><KEYBINDING NAME="C"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="CIM_Y"><KEYBINDING NAME="D"><KEYVALUE>x</KEYVALUE></KEYBINDING></INSTANCENAME></VALUE.REFERENCE></KEYBINDING></INSTANCENAME></INSTANCEPATH></VALUE.REFERENCE></PROPERTY.REFERENCE></INSTANCE>`
	inst, err := DecodeInstance(text, reg, "")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := inst.Get("Ref")
	if got := v.(cim.ObjectPath).String(); got != `root/cimv2:CIM_X.A=-3,B=true,C="CIM_Y.D=\"x\""` {
		t.Errorf("Ref = %s", got)
	}
}

func TestDecodeEmbeddedForms(t *testing.T) {
	reg := cimtest.Registry(t)
	forms := []string{
		`<PROPERTY NAME="Emb" TYPE="string" EmbeddedObject="instance"><VALUE>&lt;INSTANCE CLASSNAME="CIM_SettingData"&gt;&lt;PROPERTY NAME="MigrationType" TYPE="uint16"&gt;&lt;VALUE&gt;3&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;</VALUE></PROPERTY>`,
		`<PROPERTY NAME="Emb" TYPE="string"><VALUE><INSTANCE CLASSNAME="CIM_SettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY></INSTANCE></VALUE></PROPERTY>`,
		`<PROPERTY NAME="Emb" TYPE="object"><VALUE.OBJECT><INSTANCE CLASSNAME="Msvm_X"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY><PROPERTY NAME="Foo"/></INSTANCE></VALUE.OBJECT></PROPERTY>`,
		`<PROPERTY.OBJECT NAME="Emb" REFERENCECLASS="CIM_SettingData"><VALUE.OBJECT><INSTANCE CLASSNAME="VSMIG_SettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>3</VALUE></PROPERTY></INSTANCE></VALUE.OBJECT></PROPERTY.OBJECT>`,
	}
	for i, f := range forms {
		inst, err := DecodeInstance(`<INSTANCE CLASSNAME="CIM_AllTypes">`+f+`</INSTANCE>`, reg, "")
		if err != nil {
			t.Errorf("form %d: %v", i, err)
			continue
		}
		v, _ := inst.Get("Emb")
		emb, ok := v.(*cim.Instance)
		if !ok {
			t.Errorf("form %d: Emb = %#v", i, v)
			continue
		}
		if mt, _ := emb.Get("MigrationType"); mt != uint64(3) {
			t.Errorf("form %d: MigrationType = %#v", i, mt)
		}
	}
}
