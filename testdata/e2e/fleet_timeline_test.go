//go:build lab

package e2e

import (
	"net/url"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// migrationSampler records, every 50 ms, which of a host's guests have a
// libvirt job (an outgoing migration) on that host: the drain's timeline
// as the hypervisor saw it. A guest's job on its source ends before vsmig
// gives back the migration's slot, so a sample never counts more
// migrations than the limits let run at once: a sample over a limit is a
// real breach, however the machine's load spaces the samples.
type migrationSampler struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples [][]string // the guests migrating at each sample
}

// sampleMigrations starts sampling the guests' jobs on the libvirtd at uri.
func sampleMigrations(t *testing.T, uri string, guests []string) *migrationSampler {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		t.Fatalf("connect to %s: %v", uri, err)
	}
	doms := map[string]golibvirt.Domain{}
	for _, g := range guests {
		d, err := l.DomainLookupByName(g)
		if err != nil {
			l.Disconnect()
			t.Fatalf("look up %s on %s: %v", g, uri, err)
		}
		doms[g] = d
	}
	s := &migrationSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer l.Disconnect()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var active []string
			for _, g := range guests {
				// A guest gone from the host (migrated) has no job there.
				typ, _, _, _, _, _, _, _, _, _, _, _, err := l.DomainGetJobInfo(doms[g])
				if err == nil && typ != 0 { // 0: VIR_DOMAIN_JOB_NONE
					active = append(active, g)
				}
			}
			s.mu.Lock()
			s.samples = append(s.samples, active)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

// Stop ends the sampling and returns the samples.
func (s *migrationSampler) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// Samples returns what was seen so far.
func (s *migrationSampler) Samples() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.samples...)
}

// requireWithinLimits fails if a sample shows more migrations at once
// than maxRunning, or more into one destination than maxIncoming (dest
// names where each guest went).
func requireWithinLimits(t *testing.T, samples [][]string, dest map[string]string, maxRunning, maxIncoming int) {
	t.Helper()
	peak, peakIn, seen := 0, map[string]int{}, map[string]bool{}
	for i, active := range samples {
		in := map[string]int{}
		for _, g := range active {
			seen[g] = true
			in[dest[g]]++
		}
		if len(active) > maxRunning {
			t.Errorf("sample %d: %d migrations at once %v, over the cluster's limit of %d", i, len(active), active, maxRunning)
		}
		for d, n := range in {
			if n > maxIncoming {
				t.Errorf("sample %d: %d migrations into %s at once %v, over its incoming limit of %d", i, n, d, active, maxIncoming)
			}
			peakIn[d] = max(peakIn[d], n)
		}
		peak = max(peak, len(active))
	}
	t.Logf("timeline: %d samples, %d guests seen migrating, at most %d at once (limit %d), per destination %v (limit %d)",
		len(samples), len(seen), peak, maxRunning, peakIn, maxIncoming)
}
