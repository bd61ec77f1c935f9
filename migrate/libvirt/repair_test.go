package libvirt

import (
	"context"
	"strings"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

func TestRepair(t *testing.T) {
	const (
		running = golibvirt.DomainRunning
		paused  = golibvirt.DomainPaused
		shutoff = golibvirt.DomainShutoff
		none    = golibvirt.DomainNostate // not on that host
	)
	tests := []struct {
		name     string
		src, dst golibvirt.DomainState
		keep     migrate.Location
		// wantSrc and wantDst are the states after the repair.
		wantSrc, wantDst golibvirt.DomainState
		errIn            string
	}{
		{"running on both, keep the source", running, running, migrate.LocationSource, running, none, ""},
		{"paused source after the switch-over, keep the destination", paused, running, migrate.LocationDestination, none, running, ""},
		{"defined on both, keep the destination", shutoff, shutoff, migrate.LocationDestination, none, shutoff, ""},
		{"the other copy is gone already", running, none, migrate.LocationSource, running, none, ""},
		{"never stops the only running copy", running, shutoff, migrate.LocationDestination, running, shutoff, "only one running"},
		{"the copy to keep is gone", none, running, migrate.LocationSource, none, running, "gone"},
		{"keep must name a host", running, running, migrate.LocationBoth, running, running, "must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, src, dst, dom := fakePair(t)
			if tt.src == none {
				delete(src.doms, dom.UUID)
			} else {
				src.doms[dom.UUID].state = tt.src
			}
			if tt.dst != none {
				dst.addDomain(vmID, "web1", tt.dst)
			}
			err := d.Repair(context.Background(), livePlan(), tt.keep)
			if tt.errIn == "" && err != nil || tt.errIn != "" && (err == nil || !strings.Contains(err.Error(), tt.errIn)) {
				t.Fatalf("Repair = %v, want an error with %q", err, tt.errIn)
			}
			for _, h := range []struct {
				name string
				f    *fakeHost
				want golibvirt.DomainState
			}{{"source", src, tt.wantSrc}, {"destination", dst, tt.wantDst}} {
				got := none
				if x, err := h.f.dom(dom); err == nil {
					got = x.state
				}
				if got != h.want {
					t.Errorf("%s: state %d, want %d", h.name, got, h.want)
				}
			}
		})
	}
}
