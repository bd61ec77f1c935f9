package vsm

import (
	"context"
	"log/slog"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

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
	// DefaultBandwidthUnit is the unit of MigrationSettingData.Bandwidth
	// when a request gives a value but no BandwidthUnit: MiB/s, libvirt's
	// own unit.
	DefaultBandwidthUnit = "byte/second*2^20"
	// defaultCallTimeout bounds the engine calls made outside a request
	// (the expiry sweeper, the host name at New).
	defaultCallTimeout = 30 * time.Second
)

// Config configures a Profile. Registry and Engine are required.
type Config struct {
	Registry cim.Registry
	// Engine runs the migrations, keeps their jobs and answers for the
	// host's inventory.
	Engine *migrate.Engine

	// HostName is the Name of the host CIM_ComputerSystem and the
	// SystemName of the service; the engine's Host().Name if empty.
	HostName string
	// OrgID prefixes InstanceIDs ("vsmig").
	OrgID string
	// Namespace holds the profile's classes (root/virtualization);
	// InteropNamespace the registered profile (root/interop).
	Namespace, InteropNamespace string

	Logger *slog.Logger
	// Clock is the time source of the profile's own timestamps (a job's
	// ElapsedTime while it runs, expiry); time.Now if nil. The engine
	// stamps its jobs with its own clock.
	Clock func() time.Time
	// OwnerOf returns the authenticated user of a request, recorded as the
	// job's Owner; jobs have no Owner if nil.
	OwnerOf func(ctx context.Context) string

	// DefaultType is the MigrationType of a request that gives none, and
	// the Default of the capabilities' setting data (Live if zero). The
	// default transport is the engine's (migrate.Config.DefaultTransport).
	DefaultType migrate.Type
	// LinkSpeed is the migration network's capacity in bytes per second,
	// the base of a Bandwidth given in "percent"; 0 refuses percentages
	// (return code 6).
	LinkSpeed uint64

	// Job defaults: DeleteOnCompletion of new jobs, and their
	// TimeBeforeRemoval (DefaultTimeBeforeRemoval if zero).
	KeepJobs          bool // new jobs get DeleteOnCompletion false
	TimeBeforeRemoval time.Duration
	// SweepInterval is how often expired jobs are removed
	// (DefaultSweepInterval if zero; negative disables the sweeper).
	SweepInterval time.Duration

	// Indications, if set, is told of every change of the profile's
	// instances (indications.go): the lifecycle indications of jobs and
	// virtual systems. The jobs' come from Jobs, the engine's store as
	// wrapped by ObserveStore (none if nil); the virtual systems' from the
	// engine's inventory watch.
	Indications cim.ChangeObserver
	Jobs        *ObservedStore
	// ProgressInterval is the shortest time between two progress-only
	// indications of a job (DefaultProgressInterval if zero).
	ProgressInterval time.Duration
	// Fleet is the cluster the host belongs to (fleet.go); nil for a
	// host on its own, which serves DSP1081's classes only.
	Fleet Fleet
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
	if c.TimeBeforeRemoval == 0 {
		c.TimeBeforeRemoval = DefaultTimeBeforeRemoval
	}
}
