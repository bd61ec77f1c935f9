#!/usr/bin/env bash
# Tears the lab down: destroys and undefines the guests on both hosts,
# stops each host's sshd, libvirtd and virtlogd by their pid files (their
# mount namespaces go with them), removes the bind targets up.sh had to
# make (/etc/pki/CA, /etc/pki/libvirt) and the lab directory with its
# certificates and keys. Safe to re-run. With --purge it also removes the
# downloaded kernel cache.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || die "must run as root"

for h in "${LAB_HOSTS[@]}"; do
	dir=$(host_dir "$h")
	if pid_alive "$dir/libvirtd.pid"; then
		# Every domain of the host, lab guests or test leftovers alike.
		for name in $(virsh_on "$h" list --all --name 2>/dev/null); do
			virsh_on "$h" destroy "$name" >/dev/null 2>&1 || true
			virsh_on "$h" undefine "$name" >/dev/null 2>&1 || true
		done
	fi
	stop_pidfile "$dir/sshd.pid"
	stop_pidfile "$dir/libvirtd.pid"
	stop_pidfile "$dir/virtlogd.pid"
	# QEMU processes whose libvirtd died (failure tests) are found by their
	# pid files under the host's own /run/libvirt.
	for pf in "$dir"/run/qemu/*.pid; do
		[[ -e $pf ]] && stop_pidfile "$pf"
	done
done
# Deepest first, and only if empty: the lab's namespaces are gone, so
# nothing is mounted on them any more.
if [[ -s $MADE_DIRS ]]; then
	tac "$MADE_DIRS" | while read -r d; do rmdir "$d" 2>/dev/null || true; done
fi
! ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || ip link del "$LAB_BRIDGE"
rm -rf "$LAB_DIR"
if [[ ${1:-} == --purge ]]; then
	rm -rf "$LAB_CACHE"
fi
log "down"
