package eventing

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Deliverer writes and sends the messages of push-style subscriptions.
// Both methods are called from the subscription's own delivery goroutine
// (End also from Close and the sweeper), never concurrently for one
// subscription.
type Deliverer interface {
	// Deliver sends events to the subscription's NotifyTo address: one
	// event in Push and PushWithAck mode, a batch in Events mode (a
	// Heartbeat or Dropped marker may be among them). It returns nil once
	// the receiver has taken them (acknowledged them, in the modes that
	// ask for it), ErrDeliveryRefused (wrapped) when the receiver refused
	// them, any other error for a failed attempt.
	Deliver(ctx context.Context, sub *Subscription, events []Event) error
	// End sends a SubscriptionEnd to the subscription's EndTo address, if
	// it has one; failures are the Deliverer's to log.
	End(ctx context.Context, sub *Subscription, status Status, reason string)
}

// Config bounds a Manager. The zero value is valid: each zero field takes
// the default named after it.
type Config struct {
	MaxSubscriptions        int           // DefaultMaxSubscriptions
	MaxSubscriptionsPerUser int           // DefaultMaxSubscriptionsPerUser
	MaxQueueEvents          int           // events queued per subscription, DefaultMaxQueueEvents
	MaxQueueBytes           int           // bytes queued per subscription, DefaultMaxQueueBytes
	MaxExpiry               time.Duration // longest life granted, DefaultMaxExpiry
	MaxRetries              int           // most further attempts per delivery, DefaultMaxRetries
	RetryInterval           time.Duration // pause between attempts when the client names none, DefaultRetryInterval
	MinRetryInterval        time.Duration // shortest pause honoured, DefaultMinRetryInterval
	MaxBatch                int           // most events per Events message, DefaultMaxBatch
	AttemptTimeout          time.Duration // one delivery attempt, DefaultAttemptTimeout
	SweepInterval           time.Duration // expiry sweep period, DefaultSweepInterval
	Now                     func() time.Time
	Logger                  *slog.Logger
}

func (c *Config) fill() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	def(&c.MaxSubscriptionsPerUser, DefaultMaxSubscriptionsPerUser)
	def(&c.MaxQueueEvents, DefaultMaxQueueEvents)
	def(&c.MaxQueueBytes, DefaultMaxQueueBytes)
	def(&c.MaxRetries, DefaultMaxRetries)
	def(&c.MaxBatch, DefaultMaxBatch)
	defd(&c.MaxExpiry, DefaultMaxExpiry)
	defd(&c.RetryInterval, DefaultRetryInterval)
	defd(&c.MinRetryInterval, DefaultMinRetryInterval)
	defd(&c.AttemptTimeout, DefaultAttemptTimeout)
	defd(&c.SweepInterval, DefaultSweepInterval)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// shutdownEndTimeout bounds the SubscriptionEnd messages Close sends, so
// that an unreachable EndTo address cannot hold up a daemon's stop.
const shutdownEndTimeout = 2 * time.Second

// Manager holds the active subscriptions of a service.
type Manager struct {
	cfg Config
	d   Deliverer

	mu      sync.Mutex
	subs    map[string]*Subscription // by identifier
	byCtx   map[string]*Subscription // Pull subscriptions by context
	perUser map[string]int
	closed  bool

	wg    sync.WaitGroup // delivery goroutines and the sweeper
	stopc chan struct{}
}

// New returns a Manager that delivers through d and starts its expiry
// sweeper; Close stops it.
func New(cfg Config, d Deliverer) *Manager {
	cfg.fill()
	m := &Manager{cfg: cfg, d: d, subs: make(map[string]*Subscription), byCtx: make(map[string]*Subscription),
		perUser: make(map[string]int), stopc: make(chan struct{})}
	m.wg.Add(1)
	go m.sweep()
	return m
}

// Config returns the Manager's configuration with the defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Len returns the number of active subscriptions.
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs)
}

// Add creates a subscription (ErrQuota at a bound). It does not deliver
// yet: the caller connects the event source, then calls Start (or Remove
// when the source refuses).
func (m *Manager) Add(spec Spec) (*Subscription, error) {
	now := m.cfg.Now()
	if limit := now.Add(m.cfg.MaxExpiry); spec.Expires.IsZero() || spec.Expires.After(limit) {
		spec.Expires = limit
	}
	if spec.Retries > m.cfg.MaxRetries {
		spec.Retries = m.cfg.MaxRetries
	}
	if spec.Retries <= 0 && !spec.NoRetries {
		spec.Retries = m.cfg.MaxRetries
	}
	if spec.RetryInterval <= 0 {
		spec.RetryInterval = m.cfg.RetryInterval
	}
	spec.RetryInterval = max(spec.RetryInterval, m.cfg.MinRetryInterval)
	if spec.MaxElements <= 0 || spec.MaxElements > m.cfg.MaxBatch {
		spec.MaxElements = m.cfg.MaxBatch
	}
	s := &Subscription{m: m, id: "uuid:" + uuid.NewString(), spec: spec, expires: spec.Expires,
		notify: make(chan struct{}, 1), done: make(chan struct{})}
	if spec.Mode == Pull {
		s.context = "uuid:" + uuid.NewString()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case len(m.subs) >= m.cfg.MaxSubscriptions, m.perUser[spec.User] >= m.cfg.MaxSubscriptionsPerUser:
		return nil, ErrQuota
	}
	m.subs[s.id] = s
	if s.context != "" {
		m.byCtx[s.context] = s
	}
	m.perUser[spec.User]++
	return s, nil
}

