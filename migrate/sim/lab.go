package sim

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// This file ties the model to the project's two-host libvirt lab
// (testdata/lab): how a lab guest's known parameters become Params, the
// lab's constants, calibrated once, and the tolerances within which the
// model and a lab run must agree. migrate/sim's TestLabAgreement checks the
// recorded runs of testdata/lab_runs.json against it, and migrate/libvirt's
// TestLabAgreesWithModel checks fresh runs on the lab.

// LabGuest is a guest of the lab: a TCG VM whose /init (testdata/guest)
// fills a region of Region bytes with a pattern and rewrites DirtyBytes of
// it, page by page and round robin, every DirtyEvery: vsmig.mem and
// vsmig.dirty on its kernel command line. This is what is known about a
// guest before it migrates.
type LabGuest struct {
	Name         string  `json:"name"`
	Memory       uint64  `json:"memory_bytes"` // the domain's memory
	Region       uint64  `json:"region_bytes"` // vsmig.mem
	Dirty        string  `json:"dirty"`        // vsmig.dirty as given, e.g. "64K@10ms" or "0"
	DirtyBytes   uint64  `json:"dirty_bytes"`
	DirtyEveryMS float64 `json:"dirty_every_ms"`
}

// DirtyRate is the guest's configured pace in bytes/s.
func (g LabGuest) DirtyRate() uint64 {
	if g.DirtyBytes == 0 || g.DirtyEveryMS <= 0 {
		return 0
	}
	return uint64(float64(g.DirtyBytes) / (g.DirtyEveryMS / 1000))
}

// LabRun is one live migration measured on the lab with the libvirt
// driver: its parameters, set before the run, and its outcome. The
// recorder in migrate/libvirt (labruns_integration_test.go) writes them to
// testdata/lab_runs.json.
type LabRun struct {
	Guest         LabGuest `json:"guest"`
	Direction     string   `json:"direction"` // "a->b" or "b->a"
	Bandwidth     uint64   `json:"bandwidth"` // the plan's cap, bytes/s
	MaxDowntimeMS float64  `json:"max_downtime_ms"`

	// The outcome as the driver reported it: TotalTime is the wall time
	// of libvirt's migrate call, the rest libvirt's completed-job figures.
	TotalTimeMS     float64 `json:"total_time_ms"`
	DowntimeMS      float64 `json:"downtime_ms"`
	DataTransferred uint64  `json:"data_transferred"`
	Iterations      uint64  `json:"iterations"`

	// Where the time went, from the driver's Start: the first progress
	// sample that saw data sent (the end of the setup), the first that
	// saw the source's job gone, and the first time the destination
	// reported the guest running (the end of the downtime; libvirt's
	// finish phase goes on after it). Sampled every 25-50 ms.
	TransferStartAtMS float64 `json:"transfer_start_at_ms"`
	FinishingAtMS     float64 `json:"finishing_at_ms"`
	DestRunningAtMS   float64 `json:"dest_running_at_ms"`

	// Context that is not an input of the model: the pace the guest
	// itself achieved across the migration (page rewrites counted on its
	// serial log, bytes/s) and the machine's 1-minute load average.
	GuestDirtyRate float64 `json:"guest_dirty_rate"`
	LoadAvg        float64 `json:"loadavg"`

	// Stats are libvirt's completed-job statistics on the destination
	// (what `virsh domjobinfo --completed` shows there):
	// memory_normal_bytes, memory_constant (zero pages), memory_iteration,
	// time_elapsed (the incoming job up to the destination's finish),
	// downtime, setup_time, ...
	Stats map[string]uint64 `json:"completed_job_stats"`
}

// LabRuns is the file testdata/lab_runs.json.
type LabRuns struct {
	Comment  string   `json:"comment"`
	Recorded string   `json:"recorded"` // RFC 3339
	QEMU     string   `json:"qemu"`
	Libvirt  string   `json:"libvirt"`
	Runs     []LabRun `json:"runs"`
}

// Result is the run's outcome as a migrate.Result.
func (r LabRun) Result() migrate.Result {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return migrate.Result{TotalTime: ms(r.TotalTimeMS), Downtime: ms(r.DowntimeMS),
		DataTransferred: r.DataTransferred, Iterations: r.Iterations}
}

// Params are the run's parameters for Predict (see LabParams), with the
// link and the pace the run had (Link, Pace).
func (r LabRun) Params() Params {
	p := LabParams(r.Guest, r.Link(), time.Duration(r.MaxDowntimeMS*float64(time.Millisecond)))
	p.DirtyRate = r.Pace()
	return p
}

// Pace is the rate at which the guest dirtied its memory during the run:
// its configured pace, or what it counted itself (GuestDirtyRate) where
// that was less. Its vCPU, like the source's migration thread (Link),
// shares the machine's two cores; starved, it rewrites fewer pages than
// configured (86-100 % of the pace in the recorded runs), and close to
// the link's rate each percent of pace changes the rounds a lot.
func (r LabRun) Pace() uint64 {
	if g := uint64(r.GuestDirtyRate); g > 0 && g < r.Guest.DirtyRate() {
		return g
	}
	return r.Guest.DirtyRate()
}

