#!/usr/bin/env bash
# Adds or removes an extra lab guest on host A, for tests that need a guest
# with its own workload (the lab must be up):
#   guest.sh add NAME [DIRTY [MEM]]   e.g. guest.sh add vsmig-hot 1M@10ms 64M
#   guest.sh remove NAME              (from whichever host has it)
# DIRTY and MEM are the guest's vsmig.dirty and vsmig.mem (see README.md).
# "add" of an existing guest leaves its definition as it is.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/up.sh"

case ${1:-} in
add)
	[[ -n ${2:-} ]] || die "usage: guest.sh add NAME [DIRTY [MEM]]"
	VSMIG_LAB_DIRTY=${3:-${VSMIG_LAB_DIRTY:-$LAB_DEFAULT_DIRTY}} VSMIG_LAB_GUEST_MEM=${4:-${VSMIG_LAB_GUEST_MEM:-64M}} \
		ensure_guest "$2"
	;;
remove)
	[[ -n ${2:-} ]] || die "usage: guest.sh remove NAME"
	for h in "${LAB_HOSTS[@]}"; do
		virsh_on "$h" destroy "$2" >/dev/null 2>&1 || true
		virsh_on "$h" undefine "$2" >/dev/null 2>&1 || true
	done
	rm -f "$SERIAL_DIR/$2.log" "$LAB_DIR/guest/$2.xml" "$SHARED_DIR/$2.qcow2"
	for h in "${LAB_HOSTS[@]}"; do
		rm -f "$(host_path "$h" "$LAB_IMAGES/$2.qcow2")" "$(host_path "$h" "$LAB_ALT_IMAGES/$2.qcow2")"
	done
	;;
*)
	die "usage: guest.sh add NAME [DIRTY [MEM]] | guest.sh remove NAME"
	;;
esac
