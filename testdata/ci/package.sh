#!/usr/bin/env bash
# `make package`: the Debian package dist/vsmig_<version>_<arch>.deb, built
# by nfpm from docker/nfpm.yaml. The binaries are static (CGO_ENABLED=0);
# the manual pages and completion scripts come from the binaries themselves
# (vsmigd help -man, vsmigctl help --man, vsmigctl completion bash|zsh), the
# same source as their --help. nfpm runs as a tool pinned by version with
# `go run`, so it is no dependency of the vsmig module.
set -euo pipefail
cd "$(dirname "$0")/../.."

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
version=${VERSION:-0.1.0-dev}
out=${DIST:-dist}
arch=$(go env GOARCH)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$stage/" ./cmd/vsmigd ./cmd/vsmigctl

"$stage/vsmigd" help -man | gzip -9n >"$stage/vsmigd.8.gz"
"$stage/vsmigctl" help --man | gzip -9n >"$stage/vsmigctl.1.gz"
"$stage/vsmigctl" completion bash >"$stage/vsmigctl.bash"
"$stage/vsmigctl" completion zsh >"$stage/_vsmigctl"

# Debian versions sort "~" before the release: 0.1.0~dev < 0.1.0.
debversion=${version//-/\~}
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
	printf 'vsmig (%s) unstable; urgency=medium\n\n' "$debversion"
	printf '  * Built from the vsmig source tree at commit %s.\n\n' "$commit"
	printf ' -- vsmig developers <dev@vsmig.dev>  %s\n' "$date"
} | gzip -9n >"$stage/changelog.gz"

# The copyright file: vsmig's notice, then the license of every module
# linked into the two binaries, read from the module cache.
modcache=$(go env GOMODCACHE)
{
	cat <<'NOTICE'
vsmig: a WS-Management server of the DMTF Virtual System Migration Profile.

Copyright: the vsmig developers <dev@vsmig.dev>.
The vsmig project has not published a license yet; until it does, all
rights are reserved by its authors.

The binaries vsmigd and vsmigctl are statically linked with the Go standard
library and the Go modules below; their licenses follow.
NOTICE
	printf '\n'
	go version -m "$stage/vsmigd" "$stage/vsmigctl" | awk '$1 == "dep" { print $2, $3 }' | sort -u |
		while read -r mod ver; do
			esc=$(printf '%s' "$mod" | sed 's/[A-Z]/!\L&/g')
			lic=$(ls "$modcache/$esc@$ver"/LICENSE* "$modcache/$esc@$ver"/COPYING* 2>/dev/null | head -1 || true)
			printf -- '----------------------------------------------------------------------\n'
			printf '%s %s\n\n' "$mod" "$ver"
			if [ -z "$lic" ]; then
				echo "(no license file in the module)"
			elif grep -q 'Apache License' "$lic" && grep -q 'Version 2.0' "$lic"; then
				# Debian keeps one copy of the Apache license; the module's NOTICE, if any, is kept here.
				echo "Licensed under the Apache License, Version 2.0; on Debian systems its text is in"
				echo "/usr/share/common-licenses/Apache-2.0."
				if [ -f "$modcache/$esc@$ver/NOTICE" ]; then printf '\n'; cat "$modcache/$esc@$ver/NOTICE"; fi
			else
				cat "$lic"
			fi
			printf '\n'
		done
	printf -- '----------------------------------------------------------------------\n'
	printf 'The Go standard library (%s)\n\n' "$(go env GOVERSION)"
	cat "$(go env GOROOT)/LICENSE"
} >"$stage/copyright"

cp -r docker/nfpm.yaml docker/vsmigd.service docker/vsmigd.sample.json docker/debian "$stage/"
mkdir -p "$out"
deb=$(realpath "$out")/vsmig_${debversion}_${arch}.deb
(cd "$stage" && VSMIG_DEB_VERSION=$debversion VSMIG_DEB_ARCH=$arch \
	GOFLAGS= go run "$NFPM" package --config nfpm.yaml --packager deb --target "$deb" >&2)
echo "$out/vsmig_${debversion}_${arch}.deb"
