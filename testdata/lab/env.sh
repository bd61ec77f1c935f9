# Source this to get the lab's addresses and paths (what the integration
# tests and the vsmigd instances need). Nothing here starts anything.
#   . testdata/lab/env.sh                          # the current flavour
#   VSMIG_LAB_FLAVOUR=stock . testdata/lab/env.sh  # Debian 12's stock QEMU/libvirt
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1
export VSMIG_LAB_FLAVOUR=$LAB_FLAVOUR
export VSMIG_LAB_DIR=$LAB_DIR
export VSMIG_LAB_HOST_A=${HOST_ADDR[a]}
export VSMIG_LAB_HOST_B=${HOST_ADDR[b]}
export VSMIG_LAB_HOST_C=${HOST_ADDR[c]}
export VSMIG_LAB_URI_A=qemu+tcp://$VSMIG_LAB_HOST_A/system
export VSMIG_LAB_URI_B=qemu+tcp://$VSMIG_LAB_HOST_B/system
export VSMIG_LAB_URI_C=qemu+tcp://$VSMIG_LAB_HOST_C/system
# The same daemons over TLS (port 16514), with the lab's client
# certificate: VSMIG_LAB_PKI holds cacert.pem, clientcert.pem, clientkey.pem.
export VSMIG_LAB_PKI=$CLIENT_PKI
export VSMIG_LAB_TLS_URI_A="qemu+tls://$VSMIG_LAB_HOST_A/system?pkipath=$VSMIG_LAB_PKI"
export VSMIG_LAB_TLS_URI_B="qemu+tls://$VSMIG_LAB_HOST_B/system?pkipath=$VSMIG_LAB_PKI"
# And over SSH, as root with the lab's key, to each host's sshd (which runs
# in that host's mount namespace, so its default libvirt-sock is the
# host's); host keys are checked against the lab's own known_hosts (the
# machine's ~/.ssh is left alone). The stock lab has no sshd: empty.
export VSMIG_LAB_SSH_KEY=$SSH_KEY
export VSMIG_LAB_SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts
VSMIG_LAB_SSH_PORT=$(cat "$SSH_DIR/port" 2>/dev/null || echo 22)
export VSMIG_LAB_SSH_PORT
VSMIG_LAB_SSH_URI_A= VSMIG_LAB_SSH_URI_B=
if [ -z "$LAB_ROOT" ]; then
	_vsmig_port=
	[ "$VSMIG_LAB_SSH_PORT" = 22 ] || _vsmig_port=:$VSMIG_LAB_SSH_PORT
	VSMIG_LAB_SSH_URI_A="qemu+ssh://root@$VSMIG_LAB_HOST_A$_vsmig_port/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
	VSMIG_LAB_SSH_URI_B="qemu+ssh://root@$VSMIG_LAB_HOST_B$_vsmig_port/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
	unset _vsmig_port
fi
export VSMIG_LAB_SSH_URI_A VSMIG_LAB_SSH_URI_B
# Local (unix socket) URIs of the same daemons.
export VSMIG_LAB_LOCAL_URI_A="qemu:///system?socket=$LAB_DIR/hosts/a/run/libvirt-sock"
export VSMIG_LAB_LOCAL_URI_B="qemu:///system?socket=$LAB_DIR/hosts/b/run/libvirt-sock"
# Pid files, to kill a host's libvirtd in failure tests.
export VSMIG_LAB_LIBVIRTD_PID_A=$LAB_DIR/hosts/a/libvirtd.pid
export VSMIG_LAB_LIBVIRTD_PID_B=$LAB_DIR/hosts/b/libvirtd.pid
# An address on which no libvirtd listens.
export VSMIG_LAB_UNREACHABLE=$LAB_UNREACHABLE
# Guests: names (space separated), defined and running on host A after up.sh;
# each writes $VSMIG_LAB_SERIAL_DIR/<name>.log on whichever host runs it.
export VSMIG_LAB_SERIAL_DIR=$SERIAL_DIR
VSMIG_LAB_GUESTS="$(cat "$LAB_DIR/guests" 2>/dev/null || echo vsmig-g1 vsmig-g2)"
export VSMIG_LAB_GUESTS
# The guest image (kernel and initramfs with the Go /init of testdata/guest).
export VSMIG_LAB_KERNEL=$GUEST_KERNEL
export VSMIG_LAB_INITRD=$GUEST_INITRD
# The guests' network and disks: the bridge and the machine's address on it
# (a probe's side), where each guest's address is listed ("NAME ADDRESS"
# lines), the hosts' local images directory (inside their namespaces; on
# the machine at $VSMIG_LAB_DIR/hosts/<h>/lib/images), a second local one
# (a relocation target), the shared directory both hosts see, and the
# libvirt network and pools every host has.
export VSMIG_LAB_BRIDGE=$LAB_BRIDGE
export VSMIG_LAB_NET_HOST=$LAB_SUBNET.1
export VSMIG_LAB_GUEST_ADDRS=$GUEST_ADDRS
export VSMIG_LAB_IMAGES=$LAB_IMAGES
export VSMIG_LAB_ALT_IMAGES=$LAB_ALT_IMAGES
export VSMIG_LAB_SHARED_DIR=$SHARED_DIR
export VSMIG_LAB_NETWORK=$LAB_NETWORK
export VSMIG_LAB_POOLS="$LAB_POOL_LOCAL $LAB_POOL_ALT $LAB_POOL_SHARED"
