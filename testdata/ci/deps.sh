#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian 12 machine (as root):
# the libvirt/QEMU lab packages (openssl and openssh-server for the lab's
# TLS and SSH transports, iptables for its network cut), Debian's python3-winrm (the real WinRM client
# the end-to-end tests drive), the packaging tests' tools (debootstrap for
# the fresh Debian roots, lintian, systemd for systemd-analyze, buildah for
# the image; zsh and groff-base check the completions and manual pages) and
# staticcheck. Safe to re-run; waits for another apt-get's lock.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
      libvirt-daemon-system libvirt-clients cpio python3-winrm openssl openssh-server iptables
      debootstrap lintian systemd buildah zsh groff-base)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	# No services started by the package scripts (a system sshd on
	# 0.0.0.0:22 in particular): the lab runs its own daemons. Docker
	# images already have such a policy-rc.d; elsewhere one is put in
	# place for the installation.
	policy=/usr/sbin/policy-rc.d ours=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
	fi
	sshd_before=$(cat /run/sshd.pid 2>/dev/null || true)
	rc=0
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -z "$ours" ] || rm -f "$policy"
	[ "$rc" = 0 ] || { echo "deps: apt-get install failed" >&2; exit "$rc"; }
	sshd_now=$(cat /run/sshd.pid 2>/dev/null || true)
	if [ -n "$sshd_now" ] && [ "$sshd_now" != "$sshd_before" ] && kill -0 "$sshd_now" 2>/dev/null; then
		echo "deps: stopping the system sshd the installation started"
		kill "$sshd_now"
	fi
fi
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
	echo "deps: installing staticcheck"
	GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
echo "deps: ok"
