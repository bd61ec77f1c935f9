package sim

import (
	"math"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// Params are the inputs of one live migration, for Predict and Analytic.
type Params struct {
	Memory      uint64        // bytes of guest RAM
	DirtyRate   uint64        // bytes/s
	WorkingSet  uint64        // bytes; 0 is all of Memory
	Bandwidth   uint64        // bytes/s
	MaxDowntime time.Duration // 0 is QEMU's 300 ms
	// NonZero is how much of Memory holds anything but zeros when the
	// migration starts (0: all of it). QEMU sends a zero page as a marker
	// of a few bytes, so a guest that never touched most of its memory
	// sends far less than Memory in round 0.
	NonZero uint64
	// Setup, Switchover and Finish are the fixed costs (before memory
	// moves; added to the downtime; libvirt's finish phase after the
	// switch-over); zero takes the defaults.
	Setup, Switchover, Finish time.Duration
}

// QEMU (7.2, ram.c save_zero_page) sends a zero page as its 8-byte page
// header and one byte of fill; a normal page costs the same header on top
// of its 4 KiB, which the model leaves out (0.2 %).
const (
	pageSize       = 4096
	zeroPageMarker = 9
)

func (p Params) withDefaults() Params {
	if p.WorkingSet == 0 || p.WorkingSet > p.Memory {
		p.WorkingSet = p.Memory
	}
	if p.MaxDowntime == 0 {
		p.MaxDowntime = qemuDefaultDowntime
	}
	p.Setup = orDefault(p.Setup, DefaultSetupTime)
	p.Switchover = orDefault(p.Switchover, DefaultSwitchoverCost)
	p.Finish = orDefault(p.Finish, DefaultFinishTime)
	if p.NonZero == 0 || p.NonZero > p.Memory {
		p.NonZero = p.Memory
	}
	return p
}

// firstRound is what round 0 sends: the non-zero pages whole, the zero
// pages as markers.
func (p Params) firstRound() float64 {
	zero := (p.Memory - p.NonZero) / pageSize
	return float64(p.NonZero + zero*zeroPageMarker)
}

// Predict runs the simulator's model of a live migration with p, alone on
// its link and without policy actions, to the end; converged reports
// whether it ended within limit of simulated time. Migrations measured on
// the lab are compared with it (LabParams, CheckLabAgreement).
func Predict(p Params, limit time.Duration) (r migrate.Result, converged bool) {
	p = p.withDefaults()
	m := model{
		mem: float64(p.Memory), dirtyRate: float64(p.DirtyRate), wws: float64(p.WorkingSet),
		first: p.firstRound(), downtime: p.MaxDowntime, setup: p.Setup, switchover: p.Switchover, finish: p.Finish,
	}
	m.start()
	bw := float64(p.Bandwidth)
	for !m.done() && m.elapsed < limit {
		dt := min(m.next(bw), limit-m.elapsed)
		if dt == 0 {
			dt = 1
		}
		m.advance(dt, bw)
	}
	return m.result(), m.done()
}

// Analytic is the closed form of pre-copy (engine.md §4.1) for a working
// set that never caps a round: with ρ = dirty/bandwidth and M what round 0
// sends (all of memory, or its non-zero part and the zero-page markers),
// round i sends M·ρ^i; the guest stops after the first round whose dirty
// set M·ρ^n fits in bandwidth × downtime, so
//
//	bytes     = M·(1 − ρ^(n+1)) / (1 − ρ)
//	total     = setup + bytes/bandwidth + switch-over + finish
//	downtime  = M·ρ^n / bandwidth + switch-over
//	rounds    = n + 1
//
// It reports false if the series does not converge (ρ ≥ 1 with a dirty set
// above the threshold).
func Analytic(p Params) (migrate.Result, bool) {
	p = p.withDefaults()
	M, B := p.firstRound(), float64(p.Bandwidth)
	rho := float64(p.DirtyRate) / B
	threshold := B * p.MaxDowntime.Seconds()
	n := 1
	for ; M*math.Pow(rho, float64(n)) > threshold; n++ {
		if rho >= 1 || n > 10000 {
			return migrate.Result{}, false
		}
	}
	var bytes float64
	if rho == 1 {
		bytes = M * float64(n+1)
	} else {
		bytes = M * (1 - math.Pow(rho, float64(n+1))) / (1 - rho)
	}
	final := M * math.Pow(rho, float64(n))
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return migrate.Result{
		TotalTime:       p.Setup + sec(bytes/B) + p.Switchover + p.Finish,
		Downtime:        sec(final/B) + p.Switchover,
		DataTransferred: uint64(bytes),
		Iterations:      uint64(n + 1),
	}, true
}
