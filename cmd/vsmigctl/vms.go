package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/vsmig/vsmig/cim/wscim"
	"github.com/vsmig/vsmig/wsman/client"
)

// classURI is the ResourceURI of a class (DSP0227), as the server maps it.
func classURI(class string) string { return wscim.ResourceURI(class) }

// vmRecord is one virtual machine as vsmigctl shows it.
type vmRecord struct {
	Name  string `json:"name"`
	UUID  string `json:"uuid"`
	State string `json:"state"`
	Host  string `json:"host"`
}

// enabledStates names CIM_EnabledLogicalElement.EnabledState values.
var enabledStates = map[string]string{
	"2": "running", "3": "shut off", "4": "shutting down", "6": "enabled but offline",
	"9": "paused", "10": "starting", "11": "deferred",
}

// operatingStates names the CIM_ManagedSystemElement.OperatingStatus values
// that override the enabled state in listings.
var operatingStates = map[string]string{"9": "migrating", "10": "emigrating", "11": "immigrating"}

// service returns the migration service instance (the profile's central class).
func (a *app) service(ctx context.Context) (*client.Object, error) {
	items, err := a.client.Enumerate(ctx, classURI("CIM_VirtualSystemMigrationService"), client.EnumerateOptions{Namespace: a.ns})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 || items[0].Object == nil {
		return nil, fmt.Errorf("the server has no CIM_VirtualSystemMigrationService in %s", a.ns)
	}
	return items[0].Object, nil
}

func serviceSelectors(svc *client.Object) map[string]string {
	sel := map[string]string{}
	for _, k := range []string{"CreationClassName", "Name", "SystemCreationClassName", "SystemName"} {
		sel[k] = svc.Get(k)
	}
	return sel
}

// vms lists the virtual systems of the server's host.
func (a *app) vms(ctx context.Context) ([]vmRecord, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, err
	}
	host := svc.Get("SystemName")
	items, err := a.client.Enumerate(ctx, classURI("CIM_ComputerSystem"), client.EnumerateOptions{Namespace: a.ns})
	if err != nil {
		return nil, err
	}
	var out []vmRecord
	for _, it := range items {
		o := it.Object
		if o == nil || o.Get("Name") == host || !isUUID(o.Get("Name")) {
			continue // a host: this one, or another of its cluster
		}
		state := enabledStates[o.Get("EnabledState")]
		if s, ok := operatingStates[o.Get("OperatingStatus")]; ok {
			state = s
		}
		if state == "" {
			state = "state " + o.Get("EnabledState")
		}
		out = append(out, vmRecord{Name: o.Get("ElementName"), UUID: o.Get("Name"), State: state, Host: host})
	}
	return out, nil
}

// findVM resolves a VM given by name or UUID.
func (a *app) findVM(ctx context.Context, id string) (vmRecord, error) {
	vms, err := a.vms(ctx)
	if err != nil {
		return vmRecord{}, err
	}
	for _, v := range vms {
		if strings.EqualFold(v.UUID, id) || v.Name == id {
			return v, nil
		}
	}
	return vmRecord{}, &exitError{code: 4, err: fmt.Errorf("no virtual machine %q on this host", id)}
}

func vmsCommand(ctx context.Context, a *app, _ []string) error {
	vms, err := a.vms(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(vms))
	for _, v := range vms {
		rows = append(rows, []string{v.Name, v.UUID, v.State, v.Host})
	}
	if vms == nil {
		vms = []vmRecord{}
	}
	return a.out.Table([]string{"NAME", "UUID", "STATE", "HOST"}, rows, vms)
}

func identifyCommand(ctx context.Context, a *app, _ []string) error {
	id, err := a.client.Identify(ctx)
	if err != nil {
		return err
	}
	return a.out.Record([][2]string{
		{"Protocol", id.ProtocolVersion},
		{"Vendor", id.ProductVendor},
		{"Version", id.ProductVersion},
		{"Security profiles", strings.Join(id.SecurityProfiles, ", ")},
	}, id)
}
