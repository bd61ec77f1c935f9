#!/bin/sh
# run.sh runs the front-end benchmarks of issues #3, #4 and #13 once, through
# the daemon's real stack (cmd/vsmigd: HTTPS on 127.0.0.1 with keep-alive,
# Basic auth against a bcrypt users file, the bbolt job store, the engine
# on the simulated cluster), and prints their figures with the ratios
# against the issues' targets. Load generator and server share the
# machine's cores. Figures are from the simulator: the hypervisor's own
# cost is not in them. Raw `go test` output goes to $OUT (default
# bench.out in a temporary directory).
#
#   testdata/bench/run.sh            # ~2 min on 2 cores
set -eu
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d)/bench.out}
pkg=./cmd/vsmigd
{
	go test -run '^$' -bench '^BenchmarkEnumerate10k$' -benchtime 5x "$pkg"
	go test -run '^$' -bench '^BenchmarkInvokeAccept$' -benchtime 2000x "$pkg"
	go test -run '^$' -bench '^BenchmarkScale1000$' -benchtime 1x "$pkg"
	go test -run '^$' -bench '^BenchmarkFollow$' -benchtime 4x "$pkg"
} >"$OUT" 2>&1 || { cat "$OUT"; exit 1; }

awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 3; i < NF; i += 2) v[name, $(i+1)] = $i
}
function row(label, name, unit, target, kind,   x, r) {
	if (!((name, unit) in v)) { printf "%-44s %12s\n", label, "missing"; return }
	x = v[name, unit]; r = "-"
	if (kind == "max") r = sprintf("%.2f (<= 1 meets)", x / target)
	if (kind == "min") r = sprintf("%.2f (>= 1 meets)", x / target)
	printf "%-44s %12.4g %-14s %-8s %s\n", label, x, unit, (target == "" ? "-" : target), r
}
END {
	printf "%-44s %12s %-14s %-8s %s\n", "figure", "measured", "unit", "target", "ratio"
	row("#3 enumerate 10k VMs (ObjectAndEPR, opt, 500)", "Enumerate10k", "instances/s", "", "")
	row("#3   items per response (512000 B envelope)", "Enumerate10k", "items/response", "", "")
	row("#3 Invoke accept, 1 client", "InvokeAccept/clients-1", "accepts/s", "", "")
	row("#3   p99, 1 client", "InvokeAccept/clients-1", "p99-ms", 10, "max")
	row("#3 Invoke accept, 8 clients", "InvokeAccept/clients-8", "accepts/s", "", "")
	row("#3   p99, 8 clients", "InvokeAccept/clients-8", "p99-ms", 10, "max")
	row("#3 Invoke accept, 32 clients", "InvokeAccept/clients-32", "accepts/s", "", "")
	row("#3   p99, 32 clients", "InvokeAccept/clients-32", "p99-ms", 10, "max")
	row("#3   process CPU, 32 clients (200 = 2 cores)", "InvokeAccept/clients-32", "cpu%", "", "")
	printf "%-44s %12d %-14s\n", "#3   refused busy (1 + 8 + 32 clients)", v["InvokeAccept/clients-1", "busy"] + v["InvokeAccept/clients-8", "busy"] + v["InvokeAccept/clients-32", "busy"], "busy"
	row("#4 1000 concurrent: jobs accepted", "Scale1000", "jobs/s", "", "")
	row("#4   Invoke p99 while accepting", "Scale1000", "accept-p99-ms", 10, "max")
	row("#4   heap in use per running job", "Scale1000", "heapB/job", "", "")
	row("#4   process CPU per running job", "Scale1000", "cpu-µs/job/s", "", "")
	row("#4   process CPU, 1000 jobs running", "Scale1000", "cpu%", "", "")
	row("#4   progress samples per job", "Scale1000", "samples/job/s", 2, "min")
	row("#4   jobs completed", "Scale1000", "completed", 1000, "min")
	row("#4   wall time of the run", "Scale1000", "wall-s", "", "")
	row("#13 client-observed / engine time, subscription", "Follow", "subscription-ratio", 1.05, "max")
	row("#13   the subscription's overhead", "Follow", "subscription-overhead-ms", "", "")
	row("#13   the same, polling every 500 ms", "Follow", "poll500ms-ratio", "", "")
	row("#13   the same, polling every 200 ms", "Follow", "poll200ms-ratio", "", "")
}' "$OUT"
echo "raw output: $OUT"
