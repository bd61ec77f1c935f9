package migrate

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults. Each names the reason for its value; engine.md §5 has the
// nova and KubeVirt sources.
const (
	// DefaultMaxOutgoing is KubeVirt's ParallelOutboundMigrationsPerNode:
	// two streams already fill a 10 GbE link (a single stream is CPU-bound
	// on the receiver), and more only stretch each migration's time.
	DefaultMaxOutgoing = 2
	// DefaultMaxIncoming mirrors the outgoing limit, so that two sources
	// cannot together overload one destination's link and memory.
	DefaultMaxIncoming = 2
	// DefaultMaxTotal is KubeVirt's ParallelMigrationsPerCluster: the
	// ceiling on everything this engine runs at once, recovered jobs
	// included.
	DefaultMaxTotal = 5
	// DefaultQueueLength bounds the jobs waiting for a slot. A migration
	// queued behind 64 others would wait for hours; refusing with ErrBusy
	// tells the client now rather than letting jobs pile up.
	DefaultQueueLength = 64
	// IncomingPortRange is the number of ports QEMU has for incoming
	// migrations (qemu.conf migration_port_min..max = 49152..49215), hence
	// the hard ceiling on MaxIncoming.
	IncomingPortRange = 64

	// DefaultPollInterval is nova's 0.5 s job-stats poll: the job's
	// progress must move at least twice a second.
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultMaxDowntime is the first downtime limit. It starts at
	// KubeVirt's dynamic-downtime floor (VEP 291), below QEMU's 300 ms
	// default, so a guest that converges easily pauses for less.
	DefaultMaxDowntime = 150 * time.Millisecond
	// DefaultMaxDowntimeLimit is where the ramp stops: VMware's < 1 s stun
	// target, close to KubeVirt's 1050 ms ceiling. Real downtime adds the
	// device state and resume on top.
	DefaultMaxDowntimeLimit = time.Second
	// DefaultDowntimeSteps is nova's live_migration_downtime_steps.
	DefaultDowntimeSteps = 10
	// DefaultDowntimeDelayPerGiB spaces the steps. nova waits 75 s/GiB per
	// step under an 800 s/GiB completion timeout; with our 150 s/GiB timeout
	// the same rule (delay × steps < completion timeout) gives 10 s/GiB, so
	// the whole ramp is tried before the timeout.
	DefaultDowntimeDelayPerGiB = 10 * time.Second
	// DefaultCompletionTimeoutPerGiB is KubeVirt's
	// MigrationCompletionTimeoutPerGiB (150 s): 1 GbE moves a GiB in ~9 s,
	// so this leaves room for many re-sent rounds.
	DefaultCompletionTimeoutPerGiB = 150 * time.Second
	// DefaultMinCompletionTimeout counts a VM as at least 2 GiB, as nova
	// does, so small guests are not cut short by setup costs.
	DefaultMinCompletionTimeout = 2 * DefaultCompletionTimeoutPerGiB
	// DefaultProgressTimeout is KubeVirt's MigrationProgressTimeout: no new
	// low of the remaining data for 150 s means the transfer is stuck
	// (network or QEMU trouble, not the dirty rate).
	DefaultProgressTimeout = 150 * time.Second
	// DefaultShutdownTimeout bounds a Restart migration's clean shutdown:
	// long enough for a guest OS to stop its services, short enough that a
	// guest that ignores ACPI fails the job instead of hanging it.
	DefaultShutdownTimeout = 2 * time.Minute
	// DefaultTransport is nova's live_migration_scheme (tcp).
	DefaultTransport = TCP
	// DefaultBandwidth 0 leaves libvirt's default, which is unlimited
	// (nova and KubeVirt do the same).
	DefaultBandwidth = 0
	// DefaultAllowAutoConverge is true, unlike nova and KubeVirt: a
	// DSP1081 client has no per-request switch for it, and the policy turns
	// it on only once the dirty rate has kept up with the bandwidth for two
	// iterations, when the alternative is an abort at the timeout.
	DefaultAllowAutoConverge = true
	// DefaultAllowPostCopy is false, as in nova and KubeVirt: if the network
	// fails during post-copy the VM is lost.
	DefaultAllowPostCopy = false
)

