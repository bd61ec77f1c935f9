package job

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Expired reports whether j may be removed at now: it is terminal, its
// DeleteOnCompletion is set, and TimeBeforeRemoval has passed since it
// ended. A terminal job without EndTime counts from its last state change.
func (j *Job) Expired(now time.Time) bool {
	if !j.State.Terminal() || !j.DeleteOnCompletion {
		return false
	}
	end := j.EndTime
	if end.IsZero() {
		end = j.TimeOfLastStateChange
	}
	return !end.Add(j.TimeBeforeRemoval).After(now)
}

// Sweep removes every expired job (see Job.Expired) and returns their
// InstanceIDs. A job that disappears meanwhile is not an error.
func Sweep(ctx context.Context, s Store, now time.Time) (removed []string, err error) {
	jobs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if !j.Expired(now) {
			continue
		}
		if err := s.Delete(ctx, j.InstanceID); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return removed, err
		}
		removed = append(removed, j.InstanceID)
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
	// OnRemove, if set, is called with the InstanceIDs removed by a sweep.
	OnRemove func(ids []string)
}

// DefaultSweepInterval: TimeBeforeRemoval defaults to 5 minutes, so a
// 30-second period removes expired jobs within 10% of their due time.
const DefaultSweepInterval = 30 * time.Second

// Sweeper runs Sweep periodically in its own goroutine until Close.
type Sweeper struct {
	store Store
	cfg   SweeperConfig
	stopc chan struct{} // closed by Close to ask the loop to stop
	once  sync.Once
	donec chan struct{} // closed by the loop when it has stopped
}

// NewSweeper starts a Sweeper over s.
func NewSweeper(s Store, cfg SweeperConfig) *Sweeper {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultSweepInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sw := &Sweeper{store: s, cfg: cfg, stopc: make(chan struct{}), donec: make(chan struct{})}
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
	removed, err := Sweep(ctx, sw.store, sw.cfg.Now())
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

// Close stops the Sweeper and waits for its goroutine to end. It does not
// close the Store. Close is safe to call more than once.
func (sw *Sweeper) Close() error {
	sw.once.Do(func() { close(sw.stopc) })
	<-sw.donec
	return nil
}
