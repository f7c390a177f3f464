#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Throughput of the records pipeline alone (no BPF): HMAC of the captured
# bytes + canonical record + chain + Merkle + gzip blocks + fsync policy +
# checkpoints, through gen_log. Events/s per core = events / CPU seconds.
set -eu
cd "$(dirname "$0")/../.."
ST=${SEALTRACE:-build/sealtrace}
GEN=${GEN_LOG:-build/tools/gen_log}
N=${BENCH_RECORDS:-200000}
W=$(mktemp -d /tmp/sealtrace-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$ST" keygen --dir "$W/keys" >/dev/null
echo "records pipeline, $N events per run, $(nproc) CPUs, $(uname -r)"
for cfg in "1024 256 0" "1024 256 100" "4096 1024 100" "64 64 100"; do
	set -- $cfg
	rm -rf "$W/state"
	echo "-- input $1 B, output $2 B, fsync ${3:-0} ms (0: every block)"
	"$GEN" --state-dir "$W/state" --keys-dir "$W/keys" --records "$N" \
		--input-bytes "$1" --output-bytes "$2" --fsync-ms "$3" | sed 's/^/   /'
done
