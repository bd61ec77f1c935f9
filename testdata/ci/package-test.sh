#!/usr/bin/env bash
# `make package-test`: the Debian package, checked as an operator meets it.
#   - lintian, clean but for the overrides docker/debian/lintian-overrides
#     explains; the unit through systemd-analyze verify and security (the
#     exposure score must stay at most 2.0);
#   - installed with dpkg into a fresh Debian 12 root (a copy of the cached
#     debootstrap root, testdata/ci/debroot.sh): the vsmig system user, the
#     state directory (vsmig:vsmig 0700), the conffile, manual pages and
#     completions; `vsmigd version`; vsmigd started by the unit's own
#     ExecStart= line as the unit's User=, answering an Identify and running
#     a migration on the simulated demo (VSMIGD_DRIVER=sim, as a drop-in's
#     Environment= would set it: the root has no libvirtd);
#   - removed (state, configuration and user kept), installed again (the
#     state reused), purged (state and configuration gone).
# Usage: package-test.sh [DEB]; without DEB it runs `make package` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/ci/lib.sh

deb=${1:-$(bash testdata/ci/package.sh)}
deb=$(realpath "$deb")
version=$(dpkg-deb -f "$deb" Version)
tarball=$(bash testdata/ci/debroot.sh)
work=$(mktemp -d /var/tmp/vsmig-package-test.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== lintian"
lint=$(lintian --fail-on error,warning --show-overrides "$deb" 2>&1 | grep -v 'running with root privileges' || true)
echo "$lint"
check "lintian: no error or warning" lintian --fail-on error,warning "$deb"
check "lintian: overridden tags are the explained ones" \
	bash -c '! grep -E "^[EW]:" <<<"$1"' _ "$lint"

echo "== the systemd unit"
dpkg-deb -x "$deb" "$work/pkg"
unit=$work/pkg/lib/systemd/system/vsmigd.service
security=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 || true)
score=$(sed -n 's/.*Overall exposure level for vsmigd.service: \([0-9.]*\).*/\1/p' <<<"$security")
echo "systemd-analyze security: exposure ${score:-?} (0 best, 10 worst)"
check "systemd-analyze security: exposure $score <= 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

echo "== install into a fresh Debian 12 root"
root=$work/root
mkdir "$root"
tar -C "$root" -xf "$tarball"
cp "$deb" "$root/tmp/vsmig.deb"
inroot() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
check "dpkg -i" inroot dpkg -i /tmp/vsmig.deb
check "systemd-analyze verify (in the root, with its systemd)" systemd-analyze verify --root="$root" --man=no /lib/systemd/system/vsmigd.service
check "installed: vsmig $version" bash -c '[ "$(chroot "$1" dpkg-query -W -f="\${Status} \${Version}" vsmig)" = "install ok installed $2" ]' _ "$root" "$version"
check "a system user vsmig with no login shell" \
	bash -c 'IFS=: read -r n _ uid _ _ home shell < <(chroot "$1" getent passwd vsmig) && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/vsmig ] && [ "$shell" = /usr/sbin/nologin ]' _ "$root"
check "/var/lib/vsmig is vsmig:vsmig 0700" bash -c '[ "$(chroot "$1" stat -c "%U:%G %a" /var/lib/vsmig)" = "vsmig:vsmig 700" ]' _ "$root"
check "the unit is installed, not enabled (it needs a user first)" \
	bash -c '[ -s "$1/lib/systemd/system/vsmigd.service" ] && [ ! -e "$1/etc/systemd/system/multi-user.target.wants/vsmigd.service" ]' _ "$root"
check "/etc/vsmig/vsmigd.json is a conffile" bash -c 'chroot "$1" dpkg-query -W -f="\${Conffiles}" vsmig | grep -q "/etc/vsmig/vsmigd.json"' _ "$root"
for f in /usr/sbin/vsmigd /usr/bin/vsmigctl /usr/share/man/man8/vsmigd.8.gz /usr/share/man/man1/vsmigctl.1.gz \
	/usr/share/bash-completion/completions/vsmigctl /usr/share/zsh/vendor-completions/_vsmigctl /usr/share/doc/vsmig/copyright; do
	check "installed $f" test -s "$root$f"
done
check "vsmigd version" bash -c '[ "$(chroot "$1" vsmigd version)" = "vsmigd $2" ]' _ "$root" "${version//\~/-}"

