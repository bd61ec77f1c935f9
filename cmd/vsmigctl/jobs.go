package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vsmig/vsmig/cmd/internal/jobwatch"
	"github.com/vsmig/vsmig/wsman/client"
	"github.com/vsmig/vsmig/wsman/xsd"
)

// jobStates names CIM_ConcreteJob.JobState values (DSP1103).
var jobStates = map[string]string{
	"2": "new", "3": "starting", "4": "running", "5": "suspended", "6": "shutting down",
	"7": "completed", "8": "terminated", "9": "killed", "10": "exception", "11": "service", "12": "query pending",
}

// jobRecord is a job as vsmigctl shows it. The statistics come from
// vsmig's VSMIG_MigrationJob; other servers leave them empty.
type jobRecord struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	State            string `json:"state"`
	JobState         int    `json:"job_state"`
	Percent          int    `json:"percent_complete"`
	VM               string `json:"vm,omitempty"`
	Destination      string `json:"destination,omitempty"`
	Submitted        string `json:"submitted,omitempty"`
	Status           string `json:"status,omitempty"`
	ErrorCode        int    `json:"error_code,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	DataRemaining    uint64 `json:"data_remaining_bytes,omitempty"`
	DataTotal        uint64 `json:"data_total_bytes,omitempty"`
	DataProcessed    uint64 `json:"data_processed_bytes,omitempty"`
	Iteration        uint64 `json:"iteration,omitempty"`
	DirtyRate        uint64 `json:"dirty_rate_bytes_per_second,omitempty"`
	ExpectedDowntime uint64 `json:"expected_downtime_ms,omitempty"`
	Downtime         uint64 `json:"downtime_ms,omitempty"`
	// TotalTime is the migration's own time, as the hypervisor's call
	// took it (VSMIG_MigrationJob.TotalTime), in seconds: what a script
	// compares with another tool's, without the queue and the client.
	TotalTime float64 `json:"total_time_seconds,omitempty"`
	uri       string
}

func toJob(o *client.Object) jobRecord {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	u := func(name string) uint64 { n, _ := o.Uint(name); return n }
	return jobRecord{
		ID: o.Get("InstanceID"), Name: o.Get("Name"), State: jobStates[o.Get("JobState")],
		JobState: atoi(o.Get("JobState")), Percent: atoi(o.Get("PercentComplete")),
		VM: o.Get("VirtualSystemName"), Destination: o.Get("DestinationHost"),
		Submitted: o.Get("TimeSubmitted"), Status: o.Get("JobStatus"),
		ErrorCode: atoi(o.Get("ErrorCode")), ErrorDescription: o.Get("ErrorDescription"),
		DataRemaining: u("DataRemaining"), DataTotal: u("DataTotal"), Iteration: u("Iteration"),
		DirtyRate: u("DirtyRate"), ExpectedDowntime: u("ExpectedDowntime"), Downtime: u("Downtime"),
		DataProcessed: u("DataProcessed"), TotalTime: seconds(o.Get("TotalTime")), uri: o.URI,
	}
}

// seconds reads an interval as WS-CIM carries it (an xs:duration); 0 when
// it is absent or not one.
func seconds(s string) float64 {
	d, err := xsd.ParseDuration(s)
	if err != nil {
		return 0
	}
	return d.Seconds()
}

func (j jobRecord) terminal() bool { return j.JobState >= 7 && j.JobState <= 10 }

func (a *app) getJob(ctx context.Context, id string) (jobRecord, error) {
	o, err := a.client.Get(ctx, classURI("CIM_ConcreteJob"), map[string]string{"InstanceID": id, "__cimnamespace": a.ns})
	if err != nil {
		return jobRecord{}, err
	}
	return toJob(o), nil
}

func jobsCommand(ctx context.Context, a *app, _ []string) error {
	items, err := a.client.Enumerate(ctx, classURI("CIM_ConcreteJob"), client.EnumerateOptions{Namespace: a.ns})
	if err != nil {
		return err
	}
	jobs := []jobRecord{}
	var rows [][]string
	for _, it := range items {
		if it.Object == nil {
			continue
		}
		j := toJob(it.Object)
		jobs = append(jobs, j)
		rows = append(rows, []string{j.ID, j.VM, j.Destination, j.State, strconv.Itoa(j.Percent) + "%", j.Submitted})
	}
	return a.out.Table([]string{"ID", "VM", "DESTINATION", "STATE", "DONE", "SUBMITTED"}, rows, jobs)
}

func jobCommand(ctx context.Context, a *app, pos []string) error {
	j, err := a.getJob(ctx, pos[0])
	if err != nil {
		return err
	}
	fields := [][2]string{
		{"ID", j.ID}, {"Name", j.Name}, {"State", j.State}, {"Done", strconv.Itoa(j.Percent) + "%"},
		{"VM", j.VM}, {"Destination", j.Destination}, {"Submitted", j.Submitted}, {"Status", j.Status},
	}
	if j.ErrorCode != 0 || j.ErrorDescription != "" {
		fields = append(fields, [2]string{"Error", fmt.Sprintf("%d: %s", j.ErrorCode, j.ErrorDescription)})
	}
	if j.TotalTime > 0 {
		fields = append(fields, [2]string{"Total time", fmt.Sprintf("%.3f s", j.TotalTime)})
	}
	if j.DataProcessed > 0 {
		fields = append(fields, [2]string{"Data sent", bytesText(j.DataProcessed)})
	}
	if j.Downtime > 0 {
		fields = append(fields, [2]string{"Downtime", fmt.Sprintf("%d ms", j.Downtime)})
	}
	return a.out.Record(fields, j)
}

func watchCommand(ctx context.Context, a *app, pos []string) error {
	return a.watch(ctx, pos[0])
}

// watch follows a job to its end: a progress bar redrawn in place on a
// terminal, a line per change otherwise, and with -o json one JSON object
// per line for each change of the job (its phase included), the last one
// as it ended. The exit code says how the job ended. The job is followed by a
// subscription to its indications, and polled when the server takes none
// (cmd/internal/jobwatch).
func (a *app) watch(ctx context.Context, id string) error {
	var last string
	var lastRecord jobRecord
	show := func(o *client.Object) error {
		j := toJob(o)
		line := progressLine(j, a.tty)
		switch {
		case a.json:
			// Every change a script could act on (the phase in Status
			// too, which the progress line leaves out), one compact
			// object per line (JSON Lines).
			if j != lastRecord {
				if err := json.NewEncoder(a.stdout).Encode(j); err != nil {
					return err
				}
				lastRecord = j
			}
		case a.tty:
			fmt.Fprintf(a.stdout, "\r\033[K%s", line)
		case line != last:
			fmt.Fprintln(a.stdout, line)
		}
		last = line
		return nil
	}
	final, _, err := jobwatch.Follow(ctx, jobwatch.Config{Client: a.client, JobURI: classURI("CIM_ConcreteJob"),
		Namespace: a.ns, JobID: id, OnChange: show, NoSubscription: a.poll})
	if err != nil {
		if ctx.Err() != nil {
			return a.interrupted(id, last)
		}
		return err
	}
	if a.tty && !a.json {
		fmt.Fprintln(a.stdout)
	}
	j := toJob(final)
	if j.JobState == 7 {
		return nil
	}
	msg := fmt.Sprintf("job %s ended %s", id, j.State)
	if j.ErrorDescription != "" {
		msg += ": " + j.ErrorDescription
	}
	return &exitError{code: j.JobState, err: fmt.Errorf("%s", msg)}
}

// interrupted ends a watch stopped by a signal: the job goes on, and the
// user is told how to follow or cancel it.
func (a *app) interrupted(id, last string) error {
	if a.tty && !a.json && last != "" {
		fmt.Fprintln(a.stdout)
	}
	return interrupted(id)
}

// progressLine renders a job sample: a bar on terminals, plain words otherwise.
func progressLine(j jobRecord, bar bool) string {
	var b strings.Builder
	if bar {
		const width = 30
		filled := j.Percent * width / 100
		b.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat("-", width-filled) + "] ")
	}
	fmt.Fprintf(&b, "%3d%% %s", j.Percent, j.State)
	if j.DataTotal > 0 && !j.terminal() {
		fmt.Fprintf(&b, "  remaining %s", bytesText(j.DataRemaining))
	}
	if j.Iteration > 0 {
		fmt.Fprintf(&b, "  iteration %d", j.Iteration)
	}
	if j.DirtyRate > 0 && !j.terminal() {
		fmt.Fprintf(&b, "  dirty %s/s", bytesText(j.DirtyRate))
	}
	if j.ExpectedDowntime > 0 && !j.terminal() {
		fmt.Fprintf(&b, "  expected downtime %d ms", j.ExpectedDowntime)
	}
	if j.terminal() && j.Downtime > 0 {
		fmt.Fprintf(&b, "  downtime %d ms", j.Downtime)
	}
	return b.String()
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func cancelCommand(ctx context.Context, a *app, pos []string, kill bool) error {
	j, err := a.getJob(ctx, pos[0])
	if err != nil {
		return err
	}
	state := "4"
	if kill {
		state = "5"
	}
	const method = "RequestStateChange"
	out, err := a.client.Invoke(ctx, j.uri, method, map[string]string{"InstanceID": j.ID, "__cimnamespace": a.ns},
		[]client.Param{{Name: "RequestedState", Text: state}})
	if err != nil {
		return err
	}
	switch rv := out.Get("ReturnValue"); rv {
	case "0", "4096":
		return a.out.Record([][2]string{{"Job", j.ID}, {"Result", "cancel requested"}}, map[string]string{"job": j.ID, "result": "cancel requested"})
	case "4097":
		return &exitError{code: exitFailure, err: fmt.Errorf("job %s has already ended (%s)", j.ID, j.State)}
	default:
		return &exitError{code: exitFailure, err: fmt.Errorf("%s returned %s", method, rv)}
	}
}

func errorsCommand(ctx context.Context, a *app, pos []string) error {
	j, err := a.getJob(ctx, pos[0])
	if err != nil {
		return err
	}
	out, err := a.client.Invoke(ctx, j.uri, "GetError", map[string]string{"InstanceID": j.ID, "__cimnamespace": a.ns}, nil)
	if err != nil {
		return err
	}
	if rv := out.Get("ReturnValue"); rv != "0" {
		return &exitError{code: exitFailure, err: fmt.Errorf("GetError returned %s", rv)}
	}
	props := cimxmlProperties(out.Get("Error"))
	if len(props) == 0 {
		return a.out.Record([][2]string{{"Job", j.ID}, {"Error", "none"}}, map[string]any{"job": j.ID, "error": nil})
	}
	fields := [][2]string{{"Job", j.ID}}
	for _, k := range []string{"Message", "CIMStatusCode", "ErrorType", "PerceivedSeverity", "OwningEntity", "MessageID", "ProbableCauseDescription"} {
		if v, ok := props[k]; ok {
			fields = append(fields, [2]string{k, v})
		}
	}
	return a.out.Record(fields, map[string]any{"job": j.ID, "error": props})
}

// cimxmlProperties reads the scalar properties of a CIM-XML INSTANCE.
func cimxmlProperties(text string) map[string]string {
	props := map[string]string{}
	if strings.TrimSpace(text) == "" {
		return props
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(text); err != nil || doc.Root() == nil {
		return props
	}
	for _, p := range doc.Root().SelectElements("PROPERTY") {
		if v := p.SelectElement("VALUE"); v != nil {
			props[p.SelectAttrValue("NAME", "")] = v.Text()
		}
	}
	return props
}
