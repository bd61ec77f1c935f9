package sim

import (
	"context"

	"github.com/vsmig/vsmig/migrate"
)

// The simulator reports changes of a host's VMs as libvirt's lifecycle
// events do (migrate.DomainWatcher): a VM defined or placed on a host, a
// VM leaving or arriving with a migration, a guest paused for a Resume
// migration or left crashed by a failed post-copy.

var _ migrate.DomainWatcher = (*driver)(nil)

// watchBuffer is how many changes a watcher may fall behind before the
// next ones are folded into one "re-read everything".
const watchBuffer = 64

// hostWatch is one WatchDomains subscription to a host's changes.
type hostWatch struct {
	ch     chan string
	resync bool // a change was dropped: send "" before the next one
}

// WatchDomains implements migrate.DomainWatcher.
func (d *driver) WatchDomains(ctx context.Context) (<-chan string, error) {
	w := &hostWatch{ch: make(chan string, watchBuffer)}
	d.c.mu.Lock()
	if d.c.watches == nil {
		d.c.watches = make(map[string]map[*hostWatch]struct{})
	}
	if d.c.watches[d.name] == nil {
		d.c.watches[d.name] = make(map[*hostWatch]struct{})
	}
	d.c.watches[d.name][w] = struct{}{}
	d.c.mu.Unlock()
	go func() {
		<-ctx.Done()
		d.c.mu.Lock()
		delete(d.c.watches[d.name], w)
		d.c.mu.Unlock()
		close(w.ch)
	}()
	return w.ch, nil
}

// touch tells the watchers of host h that VM id changed there. Called
// with c.mu held; it never blocks.
func (c *Cluster) touch(h *host, id string) {
	for w := range c.watches[h.cfg.Name] {
		if w.resync {
			select {
			case w.ch <- "":
				w.resync = false
			default:
				continue
			}
		}
		select {
		case w.ch <- id:
		default:
			w.resync = true
		}
	}
}
