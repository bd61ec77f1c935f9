#!/usr/bin/env bash
# `make run-cluster`: the fleet demo on this machine, on loopback. A real
# 3-member etcd cluster (built from go.etcd.io/etcd/server/v3, the
# version go.mod pins), one shared simulated cluster of three hypervisor
# hosts (testdata/simhv, sim.ClusterDemoConfig), and a vsmigd per host
# registered in etcd: host-a on 5986 (metrics 9586), host-b on 5987,
# host-c on 5988. Every daemon runs in its own session with its output in
# $STATE/cluster/*.log; Ctrl-C (or the end of this script) stops them all.
# The user is admin with $VSMIG_PASSWORD (default vsmig-demo).
set -euo pipefail
bin=$1 state=$2
dir=$state/cluster
mkdir -p -m 0700 "$state" "$dir"
go build -o "$dir/etcd" go.etcd.io/etcd/server/v3
go build -o "$dir/simhv" ./testdata/simhv
pw=${VSMIG_PASSWORD:-vsmig-demo}

pids=()
stop() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# start NAME CMD...: in its own session, no inherited fds, output to a log.
start() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$dir/$name.log" 2>&1 &
	pids+=($!)
}

initial=m0=http://127.0.0.1:23800,m1=http://127.0.0.1:23810,m2=http://127.0.0.1:23820
endpoints=http://127.0.0.1:23790,http://127.0.0.1:23791,http://127.0.0.1:23792
for i in 0 1 2; do
	start "etcd-m$i" "$dir/etcd" --name "m$i" --data-dir "$dir/m$i.data" \
		--listen-client-urls "http://127.0.0.1:2379$i" --advertise-client-urls "http://127.0.0.1:2379$i" \
		--listen-peer-urls "http://127.0.0.1:238${i}0" --initial-advertise-peer-urls "http://127.0.0.1:238${i}0" \
		--initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token vsmig-demo --log-level warn
done
start simhv "$dir/simhv" -listen 127.0.0.1:7100
for i in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:23790/health 2>/dev/null && break; sleep 0.2; done

port=5986 metrics=9586
for h in host-a host-b host-c; do
	s=$dir/$h
	mkdir -p -m 0700 "$s"
	[ -s "$s/users" ] || printf '%s\n' "$pw" | "$bin" user add admin -users-file "$s/users" >/dev/null
	start "vsmigd-$h" "$bin" serve -state-dir "$s" -driver sim -sim-url http://127.0.0.1:7100 -host-name "$h" \
		-https-addr "127.0.0.1:$port" -metrics-addr "127.0.0.1:$metrics" -advertise-url "https://127.0.0.1:$port/wsman" \
		-cluster-endpoints "$endpoints" -cluster-prefix /vsmig-demo/
	port=$((port + 1)) metrics=$((metrics + 1))
done
cat <<MSG
run-cluster: etcd on 127.0.0.1:23790-23792, vsmigd of host-a/b/c on https://127.0.0.1:5986-5988/wsman
(logs in $dir). Try, with the user admin and password $pw:
  export VSMIG_ENDPOINT=https://127.0.0.1:5987/wsman VSMIG_USER=admin VSMIG_PASSWORD=$pw VSMIG_INSECURE=1
  bin/vsmigctl hosts
  bin/vsmigctl drain host-a --dry-run
  bin/vsmigctl drain host-a --wait
Ctrl-C stops everything.
MSG
wait -n "${pids[@]}" || true
echo "run-cluster: a daemon exited; see $dir/*.log" >&2
