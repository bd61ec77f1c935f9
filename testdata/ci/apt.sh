# Shared by testdata/ci/deps.sh and testdata/lab/up.sh (source it): apt-get
# that waits for another apt or dpkg to finish instead of failing at once,
# Debian 12's backports suite (the lab's QEMU and libvirt), and package
# installation that starts no services.

# How long to wait for another apt or dpkg, in seconds.
APT_LOCK_WAIT=${VSMIG_APT_LOCK_WAIT:-900}
BACKPORTS=bookworm-backports
BACKPORTS_SOURCES=/etc/apt/sources.list.d/vsmig-$BACKPORTS.sources

apt_log() { printf 'apt: %s\n' "$*" >&2; }

# apt_update: apt-get update, waiting for the package lists' lock. apt-get
# install honours DPkg::Lock::Timeout, but update (apt 2.6) does not: it
# fails at once with "Could not get lock /var/lib/apt/lists/lock", so it is
# repeated while that lock is held by someone else.
apt_update() {
	local deadline=$((SECONDS + APT_LOCK_WAIT)) out
	while ! out=$(DEBIAN_FRONTEND=noninteractive apt-get -q -q update 2>&1); do
		if ! grep -q 'Could not get lock\|Unable to lock' <<<"$out" || ((SECONDS >= deadline)); then
			printf '%s\n' "$out" >&2
			return 1
		fi
		sleep 2
	done
}

# apt_install [-t SUITE] PKG...: install packages without recommends and
# without starting their services. Under systemd or with a policy-rc.d
# that forbids it (as in container images) none would start; otherwise
# invoke-rc.d would start, for instance, a system sshd on 0.0.0.0:22, so a
# temporary policy-rc.d forbids it (and a system sshd started anyway is
# stopped).
apt_install() {
	local policy=/usr/sbin/policy-rc.d ours= sshd_before rc=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# vsmig: no services started while installing\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi
	sshd_before=$(cat /run/sshd.pid 2>/dev/null || true)
	DEBIAN_FRONTEND=noninteractive apt-get -q -q -y -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" \
		--no-install-recommends install "$@" >/dev/null || rc=$?
	[[ -z $ours ]] || rm -f "$policy"
	local sshd_now
	sshd_now=$(cat /run/sshd.pid 2>/dev/null || true)
	if [[ -n $sshd_now && $sshd_now != "$sshd_before" ]] && kill -0 "$sshd_now" 2>/dev/null; then
		apt_log "stopping the system sshd the installation started"
		kill "$sshd_now"
	fi
	return "$rc"
}

# apt_missing PKG...: prints the packages that are not installed.
apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}

# apt_enable_backports: Debian 12's backports suite in apt's sources (from
# the same mirror as the main suite), and the package lists updated when
# it was added. Backports packages are installed only when asked for with
# -t bookworm-backports.
apt_enable_backports() {
	if ! grep -rqs "$BACKPORTS" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >"$BACKPORTS_SOURCES" <<-EOF
			# Added by vsmig (testdata/ci/apt.sh): the lab's QEMU and libvirt.
			Types: deb
			URIs: $(apt_mirror)
			Suites: $BACKPORTS
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		apt_log "added $BACKPORTS to apt's sources ($BACKPORTS_SOURCES)"
		apt_update
	elif ! apt-cache policy 2>/dev/null | grep -q "$BACKPORTS"; then
		apt_update
	fi
}

# apt_mirror: the Debian mirror apt's sources name for the main suite
# (deb.debian.org if none is found).
apt_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '!/^#/ { for (i = 1; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }')
	echo "${m:-http://deb.debian.org/debian}"
}

# apt_outdated SUITE PKG...: prints the packages not installed at the
# version SUITE has (older or missing).
apt_outdated() {
	local suite=$1 p want have
	shift
	for p in "$@"; do
		want=$(apt-cache madison "$p" 2>/dev/null | awk -v s="$suite" '$0 ~ s"/" {print $3; exit}')
		have=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null | awk '/ok installed/ {print $4}')
		if [[ -z $want ]]; then
			apt_log "no $p in $suite"
			echo "$p"
		elif [[ -z $have ]] || dpkg --compare-versions "$have" lt "$want"; then
			echo "$p"
		fi
	done
}
