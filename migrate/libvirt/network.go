package libvirt

import (
	"fmt"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// nicProblem is what the destination lacks for a NIC of the VM, "" if
// nothing: the libvirt network it is on (or that network inactive), or the
// host bridge it is attached to.
func nicProblem(h hypervisor, nic nicDef) (string, error) {
	switch nic.Type {
	case "network":
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
	case "bridge":
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

// bridgeExists asks the destination whether it has a network interface
// name: through libvirt's interface driver where the host has one, else
// through its node devices (every host interface is a "net" device).
func bridgeExists(h hypervisor, name string) (bool, error) {
	if _, err := h.InterfaceLookupByName(name); err == nil {
		return true, nil
	} else if !isRefused(err) {
		return false, err
	}
	// Not among the interfaces libvirt manages (or no interface driver):
	// it may still exist.
	devs, _, err := h.ConnectListAllNodeDevices(1, uint32(golibvirt.ConnectListNodeDevicesCapNet))
	if err != nil {
		if isCode(err, golibvirt.ErrNoSupport) {
			return true, nil // nothing to ask: leave it to libvirt
		}
		return false, err
	}
	for _, d := range devs {
		// net_<interface>_<mac>
		if strings.HasPrefix(d.Name, "net_"+name+"_") {
			return true, nil
		}
		xml, err := h.NodeDeviceGetXMLDesc(d.Name, 0)
		if err == nil && strings.Contains(xml, "<interface>"+name+"</interface>") {
			return true, nil
		}
	}
	return false, nil
}
