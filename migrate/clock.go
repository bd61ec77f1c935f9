package migrate

import "time"

// Clock is the engine's and the simulator's source of time. The engine
// never calls time.Now directly, so tests can run it on accelerated time and
// the simulator can run on time a test drives.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker whose channel delivers ticks every d.
	// Like time.Ticker it drops ticks a slow receiver misses.
	NewTicker(d time.Duration) Ticker
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Ticker is the part of time.Ticker the engine uses.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Timer is the part of time.Timer the simulator uses.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// SystemClock returns the wall clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// ScaledClock returns a clock on which time passes speed times faster than
// on the wall clock, starting now. The demo runs the simulator on it so that
// a migration of minutes takes seconds, and the engine's tests run whole
// timeouts in a fraction of a second. A speed of 1 or less is the wall
// clock.
func ScaledClock(speed float64) Clock {
	if speed <= 1 {
		return SystemClock()
	}
	now := time.Now()
	return &scaledClock{speed: speed, origin: now, wall: now}
}

type scaledClock struct {
	speed  float64
	origin time.Time // virtual time at wall
	wall   time.Time
}

func (c *scaledClock) Now() time.Time {
	el := time.Since(c.wall)
	return c.origin.Add(time.Duration(float64(el) * c.speed))
}

// real converts a virtual duration to a wall-clock duration, never below
// one microsecond so a ticker stays valid.
func (c *scaledClock) real(d time.Duration) time.Duration {
	r := time.Duration(float64(d) / c.speed)
	if r < time.Microsecond {
		r = time.Microsecond
	}
	return r
}

// NewTicker ticks every d of virtual time. The values on its channel are
// wall-clock times; callers read the time from Now.
func (c *scaledClock) NewTicker(d time.Duration) Ticker {
	return realTicker{time.NewTicker(c.real(d))}
}

func (c *scaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(c.real(d), f)
}
