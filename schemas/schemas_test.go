package schemas_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/schemas"
)

func mustClass(t *testing.T, reg cim.Registry, name string) *cim.Class {
	t.Helper()
	c, ok := reg.Class(name)
	if !ok {
		t.Fatalf("class %s missing", name)
	}
	return c
}

func keyNames(c *cim.Class) string {
	var names []string
	for _, k := range c.Keys() {
		names = append(names, k.Name)
	}
	return strings.Join(names, ",")
}

func TestClassesAndKeys(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		class, super, keys string
		abstract, assoc    bool
	}{
		{"CIM_ManagedElement", "", "", true, false},
		{"CIM_ManagedSystemElement", "CIM_ManagedElement", "", true, false},
		{"CIM_LogicalElement", "CIM_ManagedSystemElement", "", true, false},
		{"CIM_EnabledLogicalElement", "CIM_LogicalElement", "", true, false},
		{"CIM_System", "CIM_EnabledLogicalElement", "Name,CreationClassName", true, false},
		{"CIM_ComputerSystem", "CIM_System", "Name,CreationClassName", false, false},
		{"CIM_Service", "CIM_EnabledLogicalElement", "Name,SystemCreationClassName,SystemName,CreationClassName", true, false},
		{"CIM_VirtualSystemMigrationService", "CIM_Service", "Name,SystemCreationClassName,SystemName,CreationClassName", false, false},
		{"CIM_Capabilities", "CIM_ManagedElement", "InstanceID", true, false},
		{"CIM_VirtualSystemMigrationCapabilities", "CIM_Capabilities", "InstanceID", false, false},
		{"CIM_SettingData", "CIM_ManagedElement", "InstanceID", false, false},
		{"CIM_VirtualSystemMigrationSettingData", "CIM_SettingData", "InstanceID", false, false},
		{"CIM_VirtualSystemSettingData", "CIM_SettingData", "InstanceID", false, false},
		{"CIM_ResourceAllocationSettingData", "CIM_SettingData", "InstanceID", false, false},
		{"CIM_Job", "CIM_LogicalElement", "", true, false},
		{"CIM_ConcreteJob", "CIM_Job", "InstanceID", false, false},
		{"VSMIG_MigrationJob", "CIM_ConcreteJob", "InstanceID", false, false},
		{"CIM_Error", "", "", false, false},
		{"CIM_RegisteredProfile", "CIM_ManagedElement", "InstanceID", false, false},
		{"CIM_Dependency", "", "Antecedent,Dependent", true, true},
		{"CIM_HostedDependency", "CIM_Dependency", "Antecedent,Dependent", false, true},
		{"CIM_HostedService", "CIM_HostedDependency", "Antecedent,Dependent", false, true},
		{"CIM_ServiceAffectsElement", "", "AffectedElement,AffectingElement", false, true},
		{"CIM_ElementCapabilities", "", "ManagedElement,Capabilities", false, true},
		{"CIM_Component", "", "GroupComponent,PartComponent", true, true},
		{"CIM_SettingsDefineCapabilities", "CIM_Component", "GroupComponent,PartComponent", false, true},
		{"CIM_AffectedJobElement", "", "AffectedElement,AffectingElement", false, true},
		{"CIM_OwningJobElement", "", "OwningElement,OwnedElement", false, true},
		{"CIM_ElementConformsToProfile", "", "ConformantStandard,ManagedElement", false, true},
		// The scoping profiles (DSP1042 System Virtualization, DSP1057
		// Virtual System; issue #13).
		{"CIM_ReferencedProfile", "CIM_Dependency", "Antecedent,Dependent", false, true},
		{"CIM_SettingsDefineState", "", "ManagedElement,SettingData", false, true},
		{"CIM_ElementSettingData", "", "ManagedElement,SettingData", false, true},
		{"CIM_Indication", "", "", true, false},
		{"CIM_InstIndication", "CIM_Indication", "", true, false},
		{"CIM_InstCreation", "CIM_InstIndication", "", false, false},
		{"CIM_InstModification", "CIM_InstIndication", "", false, false},
		{"CIM_InstDeletion", "CIM_InstIndication", "", false, false},
		{"CIM_StorageAllocationSettingData", "CIM_ResourceAllocationSettingData", "InstanceID", false, false},
		{"VSMIG_VirtualSystemMigrationSettingData", "CIM_VirtualSystemMigrationSettingData", "InstanceID", false, false},
		{"CIM_ConcreteComponent", "CIM_Component", "GroupComponent,PartComponent", false, true},
		{"VSMIG_VirtualSystemMigrationService", "CIM_VirtualSystemMigrationService", "Name,SystemCreationClassName,SystemName,CreationClassName", false, false},
		{"VSMIG_DrainJob", "CIM_ConcreteJob", "InstanceID", false, false},
	}
	for _, tt := range tests {
		c := mustClass(t, reg, tt.class)
		if c.SuperClass != tt.super || keyNames(c) != tt.keys || c.Abstract != tt.abstract || c.Association != tt.assoc {
			t.Errorf("%s: super %q keys %q abstract %t assoc %t; want %q %q %t %t",
				tt.class, c.SuperClass, keyNames(c), c.Abstract, c.Association, tt.super, tt.keys, tt.abstract, tt.assoc)
		}
	}
	if got := len(reg.Classes()); got != len(tests) {
		t.Errorf("%d classes, want %d", got, len(tests))
	}
	if p := mustClass(t, reg, "CIM_InstModification").Property("PreviousInstance"); p == nil || p.Type != cim.String {
		t.Error("CIM_InstModification.PreviousInstance")
	}
	if !reg.IsA("VSMIG_MigrationJob", "CIM_ManagedElement") || !reg.IsA("CIM_HostedService", "CIM_Dependency") {
		t.Error("IsA")
	}
}

