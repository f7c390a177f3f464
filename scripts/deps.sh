#!/bin/sh
# Install the Debian 12 packages sealtrace builds, tests and runs with,
# when any is missing. Idempotent; a no-op (one dpkg-query) when all are present.
#   scripts/deps.sh            build, unit and e2e tests
#   scripts/deps.sh container  also podman, runc and debootstrap (make test-container)
set -eu
PKGS="make gcc g++ pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev
libssl-dev libcmocka-dev libyaml-dev libmicrohttpd-dev libpq-dev libhttp-parser-dev
yamllint python3-yaml curl python3 util-linux iproute2 bpftrace procps cppcheck time
linux-perf systemd nodejs postgresql openssl"
if [ "${1:-}" = container ]; then
	# rootful podman with runc (Debian 12's podman defaults to crun), the
	# tools rootless podman would need, and debootstrap for the base image
	PKGS="$PKGS podman runc uidmap slirp4netns fuse-overlayfs debootstrap"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