// Config is the Engine's configuration. Durations are time.Duration; a
// zero value is invalid, start from DefaultConfig.
type Config struct {
	// MaxOutgoing bounds the migrations this engine runs from its host.
	MaxOutgoing int
	// MaxIncoming bounds the migrations this engine runs to any one
	// destination host (at most IncomingPortRange). Migrations other
	// engines send there are not counted.
	MaxIncoming int
	// MaxTotal bounds all running jobs, recovered ones included.
	MaxTotal int
	// QueueLength bounds the jobs waiting for a slot; beyond it Submit
	// returns ErrBusy.
	QueueLength int

	// PollInterval is the monitor's period.
	PollInterval time.Duration
	// MaxDowntime is the initial downtime limit given to the hypervisor.
	MaxDowntime time.Duration
	// MaxDowntimeLimit is the highest limit the ramp raises it to; at or
	// below MaxDowntime there is no ramp.
	MaxDowntimeLimit time.Duration
	// DowntimeSteps is the number of steps from MaxDowntime to the limit.
	DowntimeSteps int
	// DowntimeDelayPerGiB is the least time between two steps, per GiB of
	// guest memory (nova's live_migration_downtime_delay).
	DowntimeDelayPerGiB time.Duration
	// AllowAutoConverge lets the policy throttle the guest's vCPUs.
	AllowAutoConverge bool
	// AllowPostCopy lets the policy (or a request) switch to post-copy.
	AllowPostCopy bool
	// CompletionTimeoutPerGiB times GiB of guest memory, at least
	// MinCompletionTimeout, is how long a migration may take.
	CompletionTimeoutPerGiB time.Duration
	MinCompletionTimeout    time.Duration
	// ProgressTimeout aborts a migration whose remaining data has not
	// reached a new low for this long.
	ProgressTimeout time.Duration
	// ShutdownTimeout bounds the clean shutdown of a Restart migration.
	ShutdownTimeout time.Duration
	// DefaultTransport is used when a request names none.
	DefaultTransport Transport
	// Bandwidth caps each transfer in bytes per second; 0 leaves the
	// hypervisor's default.
	Bandwidth uint64
	// RemoveSourceStorage removes the source's copy of every copied disk
	// once its migration has completed, as if each request asked for it
	// (Storage.RemoveSource). By default the files stay.
	RemoveSourceStorage bool

	// Store keeps the engine's jobs (Job); nil keeps them in memory
	// (NewMemoryStore), for tests and the simulated demo. The engine does
	// not close it: its owner does, after Shutdown.
	Store Store
	// OnUpdate receives every job's progress and end (see Update), once
	// the engine has recorded it in the job. It is called without engine
	// locks held and must not block for long.
	OnUpdate func(Update)
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Clock is the source of time; nil is the wall clock.
	Clock Clock
	// Cluster is the fleet the host belongs to, whose rules admission
	// applies too (see Cluster); nil for a host on its own.
	Cluster Cluster
}

// DefaultConfig returns the defaults above.
func DefaultConfig() Config {
	return Config{
		MaxOutgoing:             DefaultMaxOutgoing,
		MaxIncoming:             DefaultMaxIncoming,
		MaxTotal:                DefaultMaxTotal,
		QueueLength:             DefaultQueueLength,
		PollInterval:            DefaultPollInterval,
		MaxDowntime:             DefaultMaxDowntime,
		MaxDowntimeLimit:        DefaultMaxDowntimeLimit,
		DowntimeSteps:           DefaultDowntimeSteps,
		DowntimeDelayPerGiB:     DefaultDowntimeDelayPerGiB,
		AllowAutoConverge:       DefaultAllowAutoConverge,
		AllowPostCopy:           DefaultAllowPostCopy,
		CompletionTimeoutPerGiB: DefaultCompletionTimeoutPerGiB,
		MinCompletionTimeout:    DefaultMinCompletionTimeout,
		ProgressTimeout:         DefaultProgressTimeout,
		ShutdownTimeout:         DefaultShutdownTimeout,
		DefaultTransport:        DefaultTransport,
		Bandwidth:               DefaultBandwidth,
	}
}

// Validate reports every invalid setting, naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("migrate: config %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.MaxOutgoing < 1 {
		bad("MaxOutgoing", "%d, want at least 1", c.MaxOutgoing)
	}
	if c.MaxIncoming < 1 || c.MaxIncoming > IncomingPortRange {
		bad("MaxIncoming", "%d, want 1..%d (the incoming port range)", c.MaxIncoming, IncomingPortRange)
	}
	if c.MaxTotal < 1 {
		bad("MaxTotal", "%d, want at least 1", c.MaxTotal)
	}
	if c.QueueLength < 0 {
		bad("QueueLength", "%d, want 0 or more", c.QueueLength)
	}
	if c.PollInterval <= 0 || c.PollInterval > DefaultPollInterval {
		bad("PollInterval", "%v, want above 0 and at most %v (progress twice a second)", c.PollInterval, DefaultPollInterval)
	}
	if c.MaxDowntime <= 0 {
		bad("MaxDowntime", "%v, want above 0", c.MaxDowntime)
	}
	if c.MaxDowntimeLimit < 0 {
		bad("MaxDowntimeLimit", "%v is negative", c.MaxDowntimeLimit)
	}
	if c.DowntimeSteps < 1 {
		bad("DowntimeSteps", "%d, want at least 1", c.DowntimeSteps)
	}
	if c.DowntimeDelayPerGiB < 0 {
		bad("DowntimeDelayPerGiB", "%v is negative", c.DowntimeDelayPerGiB)
	}
	if c.CompletionTimeoutPerGiB < 0 {
		bad("CompletionTimeoutPerGiB", "%v is negative (0 disables it)", c.CompletionTimeoutPerGiB)
	}
	if c.MinCompletionTimeout < 0 {
		bad("MinCompletionTimeout", "%v is negative", c.MinCompletionTimeout)
	}
	if c.ProgressTimeout < 0 {
		bad("ProgressTimeout", "%v is negative (0 disables it)", c.ProgressTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("ShutdownTimeout", "%v, want above 0", c.ShutdownTimeout)
	}
	if !validTransport(c.DefaultTransport) {
		bad("DefaultTransport", "%d is not SSH, TLS, TLSStrict or TCP", c.DefaultTransport)
	}
	return errors.Join(errs...)
}

func validTransport(t Transport) bool {
	switch t {
	case SSH, TLS, TLSStrict, TCP:
		return true
	}
	return false
}
