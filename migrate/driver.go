package migrate

import (
	"context"
	"slices"
	"time"
)

// Type is how a virtual machine is moved (the DSP1081 MigrationType).
type Type int

const (
	// Live moves a running VM by pre-copy while it keeps running.
	Live Type = 2
	// Resume pauses the VM, moves it and resumes it on the destination.
	Resume Type = 3
	// Restart shuts the VM down cleanly, moves its definition and starts it
	// on the destination.
	Restart Type = 4
)

// Transport is how the source reaches the destination's hypervisor
// (the DSP1081 TransportType).
type Transport int

const (
	SSH       Transport = 2
	TLS       Transport = 3
	TLSStrict Transport = 4
	TCP       Transport = 5
)

// DomainState is the run state of a VM as the driver sees it.
type DomainState int

const (
	StateUnknown DomainState = iota
	StateRunning
	StatePaused
	StateShutoff
	StateCrashed
)

// Domain is one VM known to a driver.
type Domain struct {
	UUID      string // canonical lower-case UUID, the VM's identity
	Name      string
	State     DomainState
	MemoryKiB uint64
	VCPUs     int
	// Persistent tells whether the VM has a stored definition.
	Persistent bool
}

// Host describes the hypervisor host a driver manages.
type Host struct {
	Name       string // host name or address used in destination URIs
	UUID       string
	CPUModel   string
	MemoryKiB  uint64
	FreeKiB    uint64
	Hypervisor string // e.g. "QEMU 7.2.0 (TCG)" or "simulated"
	Simulated  bool
	// CPUs is the number of host CPUs; 0 if the driver does not say.
	CPUs int
}

// Plan is one fully resolved migration, as handed to a driver. Every policy
// decision has been made; the driver only carries it out.
type Plan struct {
	VM        string // UUID
	Type      Type
	DestHost  string // DNS name, IPv4 or IPv6 text (not bracketed)
	Transport Transport
	// DestURI is the destination hypervisor URI built from DestHost and
	// Transport (IPv6 bracketed), e.g. "qemu+tcp://127.0.0.3/system".
	DestURI string
	// Bandwidth caps the transfer in bytes per second; 0 means no cap.
	Bandwidth uint64
	// MaxDowntime is the initial downtime limit; 0 leaves the default.
	MaxDowntime  time.Duration
	AutoConverge bool
	PostCopy     bool
	// NewName renames the VM on the destination; empty keeps the name.
	NewName string
	// NewMemoryKiB and NewVCPUs change the destination definition; zero
	// keeps the source's value.
	NewMemoryKiB uint64
	NewVCPUs     int
	// ShutdownTimeout bounds the clean shutdown of a Restart migration.
	ShutdownTimeout time.Duration
	// Storage is what the client asked for the VM's disks; the driver
	// decides, disk by disk, what happens (see StorageMover).
	Storage Storage
}

// Progress is a sample of a running migration.
type Progress struct {
	Elapsed          time.Duration
	DataTotal        uint64 // bytes
	DataProcessed    uint64
	DataRemaining    uint64
	MemoryTotal      uint64
	MemoryRemaining  uint64
	Iteration        uint64
	DirtyRate        uint64 // bytes per second
	Bandwidth        uint64 // bytes per second, measured
	ExpectedDowntime time.Duration
	// Phase is a short word for where the migration is ("setup",
	// "precopy", "stop-and-copy", "postcopy", "finishing").
	Phase string
}

// hasFigures reports whether p carries the transfer's figures. Outside
// the transfer (setup, and the end of a job: finishing, aborting) a
// hypervisor reports a phase with its figures zero.
func (p Progress) hasFigures() bool { return p.DataTotal != 0 || p.DataProcessed != 0 }

// Result is the final statistics of a finished migration.
type Result struct {
	TotalTime       time.Duration
	Downtime        time.Duration
	DataTransferred uint64
	Iterations      uint64
}

