#!/usr/bin/env bash
# lab.sh: issue #4's lab benchmarks, printed as ratios measured in one run.
# Needs the lab (make lab) and bin/vsmigd (make build); `make bench-lab`
# does both. Not part of `make test`. About 5-10 minutes on 2 cores.
#
# 1. Engine overhead. The same guest (vsmig-g1) goes back and forth between
#    the hosts, alternately moved by vsmigd (a WS-Man Invoke through
#    python3-winrm to the source host's vsmigd) and by
#    `virsh migrate --live --p2p --persistent --undefinesource`, PAIRS times
#    each, interleaved so that load drifts hit both alike. Compared:
#      - vsmigd's engine time: the job's TotalTime, the wall time of the
#        libvirt migrate call as the driver measured it, against virsh's
#        wall time (`time virsh migrate ...`, which includes virsh's own
#        connection set-up, so the ratio slightly favours vsmigd);
#      - vsmigd's client-observed time: from the Invoke to the job seen
#        Completed by a 0.2 s poll (adds WS-Man, job bookkeeping and up to
#        one poll interval), against the same virsh wall time;
#      - downtime: the job's Downtime against `virsh domjobinfo --completed`
#        on the destination.
#    Target: median engine-time ratio <= 1.05.
# 2. Against the physical limit. For a sweep of guest dirtying rates, vsmigd
#    migrates a guest with its bandwidth capped at CAP MiB/s (the cap is the
#    link: loopback is far faster), and the script prints total time
#    divided by (bytes transferred / cap), the pre-copy iterations and the
#    final downtime against the engine's first downtime limit (150 ms,
#    migrate.DefaultMaxDowntime; the policy may raise it).
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/lab/env.sh
PAIRS=${PAIRS:-4}
CAP=${CAP:-32}
SWEEP=${SWEEP:-"4K@100ms 64K@10ms 128K@10ms 256K@10ms"}
GUEST=vsmig-g1
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for r in $SWEEP; do bash testdata/lab/guest.sh remove "vsmig-bench-${r%%@*}" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT

start_vsmigd() { # name host uri port
	local dir=$work/$1
	mkdir -p "$dir"
	echo bench-pw | bin/vsmigd user add admin -users-file "$dir/users" >/dev/null
	bin/vsmigd serve -state-dir "$dir" -driver libvirt -libvirt-uri "$3" -host-name "$2" \
		-https-addr "$2:$4" -metrics-addr "$2:$(($4 + 1))" -log-level warn >"$dir/log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		/usr/bin/python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
			"http://$2:$(($4 + 1))/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "vsmigd on $2 did not become ready:" >&2
	cat "$dir/log" >&2
	exit 1
}
start_vsmigd a "$VSMIG_LAB_HOST_A" "$VSMIG_LAB_URI_A" 35986
start_vsmigd b "$VSMIG_LAB_HOST_B" "$VSMIG_LAB_URI_B" 35986

# step HOST ARGS...: one WS-Man step against that host's vsmigd; prints RESULT lines.
step() {
	local host=$1 dir
	shift
	[[ $host == "$VSMIG_LAB_HOST_A" ]] && dir=$work/a || dir=$work/b
	(cd testdata/e2e && VSMIG_ENDPOINT="https://$host:35986/wsman" VSMIG_USER=admin VSMIG_PASSWORD=bench-pw \
		VSMIG_CA="$dir/cert.pem" /usr/bin/python3 step.py "$@")
}
result() { sed -n "s/^RESULT $1=//p" | head -1; }
# seconds of an xs:duration such as PT2.215S
dur() { python3 -c 'import re,sys; m=re.match(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$", sys.argv[1] or ""); print(sum(float(x or 0)*k for x,k in zip(m.groups(),(3600,60,1))) if m else "nan")' "$1"; }
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic; "nan" when an operand is not a number.
calc() { awk "BEGIN { e = \"$1\"; if (e ~ /nan|None|^ *\$/) { print \"nan\"; exit } print $1 }" 2>/dev/null || echo nan; }

uri_of() { [[ $1 == "$VSMIG_LAB_HOST_A" ]] && echo "$VSMIG_LAB_URI_A" || echo "$VSMIG_LAB_URI_B"; }
where() { # the host running $1
	if [[ $(virsh -c "$VSMIG_LAB_URI_A" domstate "$1" 2>/dev/null) == running ]]; then echo "$VSMIG_LAB_HOST_A"; else echo "$VSMIG_LAB_HOST_B"; fi
}
other() { [[ $1 == "$VSMIG_LAB_HOST_A" ]] && echo "$VSMIG_LAB_HOST_B" || echo "$VSMIG_LAB_HOST_A"; }

