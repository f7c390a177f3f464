#!/bin/bash
# GPU end-to-end: the agent observes a CUDA inference process on a GPU host.
# Not part of `make test` (CI has no GPU). Needs: root, nvcc, BTF, uprobes,
# and the agent: build/sealtrace here, or a bundle made by tests/gpu/bundle.sh
# (binary + the shared libraries it needs) for a host without our packages.
#   tests/gpu/run.sh [N]        results also in $OUT when set
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}
OUTDIR=${OUT:-/tmp/gpu-e2e-out}
mkdir -p "$OUTDIR"
ST=build/sealtrace
if [ -x .gpu-bundle/sealtrace ]; then
	ST=.gpu-bundle/sealtrace
	export LD_LIBRARY_PATH=$PWD/.gpu-bundle/lib
fi
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
W=$(mktemp -d /tmp/gpu-e2e.XXXXXX)
log() { echo "[gpu-e2e] $*" | tee -a "$OUTDIR/summary.txt"; }
log "host: $(uname -r); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo no nvidia-smi)"
nvcc -O2 -o "$W/cuda_model" tests/gpu/cuda_model.cu
"$ST" keygen --dir "$W/keys" >/dev/null
cat >"$W/config.yaml" <<EOC
system_id: urn:example:ai-system:gpu-e2e
operator_id: urn:example:operator:e2e
state_dir: $W/state
keys: {dir: $W/keys}
pin_dir: /sys/fs/bpf/sealtrace-gpu-e2e
metrics: {listen: ""}
targets:
  - name: cuda
    path: $W/cuda_model
    probes:
      - symbol: predict
        input:  {ptr: "%di", len: "%si:s32", elem_size: 4, max: 4096}
        output: {ptr: "%dx", len: "%ax:s32", elem_size: 4, at: return, max: 4096}
EOC
"$W/cuda_model" --count "$N" --go "$W/go" >"$W/target.log" 2>&1 &
TPID=$!
"$ST" run --config "$W/config.yaml" --ready-file "$W/ready" --detach-on-exit 2>"$W/agent.log" &
APID=$!
for _ in $(seq 1 300); do [ -e "$W/ready" ] && break; sleep 0.1; done
[ -e "$W/ready" ] || { cat "$W/agent.log"; exit 1; }
T0=$(date +%s.%N)
touch "$W/go"
wait "$TPID"
T1=$(date +%s.%N)
kill -TERM "$APID"; wait "$APID" || true
log "$(tail -1 "$W/target.log") in $(python3 -c "print(round($T1 - $T0, 2))") s"
log "agent: $(grep 'probe cuda' "$W/agent.log")"
R=$(python3 tests/gpu/check.py "$W/state" "$W/keys" "$N") && rc=0 || rc=$?
log "check: $R"
V=$("$ST" verify --state-dir "$W/state" --pubkey "$W/keys/signing.pub" --quiet 2>&1 | tail -1) && vrc=0 || vrc=$?
log "verify (exit $vrc): $V"
cp "$W/agent.log" "$OUTDIR/agent.log"
# head closes the pipe early: zcat then dies of SIGPIPE, which is expected here
(zcat "$W"/state/decision/*.seg || true) | head -3 >"$OUTDIR/sample-records.jsonl"
if [ "$rc" = 0 ] && [ "$vrc" = 0 ]; then log "PASS"; else log "FAIL"; exit 1; fi
