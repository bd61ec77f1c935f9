package cimxml

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeInstance checks that DecodeInstance never panics and that a
// decoded instance encodes to text that decodes and encodes to itself.
func FuzzDecodeInstance(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
		f.Add(string(b), "CIM_SettingData")
	}
	reg := testRegistry(f)
	f.Fuzz(func(t *testing.T, text, expect string) {
		inst, err := DecodeInstance(text, reg, expect)
		if err != nil {
			return
		}
		once := EncodeInstance(inst)
		inst2, err := DecodeInstance(once, reg, "")
		if err != nil {
			t.Fatalf("encoded instance does not decode: %v\n%s", err, once)
		}
		if twice := EncodeInstance(inst2); twice != once {
			t.Fatalf("round trip changed the instance:\n%s\n%s", once, twice)
		}
	})
}
