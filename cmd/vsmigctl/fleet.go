package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/wsman/client"
)

// This file holds the commands of a cluster (vsmigd with
// cluster_endpoints): hosts, place and drain. They call the vendor
// methods of VSMIG_VirtualSystemMigrationService.

const fleetService = "VSMIG_VirtualSystemMigrationService"

// hostRecord is a host of the cluster as vsmigctl shows it.
type hostRecord struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint,omitempty"`
	Status   string `json:"status"`
	Self     bool   `json:"self"`
}

// hosts lists the cluster's hosts the endpoint knows: itself and, in a
// cluster, the other members (CIM_ComputerSystem instances whose Name
// is not a VM's UUID).
func (a *app) hosts(ctx context.Context) ([]hostRecord, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, err
	}
	items, err := a.client.Enumerate(ctx, classURI("CIM_ComputerSystem"), client.EnumerateOptions{Namespace: a.ns})
	if err != nil {
		return nil, err
	}
	var out []hostRecord
	for _, it := range items {
		o := it.Object
		if o == nil || isUUID(o.Get("Name")) {
			continue
		}
		status := "ok"
		if d := o.Texts("StatusDescriptions"); len(d) > 0 && d[0] != "" {
			status = d[0]
		}
		if o.Get("OperatingStatus") == "10" {
			status = "draining"
		}
		self := o.Get("Name") == svc.Get("SystemName")
		ep := ""
		if info := o.Texts("OtherIdentifyingInfo"); len(info) > 0 {
			ep = info[0]
		}
		if self && ep == "" {
			ep = a.settings.Endpoint // the one this client reached it at
		}
		out = append(out, hostRecord{Name: o.Get("Name"), Endpoint: ep, Status: status, Self: self})
	}
	return out, nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

func hostsCommand(ctx context.Context, a *app, _ []string) error {
	hs, err := a.hosts(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(hs))
	for _, h := range hs {
		self := ""
		if h.Self {
			self = "*"
		}
		rows = append(rows, []string{h.Name + self, h.Status, h.Endpoint})
	}
	if hs == nil {
		hs = []hostRecord{}
	}
	return a.out.Table([]string{"HOST", "STATUS", "ENDPOINT"}, rows, hs)
}

// fleetService returns the service if it has the cluster's methods.
func (a *app) fleetService(ctx context.Context) (*client.Object, error) {
	svc, err := a.service(ctx)
	if err != nil {
		return nil, err
	}
	if cc := svc.Get("CreationClassName"); cc != fleetService {
		return nil, &exitError{code: 1, err: fmt.Errorf("the server's migration service is a %s, not a %s: its host is not in a cluster (vsmigd cluster_endpoints)", cc, fleetService)}
	}
	return svc, nil
}

func placeCommand(ctx context.Context, a *app, pos []string) error {
	const method = "VSMIG_PlaceVirtualSystem"
	vm, err := a.findVM(ctx, pos[0])
	if err != nil {
		return err
	}
	svc, err := a.fleetService(ctx)
	if err != nil {
		return err
	}
	out, err := a.client.Invoke(ctx, classURI(fleetService), method, serviceSelectors(svc), []client.Param{
		{Name: "ComputerSystem", Ref: &client.Ref{ResourceURI: classURI("CIM_ComputerSystem"), Selectors: map[string]string{
			"CreationClassName": "CIM_ComputerSystem", "Name": vm.UUID, "__cimnamespace": a.ns}}},
	})
	if err != nil {
		return err
	}
	hosts, reasons := out.Texts("CandidateHosts"), out.Texts("CandidateReasons")
	type candidate struct {
		Host   string `json:"host"`
		Fits   bool   `json:"fits"`
		Reason string `json:"reason,omitempty"`
	}
	result := struct {
		VM          string      `json:"vm"`
		Destination string      `json:"destination,omitempty"`
		Candidates  []candidate `json:"candidates"`
	}{VM: vm.Name, Destination: out.Get("DestinationHost"), Candidates: []candidate{}}
	fields := [][2]string{{"VM", vm.Name}, {"Destination", result.Destination}}
	for i, h := range hosts {
		r := ""
		if i < len(reasons) {
			r = reasons[i]
		}
		result.Candidates = append(result.Candidates, candidate{Host: h, Fits: r == "", Reason: r})
		v := "fits"
		if r != "" {
			v = r
		}
		fields = append(fields, [2]string{"  " + h, v})
	}
	if rv := out.Get("ReturnValue"); rv != "0" {
		if a.json {
			a.out.Record(nil, result)
		}
		return refused(method, out)
	}
	return a.out.Record(fields, result)
}

