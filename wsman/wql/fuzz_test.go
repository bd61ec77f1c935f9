package wql

import (
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	"SELECT * FROM CIM_ComputerSystem",
	"SELECT * FROM CIM_ConcreteJob WHERE InstanceID = 'Job:5A2C9F44-1111'",
	"select Name, EnabledState from CIM_ComputerSystem where EnabledState <> 3 and Name like 'vm-%'",
	`SELECT * FROM X WHERE A = "q\"uote" OR NOT (B IS NOT NULL AND C >= -0x10)`,
	"SELECT * FROM X WHERE __CLASS ISA 'CIM_Job' AND R < 1.5e-3 AND F = TRUE",
	"SELECT * FROM X WHERE 5 < A AND A != NULL",
	"SELECT * FROM X WHERE A LIKE '[^a-c]%_'",
}

// FuzzParse checks that Parse never panics and that String of a parsed
// query parses back to an equal query.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		out := q.String()
		q2, err := Parse(out)
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(q, q2) {
			t.Fatalf("round trip of %q via %q changed the query:\n%#v\n%#v", s, out, q, q2)
		}
		// Evaluation must not panic either.
		_, _ = q.Match(func(string) (any, bool) { return "x", true })
	})
}
