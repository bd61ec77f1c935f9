package migrate

import (
	"fmt"
	"time"
)

// This file holds the convergence policy: pure functions of the
// configuration, the request and the progress samples. Nothing here calls a
// driver or reads the clock, so tables test every decision.

const (
	gib = 1 << 30
	mib = 1 << 20

	// stallRatio: an iteration that leaves more than 9/10 of the previous
	// iteration's remaining data "did not shrink" it.
	stallNum, stallDen = 9, 10
	// dirtyHighNum/Den: a dirty rate of 9/10 of the bandwidth or more
	// "keeps up" with it; pre-copy rounds then barely shrink (ρ ≥ 0.9).
	dirtyHighNum, dirtyHighDen = 9, 10
	// dirtyHighIterations is how many consecutive iteration boundaries
	// must show a high dirty rate before throttling. QEMU's own trigger
	// also waits for two periods (dirty_rate_high_cnt >= 2).
	dirtyHighIterations = 2
)

// Resolve fills the plan fields req leaves zero from cfg. It does not
// validate (see Engine.Check) and never changes its inputs.
//
// Plan.AutoConverge and Plan.PostCopy mean "permitted": the hypervisor
// starts with the capability, and the policy decides whether to use it.
func Resolve(cfg Config, req Request) Plan {
	p := req.Plan
	if p.Transport == 0 {
		p.Transport = cfg.DefaultTransport
	}
	if h, err := NormalizeHost(p.DestHost); err == nil {
		p.DestHost = h
	}
	if p.DestURI == "" {
		if u, err := DestURI(p.DestHost, p.Transport); err == nil {
			p.DestURI = u
		}
	}
	if p.Bandwidth == 0 {
		p.Bandwidth = cfg.Bandwidth
	}
	if p.MaxDowntime == 0 {
		p.MaxDowntime = cfg.MaxDowntime
	}
	if p.ShutdownTimeout == 0 {
		p.ShutdownTimeout = cfg.ShutdownTimeout
	}
	p.Storage.RemoveSource = p.Storage.RemoveSource || cfg.RemoveSourceStorage
	if p.Type == Live {
		p.AutoConverge = p.AutoConverge || cfg.AllowAutoConverge
		p.PostCopy = p.PostCopy || cfg.AllowPostCopy
	} else {
		// Nothing converges in a paused or offline move.
		p.AutoConverge, p.PostCopy = false, false
	}
	return p
}

// StateAllows is the one rule on the run state a VM must be in for a
// migration of type t; Engine.Submit and Engine.Check apply it, and the
// drivers apply it again at Start to the state they find (a queued job's
// VM may have changed meanwhile). A refusal is a *CheckError of kind
// InvalidState.
//
//	          running                     paused                    shut off
//	Live      moved while it runs         moved, stays paused       refused
//	Resume    paused, moved, resumed      moved, stays paused       refused
//	Restart   shut down, moved, started   refused                   moved, stays off
//
// A paused VM keeps its state, as libvirt does: nobody resumes a guest
// its owner paused. Restart refuses it: a paused guest cannot see the ACPI
// shutdown request, so the clean shutdown Restart promises would only run
// into its timeout; the owner resumes it first, or moves it Live or
// Resume. A crashed VM, or one in no known state, never moves.
func StateAllows(d Domain, t Type) error {
	switch {
	case d.State == StateRunning:
		return nil
	case d.State == StatePaused && (t == Live || t == Resume):
		return nil
	case d.State == StateShutoff && t == Restart:
		return nil
	}
	why := "a live or resume migration needs it running or paused"
	switch {
	case t == Restart && d.State == StatePaused:
		why = "a restart migration cannot shut a paused guest down cleanly: resume it first, or migrate it live or resume, which keep it paused"
	case t == Restart:
		why = "a restart migration needs it running or shut off"
	case d.State == StateShutoff:
		why = "only a restart migration moves a shut-off virtual machine"
	}
	return &CheckError{Kind: InvalidState, Reason: fmt.Sprintf("virtual machine %s is %s; %s", d.Name, d.State, why)}
}

// Options is the resolved policy of one job.
type Options struct {
	// Downtime is the ramp: Downtime[0] is the initial limit, each later
	// entry the next step.
	Downtime []time.Duration
	// StepDelay is the least time between two ramp steps.
	StepDelay time.Duration
	// AutoConverge and PostCopy tell whether the policy may use them.
	AutoConverge bool
	PostCopy     bool
	// CompletionTimeout and ProgressTimeout; 0 disables either.
	CompletionTimeout time.Duration
	ProgressTimeout   time.Duration
}

