package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/vsmig/vsmig/cmd/internal/clidoc"
	"github.com/vsmig/vsmig/wsman/client"
)

// migrationFlags are the MigrationSettingData a user can set.
type migrationFlags struct {
	typ          *clidoc.Choice
	transport    *clidoc.Choice
	bandwidth    uint
	priority     uint
	newName      string
	storageCopy  *clidoc.Choice
	removeSource bool
	relocate     []string // DISK=TO or TO
}

func (m *migrationFlags) register(fs *flag.FlagSet) {
	m.typ = clidoc.NewChoice(fs, "type", "live", "migration `TYPE`: live (pre-copy while it runs), resume (paused, moved, resumed) or restart (shut down, moved, started)", "live", "resume", "restart")
	m.transport = clidoc.NewChoice(fs, "transport", "", "`TRANSPORT` between the libvirt hosts: tcp, tls, tls-strict or ssh (default: the server's default_transport)", "tcp", "tls", "tls-strict", "ssh")
	fs.UintVar(&m.bandwidth, "bandwidth", 0, "bandwidth cap in `MiB/s` (0: no cap)")
	fs.UintVar(&m.priority, "priority", 0, "queue priority `N`: lower runs first (0: default)")
	fs.StringVar(&m.newName, "new-name", "", "`NAME` of the VM on the destination")
	m.storageCopy = clidoc.NewChoice(fs, "storage-copy", "", "when disks are copied: auto (the local ones), never (refuse a migration that needs a copy) or always (every disk; a shared one must be relocated) (default: auto)", "auto", "never", "always")
	fs.BoolVar(&m.removeSource, "remove-source", false, "remove the source's copy of each copied disk once the migration has completed")
	fs.Func("relocate", "put a disk elsewhere on the destination: `[DISK=]PLACE`, PLACE a storage pool, a directory or a file, DISK its target device (vda; may be left out for a VM with one disk); repeatable", func(s string) error {
		if strings.TrimSpace(s) == "" || strings.HasSuffix(s, "=") {
			return fmt.Errorf("want [DISK=]PLACE, got %q", s)
		}
		m.relocate = append(m.relocate, s)
		return nil
	})
}

var (
	migrationTypes = map[string]int{"live": 2, "resume": 3, "restart": 4}
	transportTypes = map[string]int{"ssh": 2, "tls": 3, "tls-strict": 4, "tcp": 5}
)

// settingData encodes the flags as a CIM-XML embedded
// CIM_VirtualSystemMigrationSettingData, the form WMI clients send.
func (m *migrationFlags) settingData() (string, error) {
	mt, ok := migrationTypes[m.typ.Value]
	if !ok {
		return "", usageErrorf("--type wants live, resume or restart, got %q", m.typ.Value)
	}
	var b strings.Builder
	class := "CIM_VirtualSystemMigrationSettingData"
	if m.storageCopy.Value != "" || m.removeSource {
		class = "VSMIG_VirtualSystemMigrationSettingData" // vsmig's storage choices
	}
	fmt.Fprintf(&b, `<INSTANCE CLASSNAME="%s">`, class)
	prop := func(name, typ, value string) {
		fmt.Fprintf(&b, `<PROPERTY NAME="%s" TYPE="%s"><VALUE>%s</VALUE></PROPERTY>`, name, typ, value)
	}
	prop("MigrationType", "uint16", strconv.Itoa(mt))
	if m.transport.Value != "" {
		tt, ok := transportTypes[m.transport.Value]
		if !ok {
			return "", usageErrorf("--transport wants tcp, tls, tls-strict or ssh, got %q", m.transport.Value)
		}
		prop("TransportType", "uint16", strconv.Itoa(tt))
	}
	if m.bandwidth > 0 {
		if m.bandwidth > 65535 {
			return "", usageErrorf("--bandwidth is at most 65535 MiB/s")
		}
		prop("Bandwidth", "uint16", strconv.FormatUint(uint64(m.bandwidth), 10))
		prop("BandwidthUnit", "string", "byte / second * 2^20")
	}
	if m.priority > 0 {
		prop("Priority", "uint16", strconv.FormatUint(uint64(m.priority), 10))
	}
	if v := m.storageCopy.Value; v != "" {
		sc, ok := map[string]string{"auto": "0", "never": "2", "always": "3"}[v]
		if !ok {
			return "", usageErrorf("--storage-copy wants auto, never or always, got %q", v)
		}
		prop("StorageCopy", "uint16", sc)
	}
	if m.removeSource {
		prop("RemoveSourceStorage", "boolean", "true")
	}
	b.WriteString(`</INSTANCE>`)
	return b.String(), nil
}

