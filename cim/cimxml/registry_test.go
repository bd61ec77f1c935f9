package cimxml

import (
	"testing"

	"github.com/vsmig/vsmig/cim"
)

// msdRegistry models CIM_VirtualSystemMigrationSettingData (v2.20) and
// CIM_Error for the WMI and error samples.
func msdRegistry(t testing.TB) cim.Registry {
	t.Helper()
	me := &cim.Class{Name: "CIM_ManagedElement", Properties: []*cim.Property{
		{Name: "InstanceID", Type: cim.String, Key: true},
		{Name: "Caption", Type: cim.String},
		{Name: "Description", Type: cim.String},
		{Name: "ElementName", Type: cim.String},
	}}
	sd := &cim.Class{Name: "CIM_SettingData", SuperClass: "CIM_ManagedElement"}
	msd := &cim.Class{Name: "CIM_VirtualSystemMigrationSettingData", SuperClass: "CIM_SettingData", Properties: []*cim.Property{
		{Name: "MigrationType", Type: cim.Uint16},
		{Name: "OtherMigrationType", Type: cim.String},
		{Name: "Priority", Type: cim.Uint16},
		{Name: "TransportType", Type: cim.Uint16},
		{Name: "Bandwidth", Type: cim.Uint64},
		{Name: "BandwidthUnit", Type: cim.String},
		{Name: "ConnectionTimeout", Type: cim.DatetimeType},
	}}
	cimErr := &cim.Class{Name: "CIM_Error", Properties: []*cim.Property{
		{Name: "ErrorType", Type: cim.Uint16},
		{Name: "OtherErrorType", Type: cim.String},
		{Name: "OwningEntity", Type: cim.String},
		{Name: "MessageID", Type: cim.String},
		{Name: "Message", Type: cim.String},
		{Name: "MessageArguments", Type: cim.String, Array: true},
		{Name: "PerceivedSeverity", Type: cim.Uint16},
		{Name: "ProbableCause", Type: cim.Uint16},
		{Name: "CIMStatusCode", Type: cim.Uint32},
		{Name: "ErrorSource", Type: cim.String},
		{Name: "ErrorSourceFormat", Type: cim.Uint16},
	}}
	reg, err := cim.NewRegistry(me, sd, msd, cimErr)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
