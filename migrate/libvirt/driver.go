package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

// Config says which libvirtd a Driver manages.
type Config struct {
	// URI of the libvirtd, e.g. "qemu+tcp://127.0.0.2/system" or
	// "qemu:///system". Empty means "qemu:///system".
	URI string
	// HostName is the name or address other hosts use to reach this one
	// (Host.Name). Empty means the URI's host, else libvirt's hostname.
	HostName string
	// Logger receives the driver's logs; nil discards them.
	Logger *slog.Logger
	// DestTimeout bounds connecting to a destination (Check, Locate,
	// final statistics). Zero means DefaultDestTimeout.
	DestTimeout time.Duration
	// PollInterval is how often a migration's job statistics are read
	// (on a connection of their own). Zero means DefaultPollInterval.
	PollInterval time.Duration
}

const (
	// DefaultDestTimeout is short: an unreachable destination should fail
	// a check quickly, and a reachable one answers in milliseconds.
	DefaultDestTimeout = 5 * time.Second
	// DefaultPollInterval gives the engine fresh samples well over twice
	// a second; the call costs about a millisecond of libvirtd time.
	DefaultPollInterval = 100 * time.Millisecond
	// DefaultShutdownTimeout bounds a Restart migration's clean shutdown
	// when the plan leaves it zero.
	DefaultShutdownTimeout = 2 * time.Minute
)

// Driver is a migrate.Driver for one libvirtd. It is safe for concurrent
// use.
type Driver struct {
	cfg  Config
	log  *slog.Logger
	open opener
	// openEvents opens a migration's events connection, tapped for the
	// JOB_COMPLETED events go-libvirt cannot decode (tap.go).
	openEvents func(jobCompletedHook) opener
	main       *conn // inventory, job statistics, abort, tuning

	mu       sync.Mutex
	closed   bool
	active   map[*migration]struct{}
	hostUUID string // this host's UUID, once read
	// probes are the storage directories of destinations probed lately,
	// by destination URI and directory (probe.go).
	probes map[string]dirProbe
}

func (d *Driver) cachedHostUUID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hostUUID
}

func (d *Driver) cacheHostUUID(u string) {
	d.mu.Lock()
	d.hostUUID = u
	d.mu.Unlock()
}

var _ migrate.Driver = (*Driver)(nil)

// New connects to the libvirtd at cfg.URI.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	d, err := newDriver(ctx, cfg, openLibvirt)
	if err == nil {
		d.openEvents = tappedOpener
	}
	return d, err
}