func TestInheritance(t *testing.T) {
	reg := schemas.MustLoad()
	job := mustClass(t, reg, "VSMIG_MigrationJob")
	for _, tt := range []struct{ prop, origin string }{
		{"Caption", "CIM_ManagedElement"},
		{"OperationalStatus", "CIM_ManagedSystemElement"},
		{"Name", "CIM_ManagedSystemElement"},
		{"PercentComplete", "CIM_Job"},
		{"JobState", "CIM_ConcreteJob"},
		{"InstanceID", "CIM_ConcreteJob"},
		{"DataRemaining", "VSMIG_MigrationJob"},
	} {
		p := job.Property(tt.prop)
		if p == nil || p.ClassOrigin != tt.origin {
			t.Errorf("VSMIG_MigrationJob.%s origin = %+v, want %s", tt.prop, p, tt.origin)
		}
	}
	if p := job.Property("Name"); p.Key {
		t.Error("ConcreteJob.Name is not a key")
	}
	if p := job.Property("TimeBeforeRemoval"); !cim.ValuesEqual(p.Default, cim.IntervalOf(300e9)) {
		t.Errorf("TimeBeforeRemoval default = %v", p.Default)
	}
	for _, name := range []string{"DataTotal", "DataProcessed", "DataRemaining", "Iteration", "DirtyRate", "ExpectedDowntime", "Downtime"} {
		if p := job.Property(name); p == nil || p.Type != cim.Uint64 {
			t.Errorf("VSMIG_MigrationJob.%s = %+v, want uint64", name, p)
		}
	}
	if p := job.Property("TotalTime"); p == nil || p.Type != cim.DatetimeType {
		t.Errorf("TotalTime = %+v", p)
	}
	if m := job.Method("GetError"); m == nil || m.ClassOrigin != "CIM_ConcreteJob" {
		t.Errorf("GetError = %+v", m)
	} else if p := m.Param("Error"); p == nil || p.In || !p.Out || p.EmbeddedInstance != "CIM_Error" || p.Type != cim.String {
		t.Errorf("GetError.Error = %+v", p)
	}
	if m := job.Method("RequestStateChange"); m == nil || len(m.Params) != 2 || m.ClassOrigin != "CIM_ConcreteJob" {
		t.Errorf("RequestStateChange = %+v", m)
	} else if !valueMapHas(m.ValueMap, m.Values, "4097", "Invalid State Transition") {
		t.Errorf("RequestStateChange return map = %v", m.Values)
	}
	cs := mustClass(t, reg, "CIM_ComputerSystem")
	if m := cs.Method("RequestStateChange"); m == nil || m.ClassOrigin != "CIM_EnabledLogicalElement" || len(m.Params) != 3 {
		t.Errorf("ComputerSystem.RequestStateChange = %+v", m)
	}
	svc := mustClass(t, reg, "CIM_VirtualSystemMigrationService")
	if p := svc.Property("Name"); p.ClassOrigin != "CIM_ManagedSystemElement" || !p.Key {
		t.Errorf("service Name = %+v", p)
	}
}

