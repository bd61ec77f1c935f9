//go:build integration

package libvirt

import (
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate/sim"
)

// TestLabAgreesWithModel migrates a guest with a known workload on the lab
// and checks the outcome against sim.Predict of the same parameters (the
// guest's configured region and pace, the link the run had, the downtime
// limit, and the lab's calibrated constants: LabRun.Params) at the
// tolerances of sim.CheckLabAgreement, the ones migrate/sim's
// TestLabAgreement applies to the recorded runs. The phases that vary
// from run to run whatever the model, the setup and libvirt's finish
// phase, are measured and left out (see sim.LabTimeTolerance); the lab's
// downtime is printed, not judged (see the note after sim.LabTimeSlack).
//
// The parameters keep the guest's dirty rate well below the cap (ρ 0.1 to
// 0.2), where the model is least sensitive to how much CPU the TCG guest
// gets on a busy machine. Each run is judged once: a tolerance that a
// neighbour's burst can break would be a defect of the tolerance.
func TestLabAgreesWithModel(t *testing.T) {
	const name = "vsmig-agree"
	g := addLabGuest(t, name, "64K@10ms", "64M")
	for _, mibps := range []uint64{32, 64} {
		dir := "a->b"
		if _, onA := findGuest(t, labDriver(t, uriA, hostA), name); !onA {
			dir = "b->a"
		}
		r := recordLabRun(t, g, dir, mibps*mib)
		p := r.Params()
		want, done := sim.Predict(p, time.Hour)
		lab := r.Result()
		t.Logf("%s %s at %d MiB/s (link %.1f MiB/s): lab transfer %v of %v, downtime %v, %.1f MiB, %d iterations; "+
			"model transfer %v, %v, %.1f MiB, %d rounds (setup on the lab %v, model %v; finish %v, model %v)",
			g.Dirty, dir, mibps, float64(r.Link())/mib, r.Transfer().Round(time.Millisecond), lab.TotalTime.Round(time.Millisecond),
			lab.Downtime, float64(lab.DataTransferred)/mib, lab.Iterations,
			(want.TotalTime - p.Setup - p.Finish).Round(time.Millisecond), want.Downtime.Round(time.Millisecond),
			float64(want.DataTransferred)/mib, want.Iterations,
			r.Setup().Round(time.Millisecond), sim.LabSetupTime, r.Finish().Round(time.Millisecond), sim.LabFinishTime)
		if !done {
			t.Errorf("%s at %d MiB/s: the model did not converge", g.Dirty, mibps)
			continue
		}
		if err := sim.CheckLabAgreement(p, r, want); err != nil {
			t.Errorf("%s %s at %d MiB/s: the lab and the model disagree:\n%v", g.Dirty, dir, mibps, err)
		}
	}
}
