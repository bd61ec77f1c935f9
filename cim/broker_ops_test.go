package cim_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vsmig/vsmig/cim"
)

// describe names an instance by class and key values, for comparisons.
func describe(inst *cim.Instance) string {
	var sb strings.Builder
	sb.WriteString(inst.Class.Name)
	for _, k := range inst.Path().Keys {
		if p, ok := k.Value.(cim.ObjectPath); ok {
			fmt.Fprintf(&sb, " %s=%s", k.Name, p.Keys[len(p.Keys)-1].Value)
			continue
		}
		if strings.HasSuffix(k.Name, "CreationClassName") || k.Name == "SystemName" {
			continue
		}
		fmt.Fprintf(&sb, " %v", k.Value)
	}
	return sb.String()
}

func describeAll(insts []*cim.Instance) []string {
	out := make([]string, len(insts))
	for i, inst := range insts {
		out[i] = describe(inst)
	}
	return out
}

func statusOf(err error) cim.Status {
	var ce *cim.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	if err == nil {
		return cim.StatusOK
	}
	return 9999
}

func TestBrokerEnumerateInstances(t *testing.T) {
	m := newBrokerModel(t)
	tests := []struct {
		ns, class string
		want      []string
		status    cim.Status
	}{
		{brokerNS, "CIM_ComputerSystem", []string{"CIM_ComputerSystem host-a", "VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}, 0},
		{brokerNS, "cim_computersystem", []string{"CIM_ComputerSystem host-a", "VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}, 0},
		{`root\virtualization`, "CIM_System", []string{"CIM_ComputerSystem host-a", "VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}, 0},
		{brokerNS, "VSMIG_ComputerSystem", []string{"VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}, 0},
		{brokerNS, "CIM_ManagedElement", []string{"CIM_ComputerSystem host-a", "VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02",
			"CIM_VirtualSystemMigrationService migration", "VSMIG_MigrationJob vsmig:1"}, 0},
		{brokerNS, "CIM_ConcreteJob", []string{"VSMIG_MigrationJob vsmig:1"}, 0},
		{brokerNS, "CIM_RegisteredProfile", nil, 0},
		{brokerInterop, "CIM_RegisteredProfile", []string{"CIM_RegisteredProfile DSP1081"}, 0},
		{brokerNS, "CIM_HostedDependency", []string{"CIM_HostedService Antecedent=host-a Dependent=migration",
			"CIM_HostedDependency Antecedent=host-a Dependent=vm-01", "CIM_HostedDependency Antecedent=host-a Dependent=vm-02",
			"CIM_HostedDependency Antecedent=host-a Dependent=gone"}, 0},
		{brokerNS, "CIM_NoSuchClass", nil, cim.StatusInvalidClass},
		{"root/cimv2", "CIM_ComputerSystem", nil, cim.StatusInvalidNamespace},
		{"", "CIM_ComputerSystem", nil, cim.StatusInvalidNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.ns+":"+tt.class, func(t *testing.T) {
			got, err := m.b.EnumerateInstances(context.Background(), tt.ns, tt.class)
			if s := statusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if d := describeAll(got); !slices.Equal(d, tt.want) && (len(d) > 0 || len(tt.want) > 0) {
				t.Errorf("got %q\nwant %q", d, tt.want)
			}
		})
	}
}

func TestBrokerGetInstance(t *testing.T) {
	m := newBrokerModel(t)
	tests := []struct {
		name   string
		path   cim.ObjectPath
		want   string
		status cim.Status
	}{
		{"exact", sysPath(brokerNS, "VSMIG_ComputerSystem", "VSMIG_ComputerSystem", "vm-01"), "VSMIG_ComputerSystem vm-01", 0},
		{"superclass", sysPath(brokerNS, "CIM_ComputerSystem", "VSMIG_ComputerSystem", "vm-02"), "VSMIG_ComputerSystem vm-02", 0},
		{"superclass served itself", sysPath(brokerNS, "CIM_ComputerSystem", "CIM_ComputerSystem", "host-a"), "CIM_ComputerSystem host-a", 0},
		{"root class", sysPath(brokerNS, "CIM_ManagedElement", "VSMIG_ComputerSystem", "vm-01"), "VSMIG_ComputerSystem vm-01", 0},
		{"job by CIM_ConcreteJob", jobPath(brokerNS, "CIM_ConcreteJob", "vsmig:1"), "VSMIG_MigrationJob vsmig:1", 0},
		{"windows namespace", jobPath(`ROOT\Virtualization`, "cim_concretejob", "vsmig:1"), "VSMIG_MigrationJob vsmig:1", 0},
		{"subclass does not find superclass instance", sysPath(brokerNS, "VSMIG_ComputerSystem", "CIM_ComputerSystem", "host-a"), "", cim.StatusNotFound},
		{"missing", jobPath(brokerNS, "CIM_ConcreteJob", "vsmig:2"), "", cim.StatusNotFound},
		{"no provider", jobPath(brokerNS, "CIM_RegisteredProfile", "DSP1081"), "", cim.StatusNotFound},
		{"bad class", jobPath(brokerNS, "CIM_Nope", "x"), "", cim.StatusInvalidClass},
		{"bad namespace", jobPath("root/nope", "CIM_ConcreteJob", "vsmig:1"), "", cim.StatusInvalidNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.b.GetInstance(context.Background(), tt.path)
			if s := statusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if err == nil && describe(got) != tt.want {
				t.Errorf("got %s, want %s", describe(got), tt.want)
			}
		})
	}
}

func TestBrokerProviderError(t *testing.T) {
	m := newBrokerModel(t)
	cause := errors.New("libvirt gone")
	m.vms.err = cause
	_, err := m.b.EnumerateInstances(context.Background(), brokerNS, "CIM_ComputerSystem")
	if statusOf(err) != cim.StatusFailed || !errors.Is(err, cause) {
		t.Errorf("got %v, want StatusFailed wrapping the cause", err)
	}
	m.vms.err = cim.Errorf(cim.StatusAccessDenied, "no")
	_, err = m.b.GetInstance(context.Background(), sysPath(brokerNS, "CIM_ComputerSystem", "VSMIG_ComputerSystem", "vm-01"))
	if statusOf(err) != cim.StatusAccessDenied {
		t.Errorf("got %v, want the provider's status", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.vms.err = nil
	_, err = m.b.EnumerateInstances(ctx, brokerNS, "CIM_ComputerSystem")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestBrokerAssociations(t *testing.T) {
	m := newBrokerModel(t)
	host := sysPath(brokerNS, "CIM_ComputerSystem", "CIM_ComputerSystem", "host-a")
	vm1 := sysPath(brokerNS, "CIM_ComputerSystem", "VSMIG_ComputerSystem", "vm-01")
	job := jobPath(brokerNS, "CIM_ConcreteJob", "vsmig:1")
	tests := []struct {
		name                                      string
		refs                                      bool
		path                                      cim.ObjectPath
		assocClass, resultClass, role, resultRole string
		want                                      []string
		status                                    cim.Status
	}{
		{name: "associators of host", path: host,
			want: []string{"CIM_VirtualSystemMigrationService migration", "VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}},
		{name: "assoc class filter", path: host, assocClass: "CIM_HostedService",
			want: []string{"CIM_VirtualSystemMigrationService migration"}},
		{name: "result class filter", path: host, resultClass: "CIM_ComputerSystem",
			want: []string{"VSMIG_ComputerSystem vm-01", "VSMIG_ComputerSystem vm-02"}},
		{name: "role matches", path: host, role: "antecedent", resultRole: "Dependent", assocClass: "CIM_HostedService",
			want: []string{"CIM_VirtualSystemMigrationService migration"}},
		{name: "role does not match", path: host, role: "Dependent", want: nil},
		{name: "from vm: host and job via superclass ref", path: vm1,
			want: []string{"CIM_ComputerSystem host-a", "VSMIG_MigrationJob vsmig:1"}},
		{name: "from job named by superclass", path: job, want: []string{"VSMIG_ComputerSystem vm-01"}},
		{name: "cross namespace", path: m.svcPath, resultClass: "CIM_RegisteredProfile", want: []string{"CIM_RegisteredProfile DSP1081"}},
		{name: "missing source", path: jobPath(brokerNS, "CIM_ConcreteJob", "nope"), status: cim.StatusNotFound},
		{name: "bad assoc class", path: host, assocClass: "CIM_Nope", status: cim.StatusInvalidParameter},
		{name: "not an association", path: host, assocClass: "CIM_ComputerSystem", status: cim.StatusInvalidParameter},
		{name: "bad result class", path: host, resultClass: "CIM_Nope", status: cim.StatusInvalidParameter},

		{name: "references of host", refs: true, path: host, want: []string{
			"CIM_HostedService Antecedent=host-a Dependent=migration",
			"CIM_HostedDependency Antecedent=host-a Dependent=vm-01", "CIM_HostedDependency Antecedent=host-a Dependent=vm-02",
			"CIM_HostedDependency Antecedent=host-a Dependent=gone"}},
		{name: "references by class", refs: true, path: host, resultClass: "CIM_HostedService",
			want: []string{"CIM_HostedService Antecedent=host-a Dependent=migration"}},
		{name: "references by role", refs: true, path: vm1, role: "AffectedElement",
			want: []string{"CIM_AffectedJobElement AffectedElement=vm-01 AffectingElement=vsmig:1"}},
		{name: "references by wrong role", refs: true, path: vm1, role: "AffectingElement", want: nil},
		{name: "references cross namespace", refs: true, path: m.svcPath, resultClass: "CIM_ElementConformsToProfile",
			want: []string{"CIM_ElementConformsToProfile ConformantStandard=DSP1081 ManagedElement=migration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*cim.Instance
			var err error
			if tt.refs {
				got, err = m.b.References(context.Background(), tt.path, tt.resultClass, tt.role)
			} else {
				got, err = m.b.Associators(context.Background(), tt.path, tt.assocClass, tt.resultClass, tt.role, tt.resultRole)
			}
			if s := statusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if d := describeAll(got); !slices.Equal(d, tt.want) && (len(d) > 0 || len(tt.want) > 0) {
				t.Errorf("got %q\nwant %q", d, tt.want)
			}
		})
	}
}

func TestBrokerInvokeMethod(t *testing.T) {
	m := newBrokerModel(t)
	vm1 := sysPath(brokerNS, "CIM_ComputerSystem", "VSMIG_ComputerSystem", "vm-01")
	msd := newInst(t, m.reg, "", "CIM_VirtualSystemMigrationSettingData", "MigrationType", uint64(2))
	jobRef := jobPath(brokerNS, "VSMIG_MigrationJob", "vsmig:9")
	svcAsService := m.svcPath
	svcAsService.ClassName = "CIM_Service"
	tests := []struct {
		name     string
		path     cim.ObjectPath
		method   string
		in       map[string]any
		ret      any
		out      map[string]any
		wantRet  any
		wantOut  map[string]any
		wantCall string
		status   cim.Status
	}{
		{name: "ok", path: m.svcPath, method: "migratevirtualsystemtohost",
			in:  map[string]any{"computersystem": vm1, "DestinationHost": "host-b", "MigrationSettingData": msd},
			ret: uint32(4096), out: map[string]any{"job": jobRef},
			wantRet: uint64(4096), wantOut: map[string]any{"Job": jobRef},
			wantCall: "CIM_VirtualSystemMigrationService.MigrateVirtualSystemToHost(ComputerSystem=" + fmt.Sprint(vm1) + ",DestinationHost=host-b,MigrationSettingData=" + fmt.Sprint(msd) + ")"},
		{name: "unknown out parameter dropped", path: m.svcPath, method: "Ping", in: map[string]any{"Count": uint64(2)},
			ret: 0, out: map[string]any{"Echo": []int{1, 2}, "Junk": "x"},
			wantRet: uint64(0), wantOut: map[string]any{"Echo": []uint64{1, 2}},
			wantCall: "CIM_VirtualSystemMigrationService.Ping(Count=2)"},
		{name: "method named on the superclass path", path: svcAsService, method: "MigrateVirtualSystemToHost", status: cim.StatusMethodNotFound},
		{name: "no such method", path: m.svcPath, method: "Fly", status: cim.StatusMethodNotFound},
		{name: "no instance", path: jobPath(brokerNS, "CIM_ConcreteJob", "x"), method: "Fly", status: cim.StatusMethodNotFound},
		{name: "missing instance", path: sysPath(brokerNS, "CIM_ComputerSystem", "VSMIG_ComputerSystem", "nope"), method: "RequestStateChange", status: cim.StatusNotFound},
		{name: "provider without methods", path: vm1, method: "RequestStateChange", status: cim.StatusNotSupported},
		{name: "bad class", path: jobPath(brokerNS, "CIM_Nope", "x"), method: "Fly", status: cim.StatusInvalidClass},
		{name: "wrong type -> Invalid Parameter code", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"DestinationHost": uint64(3)}, wantRet: uint64(4)},
		{name: "unknown parameter -> code", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"Destination": "x"}, wantRet: uint64(4)},
		{name: "OUT parameter as input -> code", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"Job": jobRef}, wantRet: uint64(4)},
		{name: "conversion failure -> code", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"MigrationSettingData": &cim.ArgError{Text: "<INSTANCE", Err: errors.New("XML syntax error")}}, wantRet: uint64(4)},
		{name: "unparsed embedded instance -> code", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"MigrationSettingData": "<INSTANCE/>"}, wantRet: uint64(4)},
		{name: "NULL is fine", path: m.svcPath, method: "MigrateVirtualSystemToHost",
			in: map[string]any{"MigrationSettingData": nil}, ret: uint64(4096), wantRet: uint64(4096), wantOut: map[string]any{},
			wantCall: "CIM_VirtualSystemMigrationService.MigrateVirtualSystemToHost(MigrationSettingData=<nil>)"},
		{name: "no Invalid Parameter code -> error", path: m.svcPath, method: "Ping",
			in: map[string]any{"Count": "many"}, status: cim.StatusInvalidParameter},
		{name: "bad return value", path: m.svcPath, method: "Ping", ret: "x", status: cim.StatusFailed,
			wantCall: "CIM_VirtualSystemMigrationService.Ping()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.svc.calls, m.svc.ret, m.svc.out = nil, tt.ret, tt.out
			ret, out, err := m.b.InvokeMethod(context.Background(), tt.path, tt.method, tt.in)
			if s := statusOf(err); s != tt.status {
				t.Fatalf("status %d (%v), want %d", s, err, tt.status)
			}
			if ret != tt.wantRet {
				t.Errorf("ret %#v, want %#v", ret, tt.wantRet)
			}
			if fmt.Sprint(out) != fmt.Sprint(tt.wantOut) {
				t.Errorf("out %v, want %v", out, tt.wantOut)
			}
			var call string
			if len(m.svc.calls) > 0 {
				call = m.svc.calls[0]
			}
			if call != tt.wantCall {
				t.Errorf("call %q\nwant %q", call, tt.wantCall)
			}
		})
	}
}

func TestBrokerDeleteModify(t *testing.T) {
	m := newBrokerModel(t)
	ctx := context.Background()
	if err := m.b.DeleteInstance(ctx, jobPath(brokerNS, "CIM_ConcreteJob", "vsmig:1")); err != nil {
		t.Fatal(err)
	}
	if err := m.b.DeleteInstance(ctx, sysPath(brokerNS, "CIM_System", "VSMIG_ComputerSystem", "vm-01")); statusOf(err) != cim.StatusNotSupported {
		t.Errorf("delete vm: %v, want NotSupported", err)
	}
	if err := m.b.DeleteInstance(ctx, jobPath(brokerNS, "CIM_ConcreteJob", "nope")); statusOf(err) != cim.StatusNotFound {
		t.Errorf("delete missing: %v, want NotFound", err)
	}
	mod := newInst(t, m.reg, `root\virtualization`, "CIM_ConcreteJob", "InstanceID", "vsmig:1", "ElementName", "renamed")
	if err := m.b.ModifyInstance(ctx, mod); err != nil {
		t.Fatal(err)
	}
	want := []string{"delete VSMIG_MigrationJob", "modify VSMIG_MigrationJob ElementName=renamed"}
	if !slices.Equal(m.jobs.calls, want) {
		t.Errorf("calls %q, want %q", m.jobs.calls, want)
	}
	vm := newInst(t, m.reg, brokerNS, "CIM_ComputerSystem", "CreationClassName", "VSMIG_ComputerSystem", "Name", "vm-01")
	if err := m.b.ModifyInstance(ctx, vm); statusOf(err) != cim.StatusNotSupported {
		t.Errorf("modify vm: %v, want NotSupported", err)
	}
}

func TestBrokerRegisterPanics(t *testing.T) {
	for name, p := range map[string]cim.InstanceProvider{
		"duplicate":     &brokerStore{refs: []cim.ClassRef{{Namespace: "ROOT/virtualization", Class: "vsmig_computersystem"}}},
		"unknown class": &brokerStore{refs: []cim.ClassRef{{Namespace: brokerNS, Class: "CIM_Nope"}}},
		"no namespace":  &brokerStore{refs: []cim.ClassRef{{Class: "CIM_ConcreteJob"}}},
	} {
		t.Run(name, func(t *testing.T) {
			m := newBrokerModel(t)
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			m.b.Register(p)
		})
	}
}

func TestBrokerNamespaces(t *testing.T) {
	m := newBrokerModel(t)
	if got := m.b.Namespaces(); !slices.Equal(got, []string{brokerNS, brokerInterop}) {
		t.Errorf("Namespaces() = %q", got)
	}
}

func TestBrokerLogsRejectedArguments(t *testing.T) {
	var buf strings.Builder
	m := newBrokerModel(t)
	b := cim.NewBroker(m.reg, slog.New(slog.NewTextHandler(&buf, nil)))
	b.Register(brokerMethodStore{m.svc})
	ret, _, err := b.InvokeMethod(context.Background(), m.svcPath, "MigrateVirtualSystemToHost",
		map[string]any{"DestinationHost": &cim.ArgError{Text: "x", Err: errors.New("bad host")}})
	if err != nil || ret != uint64(4) {
		t.Fatalf("got %v, %v; want 4", ret, err)
	}
	if !strings.Contains(buf.String(), `problems="DestinationHost: \"x\": bad host"`) {
		t.Errorf("log does not name the problem:\n%s", buf.String())
	}
}

func TestBrokerConcurrent(t *testing.T) {
	m := newBrokerModel(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := m.b.EnumerateInstances(ctx, brokerNS, "CIM_ManagedElement"); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.b.Associators(ctx, sysPath(brokerNS, "CIM_ComputerSystem", "CIM_ComputerSystem", "host-a"), "", "", "", ""); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		if i == 0 {
			m.b.Register(&brokerStore{refs: []cim.ClassRef{{Namespace: brokerInterop, Class: "CIM_ComputerSystem"}}})
		}
	}
	wg.Wait()
}
