package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

// This file shares one simulated cluster between processes, as a real
// fleet shares its hypervisors: Handler serves a Cluster over HTTP (JSON
// requests, one POST per driver call) and Dial returns the driver of one
// of its hosts. Several vsmigd processes, each on its own host of the
// same cluster, then see VMs really leave one host and appear on another,
// and a migration goes on while the vsmigd that started it is down. It is
// for tests and demos on loopback: there is no authentication.

// remoteError is an error on the wire.
type remoteError struct {
	Text     string            `json:"text"`
	Kind     migrate.CheckKind `json:"kind,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Sentinel string            `json:"sentinel,omitempty"`
}

var sentinels = map[string]error{
	"no-domain": migrate.ErrNoDomain, "no-job": migrate.ErrNoJob,
	"unsupported": migrate.ErrUnsupported, "finished": migrate.ErrFinished,
}

func toRemote(err error) *remoteError {
	if err == nil {
		return nil
	}
	r := &remoteError{Text: err.Error()}
	var ce *migrate.CheckError
	if errors.As(err, &ce) {
		r.Kind, r.Reason = ce.Kind, ce.Reason
	}
	for name, s := range sentinels {
		if errors.Is(err, s) {
			r.Sentinel = name
		}
	}
	return r
}

func (r *remoteError) err() error {
	if r == nil {
		return nil
	}
	var base error = errors.New(r.Text)
	if s, ok := sentinels[r.Sentinel]; ok {
		base = fmt.Errorf("%s: %w", strings.TrimSuffix(r.Text, ": "+s.Error()), s)
	}
	if r.Kind != 0 {
		return &migrate.CheckError{Kind: r.Kind, Reason: r.Reason}
	}
	return base
}

// call is a request on the wire.
type call struct {
	Host     string           `json:"host,omitempty"`
	UUID     string           `json:"uuid,omitempty"`
	Plan     migrate.Plan     `json:"plan"`
	VM       migrate.Domain   `json:"vm"`
	Keep     migrate.Location `json:"keep,omitempty"`
	Handle   string           `json:"handle,omitempty"`
	Downtime time.Duration    `json:"downtime,omitempty"`
}

// reply is a response on the wire.
type reply struct {
	Err       *remoteError       `json:"err,omitempty"`
	Host      migrate.Host       `json:"host"`
	Resources migrate.Resources  `json:"resources"`
	Domains   []migrate.Domain   `json:"domains,omitempty"`
	Domain    migrate.Domain     `json:"domain"`
	Handle    string             `json:"handle,omitempty"`
	Location  migrate.Location   `json:"location,omitempty"`
	Progress  migrate.Progress   `json:"progress"`
	Done      bool               `json:"done,omitempty"`
	Result    migrate.Result     `json:"result"`
	Trace     []TraceEvent       `json:"trace,omitempty"`
	Where     map[string]string  `json:"where,omitempty"`
	Check     migrate.Assessment `json:"check"`
}

// server serves a Cluster.
type server struct {
	c       *Cluster
	mu      sync.Mutex
	handles map[string]*migration
}

// Handler serves c to the drivers Dial returns. POST /v1/trace returns
// the cluster's trace; POST /v1/where where each VM is.
func Handler(c *Cluster) http.Handler {
	s := &server{c: c, handles: map[string]*migration{}}
	return http.HandlerFunc(s.serve)
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/v1/")
	var in call
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := s.do(r.Context(), op, in)
	out.Err = toRemote(err)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *server) driver(host string) (*driver, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if _, ok := s.c.hosts[host]; !ok {
		return nil, fmt.Errorf("sim: no host %q", host)
	}
	return &driver{c: s.c, name: host}, nil
}

func (s *server) handle(id string) (*migration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.handles[id]
	if !ok {
		return nil, fmt.Errorf("sim: no migration handle %s: %w", id, migrate.ErrNoJob)
	}
	return g, nil
}

func (s *server) keep(g *migration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, h := range s.handles {
		if h == g {
			return id
		}
	}
	id := uuid.NewString()
	s.handles[id] = g
	return id
}

func (s *server) do(ctx context.Context, op string, in call) (reply, error) {
	var out reply
	var err error
	switch op {
	case "trace":
		out.Trace = s.c.Trace()
		return out, nil
	case "where":
		out.Where = map[string]string{}
		s.c.mu.Lock()
		for name, h := range s.c.hosts {
			for id := range h.vms {
				if prev, ok := out.Where[id]; ok {
					out.Where[id] = prev + "," + name
				} else {
					out.Where[id] = name
				}
			}
		}
		s.c.mu.Unlock()
		return out, nil
	case "progress", "wait", "result", "abort", "downtime", "autoconverge", "postcopy":
		g, err := s.handle(in.Handle)
		if err != nil {
			return out, err
		}
		return s.migrationOp(ctx, op, g, in)
	}
	d, err := s.driver(in.Host)
	if err != nil {
		return out, err
	}
	switch op {
	case "host":
		out.Host, err = d.Host(ctx)
	case "host-resources":
		out.Resources, err = d.HostResources(ctx)
	case "domains":
		out.Domains, err = d.Domains(ctx)
	case "domain":
		out.Domain, err = d.Domain(ctx, in.UUID)
	case "domain-resources":
		out.Resources, err = d.DomainResources(ctx, in.UUID)
	case "check":
		out.Check, err = d.Check(ctx, in.Plan, in.VM)
	case "start", "attach":
		var m migrate.Migration
		if op == "start" {
			m, err = d.Start(ctx, in.Plan)
		} else {
			m, err = d.Attach(ctx, in.Plan)
		}
		if err == nil {
			out.Handle = s.keep(m.(*migration))
		}
	case "locate":
		out.Location, err = d.Locate(ctx, in.Plan)
	case "repair":
		err = d.Repair(ctx, in.Plan, in.Keep)
	default:
		err = fmt.Errorf("sim: unknown operation %q", op)
	}
	return out, err
}

// waitPoll bounds one long poll of a migration's end.
const waitPoll = 20 * time.Second

func (s *server) migrationOp(ctx context.Context, op string, g *migration, in call) (reply, error) {
	var out reply
	var err error
	switch op {
	case "progress":
		out.Progress, err = g.Progress(ctx)
	case "wait":
		t := time.NewTimer(waitPoll)
		defer t.Stop()
		select {
		case <-g.Done():
			out.Done = true
		case <-t.C:
		case <-ctx.Done():
		}
	case "result":
		out.Result, err = g.Result()
	case "abort":
		err = g.Abort(ctx)
	case "downtime":
		err = g.SetMaxDowntime(ctx, in.Downtime)
	case "autoconverge":
		err = g.EnableAutoConverge(ctx)
	case "postcopy":
		err = g.StartPostCopy(ctx)
	}
	return out, err
}

// Remote is a client of a shared simulated cluster.
type Remote struct {
	base string
	hc   *http.Client
}

// NewRemote returns a client of the cluster Handler serves at base
// ("http://127.0.0.1:7000").
func NewRemote(base string) *Remote {
	return &Remote{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Timeout: waitPoll + 10*time.Second}}
}

// Dial returns the driver of host, after checking that the cluster has
// it.
func (r *Remote) Dial(ctx context.Context, host string) (migrate.Driver, error) {
	d := &remoteDriver{r: r, host: host}
	if _, err := d.Host(ctx); err != nil {
		return nil, fmt.Errorf("sim: %s: %w", r.base, err)
	}
	return d, nil
}

// Trace returns the cluster's trace of migrations.
func (r *Remote) Trace(ctx context.Context) ([]TraceEvent, error) {
	out, err := r.do(ctx, "trace", call{})
	return out.Trace, err
}

// Where maps each VM's UUID to the hosts it is defined on (comma
// separated).
func (r *Remote) Where(ctx context.Context) (map[string]string, error) {
	out, err := r.do(ctx, "where", call{})
	return out.Where, err
}

func (r *Remote) do(ctx context.Context, op string, in call) (reply, error) {
	var out reply
	body, err := json.Marshal(in)
	if err != nil {
		return out, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/v1/"+op, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return out, fmt.Errorf("sim: %s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("sim: %s: HTTP %s", op, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("sim: %s: %w", op, err)
	}
	return out, out.Err.err()
}

// remoteDriver is a host of a shared cluster.
type remoteDriver struct {
	r    *Remote
	host string
}

var (
	_ migrate.Driver    = (*remoteDriver)(nil)
	_ migrate.Repairer  = (*remoteDriver)(nil)
	_ migrate.Resourcer = (*remoteDriver)(nil)
)

func (d *remoteDriver) Host(ctx context.Context) (migrate.Host, error) {
	out, err := d.r.do(ctx, "host", call{Host: d.host})
	return out.Host, err
}

func (d *remoteDriver) HostResources(ctx context.Context) (migrate.Resources, error) {
	out, err := d.r.do(ctx, "host-resources", call{Host: d.host})
	return out.Resources, err
}

func (d *remoteDriver) Domains(ctx context.Context) ([]migrate.Domain, error) {
	out, err := d.r.do(ctx, "domains", call{Host: d.host})
	return out.Domains, err
}

func (d *remoteDriver) Domain(ctx context.Context, id string) (migrate.Domain, error) {
	out, err := d.r.do(ctx, "domain", call{Host: d.host, UUID: id})
	return out.Domain, err
}

func (d *remoteDriver) DomainResources(ctx context.Context, id string) (migrate.Resources, error) {
	out, err := d.r.do(ctx, "domain-resources", call{Host: d.host, UUID: id})
	return out.Resources, err
}

func (d *remoteDriver) Check(ctx context.Context, plan migrate.Plan, vm migrate.Domain) (migrate.Assessment, error) {
	out, err := d.r.do(ctx, "check", call{Host: d.host, Plan: plan, VM: vm})
	return out.Check, err
}

func (d *remoteDriver) Start(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	return d.open(ctx, "start", plan)
}

func (d *remoteDriver) Attach(ctx context.Context, plan migrate.Plan) (migrate.Migration, error) {
	return d.open(ctx, "attach", plan)
}

func (d *remoteDriver) open(ctx context.Context, op string, plan migrate.Plan) (migrate.Migration, error) {
	out, err := d.r.do(ctx, op, call{Host: d.host, Plan: plan})
	if err != nil {
		return nil, err
	}
	m := &remoteMigration{r: d.r, handle: out.Handle, done: make(chan struct{})}
	go m.waitDone()
	return m, nil
}

func (d *remoteDriver) Locate(ctx context.Context, plan migrate.Plan) (migrate.Location, error) {
	out, err := d.r.do(ctx, "locate", call{Host: d.host, Plan: plan})
	return out.Location, err
}

func (d *remoteDriver) Repair(ctx context.Context, plan migrate.Plan, keep migrate.Location) error {
	_, err := d.r.do(ctx, "repair", call{Host: d.host, Plan: plan, Keep: keep})
	return err
}

func (d *remoteDriver) Close() error { return nil }

// remoteMigration is a migration of a shared cluster; a goroutine long
// polls its end.
type remoteMigration struct {
	r      *Remote
	handle string
	done   chan struct{}
}

func (m *remoteMigration) waitDone() {
	for {
		out, err := m.r.do(context.Background(), "wait", call{Handle: m.handle})
		if err == nil && out.Done {
			close(m.done)
			return
		}
		if err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (m *remoteMigration) Progress(ctx context.Context) (migrate.Progress, error) {
	out, err := m.r.do(ctx, "progress", call{Handle: m.handle})
	return out.Progress, err
}

func (m *remoteMigration) Done() <-chan struct{} { return m.done }

func (m *remoteMigration) Result() (migrate.Result, error) {
	out, err := m.r.do(context.Background(), "result", call{Handle: m.handle})
	return out.Result, err
}

func (m *remoteMigration) Abort(ctx context.Context) error {
	_, err := m.r.do(ctx, "abort", call{Handle: m.handle})
	return err
}

func (m *remoteMigration) SetMaxDowntime(ctx context.Context, d time.Duration) error {
	_, err := m.r.do(ctx, "downtime", call{Handle: m.handle, Downtime: d})
	return err
}

func (m *remoteMigration) EnableAutoConverge(ctx context.Context) error {
	_, err := m.r.do(ctx, "autoconverge", call{Handle: m.handle})
	return err
}

func (m *remoteMigration) StartPostCopy(ctx context.Context) error {
	_, err := m.r.do(ctx, "postcopy", call{Handle: m.handle})
	return err
}
