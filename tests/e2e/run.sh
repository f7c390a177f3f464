#!/bin/bash
# Run every end-to-end test: tests/e2e/test_*.py (real BPF, as root) and
# tests/e2e/*.sh (exit 0 pass, 77 skip, anything else fail).
#   tests/e2e/run.sh [FILTER]    only tests whose name contains FILTER
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "e2e: must run as root (BPF uprobes)" >&2
	exit 2
fi
# tracefs for tracepoints and uprobe events, bpffs for pinned maps and links
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
exec python3 tests/e2e/runner.py "${1:-}"
