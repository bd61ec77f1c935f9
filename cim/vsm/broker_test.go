package vsm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/schemas"
)

// TestThroughBroker registers the providers with a cim.Broker over the
// real schema and walks the profile the way a client does: from the
// registered profile in root/interop to the service, its capabilities and
// setting data, a migration and its job.
func TestThroughBroker(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Skipf("schemas.Load: %v", err)
	}
	f := newFixture(t, nil, func(f *fixture) { f.config.Registry, f.reg = reg, reg })
	release := f.gate()
	b := cim.NewBroker(reg, nil)
	for _, pr := range f.p.Providers() {
		b.Register(pr)
	}
	ctx := context.Background()
	names := func(insts []*cim.Instance) []string {
		var out []string
		for _, in := range insts {
			out = append(out, in.Class.Name)
		}
		sort.Strings(out)
		return out
	}

	// Discovery from root/interop.
	profs, err := b.EnumerateInstances(ctx, InteropNamespace, "CIM_RegisteredProfile")
	if err != nil || len(profs) != 3 {
		t.Fatalf("registered profiles %v %v", profs, err)
	}
	var dsp1081 *cim.Instance
	for _, pr := range profs {
		if get(pr, "RegisteredName") == "Virtual System Migration" {
			dsp1081 = pr
		}
	}
	svcs, err := b.Associators(ctx, dsp1081.Path(), ClassConformsToProfile, "", "", "")
	if err != nil || len(svcs) != 1 || svcs[0].Class.Name != ClassService {
		t.Fatalf("profile -> service: %v %v", names(svcs), err)
	}
	svc := svcs[0].Path()
	caps, err := b.Associators(ctx, svc, ClassElementCapabilities, "", "", "")
	if err != nil || len(caps) != 1 {
		t.Fatalf("service -> capabilities: %v %v", names(caps), err)
	}
	msds, err := b.Associators(ctx, caps[0].Path(), ClassSettingsDefineCaps, "", "", "")
	if err != nil || len(msds) != 3 {
		t.Fatalf("capabilities -> setting data: %v %v", names(msds), err)
	}
	hosts, err := b.Associators(ctx, svc, ClassHostedService, "", "", "")
	if err != nil || len(hosts) != 1 || keyString(hosts[0].Path(), "Name") != testHost {
		t.Fatalf("service -> host: %v %v", hosts, err)
	}
	// Polymorphic enumeration of CIM_ComputerSystem: host and VMs.
	all, err := b.EnumerateInstances(ctx, DefaultNamespace, "CIM_ComputerSystem")
	if err != nil || len(all) != 5 {
		t.Fatalf("computer systems: %d %v", len(all), err)
	}
	// From a VM to its migration service (DSP1081 use case).
	vmSvcs, err := b.Associators(ctx, vmRef(vmRunning), ClassServiceAffectsElement, "", "", "")
	if err != nil || len(vmSvcs) != 1 {
		t.Fatalf("VM -> service: %v %v", names(vmSvcs), err)
	}

	// A migration through the Broker's argument checks.
	msd := f.embed(ClassSettingData, map[string]any{"MigrationType": 2, "TransportType": 5})
	ret, out, err := b.InvokeMethod(ctx, svc, MethodMigrateToHost, map[string]any{
		"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab", "MigrationSettingData": msd})
	if err != nil || ret != uint64(4096) {
		t.Fatalf("Migrate through the Broker = %v, %v", ret, err)
	}
	jobRef := out["Job"].(cim.ObjectPath)
	jobs, err := b.Associators(ctx, vmRef(vmRunning), ClassAffectedJobElement, "", "", "")
	if err != nil || len(jobs) != 1 || !jobs[0].Path().Equal(jobRef) {
		t.Fatalf("VM -> job: %v %v", jobs, err)
	}
	owned, err := b.Associators(ctx, svc, ClassOwningJobElement, "", "", "")
	if err != nil || len(owned) != 1 {
		t.Fatalf("service -> job: %v %v", names(owned), err)
	}
	// Superclass enumeration reaches the job.
	cj, err := b.EnumerateInstances(ctx, DefaultNamespace, "CIM_ConcreteJob")
	if err != nil || len(cj) != 1 {
		t.Fatalf("CIM_ConcreteJob: %v %v", names(cj), err)
	}
	// Cancel and read back.
	f.waitState(keyString(jobRef, "InstanceID"), 3)
	ret, _, err = b.InvokeMethod(ctx, jobRef, MethodRequestStateChange, map[string]any{"RequestedState": uint64(4)})
	if err != nil || ret != uint64(4096) {
		t.Fatalf("RequestStateChange = %v %v", ret, err)
	}
	release()
	f.waitState(keyString(jobRef, "InstanceID"), 8)
	ret, out, err = b.InvokeMethod(ctx, jobRef, MethodGetError, nil)
	if err != nil || ret != uint64(0) || out["Error"] != nil {
		t.Fatalf("GetError = %v %v %v", ret, out, err)
	}
	if err := b.DeleteInstance(ctx, jobRef); err != nil {
		t.Fatal(err)
	}
	// A failed job's error through the Broker.
	f.drv.set(func(d *testDriver) { d.startErr = errors.New("libvirt: connection reset") })
	ret, out, err = b.InvokeMethod(ctx, svc, MethodMigrateToHost, map[string]any{
		"ComputerSystem": vmRef(vmOther), "DestinationHost": "10.0.0.2"})
	if err != nil || ret != uint64(4096) {
		t.Fatalf("second Migrate = %v, %v", ret, err)
	}
	failed := out["Job"].(cim.ObjectPath)
	f.waitState(keyString(failed, "InstanceID"), 10)
	ret, out, err = b.InvokeMethod(ctx, failed, MethodGetError, nil)
	e, _ := out["Error"].(*cim.Instance)
	if msg, _ := get(e, "Message").(string); err != nil || ret != uint64(0) || e == nil || !strings.Contains(msg, "libvirt: connection reset") {
		t.Fatalf("GetError of a failed job = %v %v %v", ret, out, err)
	}
	var ce *cim.Error
	if err := b.DeleteInstance(ctx, jobRef); !errors.As(err, &ce) || ce.Status != cim.StatusNotFound {
		t.Fatalf("second delete: %v", err)
	}

	// A Check that fails.
	f.drv.set(func(d *testDriver) {
		d.checkErr = &migrate.CheckError{Kind: migrate.Incompatible, Reason: "no such CPU"}
	})
	ret, out, err = b.InvokeMethod(ctx, svc, MethodCheckToHost, map[string]any{
		"ComputerSystem": vmRef(vmRunning), "DestinationHost": "host2.lab"})
	if err != nil || ret != uint64(0) || out["IsMigratable"] != false {
		t.Fatalf("Check = %v %v %v", ret, out, err)
	}
}

