package libvirt

import (
	"context"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/vsmig/vsmig/migrate"
)

var _ migrate.DomainWatcher = (*Driver)(nil)

// WatchDomains implements migrate.DomainWatcher with libvirt's domain
// lifecycle events (defined, undefined, started, suspended, resumed,
// stopped, shut down, crashed: each names its domain) for every domain of
// the libvirtd, on a connection of its own so that inventory calls on the
// main connection never wait behind them. The channel closes when ctx ends
// or the connection is lost; the engine then subscribes again.
func (d *Driver) WatchDomains(ctx context.Context) (<-chan string, error) {
	c := &conn{uri: d.cfg.URI, open: d.open}
	sctx, cancel := context.WithCancel(ctx)
	rctx, rcancel := context.WithTimeout(sctx, subscribeTimeout)
	in, err := call(rctx, c, "subscribe to lifecycle events", func(h hypervisor) (<-chan any, error) {
		return h.SubscribeEvents(sctx, golibvirt.DomainEventIDLifecycle, golibvirt.OptDomain{})
	})
	rcancel()
	if err != nil {
		cancel()
		c.close()
		return nil, err
	}
	out := make(chan string, 16)
	go func() {
		var later sync.WaitGroup
		defer close(out)
		defer later.Wait()
		defer c.close()
		defer cancel()
		send := func(id string) {
			select {
			case out <- id:
			case <-sctx.Done():
			}
		}
		// in is read to its end whatever happens: go-libvirt blocks on
		// it (see subscribe).
		for raw := range in {
			ev, ok := raw.(*golibvirt.DomainEventCallbackLifecycleMsg)
			if !ok {
				continue
			}
			id := uuid.UUID(ev.Msg.Dom.UUID).String()
			send(id)
			if ev.Msg.Event != int32(golibvirt.DomainEventStopped) {
				continue
			}
			// A migration's source sends its last event, stopped, before
			// it removes the domain (undefined, with no event of its own):
			// name the domain again 1 s and 5 s later, once that is done.
			later.Add(1)
			go func() {
				defer later.Done()
				for _, d := range []time.Duration{time.Second, 4 * time.Second} {
					select {
					case <-time.After(d):
						send(id)
					case <-sctx.Done():
						return
					}
				}
			}()
		}
	}()
	return out, nil
}
