#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian 12 machine (as root):
# the libvirt/QEMU lab packages, Debian's python3-winrm (the real WinRM
# client the end-to-end tests drive) and staticcheck. Safe to re-run.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu
      libvirt-daemon-system libvirt-clients cpio python3-winrm)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
	echo "deps: installing staticcheck"
	GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@2026.2.2
fi
echo "deps: ok"
