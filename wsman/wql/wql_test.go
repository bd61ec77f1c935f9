package wql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // String() of the result
	}{
		{"SELECT * FROM CIM_ComputerSystem", "SELECT * FROM CIM_ComputerSystem"},
		{"select name, EnabledState from CIM_ComputerSystem", "SELECT name, EnabledState FROM CIM_ComputerSystem"},
		{"SELECT * FROM X WHERE Name='vm-01'", "SELECT * FROM X WHERE Name = 'vm-01'"},
		{`SELECT * FROM X WHERE Name = "a\"b\\c"`, `SELECT * FROM X WHERE Name = 'a"b\\c'`},
		{`SELECT * FROM X WHERE Name = 'it''s'`, `SELECT * FROM X WHERE Name = 'it\'s'`},
		{"SELECT * FROM X WHERE A = 1 AND B <> 2 OR C != 3", "SELECT * FROM X WHERE ((A = 1 AND B <> 2) OR C <> 3)"},
		{"SELECT * FROM X WHERE A = 1 AND (B < 2 OR C >= 3)", "SELECT * FROM X WHERE (A = 1 AND (B < 2 OR C >= 3))"},
		{"SELECT * FROM X WHERE NOT A <= -5", "SELECT * FROM X WHERE NOT (A <= -5)"},
		{"SELECT * FROM X WHERE A > 0x1F", "SELECT * FROM X WHERE A > 31"},
		{"SELECT * FROM X WHERE A > 1.5e3", "SELECT * FROM X WHERE A > 1500.0"},
		{"SELECT * FROM X WHERE A < .25", "SELECT * FROM X WHERE A < 0.25"},
		{"SELECT * FROM X WHERE 5 < A", "SELECT * FROM X WHERE A > 5"},
		{"SELECT * FROM X WHERE A = TRUE and b = false", "SELECT * FROM X WHERE (A = TRUE AND b = FALSE)"},
		{"SELECT * FROM X WHERE A IS NULL", "SELECT * FROM X WHERE A IS NULL"},
		{"SELECT * FROM X WHERE A is not null", "SELECT * FROM X WHERE A IS NOT NULL"},
		{"SELECT * FROM X WHERE A = NULL", "SELECT * FROM X WHERE A IS NULL"},
		{"SELECT * FROM X WHERE A <> NULL", "SELECT * FROM X WHERE A IS NOT NULL"},
		{"SELECT * FROM X WHERE A LIKE 'vm-%'", "SELECT * FROM X WHERE A LIKE 'vm-%'"},
		{"SELECT * FROM X WHERE A NOT LIKE 'vm_'", "SELECT * FROM X WHERE A NOT LIKE 'vm_'"},
		{"SELECT * FROM X WHERE __CLASS ISA 'CIM_Job'", "SELECT * FROM X WHERE __CLASS ISA 'CIM_Job'"},
		{"SELECT * FROM X WHERE __CLASS ISA CIM_Job", "SELECT * FROM X WHERE __CLASS ISA 'CIM_Job'"},
		{"SELECT * FROM CIM_InstModification WHERE SourceInstance ISA CIM_ConcreteJob", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA 'CIM_ConcreteJob'"},
		{"SELECT * FROM CIM_InstModification WHERE SourceInstance.JobState = 7", "SELECT * FROM CIM_InstModification WHERE SourceInstance.JobState = 7"},
		{"SELECT * FROM X WHERE A = 18446744073709551615", "SELECT * FROM X WHERE A = 18446744073709551615"},
		{"SELECT * FROM X WHERE A = -9223372036854775808", "SELECT * FROM X WHERE A = -9223372036854775808"},
		{"SELECT * FROM X WHERE A = -0", "SELECT * FROM X WHERE A = 0"},
		{"  SELECT\t*\nFROM X  ", "SELECT * FROM X"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		q2, err := Parse(q.String())
		if err != nil || !reflect.DeepEqual(q, q2) {
			t.Errorf("re-parse of %q: %v, %#v vs %#v", q.String(), err, q2, q)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{"", 0, "expected SELECT"},
		{"SELECT FROM X", 7, "expected property name"},
		{"SELECT * X", 9, "expected FROM"},
		{"SELECT * FROM", 13, "expected class name"},
		{"SELECT * FROM X WHERE", 21, "expected a condition"},
		{"SELECT * FROM X WHERE A = 1 AND", 31, "expected a condition"},
		{"SELECT * FROM X WHERE A = 1 AND OR", 32, "expected a condition"},
		{"SELECT * FROM X WHERE A =", 25, "expected a constant"},
		{"SELECT * FROM X WHERE A = 'abc", 26, "unterminated string"},
		{"SELECT * FROM X WHERE A = 1 B", 28, "unexpected"},
		{"SELECT * FROM X WHERE (A = 1", 28, "expected )"},
		{"SELECT * FROM X WHERE A = 18446744073709551616", 26, "out of range"},
		{"SELECT * FROM X WHERE A = -9223372036854775809", 27, "out of range"},
		{"SELECT * FROM X WHERE A = 1e999", 26, "out of range"},
		{"SELECT * FROM X WHERE A < NULL", 26, "NULL can only"},
		{"SELECT * FROM X WHERE A LIKE 5", 29, "expected pattern"},
		{"SELECT * FROM X WHERE A = 0x", 26, "hexadecimal"},
		{"SELECT * FROM X WHERE A = 12ab", 28, "malformed number"},
		{"SELECT * FROM X WHERE A = B", 26, "expected a constant"},
		{"SELECT * FROM X WHERE A # 1", 24, "unexpected character"},
		{"SELECT * FROM X WHERE " + strings.Repeat("(", 100) + "A=1" + strings.Repeat(")", 100), 86, "nested too deeply"},
		{"SELECT * FROM X WHERE " + strings.Repeat("NOT ", 100) + "A=1", 278, "nested too deeply"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want *SyntaxError", tt.in, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d containing %q", tt.in, se.Offset, se.Msg, tt.offset, tt.msg)
		}
	}
	if _, err := Parse(strings.Repeat(" ", MaxQueryLength+1)); err == nil {
		t.Error("overlong query accepted")
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

type class struct {
	name     string
	ancestry []string
}

func (c class) IsA(a string) bool {
	for _, n := range append([]string{c.name}, c.ancestry...) {
		if strings.EqualFold(n, a) {
			return true
		}
	}
	return false
}

func TestMatch(t *testing.T) {
	props := map[string]any{
		"name":         "VM-01",
		"enabledstate": uint64(2),
		"big":          uint64(18446744073709551615),
		"neg":          int64(-5),
		"ratio":        float64(0.5),
		"flag":         true,
		"caption":      nil,
		"dedicated":    []uint64{0, 2},
		"tags":         []string{"blue", "Green"},
		"empty":        []string{},
		"start":        stringer("20240101120000.000000+000"),
		"__class":      class{"VSMIG_MigrationJob", []string{"CIM_ConcreteJob", "CIM_Job"}},
	}
	get := func(p string) (any, bool) {
		v, ok := props[strings.ToLower(p)]
		return v, ok
	}
	tests := []struct {
		where string
		want  bool
	}{
		{"Name = 'vm-01'", true},
		{"Name <> 'vm-01'", false},
		{"Name > 'vm-00'", true},
		{"Name = 1", false},
		{"EnabledState = 2", true},
		{"EnabledState = '2'", true},
		{"EnabledState > -1", true},
		{"EnabledState < 2.5", true},
		{"EnabledState >= 0x2", true},
		{"Big > -1", true},
		{"Big = 18446744073709551615", true},
		{"Big > 9223372036854775807", true},
		{"Neg < 0", true},
		{"Neg > -6 AND Neg < -4", true},
		{"Neg = 18446744073709551611", false},
		{"Ratio > 0", true},
		{"Ratio = 0.5", true},
		{"Flag = TRUE", true},
		{"Flag = 1", true},
		{"Flag <> FALSE", true},
		{"Flag = 'true'", true},
		{"Caption IS NULL", true},
		{"Caption IS NOT NULL", false},
		{"Caption = 'x'", false},
		{"NOT Caption = 'x'", false}, // unknown stays unknown
		{"Caption = 'x' OR Name = 'vm-01'", true},
		{"NOT (Caption = 'x' AND Name = 'nope')", true},
		{"Dedicated = 2", true},
		{"Dedicated = 3", false},
		{"Dedicated <> 0", true}, // any element
		{"Tags = 'green'", true},
		{"Tags LIKE 'gr%'", true},
		{"Empty IS NULL", false},
		{"Empty = 'x'", false},
		{"Name LIKE 'vm-%'", true},
		{"Name LIKE 'VM-0_'", true},
		{"Name LIKE 'vm-[0-9][0-9]'", true},
		{"Name LIKE 'vm-[^0]%'", false},
		{"Name NOT LIKE '%x%'", true},
		{"Start = '20240101120000.000000+000'", true},
		{"Start > '20230101000000.000000+000'", true},
		{"__CLASS ISA 'CIM_Job'", true},
		{"__CLASS ISA 'CIM_ComputerSystem'", false},
		{"NOT __CLASS ISA 'CIM_ComputerSystem'", true},
	}
	for _, tt := range tests {
		q, err := Parse("SELECT * FROM CIM_X WHERE " + tt.where)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.where, err)
		}
		got, err := q.Match(get)
		if err != nil {
			t.Errorf("%s: Match error %v", tt.where, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.where, got, tt.want)
		}
	}

	errTests := []struct {
		where string
		err   error
	}{
		{"Nope = 1", ErrUnknownProperty},
		{"Name = 'x' OR Nope = 1", ErrUnknownProperty},
		{"Nope IS NULL", ErrUnknownProperty},
		{"EnabledState = 'two'", ErrTypeMismatch},
		{"Flag = 2", ErrTypeMismatch},
		{"EnabledState LIKE '2'", ErrTypeMismatch},
		{"Name ISA 'x'", nil},
		{"EnabledState ISA 'x'", ErrTypeMismatch},
	}
	for _, tt := range errTests {
		q, err := Parse("SELECT * FROM CIM_X WHERE " + tt.where)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.where, err)
		}
		_, err = q.Match(get)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: Match error %v, want %v", tt.where, err, tt.err)
		}
	}
}

