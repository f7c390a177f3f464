#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Tamper suite for the records pipeline (no BPF needed).
#
# Builds a log of $TAMPER_RECORDS (default 100000) records over several
# segments with build/tools/gen_log, then attacks copies of it and checks
# that `sealtrace verify` exits 1 naming the right stream/segment/seq, and
# that the untouched copy exits 0. Also: signing key rotation (the log
# goes on; old + new keys verify, the new alone or a foreign one does not;
# a retired key must not sign again), crash recovery, the marker test
# (raw input bytes never reach disk or exports), exports verified by
# `sealtrace verify --export` and by tools/verify_export.py, usage codes.
#
# Prints PASS:/FAIL: lines; exits 1 if anything failed.
. "$(dirname "$0")/suite.bash" tamper
N=${TAMPER_RECORDS:-100000}

verify() { "$ST" verify --quiet --pubkey "$W/keys/signing.pub" --state-dir "$@"; }
fresh() { rm -rf "$W/x" && cp -a "$W/a" "$W/x"; }
seg() { printf '%s/x/%s/%020d.seg' "$W" "$1" "$2"; }

for bin in "$ST" "$GEN"; do
	[ -x "$bin" ] || { echo "FAIL: $bin not built (make build/sealtrace build/tools/gen_log)"; exit 1; }
done

echo "== setup: keys and a log of $N records (gen_log)"
"$ST" keygen --dir "$W/keys" >/dev/null || { echo "FAIL: keygen"; exit 1; }
GENARGS=(--keys-dir "$W/keys" --seg-records 20000 --ckpt-records 10000)
"$GEN" "${GENARGS[@]}" --state-dir "$W/a" --records "$N" | sed 's/^/   /' ||
	{ echo "FAIL: gen_log"; exit 1; }
nseg=$(ls "$W/a/decision" | grep -c '\.seg$')
[ "$nseg" -ge 5 ] && pass "log spans $nseg decision segments" || fail "only $nseg segments"

echo "== untouched"
expect "untouched copy verifies" 0 "verify: OK" verify "$W/a"
expect "untouched copy, no --pubkey: structure OK, says signatures unchecked" 0 \
	"signatures NOT checked" "$ST" verify --quiet --state-dir "$W/a"

echo "== attacks (each on a fresh copy; verify must exit 1 and say where)"
fresh
size=$(stat -c %s "$(seg decision 40000)")
printf '\xff' | dd of="$(seg decision 40000)" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect "byte flipped in the compressed segment" 1 \
	"decision/00000000000000040000.seg seq [0-9]+: (block at offset [0-9]+ is not valid gzip|[0-9]+ bytes at offset [0-9]+ are not a whole gzip block|block at offset [0-9]+ does not end)" verify "$W/x"

fresh; "$EDIT" "$W/x" decision 30123 flip
expect "byte flipped in a record (segment re-gzipped)" 1 \
	"decision/00000000000000020000.seg seq 30124: preceding_event_hash does not match seq 30123" verify "$W/x"

fresh; "$EDIT" "$W/x" decision 41000 delete
expect "record deleted" 1 \
	"decision/00000000000000040000.seg seq 41000: found seq 41001 where seq 41000 belongs" verify "$W/x"

fresh; "$EDIT" "$W/x" decision 52000 swap
expect "two records swapped" 1 \
	"decision/00000000000000040000.seg seq 52000: found seq 52001 where seq 52000 belongs" verify "$W/x"

fresh; "$EDIT" "$W/x" decision 63000 insert
expect "record inserted" 1 \
	"decision/00000000000000060000.seg seq 63001: found seq 63000 where seq 63001 belongs" verify "$W/x"

fresh; rm "$(seg decision 40000)"
expect "whole segment deleted" 1 \
	"decision/00000000000000060000.seg seq 40000: segment starts at seq 60000: records 40000\.\.59999 are missing" verify "$W/x"

"$GEN" "${GENARGS[@]}" --state-dir "$W/b" --records "$N" --seed 7 >/dev/null
fresh; cp "$W/b/decision/00000000000000040000.seg" "$(seg decision 40000)"
expect "segment replaced by one from another run" 1 \
	"decision/00000000000000040000.seg seq 40000: preceding_event_hash does not match seq 39999" verify "$W/x"

