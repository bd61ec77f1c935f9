package libvirt

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// counter counts RPCs by host and procedure.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(host, proc string) { c.mu.Lock(); c.n[host+" "+proc]++; c.mu.Unlock() }
func (c *counter) reset()                { c.mu.Lock(); c.n = map[string]int{}; c.mu.Unlock() }
func (c *counter) report() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	total := 0
	for k, v := range c.n {
		keys = append(keys, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(keys)
	return total, strings.Join(keys, " ")
}

// countingHV counts each call of a hypervisor: one libvirt RPC each.
type countingHV struct {
	hypervisor
	c    *counter
	host string
}

func (h countingHV) ConnectGetCapabilities() (string, error) {
	h.c.add(h.host, "ConnectGetCapabilities")
	return h.hypervisor.ConnectGetCapabilities()
}
func (h countingHV) ConnectGetHostname() (string, error) {
	h.c.add(h.host, "ConnectGetHostname")
	return h.hypervisor.ConnectGetHostname()
}
func (h countingHV) ConnectGetVersion() (uint64, error) {
	h.c.add(h.host, "ConnectGetVersion")
	return h.hypervisor.ConnectGetVersion()
}
func (h countingHV) ConnectCompareCPU(x string, f golibvirt.ConnectCompareCPUFlags) (int32, error) {
	h.c.add(h.host, "ConnectCompareCPU")
	return h.hypervisor.ConnectCompareCPU(x, f)
}
func (h countingHV) NodeGetInfo() ([32]int8, uint64, int32, int32, int32, int32, int32, int32, error) {
	h.c.add(h.host, "NodeGetInfo")
	return h.hypervisor.NodeGetInfo()
}
func (h countingHV) NodeGetFreeMemory() (uint64, error) {
	h.c.add(h.host, "NodeGetFreeMemory")
	return h.hypervisor.NodeGetFreeMemory()
}
func (h countingHV) ConnectListAllDomains(n int32, f golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error) {
	h.c.add(h.host, "ConnectListAllDomains")
	return h.hypervisor.ConnectListAllDomains(n, f)
}
func (h countingHV) DomainLookupByUUID(u golibvirt.UUID) (golibvirt.Domain, error) {
	h.c.add(h.host, "DomainLookupByUUID")
	return h.hypervisor.DomainLookupByUUID(u)
}
func (h countingHV) DomainLookupByName(n string) (golibvirt.Domain, error) {
	h.c.add(h.host, "DomainLookupByName")
	return h.hypervisor.DomainLookupByName(n)
}
func (h countingHV) DomainGetInfo(d golibvirt.Domain) (uint8, uint64, uint64, uint16, uint64, error) {
	h.c.add(h.host, "DomainGetInfo")
	return h.hypervisor.DomainGetInfo(d)
}
func (h countingHV) DomainGetState(d golibvirt.Domain, f uint32) (int32, int32, error) {
	h.c.add(h.host, "DomainGetState")
	return h.hypervisor.DomainGetState(d, f)
}
func (h countingHV) DomainIsPersistent(d golibvirt.Domain) (int32, error) {
	h.c.add(h.host, "DomainIsPersistent")
	return h.hypervisor.DomainIsPersistent(d)
}
func (h countingHV) DomainGetXMLDesc(d golibvirt.Domain, f golibvirt.DomainXMLFlags) (string, error) {
	h.c.add(h.host, "DomainGetXMLDesc")
	return h.hypervisor.DomainGetXMLDesc(d, f)
}
func (h countingHV) DomainGetJobStats(d golibvirt.Domain, f golibvirt.DomainGetJobStatsFlags) (int32, []golibvirt.TypedParam, error) {
	h.c.add(h.host, "DomainGetJobStats")
	return h.hypervisor.DomainGetJobStats(d, f)
}

// gatedDriver holds Start until gate closes, so that nothing but the
// admission of a job is counted.
type gatedDriver struct {
	*Driver
	gate chan struct{}
}

func (g gatedDriver) Start(ctx context.Context, p migrate.Plan) (migrate.Migration, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("gated")
}

// TestRPCsPerAcceptedMigrate counts the libvirt RPCs (one per
// hypervisor call: go-libvirt makes one remote procedure call for each)
// that an accepted migration costs before the client hears 4096: all of
// Engine.Submit, since cim/vsm no longer reads the VM itself (issue #10).
// The release at e7b7390 made 19 (23 for the first request), 14 of them
// to the source, reading the VM four times: the profile's look-up, then
// the engine's in Check, in the driver's check and in Submit. Now the
// VM is read twice (Domain, then the driver's check looks it up for its
// job and definition), the source's host UUID once per driver.
func TestRPCsPerAcceptedMigrate(t *testing.T) {
	src := newFakeHost("00000000-0000-4000-8000-0000000000a1")
	dst := newFakeHost("00000000-0000-4000-8000-0000000000b2")
	src.addDomain(vmID, "web1", golibvirt.DomainRunning)
	const vm2 = "60cf1512-6d4a-4b5b-928b-871b2673d1b2"
	src.addDomain(vm2, "web2", golibvirt.DomainRunning)
	c := &counter{n: map[string]int{}}
	sessions := 0
	open := func(ctx context.Context, uri string) (*session, error) {
		s, err := fakeNet{uriSrc: src, uriDst: dst}.open(ctx, uri)
		if err != nil {
			return nil, err
		}
		name := "src"
		if uri == uriDst {
			name = "dst"
		}
		c.mu.Lock()
		sessions++
		c.mu.Unlock()
		s.h = countingHV{s.h, c, name}
		return s, nil
	}
	d, err := newDriver(context.Background(), Config{URI: uriSrc}, open)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gate := make(chan struct{})
	e, err := migrate.New(migrate.DefaultConfig(), gatedDriver{d, gate})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(gate)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Shutdown(ctx)
	}()
	submit := func(id, vm string) (int, string) {
		t.Helper()
		c.reset()
		c.mu.Lock()
		sessions = 0
		c.mu.Unlock()
		_, err := e.Submit(context.Background(), migrate.Request{JobID: id,
			Plan: migrate.Plan{VM: vm, Type: migrate.Live, DestHost: "10.0.0.3"}})
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		n, detail := c.report()
		c.mu.Lock()
		defer c.mu.Unlock()
		return n, fmt.Sprintf("%d sessions opened: %s", sessions, detail)
	}
	first, detail := submit("j1", vmID)
	t.Logf("first accepted Migrate: %d RPCs, %s", first, detail)
	steady, detail := submit("j2", vm2)
	t.Logf("second accepted Migrate: %d RPCs, %s", steady, detail)
	if first != 15 || steady != 11 {
		t.Errorf("RPCs per accepted Migrate: first %d, then %d; want 15 and 11", first, steady)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.n["src DomainLookupByUUID"]; n != 2 {
		t.Errorf("the VM was looked up %d times on the source, want 2", n)
	}
}
