# Source this to get the lab's addresses and paths (what the integration
# tests and the vsmigd instances need). Nothing here starts anything.
#   . testdata/lab/env.sh
export VSMIG_LAB_DIR=${VSMIG_LAB_DIR:-/var/lib/vsmig-lab}
export VSMIG_LAB_HOST_A=127.0.0.2
export VSMIG_LAB_HOST_B=127.0.0.3
export VSMIG_LAB_URI_A=qemu+tcp://127.0.0.2/system
export VSMIG_LAB_URI_B=qemu+tcp://127.0.0.3/system
# The same daemons over TLS (port 16514), with the lab's client
# certificate: VSMIG_LAB_PKI holds cacert.pem, clientcert.pem, clientkey.pem.
export VSMIG_LAB_PKI=$VSMIG_LAB_DIR/pki/client
export VSMIG_LAB_TLS_URI_A="qemu+tls://127.0.0.2/system?pkipath=$VSMIG_LAB_PKI"
export VSMIG_LAB_TLS_URI_B="qemu+tls://127.0.0.3/system?pkipath=$VSMIG_LAB_PKI"
# And over SSH, as root with the lab's key, to each host's sshd (which runs
# in that host's mount namespace, so its default libvirt-sock is the
# host's); host keys are checked against the lab's own known_hosts (the
# machine's ~/.ssh is left alone).
export VSMIG_LAB_SSH_KEY=$VSMIG_LAB_DIR/ssh/id_ed25519
export VSMIG_LAB_SSH_KNOWN_HOSTS=$VSMIG_LAB_DIR/ssh/known_hosts
VSMIG_LAB_SSH_PORT=$(cat "$VSMIG_LAB_DIR/ssh/port" 2>/dev/null || echo 22)
export VSMIG_LAB_SSH_PORT
if [ "$VSMIG_LAB_SSH_PORT" = 22 ]; then
	export VSMIG_LAB_SSH_URI_A="qemu+ssh://root@127.0.0.2/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
	export VSMIG_LAB_SSH_URI_B="qemu+ssh://root@127.0.0.3/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
else
	export VSMIG_LAB_SSH_URI_A="qemu+ssh://root@127.0.0.2:$VSMIG_LAB_SSH_PORT/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
	export VSMIG_LAB_SSH_URI_B="qemu+ssh://root@127.0.0.3:$VSMIG_LAB_SSH_PORT/system?keyfile=$VSMIG_LAB_SSH_KEY&known_hosts=$VSMIG_LAB_SSH_KNOWN_HOSTS"
fi
# Local (unix socket) URIs of the same daemons.
export VSMIG_LAB_LOCAL_URI_A="qemu:///system?socket=$VSMIG_LAB_DIR/hosts/a/run/libvirt-sock"
export VSMIG_LAB_LOCAL_URI_B="qemu:///system?socket=$VSMIG_LAB_DIR/hosts/b/run/libvirt-sock"
# Pid files, to kill a host's libvirtd in failure tests.
export VSMIG_LAB_LIBVIRTD_PID_A=$VSMIG_LAB_DIR/hosts/a/libvirtd.pid
export VSMIG_LAB_LIBVIRTD_PID_B=$VSMIG_LAB_DIR/hosts/b/libvirtd.pid
# An address on which no libvirtd listens.
export VSMIG_LAB_UNREACHABLE=127.0.0.4
# Guests: names (space separated), defined and running on host A after up.sh;
# each writes $VSMIG_LAB_SERIAL_DIR/<name>.log on whichever host runs it.
export VSMIG_LAB_SERIAL_DIR=$VSMIG_LAB_DIR/serial
export VSMIG_LAB_GUESTS="$(cat "$VSMIG_LAB_DIR/guests" 2>/dev/null || echo vsmig-g1 vsmig-g2)"
# The guest image (kernel and initramfs with the Go /init of testdata/guest).
export VSMIG_LAB_KERNEL=$VSMIG_LAB_DIR/guest/vmlinuz
export VSMIG_LAB_INITRD=$VSMIG_LAB_DIR/guest/initramfs.gz
