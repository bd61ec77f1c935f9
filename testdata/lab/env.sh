# Source this to get the lab's addresses and paths (what the integration
# tests and the vsmigd instances need). Nothing here starts anything.
#   . testdata/lab/env.sh
export VSMIG_LAB_DIR=${VSMIG_LAB_DIR:-/var/lib/vsmig-lab}
export VSMIG_LAB_HOST_A=127.0.0.2
export VSMIG_LAB_HOST_B=127.0.0.3
export VSMIG_LAB_URI_A=qemu+tcp://127.0.0.2/system
export VSMIG_LAB_URI_B=qemu+tcp://127.0.0.3/system
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
