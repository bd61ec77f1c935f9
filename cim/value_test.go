package cim_test

import (
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		t    cim.Type
		in   string
		want any
	}{
		{cim.Uint8, "255", uint64(255)},
		{cim.Uint16, " 4096 ", uint64(4096)},
		{cim.Uint16, "0x8000", uint64(0x8000)},
		{cim.Uint64, "18446744073709551615", uint64(18446744073709551615)},
		{cim.Sint8, "-128", int64(-128)},
		{cim.Sint16, "+32767", int64(32767)},
		{cim.Sint64, "-9223372036854775808", int64(-9223372036854775808)},
		{cim.Real32, "1.5", 1.5},
		{cim.Real64, "-2e10", -2e10},
		{cim.Boolean, "TRUE", true},
		{cim.Boolean, "False", false},
		{cim.String, " keep spaces ", " keep spaces "},
		{cim.Char16, "x", "x"},
		{cim.DatetimeType, "00000000000500.000000:000", cim.IntervalOf(5 * time.Minute)},
	}
	for _, tt := range tests {
		got, err := cim.ParseValue(tt.t, tt.in)
		if err != nil {
			t.Errorf("ParseValue(%s, %q): %v", tt.t, tt.in, err)
			continue
		}
		if !cim.ValuesEqual(got, tt.want) {
			t.Errorf("ParseValue(%s, %q) = %#v, want %#v", tt.t, tt.in, got, tt.want)
		}
	}
	ref, err := cim.ParseValue(cim.Reference, `root/virtualization:CIM_ComputerSystem.CreationClassName="CIM_ComputerSystem",Name="vm1"`)
	if err != nil {
		t.Fatal(err)
	}
	if p := ref.(cim.ObjectPath); p.ClassName != "CIM_ComputerSystem" || len(p.Keys) != 2 {
		t.Errorf("reference = %#v", p)
	}
}

func TestParseValueErrors(t *testing.T) {
	tests := []struct {
		t  cim.Type
		in string
	}{
		{cim.Uint8, "256"},
		{cim.Uint8, "-1"},
		{cim.Uint16, "65536"},
		{cim.Uint32, "4294967296"},
		{cim.Uint64, "18446744073709551616"},
		{cim.Sint8, "128"},
		{cim.Sint8, "-129"},
		{cim.Sint16, "32768"},
		{cim.Sint32, "-2147483649"},
		{cim.Sint64, "9223372036854775808"},
		{cim.Uint16, ""},
		{cim.Uint16, "12abc"},
		{cim.Uint16, "1.0"},
		{cim.Real32, "1e39"},
		{cim.Real64, "pi"},
		{cim.Boolean, "yes"},
		{cim.Boolean, "1"},
		{cim.Char16, "ab"},
		{cim.Char16, ""},
		{cim.DatetimeType, "2026-01-01T00:00:00Z"},
		{cim.Reference, "not a path!"},
		{cim.TypeInvalid, "x"},
	}
	for _, tt := range tests {
		if v, err := cim.ParseValue(tt.t, tt.in); err == nil {
			t.Errorf("ParseValue(%s, %q) = %#v, want error", tt.t, tt.in, v)
		}
	}
}

func TestConvertValue(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		t     cim.Type
		array bool
		in    any
		want  any
	}{
		{cim.Uint16, false, 2, uint64(2)},
		{cim.Uint16, false, uint16(65535), uint64(65535)},
		{cim.Uint64, false, uint64(1 << 63), uint64(1 << 63)},
		{cim.Sint32, false, int32(-5), int64(-5)},
		{cim.Sint64, false, uint8(7), int64(7)},
		{cim.Real64, false, float32(0.5), 0.5},
		{cim.Real32, false, 3, 3.0},
		{cim.Boolean, false, true, true},
		{cim.Uint16, false, "4096", uint64(4096)},
		{cim.DatetimeType, false, ts, cim.Timestamp(ts)},
		{cim.DatetimeType, false, 5 * time.Minute, cim.IntervalOf(5 * time.Minute)},
		{cim.Uint16, true, []int{2, 17}, []uint64{2, 17}},
		{cim.Uint16, true, []uint16{2, 3}, []uint64{2, 3}},
		{cim.String, true, []any{"a", "b"}, []string{"a", "b"}},
		{cim.Sint8, true, []int64{-1}, []int64{-1}},
		{cim.String, false, nil, nil},
	}
	for _, tt := range tests {
		got, err := cim.ConvertValue(tt.t, tt.array, tt.in)
		if err != nil {
			t.Errorf("ConvertValue(%s, %t, %#v): %v", tt.t, tt.array, tt.in, err)
			continue
		}
		if !cim.ValuesEqual(got, tt.want) {
			t.Errorf("ConvertValue(%s, %t, %#v) = %#v, want %#v", tt.t, tt.array, tt.in, got, tt.want)
		}
	}
	p := cim.ObjectPath{ClassName: "X"}
	if got, err := cim.ConvertValue(cim.Reference, false, &p); err != nil || got.(cim.ObjectPath).ClassName != "X" {
		t.Errorf("ConvertValue(*ObjectPath) = %v, %v", got, err)
	}
}