fresh; last=$(ls "$W/x/decision" | grep '\.seg$' | tail -1); rm "$W/x/decision/$last"
expect "newest segment deleted (the signed heads in the log catch it)" 1 \
	"signs [0-9]+ records: seq $((10#${last:0:20}))\.\.[0-9]+ are missing" verify "$W/x"

fresh
python3 - "$W/x/decision/checkpoint" <<'EOF'
import sys
p = sys.argv[1]
t = open(p, encoding="utf-8").read().split("\n")
sig = t[4]
i = sig.index(" ", 2) + 21          # inside the Ed25519 signature bytes
t[4] = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
open(p, "w", encoding="utf-8").write("\n".join(t))
EOF
expect "checkpoint signature altered (decision/checkpoint)" 1 \
	"decision/checkpoint: checkpoint: Ed25519 signature of '[^']+' does not verify" verify "$W/x"

fresh
cseq=$(zcat "$W/x"/system/*.seg | grep '"event_type":"checkpoint"' | sed -n 5p |
	grep -oE '"seq":[0-9]+' | cut -d: -f2)
"$EDIT" "$W/x" system "$cseq" sig --rechain
expect "checkpoint signature altered in a checkpoint record (chain recomputed)" 1 \
	"system/[0-9]+\.seg seq $cseq: checkpoint: Ed25519 signature" verify "$W/x"

fresh; rm "$W/x/decision/checkpoint"
expect "checkpoint file deleted" 1 "decision/checkpoint: missing" verify "$W/x"

rm -rf "$W/x" && mkdir "$W/x"
expect "whole log wiped (empty state dir)" 1 "system/checkpoint: missing" verify "$W/x"
expect "state dir gone" 2 "not a directory" verify "$W/nonexistent"

fresh; "$EDIT" "$W/x" decision 50123 flip --rechain
if expect "record edited and the chain recomputed (signed Merkle head catches it)" 1 \
	"Merkle root of seq 0\.\.[0-9]+ differs from the one signed in [^:]+: a record in seq [0-9]+\.\.[0-9]+ was altered" \
	verify "$W/x"; then
	range=$(grep -oE 'a record in seq [0-9]+\.\.[0-9]+' <<<"$LAST_OUT" | grep -oE '[0-9]+\.\.[0-9]+')
	lo=${range%..*}; hi=${range#*..}
	[ "$lo" -le 50123 ] && [ "$hi" -ge 50123 ] &&
		pass "  the named range $range holds the edited seq 50123" ||
		fail "  the named range $range misses the edited seq 50123"
fi
"$ST" verify --quiet --state-dir "$W/x" >/dev/null 2>&1
[ $? -eq 1 ] && pass "  caught without --pubkey too (the roots are in the log)" ||
	fail "  re-chained edit not caught without --pubkey"

echo "== resume state (the agent's fast start) forged to match an edit before it"
fresh; "$EDIT" "$W/x" decision 50123 flip --rechain
python3 "$ROOT/tests/e2e/forge_resume.py" "$W/x" decision
expect "edit before the signed head + forged resume: verify still catches it" 1 \
	"a record in seq [0-9]+\.\.[0-9]+ was altered" verify "$W/x"
expect "  agent open refuses the log" 1 "refusing to append" \
	"$GEN" "${GENARGS[@]}" --state-dir "$W/x" --records 0
grep -q "not resuming (its frontier is not the signed tree" <<<"$LAST_OUT" &&
	pass "  ... after refusing the forged resume state and reading the whole stream" ||
	fail "  the forged resume state was not refused"
fresh; python3 "$ROOT/tests/e2e/forge_resume.py" "$W/x" decision
cmp -s "$W/a/decision/resume" "$W/x/decision/resume" &&
	pass "  the forger reproduces the genuine resume state of an untouched log" ||
	fail "  forge_resume.py does not match the log's own resume state"

echo "== tail truncated after the last checkpoint was copied away"
"$GEN" "${GENARGS[@]}" --state-dir "$W/r" --records 60000 >/dev/null
cp -a "$W/r" "$W/r.old"
"$GEN" "${GENARGS[@]}" --state-dir "$W/r" --records 50000 --start 2025-01-02 >/dev/null
cp "$W/r/decision/checkpoint" "$W/decision.ckpt"
expect "the continued log (two runs) verifies" 0 "verify: OK" verify "$W/r"
rm -rf "$W/r" && mv "$W/r.old" "$W/r"       # the attacker rolls the tail back
expect "rolled-back log is consistent on its own" 0 "verify: OK" verify "$W/r"
expect "rolled-back log against the copied checkpoint" 1 \
	"decision/[0-9]+\.seg \(end, 59940 records\): $W/decision.ckpt \(--checkpoint\) signs 109890 records: seq 59940\.\.109889 are missing" \
	verify "$W/r" --checkpoint "$W/decision.ckpt"

echo "== crash recovery"
fresh; last=$(ls "$W/x/decision" | grep '\.seg$' | tail -1)
# a crash mid-write leaves the start of a gzip member: take one from a block
head -c 300 "$W/x/decision/00000000000000000000.seg" >>"$W/x/decision/$last"
expect "torn tail is reported" 1 "decision/$last seq [0-9]+: torn tail" verify "$W/x"
expect "reopen moves the torn bytes aside" 0 "gen_log: 10 events" \
	"$GEN" "${GENARGS[@]}" --state-dir "$W/x" --records 10
[ "$(stat -c %s "$W/x/decision/$last".torn-* 2>/dev/null)" = 300 ] &&
	pass "  $last.torn-* keeps the 300 torn bytes" || fail "  torn bytes not kept aside"
zcat "$W/x"/system/*.seg | grep -q '"event_type":"recovery".*"reason":"torn_tail".*"torn_bytes":300' &&
	pass "  recovery record names the torn tail" || fail "  no recovery record for the torn tail"
expect "recovered log verifies" 0 "verify: OK" verify "$W/x"

rm -rf "$W/x"
"$GEN" "${GENARGS[@]}" --state-dir "$W/x" --records 100000000 >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -n "$(ls "$W/x/decision" 2>/dev/null | grep '\.seg$')" ] &&
	pass "killed gen_log (kill -9) after it wrote segments" || fail "gen_log wrote nothing before kill -9"
expect "reopen after kill -9" 0 "gen_log: 10 events" \
	"$GEN" "${GENARGS[@]}" --state-dir "$W/x" --records 10
zcat "$W/x"/system/*.seg | grep -qE '"event_type":"recovery".*"reason":"(unclean_stop|torn_tail)"' &&
	pass "  recovery record after the crash" || fail "  no recovery record after kill -9"
expect "log verifies after the crash" 0 "verify: OK" verify "$W/x"

echo "== marker: raw input bytes never reach the disk or an export"
MARK="SEALTRACE-MARKER-$$-7f3a9c"
"$GEN" "${GENARGS[@]}" --state-dir "$W/m" --records 3000 --marker "$MARK" >/dev/null
"$ST" export --state-dir "$W/m" >"$W/m.jsonl" 2>/dev/null
grep -qF "$MARK" <<<"x${MARK}x" || fail "grep cannot find the marker at all"
if grep -rqaF "$MARK" "$W/m" "$W/m.jsonl"; then
	fail "marker found in the state dir or the export"
else
	found=0
	for s in "$W"/m/*/*.seg; do zcat "$s" | grep -qF "$MARK" && found=1; done
	[ $found -eq 0 ] && pass "marker absent from state dir, zcat of every segment, export" ||
		fail "marker found in a decompressed segment"
fi
zcat "$W"/m/decision/*.seg | grep -qE '"input_hash":"hmac-sha256:[A-Za-z0-9_.-]+:[0-9a-f]{64}"' &&
	pass "  inputs are recorded as HMAC references" || fail "  no HMAC references"

echo "== exports"
"$ST" export --state-dir "$W/a" >"$W/all.jsonl" 2>/dev/null
"$ST" export --state-dir "$W/a" --stream decision --from 2025-01-01T00:00:30Z \
	--to 2025-01-01T00:00:31Z >"$W/range.jsonl" 2>/dev/null
"$ST" export --state-dir "$W/a" --event-type loss,incomplete >"$W/types.jsonl" 2>/dev/null
lines=$(grep -c '"schema_version"' "$W/all.jsonl")
total=$(for s in "$W"/a/*/*.seg; do zcat "$s"; done | wc -l)
[ "$lines" -eq $((total - 2)) ] && pass "full export holds every signed record ($lines of $total; the close-time checkpoint records are signed by the next run)" ||
	fail "full export holds $lines records of $total"
