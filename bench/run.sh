#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# make bench: the benchmarks of BENCHMARKS.md. Needs root (uprobes), the
# built tree (make all, build/bench/floor) and python3; the measuring is in
# bench/bench.py so that statistics and JSON stay out of shell. Options are
# passed through (bench/run.sh --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (uprobes need CAP_SYS_ADMIN / CAP_BPF)" >&2
	exit 1
fi
for f in build/targets/workload build/bench/floor; do
	[ -x "$f" ] || { echo "bench: $f missing: run make all build/bench/floor" >&2; exit 1; }
done
# the system python: the one make deps provides, not a user's virtualenv
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" bench/bench.py "$@"
# shipping into PostgreSQL (BENCHMARKS.md section 8): a cluster of its own
"$PY" bench/ship.py
# wire capture: non-target syscall cost, a real server with and without capture
exec "$PY" bench/wire_bench.py
