package wsbind_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/indication"
	"github.com/vsmig/vsmig/cim/wsbind"
	"github.com/vsmig/vsmig/wsman"
)

// The tests drive a real wsman.Service over a small model: classes shaped
// like the DMTF ones vsmig serves (declared here, so that the tests do not
// depend on the MOF files), and map-backed providers.

const ns = "root/virtualization"

func p(name string, t cim.Type) *cim.Property { return &cim.Property{Name: name, Type: t} }
func pk(name string) *cim.Property            { return &cim.Property{Name: name, Type: cim.String, Key: true} }
func pa(name string, t cim.Type) *cim.Property {
	return &cim.Property{Name: name, Type: t, Array: true}
}
func embeddedObject(name string) *cim.Property {
	return &cim.Property{Name: name, Type: cim.String, Qualifiers: cim.Qualifiers{{Name: "EmbeddedObject", Value: true}}}
}
func pref(name, class string) *cim.Property {
	return &cim.Property{Name: name, Type: cim.Reference, RefClass: class, Key: true}
}

var migrateReturn = struct{ vm, v []string }{
	vm: []string{"0", "1", "2", "3", "4", "5", "6", "..", "4096", "4097..32767", "32768..65535"},
	v: []string{"Completed with No Error", "Not Supported", "Failed", "Timeout", "Invalid Parameter", "Invalid State",
		"Incompatible Parameters", "DMTF Reserved", "Method Parameters Checked - Job Started", "Method Reserved", "Vendor Specific"},
}

func migrateParams(dest string, out ...*cim.Parameter) []*cim.Parameter {
	ps := []*cim.Parameter{
		{Name: "ComputerSystem", Type: cim.Reference, RefClass: "CIM_ComputerSystem", In: true},
		{Name: dest, Type: cim.String, In: true},
		{Name: "MigrationSettingData", Type: cim.String, In: true, EmbeddedInstance: "CIM_VirtualSystemMigrationSettingData"},
		{Name: "NewSystemSettingData", Type: cim.String, In: true, EmbeddedInstance: "CIM_VirtualSystemSettingData"},
		{Name: "NewResourceSettingData", Type: cim.String, Array: true, In: true, EmbeddedInstance: "CIM_ResourceAllocationSettingData"},
	}
	return append(ps, out...)
}

