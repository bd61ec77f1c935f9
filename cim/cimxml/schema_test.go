package cimxml

import (
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/cimtest"
)

// TestSchemaCIMError encodes the CIM_Error of the real schema as GetError
// returns it and reads it back.
func TestSchemaCIMError(t *testing.T) {
	reg := cimtest.Schemas(t)
	e := cim.NewInstance(cimtest.Class(t, reg, "CIM_Error"), "")
	e.MustSet("ErrorType", 4)
	e.MustSet("OwningEntity", "vsmig")
	e.MustSet("MessageID", "VSMIG0003")
	e.MustSet("Message", "migration of vm-01 to host2 timed out")
	e.MustSet("MessageArguments", []string{"vm-01", "host2"})
	e.MustSet("PerceivedSeverity", 6)
	e.MustSet("CIMStatusCode", 1)
	text := EncodeInstance(e)
	golden(t, "schema_cim_error.golden.xml", text)
	got, err := DecodeInstance(text, reg, "CIM_Error")
	if err != nil {
		t.Fatal(err)
	}
	if !cim.ValuesEqual(e, got) {
		t.Errorf("round trip differs: %s", EncodeInstance(got))
	}
}

func BenchmarkDecodeInstance(b *testing.B) {
	reg := msdRegistry(b)
	text := `<INSTANCE CLASSNAME="Msvm_VirtualSystemMigrationSettingData"><PROPERTY NAME="MigrationType" TYPE="uint16"><VALUE>32768</VALUE></PROPERTY><PROPERTY.ARRAY NAME="DestinationIPAddressList" TYPE="string"><VALUE.ARRAY><VALUE>10.0.0.2</VALUE></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE>`
	for b.Loop() {
		if _, err := DecodeInstance(text, reg, "CIM_VirtualSystemMigrationSettingData"); err != nil {
			b.Fatal(err)
		}
	}
}