# by_vsmigd GUEST [bandwidth]: prints "engine_s client_s downtime_ms iterations bytes"
by_vsmigd() {
	local src dst out t0 t1 job
	src=$(where "$1") dst=$(other "$src")
	t0=$(now)
	out=$(step "$src" migrate "$1" "$dst" ${2:+--bandwidth "$2"})
	job=$(result job <<<"$out")
	[[ -n $job ]] || { echo "migrate refused: $out" >&2; exit 1; }
	out=$(step "$src" wait "$job" --timeout 600)
	t1=$(now)
	[[ $(result state <<<"$out") == 7 ]] || { echo "job $job ended: $out" >&2; exit 1; }
	printf '%s %s %s %s %s\n' "$(dur "$(result total_time <<<"$out")")" "$(calc "$t1 - $t0")" \
		"$(result downtime_ms <<<"$out")" "$(result iterations <<<"$out")" "$(result data_processed <<<"$out")"
}

# by_virsh GUEST: prints "wall_s downtime_ms"
by_virsh() {
	local src dst t0 t1 dt
	src=$(where "$1") dst=$(other "$src")
	t0=$(now)
	virsh -c "$(uri_of "$src")" migrate --live --p2p --persistent --undefinesource "$1" "$(uri_of "$dst")" >/dev/null
	t1=$(now)
	dt=$(virsh -c "$(uri_of "$dst")" domjobinfo "$1" --completed 2>/dev/null | awk -F: '/Total downtime/ {gsub(/[^0-9]/, "", $2); print $2}')
	printf '%s %s\n' "$(calc "$t1 - $t0")" "${dt:-nan}"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "== engine overhead: $GUEST, $PAIRS interleaved pairs, no bandwidth cap"
printf '%-5s %-7s %10s %10s %10s %12s\n' pair method engine_s client_s wall_s downtime_ms
: >"$work/ratios"
for i in $(seq "$PAIRS"); do
	if ((i % 2)); then order="vsmigd virsh"; else order="virsh vsmigd"; fi
	for m in $order; do
		if [[ $m == vsmigd ]]; then
			line=$(by_vsmigd "$GUEST") && read -r eng cli dt it by <<<"$line"
			printf '%-5s %-7s %10.3f %10.3f %10s %12s\n' "$i" vsmigd "$eng" "$cli" - "$dt"
			v_eng=$eng v_cli=$cli v_dt=$dt
		else
			line=$(by_virsh "$GUEST") && read -r wall dt <<<"$line"
			printf '%-5s %-7s %10s %10s %10.3f %12s\n' "$i" virsh - - "$wall" "$dt"
			r_wall=$wall r_dt=$dt
		fi
	done
	echo "$(calc "$v_eng / $r_wall") $(calc "$v_cli / $r_wall") $(calc "$v_dt / $r_dt")" >>"$work/ratios"
done
eng_ratio=$(awk '{print $1}' "$work/ratios" | median)
cli_ratio=$(awk '{print $2}' "$work/ratios" | median)
dt_ratio=$(awk '{print $3}' "$work/ratios" | median)
printf 'median ratio vsmigd/virsh: engine time %.3f (target <= 1.05: %s), client-observed %.3f, downtime %.2f\n' \
	"$eng_ratio" "$(awk -v r="$eng_ratio" 'BEGIN {print (r <= 1.05) ? "met" : "missed"}')" "$cli_ratio" "$dt_ratio"
# leave the guest on A
[[ $(where "$GUEST") == "$VSMIG_LAB_HOST_A" ]] || by_virsh "$GUEST" >/dev/null

echo
echo "== against the physical limit: bandwidth cap $CAP MiB/s, first downtime limit 150 ms"
printf '%-11s %10s %14s %16s %10s %12s\n' dirty total_s transferred ideal_s_at_cap ratio iter/down_ms
for r in $SWEEP; do
	name=vsmig-bench-${r%%@*}
	bash testdata/lab/guest.sh add "$name" "$r" >/dev/null
	line=$(by_vsmigd "$name" "$CAP") && read -r eng cli dt it by <<<"$line"
	ideal=$(calc "$by / ($CAP * 1048576)")
	printf '%-11s %10.2f %14s %16.2f %10.2f %12s\n' "$r" "$eng" "$by" "$ideal" "$(calc "$eng / $ideal")" "$it/$dt"
	bash testdata/lab/guest.sh remove "$name" >/dev/null
done
echo "(ratio = total time / (bytes transferred / cap): 1.0 is the link's physical limit; the rest is set-up, the finish phase and stop-and-copy)"
