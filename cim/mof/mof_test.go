package mof_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/mof"
	"github.com/vsmig/vsmig/schemas"
)

func testRegistry(t testing.TB) cim.Registry {
	t.Helper()
	src, err := os.ReadFile("testdata/classes.mof")
	if err != nil {
		t.Fatal(err)
	}
	classes, err := mof.ParseClasses("classes.mof", src)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cim.NewRegistry(classes...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestParseClasses(t *testing.T) {
	reg := testRegistry(t)
	base, _ := reg.Class("Test_Base")
	if !base.Abstract || base.Association {
		t.Errorf("Test_Base flags: abstract %t association %t", base.Abstract, base.Association)
	}
	if q, _ := base.Qualifiers.Get("Description"); q.Value != "Base class text." {
		t.Errorf("concatenated Description = %q", q.Value)
	}
	tests := []struct {
		prop  string
		typ   cim.Type
		array bool
		def   any
	}{
		{"InstanceID", cim.String, false, nil},
		{"State", cim.Uint16, false, uint64(2)},
		{"Offset", cim.Sint8, false, int64(-5)},
		{"Ratio", cim.Real64, false, 0.5},
		{"Flag", cim.Boolean, false, true},
		{"Letter", cim.Char16, false, "x"},
		{"Wait", cim.DatetimeType, false, cim.IntervalOf(5 * time.Minute)},
		{"Tags", cim.String, true, []string{"a", "b\tc", "A"}},
		{"Bytes", cim.Uint8, true, nil},
		{"Note", cim.String, false, "say \"hi\"\n"},
	}
	for _, tt := range tests {
		p := base.Property(tt.prop)
		if p == nil {
			t.Errorf("no property %s", tt.prop)
			continue
		}
		if p.Type != tt.typ || p.Array != tt.array || !cim.ValuesEqual(p.Default, tt.def) {
			t.Errorf("%s = %s array %t default %#v, want %s %t %#v", tt.prop, p.Type, p.Array, p.Default, tt.typ, tt.array, tt.def)
		}
	}
	if id := base.Property("InstanceID"); !id.Key {
		t.Error("InstanceID not a key")
	}
	if st := base.Property("State"); strings.Join(st.ValueMap, ",") != "0,2,..,0x8000.." || st.Values[1] != "OK" {
		t.Errorf("State value map = %v %v", st.ValueMap, st.Values)
	}

	link, _ := reg.Class("Test_Link")
	if !link.Association || link.Abstract {
		t.Errorf("Test_Link flags: abstract %t association %t", link.Abstract, link.Association)
	}
	if keys := link.Keys(); len(keys) != 3 || keys[1].RefClass != "Test_Base" || keys[1].Type != cim.Reference {
		t.Errorf("Test_Link keys = %+v", keys)
	}
	m := link.Method("go")
	if m == nil || m.ReturnType != cim.Uint32 || len(m.Params) != 5 || m.Values[1] != "Job" {
		t.Fatalf("method Go = %+v", m)
	}
	wantParams := []struct {
		name     string
		in, out  bool
		array    bool
		typ      cim.Type
		embedded string
		refClass string
	}{
		{"Setting", true, false, false, cim.String, "Test_Base", ""},
		{"Settings", true, false, true, cim.String, "Test_Base", ""},
		{"Job", false, true, false, cim.Reference, "", "Test_Base"},
		{"Done", false, true, false, cim.Boolean, "", ""},
		{"Plain", true, false, false, cim.Uint16, "", ""},
	}
	for i, w := range wantParams {
		p := m.Params[i]
		if p.Name != w.name || p.In != w.in || p.Out != w.out || p.Array != w.array || p.Type != w.typ ||
			p.EmbeddedInstance != w.embedded || p.RefClass != w.refClass {
			t.Errorf("param %d = %+v, want %+v", i, p, w)
		}
	}
}

func TestParseInstance(t *testing.T) {
	reg := testRegistry(t)
	inst, err := mof.ParseInstance(`
		#pragma namespace ("root/test")
		// a comment
		instance of test_base {
			instanceid = "x";
			State = 3;
			Tags = {"one", "two"};
			Wait = "20260101000000.000000+000";
			Bytes = {1, 0x2, 11b, 017};
			Ratio = -1;
			Letter = "y";
			Flag = false;
			Note = NULL;
		};`, reg)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Class.Name != "Test_Base" || inst.Namespace != "root/test" {
		t.Errorf("class %s namespace %s", inst.Class.Name, inst.Namespace)
	}
	want := map[string]any{
		"InstanceID": "x",
		"State":      uint64(3),
		"Tags":       []string{"one", "two"},
		"Wait":       cim.Timestamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		"Bytes":      []uint64{1, 2, 3, 15},
		"Ratio":      -1.0,
		"Letter":     "y",
		"Flag":       false,
		"Note":       nil,
		"Offset":     nil, // defaults are not applied to parsed instances
	}
	for name, w := range want {
		if got, _ := inst.Get(name); !cim.ValuesEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", name, got, w)
		}
	}
}

func TestParseInstanceEmbedded(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	// A VSMIG job whose error is an embedded CIM_Error, as MOF text
	// inside a string and as an inline instance.
	for _, src := range []string{
		`instance of VSMIG_MigrationJob { InstanceID = "vsmig:1"; Name = "m";
			TotalTime = "00000000000130.000000:000"; }; `,
		`instance of CIM_VirtualSystemMigrationSettingData { InstanceID = "a"; MigrationType = 2; TransportType = 3; Bandwidth = 100; BandwidthUnit = "percent"; };`,
	} {
		if _, err := mof.ParseInstance(src, reg); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}

	classes, err := mof.ParseClasses("holder.mof", []byte(`
		class Test_Holder { [Key] string ID;
			[EmbeddedInstance ("CIM_SettingData")] string One;
			[EmbeddedInstance ("CIM_SettingData")] string Many[]; };`))
	if err != nil {
		t.Fatal(err)
	}
	all := append(classes, classesOf(reg)...)
	reg2, err := cim.NewRegistry(all...)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := mof.ParseInstance(`instance of Test_Holder {
		ID = "h";
		One = "instance of CIM_VirtualSystemMigrationSettingData { InstanceID = \"e\"; MigrationType = 3; };";
		Many = { instance of CIM_SettingData { InstanceID = "s1"; },
		         "instance of CIM_VirtualSystemMigrationSettingData { InstanceID = \"s2\"; }" };
	};`, reg2)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := inst.Get("One")
	e, ok := one.(*cim.Instance)
	if !ok || e.Class.Name != "CIM_VirtualSystemMigrationSettingData" {
		t.Fatalf("One = %#v", one)
	}
	if mt, _ := e.Get("MigrationType"); mt != uint64(3) {
		t.Errorf("embedded MigrationType = %v", mt)
	}
	many, _ := inst.Get("Many")
	if m, ok := many.([]*cim.Instance); !ok || len(m) != 2 || m[1].Class.Name != "CIM_VirtualSystemMigrationSettingData" {
		t.Errorf("Many = %#v", many)
	}

	// Round trip through Instance.String.
	back, err := mof.ParseInstance(inst.String(), reg2)
	if err != nil {
		t.Fatalf("reparse %s: %v", inst.String(), err)
	}
	if !cim.ValuesEqual(inst, back) {
		t.Errorf("round trip differs:\n%s\n%s", inst, back)
	}

	// An embedded instance of a class outside the EmbeddedInstance class.
	_, err = mof.ParseInstance(`instance of Test_Holder { ID = "h"; One = instance of CIM_Error { MessageID = "x"; }; };`, reg2)
	if err == nil || !strings.Contains(err.Error(), "is not a CIM_SettingData") {
		t.Errorf("wrong embedded class: %v", err)
	}
}

func classesOf(reg cim.Registry) []*cim.Class {
	// Resolved classes re-resolve to themselves: every member is already
	// present, so overriding keeps it in place.
	return reg.Classes()
}

func TestParseInstanceOptions(t *testing.T) {
	reg := schemas.MustLoad()
	src, err := os.ReadFile("testdata/libvirt_msd.mof")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mof.ParseInstance(string(src), reg); err == nil {
		t.Error("strict parse of a vendor class succeeded")
	}
	opts := mof.Options{DiscardUnknown: true, AsClass: "CIM_VirtualSystemMigrationSettingData"}
	inst, err := opts.ParseInstance(string(src), reg)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Class.Name != "CIM_VirtualSystemMigrationSettingData" {
		t.Errorf("class = %s", inst.Class.Name)
	}
	if v, _ := inst.Get("MigrationType"); v != uint64(2) {
		t.Errorf("MigrationType = %v", v)
	}
	if _, err := (mof.Options{AsClass: "CIM_VirtualSystemMigrationSettingData"}).ParseInstance(string(src), reg); err == nil ||
		!strings.Contains(err.Error(), "CreationClassName") {
		t.Errorf("unknown property without DiscardUnknown: %v", err)
	}
}

func TestParseInstances(t *testing.T) {
	reg := testRegistry(t)
	src, err := os.ReadFile("testdata/instances.mof")
	if err != nil {
		t.Fatal(err)
	}
	insts, err := mof.Options{}.ParseInstances("instances.mof", src, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 {
		t.Fatalf("got %d instances", len(insts))
	}
	left, _ := insts[1].Get("Left")
	if p := left.(cim.ObjectPath); p.String() != `root/test:Test_Base.InstanceID="test:1"` {
		t.Errorf("Left = %s", p)
	}
	right, _ := insts[1].Get("Right")
	if p := right.(cim.ObjectPath); p.String() != `root/test:Test_Base.InstanceID="test:2"` {
		t.Errorf("Right = %s", p)
	}
	if tags, _ := insts[0].Get("Tags"); tags == nil || len(tags.([]string)) != 0 {
		t.Errorf("empty array = %#v", tags)
	}
	_, err = mof.Options{}.ParseInstances("x.mof", []byte(`instance of Test_Link { Left = $Nope; };`), reg)
	if err == nil || !strings.Contains(err.Error(), "unknown alias $Nope") {
		t.Errorf("unknown alias: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	reg := testRegistry(t)
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"instance of Test_Base {\n  Nope = 1;\n};", 2, 3, "no property Nope"},
		{"instance of Test_Base {\n  State = 70000;\n};", 2, 11, "out of range"},
		{"instance of Test_Base { State = -1; };", 1, 33, "out of range"},
		{"instance of Test_Base { State = \"2\"; };", 1, 33, "must be an integer"},
		{"instance of Test_Base { Flag = 1; };", 1, 32, "true or false"},
		{"instance of Test_Base { Tags = \"a\"; };", 1, 32, "{...}"},
		{"instance of Test_Base { State = {1}; };", 1, 33, "not be an array"},
		{"instance of Test_Base { Wait = \"tomorrow\"; };", 1, 32, "datetime"},
		{"instance of Test_Base { State = 1; State = 2; };", 1, 36, "assigned twice"},
		{"instance of Nope { };", 1, 1, "unknown class Nope"},
		{"instance of Test_Base { State = 1 };", 1, 35, `expected ";"`},
		{"instance of Test_Base { Note = \"open\n\"; };", 1, 32, "newline in string"},
		{"instance of Test_Base { Note = \"\\q\"; };", 1, 33, "unknown escape"},
		{"/* never closed", 1, 1, "unterminated comment"},
		{"", 1, 1, "no instance declaration"},
		{"instance of Test_Base { }; instance of Test_Base { };", 1, 28, "more than one instance"},
		{"class X { };", 1, 1, "class declaration where an instance"},
		{"instance of Test_Base { Letter = 'ab'; };", 1, 34, "char literal"},
		{"instance of Test_Base { State = 12abc; };", 1, 33, "invalid integer"},
		{"instance of Test_Base { State = @; };", 1, 33, "unexpected character"},
	}
	for _, tt := range tests {
		_, err := mof.ParseInstance(tt.src, reg)
		var pe *mof.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ParseError", tt.src, err)
			continue
		}
		if pe.Line != tt.line || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("%q: got %d:%d %q, want %d:%d containing %q", tt.src, pe.Line, pe.Col, pe.Msg, tt.line, tt.col, tt.msg)
		}
	}
}

func TestParseClassesErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"class A { };\nclass a { };", 2, 1, "declared twice"},
		{"class A { string P; uint8 p; };", 1, 27, "declares p twice"},
		{"class A { strin P; };", 1, 11, `unknown data type "strin"`},
		{"class A { uint8 P = 300; };", 1, 21, "out of range"},
		{"class A { [Key, Key] string P; };", 1, 17, "duplicate qualifier"},
		{"class A { uint32 M(string a, string A); };", 1, 37, "parameter A twice"},
		{"class A : { };", 1, 11, "superclass name"},
		{"#pragma namespace(root)", 1, 19, "string argument"},
		{"Qualifier Key : boolean", 1, 1, "unterminated qualifier declaration"},
		{"class A { string P }", 1, 20, `expected ";"`},
		{"[Description (\"x\")] instance A", 1, 30, `expected "of"`},
		{"class A { string P = {{1}}; };", 1, 23, "arrays of arrays"},
	}
	for _, tt := range tests {
		_, err := mof.ParseClasses("t.mof", []byte(tt.src))
		var pe *mof.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ParseError", tt.src, err)
			continue
		}
		if pe.File != "t.mof" || pe.Line != tt.line || pe.Col != tt.col || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("%q: got %s, want t.mof:%d:%d containing %q", tt.src, pe, tt.line, tt.col, tt.msg)
		}
	}
}