func newDriver(ctx context.Context, cfg Config, open opener) (*Driver, error) {
	if cfg.URI == "" {
		cfg.URI = "qemu:///system"
	}
	if cfg.DestTimeout <= 0 {
		cfg.DestTimeout = DefaultDestTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	u, err := url.Parse(cfg.URI)
	if err != nil {
		return nil, fmt.Errorf("libvirt: URI %q: %w", cfg.URI, err)
	}
	if cfg.HostName == "" {
		cfg.HostName = u.Hostname()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		cfg:        cfg,
		log:        log.With("driver", "libvirt", "uri", cfg.URI),
		open:       open,
		openEvents: func(jobCompletedHook) opener { return open },
		main:       &conn{uri: cfg.URI, open: open},
		active:     make(map[*migration]struct{}),
	}
	if _, err := d.main.get(ctx); err != nil {
		return nil, fmt.Errorf("libvirt: %w", err)
	}
	if d.cfg.HostName == "" {
		name, err := call(ctx, d.main, "ConnectGetHostname", func(h hypervisor) (string, error) {
			return h.ConnectGetHostname()
		})
		if err != nil {
			d.main.close()
			return nil, err
		}
		d.cfg.HostName = name
	}
	return d, nil
}

// URI returns the URI of the libvirtd this driver manages.
func (d *Driver) URI() string { return d.cfg.URI }

// Host returns facts about this host.
func (d *Driver) Host(ctx context.Context) (migrate.Host, error) {
	h, err := hostOf(ctx, d.main, d.cfg.HostName)
	if err == nil && h.UUID != "" {
		d.cacheHostUUID(h.UUID)
	}
	return h, err
}

func hostOf(ctx context.Context, c *conn, name string) (migrate.Host, error) {
	type facts struct {
		caps    hostCaps
		memKiB  uint64
		cpus    int32
		freeKiB uint64
		version uint64
	}
	f, err := call(ctx, c, "host facts", func(h hypervisor) (facts, error) {
		var f facts
		xml, err := h.ConnectGetCapabilities()
		if err != nil {
			return f, err
		}
		if f.caps, err = parseCaps(xml); err != nil {
			return f, err
		}
		_, mem, cpus, _, _, _, _, _, err := h.NodeGetInfo()
		if err != nil {
			return f, err
		}
		f.memKiB, f.cpus = mem, cpus
		free, err := h.NodeGetFreeMemory()
		if err != nil {
			return f, err
		}
		f.freeKiB = free / 1024
		f.version, err = h.ConnectGetVersion()
		return f, err
	})
	if err != nil {
		return migrate.Host{}, err
	}
	accel := "TCG"
	if f.caps.KVM {
		accel = "KVM"
	}
	v := f.version
	return migrate.Host{
		Name:       name,
		UUID:       f.caps.UUID,
		CPUModel:   f.caps.CPUModel,
		MemoryKiB:  f.memKiB,
		FreeKiB:    f.freeKiB,
		Hypervisor: fmt.Sprintf("QEMU %d.%d.%d (%s)", v/1000000, v/1000%1000, v%1000, accel),
		CPUs:       int(f.cpus),
	}, nil
}

// Domains lists the VMs on this host.
func (d *Driver) Domains(ctx context.Context) ([]migrate.Domain, error) {
	return call(ctx, d.main, "list domains", func(h hypervisor) ([]migrate.Domain, error) {
		doms, _, err := h.ConnectListAllDomains(1, 0)
		if err != nil {
			return nil, err
		}
		out := make([]migrate.Domain, 0, len(doms))
		for _, dom := range doms {
			md, err := describe(h, dom)
			if err != nil {
				if golibvirt.IsNotFound(err) {
					continue // undefined while we listed
				}
				return nil, err
			}
			out = append(out, md)
		}
		return out, nil
	})
}

// Domain returns the VM with the given UUID; migrate.ErrNoDomain if absent.
func (d *Driver) Domain(ctx context.Context, id string) (migrate.Domain, error) {
	u, err := parseUUID(id)
	if err != nil {
		return migrate.Domain{}, err
	}
	return call(ctx, d.main, "domain "+id, func(h hypervisor) (migrate.Domain, error) {
		dom, err := h.DomainLookupByUUID(u)
		if err != nil {
			return migrate.Domain{}, err
		}
		return describe(h, dom)
	})
}

func parseUUID(s string) (golibvirt.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return golibvirt.UUID{}, fmt.Errorf("libvirt: VM UUID %q: %w: %w", s, migrate.ErrNoDomain, err)
	}
	return golibvirt.UUID(u), nil
}

func uuidString(u golibvirt.UUID) string { return uuid.UUID(u).String() }

func describe(h hypervisor, dom golibvirt.Domain) (migrate.Domain, error) {
	state, maxMem, _, vcpus, _, err := h.DomainGetInfo(dom)
	if err != nil {
		return migrate.Domain{}, err
	}
	pers, err := h.DomainIsPersistent(dom)
	if err != nil {
		return migrate.Domain{}, err
	}
	return migrate.Domain{
		UUID:       uuidString(dom.UUID),
		Name:       dom.Name,
		State:      domainState(golibvirt.DomainState(state)),
		MemoryKiB:  maxMem,
		VCPUs:      int(vcpus),
		Persistent: pers == 1,
	}, nil
}

