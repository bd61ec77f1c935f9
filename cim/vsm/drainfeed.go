package vsm

import (
	"context"
	"time"

	"github.com/vsmig/vsmig/cim"
	"github.com/vsmig/vsmig/migrate"
)

// drainFeed reports the changes of this host's drains (Config.Fleet) as
// indications of their VSMIG_DrainJob instances: CIM_InstCreation when a
// drain begins, CIM_InstModification at each change of its record (a
// migration started or ended, a VM that cannot move, the cancel, the
// end), CIM_InstDeletion when its record is deleted. A client that
// follows a drain by subscription (vsmigctl drain --wait) so sees each
// step as the drain takes it, as it sees a migration's.
//
// The records live in etcd; the feed reads them from the fleet's view
// of the cluster whenever it says one changed, so changes close together
// may show as one, with the latest record. PercentComplete is as of the
// record's change: a migration's progress between two changes shows in
// the drain's instance when read, not as an indication.
type drainFeed struct {
	p       *Profile
	obs     cim.ChangeObserver
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
	shown   map[string]shownDrain // by drain ID; the feed's goroutine only
}

// shownDrain is a drain as its last indication showed it.
type shownDrain struct {
	changed time.Time
	state   migrate.DrainState
	status  string
	inst    *cim.Instance
}

// startDrainFeed takes the drains there are as shown, then follows
// their changes until stop.
func (p *Profile) startDrainFeed() *drainFeed {
	ctx, cancel := context.WithCancel(context.Background())
	f := &drainFeed{p: p, obs: p.cfg.Indications, cancel: cancel, done: make(chan struct{}), started: time.Now(),
		shown: map[string]shownDrain{}}
	changed := p.cfg.Fleet.DrainsChanged()
	f.sync(ctx, true)
	go f.run(ctx, changed)
	return f
}

func (f *drainFeed) stop() {
	f.cancel()
	<-f.done
}

func (f *drainFeed) run(ctx context.Context, changed <-chan struct{}) {
	defer close(f.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		changed = f.p.cfg.Fleet.DrainsChanged()
		f.sync(ctx, false)
	}
}

// sync compares the drains with what was shown and reports the
// differences. At the first look the drains there are taken as shown;
// later a new record is a creation, even one that has ended already (it
// began and ended between two looks), unless it ended before the feed
// started (an old drain the view of the cluster lists only now, when
// etcd answered late).
func (f *drainFeed) sync(ctx context.Context, first bool) {
	cctx, cancel := context.WithTimeout(ctx, defaultCallTimeout)
	defer cancel()
	seen := make(map[string]bool)
	for _, rec := range f.p.cfg.Fleet.Drains() {
		seen[rec.ID] = true
		old, ok := f.shown[rec.ID]
		if ok && old.changed.Equal(rec.Changed) && old.state == rec.State && old.status == rec.Status {
			continue
		}
		inst := f.p.drainInstance(cctx, rec)
		switch {
		case ok:
			f.obs.Modified(old.inst, inst)
		case !first && (!rec.State.Terminal() || rec.Changed.After(f.started)):
			f.obs.Created(inst)
		}
		f.shown[rec.ID] = shownDrain{changed: rec.Changed, state: rec.State, status: rec.Status, inst: inst}
	}
	for id, old := range f.shown {
		if !seen[id] {
			f.obs.Deleted(old.inst)
			delete(f.shown, id)
		}
	}
}
