//go:build integration

package libvirt

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// TestEventsOfARealMigration: a live migration on the lab, followed by
// libvirt's domain events as well as its statistics. libvirt announces
// every pre-copy iteration (as many as the final figures count), the
// pause for the final copy and the hand-over, and the source's
// JOB_COMPLETED event (read off the wire, tap.go) carries the final
// figures, which agree with the destination's record of the job.
func TestEventsOfARealMigration(t *testing.T) {
	a, b, dom := guestOnA(t)
	offset := fileSize(t, serialLog(guest))
	p := plan(dom.UUID, hostB, uriB)
	p.Bandwidth = 32 * mib // a few iterations' worth, not a crawl
	mig, err := a.Start(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var notices []uint64
	go func() {
		for {
			select {
			case n := <-mig.(migrate.IterationNotifier).Iterations():
				notices = append(notices, n)
			case <-mig.Done():
				return
			}
		}
	}()
	phases := map[string]bool{}
	s := sampler{}
	s.run(mig, 50*time.Millisecond, func(pr migrate.Progress) { phases[pr.Phase] = true })
	res, err := mig.Result()
	if err != nil {
		t.Fatalf("migration failed: %v", err)
	}
	m := mig.(*migration)
	seen := map[string]int{}
	for k := evIteration; k <= evCompleted; k++ {
		seen[k.String()] = m.eventsSeen(k)
	}
	t.Logf("events %v; iteration notices %v; phases sampled %v; result %+v from %s", seen, notices, phases, res, m.figuresFrom())
	if seen["iteration"] < 1 || len(notices) == 0 {
		t.Errorf("no iteration events (%d) or notices (%v)", seen["iteration"], notices)
	}
	if seen["suspended"] != 1 || seen["handed-over"] != 1 || seen["resumed"] != 0 || seen["stopped"] != 0 || seen["job-completed"] != 1 {
		t.Errorf("events %v; want one pause, one hand-over and one job-completed", seen)
	}
	if from := m.figuresFrom(); from != "job-completed event" {
		t.Errorf("final figures from %q, want the source's job-completed event", from)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dst, err := m.destinationStats(ctx)
	if err != nil {
		t.Fatalf("the destination's record: %v", err)
	}
	// The destination's record of the incoming job counts the memory
	// only; the source's (the event's) counts the disks copied too.
	d := dst.result()
	disks := len(m.storage.copies()) > 0
	if d.Iterations != res.Iterations || !disks && d.DataTransferred != res.DataTransferred ||
		disks && res.DataTransferred <= d.DataTransferred {
		t.Errorf("the event's figures %+v and the destination's %+v do not agree (disks copied: %t)", res, d, disks)
	}
	if uint64(seen["iteration"]) != res.Iterations || notices[len(notices)-1] != res.Iterations {
		t.Errorf("%d iteration events, the last notice %d; the job counted %d iterations", seen["iteration"], notices[len(notices)-1], res.Iterations)
	}
	if !phases["stop-and-copy"] && !phases["finishing"] {
		t.Errorf("phases sampled %v: neither the pause nor the hand-over showed", phases)
	}
	// The driver read the final figures on B and left them there.
	info, err := exec.Command("virsh", "-c", uriB, "domjobinfo", guest, "--completed").CombinedOutput()
	if err != nil || !strings.Contains(string(info), "Completed") {
		t.Errorf("virsh domjobinfo --completed on B after the driver read it: %v\n%s", err, info)
	}
	waitGuestHealthy(t, guest, offset)
	migrateAndWait(t, b, plan(dom.UUID, hostA, uriA), nil)
	assertOnlyOnA(t, a, b, dom.UUID)
}
