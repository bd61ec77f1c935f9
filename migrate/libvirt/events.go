package libvirt

import (
	"context"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// eventKind is what a libvirt domain event tells about a migration.
type eventKind int

const (
	// evIteration: a pre-copy iteration began (MIGRATION_ITERATION).
	evIteration eventKind = iota + 1
	// evSuspended: the guest was paused on the source for the final copy,
	// or for the switch to post-copy (LIFECYCLE SUSPENDED MIGRATED or
	// POSTCOPY).
	evSuspended
	// evResumed: the guest runs again on the source (LIFECYCLE RESUMED):
	// the migration failed or was cancelled after the pause.
	evResumed
	// evHandedOver: the guest stopped on the source because it now runs
	// on the destination (LIFECYCLE STOPPED MIGRATED).
	evHandedOver
	// evStopped: the guest stopped on the source for another reason
	// (destroyed, crashed, failed).
	evStopped
	// evCompleted: the job completed; stats are its final statistics
	// (JOB_COMPLETED, read off the wire: see tap.go).
	evCompleted
)

var eventNames = [...]string{evIteration: "iteration", evSuspended: "suspended", evResumed: "resumed",
	evHandedOver: "handed-over", evStopped: "stopped", evCompleted: "job-completed"}

func (k eventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// domainEvent is one decoded event about the migrating domain.
type domainEvent struct {
	kind      eventKind
	iteration uint64   // evIteration
	postcopy  bool     // evSuspended: paused for post-copy
	stats     jobStats // evCompleted
}

// migrationEvents are the event IDs a migration subscribes to. libvirt
// sends JOB_COMPLETED only to a subscriber of it; go-libvirt then drops it
// (tap.go reads it instead), so its channel stays silent.
var migrationEvents = [...]golibvirt.DomainEventID{
	golibvirt.DomainEventIDLifecycle,
	golibvirt.DomainEventIDMigrationIteration,
	golibvirt.DomainEventIDJobCompleted,
}

// subscribeTimeout bounds one event registration call; a libvirtd that
// answers statistics in a millisecond answers this as fast.
const subscribeTimeout = 5 * time.Second

// subscribe registers on c for the lifecycle, migration-iteration and
// job-completed events of the domain u and returns them, in the order
// libvirt sent each kind, on one channel. The channel is closed once ctx
// ends (the registrations are then withdrawn) or the connection is lost.
//
// go-libvirt registers for every domain of the connection and hands each
// event to an unbuffered channel that it blocks on; so every channel is
// read to its end here, events of other domains are dropped, and what the
// caller has not read yet waits in go-libvirt's own unbounded queue.
func subscribe(ctx context.Context, c *conn, u golibvirt.UUID) (<-chan domainEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan domainEvent, 16)
	var wg sync.WaitGroup
	closeWhenDone := func() {
		wg.Wait()
		cancel()
		close(out)
	}
	for _, id := range migrationEvents {
		rctx, rcancel := context.WithTimeout(ctx, subscribeTimeout)
		in, err := call(rctx, c, "subscribe to events", func(h hypervisor) (<-chan any, error) {
			return h.SubscribeEvents(ctx, id, golibvirt.OptDomain{})
		})
		rcancel()
		if err != nil {
			cancel()
			go closeWhenDone()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay(ctx, in, u, out)
		}()
	}
	go closeWhenDone()
	return out, nil
}

// relay passes the events of in that concern u to out until in is closed.
func relay(ctx context.Context, in <-chan any, u golibvirt.UUID, out chan<- domainEvent) {
	for raw := range in {
		e, ok := decodeEvent(raw, u)
		if !ok {
			continue
		}
		select {
		case out <- e:
		case <-ctx.Done():
		}
	}
}

// decodeEvent turns a go-libvirt event message into a domainEvent; false
// if it is about another domain or tells nothing about a migration.
func decodeEvent(raw any, u golibvirt.UUID) (domainEvent, bool) {
	switch v := raw.(type) {
	case *golibvirt.DomainEventCallbackMigrationIterationMsg:
		if v.Dom.UUID != u {
			return domainEvent{}, false
		}
		return domainEvent{kind: evIteration, iteration: uint64(max(v.Iteration, 0))}, true
	case *golibvirt.DomainEventCallbackJobCompletedMsg: // were go-libvirt to decode it
		if v.Dom.UUID != u {
			return domainEvent{}, false
		}
		return completedEvent(v.Params), true
	case *golibvirt.DomainEventCallbackLifecycleMsg:
		if v.Msg.Dom.UUID != u {
			return domainEvent{}, false
		}
		return decodeLifecycle(golibvirt.DomainEventType(v.Msg.Event), v.Msg.Detail)
	}
	return domainEvent{}, false
}

func completedEvent(params []golibvirt.TypedParam) domainEvent {
	return domainEvent{kind: evCompleted, stats: decodeJobStats(int32(golibvirt.DomainJobCompleted), params)}
}

func decodeLifecycle(typ golibvirt.DomainEventType, detail int32) (domainEvent, bool) {
	switch typ {
	case golibvirt.DomainEventSuspended:
		switch golibvirt.DomainEventSuspendedDetailType(detail) {
		case golibvirt.DomainEventSuspendedMigrated:
			return domainEvent{kind: evSuspended}, true
		case golibvirt.DomainEventSuspendedPostcopy:
			return domainEvent{kind: evSuspended, postcopy: true}, true
		}
	case golibvirt.DomainEventResumed:
		return domainEvent{kind: evResumed}, true
	case golibvirt.DomainEventStopped:
		if golibvirt.DomainEventStoppedDetailType(detail) == golibvirt.DomainEventStoppedMigrated {
			return domainEvent{kind: evHandedOver}, true
		}
		return domainEvent{kind: evStopped}, true
	}
	return domainEvent{}, false
}

// listen subscribes m to its domain's events on a connection of its own.
// A failure is logged, not fatal: the migration is then followed by
// polling alone, as before libvirt had these events.
func (m *migration) listen() {
	tap := func(dom golibvirt.UUID, params []golibvirt.TypedParam) {
		if dom == m.dom.UUID {
			m.handle(completedEvent(params))
		}
	}
	c := &conn{uri: m.d.cfg.URI, open: m.d.openEvents(tap)}
	ctx, cancel := context.WithCancel(context.Background())
	evs, err := subscribe(ctx, c, m.dom.UUID)
	if err != nil {
		cancel()
		c.close()
		m.d.log.Warn("no domain events; following the migration by polling alone", "vm", m.plan.VM, "err", err)
		return
	}
	m.events, m.stopEvents = c, cancel
	go func() {
		for e := range evs {
			m.handle(e)
		}
	}()
}

// unlisten ends the subscription, if any.
func (m *migration) unlisten() {
	if m.events != nil {
		m.stopEvents()
		m.events.close()
	}
}

// handle folds one event into m.
func (m *migration) handle(e domainEvent) {
	m.d.log.Debug("domain event", "vm", m.plan.VM, "event", e.kind.String(), "iteration", e.iteration)
	m.mu.Lock()
	m.seen[e.kind]++
	switch e.kind {
	case evIteration:
		m.eventIter = max(m.eventIter, e.iteration)
	case evSuspended:
		m.paused, m.postcopy = true, e.postcopy
	case evResumed:
		m.paused = false
	case evHandedOver, evStopped:
		m.jobGone = true
	case evCompleted:
		st := e.stats
		m.final, m.jobGone = &st, true
	}
	m.mu.Unlock()
	switch e.kind {
	case evIteration:
		notifyLatest(m.iters, e.iteration)
	case evHandedOver, evStopped:
		m.endOnce.Do(func() { close(m.ended) })
	case evCompleted:
		m.completedOnce.Do(func() { close(m.completed) })
		m.endOnce.Do(func() { close(m.ended) })
	}
}

// eventsSeen returns how many events of kind m has received.
func (m *migration) eventsSeen(kind eventKind) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[kind]
}

// notifyLatest puts n in ch (capacity 1) without blocking: a notice the
// reader has not taken yet is replaced, so the latest always arrives.
func notifyLatest(ch chan uint64, n uint64) {
	for {
		select {
		case ch <- n:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
