//go:build integration

package libvirt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate/sim"
)

// TestLabAgreesWithModel migrates a guest with a known workload on the lab
// and checks the outcome against sim.Predict of the same parameters (the
// guest's configured region and pace, the bandwidth cap, the downtime
// limit, and the lab's calibrated constants: sim.LabParams) at the
// tolerances of sim.CheckLabAgreement, the ones migrate/sim's
// TestLabAgreement applies to the recorded runs. The downtime is only
// bounded, not compared: QEMU sends the last dirty set unthrottled, so on
// loopback it is the switch-over cost whatever the cap (see
// sim.LabDowntimeSlack).
//
// The parameters keep the guest's dirty rate well below the cap (ρ 0.1 to
// 0.2), where the model is least sensitive to how much CPU the TCG guest
// gets on a busy machine. A disagreement gets one more try, in the other
// direction (the hosts are alike): a neighbour's burst on a shared 2-core
// machine can stretch one run's fixed phases by a second, while a wrong
// model disagrees every time.
func TestLabAgreesWithModel(t *testing.T) {
	const name = "vsmig-agree"
	g := addLabGuest(t, name, "64K@10ms", "64M")
	for _, mibps := range []uint64{32, 64} {
		var errs []error
		for attempt := 1; attempt <= 2; attempt++ {
			dir := "a->b"
			if _, onA := findGuest(t, labDriver(t, uriA, hostA), name); !onA {
				dir = "b->a"
			}
			r := recordLabRun(t, g, dir, mibps*mib)
			p := r.Params()
			want, done := sim.Predict(p, time.Hour)
			lab := r.Result()
			t.Logf("%s %s at %d MiB/s, attempt %d: lab total %v, downtime %v, %.1f MiB, %d iterations; "+
				"model %v, %v, %.1f MiB, %d rounds (finish phase on the lab %v, model %v)",
				g.Dirty, dir, mibps, attempt, lab.TotalTime.Round(time.Millisecond), lab.Downtime,
				float64(lab.DataTransferred)/mib, lab.Iterations, want.TotalTime.Round(time.Millisecond),
				want.Downtime.Round(time.Millisecond), float64(want.DataTransferred)/mib, want.Iterations,
				time.Duration((r.TotalTimeMS-r.DestRunningAtMS)*float64(time.Millisecond)).Round(time.Millisecond),
				sim.LabFinishTime)
			err := sim.CheckLabAgreement(p, lab, want)
			if !done {
				err = errors.New("the model did not converge")
			}
			if err == nil {
				errs = nil
				break
			}
			t.Logf("attempt %d disagrees: %v", attempt, err)
			errs = append(errs, fmt.Errorf("attempt %d (%s): %w", attempt, dir, err))
		}
		if len(errs) > 0 {
			t.Errorf("%s at %d MiB/s: the lab and the model disagree:\n%v", g.Dirty, mibps, errors.Join(errs...))
		}
	}
}
