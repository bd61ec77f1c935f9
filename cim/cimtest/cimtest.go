// Package cimtest holds the test fixtures that the encodings of CIM
// instances (cim/cimxml, cim/wscim, cim/embedded) share: a small
// hand-written class model with every CIM type, an instance with a value
// of every kind, and golden-file and test-data helpers.
//
// It is for tests only, in the manner of net/http/httptest.
//
// Imports: the standard library, cim and schemas.
package cimtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/schemas"
)

// Registry returns a small hand-written model with every CIM type:
// CIM_ManagedElement (key InstanceID), CIM_SettingData (an array and an
// embedded instance), the vendor subclass VSMIG_SettingData, and
// CIM_AllTypes, which has a property of every type, scalar and array, a
// reference and embedded instances.
func Registry(t testing.TB) cim.Registry {
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

// Class returns the class named name in reg and fails the test if there
// is none.
func Class(t testing.TB, reg cim.Registry, name string) *cim.Class {
	t.Helper()
	c, ok := reg.Class(name)
	if !ok {
		t.Fatalf("no class %s", name)
	}
	return c
}

// AllTypes returns an instance with a value of every kind.
func AllTypes(t testing.TB, reg cim.Registry) *cim.Instance {
	t.Helper()
	inst := cim.NewInstance(Class(t, reg, "CIM_AllTypes"), "root/virtualization")
	emb := cim.NewInstance(Class(t, reg, "VSMIG_SettingData"), "root/virtualization")
	emb.MustSet("MigrationType", uint64(32768))
	emb.MustSet("Hosts", []string{"10.0.0.2", "10.0.0.3"})
	emb.MustSet("Extra", uint64(7))
	emb2 := cim.NewInstance(Class(t, reg, "CIM_SettingData"), "root/virtualization")
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

// Golden compares got with the golden file path, after rewriting the file
// with got when update is set (the -update flag of the calling package).
func Golden(t *testing.T, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", filepath.Base(path), got, want)
	}
}

// Schemas returns the model of the real class definitions (schemas.Load).
func Schemas(t testing.TB) cim.Registry {
	t.Helper()
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Testdata returns the content of the file testdata/name.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	return ReadFile(t, filepath.Join("testdata", name))
}

// ReadFile returns the content of the file at path.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ReadFiles returns the contents of the files that match pattern (a
// filepath.Glob pattern such as "testdata/*.xml"), in name order, for
// seeding fuzz targets.
func ReadFiles(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(names))
	for i, name := range names {
		texts[i] = ReadFile(t, name)
	}
	return texts
}
