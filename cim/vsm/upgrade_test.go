package vsm

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vsmig/vsmig/migrate"
	"github.com/vsmig/vsmig/migrate/boltstore"
	"github.com/vsmig/vsmig/migrate/sim"
	"github.com/vsmig/vsmig/schemas"
)

// The jobs.db the release at commit e7b7390 wrote, and that release's CIM
// rendering of each of its jobs (migrate/boltstore/testdata).
const (
	upgradeDB     = "../../migrate/boltstore/testdata/jobs-e7b7390.db"
	upgradeGolden = "../../migrate/boltstore/testdata/jobs-e7b7390.golden"
)

// TestUpgradeRendering: after an upgrade, every job of the old store is
// served exactly as the old release served it (ElapsedTime of the two
// unfinished jobs aside: it grows as it is read); then the engine takes
// the unfinished ones up.
func TestUpgradeRendering(t *testing.T) {
	data, err := os.ReadFile(upgradeDB)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(upgradeGolden)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // InstanceID -> MOF
	for _, m := range regexp.MustCompile(`(?s)instance of VSMIG_MigrationJob \{.*?\n\};`).FindAllString(string(golden), -1) {
		id := regexp.MustCompile(`InstanceID = "([^"]+)"`).FindStringSubmatch(m)[1]
		want[id] = m
	}
	if len(want) != 8 {
		t.Fatalf("golden holds %d jobs", len(want))
	}
	store, err := boltstore.Open(path, boltstore.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}

	// The hosts and VMs of the fixture: the running job's VM is still on
	// host-a (its migration died with the daemon), the queued one's too.
	clk := migrate.ScaledClock(testSpeed)
	var vms []sim.VMConfig
	for _, n := range []string{"run-vm", "queue-vm"} {
		vms = append(vms, sim.VMConfig{Name: n, Host: "host-a", MemoryKiB: gib})
	}
	c, err := sim.NewCluster(sim.Config{Clock: clk, VMs: vms, Hosts: []sim.HostConfig{
		{Name: "host-a", MemoryKiB: 64 * gib}, {Name: "host-b", MemoryKiB: 64 * gib}, {Name: "host-c", MemoryKiB: 64 * gib}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := migrate.DefaultConfig()
	cfg.Clock, cfg.Store = clk, store
	e, err := migrate.New(cfg, c.Host("host-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(t.Context())
	p, err := New(Config{Registry: reg, Engine: e, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	jobs, err := e.Jobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var running, queuedID string
	for _, j := range jobs {
		inst := p.jobInstance(j)
		if !j.Status.Terminal() {
			inst.Set("ElapsedTime", nil)
		}
		if got := inst.String(); got != want[j.ID] {
			t.Errorf("job %s (%s) is served as\n%s\nthe release at e7b7390 served it as\n%s", j.ID, j.VMName, got, want[j.ID])
		}
		switch j.VMName {
		case "run-vm":
			running = j.ID
		case "queue-vm":
			queuedID = j.ID
		}
	}

	// The engine takes the two unfinished jobs up: the running one's
	// migration is gone and its VM on the source; the queued one runs.
	if err := e.Recover(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ := e.Job(t.Context(), running)
		q, _ := e.Job(t.Context(), queuedID)
		if r.Status.Terminal() && q.Status.Terminal() {
			if r.Status != migrate.StatusFailed || !strings.Contains(r.Error, "restart") || q.Status != migrate.StatusCompleted {
				t.Errorf("after recovery: running job %v %q, queued job %v", r.Status, r.Error, q.Status)
			}
			if w := c.Where(sim.VMUUID("queue-vm")); len(w) != 1 || w[0] != "host-c" {
				t.Errorf("queue-vm on %v", w)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered: %v, %v", r.Status, q.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
