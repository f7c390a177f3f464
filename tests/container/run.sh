#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# make test-container: the image users run, built and run the way users run it.
#
#  1. podman, runc, debootstrap (apt, when missing) and a containers.conf
#     this machine's kernel accepts (runtime runc, cgroupfs, ulimits that
#     runc may set here: found by trying);
#  2. a Debian 12 base from the configured Debian mirror (tests/container/
#     base.sh: debootstrap once, cached), no registry anywhere;
#  3. deploy/Dockerfile built with podman (FROM that local base);
#  4. the agent run as deploy/kubernetes/daemonset.yaml runs it: privileged,
#     the host's pid namespace, read-only root, the DaemonSet's mounts
#     (bpffs, BTF, tracefs, state, keys read-only, the rendered config, /tmp);
#  5. against a process on the host (running before the agent: found at
#     start, attached through the host's root, /proc/1/root) and a process
#     in a second,
#     unprivileged container started after the agent (discovered at exec,
#     held, attached through /proc/PID/root, resumed);
#  5c. a second container of the same image (the same overlayfs layer file:
#     the same probes, each call recorded once);
#  6. checks: exactly N records per process with the HMAC of each input,
#     container_id on the container's records and probe_attached, /healthz,
#     /metrics series per probe, a clean stop (exit 0), status, verify
#     (exit 0), and detach leaves nothing pinned.
#
# Environment: KEEP=1 keeps the work dir; SEALTRACE_TEST_CACHE (base.sh).
# Exit 0 pass, 1 a check failed, 3 setup failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

N=${N:-50}
SEED=23
CAP=256
T0=$(date +%s)