func valueMapHas(vm, vs []string, key, value string) bool {
	if len(vm) != len(vs) {
		return false
	}
	for i := range vm {
		if vm[i] == key {
			return vs[i] == value
		}
	}
	return false
}

func TestValueMaps(t *testing.T) {
	reg := schemas.MustLoad()
	for _, c := range reg.Classes() {
		for _, p := range c.Properties {
			if len(p.ValueMap) != len(p.Values) && p.Values != nil {
				t.Errorf("%s.%s: %d ValueMap entries, %d Values", c.Name, p.Name, len(p.ValueMap), len(p.Values))
			}
		}
		for _, m := range c.Methods {
			if len(m.ValueMap) != len(m.Values) {
				t.Errorf("%s.%s(): %d ValueMap entries, %d Values", c.Name, m.Name, len(m.ValueMap), len(m.Values))
			}
			for _, p := range m.Params {
				if len(p.ValueMap) != len(p.Values) {
					t.Errorf("%s.%s(%s): %d ValueMap entries, %d Values", c.Name, m.Name, p.Name, len(p.ValueMap), len(p.Values))
				}
			}
		}
	}
	tests := []struct {
		class, prop, key, value string
	}{
		{"CIM_ComputerSystem", "OperatingStatus", "9", "Migrating"},
		{"CIM_ComputerSystem", "OperatingStatus", "10", "Emigrating"},
		{"CIM_ComputerSystem", "OperatingStatus", "11", "Immigrating"},
		{"CIM_ComputerSystem", "OperatingStatus", "16", "In Service"},
		{"CIM_ConcreteJob", "OperationalStatus", "17", "Completed"},
		{"CIM_ConcreteJob", "JobState", "10", "Exception"},
		{"CIM_ConcreteJob", "JobState", "7", "Completed"},
		{"CIM_VirtualSystemMigrationSettingData", "MigrationType", "2", "Live"},
		{"CIM_VirtualSystemMigrationSettingData", "MigrationType", "4", "Restart"},
		{"CIM_VirtualSystemMigrationSettingData", "TransportType", "4", "TLS Strict"},
		{"CIM_VirtualSystemMigrationSettingData", "TransportType", "6", "IPC"},
		{"CIM_VirtualSystemMigrationCapabilities", "AsynchronousMethodsSupported", "2", "MigrateVirtualSystemToHostSupported"},
		{"CIM_VirtualSystemMigrationCapabilities", "SynchronousMethodsSupported", "5", "CheckVirtualSystemIsMigratableToSystemSupported"},
		{"CIM_VirtualSystemMigrationCapabilities", "DestinationHostFormatsSupported", "4", "IPv6TextFormatSupported"},
		{"CIM_AffectedJobElement", "ElementEffects", "5", "Create"},
		{"CIM_RegisteredProfile", "RegisteredOrganization", "2", "DMTF"},
		{"CIM_Error", "PerceivedSeverity", "7", "Fatal/NonRecoverable"},
		{"CIM_Error", "CIMStatusCode", "4", "CIM_ERR_INVALID_PARAMETER"},
		{"CIM_Error", "ProbableCause", "130", "Unexpected Information"},
		{"CIM_SettingsDefineCapabilities", "ValueRole", "0", "Default"},
		{"CIM_ResourceAllocationSettingData", "ResourceType", "17", "Disk Drive"},
	}
	for _, tt := range tests {
		p := mustClass(t, reg, tt.class).Property(tt.prop)
		if p == nil || !valueMapHas(p.ValueMap, p.Values, tt.key, tt.value) {
			t.Errorf("%s.%s[%s] is not %q: %+v", tt.class, tt.prop, tt.key, tt.value, p)
		}
	}
}

