#!/bin/sh
# Make a Debian bookworm base image without an image registry: debootstrap from Debian's
# package mirror, then `podman import`. For machines that reach Debian but not Docker Hub.
#   sudo deploy/offline/base.sh [TAG]      (default localhost/debian:bookworm-local)
# The host's extra CA certificates (/usr/local/share/ca-certificates) are copied in, so
# apt and pip inside the builds trust a TLS-inspecting proxy the host trusts.
set -eu
tag="${1:-localhost/debian:bookworm-local}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT INT TERM
debootstrap --variant=minbase bookworm "$root" "$mirror"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mkdir -p "$root/usr/local/share/ca-certificates"
for cert in /usr/local/share/ca-certificates/*.crt; do
    [ -e "$cert" ] && cp "$cert" "$root/usr/local/share/ca-certificates/"
done
tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$tag"
echo "built $tag"
