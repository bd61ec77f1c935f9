// Package sim is a deterministic model of pre-copy live migration behind
// the migrate.Driver interface: a Cluster of simulated hosts that share
// state, so a VM really leaves one host and appears on another. vsmigd runs
// on it when no libvirt is reachable (the demo), and the engine's unit and
// scale tests run on it. Everything it reports says "simulated".
//
// Time comes from a migrate.Clock: the wall clock sped up for the demo,
// migrate.ScaledClock for fast tests, or a ManualClock a test advances for
// exact figures. Failures are injected through Fault values, never through
// switches in production code.
//
// Imports: the standard library, migrate and github.com/google/uuid.
package sim

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

// Defaults of the model.
const (
	// DefaultBandwidth is a host NIC's payload rate: 1 GbE carries about
	// 117 MB/s of migration data (engine.md §4.1).
	DefaultBandwidth = 117_000_000
	// DefaultSetupTime covers the connection and the destination QEMU's
	// start before memory moves.
	DefaultSetupTime = 200 * time.Millisecond
	// DefaultSwitchoverCost is what the downtime adds to the last dirty
	// set: vCPU stop, device state, resume and ARP announce.
	DefaultSwitchoverCost = 30 * time.Millisecond
	// DefaultFinishTime is libvirt's finish phase after the switch-over:
	// the destination persists the definition and runs the guest, then
	// the source confirms, stops its QEMU and undefines the VM, and only
	// then does the migrate call return. 1.4 s is the median the project's
	// lab measured over 20 runs (1.2-2.2 s; see LabFinishTime). It holds
	// for the demo's hosts too, as far as one can tell without a
	// production host at hand: most of the phase is the source QEMU's
	// teardown, which took as long for a KVM guest on the lab as for the
	// TCG ones (`virsh destroy` of either: 1.45-1.85 s), so it is not an
	// artefact of emulation.
	DefaultFinishTime = 1400 * time.Millisecond
	// DefaultDefineTime is the offline move of a definition (Restart).
	DefaultDefineTime = time.Second
	// DefaultShutdownTime is how long a guest takes to shut down cleanly.
	DefaultShutdownTime = 5 * time.Second
	// KeepaliveTimeout is libvirt's keepalive (interval 5 s × count 5 +
	// slack): a network cut longer than this fails the migration.
	KeepaliveTimeout = 30 * time.Second
	// HypervisorName is what Host.Hypervisor says.
	HypervisorName = "simulated"
)

// Config describes a simulated cluster.
type Config struct {
	Hosts []HostConfig
	VMs   []VMConfig
	// Clock drives the simulation; nil means the wall clock, sped up by
	// Speed when Speed > 1.
	Clock migrate.Clock
	Speed float64
	// Faults are injected into matching migrations (see Fault).
	Faults []Fault
	// Model constants; zero takes the defaults above.
	SetupTime      time.Duration
	SwitchoverCost time.Duration
	FinishTime     time.Duration
	DefineTime     time.Duration
}

// HostConfig is one simulated hypervisor host.
type HostConfig struct {
	Name      string // as used in destination URIs
	UUID      string // zero: derived from Name
	CPUModel  string
	MemoryKiB uint64
	// Bandwidth is the NIC's rate in bytes/s, shared equally by the
	// migrations leaving the host; 0 is DefaultBandwidth.
	Bandwidth uint64
	// Down makes the host unreachable (connection refused).
	Down bool
	// CPUs is the host's CPU count (0: not said).
	CPUs int
	// Networks and StoragePools the host offers; a VM that uses one the
	// destination lacks is refused (when the destination names any).
	Networks     []string
	StoragePools []string
}

// VMConfig is one simulated VM.
type VMConfig struct {
	Name      string
	UUID      string // zero: derived from Name
	Host      string
	MemoryKiB uint64
	VCPUs     int
	// DirtyRate is how fast the guest writes memory, bytes/s; WorkingSet
	// bounds what it dirties in one round (0: all of memory).
	DirtyRate  uint64
	WorkingSet uint64
	// CPUModel the guest needs; empty runs anywhere.
	CPUModel string
	// State is the run state; zero is running.
	State migrate.DomainState
	// ShutdownTime is how long a clean shutdown takes (0: the default).
	ShutdownTime time.Duration
	// Networks and StoragePools the VM uses.
	Networks     []string
	StoragePools []string
}

// FaultKind is a failure the simulator can inject.
type FaultKind int

const (
	// DestinationDies kills the destination's daemon At after the start:
	// the migration fails and the host stays down until SetDown(false).
	DestinationDies FaultKind = iota + 1
	// NetworkCut stops all traffic At after the start for Duration (0: for
	// good). A cut longer than KeepaliveTimeout fails the migration.
	NetworkCut
	// Refuse makes the destination refuse the migration at its start.
	Refuse
)

