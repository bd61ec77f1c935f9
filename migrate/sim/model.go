package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// phase is where a simulated migration is.
type phase int

const (
	phaseSetup      phase = iota // connections, destination QEMU start
	phasePrecopy                 // iterative rounds, guest running
	phaseStopCopy                // guest paused, last dirty set sent
	phaseSwitchover              // device state, resume on destination
	phasePostSwitch              // post-copy: guest moves, then pages follow
	phasePostcopy                // post-copy page transfer
	phaseShutdown                // Restart: guest shutting down
	phaseDefine                  // Restart: definition moved
	phaseFinish                  // guest on the destination; libvirt persists it and cleans up the source
	phaseDone
)

var phaseNames = [...]string{"setup", "precopy", "stop-and-copy", "finishing", "postcopy", "postcopy", "shutdown", "finishing", "finishing", "finishing"}

// model is the pre-copy model of one migration, free of clocks and locks:
// advance moves it forward by dt at a given bandwidth. It follows the
// classic analysis (Clark et al. 2005; engine.md §4.1):
//
//   - round 0 sends all of memory M; each later round sends what the guest
//     dirtied during the previous one: rate × round time, at most the
//     writable working set W;
//   - at the end of a round, if the dirty set can be sent within the
//     downtime limit (dirty ≤ bandwidth × limit, QEMU's threshold), the
//     guest stops, the set is sent (stop-and-copy), and the switch-over
//     cost is paid; downtime is the time from stop to resume;
//   - auto-converge throttles the guest's dirty rate by 20 % and 10 % more
//     at each later round, up to 99 % (QEMU's defaults);
//   - post-copy moves the guest at once (downtime = switch-over cost) and
//     then sends the rest without re-dirtying;
//   - after the switch-over, libvirt's finish phase (the destination
//     persists the definition and runs the guest, the source confirms,
//     stops its QEMU and undefines the VM) takes a fixed time; it counts
//     in the total, not in the downtime, because the guest already runs
//     on the destination (libvirt's reported downtime ends there too). A
//     paused (Resume) guest runs again only once the destination resumes
//     it in that phase, so for it the model counts the finish as downtime;
//   - round 0 sends the guest's non-zero pages whole and each zero page
//     as a small marker, as QEMU does; later rounds send dirtied pages,
//     which are not zero.
//
// QEMU checks the threshold once per 100 ms rate-limit window rather than
// at round ends, so close to convergence it makes a few short passes that
// the round-end rule folds into one round (LabIterationBounds); they carry
// little data, and the round-end rule is the one the analytic series
// describes.
type model struct {
	mem        float64 // bytes
	dirtyRate  float64 // bytes/s before throttling
	wws        float64 // bytes
	downtime   time.Duration
	first      float64 // bytes of round 0: non-zero pages plus zero-page markers
	setup      time.Duration
	switchover time.Duration
	finish     time.Duration
	paused     bool // Resume: the guest is paused throughout
	throttle   int  // percent

	// Restart only.
	restart         bool
	shutdownTime    time.Duration // how long the guest takes
	shutdownTimeout time.Duration
	defineTime      time.Duration

	phase       phase
	phaseLeft   time.Duration // for timed phases
	iteration   uint64
	roundSize   float64
	roundSent   float64
	dirtied     float64
	transferred float64
	elapsed     time.Duration
	stopAt      time.Duration // elapsed when the guest stopped
	downtimeSum time.Duration
	err         error
}

func (m *model) start() {
	if m.restart {
		m.phase = phaseShutdown
		m.phaseLeft = min(m.shutdownTime, m.shutdownTimeout)
		return
	}
	m.phase, m.phaseLeft = phaseSetup, m.setup
	m.roundSize = m.mem
	if m.first > 0 {
		m.roundSize = m.first
	}
	if m.paused {
		m.stopAt = 0
	}
}

func (m *model) done() bool { return m.phase == phaseDone }

// rate is the guest's dirty rate now, after throttling.
func (m *model) rate() float64 {
	if m.paused || m.phase != phasePrecopy {
		return 0
	}
	return m.dirtyRate * float64(100-m.throttle) / 100
}

func (m *model) timed() bool {
	switch m.phase {
	case phaseSetup, phaseSwitchover, phasePostSwitch, phaseShutdown, phaseDefine, phaseFinish:
		return true
	}
	return false
}

// next is the time to the model's next phase change or round end at
// bandwidth bw; math.MaxInt64 if nothing will happen.
func (m *model) next(bw float64) time.Duration {
	switch {
	case m.done():
		return math.MaxInt64
	case m.timed():
		return m.phaseLeft
	case bw <= 0:
		return math.MaxInt64
	}
	return sendTime(m.roundSize-m.roundSent, bw)
}

func sendTime(bytes, bw float64) time.Duration {
	if bytes <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(bytes / bw * 1e9))
}

