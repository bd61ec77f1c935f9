package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vsmig/vsmig/migrate"
)

// migration is one simulated migration: the model, advanced lazily to the
// cluster clock's now whenever it is looked at, plus a timer for its next
// event (round end, phase change, fault) so that Done closes on time. All
// fields are guarded by Cluster.mu.
type migration struct {
	c        *Cluster
	plan     migrate.Plan
	src, dst *host
	vm       *vm
	before   migrate.DomainState // the VM's state when it started

	m     model
	last  time.Time // clock time the model has been advanced to
	bw    float64   // current bandwidth, bytes/s
	cap   float64   // plan's cap, 0 for none
	fault *Fault
	timer migrate.Timer

	finished bool
	done     chan struct{}
	res      migrate.Result
	err      error
	iters    chan uint64
}

var (
	_ migrate.Migration         = (*migration)(nil)
	_ migrate.IterationNotifier = (*migration)(nil)
)

func (g *migration) destMemKiB() uint64 {
	if g.plan.NewMemoryKiB != 0 {
		return g.plan.NewMemoryKiB
	}
	return g.vm.cfg.MemoryKiB
}

// faultEvent is how long after the start the fault next changes
// something, or MaxInt64.
func (g *migration) faultEvent() time.Duration {
	f := g.fault
	if f == nil {
		return math.MaxInt64
	}
	el := g.m.elapsed
	switch f.Kind {
	case DestinationDies:
		return f.At
	case NetworkCut:
		if el < f.At {
			return f.At
		}
		if f.Duration > 0 && f.Duration <= KeepaliveTimeout {
			if end := f.At + f.Duration; el < end {
				return end
			}
			return math.MaxInt64
		}
		return f.At + KeepaliveTimeout
	}
	return math.MaxInt64
}

// faultState says, at elapsed el, whether the network is cut and whether
// the migration must fail now (and why).
func (g *migration) faultState(el time.Duration) (cut bool, fail error) {
	f := g.fault
	if f == nil || el < f.At {
		return false, nil
	}
	switch f.Kind {
	case DestinationDies:
		return false, fmt.Errorf("sim: connection to %s lost: the destination daemon died (simulated)", g.dst.cfg.Name)
	case NetworkCut:
		if f.Duration > 0 && f.Duration <= KeepaliveTimeout {
			return el < f.At+f.Duration, nil
		}
		if el >= f.At+KeepaliveTimeout {
			return true, fmt.Errorf("sim: connection to %s lost: no keepalive response for %v (simulated network cut)", g.dst.cfg.Name, KeepaliveTimeout)
		}
		return true, nil
	}
	return false, nil
}

// sync advances the model to now, splitting the time at fault events.
func (g *migration) sync(now time.Time) {
	for !g.finished {
		cut, fail := g.faultState(g.m.elapsed)
		if fail != nil {
			if g.fault.Kind == DestinationDies {
				g.dst.down = true
			}
			g.fail(fail)
			return
		}
		if !now.After(g.last) {
			return
		}
		dt := now.Sub(g.last)
		if ev := g.faultEvent(); ev > g.m.elapsed {
			dt = min(dt, ev-g.m.elapsed)
		}
		bw := g.bw
		if cut {
			bw = 0
		}
		before := g.m.elapsed
		rounds := g.m.advance(dt, bw)
		if g.m.done() {
			// The model stops its clock at the end; so do we.
			g.last = g.last.Add(g.m.elapsed - before)
		} else {
			g.last = g.last.Add(dt)
		}
		if rounds > 0 {
			select {
			case g.iters <- g.m.iteration:
			default:
			}
		}
		if g.m.done() {
			if g.m.err != nil {
				g.fail(g.m.err)
			} else {
				g.succeed()
			}
			return
		}
	}
}

// schedule sets the timer for the next event.
func (g *migration) schedule() {
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if g.finished {
		return
	}
	bw := g.bw
	if cut, _ := g.faultState(g.m.elapsed); cut {
		bw = 0
	}
	d := g.m.next(bw)
	if ev := g.faultEvent(); ev != math.MaxInt64 {
		d = min(d, max(ev-g.m.elapsed, 0))
	}
	if d == math.MaxInt64 {
		return
	}
	g.timer = g.c.clock.AfterFunc(max(d, time.Microsecond), g.fire)
}

func (g *migration) fire() {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	if g.finished {
		return
	}
	g.sync(g.c.clock.Now())
	if g.finished {
		g.c.rebalance(g.src)
		return
	}
	g.schedule()
}

