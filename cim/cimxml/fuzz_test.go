package cimxml

import (
	"testing"

	"github.com/vsmig/vsmig/cim/cimtest"
)

// FuzzDecodeInstance checks that DecodeInstance never panics and that a
// decoded instance encodes to text that decodes and encodes to itself.
func FuzzDecodeInstance(f *testing.F) {
	for _, text := range cimtest.ReadFiles(f, "testdata/*.xml") {
		f.Add(text, "")
		f.Add(text, "CIM_SettingData")
	}
	reg := cimtest.Registry(f)
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
