#!/bin/sh
# Install the Debian 12 packages sealtrace builds, tests and runs with,
# when any is missing. Idempotent; a no-op (one dpkg-query) when all are present.
set -eu
PKGS="make gcc g++ pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev
libssl-dev libcmocka-dev libyaml-dev libmicrohttpd-dev libpq-dev
yamllint python3-yaml curl python3 util-linux iproute2 bpftrace procps cppcheck time
linux-perf systemd"
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
