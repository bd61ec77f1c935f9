#!/usr/bin/env bash
# Tears the lab down: destroys and undefines the guests on both hosts,
# stops each host's libvirtd and virtlogd by their pid files (their mount
# namespaces go with them), and removes the lab directory. Safe to re-run.
# With --purge it also removes the downloaded kernel cache.
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
	stop_pidfile "$dir/libvirtd.pid"
	stop_pidfile "$dir/virtlogd.pid"
	# QEMU processes whose libvirtd died (failure tests) are found by their
	# pid files under the host's own /run/libvirt.
	for pf in "$dir"/run/qemu/*.pid; do
		[[ -e $pf ]] && stop_pidfile "$pf"
	done
done
rm -rf "$LAB_DIR"
if [[ ${1:-} == --purge ]]; then
	rm -rf "$LAB_CACHE"
fi
log "down"
