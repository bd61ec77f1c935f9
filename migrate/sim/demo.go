package sim

import "github.com/vsmig/vsmig/migrate"

// DemoSpeed is how much faster than the wall clock the demo runs: a 2 GiB
// VM over the demo's 1 GbE takes about 19 simulated seconds, under 5 real
// ones.
const DemoSpeed = 4

const (
	kib = 1
	mib = 1024 * kib
	gib = 1024 * mib
)

// DemoConfig is the inventory `make run` shows when no libvirt is
// reachable: host-a (the local host), host-b to migrate to, and host-c
// with another CPU model (a destination the checks refuse). The VMs cover
// the policy's cases.
func DemoConfig() Config {
	const cpu = "Skylake-Server-IBRS"
	return Config{
		Speed: DemoSpeed,
		Hosts: []HostConfig{
			{Name: "host-a", CPUModel: cpu, MemoryKiB: 64 * gib},
			{Name: "host-b", CPUModel: cpu, MemoryKiB: 64 * gib},
			{Name: "host-c", CPUModel: "EPYC-Milan", MemoryKiB: 16 * gib},
		},
		VMs: []VMConfig{
			// Converges in a few rounds at the first downtime limit.
			{Name: "web-01", Host: "host-a", MemoryKiB: 2 * gib, VCPUs: 2, DirtyRate: 20e6, WorkingSet: 256e6, CPUModel: cpu},
			// Nearly idle.
			{Name: "dns-01", Host: "host-a", MemoryKiB: 1 * gib, VCPUs: 1, DirtyRate: 1e6, WorkingSet: 16e6},
			// Its hot set outgrows the first downtime window: the ramp
			// raises the limit until it fits.
			{Name: "db-01", Host: "host-a", MemoryKiB: 8 * gib, VCPUs: 4, DirtyRate: 90e6, WorkingSet: 60e6, CPUModel: cpu},
			// Dirties faster than the link: only auto-converge finishes it.
			{Name: "cache-01", Host: "host-a", MemoryKiB: 4 * gib, VCPUs: 4, DirtyRate: 150e6, WorkingSet: 1 << 30, CPUModel: cpu},
			// Shut off: only a Restart (offline) migration moves it.
			{Name: "batch-01", Host: "host-a", MemoryKiB: 2 * gib, VCPUs: 2, State: migrate.StateShutoff},
			// Already on host-b: a migration of a same-named VM is refused.
			{Name: "web-02", Host: "host-a", MemoryKiB: 2 * gib, VCPUs: 2, DirtyRate: 10e6, WorkingSet: 128e6},
			{Name: "web-02", UUID: VMUUID("web-02 (host-b)"), Host: "host-b", MemoryKiB: 2 * gib, VCPUs: 2},
		},
	}
}

// DemoCluster builds DemoConfig on the wall clock sped up DemoSpeed times.
func DemoCluster() *Cluster {
	c, err := NewCluster(DemoConfig())
	if err != nil {
		panic("sim: demo inventory: " + err.Error()) // a bug in DemoConfig
	}
	return c
}

// ClusterDemoConfig is the inventory of `make run-cluster`: three hosts,
// each served by its own vsmigd in a cluster, with host-a's four VMs to
// drain onto host-b and host-c (host-b has two of its own).
func ClusterDemoConfig() Config {
	const cpu = "Skylake-Server-IBRS"
	host := func(name string) HostConfig {
		return HostConfig{Name: name, CPUModel: cpu, MemoryKiB: 64 * gib, CPUs: 32,
			Networks: []string{"default"}, StoragePools: []string{"shared"}}
	}
	vm := func(name, on string, memGiB uint64, dirty float64) VMConfig {
		return VMConfig{Name: name, Host: on, MemoryKiB: memGiB * gib, VCPUs: 2, DirtyRate: uint64(dirty), WorkingSet: 128e6,
			Networks: []string{"default"}, StoragePools: []string{"shared"}}
	}
	return Config{
		Speed: DemoSpeed,
		Hosts: []HostConfig{host("host-a"), host("host-b"), host("host-c")},
		VMs: []VMConfig{
			vm("web-01", "host-a", 2, 20e6), vm("web-02", "host-a", 2, 10e6),
			vm("dns-01", "host-a", 1, 1e6), vm("db-01", "host-a", 8, 40e6),
			vm("app-01", "host-b", 4, 10e6), vm("app-02", "host-b", 4, 10e6),
		},
	}
}
