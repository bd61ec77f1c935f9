#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian 12 machine (as root): the
# lab's packages (testdata/lab/up.sh's install_packages: QEMU and libvirt
# from Debian 12's backports suite, openssl, openssh-server, iptables,
# debootstrap, cpio), Debian's python3-winrm and wsl (with uuid-runtime,
# whose uuidgen it calls): the real WinRM clients the end-to-end tests
# drive; the packaging tests' tools (lintian, systemd for systemd-analyze,
# buildah for the image; zsh and groff-base check the completions and
# manual pages) and staticcheck. Waits for another apt or dpkg instead of
# failing. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. testdata/lab/up.sh # defines functions only when sourced
install_packages python3-winrm wsl uuid-runtime lintian systemd buildah zsh groff-base
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
	echo "deps: installing staticcheck"
	GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
echo "deps: ok"
