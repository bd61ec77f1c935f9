// Package migrate runs virtual machine migrations and owns each of them
// from request to record: admission and queueing, the rule on the VM's
// run state (StateAllows), the pre-copy convergence policy, progress
// monitoring, recovery after a restart, and the durable job (Job) in a
// Store, over a Driver that talks to a hypervisor. The engine also
// answers for its host's inventory (Engine.Host, Domains, Domain), so
// that its callers never need the driver.
//
// migrate/libvirt drives libvirt through github.com/digitalocean/go-libvirt;
// migrate/sim is a deterministic model of pre-copy for the demo mode, scale
// tests and unit tests; migrate/boltstore keeps jobs in a bbolt file.
//
// Imports: the standard library and github.com/google/uuid. Never cim, wsman
// or any XML package; only migrate/libvirt imports a libvirt binding, only
// migrate/boltstore a database.
package migrate