expect "full export: sealtrace verify --export" 0 "verify: OK" \
	"$ST" verify --export "$W/all.jsonl" --pubkey "$W/keys/signing.pub"
expect "full export: tools/verify_export.py" 0 "verify_export: OK" python3 "$PYV" "$W/all.jsonl" "$W/keys/signing.pub"
expect "time-range export (1 s of decisions): verify --export" 0 \
	"decision +999 records \(seq [0-9]+\.\.[0-9]+, 998 links checked\)" \
	"$ST" verify --export "$W/range.jsonl" --pubkey "$W/keys/signing.pub"
expect "time-range export: verify_export.py" 0 "verify_export: OK" python3 "$PYV" "$W/range.jsonl" "$W/keys/signing.pub"
expect "event-type export: verify_export.py" 0 "verify_export: OK" python3 "$PYV" "$W/types.jsonl" "$W/keys/signing.pub"
sed '500s/"kseq":\([0-9]*\)/"kseq":9\1/' "$W/range.jsonl" >"$W/bad.jsonl"
cmp -s "$W/range.jsonl" "$W/bad.jsonl" && fail "could not alter the export"
expect "altered export: verify --export" 1 "bad.jsonl:50[01]: " \
	"$ST" verify --export "$W/bad.jsonl" --pubkey "$W/keys/signing.pub"
