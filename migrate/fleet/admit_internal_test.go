package fleet

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/fleet/fleettest"
)

// TestTakeSlotsComparesRegistration: a slot is taken only while the
// destination's registration is the one the admission judged. A host
// whose cache has not yet seen the destination's drain mark (an older
// revision) takes nothing; that is what keeps a migration from entering
// a host after its drain listed its VMs.
func TestTakeSlotsComparesRegistration(t *testing.T) {
	etcd := fleettest.Start(t, 1, fleettest.Options{})
	f, err := New(Config{Endpoints: etcd.Endpoints(), Prefix: "/take/", Host: "a", LeaseTTL: 3 * time.Second, OpTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := concurrency.NewSession(f.cli, concurrency.WithTTL(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	register := func(draining bool) int64 {
		t.Helper()
		r, err := f.cli.Put(ctx, f.key("members", "b"), string(mustJSON(migrate.Member{Name: "b", Health: "ok", Draining: draining})))
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	seen := register(false) // what a lagging cache still shows
	register(true)          // b began its drain since
	cj := migrate.ClusterJob{ID: "job-1", VM: "vm-1", Source: "a", Dest: "b"}
	ok, err := f.takeSlots(ctx, s, cj, seen, "slots/total/0", "slots/in/b/0", false)
	if err != nil || ok {
		t.Fatalf("takeSlots on a stale registration: ok %v, err %v; want refused", ok, err)
	}
	r, err := f.cli.Get(ctx, f.key("slots"), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || r.Count != 0 {
		t.Fatalf("slots after the refusal: %v (%v), want none", r, err)
	}
	current := register(false) // the drain ended
	if ok, err := f.takeSlots(ctx, s, cj, current, "slots/total/0", "slots/in/b/0", false); err != nil || !ok {
		t.Fatalf("takeSlots on the current registration: ok %v, err %v; want taken", ok, err)
	}
}
