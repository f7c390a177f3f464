#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Hostile input to the CLI (no BPF needed): what an auditor may receive or
# find in a state dir, and configs meant to exhaust the loader. Each case
# must end with the documented exit code and a message naming the file
# (and line or offset) within a generous `timeout`: a hang is a failure.
#
#  - a bundle whose re-signed checkpoint claims a tree above 2^63 records
#  - a bundle header with 80,000 keys, a NUL byte in a line, a 64 MiB line
#  - a FIFO in place of a segment, a checkpoint, agent/status.json
#  - an unreadable checkpoint (exit 3, not 1)
#  - --from beyond 2554 / an impossible date
#  - configs: nesting, aliases, a raw NUL byte, a right-to-left override
#
# Prints PASS:/FAIL: lines; exits 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ST=${SEALTRACE:-$ROOT/build/sealtrace}
GEN=${GEN_LOG:-$ROOT/build/tools/gen_log}
W=$(mktemp -d /tmp/sealtrace-hostile.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
fails=0
passes=0

pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect NAME RC PATTERN CMD...: CMD exits RC within 60 s, output matches PATTERN.
expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$(timeout 60 "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq 124 ]; then
		fail "$name: still running after 60 s"
		return 1
	fi
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		sed 's/^/      | /' <<<"$out" | tail -4
		return 1
	fi
	if ! grep -qE -- "$pattern" <<<"$out"; then
		fail "$name: output lacks /$pattern/"
		sed 's/^/      | /' <<<"$out" | tail -4
		return 1
	fi
	pass "$name: $(grep -oE -- "$pattern" <<<"$out" | head -1)"
}

for bin in "$ST" "$GEN"; do
	[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
done
"$ST" keygen --dir "$W/keys" >/dev/null || { echo "FAIL: keygen"; exit 1; }
"$GEN" --state-dir "$W/a" --keys-dir "$W/keys" --records 20 --ckpt-records 5 \
	--seg-records 8 >/dev/null || { echo "FAIL: gen_log"; exit 1; }
chmod -R a+rX "$W"
PUB=$W/keys/signing.pub
fresh() { rm -rf "$W/x" && cp -a "$W/a" "$W/x"; }

echo "== export bundles an auditor receives"
"$ST" export --state-dir "$W/a" --stream decision >"$W/b.jsonl" 2>/dev/null
expect "untouched bundle verifies" 0 "verify: OK" "$ST" verify --export "$W/b.jsonl" --pubkey "$PUB"
# the checkpoint re-signed with the real key, claiming 2^63 + 5 records
python3 - "$W/b.jsonl" "$W/keys/signing.key" "$W/huge.jsonl" <<'PY'
import json, sys
sys.path.insert(0, "tests/e2e")
from tamper_edit import resign_note
src, key, dst = sys.argv[1:]
out = []
for line in open(src, encoding="utf-8"):
    o = json.loads(line)
    if o.get("export") == "checkpoint":
        l = o["note"].split("\n")
        l[1] = str(2**63 + 5)
        o["note"] = resign_note("\n".join(l), key)
    elif o.get("export") == "proof":
        o["tree_size"] = 2**63 + 5
    out.append(json.dumps(o, ensure_ascii=False, separators=(",", ":")))
open(dst, "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
expect "checkpoint claiming 2^63+5 records: FAIL, no hang" 1 \
	"huge.jsonl:[0-9]+: decision proof: proof lacks the hash of leaves" \
	"$ST" verify --export "$W/huge.jsonl" --pubkey "$PUB"
python3 -c "
import sys
print('{\"export\":\"header\",' + ','.join('\"k%d\":0' % i for i in range(80000)) + '}')
" >"$W/keys.jsonl"
tail -n +2 "$W/b.jsonl" >>"$W/keys.jsonl"
expect "header line with 80,000 keys" 1 "keys.jsonl:1: .*more than 10000 keys in one object" \
	"$ST" verify --export "$W/keys.jsonl" --pubkey "$PUB"

python3 - "$W/b.jsonl" "$W/nul.jsonl" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
lines[3] += b"\0 not part of the record"
open(sys.argv[2], "wb").write(b"\n".join(lines))
PY
expect "NUL byte and junk after a record" 1 "nul.jsonl:4: " \
	"$ST" verify --export "$W/nul.jsonl" --pubkey "$PUB"
{ head -n 1 "$W/b.jsonl"; head -c $((64 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' '; echo; } >"$W/long.jsonl"
expect "a line of 64 MiB + 1 byte" 1 "long.jsonl:2: line longer than 67108864 bytes" \
	"$ST" verify --export "$W/long.jsonl" --pubkey "$PUB"
rm -f "$W/long.jsonl"

echo "== special files where the log's files belong"
fresh
rm "$W/x/decision/00000000000000000008.seg" && mkfifo "$W/x/decision/00000000000000000008.seg"
expect "FIFO segment: verify" 3 "decision/00000000000000000008.seg: not a regular file but a FIFO" \
	"$ST" verify --pubkey "$PUB" --state-dir "$W/x"
expect "FIFO segment: export" 3 "decision/00000000000000000008.seg: not a regular file but a FIFO" \
	"$ST" export --state-dir "$W/x"
fresh
rm "$W/x/system/checkpoint" && mkfifo "$W/x/system/checkpoint"
expect "FIFO checkpoint: verify" 3 "system/checkpoint: not a regular file but a FIFO" \
	"$ST" verify --pubkey "$PUB" --state-dir "$W/x"
expect "FIFO checkpoint: export" 3 "system/checkpoint: not a regular file but a FIFO" \
	"$ST" export --state-dir "$W/x"
fresh
mkdir -p "$W/x/agent" && mkfifo "$W/x/agent/status.json"
expect "FIFO status.json: status" 2 "agent/status.json: not a regular file but a FIFO" \
	"$ST" status --state-dir "$W/x"
mkdir "$W/pubs" && cp "$PUB" "$W/pubs/a.pub" && mkfifo "$W/pubs/b.pub"
expect "FIFO among the public keys (--pubkey-dir)" 2 "pubs/b.pub: not a regular file but a FIFO" \
	"$ST" verify --state-dir "$W/a" --pubkey-dir "$W/pubs"
fresh
mkdir "$W/x/legal-hold" && mkfifo "$W/x/legal-hold/fifo"
expect "FIFO legal hold: retention refuses it, purges nothing" 1 \
	"legal hold: .*legal-hold/fifo: not a regular file .*no segment is purged" \
	"$GEN" --state-dir "$W/x" --keys-dir "$W/keys" --records 0 --retain-now 2100-01-01 \
	--retain-decision-days 1
fresh
chmod 000 "$W/x/decision/checkpoint"
expect "unreadable checkpoint: verify exits 3 (I/O), not 1 (tampered)" 3 \
	"decision/checkpoint: Permission denied" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ST" verify --pubkey "$PUB" --state-dir "$W/x"
expect "unreadable checkpoint: export exits 3" 3 "decision/checkpoint: Permission denied" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ST" export --state-dir "$W/x"

echo "== times"
expect "--from 2600-01-01 is refused (it used to wrap and export everything)" 2 \
	"--from: '2600-01-01' is after 2554-07-21T23:34:32Z" "$ST" export --state-dir "$W/a" --from 2600-01-01
expect "--to 2025-02-31 is refused (it used to mean March 3)" 2 \
	"--to: '2025-02-31': 2025-02 has no day 31" "$ST" export --state-dir "$W/a" --to 2025-02-31

echo "== configs"
H='system_id: s
operator_id: o
'
python3 -c "import sys; sys.stdout.write('''$H''' + 'targets: ' + '[' * 100000 + '\n')" >"$W/deep.yaml"
expect "100 KB of nested flow lists" 2 "deep.yaml:3: lists and mappings nested deeper than 32 levels" \
	"$ST" run --check-config "$W/deep.yaml"
python3 - "$W/alias.yaml" <<'PY'
import sys
s = "system_id: s\noperator_id: o\ntargets:\n  - name: t0\n    path: /x\n    probes: [{symbol: f}]\n    model_globs: &g\n"
s += "".join("      - /models/%032d/*.gguf\n" % i for i in range(5000))
s += "".join("  - {name: t%d, path: /x, probes: [{symbol: f}], model_globs: *g}\n" % i for i in range(1, 200))
open(sys.argv[1], "w").write(s)
PY
expect "one anchored list aliased by 199 targets" 2 \
	"alias.yaml:5026: alias \*g \(5001 nodes\) takes the config beyond 100000 nodes" \
	"$ST" run --check-config "$W/alias.yaml"
printf 'system_id: s\noperator_id: o\nnode_id: a\000b\n' >"$W/nul.yaml"
expect "raw NUL byte: its line" 2 "nul.yaml:3: invalid input at byte 38: control characters are not allowed" \
	"$ST" run --check-config "$W/nul.yaml"
printf 'system_id: "cred\\u202Etiderc"\noperator_id: o\ntargets:\n  - name: t\n    path: /bin/true\n    probes:\n      - symbol: f\n' >"$W/rlo.yaml"
expect "system_id with a right-to-left override" 2 "rlo.yaml:1: system_id: contains U\+202E" \
	"$ST" run --check-config "$W/rlo.yaml"

echo "hostile input: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
