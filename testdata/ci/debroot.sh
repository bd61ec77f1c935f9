#!/usr/bin/env bash
# Prints the path of a tarball of a fresh Debian 12 root (debootstrap
# minbase with adduser, ca-certificates and systemd, whose unit files let
# systemd-analyze verify the package's unit in it), made from the Debian archive
# on the first call and kept in $VSMIG_ROOT_CACHE (default
# /var/cache/vsmig-roots) for later runs on this machine. The package test
# installs the .deb into a copy of it; `make image` builds its stand-in base
# images from it. A changed package list or suite makes a new tarball.
set -euo pipefail

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=adduser,ca-certificates,systemd
cache=${VSMIG_ROOT_CACHE:-/var/cache/vsmig-roots}
key=$(printf '%s %s' "$suite" "$include" | sha256sum | cut -c1-12)
tarball=$cache/$suite-minbase-$key.tar

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one maker at a time; the others wait and reuse its tarball
if [ ! -s "$tarball" ]; then
	command -v debootstrap >/dev/null || { echo "debroot: debootstrap is missing (make deps)" >&2; exit 1; }
	work=$(mktemp -d "$cache/.make.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	echo "debroot: debootstrap $suite (minbase, $include) from $mirror" >&2
	start=$SECONDS
	if ! debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >"$work/log" 2>&1; then
		tail -20 "$work/log" >&2
		exit 1
	fi
	rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*_Packages
	tar -C "$work/root" --numeric-owner -cf "$work/root.tar" .
	mv "$work/root.tar" "$tarball"
	find "$cache" -maxdepth 1 -name "$suite-minbase-*.tar" ! -name "${tarball##*/}" -delete # older package lists
	echo "debroot: made $tarball in $((SECONDS - start)) s" >&2
fi
echo "$tarball"