func TestParseErrorString(t *testing.T) {
	e := &mof.ParseError{File: "a.mof", Line: 3, Col: 7, Msg: "bad"}
	if e.Error() != "a.mof:3:7: bad" {
		t.Errorf("Error() = %s", e.Error())
	}
}

func TestDeepNesting(t *testing.T) {
	reg := testRegistry(t)
	src := "instance of Test_Base { Tags = " + strings.Repeat("{", 10000) + "}; };"
	if _, err := mof.ParseInstance(src, reg); err == nil {
		t.Error("deep nesting accepted")
	}
	src = "instance of Test_Base { Note = " + strings.Repeat("instance of Test_Base { Note = ", 100) + "\"x\"" + strings.Repeat("}", 100) + "; };"
	if _, err := mof.ParseInstance(src, reg); err == nil || !strings.Contains(err.Error(), "too deeply") {
		t.Errorf("deep instances: %v", err)
	}
}

// seeds returns the schema files and testdata as fuzz seeds.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, pattern := range []string{"../../schemas/*.mof", "testdata/*.mof"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		f.Fatal("no seeds")
	}
	return out
}

func FuzzParseClasses(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		classes, err := mof.ParseClasses("fuzz.mof", src)
		if err != nil {
			var pe *mof.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		_, _ = cim.NewRegistry(classes...)
	})
}

