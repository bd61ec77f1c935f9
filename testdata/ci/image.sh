#!/usr/bin/env bash
# `make image`: the image localhost/vsmigd:$VERSION, built by buildah
# (chroot isolation, vfs storage: no container engine needed) from
# docker/Dockerfile. Its base images are the build arguments BUILD_IMAGE and
# RUNTIME_IMAGE; unless they are given, this script makes local stand-ins
# of the public ones, since no image registry is reachable here:
#   localhost/vsmig-build-base:GOVERSION-KEY  for golang:1.26-bookworm: the
#     cached Debian 12 root (debroot.sh) with this machine's Go in
#     /usr/local/go, GOPATH /go;
#   localhost/vsmig-runtime-base:nonroot       for distroless static nonroot:
#     CA certificates, root and nonroot (65532) in passwd and group, /tmp.
# Both are kept in buildah's store and reused. The build mounts this
# machine's Go module and build caches, so it downloads nothing.
# Prints the image's name.
set -euo pipefail
cd "$(dirname "$0")/../.."

B=(buildah --storage-driver vfs)
version=${VERSION:-0.1.0-dev}
image=${IMAGE:-localhost/vsmigd:$version}
pull=()

have() { "${B[@]}" inspect --type image "$1" >/dev/null 2>&1; }

if [ -z "${BUILD_IMAGE:-}" ] || [ -z "${RUNTIME_IMAGE:-}" ]; then
	tarball=$(bash testdata/ci/debroot.sh)
	key=$(basename "$tarball" .tar)
	key=${key##*-}
	pull=(--pull=never)
fi

if [ -z "${BUILD_IMAGE:-}" ]; then
	BUILD_IMAGE=localhost/vsmig-build-base:$(go env GOVERSION)-$key
	if ! have "$BUILD_IMAGE"; then
		echo "image: making $BUILD_IMAGE" >&2
		ctr=$("${B[@]}" from scratch)
		mnt=$("${B[@]}" mount "$ctr")
		tar -C "$mnt" -xf "$tarball"
		cp -a "$(go env GOROOT)" "$mnt/usr/local/go"
		mkdir -p "$mnt/go"
		"${B[@]}" umount "$ctr" >/dev/null
		"${B[@]}" config --env PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			--env GOPATH=/go --env GOTOOLCHAIN=local --workingdir /go \
			--label org.opencontainers.image.description="vsmig's local stand-in for golang:1.26-bookworm" "$ctr"
		"${B[@]}" commit --quiet --rm "$ctr" "$BUILD_IMAGE" >/dev/null
	fi
fi

if [ -z "${RUNTIME_IMAGE:-}" ]; then
	RUNTIME_IMAGE=localhost/vsmig-runtime-base:nonroot-$key
	if ! have "$RUNTIME_IMAGE"; then
		echo "image: making $RUNTIME_IMAGE" >&2
		ctr=$("${B[@]}" from scratch)
		mnt=$("${B[@]}" mount "$ctr")
		tar -C "$mnt" -xf "$tarball" ./etc/ssl/certs/ca-certificates.crt
		printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$mnt/etc/passwd"
		printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$mnt/etc/group"
		mkdir -p "$mnt/tmp" "$mnt/home/nonroot" "$mnt/root" "$mnt/var/lib"
		chmod 1777 "$mnt/tmp"
		chmod 0700 "$mnt/root"
		chown 65532:65532 "$mnt/home/nonroot"
		"${B[@]}" umount "$ctr" >/dev/null
		"${B[@]}" config --user 65532:65532 --workingdir /home/nonroot --env PATH=/usr/local/bin:/usr/bin:/bin \
			--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
			--label org.opencontainers.image.description="vsmig's local stand-in for gcr.io/distroless/static-debian12:nonroot" "$ctr"
		"${B[@]}" commit --quiet --rm "$ctr" "$RUNTIME_IMAGE" >/dev/null
	fi
fi

old=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
echo "image: building $image on $BUILD_IMAGE and $RUNTIME_IMAGE" >&2
"${B[@]}" bud --isolation chroot --quiet "${pull[@]}" \
	--build-arg BUILD_IMAGE="$BUILD_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" --build-arg VERSION="$version" \
	--volume "$(go env GOMODCACHE):/go/pkg/mod" --volume "$(go env GOCACHE):/root/.cache/go-build" \
	--ignorefile docker/Dockerfile.dockerignore -f docker/Dockerfile -t "$image" . >&2
# The previous build of this tag is left without a name: remove it (vfs
# keeps whole copies).
new=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$image")
if [ -n "$old" ] && [ "$old" != "$new" ]; then "${B[@]}" rmi "$old" >/dev/null 2>&1 || true; fi
echo "$image"