// Start records the function that disconnects the event source (called
// once when the subscription ends) and, for the push modes, starts the
// delivery goroutine.
func (m *Manager) Start(s *Subscription, cancelSource func()) {
	s.mu.Lock()
	ended := s.ended
	if !ended {
		s.cancelSource = cancelSource
	}
	s.mu.Unlock()
	if ended {
		if cancelSource != nil {
			cancelSource()
		}
		return
	}
	if s.spec.Mode != Pull {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return
		}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.deliverLoop(s)
	}
}

// ByContext returns the identifier of the Pull subscription with
// enumeration context ctxID, "" when there is none.
func (m *Manager) ByContext(ctxID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byCtx[ctxID]; ok {
		return s.id
	}
	return ""
}

// Lookup returns user's active subscription id.
func (m *Manager) Lookup(id, user string) (*Subscription, error) {
	m.mu.Lock()
	s, ok := m.subs[id]
	m.mu.Unlock()
	if !ok || s.spec.User != user || s.isEnded() {
		return nil, ErrUnknown
	}
	if !m.cfg.Now().Before(s.Expires()) {
		m.end(s, 0, "", false)
		return nil, ErrUnknown
	}
	return s, nil
}

// Renew sets a new expiry (zero: Config.MaxExpiry from now; later values
// are lowered to it) and returns the one granted.
func (m *Manager) Renew(id, user string, expires time.Time) (time.Time, error) {
	s, err := m.Lookup(id, user)
	if err != nil {
		return time.Time{}, err
	}
	if limit := m.cfg.Now().Add(m.cfg.MaxExpiry); expires.IsZero() || expires.After(limit) {
		expires = limit
	}
	s.mu.Lock()
	s.expires = expires
	s.mu.Unlock()
	return expires, nil
}

// Unsubscribe ends user's subscription id (no SubscriptionEnd is sent:
// the subscriber asked for it).
func (m *Manager) Unsubscribe(id, user string) error {
	s, err := m.Lookup(id, user)
	if err != nil {
		return err
	}
	m.end(s, 0, "", false)
	return nil
}

// Remove ends s without a SubscriptionEnd: for a subscription whose event
// source refused it.
func (m *Manager) Remove(s *Subscription) { m.end(s, 0, "", false) }

// end ends s once: it leaves the maps, its source is disconnected, its
// delivery goroutine stops, and, when notify is set, a SubscriptionEnd
// with status goes to its EndTo address.
func (m *Manager) end(s *Subscription, status Status, reason string, notify bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	cancel := s.cancelSource
	s.cancelSource = nil
	s.queue, s.bytes = nil, 0
	close(s.done)
	s.mu.Unlock()

	m.mu.Lock()
	if m.subs[s.id] == s {
		delete(m.subs, s.id)
		if s.context != "" {
			delete(m.byCtx, s.context)
		}
		if m.perUser[s.spec.User]--; m.perUser[s.spec.User] <= 0 {
			delete(m.perUser, s.spec.User)
		}
	}
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if notify && m.d != nil {
		timeout := m.cfg.AttemptTimeout
		if status == SourceShuttingDown {
			timeout = min(timeout, shutdownEndTimeout)
		}
		ctx, stop := context.WithTimeout(context.Background(), timeout)
		m.d.End(ctx, s, status, reason)
		stop()
	}
}

// Pull waits up to wait for events of the Pull subscription with the
// enumeration context ctxID of user on resourceURI, and returns at most
// max of them. With a heartbeat interval shorter than wait, a Pull that
// finds nothing for that long returns a single Heartbeat. Nothing within
// wait is ErrTimedOut; an unknown context ErrUnknown; a second Pull while
// one waits ErrBusy.
func (m *Manager) Pull(ctx context.Context, ctxID, user, resourceURI string, max int, wait time.Duration) ([]Event, error) {
	m.mu.Lock()
	s, ok := m.byCtx[ctxID]
	m.mu.Unlock()
	if !ok || s.spec.User != user || s.spec.ResourceURI != resourceURI {
		return nil, ErrUnknown
	}
	if _, err := m.Lookup(s.id, user); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.pulling {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.pulling = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pulling = false
		s.mu.Unlock()
	}()
	heartbeat := false
	if hb := s.spec.Heartbeat; hb > 0 && hb < wait {
		wait, heartbeat = hb, true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if evs := s.take(max); len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-s.notify:
		case <-s.done:
			return nil, ErrUnknown
		case <-timer.C:
			if heartbeat {
				return []Event{{Kind: Heartbeat}}, nil
			}
			return nil, ErrTimedOut
		case <-ctx.Done():
			return nil, ErrTimedOut
		}
	}
}

