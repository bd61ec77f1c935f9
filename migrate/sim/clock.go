package sim

import (
	"sort"
	"sync"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// ManualClock is a migrate.Clock whose time moves only when Advance is
// called, for exact, repeatable figures. Timers and tickers fire inside
// Advance, in time order, in the caller's goroutine (not in their own, as
// the Clock interface otherwise promises).
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*manualTimer
}

// NewManualClock starts at a fixed instant.
func NewManualClock() *ManualClock {
	return &ManualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

type manualTimer struct {
	c      *ManualClock
	at     time.Time
	seq    uint64
	period time.Duration // tickers
	f      func()
	ch     chan time.Time
	dead   bool
}

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) add(t *manualTimer) {
	c.seq++
	t.seq = c.seq
	c.timers = append(c.timers, t)
}

func (c *ManualClock) AfterFunc(d time.Duration, f func()) migrate.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), f: f}
	c.add(t)
	return t
}

func (c *ManualClock) NewTicker(d time.Duration) migrate.Ticker {
	if d <= 0 {
		panic("sim: non-positive ticker period")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now.Add(d), period: d, ch: make(chan time.Time, 1)}
	c.add(t)
	return manualTicker{t}
}

// Advance moves time forward by d, firing what falls due on the way.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		live := c.timers[:0]
		for _, t := range c.timers {
			if !t.dead {
				live = append(live, t)
			}
		}
		c.timers = live
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.now = t.at
		if t.period > 0 {
			t.at = t.at.Add(t.period)
			now := c.now
			c.mu.Unlock()
			select {
			case t.ch <- now:
			default:
			}
			continue
		}
		t.dead = true
		c.mu.Unlock()
		t.f()
	}
}

// Stop implements migrate.Timer.
func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.dead
	t.dead = true
	return was
}

// manualTicker is a periodic manualTimer seen as a migrate.Ticker.
type manualTicker struct{ t *manualTimer }

func (k manualTicker) C() <-chan time.Time { return k.t.ch }
func (k manualTicker) Stop()               { k.t.Stop() }
