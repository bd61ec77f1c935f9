//go:build integration

package libvirt

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/vsmig/vsmig/migrate"
)

// TestRecoverRepairsTwoRunningCopies: the worst state a crash can leave,
// the VM running on both hosts (here made by hand: the guest's definition
// started on B as well). The engine's recovery of the job finds it on
// both, keeps the copy that runs on the source and has the driver remove
// B's; the guest runs on A only, healthy, and the job says what happened.
func TestRecoverRepairsTwoRunningCopies(t *testing.T) {
	// A guest without a disk: one on shared storage cannot run twice (QEMU
	// locks its image), which is the point of that lock.
	const name = "vsmig-repair"
	addGuest(t, name, "", "")
	a, b, dom := namedGuestOnA(t, name)
	xml, err := call(context.Background(), a.main, "guest XML", func(h hypervisor) (string, error) {
		d, err := h.DomainLookupByName(name)
		if err != nil {
			return "", err
		}
		return h.DomainGetXMLDesc(d, golibvirt.DomainXMLMigratable|golibvirt.DomainXMLInactive)
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := openLibvirt(context.Background(), uriB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill) // after the cleanup below: cleanups run last-in first-out
	l := s.h.(*golibvirt.Libvirt)
	second, err := l.DomainDefineXML(xml)
	if err != nil {
		t.Fatalf("define the second copy on B: %v", err)
	}
	t.Cleanup(func() { // only if the test failed half-way
		_ = l.DomainDestroy(second)
		_ = l.DomainUndefine(second)
	})
	if err := l.DomainCreate(second); err != nil {
		t.Fatalf("start the second copy on B: %v", err)
	}
	p := plan(dom.UUID, hostB, uriB)
	if loc, err := a.Locate(context.Background(), p); loc != migrate.LocationBoth || err != nil {
		t.Fatalf("Locate = %v, %v; want both", loc, err)
	}

	var mu sync.Mutex
	var updates []migrate.Update
	cfg := migrate.DefaultConfig()
	// The record a daemon stopped mid-migration left in its store.
	cfg.Store = migrate.NewMemoryStore()
	err = cfg.Store.Create(context.Background(), &migrate.Job{ID: "repair-1", Plan: p, VMName: name,
		Submitted: time.Now(), Status: migrate.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnUpdate = func(u migrate.Update) {
		mu.Lock()
		updates = append(updates, u)
		mu.Unlock()
	}
	e, err := migrate.New(cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Recover(ctx); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	mu.Lock()
	if len(updates) != 1 {
		t.Fatalf("updates %+v, want one", updates)
	}
	u := updates[0]
	mu.Unlock()
	t.Logf("job ended: status %d, %s", u.Status, u.Reason)
	if u.Status != migrate.StatusFailed || !strings.Contains(u.Reason, "was removed") {
		t.Errorf("job update %+v, want failed with the removed copy named", u)
	}
	if j, err := e.Job(ctx, "repair-1"); err != nil || j.Status != migrate.StatusFailed || !strings.Contains(j.Error, "was removed") {
		t.Errorf("job record %+v, %v", j, err)
	}
	offset := fileSize(t, serialLog(name))
	assertOnlyOnA(t, a, b, dom.UUID)
	waitGuestHealthy(t, name, offset)
}