// TestCompletedJobKeepsAffectedElement (issue #13): the job of a completed
// migration keeps its CIM_AffectedJobElement to the VM it moved. The VM
// now runs on the destination, whose vsmigd serves it under the same path
// (its keys are the UUID it keeps): the reference names it there, and
// ElementEffects says so (1 Other, "Moved to <destination>"). The
// association is there across a restart of the engine too.
func TestCompletedJobKeepsAffectedElement(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Skipf("schemas.Load: %v", err)
	}
	f := newFixture(t, nil, func(f *fixture) { f.config.Registry, f.reg = reg, reg })
	b := cim.NewBroker(reg, nil)
	for _, pr := range f.p.Providers() {
		b.Register(pr)
	}
	ctx := context.Background()
	running := f.migrate(vmRunning, "host2.lab")
	f.waitState(running, 7)
	refs, err := b.References(ctx, f.p.jobPath(running), ClassAffectedJobElement, "")
	if err != nil || len(refs) != 1 {
		t.Fatalf("references of the completed job: %v %v", refs, err)
	}
	a := refs[0]
	if got := get(a, "AffectedElement").(cim.ObjectPath); !got.Equal(vmRef(vmRunning)) {
		t.Errorf("AffectedElement %v, want the VM's path %v", got, vmRef(vmRunning))
	}
	if fmt.Sprint(get(a, "ElementEffects")) != "[1]" || fmt.Sprint(get(a, "OtherElementEffectsDescriptions")) != "[Moved to host2.lab]" {
		t.Errorf("ElementEffects %v %v, want [1] [Moved to host2.lab]", get(a, "ElementEffects"), get(a, "OtherElementEffectsDescriptions"))
	}
	// Every association of a completed job: the VM and the service.
	all, err := b.References(ctx, f.p.jobPath(running), "", "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all references of the completed job: %v %v", all, err)
	}

	// A job still running: Exclusive Use.
	release := f.gate()
	defer release()
	held := f.migrate(vmOther, "host2.lab")
	f.waitState(held, 3)
	refs, err = b.References(ctx, f.p.jobPath(held), ClassAffectedJobElement, "")
	if err != nil || len(refs) != 1 || fmt.Sprint(get(refs[0], "ElementEffects")) != "[2]" ||
		get(refs[0], "OtherElementEffectsDescriptions") != nil {
		t.Fatalf("association of a running job: %v %v", refs, err)
	}
}

