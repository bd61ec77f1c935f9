#!/usr/bin/env bash
# `make image-test`: the image, checked as an operator meets it.
#   - its configuration: entrypoint, command, user 65532, exposed ports,
#     the state volume (owned by 65532, mode 0700 in the image), labels;
#   - the README's docker lines (between <!-- docker:begin --> and
#     <!-- docker:end -->) run as written, with a `docker` function that
#     runs `buildah run --isolation chroot` instead (named volumes become
#     directories; the host's network as --network host asks). The daemon
#     gets the simulated driver and free loopback ports in place of
#     libvirt and 5986/9586;
#   - then: vsmigd runs as 65532 and its files on the volume are 65532's; a
#     migration through the image's vsmigctl completes; SIGTERM (docker
#     stop) ends it cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/ci/lib.sh

B=(buildah --storage-driver vfs)
image=$(bash testdata/ci/image.sh)
work=$(mktemp -d /var/tmp/vsmig-image-test.XXXXXX)
chmod 0755 "$work"
declare -A daemons=() # docker run -d --name NAME: buildah's pid
ctrs=()
cleanup() {
	local name
	for name in "${!daemons[@]}"; do
		kill "${daemons[$name]}" 2>/dev/null || true
		wait "${daemons[$name]}" 2>/dev/null || true
	done
	if ((${#ctrs[@]})); then "${B[@]}" rm "${ctrs[@]}" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== the image's configuration ($image)"
"${B[@]}" inspect --type image "$image" >"$work/inspect.json"
conf() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["OCIv1"]["config"]; print(json.dumps(eval(sys.argv[2], {"c": c})))' "$work/inspect.json" "$1"; }
check 'entrypoint ["/usr/local/bin/vsmigd"]' test "$(conf 'c.get("Entrypoint")')" = '["/usr/local/bin/vsmigd"]'
check 'command ["serve"]' test "$(conf 'c.get("Cmd")')" = '["serve"]'
check 'user 65532:65532' test "$(conf 'c.get("User")')" = '"65532:65532"'
check 'exposed ports 5986/tcp, 9586/tcp' test "$(conf 'sorted(c.get("ExposedPorts", {}))')" = '["5986/tcp", "9586/tcp"]'
check 'volume /var/lib/vsmig' test "$(conf 'sorted(c.get("Volumes", {}))')" = '["/var/lib/vsmig"]'
check 'state directory by environment' test "$(conf '[e for e in c.get("Env", []) if e.startswith("VSMIGD_")]')" = '["VSMIGD_STATE_DIR=/var/lib/vsmig", "VSMIGD_METRICS_ADDR=:9586"]'
check "labels: title vsmigd, version ${VERSION:-0.1.0-dev}" test "$(conf '[c["Labels"].get(k) for k in ("org.opencontainers.image.title", "org.opencontainers.image.version")]')" = "[\"vsmigd\", \"${VERSION:-0.1.0-dev}\"]"
ctr=$("${B[@]}" from --pull=never --name "vsmig-image-test-$$" "$image")
ctrs+=("$ctr")
mnt=$("${B[@]}" mount "$ctr")
check "/var/lib/vsmig in the image: 65532:65532 0700" test "$(stat -c '%u:%g %a' "$mnt/var/lib/vsmig")" = "65532:65532 700"
check "/var/lib in the image: still root's" test "$(stat -c '%u:%g' "$mnt/var/lib")" = "0:0"
check "no shell in the runtime image" test ! -e "$mnt/bin/sh"
"${B[@]}" umount "$ctr" >/dev/null

echo "== the README's docker lines, with buildah run"
https=$(free_port) metrics=$(free_port)
# docker stands in for the docker client: run only, with the options the
# README uses. A named volume is a directory that starts as the image's
# /var/lib/vsmig does (owner 65532, mode 0700), as Docker initialises it.
docker() {
	case $1 in
	build) return 0 ;; # the image was built from the same Dockerfile by image.sh
	run) shift ;;
	*) echo "docker $1: not supported by the test" >&2; return 1 ;;
	esac
	local stdin=/dev/null detach= name= entry= args=() env=() vols=()
	while [[ $1 == -* ]]; do
		case $1 in
		-i) stdin=/dev/stdin; shift ;;
		-d) detach=1; shift ;;
		--rm) shift ;;
		--name) name=$2; shift 2 ;;
		--network) [ "$2" = host ] || return 1; shift 2 ;; # chroot isolation shares the host's network
		-v)
			local vol=${2%%:*} dst=${2#*:}
			if [ ! -d "$work/vol-$vol" ]; then install -d -o 65532 -g 65532 -m 0700 "$work/vol-$vol"; fi
			vols+=(--volume "$work/vol-$vol:$dst"); shift 2 ;;
		-e) env+=(--env "$2"); shift 2 ;;
		--entrypoint) entry=$2; shift 2 ;;
		*) echo "docker run $1: not supported by the test" >&2; return 1 ;;
		esac
	done
	[ "$1" = vsmigd ] || return 1
	shift
	if [ -n "$entry" ]; then
		args=("/usr/local/bin/$entry" "$@")
	else
		mapfile -t args < <(conf 'c["Entrypoint"]' | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
		if (($#)); then args+=("$@"); else mapfile -t -O "${#args[@]}" args < <(conf 'c["Cmd"]' | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))'); fi
	fi
	if [ -n "$detach" ]; then
		# The test's stand-ins: the simulator for libvirt, free ports.
		env+=(--env VSMIGD_DRIVER=sim --env "VSMIGD_HTTPS_ADDR=127.0.0.1:$https" --env "VSMIGD_METRICS_ADDR=127.0.0.1:$metrics")
		setsid "${B[@]}" run --isolation chroot "${env[@]}" "${vols[@]}" "$ctr" -- "${args[@]}" </dev/null >"$work/daemon-$name.log" 2>&1 &
		daemons[$name]=$!
		for _ in $(seq 150); do
			python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://127.0.0.1:$metrics/readyz" 2>/dev/null && return 0
			kill -0 "${daemons[$name]}" 2>/dev/null || break
			sleep 0.2
		done
		cat "$work/daemon-$name.log" >&2
		return 1
	fi
	"${B[@]}" run --isolation chroot "${env[@]}" "${vols[@]}" "$ctr" -- "${args[@]}" <"$stdin"
}
block=$(python3 -c 'import re, sys; print(re.search(r"<!-- docker:begin -->\s*```sh\n(.*?)```\s*<!-- docker:end -->", open("README.md").read(), re.S).group(1))')
block=${block//localhost:5986/127.0.0.1:$https}
echo "$block"
check "the README's docker lines run" bash -c 'set -eo pipefail; eval "$1" >"$2" 2>&1; cat "$2"' _ "$(declare -f docker conf); $(declare -p B work ctr https metrics); declare -A daemons=(); $block; declare -p daemons >$work/daemons" "$work/readme.out"
# shellcheck disable=SC1091 # the daemons the block started
[ -s "$work/daemons" ] && . "$work/daemons"
check "vms lists the demo through the pinned certificate" grep -q "web-01" "$work/readme.out"

pid=${daemons[vsmigd]:-}
vsmigd_pid() { # the vsmigd process under buildah run's
	local p=$1 c
	for c in $(ps -o pid= --ppid "$p"); do
		if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = vsmigd ]; then echo "$c"; return; fi
		vsmigd_pid "$c"
	done
}
vpid=$( [ -n "$pid" ] && vsmigd_pid "$pid" || true)
check "vsmigd runs as 65532" test "$(awk '/^Uid:/ {print $2}' "/proc/${vpid:-0}/status" 2>/dev/null)" = 65532
check "its files on the volume are 65532's" bash -c 'cd "$1" && [ -z "$(find . ! -uid 65532)" ] && [ -s users ] && [ -s jobs.db ] && [ -s cert.pem ]' _ "$work/vol-vsmig-state"
fp=$("${B[@]}" run --isolation chroot --volume "$work/vol-vsmig-state:/var/lib/vsmig" "$ctr" -- /usr/local/bin/vsmigd fingerprint)
check "a migration through the image's vsmigctl completes" bash -c 'out=$("$@" 2>&1); echo "$out" | tail -1; [[ $out == *"100% completed"* ]]' _ \
	"${B[@]}" run --isolation chroot --env "VSMIG_PASSWORD=a password" "$ctr" -- /usr/local/bin/vsmigctl \
	-e "https://127.0.0.1:$https/wsman" -u admin --fingerprint "$fp" migrate web-01 host-b --wait
if [ -n "$vpid" ]; then
	kill -TERM "$vpid" # what docker stop sends to the container's first process
	# buildah run was started by the block's shell, not this one: wait
	# for it to go rather than with wait(1).
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	unset "daemons[vsmigd]"
fi
check "docker stop: buildah run has ended" bash -c '! kill -0 "$1" 2>/dev/null' _ "${pid:-0}"
check "SIGTERM stops it cleanly" grep -q 'msg=stopped' "$work/daemon-vsmigd.log"
summary image-test