func testRegistry(t testing.TB) cim.Registry {
	t.Helper()
	reg, err := cim.NewRegistry(
		&cim.Class{Name: "CIM_ManagedElement", Abstract: true, Properties: []*cim.Property{p("Caption", cim.String), p("ElementName", cim.String)}},
		&cim.Class{Name: "CIM_ManagedSystemElement", SuperClass: "CIM_ManagedElement", Abstract: true,
			Properties: []*cim.Property{pa("OperationalStatus", cim.Uint16), p("InstallDate", cim.DatetimeType)}},
		&cim.Class{Name: "CIM_System", SuperClass: "CIM_ManagedSystemElement", Abstract: true,
			Properties: []*cim.Property{pk("CreationClassName"), pk("Name")}},
		&cim.Class{Name: "CIM_ComputerSystem", SuperClass: "CIM_System",
			Properties: []*cim.Property{p("EnabledState", cim.Uint16), pa("Dedicated", cim.Uint16)},
			Methods: []*cim.Method{{Name: "RequestStateChange", ReturnType: cim.Uint32,
				ValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "4096"},
				Values:   []string{"Completed with No Error", "Not Supported", "Unknown or Unspecified Error", "Cannot complete within Timeout Period", "Failed", "Invalid Parameter", "In Use", "Method Parameters Checked - Job Started"},
				Params: []*cim.Parameter{
					{Name: "RequestedState", Type: cim.Uint16, In: true},
					{Name: "Job", Type: cim.Reference, RefClass: "CIM_ConcreteJob", Out: true},
					{Name: "TimeoutPeriod", Type: cim.DatetimeType, In: true},
				}}}},
		&cim.Class{Name: "VSMIG_ComputerSystem", SuperClass: "CIM_ComputerSystem"},
		&cim.Class{Name: "CIM_Service", SuperClass: "CIM_ManagedSystemElement", Abstract: true,
			Properties: []*cim.Property{pk("SystemCreationClassName"), pk("SystemName"), pk("CreationClassName"), pk("Name")}},
		&cim.Class{Name: "CIM_VirtualSystemMigrationService", SuperClass: "CIM_Service",
			Methods: []*cim.Method{
				{Name: "MigrateVirtualSystemToHost", ReturnType: cim.Uint32, ValueMap: migrateReturn.vm, Values: migrateReturn.v,
					Params: migrateParams("DestinationHost", &cim.Parameter{Name: "Job", Type: cim.Reference, RefClass: "CIM_ConcreteJob", Out: true})},
				{Name: "CheckVirtualSystemIsMigratableToHost", ReturnType: cim.Uint32, ValueMap: migrateReturn.vm[:8], Values: migrateReturn.v[:8],
					Params: migrateParams("DestinationHost", &cim.Parameter{Name: "IsMigratable", Type: cim.Boolean, Out: true})},
			}},
		&cim.Class{Name: "VSMIG_VirtualSystemMigrationService", SuperClass: "CIM_VirtualSystemMigrationService",
			Methods: []*cim.Method{{Name: "Probe", ReturnType: cim.Uint32,
				Params: []*cim.Parameter{
					{Name: "Counts", Type: cim.Uint16, Array: true, In: true},
					{Name: "When", Type: cim.DatetimeType, In: true},
					{Name: "Notes", Type: cim.String, Array: true, Out: true},
					{Name: "Setting", Type: cim.String, Out: true, EmbeddedInstance: "CIM_VirtualSystemMigrationSettingData"},
					{Name: "Took", Type: cim.DatetimeType, Out: true},
					{Name: "Nothing", Type: cim.String, Out: true},
				}}}},
		&cim.Class{Name: "CIM_SettingData", SuperClass: "CIM_ManagedElement", Abstract: true, Properties: []*cim.Property{pk("InstanceID")}},
		&cim.Class{Name: "CIM_VirtualSystemMigrationSettingData", SuperClass: "CIM_SettingData",
			Properties: []*cim.Property{p("MigrationType", cim.Uint16), p("Priority", cim.Uint16), p("TransportType", cim.Uint16)}},
		&cim.Class{Name: "CIM_VirtualSystemSettingData", SuperClass: "CIM_SettingData", Properties: []*cim.Property{p("VirtualSystemIdentifier", cim.String)}},
		&cim.Class{Name: "CIM_ResourceAllocationSettingData", SuperClass: "CIM_SettingData", Properties: []*cim.Property{p("ResourceType", cim.Uint16)}},
		&cim.Class{Name: "CIM_Job", SuperClass: "CIM_ManagedSystemElement", Abstract: true, Properties: []*cim.Property{p("JobStatus", cim.String)}},
		&cim.Class{Name: "CIM_ConcreteJob", SuperClass: "CIM_Job",
			Properties: []*cim.Property{pk("InstanceID"), p("JobState", cim.Uint16), p("TimeBeforeRemoval", cim.DatetimeType)}},
		&cim.Class{Name: "VSMIG_MigrationJob", SuperClass: "CIM_ConcreteJob", Properties: []*cim.Property{p("DestinationHost", cim.String)}},
		&cim.Class{Name: "CIM_HostedService", Association: true,
			Properties: []*cim.Property{pref("Antecedent", "CIM_System"), pref("Dependent", "CIM_Service")}},
		&cim.Class{Name: "CIM_AffectedJobElement", Association: true,
			Properties: []*cim.Property{pref("AffectedElement", "CIM_ManagedElement"), pref("AffectingElement", "CIM_Job")}},
		&cim.Class{Name: "CIM_Indication", Abstract: true, Properties: []*cim.Property{p("IndicationIdentifier", cim.String),
			pa("CorrelatedIndications", cim.String), p("IndicationTime", cim.DatetimeType), p("PerceivedSeverity", cim.Uint16),
			p("OtherSeverity", cim.String), p("IndicationFilterName", cim.String), p("SequenceContext", cim.String), p("SequenceNumber", cim.Sint64)}},
		&cim.Class{Name: "CIM_InstIndication", SuperClass: "CIM_Indication", Abstract: true, Properties: []*cim.Property{
			embeddedObject("SourceInstance"), p("SourceInstanceModelPath", cim.String), p("SourceInstanceHost", cim.String)}},
		&cim.Class{Name: "CIM_InstCreation", SuperClass: "CIM_InstIndication"},
		&cim.Class{Name: "CIM_InstModification", SuperClass: "CIM_InstIndication", Properties: []*cim.Property{embeddedObject("PreviousInstance")}},
		&cim.Class{Name: "CIM_InstDeletion", SuperClass: "CIM_InstIndication"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// store is a map-backed provider that also implements methods, delete
// and modify, recording what it was asked.
type store struct {
	mu    sync.Mutex
	refs  []cim.ClassRef
	insts []*cim.Instance
	calls []string
	ret   any
	out   map[string]any
	// deleteErr, when set, is what DeleteInstance answers.
	deleteErr error
}

func (s *store) Classes() []cim.ClassRef { return s.refs }

func (s *store) GetInstance(_ context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range s.insts {
		if inst.Class.Name == path.ClassName && inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cim.Errorf(cim.StatusNotFound, "no such instance")
}

func (s *store) EnumerateInstances(_ context.Context, ns, class string) ([]*cim.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*cim.Instance
	for _, inst := range s.insts {
		if inst.Class.Name == class {
			out = append(out, inst)
		}
	}
	return out, nil
}

func (s *store) InvokeMethod(_ context.Context, path cim.ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(in))
	for k, v := range in {
		names = append(names, k+"="+describeValue(v))
	}
	slices.Sort(names)
	s.calls = append(s.calls, method+"("+strings.Join(names, "; ")+")")
	return s.ret, s.out, nil
}

func (s *store) DeleteInstance(_ context.Context, path cim.ObjectPath) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleteErr != nil {
		return s.deleteErr
	}
	for i, inst := range s.insts {
		if inst.Path().Equal(path) {
			s.insts = slices.Delete(s.insts, i, i+1)
			s.calls = append(s.calls, "delete "+path.String())
			return nil
		}
	}
	return cim.Errorf(cim.StatusNotFound, "no such instance")
}

func (s *store) ModifyInstance(_ context.Context, mod *cim.Instance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inst := range s.insts {
		if inst.Path().Equal(mod.Path()) {
			for prop, v := range mod.Properties() {
				if v != nil {
					inst.MustSet(prop.Name, v)
				}
			}
			s.calls = append(s.calls, "modify "+mod.Path().String())
			return nil
		}
	}
	return cim.Errorf(cim.StatusNotFound, "no such instance")
}

// describeValue renders an argument for call logs: instances as MOF on one
// line, paths in their string form, slices element by element.
func describeValue(v any) string {
	switch v := v.(type) {
	case *cim.Instance:
		return strings.Join(strings.Fields(v.String()), " ")
	case []*cim.Instance:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = describeValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case cim.ObjectPath:
		return v.String()
	case nil:
		return "NULL"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// model is a Service serving the test model.
type model struct {
	reg               cim.Registry
	svc               *wsman.Service
	hosts, vms, svcs  *store
	jobs, assocs      *store
	hostPath, vm1Path cim.ObjectPath
	pub               *indication.Publisher
}

func newInstance(reg cim.Registry, class string, kv ...any) *cim.Instance {
	c, ok := reg.Class(class)
	if !ok {
		panic("no class " + class)
	}
	inst := cim.NewInstance(c, ns)
	for i := 0; i < len(kv); i += 2 {
		inst.MustSet(kv[i].(string), kv[i+1])
	}
	return inst
}

func newModel(t testing.TB, nvms int) *model {
	reg := testRegistry(t)
	m := &model{reg: reg}
	host := newInstance(reg, "CIM_ComputerSystem", "CreationClassName", "CIM_ComputerSystem", "Name", "host-a",
		"EnabledState", uint64(2), "Dedicated", []uint64{0, 2}, "ElementName", "Host <A> & \"B\"")
	m.hostPath = host.Path()
	m.hosts = &store{refs: []cim.ClassRef{{Namespace: ns, Class: "CIM_ComputerSystem"}}, insts: []*cim.Instance{host}}
	m.vms = &store{refs: []cim.ClassRef{{Namespace: ns, Class: "VSMIG_ComputerSystem"}}}
	for i := 1; i <= nvms; i++ {
		vm := newInstance(reg, "VSMIG_ComputerSystem", "CreationClassName", "VSMIG_ComputerSystem",
			"Name", fmt.Sprintf("vm-%02d", i), "ElementName", fmt.Sprintf("guest%d", i),
			"EnabledState", uint64(2+i%2), "OperationalStatus", []uint64{2})
		m.vms.insts = append(m.vms.insts, vm)
	}
	if nvms > 0 {
		m.vm1Path = m.vms.insts[0].Path()
	}
	svc := newInstance(reg, "VSMIG_VirtualSystemMigrationService", "SystemCreationClassName", "CIM_ComputerSystem",
		"SystemName", "host-a", "CreationClassName", "VSMIG_VirtualSystemMigrationService", "Name", "migration")
	m.svcs = &store{refs: []cim.ClassRef{{Namespace: ns, Class: "VSMIG_VirtualSystemMigrationService"}}, insts: []*cim.Instance{svc}}
	job := newInstance(reg, "VSMIG_MigrationJob", "InstanceID", "vsmig:5a2c9f44", "JobState", uint64(4),
		"DestinationHost", "host-b", "TimeBeforeRemoval", cim.IntervalOf(300e9))
	m.jobs = &store{refs: []cim.ClassRef{{Namespace: ns, Class: "VSMIG_MigrationJob"}}, insts: []*cim.Instance{job}}
	m.assocs = &store{refs: []cim.ClassRef{{Namespace: ns, Class: "CIM_HostedService"}, {Namespace: ns, Class: "CIM_AffectedJobElement"}},
		insts: []*cim.Instance{newInstance(reg, "CIM_HostedService", "Antecedent", host.Path(), "Dependent", svc.Path())}}
	if nvms > 0 {
		m.assocs.insts = append(m.assocs.insts, newInstance(reg, "CIM_AffectedJobElement", "AffectedElement", m.vm1Path, "AffectingElement", job.Path()))
	}

	b := cim.NewBroker(reg, nil)
	for _, s := range []*store{m.hosts, m.vms, m.svcs, m.jobs, m.assocs} {
		b.Register(s)
	}
	m.svc = wsman.NewService(wsman.Config{DuplicateMessageIDs: -1, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { m.svc.Close() })
	pub, err := indication.New(indication.Config{Registry: reg, Host: "host-a",
		Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	m.pub = wsbind.Register(m.svc, b, reg, wsbind.Options{Indications: pub})
	return m
}

func (m *model) serve(t testing.TB, req []byte) ([]byte, int) {
	t.Helper()
	return m.svc.ServeSOAP(context.Background(), wsman.Caller{User: "test"}, req)
}