// Link is the bandwidth the run's migration had: its cap, or QEMU's
// average rate over the migration (the completed job's memory_bps) where
// that fell short of the cap. The lab's TCG source QEMU shares two cores
// with its guests and whatever else the machine runs; when its migration
// thread does not get the CPU to fill the cap, the run's link was slower,
// and the model must be told so to predict the same run. On a quiet
// machine the two agree (QEMU's limiter even overshoots by a few percent).
func (r LabRun) Link() uint64 {
	if bps := r.Stats["memory_bps"]; bps > 0 && bps < r.Bandwidth {
		return bps
	}
	return r.Bandwidth
}

// Transfer is the time from the first data sent until the destination
// ran the guest: pre-copy and the switch-over, the run without its setup
// and libvirt's finish phase, both measured.
func (r LabRun) Transfer() time.Duration {
	return time.Duration((r.DestRunningAtMS - r.TransferStartAtMS) * float64(time.Millisecond))
}

// Setup and Finish are the run's measured fixed phases: from the migrate
// call to the first data sent, and from the destination running the guest
// to the call's return.
func (r LabRun) Setup() time.Duration {
	return time.Duration(r.TransferStartAtMS * float64(time.Millisecond))
}

func (r LabRun) Finish() time.Duration {
	return time.Duration((r.TotalTimeMS - r.DestRunningAtMS) * float64(time.Millisecond))
}

// The lab's constants, calibrated once from testdata/lab_runs.json
// (TestLabCalibration re-derives them): the guest's memory and the
// switch-over from the four idle runs (vsmig.dirty=0, 64 MiB region, 32
// and 64 MiB/s), the setup and finish phases, which do not depend on the
// workload, from all 20. They are used unchanged for every run. They are
// properties of the lab's guest image and of libvirt and QEMU (10.0 and
// 11.3 since the lab moved to them) on this kind of machine, not of any
// one migration.
const (
	// LabBaseNonZero is the guest's non-zero memory besides its region:
	// the kernel, the initramfs and what booting left behind. Idle runs
	// send 33,515 of the 65,536 pages of 256 MiB whole (libvirt's
	// memory_constant counts the rest, zero pages): 130.9 MiB, of which
	// 64 MiB is the region.
	LabBaseNonZero = 68_524 << 10 // 66.9 MiB
	// LabSetupTime is the time from the migrate call until memory moves
	// (Begin, Prepare, the destination QEMU's start), measured as the
	// first progress sample with data sent: median 1.16 s, 0.95-3.36 s
	// (the destination's TCG QEMU starts on a busy machine).
	LabSetupTime = 1156 * time.Millisecond
	// LabSwitchover is the downtime of an idle guest, which has nothing
	// left to send at the stop: median 40 ms (32-48 ms).
	LabSwitchover = 40 * time.Millisecond
	// LabFinishTime is libvirt's finish phase on the lab, from the guest
	// running on the destination until the migrate call returns: median
	// 1.75 s, 1.22-2.13 s.
	LabFinishTime = 1752 * time.Millisecond
)

// LabParams are the Params of migrating guest g on the lab with its
// bandwidth capped at bandwidth bytes/s and the given downtime limit:
// only what is known before the run and the lab's constants. The guest
// dirties its configured pace within its region, which is therefore the
// writable working set; it holds non-zero data in the region and in
// LabBaseNonZero. (A recorded run's Params use the link and pace it had.)
func LabParams(g LabGuest, bandwidth uint64, maxDowntime time.Duration) Params {
	return Params{
		Memory:      g.Memory,
		NonZero:     min(g.Region+LabBaseNonZero, g.Memory),
		DirtyRate:   g.DirtyRate(),
		WorkingSet:  g.Region,
		Bandwidth:   bandwidth,
		MaxDowntime: maxDowntime,
		Setup:       LabSetupTime,
		Switchover:  LabSwitchover,
		Finish:      LabFinishTime,
	}
}

