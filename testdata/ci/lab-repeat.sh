#!/usr/bin/env bash
# `make lab-repeat`: the lab suite N times in a row on one freshly made lab,
# to show that it passes every time, not by chance: each failure is kept in
# a log, and the pass count is printed at the end.
#
#   lab-repeat.sh [N [FLAVOUR]]   (default: 5 runs on the current lab)
# Logs: $VSMIG_LAB_REPEAT_LOGS (default /tmp/vsmig-lab-repeat), one per run.
set -uo pipefail
cd "$(dirname "$0")/../.."
. testdata/ci/labsuite.sh

n=${1:-5} flavour=${2:-current}
logs=${VSMIG_LAB_REPEAT_LOGS:-/tmp/vsmig-lab-repeat}
mkdir -p "$logs"
trap 'lab_down "$flavour" >/dev/null 2>&1 || true' EXIT
lab_down "$flavour" >/dev/null 2>&1
lab_up "$flavour" || exit 1
pass=0 summary=()
for ((i = 1; i <= n; i++)); do
	start=$SECONDS log=$logs/run-$i.log
	if lab_suite "$flavour" >"$log" 2>&1; then
		((pass++))
		summary+=("run $i: PASS in $((SECONDS - start)) s")
	else
		summary+=("run $i: FAIL in $((SECONDS - start)) s, see $log: $(grep -m3 -- '--- FAIL' "$log" | tr -s ' ' | paste -sd ';')")
	fi
	echo "lab-repeat: ${summary[-1]}"
done
printf 'lab-repeat: %s lab, %d/%d runs passed\n' "$flavour" "$pass" "$n"
((pass == n))