expect "altered export: verify_export.py" 1 "verify_export: FAIL" python3 "$PYV" "$W/bad.jsonl" "$W/keys/signing.pub"
"$ST" keygen --dir "$W/other" >/dev/null
expect "export checked with another key" 1 "no signature by the given public key" \
	python3 "$PYV" "$W/range.jsonl" "$W/other/signing.pub"
awk '/^```python verify_export.py$/{on=1; next} /^```$/{on=0} on' docs/verify.md >"$W/doc.py"
cmp -s "$W/doc.py" "$PYV" && pass "docs/verify.md carries tools/verify_export.py verbatim" ||
	fail "docs/verify.md and tools/verify_export.py differ"

python3 - docs/schema.md <<'EOF'
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, "tools")
import verify_export as v
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n")
         if l.startswith('{"schema_version"')]
types = {json.loads(l)["event_type"] for l in lines
         if v.canonical(json.loads(l), l.encode())}
sys.exit(0 if len(lines) == 19 and len(types) == 19 else 1)
EOF
[ $? -eq 0 ] && pass "docs/schema.md has one canonical example for each of the 19 event types" ||
	fail "docs/schema.md examples are not 19 canonical lines of distinct types"

echo "== signing key rotation"
K=$W/rk
"$ST" keygen --dir "$K" >/dev/null
cp "$K/signing.pub" "$W/old.pub"
cp "$K/signing.key" "$W/old.key"	# kept only to play a thief below
RKARGS=("${GENARGS[@]}" --keys-dir "$K" --state-dir "$W/k" --records 30000)
"$GEN" "${RKARGS[@]}" >/dev/null || fail "gen_log before the rotation"
expect "keygen --rotate-signing" 0 \
	"retired the signing key: its public key is now $K/retired/signing-[0-9]{8}T[0-9]{6}Z\.pub" \
	"$ST" keygen --dir "$K" --rotate-signing
