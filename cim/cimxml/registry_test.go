package cimxml

import (
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
)

// testRegistry builds a small hand-written model with every CIM type.
func testRegistry(t testing.TB) cim.Registry {
	t.Helper()
	base := &cim.Class{Name: "CIM_ManagedElement", Properties: []*cim.Property{
		{Name: "InstanceID", Type: cim.String, Key: true},
		{Name: "ElementName", Type: cim.String},
	}}
	setting := &cim.Class{Name: "CIM_SettingData", SuperClass: "CIM_ManagedElement", Properties: []*cim.Property{
		{Name: "MigrationType", Type: cim.Uint16},
		{Name: "Hosts", Type: cim.String, Array: true},
		{Name: "Nested", Type: cim.String, EmbeddedInstance: "CIM_SettingData"},
	}}
	vendor := &cim.Class{Name: "VSMIG_SettingData", SuperClass: "CIM_SettingData", Properties: []*cim.Property{
		{Name: "Extra", Type: cim.Uint32},
	}}
	all := &cim.Class{Name: "CIM_AllTypes", SuperClass: "CIM_ManagedElement", Properties: []*cim.Property{
		{Name: "U8", Type: cim.Uint8},
		{Name: "S8", Type: cim.Sint8},
		{Name: "U16", Type: cim.Uint16},
		{Name: "S16", Type: cim.Sint16},
		{Name: "U32", Type: cim.Uint32},
		{Name: "S32", Type: cim.Sint32},
		{Name: "U64", Type: cim.Uint64},
		{Name: "S64", Type: cim.Sint64},
		{Name: "R32", Type: cim.Real32},
		{Name: "R64", Type: cim.Real64},
		{Name: "B", Type: cim.Boolean},
		{Name: "S", Type: cim.String},
		{Name: "C", Type: cim.Char16},
		{Name: "When", Type: cim.DatetimeType},
		{Name: "Every", Type: cim.DatetimeType},
		{Name: "Ref", Type: cim.Reference, RefClass: "CIM_ManagedElement"},
		{Name: "UArr", Type: cim.Uint16, Array: true},
		{Name: "SArr", Type: cim.String, Array: true},
		{Name: "BArr", Type: cim.Boolean, Array: true},
		{Name: "DTArr", Type: cim.DatetimeType, Array: true},
		{Name: "NullArr", Type: cim.Sint32, Array: true},
		{Name: "Emb", Type: cim.String, EmbeddedInstance: "CIM_SettingData"},
		{Name: "EmbArr", Type: cim.String, Array: true, EmbeddedInstance: "CIM_SettingData"},
	}}
	reg, err := cim.NewRegistry(base, setting, vendor, all)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func mustClass(t testing.TB, reg cim.Registry, name string) *cim.Class {
	t.Helper()
	c, ok := reg.Class(name)
	if !ok {
		t.Fatalf("no class %s", name)
	}
	return c
}

// allTypesInstance returns an instance with a value of every kind.
func allTypesInstance(t testing.TB, reg cim.Registry) *cim.Instance {
	t.Helper()
	inst := cim.NewInstance(mustClass(t, reg, "CIM_AllTypes"), "root/virtualization")
	emb := cim.NewInstance(mustClass(t, reg, "VSMIG_SettingData"), "root/virtualization")
	emb.MustSet("MigrationType", uint64(32768))
	emb.MustSet("Hosts", []string{"10.0.0.2", "10.0.0.3"})
	emb.MustSet("Extra", uint64(7))
	emb2 := cim.NewInstance(mustClass(t, reg, "CIM_SettingData"), "root/virtualization")
	emb2.MustSet("ElementName", "second")
	jobRef := cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_ManagedElement",
		Keys: []cim.KeyBinding{{Name: "InstanceID", Value: "Job:1"}}}
	set := func(name string, v any) {
		if err := inst.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	set("InstanceID", "vsmig:all<&>\"'")
	set("ElementName", nil)
	set("U8", uint64(255))
	set("S8", int64(-128))
	set("U16", uint64(65535))
	set("S16", int64(-32768))
	set("U32", uint64(4294967295))
	set("S32", int64(-2147483648))
	set("U64", uint64(18446744073709551615))
	set("S64", int64(-9223372036854775808))
	set("R32", float64(float32(1.5)))
	set("R64", 3.141592653589793)
	set("B", true)
	set("S", "  spaced\ttext\nline2 ")
	set("C", "x")
	set("When", cim.Timestamp(time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.FixedZone("", 120*60))))
	set("Every", cim.IntervalOf(26*time.Hour+3*time.Minute+4*time.Second+5*time.Microsecond))
	set("Ref", jobRef)
	set("UArr", []uint64{0, 2})
	set("SArr", []string{"a", "", "c"})
	set("BArr", []bool{true, false})
	set("DTArr", []cim.Datetime{cim.IntervalOf(0), cim.Timestamp(time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC))})
	set("NullArr", nil)
	set("Emb", emb)
	set("EmbArr", []*cim.Instance{emb2})
	return inst
}

// msdRegistry models CIM_VirtualSystemMigrationSettingData (v2.20) and
// CIM_Error for the WMI and error samples.
func msdRegistry(t testing.TB) cim.Registry {
	t.Helper()
	me := &cim.Class{Name: "CIM_ManagedElement", Properties: []*cim.Property{
		{Name: "InstanceID", Type: cim.String, Key: true},
		{Name: "Caption", Type: cim.String},
		{Name: "Description", Type: cim.String},
		{Name: "ElementName", Type: cim.String},
	}}
	sd := &cim.Class{Name: "CIM_SettingData", SuperClass: "CIM_ManagedElement"}
	msd := &cim.Class{Name: "CIM_VirtualSystemMigrationSettingData", SuperClass: "CIM_SettingData", Properties: []*cim.Property{
		{Name: "MigrationType", Type: cim.Uint16},
		{Name: "OtherMigrationType", Type: cim.String},
		{Name: "Priority", Type: cim.Uint16},
		{Name: "TransportType", Type: cim.Uint16},
		{Name: "Bandwidth", Type: cim.Uint64},
		{Name: "BandwidthUnit", Type: cim.String},
		{Name: "ConnectionTimeout", Type: cim.DatetimeType},
	}}
	cimErr := &cim.Class{Name: "CIM_Error", Properties: []*cim.Property{
		{Name: "ErrorType", Type: cim.Uint16},
		{Name: "OtherErrorType", Type: cim.String},
		{Name: "OwningEntity", Type: cim.String},
		{Name: "MessageID", Type: cim.String},
		{Name: "Message", Type: cim.String},
		{Name: "MessageArguments", Type: cim.String, Array: true},
		{Name: "PerceivedSeverity", Type: cim.Uint16},
		{Name: "ProbableCause", Type: cim.Uint16},
		{Name: "CIMStatusCode", Type: cim.Uint32},
		{Name: "ErrorSource", Type: cim.String},
		{Name: "ErrorSourceFormat", Type: cim.Uint16},
	}}
	reg, err := cim.NewRegistry(me, sd, msd, cimErr)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