say() { echo "container: [$(($(date +%s) - T0))s] $*"; }
fail() { echo "container: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "container: must run as root (BPF, privileged container)" >&2
	exit 3
fi

# ---- 1. packages and podman configuration ----
scripts/deps.sh container

WORK=$(mktemp -d /tmp/sealtrace-container.XXXXXX)
chmod 755 "$WORK"
TAG=$$
AGENT=st-test-agent-$TAG
MODEL=st-test-model-$TAG
MODEL2=st-test-model2-$TAG
PIN_DIR=/sys/fs/bpf/st-container-test-$TAG
export CONTAINERS_CONF=$WORK/containers.conf

cleanup()
{
	local rc=$?
	if [ $rc != 0 ] && podman container exists "$AGENT" 2>/dev/null; then
		echo "---- agent log ----" >&2
		podman logs "$AGENT" 2>&1 | tail -40 >&2 || true
	fi
	podman rm -f -i -t 5 "$AGENT" >/dev/null 2>&1 || true
	podman rm -f -i -t 5 "$MODEL" >/dev/null 2>&1 || true
	podman rm -f -i -t 5 "$MODEL2" >/dev/null 2>&1 || true
	podman rmi -f -i "localhost/sealtrace-test-model:$TAG" >/dev/null 2>&1 || true
	# the build stage of an earlier image stays behind untagged (~760 MB)
	podman image prune -f >/dev/null 2>&1 || true
	if [ -n "${HOST_PID:-}" ]; then kill "$HOST_PID" 2>/dev/null || true; fi
	if [ -d "$PIN_DIR" ]; then
		"$ROOT/build/sealtrace" detach --config "$WORK/host.yaml" >/dev/null 2>&1 || true
		rm -rf "$PIN_DIR"
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "container: work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing

# runc sets the container's rlimits itself; it may not raise them above what
# this machine allows (podman's defaults are nofile=1048576, nproc=4194304).
write_conf()
{
	cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = [$1]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

podman_conf()
{
	local nofile nproc u
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	[ "$nofile" -gt 1048576 ] && nofile=1048576
	nproc=$(ulimit -Hu)
	[ "$nproc" = unlimited ] && nproc=4194304
	for u in "$nproc" 65536 32768 16384 4096; do
		[ "$u" -le "$nproc" ] || continue
		write_conf "\"nofile=$nofile:$nofile\", \"nproc=$u:$u\""
		if podman run --rm --network none localhost/debian:12 true 2>"$WORK/probe.err"; then
			say "containers.conf: runc, cgroupfs, nofile=$nofile nproc=$u"
			return 0
		fi
	done
	echo "container: no podman configuration runs a container here:" >&2
	cat "$WORK/probe.err" >&2
	exit 3
}

# ---- 2. base image ----
write_conf ""
tests/container/base.sh
podman_conf

# ---- 3. the image ----
say "building deploy/Dockerfile (podman, no registry)"
# The build stage tagged too: its package layers stay cached across runs
# (cleanup prunes untagged images, which older build stages become).
if ! podman build --pull=never -f deploy/Dockerfile --target build \
	-t localhost/sealtrace-build:test . >"$WORK/build.log" 2>&1 ||
	! podman build --pull=never -f deploy/Dockerfile -t localhost/sealtrace:test . \
	>>"$WORK/build.log" 2>&1; then
	tail -30 "$WORK/build.log" >&2
	fail "podman build of deploy/Dockerfile"
fi
say "image localhost/sealtrace:test: $(podman image inspect --format '{{.Size}}' localhost/sealtrace:test) bytes"

# ---- the model: one file on the host, another in a model server image ----
make -s all >/dev/null
mkdir -p "$WORK/host" "$WORK/modelimg" "$WORK/go" "$WORK/keys" "$WORK/state" "$WORK/run"
chmod 777 "$WORK/go"
cp build/targets/workload "$WORK/host/st-model"
cp build/targets/workload "$WORK/modelimg/st-model"
cat >"$WORK/modelimg/Containerfile" <<'EOF'
FROM localhost/debian:12
COPY st-model /opt/model/st-model
ENTRYPOINT ["/opt/model/st-model"]
EOF
podman build --pull=never -t localhost/sealtrace-test-model:$TAG "$WORK/modelimg" \
	>"$WORK/model-build.log" 2>&1 || { tail "$WORK/model-build.log" >&2; fail "model image"; }

build/sealtrace keygen --dir "$WORK/keys" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PREDICT='symbol: st_predict
        input: {ptr: "%di", len: "%si", max: '$CAP'}
        output: {ptr: "%dx", len: "%ax", at: return}'
# The config as the DaemonSet's init container renders it (paths in the pod).
cat >"$WORK/run/config.yaml" <<EOF
system_id: urn:example:ai-system:container-test
operator_id: urn:example:operator:ci
node_id: container-test
state_dir: /var/lib/sealtrace
keys: {dir: /etc/sealtrace/keys}
pin_dir: $PIN_DIR
metrics: {listen: "127.0.0.1:$PORT"}
targets:
  - name: host-model
    path: $WORK/host/st-model
    probes:
      - $PREDICT
  - name: ctr-model
    path: /opt/model/st-model
    probes:
      - $PREDICT
EOF
# The same config with the host's paths (detach at cleanup, status).
sed -e "s#/var/lib/sealtrace#$WORK/state#" -e "s#/etc/sealtrace/keys#$WORK/keys#" \
	"$WORK/run/config.yaml" >"$WORK/host.yaml"

# ---- 5a. a process on the host, running before the agent ----
"$WORK/host/st-model" loop --count "$N" --seed $SEED --cap $CAP --go "$WORK/go/host" \
	>"$WORK/host.out" 2>&1 &
HOST_PID=$!

# ---- 4. the agent, as the DaemonSet runs it ----
say "starting the agent container (privileged, host pid namespace)"
podman run -d --name "$AGENT" \
	--privileged --pid host --network host --read-only \
	-v /sys/fs/bpf:/sys/fs/bpf \
	-v /sys/kernel/btf:/sys/kernel/btf:ro \
	-v /sys/kernel/tracing:/sys/kernel/tracing \
	-v "$WORK/state:/var/lib/sealtrace" \
	-v "$WORK/keys:/etc/sealtrace/keys:ro" \
	-v "$WORK/run:/run/sealtrace:ro" \
	--tmpfs /tmp \
	localhost/sealtrace:test run --config /run/sealtrace/config.yaml >/dev/null

healthy()
{
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"
}
for _ in $(seq 600); do
	healthy && break
	[ "$(podman inspect --format '{{.State.Running}}' "$AGENT")" = true ] ||
		fail "agent exited: $(podman logs "$AGENT" 2>&1 | tail -5)"
	sleep 0.2
done
healthy || fail "/healthz not OK after 120 s"
say "/healthz OK"

# ---- 5b. a model server in a second, unprivileged container ----
podman run -d --name "$MODEL" --network none --user 65534:65534 \
	-v "$WORK/go:/go" localhost/sealtrace-test-model:$TAG \
	loop --count "$N" --seed $SEED --cap $CAP --go /go/ctr >/dev/null
for _ in $(seq 300); do
	podman logs "$MODEL" 2>/dev/null | grep -q '^ready' && break
	sleep 0.2
done
podman logs "$MODEL" 2>/dev/null | grep -q '^ready' || fail "model container did not start"
CTR_ID=$(podman inspect --format '{{.Id}}' "$MODEL")
CTR_PID=$(podman inspect --format '{{.State.Pid}}' "$MODEL")
say "model container ${CTR_ID:0:12} (host pid $CTR_PID), host process pid $HOST_PID"

touch "$WORK/go/host" "$WORK/go/ctr"
wait "$HOST_PID" || fail "host process exited $?"
HOST_DONE_PID=$HOST_PID
HOST_PID=
[ "$(podman wait "$MODEL")" = 0 ] || fail "model container exited non-zero"
grep -q "done calls=$N" "$WORK/host.out" || fail "host process: $(cat "$WORK/host.out")"

# ---- 5c. a second container of the same image: the same file (overlayfs
# layer inode), so the same probes; each call recorded once ----
podman run -d --name "$MODEL2" --network none --user 65534:65534 \
	localhost/sealtrace-test-model:$TAG loop --count "$N" --seed $SEED --cap $CAP >/dev/null
[ "$(podman wait "$MODEL2")" = 0 ] || fail "second model container exited non-zero"
CTR2_ID=$(podman inspect --format '{{.Id}}' "$MODEL2")
say "second model container ${CTR2_ID:0:12} done"

# ---- 6. /metrics while it runs ----
metric()
{
	curl -sf "http://127.0.0.1:$PORT/metrics" |
		awk -v name="$1" -v probe="$2" '$1 ~ "^"name"{" && index($1, "probe=\""probe"\"") { print $2 }'
}
CTR_PROBE="ctr-model:st_predict@${CTR_ID:0:12}"
for _ in $(seq 150); do
	[ "$(metric sealtrace_probe_persisted_total host-model:st_predict)" = "$N" ] &&
		[ "$(metric sealtrace_probe_persisted_total "$CTR_PROBE")" = "$((2 * N))" ] && break
	sleep 0.2
done
for p in host-model:st_predict "$CTR_PROBE"; do
	want=$N
	[ "$p" = "$CTR_PROBE" ] && want=$((2 * N))	# both model containers
	for m in sealtrace_probe_hits_total sealtrace_probe_persisted_total; do
		v=$(metric $m "$p")
		[ "$v" = "$want" ] || fail "/metrics $m{probe=\"$p\"} = '$v', expected $want"
	done
done
say "/metrics: hits and persisted $N (host) and $((2 * N)) (image) per probe"

# ---- clean stop ----
podman stop -t 120 "$AGENT" >/dev/null
rc=$(podman inspect --format '{{.State.ExitCode}}' "$AGENT")
[ "$rc" = 0 ] || fail "agent exit status $rc after SIGTERM"
podman logs "$AGENT" >"$WORK/agent.log" 2>&1
say "agent stopped cleanly (exit 0)"

# ---- records ----
python3 - "$WORK/state" "$WORK/keys/hmac.key" "$N" "$SEED" "$CAP" "$HOST_DONE_PID" \
	"$CTR_PID" "$CTR_ID" "$WORK/host/st-model" "$CTR2_ID" <<'EOF' || fail "records"
import glob, gzip, hashlib, hmac, json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "e2e"))
import workload_inputs as wi

state, keyfile, n, seed, cap, host_pid, ctr_pid, ctr_id, host_file, ctr2_id = sys.argv[1:]
n, seed, cap, host_pid, ctr_pid = int(n), int(seed), int(cap), int(host_pid), int(ctr_pid)
recs = []
for s in ("system", "decision"):
    for seg in sorted(glob.glob(os.path.join(state, s, "*.seg"))):
        with gzip.open(seg, "rt") as f:
            recs += [json.loads(l) for l in f]
lines = [l.split() for l in open(keyfile) if l.strip() and not l.startswith("#")]
key_id, key = lines[-1][0], bytes.fromhex(lines[-1][1])

def ref(b):
    return "hmac-sha256:%s:%s" % (key_id, hmac.new(key, b, hashlib.sha256).hexdigest())

def check(what, got, want):
    if got != want:
        sys.exit("%s: expected %r, got %r" % (what, want, got))

want = sorted(ref(wi.input_bytes(seed, i, cap)[:cap]) for i in range(n))
ctr_probe = "ctr-model:st_predict@" + ctr_id[:12]
# the second container of the image: its calls once, under the image file's probe
inf2 = [r for r in recs if r["event_type"] == "inference" and r["container_id"] == ctr2_id]
check("second container: inference records", len(inf2), n)
check("second container: probe", {r["probe"] for r in inf2}, {ctr_probe})
check("second container: input hashes", sorted(r["input_hash"] for r in inf2), want)
check("probe_attached records in all",
      len([r for r in recs if r["event_type"] == "probe_attached"]), 2)
recs = [r for r in recs if r["container_id"] != ctr2_id]
for probe, pid, cid in (("host-model:st_predict", host_pid, None), (ctr_probe, ctr_pid, ctr_id)):
    inf = [r for r in recs if r["event_type"] == "inference" and r["probe"] == probe]
    check("%s: inference records" % probe, len(inf), n)
    check("%s: pids" % probe, {r["pid"] for r in inf}, {pid})
    check("%s: container_id" % probe, {r["container_id"] for r in inf}, {cid})
    check("%s: input hashes" % probe, sorted(r["input_hash"] for r in inf), want)
    att = [r for r in recs if r["event_type"] == "probe_attached" and r["probe"] == probe]
    check("%s: probe_attached" % probe, [r["container_id"] for r in att], [cid])
    act = [r for r in recs if r["event_type"] == "system_activation" and r["pid"] == pid]
    check("%s: activation" % probe, [(r["container_id"], r["details"]["reason"]) for r in act],
          [(cid, "found_at_start" if cid is None else "exec")])
host_att = [r for r in recs if r["event_type"] == "probe_attached" and r["container_id"] is None
            and r["probe"].startswith("host-model")]
# /proc/1/root, or (PID 1 not inspectable here) the root of conmon, which
# runs in the host's mount namespace
hp = host_att[0]["details"]["path"]
check("host file reached through the host's root (%s)" % hp,
      hp.startswith("/proc/") and hp.endswith("/root" + host_file), True)
check("incomplete records", [r for r in recs if r["event_type"] in ("incomplete", "loss")], [])
stops = [r for r in recs if r["event_type"] == "agent_stop"]
check("agent_stop records", len(stops), 1)
print("container: records: %d + %d + %d inference records with exact input hashes" % (n, n, n))
EOF

build/sealtrace status --state-dir "$WORK/state" --json >"$WORK/status.json" || true
python3 - "$WORK/status.json" "$N" "$CTR_PROBE" <<'EOF' || fail "status after stop"
import json, sys
st = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
rows = {p["probe"]: (p["hits"], p["persisted"]) for p in st["probes"]}
want = {"host-model:st_predict": (n, n), sys.argv[3]: (2 * n, 2 * n)}
if {k: rows.get(k) for k in want} != want:
    sys.exit("status rows %r, expected %r" % (rows, want))
EOF
say "status after stop: hits = persisted per probe ($N, $((2 * N)))"

build/sealtrace verify --state-dir "$WORK/state" --pubkey "$WORK/keys/signing.pub" \
	>"$WORK/verify.out" 2>&1 || { cat "$WORK/verify.out" >&2; fail "verify"; }
say "verify: exit 0"

# ---- uninstall, as an operator would: detach from the image ----
podman run --rm --privileged --pid host --network none \
	-v /sys/fs/bpf:/sys/fs/bpf -v /sys/kernel/btf:/sys/kernel/btf:ro \
	-v /sys/kernel/tracing:/sys/kernel/tracing \
	-v "$WORK/state:/var/lib/sealtrace" -v "$WORK/keys:/etc/sealtrace/keys:ro" \
	-v "$WORK/run:/run/sealtrace:ro" \
	localhost/sealtrace:test detach --config /run/sealtrace/config.yaml >"$WORK/detach.out" 2>&1 ||
	{ cat "$WORK/detach.out" >&2; fail "detach"; }
[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR still there after detach"
say "PASS (detach left nothing pinned)"
