#!/usr/bin/env bash
# `make lab-test`: the libvirt driver's integration tests and the lab
# end-to-end scenarios on the two-host lab, in both flavours (see
# testdata/lab/README.md):
#   current  QEMU 10.0 / libvirt 11.3 (Debian 12 backports): everything;
#   stock    Debian 12's QEMU 7.2 / libvirt 9.0: a smaller run that keeps
#            the driver proven there (inventory, checks, live and offline
#            migration with events, abort, re-attach, TLS, and the basic
#            WS-Man scenarios).
# Each lab is brought up, checked for descriptors its daemons must not hold,
# tested, and taken down again (also on failure).
#
#   lab-test.sh [current|stock]...   (default: both, current first)
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/ci/labsuite.sh

flavours=("$@")
((${#flavours[@]})) || flavours=(current stock)
trap 'for f in "${flavours[@]}"; do lab_down "$f" >/dev/null 2>&1 || true; done' EXIT
for f in "${flavours[@]}"; do
	echo "lab-test: the $f lab"
	lab_up "$f"
	lab_suite "$f"
	lab_down "$f"
done
