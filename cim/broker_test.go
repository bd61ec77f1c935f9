package cim_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

// The broker tests run against a hand-built model so that they depend on
// nothing but the cim core: a small class tree (systems, services, jobs,
// associations in two namespaces) and map-backed providers.

const (
	brokerNS      = "root/virtualization"
	brokerInterop = "root/interop"
)

// brokerRegistry is a minimal cim.Registry.
type brokerRegistry struct {
	classes []*cim.Class
}

func (r *brokerRegistry) Class(name string) (*cim.Class, bool) {
	for _, c := range r.classes {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return nil, false
}

func (r *brokerRegistry) Classes() []*cim.Class { return r.classes }

func (r *brokerRegistry) IsA(class, ancestor string) bool {
	for c, ok := r.Class(class); ok; c, ok = r.Class(c.SuperClass) {
		if strings.EqualFold(c.Name, ancestor) {
			return true
		}
	}
	return false
}

func (r *brokerRegistry) Descendants(name string) []*cim.Class {
	var out []*cim.Class
	for _, c := range r.classes {
		if r.IsA(c.Name, name) {
			out = append(out, c)
		}
	}
	return out
}

// add defines class name deriving from super with the extra properties and
// methods given (inherited members first, as the registry contract says).
func (r *brokerRegistry) add(name, super string, assoc bool, members ...any) *cim.Class {
	c := &cim.Class{Name: name, SuperClass: super, Association: assoc}
	if super != "" {
		sc, ok := r.Class(super)
		if !ok {
			panic("no superclass " + super)
		}
		c.Properties = slices.Clone(sc.Properties)
		c.Methods = slices.Clone(sc.Methods)
	}
	for _, m := range members {
		switch m := m.(type) {
		case *cim.Property:
			m.ClassOrigin = name
			c.Properties = append(c.Properties, m)
		case *cim.Method:
			m.ClassOrigin = name
			c.Methods = append(c.Methods, m)
		}
	}
	r.classes = append(r.classes, c)
	return c
}

func key(name string) *cim.Property { return &cim.Property{Name: name, Type: cim.String, Key: true} }
func prop(name string, t cim.Type) *cim.Property {
	return &cim.Property{Name: name, Type: t}
}
func ref(name, class string) *cim.Property {
	return &cim.Property{Name: name, Type: cim.Reference, RefClass: class, Key: true}
}

func newBrokerRegistry() *brokerRegistry {
	r := &brokerRegistry{}
	r.add("CIM_ManagedElement", "", false, prop("ElementName", cim.String))
	r.add("CIM_System", "CIM_ManagedElement", false, key("CreationClassName"), key("Name"))
	r.add("CIM_ComputerSystem", "CIM_System", false, prop("EnabledState", cim.Uint16),
		&cim.Method{Name: "RequestStateChange", ReturnType: cim.Uint32, Params: []*cim.Parameter{{Name: "RequestedState", Type: cim.Uint16, In: true}}})
	r.add("VSMIG_ComputerSystem", "CIM_ComputerSystem", false)
	r.add("CIM_Service", "CIM_ManagedElement", false,
		key("SystemCreationClassName"), key("SystemName"), key("CreationClassName"), key("Name"))
	r.add("CIM_VirtualSystemMigrationService", "CIM_Service", false,
		&cim.Method{Name: "MigrateVirtualSystemToHost", ReturnType: cim.Uint32,
			ValueMap: []string{"0", "1", "2", "3", "4", "5", "6", "..", "4096"},
			Values:   []string{"Completed", "Not Supported", "Failed", "Timeout", "Invalid Parameter", "Invalid State", "Incompatible Parameters", "DMTF Reserved", "Job Started"},
			Params: []*cim.Parameter{
				{Name: "ComputerSystem", Type: cim.Reference, RefClass: "CIM_ComputerSystem", In: true},
				{Name: "DestinationHost", Type: cim.String, In: true},
				{Name: "MigrationSettingData", Type: cim.String, In: true, EmbeddedInstance: "CIM_VirtualSystemMigrationSettingData"},
				{Name: "NewResourceSettingData", Type: cim.String, Array: true, In: true, EmbeddedInstance: "CIM_ResourceAllocationSettingData"},
				{Name: "Job", Type: cim.Reference, RefClass: "CIM_ConcreteJob", Out: true},
			}},
		&cim.Method{Name: "Ping", ReturnType: cim.Uint32,
			Params: []*cim.Parameter{{Name: "Count", Type: cim.Uint16, In: true}, {Name: "Echo", Type: cim.Uint16, Array: true, Out: true}}})
	r.add("CIM_ConcreteJob", "CIM_ManagedElement", false, key("InstanceID"), prop("JobState", cim.Uint16))
	r.add("VSMIG_MigrationJob", "CIM_ConcreteJob", false)
	r.add("CIM_VirtualSystemMigrationSettingData", "CIM_ManagedElement", false, key("InstanceID"), prop("MigrationType", cim.Uint16))
	r.add("CIM_RegisteredProfile", "CIM_ManagedElement", false, key("InstanceID"))
	r.add("CIM_Dependency", "", true, ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement"))
	r.add("CIM_HostedDependency", "CIM_Dependency", true)
	r.add("CIM_HostedService", "CIM_HostedDependency", true)
	r.add("CIM_AffectedJobElement", "", true, ref("AffectedElement", "CIM_ManagedElement"), ref("AffectingElement", "CIM_Job"))
	r.add("CIM_ElementConformsToProfile", "", true, ref("ConformantStandard", "CIM_RegisteredProfile"), ref("ManagedElement", "CIM_ManagedElement"))
	return r
}

// brokerStore is a map-backed provider of the classes it is given. It
// optionally implements the method, delete and modify interfaces.
type brokerStore struct {
	refs  []cim.ClassRef
	insts []*cim.Instance
	calls []string // method calls seen, "Method(args)"
	ret   any
	out   map[string]any
	err   error // returned by every operation when set
}

func (s *brokerStore) Classes() []cim.ClassRef { return s.refs }

func (s *brokerStore) GetInstance(_ context.Context, path cim.ObjectPath) (*cim.Instance, error) {
	if s.err != nil {
		return nil, s.err
	}
	for _, inst := range s.insts {
		if inst.Class.Name == path.ClassName && inst.Path().Equal(path) {
			return inst, nil
		}
	}
	return nil, cim.Errorf(cim.StatusNotFound, "not here")
}

func (s *brokerStore) EnumerateInstances(_ context.Context, ns, class string) ([]*cim.Instance, error) {
	if s.err != nil {
		return nil, s.err
	}
	var out []*cim.Instance
	for _, inst := range s.insts {
		if inst.Class.Name == class && inst.Namespace == ns {
			out = append(out, inst)
		}
	}
	return out, nil
}

type brokerMethodStore struct{ *brokerStore }

func (s brokerMethodStore) InvokeMethod(_ context.Context, path cim.ObjectPath, method string, in map[string]any) (any, map[string]any, error) {
	names := make([]string, 0, len(in))
	for k, v := range in {
		names = append(names, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(names)
	s.calls = append(s.calls, path.ClassName+"."+method+"("+strings.Join(names, ",")+")")
	return s.ret, s.out, s.err
}

func (s brokerMethodStore) DeleteInstance(_ context.Context, path cim.ObjectPath) error {
	s.calls = append(s.calls, "delete "+path.ClassName)
	return s.err
}

func (s brokerMethodStore) ModifyInstance(_ context.Context, inst *cim.Instance) error {
	v, _ := inst.Get("ElementName")
	s.calls = append(s.calls, fmt.Sprintf("modify %s ElementName=%v", inst.Class.Name, v))
	return s.err
}

func mustClass(t testing.TB, r cim.Registry, name string) *cim.Class {
	c, ok := r.Class(name)
	if !ok {
		t.Fatalf("no class %s", name)
	}
	return c
}

func newInst(t testing.TB, r cim.Registry, ns, class string, kv ...any) *cim.Instance {
	inst := cim.NewInstance(mustClass(t, r, class), ns)
	for i := 0; i < len(kv); i += 2 {
		if err := inst.Set(kv[i].(string), kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return inst
}

func sysPath(ns, class, ccn, name string) cim.ObjectPath {
	return cim.ObjectPath{Namespace: ns, ClassName: class, Keys: []cim.KeyBinding{{Name: "CreationClassName", Value: ccn}, {Name: "Name", Value: name}}}
}

func jobPath(ns, class, id string) cim.ObjectPath {
	return cim.ObjectPath{Namespace: ns, ClassName: class, Keys: []cim.KeyBinding{{Name: "InstanceID", Value: id}}}
}

// brokerModel is the broker under test with its stores.
type brokerModel struct {
	reg                         *brokerRegistry
	b                           *cim.Broker
	host, vms, svc, jobs, assoc *brokerStore
	svcPath                     cim.ObjectPath
}

func newBrokerModel(t testing.TB) *brokerModel {
	r := newBrokerRegistry()
	m := &brokerModel{reg: r, b: cim.NewBroker(r, nil)}
	host := newInst(t, r, brokerNS, "CIM_ComputerSystem", "CreationClassName", "CIM_ComputerSystem", "Name", "host-a", "EnabledState", uint64(2))
	vm1 := newInst(t, r, brokerNS, "VSMIG_ComputerSystem", "CreationClassName", "VSMIG_ComputerSystem", "Name", "vm-01", "ElementName", "web")
	vm2 := newInst(t, r, brokerNS, "VSMIG_ComputerSystem", "CreationClassName", "VSMIG_ComputerSystem", "Name", "vm-02", "ElementName", "db")
	svc := newInst(t, r, brokerNS, "CIM_VirtualSystemMigrationService",
		"SystemCreationClassName", "CIM_ComputerSystem", "SystemName", "host-a",
		"CreationClassName", "CIM_VirtualSystemMigrationService", "Name", "migration")
	job := newInst(t, r, brokerNS, "VSMIG_MigrationJob", "InstanceID", "vsmig:1", "JobState", uint64(4))
	prof := newInst(t, r, brokerInterop, "CIM_RegisteredProfile", "InstanceID", "DSP1081")
	m.svcPath = svc.Path()

	hostPath, vm1Path := host.Path(), vm1.Path()
	unqualified := func(p cim.ObjectPath) cim.ObjectPath { p.Namespace = ""; return p }
	m.host = &brokerStore{refs: []cim.ClassRef{{Namespace: brokerNS, Class: "CIM_ComputerSystem"}}, insts: []*cim.Instance{host}}
	m.vms = &brokerStore{refs: []cim.ClassRef{{Namespace: brokerNS, Class: "VSMIG_ComputerSystem"}}, insts: []*cim.Instance{vm1, vm2}}
	m.svc = &brokerStore{refs: []cim.ClassRef{{Namespace: brokerNS, Class: "CIM_VirtualSystemMigrationService"}}, insts: []*cim.Instance{svc}}
	m.jobs = &brokerStore{refs: []cim.ClassRef{{Namespace: brokerNS, Class: "VSMIG_MigrationJob"}, {Namespace: brokerInterop, Class: "CIM_RegisteredProfile"}}, insts: []*cim.Instance{job, prof}}
	m.assoc = &brokerStore{refs: []cim.ClassRef{
		{Namespace: brokerNS, Class: "CIM_HostedService"},
		{Namespace: brokerNS, Class: "CIM_HostedDependency"},
		{Namespace: brokerNS, Class: "CIM_AffectedJobElement"},
		{Namespace: brokerInterop, Class: "CIM_ElementConformsToProfile"},
	}, insts: []*cim.Instance{
		// unqualified references: in the association's namespace
		newInst(t, r, brokerNS, "CIM_HostedService", "Antecedent", unqualified(hostPath), "Dependent", unqualified(m.svcPath)),
		newInst(t, r, brokerNS, "CIM_HostedDependency", "Antecedent", hostPath, "Dependent", vm1Path),
		newInst(t, r, brokerNS, "CIM_HostedDependency", "Antecedent", hostPath, "Dependent", vm2.Path()),
		// a dangling reference is skipped by Associators
		newInst(t, r, brokerNS, "CIM_HostedDependency", "Antecedent", hostPath, "Dependent", sysPath(brokerNS, "VSMIG_ComputerSystem", "VSMIG_ComputerSystem", "gone")),
		// a reference naming the superclass of the job's class
		newInst(t, r, brokerNS, "CIM_AffectedJobElement", "AffectedElement", vm1Path, "AffectingElement", jobPath("", "CIM_ConcreteJob", "vsmig:1")),
		// cross-namespace
		newInst(t, r, brokerInterop, "CIM_ElementConformsToProfile", "ConformantStandard", unqualified(prof.Path()), "ManagedElement", m.svcPath),
	}}
	m.b.Register(m.host)
	m.b.Register(m.vms)
	m.b.Register(brokerMethodStore{m.svc})
	m.b.Register(brokerMethodStore{m.jobs})
	m.b.Register(m.assoc)
	return m
}