func domainState(s golibvirt.DomainState) migrate.DomainState {
	switch s {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked, golibvirt.DomainShutdown:
		return migrate.StateRunning
	case golibvirt.DomainPaused, golibvirt.DomainPmsuspended:
		return migrate.StatePaused
	case golibvirt.DomainShutoff:
		return migrate.StateShutoff
	case golibvirt.DomainCrashed:
		return migrate.StateCrashed
	}
	return migrate.StateUnknown
}

// presence is how a VM is present on one host.
type presence int

const (
	absent  presence = iota
	defined          // defined but not running
	active           // running or paused
)

func presenceOn(ctx context.Context, c *conn, u golibvirt.UUID) (presence, error) {
	st, err := stateOn(ctx, c, u)
	switch {
	case err != nil || !st.found:
		return absent, err
	case st.state == golibvirt.DomainShutoff, st.state == golibvirt.DomainCrashed, st.state == golibvirt.DomainNostate:
		return defined, nil
	}
	return active, nil
}

// hostState is a VM's libvirt run state on one host, if it is there.
type hostState struct {
	found bool
	state golibvirt.DomainState
}

// stateOn looks the VM u up on c's host.
func stateOn(ctx context.Context, c *conn, u golibvirt.UUID) (hostState, error) {
	return call(ctx, c, "look up "+uuidString(u), func(h hypervisor) (hostState, error) {
		dom, err := h.DomainLookupByUUID(u)
		if golibvirt.IsNotFound(err) {
			return hostState{}, nil
		}
		if err != nil {
			return hostState{}, err
		}
		st, _, err := h.DomainGetState(dom, 0)
		if golibvirt.IsNotFound(err) {
			return hostState{}, nil
		}
		return hostState{found: err == nil, state: golibvirt.DomainState(st)}, err
	})
}

// destConn returns a connection to the plan's destination. Callers close
// it.
func (d *Driver) destConn(plan migrate.Plan) (*conn, error) {
	if plan.DestURI == "" {
		return nil, &migrate.CheckError{Kind: migrate.InvalidParameter, Reason: "no destination URI"}
	}
	return &conn{uri: plan.DestURI, open: d.open}, nil
}

// Locate reports where the VM of plan now runs. A VM counts as on a host
// if it is active there; if it is active nowhere, where it is defined
// decides. If the destination cannot be reached, Locate returns
// LocationUnknown and the error.
func (d *Driver) Locate(ctx context.Context, plan migrate.Plan) (migrate.Location, error) {
	u, err := parseUUID(plan.VM)
	if err != nil {
		return migrate.LocationUnknown, err
	}
	src, err := presenceOn(ctx, d.main, u)
	if err != nil {
		return migrate.LocationUnknown, fmt.Errorf("source: %w", err)
	}
	dc, err := d.destConn(plan)
	if err != nil {
		return migrate.LocationUnknown, err
	}
	defer dc.close()
	dctx, cancel := context.WithTimeout(ctx, d.cfg.DestTimeout)
	defer cancel()
	dst, err := presenceOn(dctx, dc, u)
	if err != nil {
		return migrate.LocationUnknown, fmt.Errorf("destination: %w", err)
	}
	return locate(src, dst), nil
}

func locate(src, dst presence) migrate.Location {
	switch {
	case src == active && dst == active:
		return migrate.LocationBoth
	case src == active:
		return migrate.LocationSource
	case dst == active:
		return migrate.LocationDestination
	case src == defined && dst == defined:
		return migrate.LocationBoth
	case src == defined:
		return migrate.LocationSource
	case dst == defined:
		return migrate.LocationDestination
	}
	return migrate.LocationNowhere
}

func (d *Driver) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Close aborts nothing: migrations in flight go on in libvirt (Attach
// finds them again); it releases the driver's connections.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	ms := make([]*migration, 0, len(d.active))
	for m := range d.active {
		ms = append(ms, m)
	}
	d.mu.Unlock()
	for _, m := range ms {
		m.detach()
	}
	d.main.close()
	return nil
}
