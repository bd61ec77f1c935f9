package eventing

import (
	"sync"
	"time"
)

// Spec describes a subscription to add. The protocol layer has validated
// and capped every field.
type Spec struct {
	User        string
	ResourceURI string
	Mode        Mode
	// Expires is when the subscription ends by itself; zero means
	// Config.MaxExpiry from now. Later values are lowered to it.
	Expires time.Time
	// Heartbeat is the wsman:Heartbeats interval, 0 for none.
	Heartbeat time.Duration
	// Retries and RetryInterval are the wsman:ConnectionRetry of a push
	// subscription: further attempts after a failed delivery, and the
	// pause before each (capped by Config.MaxRetries; at least
	// Config.MinRetryInterval). Zero takes the Config values.
	Retries       int
	RetryInterval time.Duration
	NoRetries     bool // the client asked for none (Total="0")
	// MaxElements and MaxTime bound a batch in Events mode: at most
	// MaxElements events (Config.MaxBatch when 0), sent at the latest
	// MaxTime after the first of them arrived (at once when 0).
	MaxElements int
	MaxTime     time.Duration
	// Target is the protocol layer's delivery data (addresses,
	// credentials); the Manager only hands it back.
	Target any
}

// Subscription is one active subscription. Its event source publishes
// into it (Publish); it is safe for concurrent use.
type Subscription struct {
	m       *Manager
	id      string
	context string // the enumeration context of a Pull subscription
	spec    Spec

	mu            sync.Mutex
	expires       time.Time
	queue         []Event // oldest first
	bytes         int
	dropped       int    // events dropped since the last delivery
	droppedAction string // the Action of the last dropped event
	ended         bool
	pulling       bool
	cancelSource  func()
	notify        chan struct{} // capacity 1: "something changed"
	done          chan struct{} // closed when the subscription ends
}

// ID returns the subscription's identifier (wse:Identifier).
func (s *Subscription) ID() string { return s.id }

// Context returns the enumeration context of a Pull subscription, "" for
// the push modes.
func (s *Subscription) Context() string { return s.context }

// Spec returns the subscription as it was added (Expires as granted).
func (s *Subscription) Spec() Spec { return s.spec }

// Expires returns when the subscription ends unless renewed.
func (s *Subscription) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires
}

// Done is closed when the subscription has ended.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Publish queues ev for delivery without blocking. Past the queue's
// bounds the oldest events are dropped and counted. It reports false once
// the subscription has ended: the source should stop publishing to it.
func (s *Subscription) Publish(ev Event) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	if ev.Kind == Dropped {
		// A marker from the publisher's side (an event it could not
		// queue): counted like the queue's own drops.
		s.dropped += ev.Count
		s.droppedAction = ev.Action
		s.mu.Unlock()
		s.wake()
		return true
	}
	cfg := &s.m.cfg
	s.queue = append(s.queue, ev)
	s.bytes += ev.size()
	for len(s.queue) > 1 && (len(s.queue) > cfg.MaxQueueEvents || s.bytes > cfg.MaxQueueBytes) {
		old := s.queue[0]
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
		s.bytes -= old.size()
		if old.Kind == Dropped {
			s.dropped += old.Count
		} else {
			s.dropped++
			s.droppedAction = old.Action
		}
	}
	s.mu.Unlock()
	s.wake()
	return true
}

// End ends the subscription on behalf of its event source: a
// SubscriptionEnd with SourceCancelling goes to its EndTo address.
func (s *Subscription) End(reason string) {
	s.m.end(s, SourceCancelling, reason, true)
}

func (s *Subscription) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take removes up to max events from the head of the queue, the Dropped
// marker first when events were dropped. It returns nil when there is
// nothing to deliver.
func (s *Subscription) take(max int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	if s.dropped > 0 {
		out = append(out, Event{Kind: Dropped, Action: s.droppedAction, Count: s.dropped})
		s.dropped, s.droppedAction = 0, ""
	}
	n := min(max-len(out), len(s.queue))
	if n < 0 {
		n = 0
	}
	for i := 0; i < n; i++ {
		out = append(out, s.queue[i])
		s.bytes -= s.queue[i].size()
		s.queue[i] = Event{}
	}
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	return out
}

// Requeue puts events taken by a Pull that could not send them back at
// the head of the queue, in order (a Dropped marker among them is counted
// again).
func (s *Subscription) Requeue(evs []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	var back []Event
	for _, ev := range evs {
		if ev.Kind == Dropped {
			s.dropped += ev.Count
			if s.droppedAction == "" {
				s.droppedAction = ev.Action
			}
			continue
		}
		if ev.Kind == Heartbeat {
			continue
		}
		back = append(back, ev)
		s.bytes += ev.size()
	}
	s.queue = append(back, s.queue...)
}

// pending reports how many events wait.
func (s *Subscription) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.queue)
	if s.dropped > 0 {
		n++
	}
	return n
}

// isEnded reports whether the subscription has ended.
func (s *Subscription) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}
