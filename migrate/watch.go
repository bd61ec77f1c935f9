package migrate

import (
	"context"
	"errors"
	"slices"
	"time"
)

// This file follows the local host's inventory as it changes: VMs that
// arrive (migrated in, defined, started), leave (migrated away,
// undefined) or change (their run state, name, size), for the CIM
// indications of virtual systems.

// DomainWatcher is implemented by a Driver that reports changes of its
// host's VMs as they happen (libvirt's domain lifecycle events, the
// simulator's moves). WatchDomains sends the UUID of each VM that may have
// changed, "" when it cannot tell which (re-read them all). The channel is
// closed when ctx ends or the source is lost (a connection drop); the
// engine then reads the inventory whole and watches again. Without it the
// engine polls (see Engine.WatchDomains).
type DomainWatcher interface {
	WatchDomains(ctx context.Context) (<-chan string, error)
}

// DomainChange is one change of the local host's inventory: a VM arrived
// (Old is nil), left (New is nil) or changed (both set).
type DomainChange struct {
	Old, New *Domain
}

// Intervals of an inventory watch.
const (
	// InventoryPollInterval is how often the inventory is read whole when
	// the driver has no DomainWatcher (or its watch failed): a VM
	// arriving or leaving is seen within it.
	InventoryPollInterval = 5 * time.Second
	// InventoryResyncInterval is how often the inventory is read whole
	// even with a DomainWatcher, to mend what a lost event hid.
	InventoryResyncInterval = time.Minute
	// inventoryCallTimeout bounds one driver call of a watch.
	inventoryCallTimeout = 10 * time.Second
)

// DomainWatch is a running inventory watch (Engine.WatchDomains).
type DomainWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Stop ends the watch and waits until its callback is no longer called.
func (w *DomainWatch) Stop() {
	w.cancel()
	<-w.done
}

// WatchDomains returns the local host's VMs as they are now, then calls
// fn, from one goroutine and in order, with every change of them until
// Stop or Shutdown: each event of the driver's DomainWatcher re-reads the
// VM it names (one Driver.Domain call), and the whole inventory is read
// again every InventoryResyncInterval (InventoryPollInterval without a
// working DomainWatcher) and compared with what fn was told. fn must not
// block for long.
func (e *Engine) WatchDomains(ctx context.Context, fn func(DomainChange)) (*DomainWatch, []Domain, error) {
	doms, err := e.local.Domains(ctx)
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	w := &DomainWatch{cancel: cancel, done: make(chan struct{})}
	iw := &inventoryWatch{e: e, fn: fn, known: make(map[string]Domain, len(doms))}
	for _, d := range doms {
		iw.known[d.UUID] = d
	}
	go func() {
		defer close(w.done)
		iw.run(wctx)
	}()
	return w, slices.Clone(doms), nil
}

// inventoryWatch is the state of one WatchDomains: what fn was told.
type inventoryWatch struct {
	e     *Engine
	fn    func(DomainChange)
	known map[string]Domain // by UUID
}

func (iw *inventoryWatch) run(ctx context.Context) {
	dw, _ := iw.e.local.(DomainWatcher)
	var events <-chan string
	var stopEvents context.CancelFunc = func() {}
	defer func() { stopEvents() }()
	subscribe := func() {
		if dw == nil {
			return
		}
		ectx, cancel := context.WithCancel(ctx)
		ch, err := dw.WatchDomains(ectx)
		if err != nil {
			cancel()
			iw.e.log.Warn("no inventory events; polling the inventory", "every", InventoryPollInterval, "err", err)
			return
		}
		events, stopEvents = ch, cancel
	}
	subscribe()
	// The inventory may have changed between the first read and the
	// subscription: read it again once subscribed.
	iw.resync(ctx)
	interval := InventoryPollInterval
	if events != nil {
		interval = InventoryResyncInterval
	}
	tick := iw.e.clock.NewTicker(interval)
	defer func() { tick.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-iw.e.stopc:
			return
		case id, ok := <-events:
			if !ok {
				// The source is lost: watch again on the next tick,
				// polling meanwhile.
				events = nil
				stopEvents()
				tick.Stop()
				tick = iw.e.clock.NewTicker(InventoryPollInterval)
				iw.resync(ctx)
				continue
			}
			if id == "" {
				iw.resync(ctx)
			} else {
				iw.reread(ctx, canonicalUUID(id))
			}
		case <-tick.C():
			if dw != nil && events == nil {
				subscribe()
				if events != nil {
					tick.Stop()
					tick = iw.e.clock.NewTicker(InventoryResyncInterval)
				}
			}
			iw.resync(ctx)
		}
	}
}

// reread reads one VM again and reports how it changed.
func (iw *inventoryWatch) reread(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(ctx, inventoryCallTimeout)
	defer cancel()
	d, err := iw.e.local.Domain(cctx, id)
	switch {
	case errors.Is(err, ErrNoDomain):
		iw.gone(id)
	case err != nil:
		if ctx.Err() == nil {
			iw.e.log.Debug("inventory watch: cannot read a VM", "vm", id, "err", err)
		}
	default:
		iw.seen(d)
	}
}

// resync reads the whole inventory and reports every difference from what
// fn was told.
func (iw *inventoryWatch) resync(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, inventoryCallTimeout)
	defer cancel()
	doms, err := iw.e.local.Domains(cctx)
	if err != nil {
		if ctx.Err() == nil {
			iw.e.log.Debug("inventory watch: cannot list the VMs", "err", err)
		}
		return
	}
	present := make(map[string]bool, len(doms))
	for _, d := range doms {
		present[d.UUID] = true
		iw.seen(d)
	}
	var gone []string
	for id := range iw.known {
		if !present[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		iw.gone(id)
	}
}

func (iw *inventoryWatch) seen(d Domain) {
	old, ok := iw.known[d.UUID]
	if ok && old == d {
		return
	}
	iw.known[d.UUID] = d
	nd := d
	if !ok {
		iw.fn(DomainChange{New: &nd})
		return
	}
	iw.fn(DomainChange{Old: &old, New: &nd})
}

func (iw *inventoryWatch) gone(id string) {
	old, ok := iw.known[id]
	if !ok {
		return
	}
	delete(iw.known, id)
	iw.fn(DomainChange{Old: &old})
}
