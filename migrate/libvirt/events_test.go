package libvirt

import (
	"context"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

func TestDecodeEvent(t *testing.T) {
	dom := golibvirt.Domain{Name: "web1", UUID: golibvirt.UUID(mustUUID(vmID))}
	other := golibvirt.Domain{Name: "db1", UUID: golibvirt.UUID(mustUUID("11111111-1111-4111-8111-111111111111"))}
	tests := []struct {
		name string
		raw  any
		want domainEvent
		ok   bool
	}{
		{"iteration", &golibvirt.DomainEventCallbackMigrationIterationMsg{Dom: dom, Iteration: 3},
			domainEvent{kind: evIteration, iteration: 3}, true},
		{"iteration of another domain", &golibvirt.DomainEventCallbackMigrationIterationMsg{Dom: other, Iteration: 3},
			domainEvent{}, false},
		{"paused for the final copy", lifecycleEvent(dom, golibvirt.DomainEventSuspended, int32(golibvirt.DomainEventSuspendedMigrated)),
			domainEvent{kind: evSuspended}, true},
		{"paused for post-copy", lifecycleEvent(dom, golibvirt.DomainEventSuspended, int32(golibvirt.DomainEventSuspendedPostcopy)),
			domainEvent{kind: evSuspended, postcopy: true}, true},
		{"paused by a user", lifecycleEvent(dom, golibvirt.DomainEventSuspended, int32(golibvirt.DomainEventSuspendedPaused)),
			domainEvent{}, false},
		{"resumed on the source", lifecycleEvent(dom, golibvirt.DomainEventResumed, int32(golibvirt.DomainEventResumedMigrated)),
			domainEvent{kind: evResumed}, true},
		{"handed over", lifecycleEvent(dom, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedMigrated)),
			domainEvent{kind: evHandedOver}, true},
		{"destroyed", lifecycleEvent(dom, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedDestroyed)),
			domainEvent{kind: evStopped}, true},
		{"stopped elsewhere", lifecycleEvent(other, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedMigrated)),
			domainEvent{}, false},
		{"started", lifecycleEvent(dom, golibvirt.DomainEventStarted, 0), domainEvent{}, false},
		{"a kind not asked for", &golibvirt.DomainEventCallbackRebootMsg{}, domainEvent{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeEvent(tt.raw, dom.UUID)
			if ok != tt.ok || got.kind != tt.want.kind || got.iteration != tt.want.iteration || got.postcopy != tt.want.postcopy {
				t.Errorf("decodeEvent = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	completed := &golibvirt.DomainEventCallbackJobCompletedMsg{Dom: dom, Params: params(map[string]any{
		"time_elapsed": uint64(900), "downtime": uint64(30), "data_processed": uint64(1200), "memory_iteration": uint64(3)})}
	got, ok := decodeEvent(completed, dom.UUID)
	want := migrate.Result{TotalTime: 900 * time.Millisecond, Downtime: 30 * time.Millisecond, DataTransferred: 1200, Iterations: 3}
	if !ok || got.kind != evCompleted || got.stats.result() != want {
		t.Errorf("job completed = %+v (%+v), %v; want %+v", got, got.stats.result(), ok, want)
	}
}

// TestStartFollowsEvents: a migration whose progress the events tell
// ahead of the statistics: the iterations, the pause for the final copy,
// the hand-over, which ends the poller at once, and the final figures of
// the source's JOB_COMPLETED event, with no question to the destination.
func TestStartFollowsEvents(t *testing.T) {
	d, src, dst, _ := fakePair(t)
	step := make(chan struct{})
	src.perform = func(dom golibvirt.Domain, _ string, _ []golibvirt.TypedParam, _ golibvirt.DomainMigrateFlags) error {
		src.mu.Lock()
		src.job[dom.UUID] = jobStats{Type: golibvirt.DomainJobUnbounded, Fields: map[string]any{
			"memory_total": uint64(1000), "memory_processed": uint64(400), "memory_remaining": uint64(600), "memory_iteration": uint64(1)}}
		src.mu.Unlock()
		for i := int32(1); i <= 3; i++ {
			src.emit(golibvirt.DomainEventIDMigrationIteration, &golibvirt.DomainEventCallbackMigrationIterationMsg{Dom: dom, Iteration: i})
		}
		<-step
		src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(dom, golibvirt.DomainEventSuspended, int32(golibvirt.DomainEventSuspendedMigrated)))
		<-step
		src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(dom, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedMigrated)))
		<-step
		// The source's final figures; the destination has none to give.
		src.emit(golibvirt.DomainEventIDJobCompleted, &golibvirt.DomainEventCallbackJobCompletedMsg{Dom: dom, Params: params(map[string]any{
			"time_elapsed": uint64(900), "downtime": uint64(30), "data_processed": uint64(1200), "memory_iteration": uint64(3)})})
		src.move(dom, dst, dom.Name)
		return nil
	}
	mig, err := d.Start(context.Background(), livePlan())
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for last < 3 {
		select {
		case n := <-mig.(migrate.IterationNotifier).Iterations():
			if n < last {
				t.Errorf("iteration %d after %d", n, last)
			}
			last = n
		case <-time.After(10 * time.Second):
			t.Fatalf("no iteration notice after %d", last)
		}
	}
	// The statistics still say iteration 1; the events know better.
	waitFor(t, "iteration 3", func() bool { p, _ := mig.Progress(context.Background()); return p.Iteration == 3 })
	step <- struct{}{}
	waitFor(t, "stop-and-copy", func() bool { p, _ := mig.Progress(context.Background()); return p.Phase == "stop-and-copy" })
	step <- struct{}{}
	waitFor(t, "finishing", func() bool { p, _ := mig.Progress(context.Background()); return p.Phase == "finishing" })
	step <- struct{}{}
	select {
	case <-mig.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("migration did not end")
	}
	res, err := mig.Result()
	if err != nil {
		t.Fatal(err)
	}
	if res.Downtime != 30*time.Millisecond || res.Iterations != 3 || res.DataTransferred != 1200 {
		t.Errorf("Result = %+v", res)
	}
	m := mig.(*migration)
	if from := m.figuresFrom(); from != "job-completed event" {
		t.Errorf("figures from %q, want the job-completed event", from)
	}
	if n := m.eventsSeen(evHandedOver); n != 1 {
		t.Errorf("saw %d hand-over events", n)
	}
	waitFor(t, "subscriptions withdrawn", func() bool { return src.subscribers() == 0 })
}

