package migrate

import (
	"errors"
	"testing"
	"time"
)

func ids(js []*job) string {
	s := ""
	for _, j := range js {
		s += j.id
	}
	return s
}

func TestAdmission(t *testing.T) {
	a := newAdmission(Config{MaxOutgoing: 2, MaxIncoming: 1, MaxTotal: 3, QueueLength: 2})
	mk := func(id, dest string, prio int, at int64) *job {
		return &job{id: id, vm: "vm-" + id, dest: dest, priority: prio, submitted: time.Unix(at, 0)}
	}
	step := func(j *job, wantStarted string, wantErr error) {
		t.Helper()
		started, err := a.enqueue(j)
		if ids(started) != wantStarted || !errors.Is(err, wantErr) && err != wantErr {
			t.Fatalf("enqueue %s: started %q, %v; want %q, %v", j.id, ids(started), err, wantStarted, wantErr)
		}
	}
	step(mk("a", "x", 0, 0), "a", nil) // runs: x 1/1
	step(mk("b", "x", 0, 1), "", nil)  // x full: queued
	step(mk("c", "y", 0, 2), "c", nil) // y free: runs past b; outgoing 2/2
	step(mk("d", "z", 9, 3), "", nil)  // outgoing full: queued (b, d)
	if err := a.check("vm-e", "z"); !errors.Is(err, ErrBusy) {
		t.Errorf("check with a full queue: %v", err)
	}
	step(mk("e", "z", 0, 4), "", ErrBusy)
	if _, err := a.enqueue(mk("a", "z", 0, 5)); !errors.Is(err, ErrVMBusy) {
		t.Errorf("same VM: %v", err)
	}
	// c ends: outgoing frees, x still busy with a, so d (to z) starts.
	if got := ids(a.finish(a.vms["vm-c"])); got != "d" {
		t.Errorf("after c: started %q, want d", got)
	}
	// a ends: b (to x) starts.
	if got := ids(a.finish(a.vms["vm-a"])); got != "b" {
		t.Errorf("after a: started %q, want b", got)
	}
	if a.running != 2 || len(a.queue) != 0 {
		t.Errorf("running %d, queued %d", a.running, len(a.queue))
	}
	// A recovered job counts whatever the limits.
	if err := a.attach(mk("r", "x", 0, 0)); err != nil || a.running != 3 {
		t.Errorf("attach: %v, running %d", err, a.running)
	}
}

func TestQueueOrder(t *testing.T) {
	a := newAdmission(Config{MaxOutgoing: 1, MaxIncoming: 1, MaxTotal: 1, QueueLength: 10})
	a.running, a.outgoing = 1, 1 // the slot is taken
	for i, j := range []*job{
		{id: "1", vm: "1", priority: 5, submitted: time.Unix(10, 0)},
		{id: "2", vm: "2", priority: 1, submitted: time.Unix(20, 0)},
		{id: "3", vm: "3", priority: 5, submitted: time.Unix(5, 0)},
		{id: "4", vm: "4", priority: 1, submitted: time.Unix(20, 0)},
	} {
		if _, err := a.enqueue(j); err != nil {
			t.Fatal(i, err)
		}
	}
	if got := ids(a.queue); got != "2431" {
		t.Errorf("queue %s, want 2431 (priority, then time, then arrival)", got)
	}
}
