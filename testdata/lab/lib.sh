# Shared by up.sh, down.sh and guest.sh: the lab's layout and small helpers.
# Source it; it defines variables and functions only.

LAB_DIR=${VSMIG_LAB_DIR:-/var/lib/vsmig-lab}
LAB_CACHE=${VSMIG_LAB_CACHE:-/var/cache/vsmig-lab}
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) # repository root
LAB_HOSTS=(a b)
declare -A HOST_ADDR=([a]=127.0.0.2 [b]=127.0.0.3)
# Distinct host UUIDs: libvirt refuses to migrate between equal ones.
declare -A HOST_UUID=([a]=6d1f6a3e-7c2b-4b8e-9a51-0000000000a1 [b]=6d1f6a3e-7c2b-4b8e-9a51-0000000000b2)
# Non-overlapping incoming migration and display port ranges.
declare -A MIG_PORTS=([a]="49152 49183" [b]="49184 49215")
declare -A DISPLAY_PORTS=([a]="5900 5949" [b]="5950 5999")
# The directories each host gets its own copy of, bind-mounted in its
# private mount namespace. /etc/pki/CA and /etc/pki/libvirt are libvirt's
# default certificate paths: bound there, the host's certificates serve both
# libvirtd's TLS listener and its outgoing peer-to-peer connections.
LAB_BINDS=(/etc/libvirt /var/lib/libvirt /run/libvirt /var/cache/libvirt /var/log/libvirt
	/etc/pki/CA /etc/pki/libvirt)
# bind_sub TARGET: the subdirectory of a host's directory bound over TARGET.
bind_sub() {
	case $1 in
	/etc/libvirt) echo etc ;; /var/lib/libvirt) echo lib ;; /run/libvirt) echo run ;;
	/var/cache/libvirt) echo cache ;; /var/log/libvirt) echo log ;;
	/etc/pki/CA) echo pki/CA ;; /etc/pki/libvirt) echo pki/libvirt ;;
	*) die "no host directory for $1" ;;
	esac
}
# Bind targets that did not exist and up.sh made (down.sh removes them).
MADE_DIRS=$LAB_DIR/made-dirs

# TLS: the CA and the client certificate of the tests and vsmigd
# (a pkipath= directory), and libvirtd's TLS port.
PKI_DIR=$LAB_DIR/pki
CLIENT_PKI=$PKI_DIR/client
TLS_PORT=16514
# SSH: the client key every host's sshd accepts for root, and a
# known_hosts file with the hosts' keys. The port is chosen once per lab
# (22 if nothing listened on it) and kept in SSH_DIR/port.
SSH_DIR=$LAB_DIR/ssh
SSH_KEY=$SSH_DIR/id_ed25519

GUEST_KERNEL=$LAB_DIR/guest/vmlinuz
GUEST_INITRD=$LAB_DIR/guest/initramfs.gz
# Serial logs live outside the per-host binds, so the source's and, after a
# migration, the destination's QEMU append to the same file.
SERIAL_DIR=$LAB_DIR/serial

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

host_dir() { printf '%s/hosts/%s' "$LAB_DIR" "$1"; }
host_uri() { printf 'qemu+tcp://%s/system' "${HOST_ADDR[$1]}"; }
host_tls_uri() { printf 'qemu+tls://%s/system?pkipath=%s' "${HOST_ADDR[$1]}" "$CLIENT_PKI"; }
virsh_on() { local h=$1; shift; virsh -q -c "$(host_uri "$h")" "$@"; }

# pid_alive FILE: the process named by a pid file is running.
pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.2 s.
wait_for() {
	local secs=$1 what=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
		sleep 0.2
	done
}

# stop_pidfile FILE: terminate the process of a pid file, then remove it.
stop_pidfile() {
	local f=$1 pid i
	[[ -s $f ]] || { rm -f "$f"; return 0; }
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}