func TestMigrationMethods(t *testing.T) {
	reg := schemas.MustLoad()
	svc := mustClass(t, reg, "CIM_VirtualSystemMigrationService")
	type param struct {
		name, ref, embedded string
		typ                 cim.Type
		array, in, out      bool
	}
	cs := param{"ComputerSystem", "CIM_ComputerSystem", "", cim.Reference, false, true, false}
	host := param{"DestinationHost", "", "", cim.String, false, true, false}
	sys := param{"DestinationSystem", "CIM_System", "", cim.Reference, false, true, false}
	msd := param{"MigrationSettingData", "", "CIM_VirtualSystemMigrationSettingData", cim.String, false, true, false}
	vssd := param{"NewSystemSettingData", "", "CIM_VirtualSystemSettingData", cim.String, false, true, false}
	rasd := param{"NewResourceSettingData", "", "CIM_ResourceAllocationSettingData", cim.String, true, true, false}
	job := param{"Job", "CIM_ConcreteJob", "", cim.Reference, false, false, true}
	ok := param{"IsMigratable", "", "", cim.Boolean, false, false, true}
	newCS := param{"NewComputerSystem", "CIM_ComputerSystem", "", cim.Reference, false, false, true}
	// vsmig's extension: why IsMigratable is false, why a Migrate was
	// refused.
	why := param{"Error", "", "CIM_Error", cim.String, false, false, true}
	disks := param{"StoragePlan", "", "", cim.String, true, false, true}
	tests := []struct {
		method string
		params []param
		async  bool
	}{
		{"MigrateVirtualSystemToHost", []param{cs, host, msd, vssd, rasd, job, why}, true},
		{"MigrateVirtualSystemToSystem", []param{cs, sys, msd, vssd, rasd, newCS, job, why}, true},
		{"CheckVirtualSystemIsMigratableToHost", []param{cs, host, msd, vssd, rasd, ok, why, disks}, false},
		{"CheckVirtualSystemIsMigratableToSystem", []param{cs, sys, msd, vssd, rasd, ok, why, disks}, false},
	}
	for _, tt := range tests {
		m := svc.Method(tt.method)
		if m == nil {
			t.Errorf("no method %s", tt.method)
			continue
		}
		if m.ReturnType != cim.Uint32 || len(m.Params) != len(tt.params) {
			t.Errorf("%s: returns %s with %d params", tt.method, m.ReturnType, len(m.Params))
			continue
		}
		for i, w := range tt.params {
			p := m.Params[i]
			got := param{p.Name, p.RefClass, p.EmbeddedInstance, p.Type, p.Array, p.In, p.Out}
			if got != w {
				t.Errorf("%s param %d = %+v, want %+v", tt.method, i, got, w)
			}
		}
		for code, text := range map[string]string{"0": "Completed with No Error", "4": "Invalid Parameter", "5": "Invalid State", "6": "Incompatible Parameters"} {
			if !valueMapHas(m.ValueMap, m.Values, code, text) {
				t.Errorf("%s return %s is not %q", tt.method, code, text)
			}
		}
		if got := valueMapHas(m.ValueMap, m.Values, "4096", "Method Parameters Checked - Job Started"); got != tt.async {
			t.Errorf("%s: 4096 in return map = %t, want %t", tt.method, got, tt.async)
		}
	}
}

func TestLoadFSErrors(t *testing.T) {
	tests := []struct {
		files fstest.MapFS
		want  string
	}{
		{fstest.MapFS{"a.mof": {Data: []byte("class A {\n  strng P;\n};")}}, "a.mof:2:3"},
		{fstest.MapFS{"a.mof": {Data: []byte("class A { };")}, "b.mof": {Data: []byte("class A { };")}}, "duplicate class A"},
		{fstest.MapFS{"a.mof": {Data: []byte("class A : B { };")}}, "unknown superclass B"},
	}
	for _, tt := range tests {
		_, err := schemas.LoadFS(tt.files)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadFS error = %v, want %q", err, tt.want)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := schemas.Load(); err != nil {
			b.Fatal(err)
		}
	}
}
