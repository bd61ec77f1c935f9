package vsm

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logEvery is how often, at most, the profile logs one kind of
// per-request outcome (a Check that failed, a Migrate refused, ...): a
// client looping on a failing Check once wrote 250,000 lines in 30 s.
// The answer to the client, and LastCheck, still carry each reason.
const logEvery = time.Minute

// rateLog logs a kind of line at most once per logEvery; the next line of
// that kind says how many were held back meanwhile (held_back=N). Kinds
// are few (a message, a method, a return code), so its memory is bounded.
type rateLog struct {
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	kinds map[rateKey]*rateState
}

type rateKey struct {
	msg, method string
	code        uint32
}

type rateState struct {
	last time.Time // when a line of the kind was last written
	held int       // lines held back since
}

func newRateLog(l *slog.Logger, now func() time.Time) *rateLog {
	return &rateLog{log: l, now: now, kinds: make(map[rateKey]*rateState)}
}

// info logs msg at INFO unless a line of its kind (msg, method, code) was
// written less than logEvery ago.
func (r *rateLog) info(ctx context.Context, msg, method string, code uint32, args ...any) {
	k := rateKey{msg, method, code}
	now := r.now()
	r.mu.Lock()
	st := r.kinds[k]
	if st == nil {
		st = &rateState{}
		r.kinds[k] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < logEvery {
		st.held++
		r.mu.Unlock()
		return
	}
	held := st.held
	st.last, st.held = now, 0
	r.mu.Unlock()
	args = append([]any{"method", method, "code", code}, args...)
	if held > 0 {
		args = append(args, "held_back", held, "over", logEvery)
	}
	r.log.InfoContext(ctx, msg, args...)
}
