package vsm

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// This file is the expiry of finished jobs (DSP1103 DeleteOnCompletion and
// TimeBeforeRemoval), which the profile keeps with each engine job as its
// Meta: the engine stores them, the profile applies them.

// Expired reports whether j may be removed at now: it has ended, its
// DeleteOnCompletion is set, and TimeBeforeRemoval has passed since it
// ended. A job without an end time counts from its last state change.
func Expired(j *migrate.Job, now time.Time) bool {
	if !j.Status.Terminal() || !j.Meta.DeleteOnCompletion {
		return false
	}
	end := j.Ended
	if end.IsZero() {
		end = j.Changed
	}
	return !end.Add(j.Meta.TimeBeforeRemoval).After(now)
}

// Jobs is what the expiry needs of the engine.
type Jobs interface {
	Jobs(ctx context.Context) ([]*migrate.Job, error)
	DeleteJob(ctx context.Context, id string) error
}

// Sweep removes every expired job (see Expired) and returns their IDs. A
// job that disappears meanwhile is not an error.
func Sweep(ctx context.Context, e Jobs, now time.Time) (removed []string, err error) {
	jobs, err := e.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if !Expired(j, now) {
			continue
		}
		if err := e.DeleteJob(ctx, j.ID); err != nil {
			if errors.Is(err, migrate.ErrNoJob) {
				continue
			}
			return removed, err
		}
		removed = append(removed, j.ID)
	}
	return removed, nil
}

// SweeperConfig configures a Sweeper.
type SweeperConfig struct {
	// Interval between sweeps; DefaultSweepInterval if zero.
	Interval time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Logger receives one line per removed job and sweep failures;
	// slog.Default() if nil.
	Logger *slog.Logger
	// OnRemove, if set, is called with the IDs removed by a sweep.
	OnRemove func(ids []string)
}

// DefaultSweepInterval: TimeBeforeRemoval defaults to 5 minutes, so a
// 30-second period removes expired jobs within 10% of their due time.
const DefaultSweepInterval = 30 * time.Second

// Sweeper runs Sweep periodically in its own goroutine until Close.
type Sweeper struct {
	jobs  Jobs
	cfg   SweeperConfig
	stopc chan struct{} // closed by Close to ask the loop to stop
	once  sync.Once
	donec chan struct{} // closed by the loop when it has stopped
}

// NewSweeper starts a Sweeper over e.
func NewSweeper(e Jobs, cfg SweeperConfig) *Sweeper {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultSweepInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sw := &Sweeper{jobs: e, cfg: cfg, stopc: make(chan struct{}), donec: make(chan struct{})}
	go sw.run()
	return sw
}

func (sw *Sweeper) run() {
	defer close(sw.donec)
	t := time.NewTicker(sw.cfg.Interval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sw.stopc:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-sw.stopc:
			return
		case <-t.C:
			sw.SweepOnce(ctx)
		}
	}
}

// SweepOnce runs one sweep now and logs its outcome.
func (sw *Sweeper) SweepOnce(ctx context.Context) []string {
	removed, err := Sweep(ctx, sw.jobs, sw.cfg.Now())
	for _, id := range removed {
		sw.cfg.Logger.Info("job expired and removed", "job", id)
	}
	if err != nil && ctx.Err() == nil {
		sw.cfg.Logger.Warn("job sweep failed", "err", err)
	}
	if len(removed) > 0 && sw.cfg.OnRemove != nil {
		sw.cfg.OnRemove(removed)
	}
	return removed
}

// Close stops the Sweeper and waits for its goroutine to end. It is safe
// to call more than once.
func (sw *Sweeper) Close() error {
	sw.once.Do(func() { close(sw.stopc) })
	<-sw.donec
	return nil
}
