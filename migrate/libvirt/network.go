package libvirt

import (
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// nicProblem is what the destination lacks for a NIC of the VM, "" if
// nothing: the libvirt network it is on (or that network inactive), or the
// host bridge it is attached to.
func nicProblem(h hypervisor, nic nicDef) (string, error) {
	switch {
	case nic.Network != "":
		// A NIC on a libvirt network (the running guest's definition
		// calls it type bridge, with the network's bridge, when the
		// network forwards to a host bridge): the destination needs the
		// network.
		net, err := h.NetworkLookupByName(nic.Network)
		if notFound(err) {
			return fmt.Sprintf("the destination has no libvirt network %q (NIC %s)", nic.Network, nic.MAC), nil
		}
		if err != nil {
			return "", err
		}
		if active, err := h.NetworkIsActive(net); err != nil {
			return "", err
		} else if active == 0 {
			return fmt.Sprintf("libvirt network %q is not active on the destination (NIC %s)", nic.Network, nic.MAC), nil
		}
	case nic.Type == "bridge":
		ok, err := bridgeExists(h, nic.Bridge)
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("the destination has no bridge %q (NIC %s)", nic.Bridge, nic.MAC), nil
		}
	}
	return "", nil
}

// bridgeExists asks the destination whether it has the host bridge name.
// Only libvirt's interface driver can answer that; where the host has
// none (a common setup: it needs netcf or udev), the answer is yes, and
// libvirt refuses the migration itself if the bridge is missing.
func bridgeExists(h hypervisor, name string) (bool, error) {
	_, err := h.InterfaceLookupByName(name)
	switch {
	case err == nil:
		return true, nil
	case isCode(err, golibvirt.ErrNoInterface):
		return false, nil
	case isRefused(err):
		return true, nil // no interface driver: cannot tell
	}
	return false, err
}
