package embedded

import (
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

const msd = "CIM_VirtualSystemMigrationSettingData"

// paramElement parses an Invoke input element and returns its first child
// (the parameter element).
func paramElement(t *testing.T, s string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	return doc.Root().ChildElements()[0]
}

func TestParseTextForms(t *testing.T) {
	reg := cimtest.Schemas(t)
	tests := []struct {
		file          string
		class         string
		migrationType uint64
	}{
		{"libvirt_hyperv.xml", msd, 32768},
		{"wmi_gettext.xml", msd, 32768},
		{"dmtf_msd.xml", msd, 2},
		{"wscim_text.xml", msd, 2},
		{"mof_msd.mof", msd, 2},
		{"mof_vendor.mof", msd, 3},
	}
	for _, tt := range tests {
		inst, err := Parse(cimtest.Testdata(t, tt.file), nil, reg, msd)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if inst.Class.Name != tt.class {
			t.Errorf("%s: class %s, want %s", tt.file, inst.Class.Name, tt.class)
		}
		if v, _ := inst.Get("MigrationType"); v != tt.migrationType {
			t.Errorf("%s: MigrationType = %#v, want %d", tt.file, v, tt.migrationType)
		}
	}
}

func TestParseElementForms(t *testing.T) {
	reg := cimtest.Schemas(t)
	const ns = `xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemMigrationService" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`
	tests := []struct {
		name, input string
		want        uint64
	}{
		{"nested element (MI client)", `<p:M_INPUT ` + ns + `><p:MigrationSettingData><q:Msvm_VirtualSystemMigrationSettingData xmlns:q="urn:x" xsi:type="q:Msvm_VirtualSystemMigrationSettingData_Type"><q:MigrationType>32768</q:MigrationType><q:RetainVhdCopiesOnSource>true</q:RetainVhdCopiesOnSource></q:Msvm_VirtualSystemMigrationSettingData></p:MigrationSettingData></p:M_INPUT>`, 32768},
		{"properties with xsi:type", `<p:M_INPUT ` + ns + `><p:MigrationSettingData xsi:type="p:CIM_VirtualSystemMigrationSettingData_Type"><p:MigrationType>2</p:MigrationType><p:Priority>1</p:Priority></p:MigrationSettingData></p:M_INPUT>`, 2},
		{"CDATA CIM-XML", `<p:M_INPUT ` + ns + `><p:MigrationSettingData><![CDATA[<INSTANCE CLASSNAME="Msvm_VirtualSystemMigrationSettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>32768</VALUE></PROPERTY></INSTANCE>]]></p:MigrationSettingData></p:M_INPUT>`, 32768},
		{"escaped CIM-XML", `<p:M_INPUT ` + ns + `><p:MigrationSettingData>&lt;INSTANCE CLASSNAME="CIM_VirtualSystemMigrationSettingData"&gt;&lt;PROPERTY NAME="MigrationType" TYPE="uint16"&gt;&lt;VALUE&gt;4&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;</p:MigrationSettingData></p:M_INPUT>`, 4},
		{"CIM-XML markup", `<p:M_INPUT ` + ns + `><p:MigrationSettingData><INSTANCE CLASSNAME="Msvm_VirtualSystemMigrationSettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>32768</VALUE></PROPERTY></INSTANCE></p:MigrationSettingData></p:M_INPUT>`, 32768},
		{"MOF text", `<p:M_INPUT ` + ns + `><p:MigrationSettingData>instance of CIM_VirtualSystemMigrationSettingData { MigrationType = 5; };</p:MigrationSettingData></p:M_INPUT>`, 5},
	}
	for _, tt := range tests {
		inst, err := Parse("", paramElement(t, tt.input), reg, msd)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if v, _ := inst.Get("MigrationType"); v != tt.want {
			t.Errorf("%s: MigrationType = %#v, want %d", tt.name, v, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	reg := cimtest.Schemas(t)
	tests := []struct{ name, text, msg string }{
		{"empty", "  ", "empty value"},
		{"wrong class CIM-XML", `<INSTANCE CLASSNAME="CIM_VirtualSystemSettingData"/>`, "is not a " + msd},
		{"wrong class MOF", `instance of CIM_VirtualSystemSettingData { };`, "is not a " + msd},
		{"wrong class WS-CIM", `<p:CIM_VirtualSystemSettingData xmlns:p="x"/>`, "is not a " + msd},
		{"unknown property", `<INSTANCE CLASSNAME="CIM_VirtualSystemMigrationSettingData"><PROPERTY NAME="Speed" TYPE="uint16"><VALUE>1</VALUE></PROPERTY></INSTANCE>`, "unknown property Speed"},
		{"bad value", `<INSTANCE CLASSNAME="Msvm_X"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>-1</VALUE></PROPERTY></INSTANCE>`, "MigrationType"},
		{"doctype", `<!DOCTYPE x><p:X xmlns:p="x"/>`, "DOCTYPE"},
		{"garbage", `hello world`, "invalid embedded instance"},
		{"bad xml", `<p:X`, "malformed XML"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.text, nil, reg, msd)
		var ce *cim.Error
		if !errors.As(err, &ce) || ce.Status != cim.StatusInvalidParameter {
			t.Errorf("%s: error %v, want *cim.Error with StatusInvalidParameter", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q, want it to contain %q", tt.name, err, tt.msg)
		}
	}
}
