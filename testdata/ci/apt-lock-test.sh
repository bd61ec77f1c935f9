#!/usr/bin/env bash
# Checks that the project's apt helpers (testdata/ci/apt.sh, used by deps.sh
# and the lab's up.sh) wait for another apt or dpkg instead of failing: a
# holder takes apt's and dpkg's locks for a few seconds, then apt_update
# and apt_install (of a package already installed, so nothing changes)
# must succeed after it lets go. Run as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/ci/apt.sh

hold=4
exec {held}< <(python3 - "$hold" <<'PY'
import fcntl, sys, time
locks = [open(p, "w") for p in ("/var/lib/apt/lists/lock", "/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock")]
for f in locks:
    fcntl.lockf(f, fcntl.LOCK_EX)
print("holding", flush=True)
time.sleep(float(sys.argv[1]))
PY
)
holder=$!
trap 'kill $holder 2>/dev/null || true' EXIT
read -r -u "$held" _ # the holder has the locks
start=$SECONDS
apt_update || { echo "apt-lock-test: apt_update failed while another apt held the lists' lock" >&2; exit 1; }
apt_install cpio || { echo "apt-lock-test: apt_install failed while another dpkg held its lock" >&2; exit 1; }
waited=$((SECONDS - start))
wait "$holder"
((waited >= hold - 1)) || { echo "apt-lock-test: finished in ${waited}s, before the holder let go: the locks were not held" >&2; exit 1; }
echo "apt-lock-test: ok (waited ${waited}s for the holder)"
