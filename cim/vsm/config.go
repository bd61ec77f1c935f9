package vsm

import (
	"context"
	"log/slog"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/cim/job"
	"github.com/vsmig/vsmig/migrate"
)

// Engine is what the profile needs from migrate.Engine, in migrate's
// types. *migrate.Engine satisfies it; tests use a fake.
type Engine interface {
	// Check verifies, without changing anything, that req could run now
	// against the real destination; a *migrate.CheckError says why not,
	// migrate.ErrBusy / ErrVMBusy that the engine cannot take it now.
	Check(ctx context.Context, req migrate.Request) error
	// Submit queues req; its outcome arrives later through OnUpdate.
	Submit(ctx context.Context, req migrate.Request) error
	// Cancel aborts job jobID (kill: at once, without waiting for a clean
	// stop); migrate.ErrFinished if it has already ended, migrate.ErrNoJob
	// if the engine does not know it.
	Cancel(ctx context.Context, jobID string, kill bool) error
	// Recover hands the engine a job that a previous run left unfinished;
	// the engine finds out what became of it and reports through OnUpdate.
	Recover(ctx context.Context, req migrate.Request) error
	// Driver is the local hypervisor, for the inventory of virtual systems.
	Driver() migrate.Driver
}

// Namespaces of the profile's instances.
const (
	DefaultNamespace = "root/virtualization"
	InteropNamespace = "root/interop"
	// Namespace is DefaultNamespace, under the name cmd/vsmigd uses.
	Namespace = DefaultNamespace
)

// Defaults of Config.
const (
	DefaultOrgID = "vsmig"
	// DefaultTimeBeforeRemoval is the CIM_ConcreteJob schema default.
	DefaultTimeBeforeRemoval = 5 * time.Minute
	// DefaultTransport: the lab's libvirtd listens on plain TCP; production
	// hosts should configure TLS (3 or 4).
	DefaultTransport = migrate.TCP
	// DefaultBandwidthUnit is the unit of MigrationSettingData.Bandwidth
	// when a request gives a value but no BandwidthUnit: MiB/s, libvirt's
	// own unit.
	DefaultBandwidthUnit = "byte/second*2^20"
	// defaultCallTimeout bounds store writes made outside a request
	// (engine updates, recovery).
	defaultCallTimeout = 30 * time.Second
)

// Config configures a Profile. Registry, Store and Engine are required.
type Config struct {
	Registry cim.Registry
	Store    job.Store
	Engine   Engine

	// HostName is the Name of the host CIM_ComputerSystem and the
	// SystemName of the service; the engine driver's Host().Name if empty.
	HostName string
	// OrgID prefixes InstanceIDs ("vsmig").
	OrgID string
	// Namespace holds the profile's classes (root/virtualization);
	// InteropNamespace the registered profile (root/interop).
	Namespace, InteropNamespace string

	Logger *slog.Logger
	// Clock is the time source; time.Now if nil.
	Clock func() time.Time
	// OwnerOf returns the authenticated user of a request, recorded as the
	// job's Owner; jobs have no Owner if nil.
	OwnerOf func(ctx context.Context) string

	// Policy defaults advertised by the capabilities' setting data and
	// used for settings a request leaves out.
	DefaultType      migrate.Type      // Live if zero
	DefaultTransport migrate.Transport // DefaultTransport if zero
	// LinkSpeed is the migration network's capacity in bytes per second,
	// the base of a Bandwidth given in "percent"; 0 refuses percentages
	// (return code 6).
	LinkSpeed uint64

	// Job defaults: DeleteOnCompletion of new jobs, and their
	// TimeBeforeRemoval (DefaultTimeBeforeRemoval if zero).
	KeepJobs          bool // new jobs get DeleteOnCompletion false
	TimeBeforeRemoval time.Duration
	// SweepInterval is how often expired jobs are removed
	// (job.DefaultSweepInterval if zero; negative disables the sweeper).
	SweepInterval time.Duration
}

func (c *Config) fill() {
	if c.OrgID == "" {
		c.OrgID = DefaultOrgID
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.InteropNamespace == "" {
		c.InteropNamespace = InteropNamespace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.DefaultType == 0 {
		c.DefaultType = migrate.Live
	}
	if c.DefaultTransport == 0 {
		c.DefaultTransport = DefaultTransport
	}
	if c.TimeBeforeRemoval == 0 {
		c.TimeBeforeRemoval = DefaultTimeBeforeRemoval
	}
}
