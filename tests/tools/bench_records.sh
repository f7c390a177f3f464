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

# Sealed segments (encryption.key_file): the same pipeline with every block
# sealed with AES-256-GCM. Runs alternate plain/sealed, REPS times each;
# the median events/s per core (CPU time, robust on a shared machine) of
# each, and the cost of sealing as a share of the plain throughput.
REPS=${BENCH_REPS:-5}
"$ST" keygen --data-key "$W/data.key" >/dev/null
per_core() { sed -n 's/.* \([0-9]*\) events\/s per core.*/\1/p'; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "-- encryption: plain vs sealed, median of $REPS runs each (events/s per core)"
for cfg in "1024 256 0" "1024 256 100" "64 64 100"; do
	set -- $cfg
	: >"$W/plain"; : >"$W/sealed"
	for r in $(seq "$REPS"); do
		for mode in plain sealed; do
			rm -rf "$W/state"
			extra=()
			[ "$mode" = sealed ] && extra=(--data-key "$W/data.key")
			"$GEN" --state-dir "$W/state" --keys-dir "$W/keys" --records "$N" \
				--input-bytes "$1" --output-bytes "$2" --fsync-ms "$3" "${extra[@]}" |
				per_core >>"$W/$mode"
		done
	done
	p=$(median <"$W/plain") s=$(median <"$W/sealed")
	awk -v p="$p" -v s="$s" -v a="$1" -v b="$2" -v f="$3" 'BEGIN {
		printf "   input %s B, output %s B, fsync %s ms: plain %d, sealed %d events/s per core: sealing costs %.1f %%\n",
		       a, b, f, p, s, 100 * (p - s) / p }'
done