// Fault is an injected failure. It applies to the next migration started
// to Dest ("" for any) and is then used up.
type Fault struct {
	Kind     FaultKind
	Dest     string
	At       time.Duration
	Duration time.Duration
	Reason   string // for Refuse
}

// Cluster is a set of simulated hosts sharing VMs and migrations. It is safe
// for concurrent use.
type Cluster struct {
	cfg   Config
	clock migrate.Clock

	mu     sync.Mutex
	hosts  map[string]*host
	faults []Fault
	migs   map[string]*migration // active, by VM UUID
	// watches are the WatchDomains subscriptions, by host name.
	watches map[string]map[*hostWatch]struct{}
	trace   []TraceEvent
}

// TraceEvent is a migration's start or end in the cluster's trace: the
// timeline tests check the cluster's limits on.
type TraceEvent struct {
	Time   time.Time `json:"time"` // the cluster's clock
	VM     string    `json:"vm"`
	Source string    `json:"source"`
	Dest   string    `json:"dest"`
	Start  bool      `json:"start"` // false: the end
	Err    string    `json:"err,omitempty"`
}

// Trace returns every migration start and end so far, in order.
func (c *Cluster) Trace() []TraceEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]TraceEvent(nil), c.trace...)
}

// traceLocked appends an event; c.mu is held.
func (c *Cluster) traceLocked(g *migration, start bool, err error) {
	ev := TraceEvent{Time: c.clock.Now(), VM: g.plan.VM, Source: g.src.cfg.Name, Dest: g.dst.cfg.Name, Start: start}
	if err != nil {
		ev.Err = err.Error()
	}
	c.trace = append(c.trace, ev)
}

type host struct {
	cfg  HostConfig
	vms  map[string]*vm // by UUID
	down bool
}

type vm struct {
	cfg   VMConfig
	state migrate.DomainState
}

// NewCluster builds a cluster; it refuses duplicate or dangling names.
func NewCluster(cfg Config) (*Cluster, error) {
	if cfg.Clock == nil {
		cfg.Clock = migrate.ScaledClock(cfg.Speed)
	}
	cfg.SetupTime = orDefault(cfg.SetupTime, DefaultSetupTime)
	cfg.SwitchoverCost = orDefault(cfg.SwitchoverCost, DefaultSwitchoverCost)
	cfg.FinishTime = orDefault(cfg.FinishTime, DefaultFinishTime)
	cfg.DefineTime = orDefault(cfg.DefineTime, DefaultDefineTime)
	c := &Cluster{cfg: cfg, clock: cfg.Clock, hosts: make(map[string]*host), migs: make(map[string]*migration),
		faults: append([]Fault(nil), cfg.Faults...)}
	for _, h := range cfg.Hosts {
		if h.Name == "" {
			return nil, errors.New("sim: a host has no name")
		}
		if _, dup := c.hosts[h.Name]; dup {
			return nil, fmt.Errorf("sim: host %q defined twice", h.Name)
		}
		if h.UUID == "" {
			h.UUID = nameUUID("host/" + h.Name)
		}
		if h.Bandwidth == 0 {
			h.Bandwidth = DefaultBandwidth
		}
		c.hosts[h.Name] = &host{cfg: h, vms: make(map[string]*vm), down: h.Down}
	}
	for _, v := range cfg.VMs {
		if err := c.addVM(v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// nameUUID derives a stable UUID from a name, so demo inventories and
// test figures are the same on every run.
func nameUUID(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:vsmig:sim:"+name)).String()
}

// VMUUID is the UUID a VM named name gets when its config gives none.
func VMUUID(name string) string { return nameUUID("vm/" + name) }

func (c *Cluster) addVM(v VMConfig) error {
	h, ok := c.hosts[v.Host]
	if !ok {
		return fmt.Errorf("sim: VM %q on unknown host %q", v.Name, v.Host)
	}
	if v.UUID == "" {
		v.UUID = VMUUID(v.Name)
	}
	u, err := uuid.Parse(v.UUID)
	if err != nil {
		return fmt.Errorf("sim: VM %q: %w", v.Name, err)
	}
	v.UUID = u.String()
	if v.State == migrate.StateUnknown {
		v.State = migrate.StateRunning
	}
	if v.VCPUs == 0 {
		v.VCPUs = 1
	}
	if v.WorkingSet == 0 || v.WorkingSet > v.MemoryKiB*1024 {
		v.WorkingSet = v.MemoryKiB * 1024
	}
	if v.ShutdownTime == 0 {
		v.ShutdownTime = DefaultShutdownTime
	}
	for _, o := range h.vms {
		if o.cfg.UUID == v.UUID || o.cfg.Name == v.Name {
			return fmt.Errorf("sim: VM %q defined twice on %s", v.Name, v.Host)
		}
	}
	h.vms[v.UUID] = &vm{cfg: v, state: v.State}
	c.touch(h, v.UUID)
	return nil
}

// AddVM defines a VM on a host.
func (c *Cluster) AddVM(v VMConfig) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addVM(v)
}

// Host returns the driver of the named host. The host must exist.
func (c *Cluster) Host(name string) migrate.Driver {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.hosts[name]; !ok {
		panic("sim: no host " + name)
	}
	return &driver{c: c, name: name}
}

// HostNames lists the hosts in name order.
func (c *Cluster) HostNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n := range c.hosts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Clock is the cluster's clock.
func (c *Cluster) Clock() migrate.Clock { return c.clock }

// Inject adds a fault (see Fault).
func (c *Cluster) Inject(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, f)
}

// SetDown makes a host unreachable or reachable again.
func (c *Cluster) SetDown(name string, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[name]; ok {
		h.down = down
	}
}

// SetDirtyRate changes how fast a VM dirties memory, wherever it runs;
// a running migration of it feels the change from its next round.
func (c *Cluster) SetDirtyRate(vmUUID string, rate uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		if v, ok := h.vms[vmUUID]; ok {
			v.cfg.DirtyRate = rate
		}
	}
	if g, ok := c.migs[vmUUID]; ok {
		g.sync(c.clock.Now())
		g.m.dirtyRate = float64(rate)
		g.schedule()
	}
}