// deliverLoop delivers the events of a push-style subscription until it
// ends: one at a time (Push, PushWithAck) or in batches (Events), a
// Heartbeat after each quiet heartbeat interval, each delivery retried as
// the subscription allows. A delivery that still fails ends the
// subscription with DeliveryFailure; a refused one ends it silently.
func (m *Manager) deliverLoop(s *Subscription) {
	defer m.wg.Done()
	per := 1
	if s.spec.Mode == Events {
		per = s.spec.MaxElements
	}
	var hb <-chan time.Time
	var hbTimer *time.Timer
	resetHeartbeat := func() {
		if s.spec.Heartbeat <= 0 {
			return
		}
		if hbTimer == nil {
			hbTimer = time.NewTimer(s.spec.Heartbeat)
			hb = hbTimer.C
			return
		}
		hbTimer.Stop()
		hbTimer.Reset(s.spec.Heartbeat)
	}
	resetHeartbeat()
	defer func() {
		if hbTimer != nil {
			hbTimer.Stop()
		}
	}()
	for {
		var batch []Event
		select {
		case <-s.done:
			return
		case <-m.stopc:
			return
		case <-hb:
			if s.pending() == 0 {
				batch = []Event{{Kind: Heartbeat}}
			}
		case <-s.notify:
		}
		if batch == nil {
			if s.spec.Mode == Events && s.spec.MaxTime > 0 && s.pending() < per {
				m.gather(s, per)
			}
			batch = s.take(per)
		}
		for len(batch) > 0 {
			if !m.deliver(s, batch) {
				return
			}
			resetHeartbeat()
			batch = s.take(per)
		}
	}
}

// gather waits up to the subscription's MaxTime for a batch to fill.
func (m *Manager) gather(s *Subscription, per int) {
	t := time.NewTimer(s.spec.MaxTime)
	defer t.Stop()
	for s.pending() < per {
		select {
		case <-s.notify:
		case <-t.C:
			return
		case <-s.done:
			return
		case <-m.stopc:
			return
		}
	}
}

// deliver sends batch with the subscription's retries and reports whether
// the subscription goes on.
func (m *Manager) deliver(s *Subscription, batch []Event) bool {
	var err error
	for attempt := 0; attempt <= s.spec.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(s.spec.RetryInterval)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return false
			case <-m.stopc:
				t.Stop()
				return false
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.AttemptTimeout)
		err = m.d.Deliver(ctx, s, batch)
		cancel()
		if err == nil {
			return true
		}
		if errors.Is(err, ErrDeliveryRefused) {
			m.cfg.Logger.Info("event delivery refused; subscription cancelled", "subscription", s.id, "err", err)
			m.end(s, 0, "", false)
			return false
		}
		m.cfg.Logger.Debug("event delivery failed", "subscription", s.id, "attempt", attempt+1, "err", err)
	}
	m.cfg.Logger.Warn("event delivery failed; subscription ended", "subscription", s.id,
		"user", s.spec.User, "attempts", s.spec.Retries+1, "err", err)
	m.end(s, DeliveryFailure, "The events could not be delivered: "+err.Error(), true)
	return false
}

// sweep ends expired subscriptions until Close.
func (m *Manager) sweep() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stopc:
			return
		case <-t.C:
			m.expire()
		}
	}
}

// expire ends the subscriptions past their expiry. Expiry is the end the
// subscriber chose, so no SubscriptionEnd is sent (WS-Eventing §4.4).
func (m *Manager) expire() {
	now := m.cfg.Now()
	m.mu.Lock()
	var old []*Subscription
	for _, s := range m.subs {
		if !now.Before(s.Expires()) {
			old = append(old, s)
		}
	}
	m.mu.Unlock()
	for _, s := range old {
		m.end(s, 0, "", false)
	}
}

// Close ends every subscription with a SubscriptionEnd (SourceShuttingDown)
// to those that gave an EndTo address, stops the delivery goroutines and
// the sweeper, and waits for them. It is idempotent.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.stopc)
	subs := make([]*Subscription, 0, len(m.subs))
	for _, s := range m.subs {
		subs = append(subs, s)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.end(s, SourceShuttingDown, "The service is shutting down.", true)
		}()
	}
	wg.Wait()
	m.wg.Wait()
}