// drainPlanRow is one VM of a drain plan.
type drainPlanRow struct {
	VM          string `json:"vm"`
	UUID        string `json:"uuid"`
	Destination string `json:"destination,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func drainCommand(ctx context.Context, a *app, pos []string, dryRun, wait bool) error {
	const method = "VSMIG_DrainHost"
	host := pos[0]
	svc, err := a.fleetService(ctx)
	if err != nil {
		return err
	}
	if !strings.EqualFold(svc.Get("SystemName"), host) {
		// The drain runs on the host's own vsmigd: go there.
		if err := a.switchTo(ctx, host); err != nil {
			return err
		}
		if svc, err = a.fleetService(ctx); err != nil {
			return err
		}
	}
	params := []client.Param{{Name: "HostName", Text: host}, {Name: "DryRun", Text: fmt.Sprint(dryRun)}}
	out, err := a.client.Invoke(ctx, classURI(fleetService), method, serviceSelectors(svc), params)
	if err != nil {
		return err
	}
	rv := out.Get("ReturnValue")
	if rv != "0" && rv != "4096" {
		return refused(method, out)
	}
	vms, names, dests, reasons := out.Texts("VirtualSystems"), out.Texts("VirtualSystemNames"), out.Texts("Destinations"), out.Texts("Reasons")
	plan := []drainPlanRow{}
	var rows [][]string
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	for i := range vms {
		r := drainPlanRow{VM: at(names, i), UUID: vms[i], Destination: at(dests, i), Reason: at(reasons, i)}
		plan = append(plan, r)
		dest := r.Destination
		if dest == "" {
			dest = "-"
		}
		rows = append(rows, []string{r.VM, dest, r.Reason})
	}
	if dryRun {
		return a.out.Table([]string{"VM", "DESTINATION", "NOTE"}, rows, plan)
	}
	job := out.Ref("Job")
	if job == nil || job.Selectors["InstanceID"] == "" {
		return fmt.Errorf("%s returned 4096 without a Job reference", method)
	}
	id := job.Selectors["InstanceID"]
	if !wait {
		if a.json {
			return a.out.Record(nil, map[string]any{"job": id, "host": host, "plan": plan})
		}
		if err := a.out.Table([]string{"VM", "DESTINATION", "NOTE"}, rows, plan); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "drain job %s started\n", id)
		return nil
	}
	if !a.json {
		a.out.Table([]string{"VM", "DESTINATION", "NOTE"}, rows, plan)
		fmt.Fprintf(a.stdout, "drain job %s: draining %s\n", id, host)
	}
	return a.watch(ctx, id)
}

// switchTo points the client at host's endpoint, as the cluster view of
// the current endpoint gives it, with the same credentials.
func (a *app) switchTo(ctx context.Context, host string) error {
	hs, err := a.hosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if strings.EqualFold(h.Name, host) && h.Endpoint != "" {
			s := a.settings
			s.Endpoint = h.Endpoint
			c, err := client.New(client.Config{Endpoint: s.Endpoint, User: s.User, Password: s.Password,
				Fingerprint: s.Fingerprint, CAFile: s.CAFile, Insecure: s.Insecure})
			if err != nil {
				return err
			}
			a.client = c
			return nil
		}
	}
	return &exitError{code: 4, err: fmt.Errorf("host %q is not a member of this endpoint's cluster ('vsmigctl hosts' lists them)", host)}
}