// resourceSettingData encodes each --relocate as an embedded
// CIM_StorageAllocationSettingData: the disk in AddressOnParent, where it
// goes in HostResource (DSP1081's NewResourceSettingData).
func (m *migrationFlags) resourceSettingData() []string {
	var out []string
	for _, r := range m.relocate {
		disk, place, ok := strings.Cut(r, "=")
		if !ok {
			disk, place = "", r
		}
		var b strings.Builder
		b.WriteString(`<INSTANCE CLASSNAME="CIM_StorageAllocationSettingData"><PROPERTY NAME="ResourceType" TYPE="uint16"><VALUE>31</VALUE></PROPERTY>`)
		if disk != "" {
			b.WriteString(`<PROPERTY NAME="AddressOnParent" TYPE="string"><VALUE>`)
			xmlEscape(&b, disk)
			b.WriteString(`</VALUE></PROPERTY>`)
		}
		b.WriteString(`<PROPERTY.ARRAY NAME="HostResource" TYPE="string"><VALUE.ARRAY><VALUE>`)
		xmlEscape(&b, place)
		b.WriteString(`</VALUE></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE>`)
		out = append(out, b.String())
	}
	return out
}

func (m *migrationFlags) systemSettingData() string {
	if m.newName == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<INSTANCE CLASSNAME="CIM_VirtualSystemSettingData"><PROPERTY NAME="ElementName" TYPE="string"><VALUE>`)
	xmlEscape(&b, m.newName)
	b.WriteString(`</VALUE></PROPERTY></INSTANCE>`)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	b.WriteString(r.Replace(s))
}

// migrationParams builds the common IN parameters of the ToHost methods.
func (a *app) migrationParams(vm vmRecord, host string, m *migrationFlags) ([]client.Param, error) {
	msd, err := m.settingData()
	if err != nil {
		return nil, err
	}
	params := []client.Param{
		{Name: "ComputerSystem", Ref: &client.Ref{ResourceURI: classURI("CIM_ComputerSystem"), Selectors: map[string]string{
			"CreationClassName": "CIM_ComputerSystem", "Name": vm.UUID, "__cimnamespace": a.ns}}},
		{Name: "DestinationHost", Text: host},
		{Name: "MigrationSettingData", Text: msd},
	}
	if s := m.systemSettingData(); s != "" {
		params = append(params, client.Param{Name: "NewSystemSettingData", Text: s})
	}
	for _, s := range m.resourceSettingData() {
		params = append(params, client.Param{Name: "NewResourceSettingData", Text: s})
	}
	return params, nil
}

// returnCodes names the DSP1081 method return values.
var returnCodes = map[string]string{
	"0": "completed", "1": "not supported", "2": "failed", "3": "timeout", "4": "invalid parameter",
	"5": "invalid state", "6": "incompatible parameters", "4096": "job started",
}

// returnMeanings say what a refusal means when the server gives no reason.
var returnMeanings = map[string]string{
	"1": "the server does not support this request (such as the migration type)",
	"2": "the server could not carry out the request; its log says why",
	"3": "a check ran out of time",
	"4": "a parameter is missing or malformed, or the VM or the destination is unknown",
	"5": "the VM is not in a state to migrate, already has a job, the queue is full or the destination does not answer",
	"6": "the destination cannot take this VM, or the settings do not fit together",
}

// refused turns a method's non-success return value into an exit error
// that says why: the message of the output's Error (an embedded CIM_Error,
// as vsmigd returns with every refusal) or else what the code means.
func refused(method string, out *client.Object) error {
	rv := out.Get("ReturnValue")
	code, err := strconv.Atoi(rv)
	if err != nil || code < 1 || code > 63 {
		code = exitFailure
	}
	why := errorMessage(out)
	if why == "" {
		why = returnMeanings[rv]
		if why == "" {
			why = "the server gave no reason"
		}
	}
	name := returnCodes[rv]
	if name == "" {
		name = "unknown return code"
	}
	return &exitError{code: code, err: fmt.Errorf("%s returned %s (%s): %s", method, rv, name, why)}
}

// errorMessage is the Message of a method output's Error parameter, the
// embedded CIM_Error in which vsmigd says why; "" when there is none.
func errorMessage(out *client.Object) string {
	return cimxmlProperties(out.Get("Error"))["Message"]
}

// invokeToHost resolves VM, finds the migration service and calls one of
// its ToHost methods with the flags' setting data; it returns the VM and the
// method's output.
func (a *app) invokeToHost(ctx context.Context, method, vmID, host string, m *migrationFlags) (vmRecord, *client.Object, error) {
	vm, err := a.findVM(ctx, vmID)
	if err != nil {
		return vm, nil, err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return vm, nil, err
	}
	params, err := a.migrationParams(vm, host, m)
	if err != nil {
		return vm, nil, err
	}
	out, err := a.client.Invoke(ctx, classURI("CIM_VirtualSystemMigrationService"), method, serviceSelectors(svc), params)
	return vm, out, err
}

func checkCommand(ctx context.Context, a *app, pos []string, m *migrationFlags) error {
	const method = "CheckVirtualSystemIsMigratableToHost"
	vm, out, err := a.invokeToHost(ctx, method, pos[0], pos[1], m)
	if err != nil {
		return err
	}
	if out.Get("ReturnValue") != "0" {
		return refused(method, out)
	}
	ok := out.Get("IsMigratable") == "true"
	result := struct {
		VM          string   `json:"vm"`
		Destination string   `json:"destination"`
		Migratable  bool     `json:"migratable"`
		Reason      string   `json:"reason,omitempty"`
		Disks       []string `json:"disks,omitempty"`
	}{VM: vm.Name, Destination: pos[1], Migratable: ok}
	answer := "yes"
	fields := [][2]string{{"VM", vm.Name}, {"Destination", pos[1]}}
	if !ok {
		answer = "no"
		// vsmigd says why in a CIM_Error; other servers may not.
		if why := errorMessage(out); why != "" {
			result.Reason = why
			answer = "no: " + why
		}
	}
	fields = append(fields, [2]string{"Migratable", answer})
	// What the migration does with each disk (vsmigd's StoragePlan).
	for i, d := range out.Texts("StoragePlan") {
		label := ""
		if i == 0 {
			label = "Disks"
		}
		fields = append(fields, [2]string{label, d})
		result.Disks = append(result.Disks, d)
	}
	if err := a.out.Record(fields, result); err != nil {
		return err
	}
	if !ok {
		return &exitError{code: exitNotMigrating, err: fmt.Errorf("%s cannot migrate to %s", vm.Name, pos[1])}
	}
	return nil
}

func migrateCommand(ctx context.Context, a *app, pos []string, m *migrationFlags, wait bool) error {
	const method = "MigrateVirtualSystemToHost"
	vm, out, err := a.invokeToHost(ctx, method, pos[0], pos[1], m)
	if err != nil {
		return err
	}
	switch out.Get("ReturnValue") {
	case "0":
		return a.out.Record([][2]string{{"VM", vm.Name}, {"Destination", pos[1]}, {"Result", "migrated"}},
			map[string]string{"vm": vm.Name, "destination": pos[1], "result": "migrated"})
	case "4096":
	default:
		return refused(method, out)
	}
	job := out.Ref("Job")
	if job == nil || job.Selectors["InstanceID"] == "" {
		return fmt.Errorf("%s returned 4096 without a Job reference", method)
	}
	id := job.Selectors["InstanceID"]
	if !wait {
		return a.out.Record([][2]string{{"Job", id}, {"VM", vm.Name}, {"Destination", pos[1]}},
			map[string]string{"job": id, "vm": vm.Name, "destination": pos[1]})
	}
	if !a.json {
		fmt.Fprintf(a.stdout, "job %s: migrating %s to %s\n", id, vm.Name, pos[1])
	}
	return a.watch(ctx, id)
}
