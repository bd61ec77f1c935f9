package migrate

import (
	"fmt"
	"sort"
)

// admission decides which jobs run. It is not safe for concurrent use; the
// Engine holds its lock around every call.
//
// At a limit a job is queued, not refused (KubeVirt delays work the same
// way): up to QueueLength jobs wait, ordered by Priority (lower first),
// then Submitted, then arrival. Beyond QueueLength, Submit returns ErrBusy
// at once, so a client is not left with a job that would wait for hours.
//
// When a slot frees, the first queued job in that order that fits runs. The
// outgoing and total limits hold back every job; a job held back only by
// its destination's incoming limit does not block jobs to other hosts.
//
// A VM has at most one job, queued or running (ErrVMBusy).
type admission struct {
	maxOut, maxIn, maxTotal, queueLen int

	running  int            // jobs running, recovered ones included
	outgoing int            // jobs running from this host (all of them today)
	incoming map[string]int // running jobs per destination host
	vms      map[string]*job
	queue    []*job
	seq      uint64
}

func newAdmission(cfg Config) *admission {
	return &admission{
		maxOut:   cfg.MaxOutgoing,
		maxIn:    cfg.MaxIncoming,
		maxTotal: cfg.MaxTotal,
		queueLen: cfg.QueueLength,
		incoming: make(map[string]int),
		vms:      make(map[string]*job),
	}
}

// check says whether a job for vm to dest could be accepted now.
func (a *admission) check(vm, dest string) error {
	if j, ok := a.vms[vm]; ok {
		return fmt.Errorf("%w (job %s)", ErrVMBusy, j.id)
	}
	// No queued job fits (next starts every one that does), so a job that
	// fits now would start at once.
	if a.fits(dest) || len(a.queue) < a.queueLen {
		return nil
	}
	return a.busy()
}

func (a *admission) busy() error {
	return fmt.Errorf("%w: %d running, %d queued (queue length %d)", ErrBusy, a.running, len(a.queue), a.queueLen)
}

// fits reports whether one more job to dest is within every limit.
func (a *admission) fits(dest string) bool {
	return a.running < a.maxTotal && a.outgoing < a.maxOut && a.incoming[dest] < a.maxIn
}

// enqueue adds j in order and returns the jobs that may start now. If j
// itself can neither start nor stay within the queue length, it is taken
// out again and enqueue returns ErrBusy (the other started jobs are still
// returned and must be started).
func (a *admission) enqueue(j *job) ([]*job, error) {
	if other, ok := a.vms[j.vm]; ok {
		return nil, fmt.Errorf("%w (job %s)", ErrVMBusy, other.id)
	}
	a.seq++
	j.seq = a.seq
	i := sort.Search(len(a.queue), func(i int) bool { return j.before(a.queue[i]) })
	a.queue = append(a.queue, nil)
	copy(a.queue[i+1:], a.queue[i:])
	a.queue[i] = j
	a.vms[j.vm] = j
	started := a.next()
	if len(a.queue) > a.queueLen && a.remove(j) {
		return started, a.busy()
	}
	return started, nil
}

// next takes out of the queue, in order, every job that fits and counts
// it as running.
func (a *admission) next() []*job {
	var out []*job
	for i := 0; i < len(a.queue); {
		if a.running >= a.maxTotal || a.outgoing >= a.maxOut {
			break
		}
		j := a.queue[i]
		if a.incoming[j.dest] >= a.maxIn {
			i++
			continue
		}
		a.queue = append(a.queue[:i], a.queue[i+1:]...)
		a.running++
		a.outgoing++
		a.incoming[j.dest]++
		out = append(out, j)
	}
	return out
}

// remove takes a queued job out; it reports whether j was queued.
func (a *admission) remove(j *job) bool {
	for i, q := range a.queue {
		if q == j {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			delete(a.vms, j.vm)
			return true
		}
	}
	return false
}

// attach counts a recovered job as running whatever the limits: it runs
// in the hypervisor already.
func (a *admission) attach(j *job) error {
	if other, ok := a.vms[j.vm]; ok {
		return fmt.Errorf("%w (job %s)", ErrVMBusy, other.id)
	}
	a.vms[j.vm] = j
	a.running++
	a.outgoing++
	a.incoming[j.dest]++
	j.recovered = true
	return nil
}

// finish releases a running job's slot and returns the jobs that may
// start now.
func (a *admission) finish(j *job) []*job {
	if a.vms[j.vm] == j {
		delete(a.vms, j.vm)
	}
	a.running--
	a.outgoing--
	if a.incoming[j.dest]--; a.incoming[j.dest] <= 0 {
		delete(a.incoming, j.dest)
	}
	return a.next()
}
