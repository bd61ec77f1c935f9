# Shared by up.sh, down.sh, guest.sh and env.sh: the lab's layout and small
# helpers. Source it; it defines variables and functions only.

# The lab comes in two flavours, which differ in the QEMU and libvirt their
# hosts run (VSMIG_LAB_FLAVOUR):
#   current  QEMU 10.0 and libvirt 11.3 from Debian 12's backports suite,
#            installed on the machine (the default; Debian 13's versions);
#   stock    Debian 12's own QEMU 7.2 and libvirt 9.0, in a Debian root
#            made with debootstrap in the cache, the hosts' daemons run
#            chrooted into it.
# Each flavour has its own state directory and addresses, so both can be up
# at once.
LAB_FLAVOUR=${VSMIG_LAB_FLAVOUR:-current}
LAB_CACHE=${VSMIG_LAB_CACHE:-/var/cache/vsmig-lab}
LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) # repository root
# Three hosts: a and b, between which most tests move guests, and c, a
# third member for the fleet's drain (placement among several hosts).
LAB_HOSTS=(a b c)
case $LAB_FLAVOUR in
current)
	LAB_DIR=${VSMIG_LAB_DIR:-/var/lib/vsmig-lab}
	LAB_ROOT=
	declare -A HOST_ADDR=([a]=127.0.0.2 [b]=127.0.0.3 [c]=127.0.0.5)
	LAB_DEFAULT_DIRTY=64K@10ms
	LAB_BRIDGE=vsmigbr0 LAB_SUBNET=10.213.0
	;;
stock)
	LAB_DIR=${VSMIG_LAB_DIR:-/var/lib/vsmig-lab-stock}
	LAB_ROOT=$LAB_CACHE/stock-root
	declare -A HOST_ADDR=([a]=127.0.0.12 [b]=127.0.0.13 [c]=127.0.0.15)
	# QEMU 7.2 can lose a TCG guest's stores while migrating it (fixed
	# in 9.0): the stock lab's guests only verify their memory, so a
	# migration has few stores to lose (see README.md).
	LAB_DEFAULT_DIRTY=off
	LAB_BRIDGE=vsmigbr1 LAB_SUBNET=10.213.1
	;;
*)
	printf 'lab: error: VSMIG_LAB_FLAVOUR is %s, want current or stock\n' "$LAB_FLAVOUR" >&2
	return 1 2>/dev/null || exit 1
	;;
esac
# An address on which no libvirtd listens.
LAB_UNREACHABLE=127.0.0.4
# The guests' network: one Linux bridge on the machine that both hosts'
# libvirt network LAB_NETWORK forwards to (one L2 segment, as in a
# datacenter), the machine at .1 of LAB_SUBNET/24, guests from .11 on.
LAB_NETWORK=vsmig-lan
# Storage pools of every host: the host's own images directory (local
# disks, private to each host), another local directory (a relocation
# target), and a directory under the lab's that both hosts see at the same
# path (shared disks).
LAB_POOL_LOCAL=default
LAB_POOL_ALT=vsmig-alt
LAB_POOL_SHARED=vsmig-shared
LAB_IMAGES=/var/lib/libvirt/images
LAB_ALT_IMAGES=/var/lib/libvirt/alt-images
# Packages of the lab: QEMU and libvirt from backports on the machine (the
# current flavour), the rest from Debian 12. The stock flavour's QEMU and
# libvirt are in its root (STOCK_ROOT_PACKAGES).
LAB_BACKPORTS_PACKAGES=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
	libvirt-daemon-system libvirt-clients)
LAB_PACKAGES=(cpio openssl openssh-server iptables debootstrap iproute2)
STOCK_ROOT_PACKAGES=qemu-system-x86,qemu-utils,libvirt-daemon,libvirt-daemon-driver-qemu
# Distinct host UUIDs: libvirt refuses to migrate between equal ones.
declare -A HOST_UUID=([a]=6d1f6a3e-7c2b-4b8e-9a51-0000000000a1 [b]=6d1f6a3e-7c2b-4b8e-9a51-0000000000b2
	[c]=6d1f6a3e-7c2b-4b8e-9a51-0000000000c3)
# Non-overlapping incoming migration and display port ranges.
declare -A MIG_PORTS=([a]="49152 49183" [b]="49184 49215" [c]="49216 49247")
declare -A DISPLAY_PORTS=([a]="5900 5949" [b]="5950 5999" [c]="6000 6049")
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
# The shared disks' directory, at the same path for both hosts (outside
# their binds), and where each guest's network address is kept.
SHARED_DIR=$LAB_DIR/shared
GUEST_ADDRS=$LAB_DIR/guest/addresses

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

host_dir() { printf '%s/hosts/%s' "$LAB_DIR" "$1"; }
# host_path HOST PATH: where PATH of HOST's namespace (under one of its
# binds, e.g. /var/lib/libvirt/images) is on the machine.
host_path() {
	local h=$1 p=$2 b
	for b in "${LAB_BINDS[@]}"; do
		if [[ $p == "$b"/* || $p == "$b" ]]; then
			printf '%s/%s%s' "$(host_dir "$h")" "$(bind_sub "$b")" "${p#"$b"}"
			return
		fi
	done
	die "$p is not under a host's binds"
}
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

# detached LOG CMD...: run CMD (which daemonizes, or is a daemon's starter)
# holding none of this script's descriptors: in a session of its own, stdin
# from /dev/null, stdout and stderr appended to LOG, every other descriptor
# closed. Otherwise a daemon keeps, for as long as it lives, whatever its
# caller had open: a lock (`flock LOCK make lab`) or the pipe a CI wrapper
# reads until EOF. Waits for CMD itself to return.
detached() {
	local out=$1
	shift
	(
		local fd
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null; fi
		done
		exec setsid -w "$@" </dev/null >>"$out" 2>&1
	)
}

# in_host PID CMD...: run CMD in the mount namespace of the host process
# PID, and for the stock flavour in its root too (the daemons are chrooted).
in_host() {
	local pid=$1
	shift
	if [[ -n $LAB_ROOT ]]; then
		nsenter -m -r -t "$pid" "$@"
	else
		nsenter -m -t "$pid" "$@"
	fi
}
