package embedded

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics on any text form and that
// whatever it returns is an instance of the expected class.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	reg := registry(f)
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
