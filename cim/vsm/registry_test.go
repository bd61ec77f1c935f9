package vsm

import (
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

// testClasses is the subset of the schema the tests need, written in a
// compact form "Name:type[:key]" ("[]" after the type for arrays, "ref:Class"
// for references). It stands in for schemas.Load() until that exists and
// is kept deliberately close to the DMTF definitions.
var testClasses = []struct {
	name, super string
	assoc       bool
	props       []string
}{
	{"CIM_ManagedElement", "", false, []string{"InstanceID:string", "Caption:string", "Description:string", "ElementName:string"}},
	{"CIM_ManagedSystemElement", "CIM_ManagedElement", false, []string{"Name:string", "OperationalStatus:uint16[]", "StatusDescriptions:string[]", "HealthState:uint16", "OperatingStatus:uint16"}},
	{"CIM_LogicalElement", "CIM_ManagedSystemElement", false, nil},
	{"CIM_EnabledLogicalElement", "CIM_LogicalElement", false, []string{"EnabledState:uint16", "OtherEnabledState:string", "RequestedState:uint16", "EnabledDefault:uint16"}},
	{"CIM_System", "CIM_EnabledLogicalElement", false, []string{"CreationClassName:string:key", "Name:string:key", "NameFormat:string", "IdentifyingDescriptions:string[]", "OtherIdentifyingInfo:string[]"}},
	{"CIM_ComputerSystem", "CIM_System", false, []string{"Dedicated:uint16[]"}},
	{"CIM_Service", "CIM_EnabledLogicalElement", false, []string{"SystemCreationClassName:string:key", "SystemName:string:key", "CreationClassName:string:key", "Name:string:key", "Started:boolean"}},
	{"CIM_VirtualSystemMigrationService", "CIM_Service", false, nil},
	{"CIM_Capabilities", "CIM_ManagedElement", false, []string{"InstanceID:string:key"}},
	{"CIM_VirtualSystemMigrationCapabilities", "CIM_Capabilities", false, []string{"SynchronousMethodsSupported:uint16[]", "AsynchronousMethodsSupported:uint16[]", "DestinationHostFormatsSupported:uint16[]"}},
	{"CIM_SettingData", "CIM_ManagedElement", false, []string{"InstanceID:string:key"}},
	{"CIM_VirtualSystemMigrationSettingData", "CIM_SettingData", false, []string{"MigrationType:uint16", "Priority:uint16", "Bandwidth:uint16", "BandwidthUnit:string", "TransportType:uint16", "OtherTransportType:string"}},
	{"Msvm_VirtualSystemMigrationSettingData", "CIM_VirtualSystemMigrationSettingData", false, nil},
	{"VSMIG_VirtualSystemMigrationSettingData", "CIM_VirtualSystemMigrationSettingData", false, []string{"StorageCopy:uint16", "RemoveSourceStorage:boolean"}},
	{"CIM_VirtualSystemSettingData", "CIM_SettingData", false, []string{"VirtualSystemIdentifier:string", "VirtualSystemType:string"}},
	{"CIM_ResourceAllocationSettingData", "CIM_SettingData", false, []string{"ResourceType:uint16", "VirtualQuantity:uint64", "AllocationUnits:string", "Reservation:uint64", "HostResource:string[]", "AddressOnParent:string"}},
	{"CIM_StorageAllocationSettingData", "CIM_ResourceAllocationSettingData", false, []string{"HostExtentName:string"}},
	{"CIM_Job", "CIM_LogicalElement", false, []string{"JobStatus:string", "TimeSubmitted:datetime", "StartTime:datetime", "ElapsedTime:datetime", "Priority:uint32", "PercentComplete:uint16", "DeleteOnCompletion:boolean", "ErrorCode:uint16", "ErrorDescription:string", "Owner:string", "LocalOrUtcTime:uint16"}},
	{"CIM_ConcreteJob", "CIM_Job", false, []string{"InstanceID:string:key", "JobState:uint16", "TimeOfLastStateChange:datetime", "TimeBeforeRemoval:datetime"}},
	{"VSMIG_MigrationJob", "CIM_ConcreteJob", false, []string{"VirtualSystemName:string", "VirtualSystemIdentifier:string", "DestinationHost:string", "MigrationType:uint16", "TransportType:uint16", "DataTotal:uint64", "DataProcessed:uint64", "DataRemaining:uint64", "Iteration:uint64", "DirtyRate:uint64", "ExpectedDowntime:uint64", "Downtime:uint64", "TotalTime:datetime"}},
	{"CIM_Error", "", false, []string{"ErrorType:uint16", "OwningEntity:string", "MessageID:string", "Message:string", "MessageArguments:string[]", "PerceivedSeverity:uint16", "ProbableCause:uint16", "CIMStatusCode:uint32", "CIMStatusCodeDescription:string", "ErrorSource:string", "ErrorSourceFormat:uint16"}},
	{"CIM_RegisteredProfile", "CIM_ManagedElement", false, []string{"InstanceID:string:key", "RegisteredOrganization:uint16", "RegisteredName:string", "RegisteredVersion:string", "AdvertiseTypes:uint16[]", "AdvertiseTypeDescriptions:string[]"}},
	{"CIM_HostedService", "", true, []string{"Antecedent:ref:CIM_System:key", "Dependent:ref:CIM_Service:key"}},
	{"CIM_ServiceAffectsElement", "", true, []string{"AffectedElement:ref:CIM_ManagedElement:key", "AffectingElement:ref:CIM_Service:key", "ElementEffects:uint16[]"}},
	{"CIM_ElementCapabilities", "", true, []string{"ManagedElement:ref:CIM_ManagedElement:key", "Capabilities:ref:CIM_Capabilities:key"}},
	{"CIM_SettingsDefineCapabilities", "", true, []string{"GroupComponent:ref:CIM_Capabilities:key", "PartComponent:ref:CIM_SettingData:key", "PropertyPolicy:uint16", "ValueRole:uint16", "ValueRange:uint16"}},
	{"CIM_AffectedJobElement", "", true, []string{"AffectedElement:ref:CIM_ManagedElement:key", "AffectingElement:ref:CIM_Job:key", "ElementEffects:uint16[]"}},
	{"CIM_OwningJobElement", "", true, []string{"OwningElement:ref:CIM_ManagedElement:key", "OwnedElement:ref:CIM_Job:key"}},
	{"CIM_ElementConformsToProfile", "", true, []string{"ConformantStandard:ref:CIM_RegisteredProfile:key", "ManagedElement:ref:CIM_ManagedElement:key"}},
}

// testRegistry builds the registry of testClasses.
func testRegistry(tb testing.TB) cim.Registry {
	tb.Helper()
	var cs []*cim.Class
	for _, tc := range testClasses {
		c := &cim.Class{Name: tc.name, SuperClass: tc.super, Association: tc.assoc}
		for _, spec := range tc.props {
			f := strings.Split(spec, ":")
			p := &cim.Property{Name: f[0]}
			typ := f[1]
			if strings.HasSuffix(typ, "[]") {
				p.Array, typ = true, strings.TrimSuffix(typ, "[]")
			}
			rest := f[2:]
			if typ == "ref" {
				p.Type, p.RefClass, rest = cim.Reference, f[2], f[3:]
			} else {
				t, ok := cim.ParseType(typ)
				if !ok {
					tb.Fatalf("bad type in %q", spec)
				}
				p.Type = t
			}
			p.Key = len(rest) > 0 && rest[0] == "key"
			c.Properties = append(c.Properties, p)
		}
		cs = append(cs, c)
	}
	reg, err := cim.NewRegistry(cs...)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}
