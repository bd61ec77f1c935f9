package eventing

import (
	"errors"
	"time"
)

// Mode is a WS-Management delivery mode (DSP0226 §10.2.9).
type Mode int

const (
	// Push sends each event in its own message and expects no
	// acknowledgement beyond the HTTP answer.
	Push Mode = iota
	// PushWithAck sends each event in its own message and waits for a
	// wsman:Ack.
	PushWithAck
	// Events sends batches of events in one wsman:Events message, each
	// batch acknowledged.
	Events
	// Pull keeps the events until the subscriber pulls them with
	// WS-Enumeration Pull on the subscription's enumeration context.
	Pull
)

// String returns the mode's name as DSP0226 spells it.
func (m Mode) String() string {
	switch m {
	case Push:
		return "Push"
	case PushWithAck:
		return "PushWithAck"
	case Events:
		return "Events"
	case Pull:
		return "Pull"
	}
	return "unknown"
}

// Kind tells an ordinary event from the pseudo-events the service makes.
type Kind int

const (
	// Notification is an event from the event source.
	Notification Kind = iota
	// Heartbeat is the pseudo-event sent when nothing was delivered for
	// the heartbeat interval (DSP0226 §10.2.5).
	Heartbeat
	// Dropped says that Count events were dropped from a full queue
	// before the events that follow it (DSP0226 §10.6).
	Dropped
)

// Event is one queued message. Payload is the serialized body (empty for
// a Heartbeat and a Dropped marker); the queue's memory is counted in its
// bytes.
type Event struct {
	Kind     Kind
	Action   string // wsa:Action of the event; for Dropped, the Action of the dropped events
	Payload  []byte
	Bookmark string // the source's bookmark for this event, "" for none
	Count    int    // Dropped only: how many
}

// size is what an event costs in the queue's byte bound.
func (e *Event) size() int { return len(e.Payload) + len(e.Action) + len(e.Bookmark) + 64 }

// Status is the wse:Status of a SubscriptionEnd (WS-Eventing 2004/08 §4.4).
type Status int

const (
	// DeliveryFailure: the events could not be delivered.
	DeliveryFailure Status = iota
	// SourceShuttingDown: the service is stopping.
	SourceShuttingDown
	// SourceCancelling: the event source ended the subscription.
	SourceCancelling
)

// String returns the status's local name in the eventing namespace.
func (s Status) String() string {
	switch s {
	case DeliveryFailure:
		return "DeliveryFailure"
	case SourceShuttingDown:
		return "SourceShuttingDown"
	}
	return "SourceCancelling"
}

// Errors of the Manager. The protocol layer maps them to faults.
var (
	// ErrQuota: the service or the user has as many subscriptions as allowed.
	ErrQuota = errors.New("eventing: subscription quota reached")
	// ErrUnknown: no active subscription with that identifier or context
	// for that user (expired, ended, or another user's).
	ErrUnknown = errors.New("eventing: unknown subscription")
	// ErrBusy: another Pull is waiting on the subscription.
	ErrBusy = errors.New("eventing: subscription is being pulled")
	// ErrTimedOut: no event arrived within the time a Pull may wait.
	ErrTimedOut = errors.New("eventing: no events within the wait")
	// ErrClosed: the Manager is closed.
	ErrClosed = errors.New("eventing: manager closed")
	// ErrDeliveryRefused is returned by a Deliverer when the receiver
	// answered wsman:DeliveryRefused: the subscription is cancelled at
	// once, without retries and without a SubscriptionEnd (DSP0226 R10.8-1).
	ErrDeliveryRefused = errors.New("eventing: the receiver refused delivery")
)

// Defaults of Config fields left zero.
const (
	DefaultMaxSubscriptions        = 1024
	DefaultMaxSubscriptionsPerUser = 32
	DefaultMaxQueueEvents          = 1000
	DefaultMaxQueueBytes           = 4 << 20
	DefaultMaxExpiry               = 24 * time.Hour
	DefaultMaxRetries              = 3
	DefaultRetryInterval           = 5 * time.Second
	DefaultMinRetryInterval        = 100 * time.Millisecond
	DefaultMaxBatch                = 100
	DefaultAttemptTimeout          = 15 * time.Second
	DefaultSweepInterval           = time.Second
)