RET=$(ls "$K"/retired/*.pub)
cmp -s "$RET" "$W/old.pub" && pass "  retired/ holds the old public key" ||
	fail "  $RET is not the old signing.pub"
[ "$(stat -c %a "$RET")" = 644 ] && [ "$(stat -c %a "$K/signing.key")" = 600 ] &&
	[ -z "$(ls "$K/retired" | grep -v '\.pub$')" ] &&
	pass "  modes 0644/0600, no private key under retired/" || fail "  modes or retired/ contents"
expect "the log continues under the new key" 0 "gen_log: 30000 events" \
	"$GEN" "${RKARGS[@]}" --start 2025-01-02
zcat "$W/k"/system/*.seg | grep -qF '"old_key_file":"'"$RET"'","old_key_hash":"sha256:' &&
	zcat "$W/k"/system/*.seg | grep -c '"signing_key_rotated":true' | grep -qx 1 &&
	pass "  one config_change record names the rotation" || fail "  no config_change record for the rotation"
expect "verify --pubkey old --pubkey new" 0 \
	"every checkpoint signature verifies with one of the 2 given keys" \
	"$ST" verify --quiet --state-dir "$W/k" --pubkey "$W/old.pub" --pubkey "$K/signing.pub"
grep -qE "key $W/old.pub \(sha256:[0-9a-f]{16}\.\.\.\): signed [0-9]+ checkpoint records \(system seq 0\.\.[0-9]+\), 0 checkpoint file\(s\)" <<<"$LAST_OUT" &&
	grep -qE "key $K/signing.pub \(sha256:[0-9a-f]{16}\.\.\.\): signed [0-9]+ checkpoint records \(system seq [1-9][0-9]*\.\.[0-9]+\), 2 checkpoint file\(s\)" <<<"$LAST_OUT" &&
	pass "  the summary says which key signed which checkpoints" || { fail "  no per-key summary"; show "$LAST_OUT"; }
expect "verify --pubkey-dir (signing.pub + retired/)" 0 "with one of the 2 given keys" \
	"$ST" verify --quiet --state-dir "$W/k" --pubkey-dir "$K"
expect "verify --pubkey new alone fails at the first checkpoint the old key signed" 1 \
	"system/00000000000000000000\.seg seq 0: checkpoint: no signature by the given public key \(signed by 'sealtrace/credit-scoring/node-1' key id [0-9a-f]{8}\)" \
	"$ST" verify --quiet --state-dir "$W/k" --pubkey "$K/signing.pub"
"$ST" export --state-dir "$W/k" --pubkey "$W/old.pub" --pubkey "$K/signing.pub" >"$W/k.jsonl" 2>/dev/null ||
	fail "export --pubkey old --pubkey new"
expect "export after the rotation: verify --export --pubkey-dir" 0 "verify: OK" \
	"$ST" verify --export "$W/k.jsonl" --pubkey-dir "$K"
expect "export after the rotation: verify_export.py old new" 0 "verify_export: OK" \
	python3 "$PYV" "$W/k.jsonl" "$W/old.pub" "$K/signing.pub"
expect "export after the rotation: verify_export.py with the retired key only" 1 \
	"no signature by the given public key" python3 "$PYV" "$W/k.jsonl" "$W/old.pub"

"$ST" keygen --dir "$W/foreign" >/dev/null
rm -rf "$W/x" && cp -a "$W/k" "$W/x"
"$EDIT" --resign-file "$W/x/decision/checkpoint" --key "$K/signing.key"
expect "  (tool check: re-signed with the real key, the note still verifies)" 0 "verify: OK" \
	"$ST" verify --quiet --state-dir "$W/x" --pubkey-dir "$K"
"$EDIT" --resign-file "$W/x/decision/checkpoint" --key "$W/foreign/signing.key"
expect "checkpoint file re-signed with a foreign key" 1 \
	"decision/checkpoint: checkpoint: no signature by any of the 2 given public keys" \
	"$ST" verify --quiet --state-dir "$W/x" --pubkey-dir "$K"
expect "  the agent refuses to continue it" 1 "decision/checkpoint: checkpoint: no signature by any of the 2 given public keys .*\(signed by another key\?\)" \
	"$GEN" "${GENARGS[@]}" --keys-dir "$K" --state-dir "$W/x" --records 10
rm -rf "$W/x" && cp -a "$W/k" "$W/x"
cseq=$(zcat "$W/x"/system/*.seg | grep '"event_type":"checkpoint"' | tail -4 | head -1 |
	grep -oE '"seq":[0-9]+' | cut -d: -f2)
"$EDIT" "$W/x" system "$cseq" resign --rechain --key "$W/foreign/signing.key"
expect "checkpoint record re-signed with a foreign key (chain recomputed)" 1 \
	"system/[0-9]+\.seg seq $cseq: checkpoint: no signature by any of the 2 given public keys" \
	"$ST" verify --quiet --state-dir "$W/x" --pubkey "$W/old.pub" --pubkey "$K/signing.pub"

# a thief with the retired private key puts it back to sign a tail
rm -rf "$W/x" "$W/thief" && cp -a "$W/k" "$W/x" && mkdir -p "$W/thief/retired"
cp "$K/hmac.key" "$W/old.key" "$W/thief/" && mv "$W/thief/old.key" "$W/thief/signing.key"
cp "$W/old.pub" "$W/thief/signing.pub" && cp "$K/signing.pub" "$W/thief/retired/x.pub"
"$GEN" "${GENARGS[@]}" --keys-dir "$W/thief" --state-dir "$W/x" --records 10 >/dev/null ||
	fail "gen_log with the old key back"
expect "a retired key that signs again after the rotation" 1 \
	"system/[0-9]+\.seg seq [0-9]+: checkpoint signed by $W/old.pub, a key that another key replaced at system seq [0-9]+ \(a retired signing key signed again\)" \
	"$ST" verify --quiet --state-dir "$W/x" --pubkey "$W/old.pub" --pubkey "$K/signing.pub"

echo "== retention (gen_log --retain-*: the agent's st_log_retain, no BPF)"
# 5000 events an hour apart from 2025-01-01 (every 50th a system event):
# decision segments of 1000 records, each ~42 days. On 2025-07-28 with
# 100 days, the segments ending before ~2025-04-19 are past retention.
R=$W/ret
RGEN=(--keys-dir "$W/keys" --seg-records 1000 --ckpt-records 500
      --step-ns 3600000000000 --system-every 50)
RNOW=(--retain-now 2025-07-28 --retain-decision-days 100)
mkdir -p "$R"
"$GEN" "${RGEN[@]}" --state-dir "$R/base" --records 5000 >/dev/null || fail "gen_log (retention log)"
rfresh() { rm -rf "$R/x" && cp -a "$R/base" "$R/x"; }
retain() { "$GEN" "${RGEN[@]}" --state-dir "$R/x" --records 0 "$@"; }
purges() {
	for f in "$R"/x/system/*.seg; do zcat "$f"; done | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["event_type"] == "retention_purge":
        d = r["details"]
        print(d["purged_stream"], d["segment"], d["first_seq"], d["last_seq"], d["records"], d["last_hash"])'
}
lasthash() { zcat "$R/base/$1/$(printf %020d "$2").seg" | tail -1 | tr -d '\n' | sha256sum | cut -c1-64; }

rfresh
expect "retention purges the two expired decision segments" 0 \
	"decision: purged 2 segments, 2000 records; oldest kept: within the retention period" retain "${RNOW[@]}"
[ ! -e "$R/x/decision/00000000000000000000.seg" ] && [ ! -e "$R/x/decision/00000000000000001000.seg" ] &&
	[ -e "$R/x/decision/00000000000000002000.seg" ] && pass "  segments 0 and 1000 gone, 2000 kept" ||
	fail "  wrong segments left: $(ls "$R/x/decision" | tr '\n' ' ')"
want="decision 00000000000000000000.seg 0 999 1000 $(lasthash decision 0)
decision 00000000000000001000.seg 1000 1999 1000 $(lasthash decision 1000)"
got=$(purges)
[ "$got" = "$want" ] && pass "  retention_purge records: exact seq ranges, counts and last hashes" ||
	{ fail "  retention_purge records differ"; show "$got"; }
expect "purged log verifies, purged range reported" 0 \
	"decision purged by retention: seq 0\.\.1999; the rest continues from the retention_purge record at system seq [0-9]+" verify "$R/x"
expect "  and says how many purge records" 0 "retention_purge records in the system stream: 2" verify "$R/x"
expect "the agent reopens a purged log and goes on" 0 "decision: purged 0 segments" retain "${RNOW[@]}"
expect "  still verifies" 0 "verify: OK" verify "$R/x"
"$ST" export --state-dir "$R/x" >"$R/purged.jsonl" 2>/dev/null || fail "export of a purged log"
expect "export of a purged log verifies (frontier as proof nodes)" 0 "verify: OK" \
	"$ST" verify --export "$R/purged.jsonl" --pubkey "$W/keys/signing.pub"
expect "  and with tools/verify_export.py" 0 "verify_export: OK" python3 "$PYV" "$R/purged.jsonl" "$W/keys/signing.pub"

cp -a "$R/x" "$R/purged"
rm "$R/x/decision/00000000000000002000.seg"
expect "purged log, one more segment deleted by hand (no purge record)" 1 \
	"decision/00000000000000003000.seg seq 0: segment starts at seq 3000: records 0\.\.2999 are missing \(segment deleted\? no retention_purge record covers them\)" verify "$R/x"

rm -rf "$R/x" && cp -a "$R/purged" "$R/x"
rm "$R/x/decision/00000000000000002000.seg"
python3 "$ROOT/tests/e2e/retention_forge.py" "$R/x" "$R/base" 3000 || fail "retention_forge.py"
expect "forged retention_purge record (honest frontier, chain recomputed)" 1 \
	"system/[0-9]+\.seg seq [0-9]+: the Merkle root of seq 0\.\.[0-9]+ differs from the one signed" verify "$R/x"

rfresh
mkdir "$R/x/legal-hold"
printf 'from: 2025-02-20T00:00:00Z\nto: 2025-02-20T01:00:00Z\nreason: complaint 2025-17 (Art. 86)\n' > "$R/x/legal-hold/case-17"
expect "a legal hold on a record of segment 1000 keeps it (and everything after)" 0 \
	"decision: purged 1 segments, 1000 records; oldest kept: under legal hold" retain "${RNOW[@]}"
[ -e "$R/x/decision/00000000000000001000.seg" ] && pass "  held segment still there" || fail "  held segment purged"
expect "  and verifies" 0 "decision purged by retention: seq 0\.\.999;" verify "$R/x"

rfresh
mkdir "$R/x/legal-hold"
printf 'from: 2025-02-20T00:00:00Z\nto: soon\n' > "$R/x/legal-hold/bad"
expect "a malformed legal hold blocks every purge" 1 \
	"retention: legal hold: $R/x/legal-hold/bad: line 2: 'to:' is not an RFC 3339 time: 'soon' is not a time \(.*\); no segment is purged until it is fixed" \
	retain "${RNOW[@]}"
[ "$(ls "$R/x/decision" | grep -c '\.seg$')" -eq 5 ] && pass "  nothing purged" || fail "  segments were purged"
zcat "$R"/x/system/*.seg | grep -q '"legal_hold_invalid":true' && pass "  and a config_change record says so" ||
	fail "  no legal_hold_invalid record"
expect "  the log still verifies" 0 "verify: OK" verify "$R/x"

rfresh
expect "system retention too: purged behind its own purge records" 0 \
	"system: purged [1-9][0-9]* segments" retain --retain-now 2100-01-01 --retain-decision-days 100 --retain-system-days 1
expect "  both streams purged, verify OK" 0 \
	"system   purged by retention: seq 0\.\." verify "$R/x"
expect "  reopened again: still OK" 0 "decision: purged 0 segments" retain --retain-now 2100-01-01 --retain-decision-days 100 --retain-system-days 1
expect "  and verifies" 0 "verify: OK" verify "$R/x"

echo "== usage"
expect "verify without arguments" 2 "" "$ST" verify
expect "verify --export without --pubkey" 2 "" "$ST" verify --export "$W/all.jsonl"
expect "export without --state-dir" 2 "" "$ST" export
expect "export of an unknown event type" 2 "unknown event type" "$ST" export --state-dir "$W/a" --event-type nope
expect "keygen refuses to overwrite" 2 "refusing to overwrite" "$ST" keygen --dir "$W/keys"
mkdir "$W/nokeys"
expect "keygen --rotate-signing without a signing key" 2 "no current signing key; refusing to rotate" \
	"$ST" keygen --dir "$W/nokeys" --rotate-signing
[ -z "$(ls -A "$W/nokeys")" ] && pass "  and writes nothing" || fail "  it wrote into $W/nokeys"
expect "keygen --rotate-hmac with --rotate-signing" 2 "" "$ST" keygen --dir "$W/keys" --rotate-hmac --rotate-signing
expect "verify --pubkey-dir without any .pub" 2 "no \*\.pub file here" \
	"$ST" verify --state-dir "$W/a" --pubkey-dir "$W/nokeys"
for verb in verify export keygen; do
	expect "$verb --help" 0 "usage: sealtrace $verb" "$ST" "$verb" --help
done

echo "tamper suite: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