// TestScopingProfiles (issue #13): a tool that discovers virtual systems
// through the standard profiles finds them. From root/interop: DSP1042
// (System Virtualization) references DSP1081 and DSP1057 (Virtual System);
// the host conforms to DSP1042 and hosts the virtual systems
// (CIM_HostedDependency); each virtual system conforms to DSP1057 and has
// its CIM_VirtualSystemSettingData (CIM_SettingsDefineState,
// CIM_ElementSettingData).
func TestScopingProfiles(t *testing.T) {
	reg, err := schemas.Load()
	if err != nil {
		t.Skipf("schemas.Load: %v", err)
	}
	f := newFixture(t, nil, func(f *fixture) { f.config.Registry, f.reg = reg, reg })
	b := cim.NewBroker(reg, nil)
	for _, pr := range f.p.Providers() {
		b.Register(pr)
	}
	ctx := context.Background()
	byName := map[string]*cim.Instance{}
	profs, err := b.EnumerateInstances(ctx, InteropNamespace, ClassProfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range profs {
		byName[get(pr, "RegisteredName").(string)] = pr
	}
	sv, vs, mig := byName["System Virtualization"], byName["Virtual System"], byName["Virtual System Migration"]
	if sv == nil || vs == nil || mig == nil || get(sv, "RegisteredVersion") != "1.0.0" || get(vs, "RegisteredOrganization") != uint64(2) {
		t.Fatalf("registered profiles %v", profs)
	}
	// DSP1042 references DSP1081 and DSP1057.
	refd, err := b.Associators(ctx, sv.Path(), ClassReferencedProfile, "", "Dependent", "Antecedent")
	if err != nil || len(refd) != 2 {
		t.Fatalf("DSP1042's referenced profiles: %v %v", refd, err)
	}
	scoping, err := b.Associators(ctx, mig.Path(), ClassReferencedProfile, "", "Antecedent", "Dependent")
	if err != nil || len(scoping) != 1 || !scoping[0].Path().Equal(sv.Path()) {
		t.Fatalf("DSP1081's scoping profile: %v %v", scoping, err)
	}
	// The host conforms to DSP1042, and hosts the virtual systems.
	hosts, err := b.Associators(ctx, sv.Path(), ClassConformsToProfile, "", "", "")
	if err != nil || len(hosts) != 1 || keyString(hosts[0].Path(), "Name") != testHost {
		t.Fatalf("DSP1042's central instance: %v %v", hosts, err)
	}
	hosted, err := b.Associators(ctx, hosts[0].Path(), ClassHostedDependency, ClassComputerSystem, "Antecedent", "Dependent")
	if err != nil || len(hosted) != 4 {
		t.Fatalf("the host's virtual systems: %d %v", len(hosted), err)
	}
	// Each virtual system conforms to DSP1057, with its settings.
	vms, err := b.Associators(ctx, vs.Path(), ClassConformsToProfile, "", "", "")
	if err != nil || len(vms) != 4 {
		t.Fatalf("DSP1057's virtual systems: %d %v", len(vms), err)
	}
	state, err := b.Associators(ctx, vmRef(vmShutoff), ClassSettingsDefineState, "", "", "")
	if err != nil || len(state) != 1 {
		t.Fatalf("the VM's state settings: %v %v", state, err)
	}
	vssd := state[0]
	if vssd.Class.Name != ClassSystemSettingData || get(vssd, "ElementName") != "db1" ||
		get(vssd, "VirtualSystemIdentifier") != vmShutoff || get(vssd, "VirtualSystemType") != "vsmig:simulated" {
		t.Errorf("VSSD %v", vssd)
	}
	esd, err := b.References(ctx, vmRef(vmShutoff), ClassElementSettingData, "")
	if err != nil || len(esd) != 1 || get(esd[0], "IsDefault") != uint64(1) || get(esd[0], "IsCurrent") != uint64(2) ||
		!get(esd[0], "SettingData").(cim.ObjectPath).Equal(vssd.Path()) {
		t.Fatalf("ElementSettingData of a shut-off VM: %v %v", esd, err)
	}
	if esd, _ := b.References(ctx, vmRef(vmRunning), ClassElementSettingData, ""); len(esd) != 1 || get(esd[0], "IsCurrent") != uint64(1) {
		t.Errorf("ElementSettingData of a running VM: %v", esd)
	}
	// Get of a VSSD, and of one that names no VM.
	if got, err := b.GetInstance(ctx, vssd.Path()); err != nil || !sameInstance(got, vssd) {
		t.Errorf("Get VSSD: %v %v", got, err)
	}
	missing := f.p.vssdPath("9b3c9c2e-1d7b-4d6e-9b3c-6c7a6d5e4f39")
	var ce *cim.Error
	if _, err := b.GetInstance(ctx, missing); !errors.As(err, &ce) || ce.Status != cim.StatusNotFound {
		t.Errorf("Get of a VSSD of no VM: %v", err)
	}
}
