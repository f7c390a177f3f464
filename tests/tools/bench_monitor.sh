#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The monitoring verbs on a large log (no BPF): gen_log writes BENCH_RECORDS
# events (default 1,000,000) spread over the 92 days before now, with
# decision fields, a model switch half-way and risk rules (70 % of the
# decisions score below 0.70, so the system stream holds ~700,000 risk
# records); then models (now, --at), reconstruct of three decisions and
# report are timed: CPU seconds (user+sys) and wall seconds.
set -eu
cd "$(dirname "$0")/../.."
ST=${SEALTRACE:-build/sealtrace}
GEN=${GEN_LOG:-build/tools/gen_log}
N=${BENCH_RECORDS:-1000000}
W=$(mktemp -d /tmp/sealtrace-monbench.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$ST" keygen --dir "$W/keys" >/dev/null
cat >"$W/rules.yaml" <<'YAML'
system_id: credit-scoring
operator_id: example-bank
targets:
  - {name: scorer, exe: scorer, probes: [{symbol: score}]}
risk_rules:
  - {name: low_confidence, field: confidence_score, op: "<", value: 0.70, severity: medium}
  - {name: class_outside_set, field: output_class, not_in: [approve, decline, refer], severity: high}
YAML
start=$(date -u -d '92 days ago' +%Y-%m-%dT%H:%M:%SZ)
step=$((92 * 86400 * 1000000000 / N))
echo "monitoring verbs on $N events from $start, $(nproc) CPUs, $(uname -r)"
"$GEN" --state-dir "$W/s" --keys-dir "$W/keys" --records "$N" --start "$start" \
	--step-ns "$step" --seg-records 100000 --fsync-ms 1000 --input-bytes 256 \
	--output-bytes 64 --model-switch $((N / 2)) --scores --risk-config "$W/rules.yaml" |
	sed 's/^/   /'
t() {
	local what=$1
	shift
	/usr/bin/time -f "   %U %S %e" -o "$W/time" "$@" >/dev/null 2>"$W/err" ||
		{ cat "$W/err" >&2; exit 1; }
	read -r u s e <"$W/time" <<<"$(tail -1 "$W/time")"
	printf '%-44s %6.2f s CPU %6.2f s wall\n' "$what" "$(echo "$u + $s" | bc)" "$e"
}
t "models" "$ST" models --state-dir "$W/s"
t "models --at (switch - 1 day)" "$ST" models --state-dir "$W/s" --at "$(date -u -d '46 days ago' +%Y-%m-%dT%H:%M:%SZ)"
for n in 1000 300000 900000; do
	seg=$(printf '%020d.seg' $((n / 100000 * 100000)))
	id=$(zcat "$W/s/decision/$seg" | sed -n "$((n % 100000 + 1))p" | sed 's/.*"event_id":"\([^"]*\)".*/\1/')
	t "reconstruct decision $n (+bundle)" "$ST" reconstruct --state-dir "$W/s" --event-id "$id" \
		--bundle "$W/b.jsonl" --pubkey "$W/keys/signing.pub"
	python3 tools/verify_export.py "$W/b.jsonl" "$W/keys/signing.pub" | tail -1 | sed 's/^/   /'
done
t "report --json --out (both streams verified)" "$ST" report --state-dir "$W/s" --json \
	--out "$W/r.html" --pubkey "$W/keys/signing.pub"