func TestConvertValueErrors(t *testing.T) {
	tests := []struct {
		t     cim.Type
		array bool
		in    any
	}{
		{cim.Uint8, false, 256},
		{cim.Uint16, false, -1},
		{cim.Sint8, false, 200},
		{cim.Sint64, false, uint64(1 << 63)},
		{cim.Uint16, false, 1.5},
		{cim.Boolean, false, 1},
		{cim.String, false, 5},
		{cim.Uint16, true, 5},
		{cim.Uint16, false, []int{1}},
		{cim.Uint8, true, []int{1, 300}},
		{cim.String, true, []any{"a", nil}},
		{cim.Real32, false, 1e39},
		{cim.Char16, false, "two"},
		{cim.Reference, false, "no path here!"},
	}
	for _, tt := range tests {
		if v, err := cim.ConvertValue(tt.t, tt.array, tt.in); err == nil {
			t.Errorf("ConvertValue(%s, %t, %#v) = %#v, want error", tt.t, tt.array, tt.in, v)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{uint64(42), "42"},
		{int64(-42), "-42"},
		{1.25, "1.25"},
		{true, "true"},
		{"x y", "x y"},
		{cim.IntervalOf(5 * time.Minute), "00000000000500.000000:000"},
		{cim.ObjectPath{Namespace: "root/virtualization", ClassName: "CIM_ConcreteJob",
			Keys: []cim.KeyBinding{{Name: "InstanceID", Value: `vsmig:"1"`}}},
			`root/virtualization:CIM_ConcreteJob.InstanceID="vsmig:\"1\""`},
		{[]uint64{2, 17}, "{2, 17}"},
		{uint16(7), "7"},
		{-3, "-3"},
	}
	for _, tt := range tests {
		if got := cim.FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	types := map[cim.Type][]any{
		cim.Uint32:       {uint64(0), uint64(4294967295)},
		cim.Sint16:       {int64(-32768), int64(7)},
		cim.Real64:       {0.1, -1e300},
		cim.Boolean:      {true, false},
		cim.DatetimeType: {cim.Timestamp(time.Date(2026, 11, 24, 1, 2, 3, 4000, time.UTC)), cim.IntervalOf(time.Hour)},
	}
	for typ, vals := range types {
		for _, v := range vals {
			back, err := cim.ParseValue(typ, cim.FormatValue(v))
			if err != nil || !cim.ValuesEqual(back, v) {
				t.Errorf("%s %#v: round trip gave %#v, %v", typ, v, back, err)
			}
		}
	}
}

func TestValuesEqual(t *testing.T) {
	p1 := cim.ObjectPath{ClassName: "CIM_X", Keys: []cim.KeyBinding{{Name: "Name", Value: "a"}}}
	p2 := cim.ObjectPath{ClassName: "cim_x", Keys: []cim.KeyBinding{{Name: "NAME", Value: "a"}}}
	tests := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{nil, "", false},
		{uint64(5), int64(5), true},
		{int64(-1), uint64(1<<64 - 1), false},
		{"a", "A", false},
		{1.0, uint64(1), false},
		{[]uint64{1, 2}, []uint64{1, 2}, true},
		{[]uint64{1, 2}, []uint64{2, 1}, false},
		{[]string{}, []string(nil), true},
		{p1, p2, true},
		{cim.IntervalOf(time.Second), cim.IntervalOf(time.Second + time.Nanosecond), true},
		{cim.IntervalOf(time.Second), cim.Timestamp(time.Time{}), false},
	}
	for _, tt := range tests {
		if got := cim.ValuesEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("ValuesEqual(%#v, %#v) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValueMapEntry(t *testing.T) {
	vm := []string{"0", "2", "4096", "4097..32767", "..", "0x8000..0xFFFF"}
	vs := []string{"OK", "Failed", "Job Started", "Method Reserved", "DMTF Reserved", "Vendor Specific"}
	tests := []struct {
		v    uint64
		want string
		ok   bool
	}{
		{0, "OK", true},
		{2, "Failed", true},
		{4096, "Job Started", true},
		{5000, "Method Reserved", true},
		{40000, "Vendor Specific", true},
		{1, "DMTF Reserved", true},
		{70000, "DMTF Reserved", true},
	}
	for _, tt := range tests {
		got, ok := cim.ValueMapEntry(vm, vs, tt.v)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ValueMapEntry(%d) = %q, %t; want %q, %t", tt.v, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := cim.ValueMapEntry([]string{"2", "3"}, []string{"a", "b"}, 4); ok {
		t.Error("unmapped value found")
	}
	if got, ok := cim.ValueMapEntry([]string{"2", "0x8000.."}, nil, 0x9000); !ok || got != "0x8000.." {
		t.Errorf("no Values: %q, %t", got, ok)
	}
}