// Driver is one hypervisor host. Implementations are safe for concurrent
// use; every call that can block honours ctx.
type Driver interface {
	// Host returns facts about this host.
	Host(ctx context.Context) (Host, error)
	// Domains lists the VMs on this host.
	Domains(ctx context.Context) ([]Domain, error)
	// Domain returns the VM with the given UUID; ErrNoDomain if absent.
	Domain(ctx context.Context, uuid string) (Domain, error)
	// Check reports, without changing anything, what the hypervisors know
	// that stops plan now: a job already running on the VM, the
	// destination unreachable or the same host as this one, a VM of the
	// same UUID or (new) name there, too little memory or too few CPUs, a
	// CPU model it cannot run, a network a NIC needs, a disk it cannot
	// move (see Storage). It returns a *CheckError that says why, or what
	// the migration will do with each of the VM's disks. vm is the VM as
	// Domain reported it a moment ago; the driver need not read again
	// what it says. The engine's own rules (the VM's state for the
	// migration type, the destination named as this host, the admission
	// limits) have been applied before; Check does not repeat them. A
	// driver may briefly write a marker file on the destination to tell
	// shared storage from local.
	Check(ctx context.Context, plan Plan, vm Domain) (Assessment, error)
	// Start begins plan and returns at once with a handle; the transfer goes
	// on in the background until it ends or is aborted. It reads the VM's
	// state anew and refuses, with StateAllows's error, a state that no
	// longer allows plan (a queued job's VM may have changed). A VM paused
	// at Start is paused on the destination when the migration completes
	// (see StateAllows).
	Start(ctx context.Context, plan Plan) (Migration, error)
	// Attach returns a handle on a migration of plan that is already
	// running in the hypervisor (after a daemon restart); ErrNoJob if the
	// hypervisor has no such job.
	Attach(ctx context.Context, plan Plan) (Migration, error)
	// Locate reports where the VM of a migration now runs: on this host,
	// on the destination, or nowhere to be found. It is used to decide the
	// outcome of a migration whose handle was lost (daemon restart).
	Locate(ctx context.Context, plan Plan) (Location, error)
	// Close releases connections.
	Close() error
}

// Location is where a VM was found by Driver.Locate.
type Location int

const (
	LocationUnknown Location = iota
	LocationSource
	LocationDestination
	LocationBoth // never acceptable as an end state; the engine repairs it
	LocationNowhere
)

// Migration is a running migration started by Driver.Start.
type Migration interface {
	// Progress reads the current statistics.
	Progress(ctx context.Context) (Progress, error)
	// Done is closed when the migration has ended, successfully or not.
	Done() <-chan struct{}
	// Result returns the outcome once Done is closed.
	Result() (Result, error)
	// Abort cancels the migration; the VM keeps running on the source.
	Abort(ctx context.Context) error
	// SetMaxDowntime changes the downtime limit while it runs.
	SetMaxDowntime(ctx context.Context, d time.Duration) error
	// EnableAutoConverge turns on CPU throttling while it runs, if the
	// driver can; ErrUnsupported otherwise.
	EnableAutoConverge(ctx context.Context) error
	// StartPostCopy switches to post-copy; ErrUnsupported if not allowed.
	StartPostCopy(ctx context.Context) error
}

// IterationNotifier is implemented by a Migration that can tell when a
// pre-copy iteration begins (libvirt's MIGRATION_ITERATION event). The
// monitor then samples at once instead of waiting for its next tick. The
// driver sends without blocking and drops what the monitor has not read.
type IterationNotifier interface {
	Iterations() <-chan uint64
}

// Repairer is implemented by a Driver that can end the state a crash can
// leave, the VM defined or running on both hosts: it keeps the copy at
// keep (LocationSource or LocationDestination) and destroys and undefines
// the other. The engine decides which copy to keep (see Engine.Recover).
type Repairer interface {
	Repair(ctx context.Context, plan Plan, keep Location) error
}

// Resourcer is implemented by a Driver that can name its host's virtual
// networks and storage pools, and those a VM uses, so that placement in a
// cluster can match them. Without it placement does not filter on them
// (the driver's Check still refuses what the destination lacks).
type Resourcer interface {
	HostResources(ctx context.Context) (Resources, error)
	DomainResources(ctx context.Context, uuid string) (Resources, error)
}

// Resources are virtual networks and storage pools, by name.
type Resources struct {
	Networks     []string `json:"networks,omitempty"`
	StoragePools []string `json:"storage_pools,omitempty"`
}

// Lacking names the first of r that host does not have ("network br0",
// "storage pool images"), or "" if it has them all. A host that names no
// networks (or no pools) is taken to have any: it was not asked, or its
// driver cannot tell, and the driver's Check still refuses what is missing.
func (r Resources) Lacking(host Resources) string {
	if n := firstMissing(r.Networks, host.Networks); n != "" {
		return "network " + n
	}
	if p := firstMissing(r.StoragePools, host.StoragePools); p != "" {
		return "storage pool " + p
	}
	return ""
}

func firstMissing(want, have []string) string {
	if len(have) == 0 {
		return ""
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return w
		}
	}
	return ""
}