// Tolerances of the agreement between a lab run and the model. TCG guests
// on a shared 2-core machine: loose, but each would catch a missing term
// of the model (without zero pages round 0 sends twice the bytes; at twice
// the dirty rate a quarter of the runs send too much).
const (
	// LabBytesTolerance bounds the relative difference in bytes sent.
	// The recorded runs stay within 10 %; the largest differences are at
	// the highest dirty rate, where the guest's real pace, a few percent
	// below its configured one, is amplified by the rounds.
	LabBytesTolerance = 0.20
	// The time compared is the transfer: from the first data sent until
	// the destination runs the guest (LabRun.Transfer). The phases around
	// it are measured on each run and left out, as they have nothing to
	// do with pre-copy and vary more than everything else together: the
	// setup (the destination QEMU's start, 0.8-2.9 s on a busy machine)
	// and libvirt's finish phase (1.2-2.2 s, in steps of about 0.2 s,
	// libvirt's own polling); TestLabCalibration states their medians and
	// spreads. The transfer must agree within LabTimeTolerance (its bytes
	// agree within 10 %, and the run's link is given: LabRun.Link) plus
	// LabTimeSlack, twice the sampling error of its two ends (progress
	// every 50 ms, the destination's state every 25 ms).
	LabTimeTolerance = 0.15
	LabTimeSlack     = 2 * (50 + 25) * time.Millisecond
	// A lab run's downtime is not judged, only the model's (within the
	// limit plus the switch-over). QEMU lifts the bandwidth cap for the
	// stop-and-copy (migration_completion sets an unlimited rate), so on
	// the lab's loopback the last dirty set goes out at memory speed and
	// the downtime is the switch-over alone: stopping the vCPUs, the
	// device state, the destination's resume. That is CPU work on cores
	// the machine shares, nothing the pre-copy model describes: 22-56 ms
	// on a quiet machine, 674 ms once in CI (with a 150 ms limit) in a
	// run whose setup also took three times its median. Any bound on it
	// would be a wall-clock tolerance that fails by chance.
	// qemuWindow is QEMU's rate-limit window (BUFFER_DELAY): it checks
	// for convergence once per window (see LabIterationBounds).
	qemuWindow = 100 * time.Millisecond
)

// LabIterationBounds is the range of libvirt's memory_iteration that
// agrees with a model run of p that took rounds rounds (Result.Iterations).
//
// libvirt reports QEMU's dirty-bitmap sync count, and QEMU syncs once at
// setup before round 0, so its count is the model's plus one. Beyond that
// QEMU checks for convergence once per rate-limit window rather than at
// the end of a round: whenever the unsent rest of a round falls below
// the threshold T = bandwidth × limit it syncs, and it stops the guest
// only if that rest plus the newly dirtied pages are below T. Close to
// convergence it therefore makes short extra passes, one window each,
// that the model folds into its last round. The excess over T at the
// first such check is less than T (the rest is below T, and the dirty set
// is what the model's last round found to fit in T), and each pass shrinks
// it by (bandwidth − dirty rate) × window, so there are at most
// ⌈T / ((bandwidth − dirty rate) × window)⌉ of them. They carry little
// data (the bytes still agree) but each counts. One fewer than the model
// is allowed too: the guest dirties a little slower than its pace.
func LabIterationBounds(p Params, rounds uint64) (lo, hi uint64) {
	p = p.withDefaults()
	B, D := float64(p.Bandwidth), float64(p.DirtyRate)
	extra := uint64(math.MaxInt32)
	if D < B {
		extra = uint64(math.Ceil(B * p.MaxDowntime.Seconds() / ((B - D) * qemuWindow.Seconds())))
	}
	return rounds, rounds + 1 + extra
}

// CheckLabAgreement compares a lab run's outcome with the model's
// prediction for the same parameters p (the run's Params), at the
// tolerances above; the error lists every figure that disagrees.
func CheckLabAgreement(p Params, run LabRun, model migrate.Result) error {
	p = p.withDefaults()
	lab := run.Result()
	var errs []error
	if d := rel(float64(model.DataTransferred), float64(lab.DataTransferred)); d > LabBytesTolerance {
		errs = append(errs, fmt.Errorf("bytes: model %d, lab %d (%.0f %% apart, tolerance %.0f %%)",
			model.DataTransferred, lab.DataTransferred, 100*d, 100*LabBytesTolerance))
	}
	labXfer, modelXfer := run.Transfer(), model.TotalTime-p.Setup-p.Finish
	allowed := time.Duration(LabTimeTolerance*float64(labXfer)) + LabTimeSlack
	if d := modelXfer - labXfer; d.Abs() > allowed {
		errs = append(errs, fmt.Errorf("transfer time: model %v, lab %v (%v apart, tolerance %v)",
			modelXfer.Round(time.Millisecond), labXfer.Round(time.Millisecond),
			d.Abs().Round(time.Millisecond), allowed.Round(time.Millisecond)))
	}
	if lo, hi := LabIterationBounds(p, model.Iterations); lab.Iterations < lo || lab.Iterations > hi {
		errs = append(errs, fmt.Errorf("iterations: lab %d, want %d-%d for the model's %d rounds",
			lab.Iterations, lo, hi, model.Iterations))
	}
	bound := p.MaxDowntime + p.Switchover
	if model.Downtime > bound {
		errs = append(errs, fmt.Errorf("downtime: model %v, above the limit plus switch-over %v", model.Downtime, bound))
	}
	return errors.Join(errs...)
}

// rel is |got − want| / want.
func rel(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}
