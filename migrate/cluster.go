package migrate

import (
	"context"
	"errors"
)

// Cluster is the fleet this engine's host belongs to, as the engine's
// admission sees it (Config.Cluster; nil for a single host, which changes
// nothing). The rules a cluster adds are applied once, here, in the same
// path as the local ones:
//
//   - Check, in evaluate after the local rules and before the driver's:
//     the cluster is reachable, the destination is a live member, the VM
//     is not locked by another host's job;
//   - Lock, in Submit before the job is queued: the VM's cluster-wide lock
//     (one migration per VM in the whole cluster), held until the job ends;
//   - Acquire, when local admission lets the job start and before the
//     driver is asked to: a slot of the cluster's limit of running
//     migrations and of the destination's incoming limit, counted across
//     all sources; it waits while the cluster is full;
//   - Release, when the job ends (or is withdrawn or cancelled before it
//     ran): the slot and the lock go back.
//
// Reattach is Recover's: it takes the lock and slot of a job that runs in
// the hypervisor already, whatever the limits.
//
// A host that cannot reach the cluster starts no new migration: Check,
// Lock and Acquire return an error that wraps ErrClusterUnavailable (the
// DSP1081 return code 5). Running migrations are not touched; their
// slots are released when they end, or by the cluster once the host's
// membership lapses.
type Cluster interface {
	Check(ctx context.Context, j ClusterJob) error
	Lock(ctx context.Context, j ClusterJob) error
	// Acquire blocks until j holds a slot, ctx ends, or the cluster is
	// unavailable. waiting, if not nil, is called once if it has to wait,
	// with the reason.
	Acquire(ctx context.Context, j ClusterJob, waiting func(reason string)) error
	// Release must not block for long: an implementation that cannot
	// reach the cluster retries in the background.
	Release(j ClusterJob)
	Reattach(ctx context.Context, j ClusterJob) error
}

// ClusterJob is a job as the cluster knows it.
type ClusterJob struct {
	ID        string `json:"id"`
	VM        string `json:"vm"` // canonical UUID
	VMName    string `json:"vm_name,omitempty"`
	Source    string `json:"source"`
	Dest      string `json:"dest"`
	MemoryKiB uint64 `json:"memory_kib,omitempty"`
}

// ErrClusterUnavailable: the host cannot reach its cluster, or its
// membership has lapsed; it starts no new migration until it is back.
var ErrClusterUnavailable = errors.New("migrate: cluster unavailable")

// clusterJob is j as the cluster knows it.
func (e *Engine) clusterJob(j *job, vmName string, memKiB uint64) ClusterJob {
	return ClusterJob{ID: j.id, VM: j.vm, VMName: vmName, Source: e.selfName(), Dest: j.dest, MemoryKiB: memKiB}
}

// selfName is the local host's name once hostName has learnt it.
func (e *Engine) selfName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.self
}

// release gives back j's cluster slot and lock, if the engine has a
// cluster.
func (e *Engine) clusterRelease(j *job) {
	if c := e.cfg.Cluster; c != nil {
		c.Release(j.cj)
	}
}

// acquire waits for j's cluster slot before run starts it. It returns
// nil at once without a cluster.
func (e *Engine) clusterAcquire(j *job) error {
	c := e.cfg.Cluster
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	e.mu.Lock()
	if j.cancel != noCancel {
		e.mu.Unlock()
		return context.Canceled
	}
	j.stopWait = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		j.stopWait = nil
		e.mu.Unlock()
	}()
	return c.Acquire(ctx, j.cj, func(reason string) {
		e.emit(j.update(Update{Status: StatusStarting, Reason: reason}))
	})
}

// notStarted ends a job whose cluster slot was not had: cancelled while
// it waited, or the cluster became unavailable. When the engine is
// shutting down the job is left to Recover, as run leaves it.
func (e *Engine) notStarted(j *job, err error) {
	if e.shuttingDown() {
		return
	}
	e.endUnstarted(j, "before it started", "not started: "+trimPrefix(err.Error()), err)
}

// endUnstarted ends a job whose VM never left the source: Killed or
// Cancelled if that was asked while it was (when) getting ready, else
// Failed with err, why being what the job's reason says.
func (e *Engine) endUnstarted(j *job, when, why string, err error) {
	e.mu.Lock()
	pending := j.cancel
	e.mu.Unlock()
	const runs = "; the VM runs on the source"
	switch pending {
	case killRequested:
		e.end(j, Update{JobID: j.id, Status: StatusKilled, Reason: "killed " + when + runs})
	case cancelRequested:
		e.end(j, Update{JobID: j.id, Status: StatusCancelled, Reason: "cancelled " + when + runs})
	default:
		e.end(j, Update{JobID: j.id, Status: StatusFailed, Err: err, Reason: why + runs})
	}
}

func trimPrefix(s string) string {
	const p = "migrate: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