// end closes the migration; the caller rebalances the source's NIC.
func (g *migration) end(err error) {
	g.finished = true
	g.err = err
	g.res = g.m.result()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	delete(g.c.migs, g.plan.VM)
	g.c.traceLocked(g, false, err)
	close(g.done)
}

// succeed moves the VM to the destination.
func (g *migration) succeed() {
	v := *g.vm
	delete(g.src.vms, v.cfg.UUID)
	if g.plan.NewName != "" {
		v.cfg.Name = g.plan.NewName
	}
	if g.plan.NewMemoryKiB != 0 {
		v.cfg.MemoryKiB = g.plan.NewMemoryKiB
	}
	if g.plan.NewVCPUs != 0 {
		v.cfg.VCPUs = g.plan.NewVCPUs
	}
	v.cfg.Host = g.dst.cfg.Name
	v.state = g.before
	g.dst.vms[v.cfg.UUID] = &v
	g.c.touch(g.src, v.cfg.UUID)
	g.c.touch(g.dst, v.cfg.UUID)
	g.end(nil)
}

// fail ends the migration with the VM where it belongs: on the source in
// its former state, or, if post-copy had begun, nowhere whole (the guest
// ran on the destination with pages still on the source), left crashed on
// the destination.
func (g *migration) fail(err error) {
	if g.m.phase == phasePostcopy || g.m.phase == phasePostSwitch {
		v := *g.vm
		delete(g.src.vms, v.cfg.UUID)
		v.cfg.Host, v.state = g.dst.cfg.Name, migrate.StateCrashed
		g.dst.vms[v.cfg.UUID] = &v
		g.c.touch(g.dst, v.cfg.UUID)
		err = fmt.Errorf("%w; post-copy had begun, the VM is lost (crashed on %s)", err, g.dst.cfg.Name)
	} else {
		g.vm.state = g.before
	}
	g.c.touch(g.src, g.vm.cfg.UUID)
	g.end(err)
}

// Progress implements migrate.Migration.
func (g *migration) Progress(ctx context.Context) (migrate.Progress, error) {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.sync(g.c.clock.Now())
	if g.finished {
		g.c.rebalance(g.src)
	}
	bw := g.bw
	if cut, _ := g.faultState(g.m.elapsed); cut {
		bw = 0
	}
	return g.m.progress(bw), nil
}

func (g *migration) Done() <-chan struct{} { return g.done }

func (g *migration) Iterations() <-chan uint64 { return g.iters }

func (g *migration) Result() (migrate.Result, error) {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	if !g.finished {
		return migrate.Result{}, errors.New("sim: migration still running")
	}
	return g.res, g.err
}

// Abort implements migrate.Migration. Post-copy cannot be aborted; in the
// finish phase an abort is too late and changes nothing.
func (g *migration) Abort(ctx context.Context) error {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.sync(g.c.clock.Now())
	if g.finished {
		g.c.rebalance(g.src)
		return nil
	}
	if g.m.phase == phasePostcopy || g.m.phase == phasePostSwitch {
		return fmt.Errorf("sim: %w: a migration in post-copy cannot be aborted", migrate.ErrUnsupported)
	}
	if g.m.phase == phaseFinish {
		// As with libvirt, whose abort then finds QEMU's migration
		// completed and cancels nothing: the guest already runs on the
		// destination, and the migration ends successfully.
		return nil
	}
	g.fail(errors.New("sim: operation aborted: migration job canceled by client"))
	g.c.rebalance(g.src)
	return nil
}

func (g *migration) SetMaxDowntime(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("sim: max downtime %v must be positive", d)
	}
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.sync(g.c.clock.Now())
	g.m.downtime = d
	g.schedule()
	return nil
}

func (g *migration) EnableAutoConverge(ctx context.Context) error {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	if !g.plan.AutoConverge {
		return fmt.Errorf("sim: %w: auto-converge was not permitted at the start", migrate.ErrUnsupported)
	}
	g.sync(g.c.clock.Now())
	g.m.enableAutoConverge()
	g.schedule()
	return nil
}

func (g *migration) StartPostCopy(ctx context.Context) error {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	if !g.plan.PostCopy {
		return fmt.Errorf("sim: %w: post-copy was not permitted at the start", migrate.ErrUnsupported)
	}
	g.sync(g.c.clock.Now())
	if g.finished {
		return migrate.ErrFinished
	}
	if err := g.m.startPostCopy(); err != nil {
		return err
	}
	g.schedule()
	return nil
}
