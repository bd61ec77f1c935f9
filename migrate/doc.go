// Package migrate runs virtual machine migrations: admission and queueing,
// the pre-copy convergence policy, progress monitoring and recovery, over a
// Driver that talks to a hypervisor. migrate/libvirt drives libvirt through
// github.com/digitalocean/go-libvirt; migrate/sim is a deterministic model of
// pre-copy for the demo mode, scale tests and unit tests.
//
// Imports: the standard library and github.com/google/uuid. Never cim, wsman
// or any XML package; only migrate/libvirt imports a libvirt binding.
package migrate