// advance moves the model dt forward at bandwidth bw (bytes/s). It returns
// how many rounds began on the way.
func (m *model) advance(dt time.Duration, bw float64) (rounds int) {
	for dt > 0 && !m.done() {
		if m.timed() {
			step := min(dt, m.phaseLeft)
			m.phaseLeft -= step
			m.elapsed += step
			dt -= step
			if m.phaseLeft == 0 {
				rounds += m.endTimed()
			}
			continue
		}
		if bw <= 0 { // network cut: nothing moves, the guest still dirties
			m.dirtied = min(m.dirtied+m.rate()*dt.Seconds(), m.wws)
			m.elapsed += dt
			return rounds
		}
		left := sendTime(m.roundSize-m.roundSent, bw)
		if dt < left {
			sent := bw * dt.Seconds()
			m.roundSent += sent
			m.transferred += sent
			m.dirtied = min(m.dirtied+m.rate()*dt.Seconds(), m.wws)
			m.elapsed += dt
			return rounds
		}
		m.transferred += m.roundSize - m.roundSent
		m.roundSent = m.roundSize
		m.dirtied = min(m.dirtied+m.rate()*left.Seconds(), m.wws)
		m.elapsed += left
		dt -= left
		rounds += m.endRound(bw)
	}
	// A zero-length round (nothing dirty) ends without time passing.
	for !m.done() && !m.timed() && m.roundSize == m.roundSent && bw > 0 {
		rounds += m.endRound(bw)
	}
	return rounds
}

// endTimed ends a timed phase.
func (m *model) endTimed() int {
	switch m.phase {
	case phaseSetup:
		m.phase = phasePrecopy
		if m.paused {
			m.phase = phaseStopCopy
		}
	case phaseSwitchover:
		if !m.paused {
			m.downtimeSum = m.elapsed - m.stopAt
		}
		m.enterFinish()
	case phaseFinish:
		if m.paused {
			m.downtimeSum = m.elapsed - m.stopAt
		}
		m.phase = phaseDone
	case phasePostSwitch:
		m.downtimeSum = m.elapsed - m.stopAt
		m.phase = phasePostcopy
	case phaseShutdown:
		if m.shutdownTime > m.shutdownTimeout {
			m.err = fmt.Errorf("the guest did not shut down within %v; it still runs on the source", m.shutdownTimeout)
			m.phase = phaseDone
			return 0
		}
		m.stopAt = m.elapsed
		m.phase, m.phaseLeft = phaseDefine, m.defineTime
	case phaseDefine:
		m.downtimeSum = m.elapsed - m.stopAt
		m.phase = phaseDone
	}
	return 0
}

// endRound ends a transfer round; it returns 1 if a new round began.
func (m *model) endRound(bw float64) int {
	switch m.phase {
	case phaseStopCopy:
		m.phase, m.phaseLeft = phaseSwitchover, m.switchover
		return 0
	case phasePostcopy:
		m.enterFinish()
		return 0
	}
	pending := m.dirtied
	m.iteration++
	m.roundSize, m.roundSent, m.dirtied = pending, 0, 0
	if pending <= bw*m.downtime.Seconds() {
		m.phase, m.stopAt = phaseStopCopy, m.elapsed
		return 1
	}
	if m.throttle > 0 {
		m.throttle = min(m.throttle+migrateThrottleIncrement, migrateThrottleMax)
	}
	return 1
}

// enterFinish begins libvirt's finish phase; with no finish time the
// migration is done at once.
func (m *model) enterFinish() {
	if m.finish <= 0 {
		if m.paused {
			m.downtimeSum = m.elapsed - m.stopAt
		}
		m.phase = phaseDone
		return
	}
	m.phase, m.phaseLeft = phaseFinish, m.finish
}

// QEMU's auto-converge defaults (cpu-throttle-initial, -increment, max).
const (
	migrateThrottleInitial   = 20
	migrateThrottleIncrement = 10
	migrateThrottleMax       = 99
)

func (m *model) enableAutoConverge() {
	if m.throttle == 0 {
		m.throttle = migrateThrottleInitial
	}
}

// startPostCopy switches a pre-copy migration to post-copy.
func (m *model) startPostCopy() error {
	if m.phase != phasePrecopy {
		return fmt.Errorf("sim: cannot start post-copy in phase %s", phaseNames[m.phase])
	}
	rest := m.roundSize - m.roundSent + m.dirtied
	m.roundSize, m.roundSent, m.dirtied = rest, 0, 0
	m.stopAt = m.elapsed
	m.phase, m.phaseLeft = phasePostSwitch, m.switchover
	return nil
}

func (m *model) progress(bw float64) migrate.Progress {
	rem := m.roundSize - m.roundSent
	if m.restart || m.done() || m.phase == phaseSwitchover || m.phase == phaseFinish {
		rem = 0
	}
	p := migrate.Progress{
		Elapsed:         m.elapsed,
		DataTotal:       uint64(m.mem),
		DataProcessed:   uint64(m.transferred),
		DataRemaining:   uint64(rem),
		MemoryTotal:     uint64(m.mem),
		MemoryRemaining: uint64(rem),
		Iteration:       m.iteration,
		DirtyRate:       uint64(m.rate()),
		Bandwidth:       uint64(bw),
		Phase:           phaseNames[m.phase],
	}
	if bw > 0 {
		p.ExpectedDowntime = sendTime(rem, bw) + m.switchover
	}
	return p
}

func (m *model) result() migrate.Result {
	r := migrate.Result{
		TotalTime:       m.elapsed,
		Downtime:        m.downtimeSum,
		DataTransferred: uint64(m.transferred),
		Iterations:      m.iteration + 1,
	}
	if m.restart {
		r.Iterations = 0
	}
	return r
}
