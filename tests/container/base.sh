#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A Debian 12 base image for podman, made without any registry: debootstrap
# from the Debian mirror apt is configured with, cached under
# $SEALTRACE_TEST_CACHE (default /var/cache/sealtrace-test), imported once as
# localhost/debian:12 (also tagged debian:12-slim, the runtime stage's base).
set -euo pipefail

CACHE=${SEALTRACE_TEST_CACHE:-/var/cache/sealtrace-test}
ROOTFS_TAR=$CACHE/debian-12-rootfs.tar

# The first http(s) Debian mirror in apt's sources (deb822 or one-line form).
mirror()
{
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' "$f"
	done
}

debian_mirror()
{
	mirror | grep -v -e security -e '-updates' | grep -m1 -i debian || true
}

make_rootfs()
{
	local m tmp
	m=$(debian_mirror)
	if [ -z "$m" ]; then
		echo "container: no Debian mirror in /etc/apt/sources.list*" >&2
		exit 3
	fi
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
	echo "container: debootstrap bookworm from $m (once; cached in $ROOTFS_TAR)"
	if ! debootstrap --variant=minbase bookworm "$tmp" "$m" >"$CACHE/debootstrap.log" 2>&1; then
		echo "container: debootstrap failed; last lines of $CACHE/debootstrap.log:" >&2
		tail -20 "$CACHE/debootstrap.log" >&2
		rm -rf "$tmp"
		exit 3
	fi
	# apt inside the image uses the same mirror as this machine
	printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$m" "$m" \
		>"$tmp/etc/apt/sources.list"
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
	tar -C "$tmp" -cf "$ROOTFS_TAR.tmp" .
	mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
	rm -rf "$tmp"
}

[ -s "$ROOTFS_TAR" ] || make_rootfs
if ! podman image exists localhost/debian:12; then
	podman import "$ROOTFS_TAR" localhost/debian:12 >/dev/null
fi
podman image exists localhost/debian:12-slim || podman tag localhost/debian:12 localhost/debian:12-slim
echo "container: base image localhost/debian:12 ready"