// PolicyFor resolves the policy of plan (already Resolved) for a VM of
// memBytes of RAM. Timeouts and step delays scale with the RAM in GiB,
// counted as at least 1.
func PolicyFor(cfg Config, plan Plan, memBytes uint64) Options {
	g := max(float64(memBytes)/gib, 1)
	perGiB := func(d time.Duration) time.Duration { return time.Duration(float64(d) * g) }
	o := Options{
		StepDelay:         perGiB(cfg.DowntimeDelayPerGiB),
		AutoConverge:      plan.AutoConverge,
		PostCopy:          plan.PostCopy,
		CompletionTimeout: perGiB(cfg.CompletionTimeoutPerGiB),
		ProgressTimeout:   cfg.ProgressTimeout,
	}
	if cfg.CompletionTimeoutPerGiB > 0 {
		o.CompletionTimeout = max(o.CompletionTimeout, cfg.MinCompletionTimeout)
	}
	switch plan.Type {
	case Live:
		o.Downtime = DowntimeSteps(plan.MaxDowntime, max(cfg.MaxDowntimeLimit, plan.MaxDowntime), cfg.DowntimeSteps)
	case Restart:
		// Nothing is transferred while the guest shuts down, so there is
		// no progress to watch; the shutdown has its own timeout.
		o.ProgressTimeout = 0
		if o.CompletionTimeout > 0 {
			o.CompletionTimeout += plan.ShutdownTimeout
		}
		o.Downtime = []time.Duration{plan.MaxDowntime}
	default:
		o.Downtime = []time.Duration{plan.MaxDowntime}
	}
	return o
}

// DowntimeSteps is nova's ramp: steps+1 limits from initial to limit in
// equal increments (nova starts at limit/steps; we start at initial).
func DowntimeSteps(initial, limit time.Duration, steps int) []time.Duration {
	if steps < 1 || limit <= initial {
		return []time.Duration{initial}
	}
	out := make([]time.Duration, steps+1)
	for i := range out {
		out[i] = initial + (limit-initial)*time.Duration(i)/time.Duration(steps)
	}
	return out
}

// ActionKind is what the policy asks the monitor to do.
type ActionKind int

const (
	ActNothing ActionKind = iota
	ActRaiseDowntime
	ActAutoConverge
	ActPostCopy
	ActAbort
)

// Action is one policy decision.
type Action struct {
	Kind     ActionKind
	Downtime time.Duration // with ActRaiseDowntime
}

// monitorState is what the policy remembers between samples. It is a
// value: observe and applied return the next state.
type monitorState struct {
	start time.Time // when monitoring began

	haveLow bool
	low     uint64    // lowest DataRemaining seen (the progress watermark)
	lowAt   time.Time // when it was reached

	boundaries    int    // iteration boundaries seen
	iteration     uint64 // iteration of the last sample
	iterRemaining uint64 // DataRemaining at the last boundary
	stalled       bool   // the last boundary did not shrink the data
	highDirty     int    // consecutive boundaries with a high dirty rate

	step       int // index into Options.Downtime
	lastStepAt time.Time
	throttled  bool // auto-converge engaged
	postCopy   bool // post-copy started
	aborting   bool // an abort was asked for; the hypervisor ends the job
}

func newMonitorState(now time.Time) monitorState {
	return monitorState{start: now, lowAt: now, lastStepAt: now}
}

// observe folds one sample into the state.
func (s monitorState) observe(p Progress, now time.Time) monitorState {
	// A sample taken before the transfer has sized itself says nothing
	// about progress: libvirt reports all zeros during setup, and a zero
	// taken as the watermark could never be beaten, so every migration
	// longer than the progress timeout would be aborted. Without any sized
	// sample the watermark stays at the start, and the progress timeout
	// still ends a migration whose statistics never appear.
	if p.DataTotal > 0 && (!s.haveLow || p.DataRemaining < s.low) {
		s.haveLow, s.low, s.lowAt = true, p.DataRemaining, now
	}
	if p.Iteration > s.iteration {
		if s.boundaries > 0 && s.iteration >= 1 {
			s.stalled = p.DataRemaining*stallDen >= s.iterRemaining*stallNum
		}
		if p.Bandwidth > 0 && p.DirtyRate*dirtyHighDen >= p.Bandwidth*dirtyHighNum {
			s.highDirty++
		} else {
			s.highDirty = 0
		}
		s.boundaries++
		s.iteration, s.iterRemaining = p.Iteration, p.DataRemaining
	}
	if p.Phase == "postcopy" {
		s.postCopy = true
	}
	return s
}