// Place puts copies of a VM on exactly the given hosts in the given
// states: the test's way to build what a crash can leave behind (a VM on
// both hosts, or on none).
func (c *Cluster) Place(vmUUID string, at map[string]migrate.DomainState) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var proto *vm
	for _, h := range c.hosts {
		if v, ok := h.vms[vmUUID]; ok {
			proto = v
			delete(h.vms, vmUUID)
			c.touch(h, vmUUID)
		}
	}
	if proto == nil {
		return fmt.Errorf("sim: no VM %s", vmUUID)
	}
	for name, st := range at {
		h, ok := c.hosts[name]
		if !ok {
			return fmt.Errorf("sim: no host %q", name)
		}
		cp := *proto
		cp.cfg.Host, cp.state = name, st
		h.vms[vmUUID] = &cp
		c.touch(h, vmUUID)
	}
	return nil
}

// Where lists the hosts a VM is defined on, in name order.
func (c *Cluster) Where(vmUUID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n, h := range c.hosts {
		if _, ok := h.vms[vmUUID]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Active is the number of migrations in flight.
func (c *Cluster) Active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.migs)
}

// takeFault removes and returns the first fault for a migration to dest.
func (c *Cluster) takeFault(dest string) *Fault {
	for i, f := range c.faults {
		if f.Dest == "" || f.Dest == dest {
			c.faults = append(c.faults[:i], c.faults[i+1:]...)
			return &f
		}
	}
	return nil
}

// freeKiB is the memory of h not used by running VMs or reserved by
// incoming migrations.
func (c *Cluster) freeKiB(h *host) uint64 {
	var used uint64
	for _, v := range h.vms {
		if v.state == migrate.StateRunning || v.state == migrate.StatePaused {
			used += v.cfg.MemoryKiB
		}
	}
	for _, g := range c.migs {
		if g.dst == h {
			used += g.destMemKiB()
		}
	}
	if used >= h.cfg.MemoryKiB {
		return 0
	}
	return h.cfg.MemoryKiB - used
}

// rebalance shares src's NIC equally among its active migrations.
func (c *Cluster) rebalance(src *host) {
	now := c.clock.Now()
	var active []*migration
	for _, g := range c.migs {
		if g.src == src {
			g.sync(now)
		}
	}
	for _, g := range c.migs { // sync may have ended some
		if g.src == src {
			active = append(active, g)
		}
	}
	if len(active) == 0 {
		return
	}
	share := float64(src.cfg.Bandwidth) / float64(len(active))
	for _, g := range active {
		g.bw = share
		if g.cap > 0 && g.cap < share {
			g.bw = g.cap
		}
		g.schedule()
	}
}

// Peaks returns the most migrations a trace shows running at once: in
// the whole cluster, into each destination and out of each source. An
// end and a start at the same instant count as one after the other.
func Peaks(trace []TraceEvent) (total int, in, out map[string]int) {
	evs := append([]TraceEvent(nil), trace...)
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].Time.Equal(evs[j].Time) {
			return evs[i].Time.Before(evs[j].Time)
		}
		return !evs[i].Start && evs[j].Start
	})
	in, out = map[string]int{}, map[string]int{}
	curIn, curOut, cur := map[string]int{}, map[string]int{}, 0
	for _, ev := range evs {
		d := 1
		if !ev.Start {
			d = -1
		}
		cur += d
		curIn[ev.Dest] += d
		curOut[ev.Source] += d
		total = max(total, cur)
		in[ev.Dest] = max(in[ev.Dest], curIn[ev.Dest])
		out[ev.Source] = max(out[ev.Source], curOut[ev.Source])
	}
	return total, in, out
}