echo "== start with the unit's ExecStart= as its User="
execstart=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/vsmigd.service")
user=$(sed -n 's/^User=//p' "$root/lib/systemd/system/vsmigd.service")
echo "ExecStart=$execstart (User=$user)"
asuser() { inroot setpriv --reuid="$user" --regid="$user" --init-groups "$@"; }
check "vsmigd user add admin (as $user)" bash -c 'echo pkg-test-pw | "$@" >/dev/null' _ \
	chroot "$root" setpriv --reuid="$user" --regid="$user" --init-groups vsmigd user add admin
https=$(free_port) metrics=$(free_port)
# shellcheck disable=SC2086 # ExecStart is split into words as systemd does (it has no quotes)
setsid chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 \
	VSMIGD_DRIVER=sim VSMIGD_HTTPS_ADDR=127.0.0.1:$https VSMIGD_METRICS_ADDR=127.0.0.1:$metrics \
	setpriv --reuid="$user" --regid="$user" --init-groups $execstart </dev/null >"$work/vsmigd.log" 2>&1 &
pid=$!
fp=
for _ in $(seq 150); do
	fp=$(asuser vsmigd fingerprint -config /etc/vsmig/vsmigd.json 2>/dev/null) &&
		inroot VSMIG_PASSWORD=pkg-test-pw vsmigctl -e "https://127.0.0.1:$https/wsman" -u admin --fingerprint "$fp" identify >"$work/identify" 2>&1 && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
cat "$work/identify"
check "Identify answered (certificate pinned by vsmigd fingerprint)" grep -q "Vendor: *vsmig" "$work/identify"
ctl() { inroot VSMIG_PASSWORD=pkg-test-pw vsmigctl -e "https://127.0.0.1:$https/wsman" -u admin --fingerprint "$fp" "$@"; }
check "a migration on the simulated demo completes" bash -c 'out=$("$@" 2>&1); echo "$out" | tail -1; [[ $out == *"100% completed"* ]]' _ \
	chroot "$root" /usr/bin/env -i VSMIG_PASSWORD=pkg-test-pw vsmigctl -e "https://127.0.0.1:$https/wsman" -u admin --fingerprint "$fp" migrate web-01 host-b --wait
check "the daemon runs as $user" bash -c '[ "$(awk "/^Uid:/ {print \$2}" /proc/$1/status)" = "$(chroot "$2" id -u "$3")" ]' _ "$pid" "$root" "$user"
check "its files are $user's; the secret ones mode 0600" bash -c 'chroot "$1" stat -c "%n %U %a" /var/lib/vsmig/cert.pem /var/lib/vsmig/key.pem /var/lib/vsmig/jobs.db /var/lib/vsmig/users >"$2"
	[ "$(grep -c " vsmig " "$2")" = 4 ] && [ "$(grep -c " 600$" "$2")" -ge 3 ] && ! grep -v cert.pem "$2" | grep -qv " 600$" || { cat "$2"; exit 1; }' _ "$root" "$work/modes"
kill "$pid"
rc=0
wait "$pid" || rc=$?
pid=
check "SIGTERM stops it cleanly (exit $rc)" test "$rc" = 0
grep -q 'level=' "$work/vsmigd.log" || grep -q '"level"' "$work/vsmigd.log" || cat "$work/vsmigd.log"

echo "== remove, reinstall, purge"
check "dpkg -r" inroot dpkg -r vsmig
check "removed: binaries gone" bash -c '[ ! -e "$1/usr/sbin/vsmigd" ] && [ ! -e "$1/usr/bin/vsmigctl" ]' _ "$root"
check "removed: the state is kept" test -s "$root/var/lib/vsmig/jobs.db" -a -s "$root/var/lib/vsmig/users"
check "removed: the configuration is kept" test -s "$root/etc/vsmig/vsmigd.json"
check "removed: the user is kept" inroot getent passwd vsmig
check "dpkg -i again" inroot dpkg -i /tmp/vsmig.deb
check "reinstalled: the state is as it was (vsmig:vsmig 0700, users kept)" \
	bash -c '[ "$(chroot "$1" stat -c "%U:%G %a" /var/lib/vsmig)" = "vsmig:vsmig 700" ] && grep -q "^admin:" "$1/var/lib/vsmig/users"' _ "$root"
check "dpkg -P" inroot dpkg -P vsmig
check "purged: state and configuration gone" bash -c '[ ! -e "$1/var/lib/vsmig" ] && [ ! -e "$1/etc/vsmig" ]' _ "$root"
check "purged: dpkg knows no vsmig" bash -c '! chroot "$1" dpkg-query -W -f="\${Status}" vsmig 2>/dev/null | grep -q installed' _ "$root"

summary package-test
