package embedded

import (
	"testing"

	"github.com/vsmig/vsmig/cim/cimtest"
)

// FuzzParse checks that Parse never panics on any text form and that
// whatever it returns is an instance of the expected class.
func FuzzParse(f *testing.F) {
	for _, text := range cimtest.ReadFiles(f, "testdata/*") {
		f.Add(text)
	}
	reg := cimtest.Schemas(f)
	f.Fuzz(func(t *testing.T, text string) {
		inst, err := Parse(text, nil, reg, msd)
		if err != nil {
			return
		}
		if !reg.IsA(inst.Class.Name, msd) {
			t.Fatalf("decoded %s, not a %s", inst.Class.Name, msd)
		}
	})
}