// applied records that the monitor carried out a.
func (s monitorState) applied(a Action, o Options, now time.Time) monitorState {
	switch a.Kind {
	case ActRaiseDowntime:
		s.step = min(s.step+1, len(o.Downtime)-1)
		s.lastStepAt, s.stalled = now, false
	case ActAutoConverge:
		s.throttled = true
	case ActPostCopy:
		s.postCopy = true
	case ActAbort:
		s.aborting = true
	}
	return s
}

// Decide is the policy: given the state (with p already observed), the
// latest sample and the options, what to do now and why. The reason is one
// line for logs and the job's status; it is empty with ActNothing.
//
// In order: nothing more once an abort was asked for (the hypervisor takes
// a while to end the job, longer when the network is cut, and asking
// again changes nothing); never interfere with post-copy (it cannot be
// aborted); at the
// completion timeout switch to post-copy if permitted, else abort; abort
// when the remaining data has made no new low for the progress timeout;
// throttle when the dirty rate keeps up with the bandwidth; raise the
// downtime limit one step when an iteration did not shrink the data.
func Decide(s monitorState, p Progress, o Options, now time.Time) (Action, string) {
	if s.aborting || s.postCopy || p.Phase == "postcopy" {
		return Action{}, ""
	}
	elapsed := max(p.Elapsed, now.Sub(s.start))
	if o.CompletionTimeout > 0 && elapsed > o.CompletionTimeout {
		if o.PostCopy {
			return Action{Kind: ActPostCopy}, fmt.Sprintf("did not converge within %v; switching to post-copy", o.CompletionTimeout)
		}
		return Action{Kind: ActAbort}, fmt.Sprintf("did not converge within %v (iteration %d, %s remaining, dirty rate %s/s)",
			o.CompletionTimeout, p.Iteration, bytesText(p.DataRemaining), bytesText(p.DirtyRate))
	}
	if o.ProgressTimeout > 0 && now.Sub(s.lowAt) > o.ProgressTimeout {
		return Action{Kind: ActAbort}, fmt.Sprintf("no progress for %v (remaining data stuck above %s)",
			o.ProgressTimeout, bytesText(s.low))
	}
	if p.Phase != "" && p.Phase != "precopy" {
		return Action{}, ""
	}
	if o.AutoConverge && !s.throttled && s.highDirty >= dirtyHighIterations {
		return Action{Kind: ActAutoConverge}, fmt.Sprintf("dirty rate %s/s keeps up with bandwidth %s/s; auto-converge throttling",
			bytesText(p.DirtyRate), bytesText(p.Bandwidth))
	}
	if s.stalled && s.step+1 < len(o.Downtime) && now.Sub(s.lastStepAt) >= o.StepDelay {
		d := o.Downtime[s.step+1]
		return Action{Kind: ActRaiseDowntime, Downtime: d}, fmt.Sprintf("iteration %d did not shrink the remaining data (%s); max downtime raised to %v",
			p.Iteration, bytesText(p.DataRemaining), d)
	}
	return Action{}, ""
}

// Percent is the job's PercentComplete after sample p, given the previous
// value: 100 - remaining*100/total over the job's data figures (memory and
// disks alike; nova's formula), 0 until some data has been sent, never
// below prev and at most 99 until the migration has completed. It uses the
// figures the job shows, so PercentComplete is never ahead of what its
// DataProcessed and DataRemaining say.
func Percent(prev int, p Progress) int {
	total, rem := p.DataTotal, p.DataRemaining
	pc := 0
	if total > 0 && p.DataProcessed > 0 {
		rem = min(rem, total)
		pc = 100 - int((rem*100+total-1)/total) // round remaining up
	}
	return max(prev, min(pc, 99))
}

// bytesText prints a byte count in MiB or GiB for reasons and logs.
func bytesText(b uint64) string {
	if b >= 10*gib {
		return fmt.Sprintf("%.1f GiB", float64(b)/gib)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/mib)
}
