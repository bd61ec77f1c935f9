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
	// Setup and Switchover are the fixed costs; zero takes the defaults.
	Setup, Switchover time.Duration
}

func (p Params) withDefaults() Params {
	if p.WorkingSet == 0 || p.WorkingSet > p.Memory {
		p.WorkingSet = p.Memory
	}
	if p.MaxDowntime == 0 {
		p.MaxDowntime = qemuDefaultDowntime
	}
	p.Setup = orDefault(p.Setup, DefaultSetupTime)
	p.Switchover = orDefault(p.Switchover, DefaultSwitchoverCost)
	return p
}

// Predict runs the simulator's model of a live migration with p, alone on
// its link and without policy actions, to the end; converged reports
// whether it ended within limit of simulated time. Lab runs (migrate/libvirt
// benchmarks) compare their measurements against it.
func Predict(p Params, limit time.Duration) (r migrate.Result, converged bool) {
	p = p.withDefaults()
	m := model{
		mem: float64(p.Memory), dirtyRate: float64(p.DirtyRate), wws: float64(p.WorkingSet),
		downtime: p.MaxDowntime, setup: p.Setup, switchover: p.Switchover,
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
// set that never caps a round: with ρ = dirty/bandwidth, round i sends
// M·ρ^i; the guest stops after the first round whose dirty set M·ρ^n fits
// in bandwidth × downtime, so
//
//	bytes     = M·(1 − ρ^(n+1)) / (1 − ρ)
//	total     = setup + bytes/bandwidth + switch-over
//	downtime  = M·ρ^n / bandwidth + switch-over
//	rounds    = n + 1
//
// It reports false if the series does not converge (ρ ≥ 1 with a dirty set
// above the threshold).
func Analytic(p Params) (migrate.Result, bool) {
	p = p.withDefaults()
	M, B := float64(p.Memory), float64(p.Bandwidth)
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
		TotalTime:       p.Setup + sec(bytes/B) + p.Switchover,
		Downtime:        sec(final/B) + p.Switchover,
		DataTransferred: uint64(bytes),
		Iterations:      uint64(n + 1),
	}, true
}