func FuzzParseInstance(f *testing.F) {
	reg := schemas.MustLoad()
	for _, s := range seeds(f) {
		f.Add(string(s))
	}
	f.Add(`instance of CIM_VirtualSystemMigrationSettingData { InstanceID = "a"; MigrationType = 2; };`)
	f.Add(`instance of VSMIG_MigrationJob { InstanceID = "vsmig:1"; Name = "m"; DataTotal = 1; TotalTime = "00000000000130.000000:000"; };`)
	lenient := mof.Options{DiscardUnknown: true, AsClass: "CIM_VirtualSystemMigrationSettingData"}
	f.Fuzz(func(t *testing.T, src string) {
		inst, err := mof.ParseInstance(src, reg)
		if err == nil {
			// What parses survives String and a second parse.
			back, err := mof.ParseInstance(inst.String(), reg)
			if err != nil {
				t.Fatalf("reparse of %s: %v", inst, err)
			}
			if !cim.ValuesEqual(inst, back) {
				t.Fatalf("round trip differs:\n%s\n%s", inst, back)
			}
		}
		_, _ = lenient.ParseInstance(src, reg)
	})
}

func BenchmarkParseInstance(b *testing.B) {
	reg := schemas.MustLoad()
	const src = `instance of CIM_VirtualSystemMigrationSettingData {
		InstanceID = "vsmig:msd"; MigrationType = 2; TransportType = 3;
		Priority = 0; Bandwidth = 100; BandwidthUnit = "megabit per second"; };`
	for b.Loop() {
		if _, err := mof.ParseInstance(src, reg); err != nil {
			b.Fatal(err)
		}
	}
}