// TestStartWithoutEvents: a libvirtd that refuses the subscription still
// migrates, followed by polling alone.
func TestStartWithoutEvents(t *testing.T) {
	d, src, dst, _ := fakePair(t)
	src.noEvents = true
	src.perform = func(dom golibvirt.Domain, _ string, _ []golibvirt.TypedParam, _ golibvirt.DomainMigrateFlags) error {
		dst.mu.Lock()
		dst.completed[dom.UUID] = params(map[string]any{"time_elapsed": uint64(900), "downtime": uint64(40), "memory_iteration": uint64(2)})
		dst.mu.Unlock()
		src.move(dom, dst, dom.Name)
		return nil
	}
	p := livePlan()
	p.AutoConverge = true // QEMU's capability is set at start
	mig, err := d.Start(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := mig.EnableAutoConverge(context.Background()); err != nil {
		t.Errorf("EnableAutoConverge with the capability set = %v, want nil", err)
	}
	<-mig.Done()
	res, err := mig.Result()
	if err != nil || res.Downtime != 40*time.Millisecond || res.Iterations != 2 {
		t.Fatalf("Result = %+v, %v", res, err)
	}
	if from := mig.(*migration).figuresFrom(); from != "destination" {
		t.Errorf("figures from %q, want the destination", from)
	}
}

// TestAttachEndsOnEvent: after a restart, the hand-over event ends the
// watch even while the statistics call hangs in libvirt's finish phase.
func TestAttachEndsOnEvent(t *testing.T) {
	d, src, dst, dom := fakePair(t)
	src.job[dom.UUID] = jobStats{Type: golibvirt.DomainJobUnbounded, Fields: map[string]any{
		"operation": int32(golibvirt.DomainJobOperationStrMigrationOut), "time_elapsed": uint64(5000), "memory_total": uint64(10)}}
	mig, err := d.Attach(context.Background(), livePlan())
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer close(hang)
	src.mu.Lock()
	src.statsHang = hang
	src.mu.Unlock()
	waitFor(t, "the subscription", func() bool { return src.subscribers() == len(migrationEvents) })
	time.Sleep(50 * time.Millisecond) // the poller is now stuck in its statistics call
	src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(dom, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedMigrated)))
	src.move(dom, dst, dom.Name)
	select {
	case <-mig.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the hand-over event did not end the watch")
	}
	if res, err := mig.Result(); err != nil || res.TotalTime < 5*time.Second {
		t.Errorf("Result = %+v, %v", res, err)
	}
}

// TestWatchDomains: the driver's inventory events are libvirt's lifecycle
// events of every domain, on a connection of their own, each naming its
// domain; the channel closes when the watch ends.
func TestWatchDomains(t *testing.T) {
	d, src, _, dom := fakePair(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := d.WatchDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := src.addDomain("11111111-1111-4111-8111-111111111111", "db1", golibvirt.DomainShutoff)
	go func() {
		src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(dom, golibvirt.DomainEventSuspended, int32(golibvirt.DomainEventSuspendedPaused)))
		src.emit(golibvirt.DomainEventIDMigrationIteration, &golibvirt.DomainEventCallbackMigrationIterationMsg{Dom: dom, Iteration: 2})
		src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(other, golibvirt.DomainEventUndefined, 0))
	}()
	requireWatchEvents(t, ch, vmID, "11111111-1111-4111-8111-111111111111")
	cancel()
	for range ch {
	}
	deadline := time.Now().Add(10 * time.Second)
	for src.subscribers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the subscription outlived the watch")
		}
		time.Sleep(time.Millisecond)
	}
	src.mu.Lock()
	src.noEvents = true
	src.mu.Unlock()
	if _, err := d.WatchDomains(context.Background()); err == nil {
		t.Error("WatchDomains without events: no error")
	}
}

// TestWatchDomainsNamesAStoppedDomainAgain: libvirt removes a migrated
// domain from its source after the stopped event, with no event of its
// own, so the watch names a stopped domain again a second later; the
// watch still ends at once when cancelled.
func TestWatchDomainsNamesAStoppedDomainAgain(t *testing.T) {
	d, src, _, dom := fakePair(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := d.WatchDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go src.emit(golibvirt.DomainEventIDLifecycle, lifecycleEvent(dom, golibvirt.DomainEventStopped, int32(golibvirt.DomainEventStoppedMigrated)))
	requireWatchEvents(t, ch, vmID, vmID)
	cancel()
	done := make(chan struct{})
	go func() {
		for range ch {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the channel did not close after the watch was cancelled")
	}
}

// requireWatchEvents reads from a WatchDomains channel the domains want
// names, in order, each within 10 s.
func requireWatchEvents(t *testing.T, ch <-chan string, want ...string) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-ch:
			if got != w {
				t.Fatalf("event %d for %s, want %s", i, got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d (for %s) within 10 s", i, w)
		}
	}
}