func TestMatchNoWhere(t *testing.T) {
	q, _ := Parse("SELECT * FROM X")
	ok, err := q.Match(func(string) (any, bool) { t.Fatal("get called"); return nil, false })
	if !ok || err != nil {
		t.Fatalf("Match = %v, %v", ok, err)
	}
}

func TestWhereProperties(t *testing.T) {
	q, err := Parse("SELECT * FROM X WHERE (a = 1 OR B IS NULL) AND NOT A LIKE 'x' AND __CLASS ISA 'Y'")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "B", "__CLASS"}
	if got := q.WhereProperties(); !reflect.DeepEqual(got, want) {
		t.Fatalf("WhereProperties = %q, want %q", got, want)
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"", "", true},
		{"", "%", true},
		{"a", "", false},
		{"abc", "a%c", true},
		{"abc", "a%%c", true},
		{"abc", "%b%", true},
		{"abc", "_b_", true},
		{"abc", "__", false},
		{"ABC", "abc", true},
		{"a[b", "a[b", true},
		{"a]", "a[]]", true},
		{"x", "[^a-c]", true},
		{"b", "[^a-c]", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%c", false},
		{"Grüße", "GRÜ%", true},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.p); got != tt.want {
			t.Errorf("like(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("SELECT * FROM CIM_ConcreteJob WHERE InstanceID = 'vsmig:5A2C9F44' AND JobState <> 7"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	q, _ := Parse("SELECT * FROM CIM_ConcreteJob WHERE InstanceID = 'vsmig:5A2C9F44' AND JobState <> 7 AND Name LIKE 'Migrate%'")
	props := map[string]any{"instanceid": "vsmig:5A2C9F44", "jobstate": uint64(4), "name": "Migrate vm-01"}
	get := func(p string) (any, bool) { v, ok := props[strings.ToLower(p)]; return v, ok }
	for b.Loop() {
		if ok, err := q.Match(get); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
