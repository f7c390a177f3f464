#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The log at rest (issue 13), no BPF needed:
#  * sealed segments: an encrypted log of $AT_REST_RECORDS (default 100000)
#    records verifies with the data key, fails clearly without it, and its
#    export verifies with tools/verify_export.py unchanged; a flipped byte
#    anywhere in a sealed block, two blocks swapped, the last block dropped
#    are caught; kill -9 during writes, restart: no nonce repeats (every
#    nonce of every segment, torn copies included), nothing signed lost;
#    `sealtrace decrypt SEG | zcat` reads a segment;
#  * forward-secure signing: three epochs; the epoch-1 private key is
#    nowhere in the state or keys dir; every epoch verifies from the first
#    public key; a checkpoint for epoch 1 forged with the epoch-3 key is
#    rejected; re-sealing an old epoch with the current key
#    (CVE-2023-31439 class) and truncate-and-continue with it
#    (CVE-2023-31438 class) are caught.
# Prints PASS:/FAIL: lines; exits 1 if anything failed.
. "$(dirname "$0")/suite.bash" at-rest
SEAL=$ROOT/tests/e2e/seal_edit.py
N=${AT_REST_RECORDS:-100000}

for bin in "$ST" "$GEN"; do
	[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
done
K=$W/keys
DK=$W/data.key
verify() { "$ST" verify --quiet --pubkey "$K/signing.pub" --data-key "$DK" --state-dir "$@"; }
fresh() { rm -rf "$W/x" && cp -a "$W/a" "$W/x"; }
seg() { printf '%s/x/%s/%020d.seg' "$W" "$1" "$2"; }

echo "== sealed segments: a log of $N records"
"$ST" keygen --dir "$K" >/dev/null || { echo "FAIL: keygen"; exit 1; }
expect "keygen --data-key creates the data key file" 0 "data key '[^']+' is now the current key" \
	"$ST" keygen --data-key "$DK"
[ "$(stat -c %a "$DK")" = 600 ] && pass "data key file is 0600" || fail "data key mode $(stat -c %a "$DK")"
GENARGS=(--keys-dir "$K" --seg-records 20000 --ckpt-records 10000 --data-key "$DK")
"$GEN" "${GENARGS[@]}" --state-dir "$W/a" --records "$N" | sed 's/^/   /' ||
	{ echo "FAIL: gen_log"; exit 1; }
s0=$W/a/decision/00000000000000000000.seg
[ "$(head -c 8 "$s0")" = "$(printf 'sealtrc\001')" ] && pass "segments start with the sealed header" ||
	fail "segment is not sealed"
if zcat "$s0" >/dev/null 2>&1; then fail "zcat reads a sealed segment"; else pass "zcat cannot read a sealed segment"; fi
if grep -q '"event_type"' "$W"/a/*/*.seg; then fail "plaintext JSON in a sealed segment"; else pass "no plaintext record in any segment"; fi

expect "verify with the data key" 0 "verify: OK: 2 streams, [0-9]+ records" verify "$W/a"
expect "verify without the data key fails clearly (exit 2)" 2 \
	"is encrypted \(AES-256-GCM, data key '[^']+'\): reading it needs the data key file" \
	"$ST" verify --quiet --pubkey "$K/signing.pub" --state-dir "$W/a"
expect "SEALTRACE_DATA_KEY=FILE works too" 0 "verify: OK" \
	env SEALTRACE_DATA_KEY="$DK" "$ST" verify --quiet --pubkey "$K/signing.pub" --state-dir "$W/a"
"$ST" keygen --data-key "$W/other.key" >/dev/null
expect "a data key file without the segment's key is named" 2 "is sealed under data key '[^']+', which .*other.key does not hold" \
	"$ST" verify --quiet --data-key "$W/other.key" --state-dir "$W/a"

lines=$("$ST" decrypt --data-key "$DK" "$s0" | zcat | wc -l)
[ "$lines" = 20000 ] && pass "sealtrace decrypt SEG | zcat: 20000 lines" || fail "decrypt | zcat gave $lines lines"
if "$ST" decrypt --data-key "$DK" "$s0" | zcat | head -1 | grep -q '"seq":0,'; then
	pass "decrypted lines are the canonical records"; else fail "decrypted line 1 is not seq 0"; fi
expect "decrypt without a key says which key" 2 "data key '[^']+'" "$ST" decrypt "$s0"

"$ST" export --state-dir "$W/a" --data-key "$DK" >"$W/export.jsonl" 2>/dev/null
expect "export of the encrypted log verifies with tools/verify_export.py" 0 "verify_export: OK" \
	python3 "$PYV" "$W/export.jsonl" "$K/signing.pub"
expect "... and with sealtrace verify --export (no data key)" 0 "verify: OK" \
	"$ST" verify --export "$W/export.jsonl" --pubkey "$K/signing.pub"

echo "== sealed blocks attacked (fresh copy each; verify exits 1)"
mapfile -t blk < <("$SEAL" blocks "$(printf '%s/a/decision/%020d.seg' "$W" 40000)")
nb=${#blk[@]}
[ "$nb" -ge 4 ] && pass "segment 40000 has $nb sealed blocks" || fail "only $nb blocks"
read -r off1 _ _ len1 <<<"${blk[1]}"
for what in "segment header (salt):50" "block length field:$off1" "block index field:$((off1 + 8))" \
	    "block flags:$((off1 + 12))" "ciphertext:$((off1 + 13 + len1 / 2))" "GCM tag:$((off1 + 13 + len1 + 15))"; do
	name=${what%%:*} at=${what##*:}
	fresh; "$SEAL" flip "$(seg decision 40000)" "$at"
	expect "byte flipped in the $name" 1 "decision/00000000000000040000.seg seq [0-9]+: " verify "$W/x"
done
fresh; "$SEAL" swap "$(seg decision 40000)" 1 2
expect "two sealed blocks swapped" 1 \
	"decision/00000000000000040000.seg seq [0-9]+: sealed block has index 2 where 1 belongs" verify "$W/x"
fresh; "$SEAL" drop-last "$(seg decision 40000)"
expect "last (final) block dropped from a segment" 1 \
	"decision/00000000000000040000.seg seq 60000: sealed segment ends without its final block" verify "$W/x"
fresh; "$SEAL" drop-last "$(seg decision 40000)"; "$SEAL" drop-last "$(seg decision 40000)"
expect "last two blocks dropped (data and final)" 1 \
	"decision/00000000000000040000.seg seq [0-9]+: sealed segment ends without its final block" verify "$W/x"
last=$(ls "$W/a/decision" | grep '\.seg$' | tail -1)
fresh; "$SEAL" drop-last "$W/x/decision/$last"
expect "final block dropped from the newest segment (no agent running)" 1 \
	"sealed segment ends without its final block .*an agent crashed" verify "$W/x"
fresh; cp "$(seg decision 40000)" "$(seg decision 60000)"
expect "sealed segment copied over another" 1 "decision/00000000000000060000.seg seq 60000: " verify "$W/x"
fresh; "$SEAL" flip "$(seg system 0)" 100
expect "byte flipped in a system segment" 1 "system/00000000000000000000.seg seq 0: sealed block 0 fails its AES-GCM tag" verify "$W/x"
fresh; "$SEAL" flip "$(seg decision 40000)" "$((off1 + 13 + len1 / 2))"
expect "decrypt refuses the altered block (exit 1)" 1 "fails its AES-GCM tag" \
	sh -c "'$ST' decrypt --data-key '$DK' '$(seg decision 40000)' >/dev/null"

echo "== kill -9 during writes, restart: no nonce repeats, nothing lost"
rm -rf "$W/k"
for round in 1 2 3; do
	"$GEN" "${GENARGS[@]}" --state-dir "$W/k" --records 2000000 --seg-records 300000 \
		--start 2025-0$round-01 --seed $round >/dev/null 2>&1 &
	pid=$!
	sleep 2
	kill -9 $pid; wait $pid 2>/dev/null
	signed=$(sed -n 2p "$W/k/decision/checkpoint")
	out=$("$GEN" "${GENARGS[@]}" --state-dir "$W/k" --records 1000 --start 2025-0$round-02 2>&1)
	if [ $? -eq 0 ]; then pass "round $round: restart after kill -9 (signed before: $signed decision records)"
	else fail "round $round: restart after kill -9"; show "$out"; fi
done
expect "log verifies after three kill -9 and restarts" 0 "verify: OK" verify "$W/k"
nseal=$(ls "$W"/k/*/*.seg | wc -l)
"$SEAL" nonces "$W"/k/*/*.seg "$W"/k/*/*.torn-* 2>/dev/null | awk '{print $1, $2}' >"$W/nonces"
nn=$(wc -l <"$W/nonces"); dup=$(sort "$W/nonces" | uniq -d | wc -l)
[ "$nn" -gt 100 ] && [ "$dup" -eq 0 ] && pass "$nn (key, nonce) pairs over $nseal segments and torn copies, none repeats" ||
	fail "$dup repeated nonces among $nn"
for f in "$W"/k/*/*.seg; do
	"$SEAL" nonces "$f" | awk '{print $2}' | sort | uniq -d | grep -q . && fail "nonce repeats within $f"
done
pass "no nonce repeats within any segment"

echo "== forward-secure signing: three epochs"
E=$W/ep
mkdir -p "$E"
"$ST" keygen --dir "$E/keys" >/dev/null
cp "$E/keys/signing.pub" "$W/first.pub"
cp "$E/keys/signing.key" "$W/epoch1.key"
for i in 1 2 3; do
	"$GEN" --keys-dir "$E/keys" --state-dir "$E/s" --records 300 --epoch-seconds 1 \
		--data-key "$DK" --start 2025-01-0$i >/dev/null || fail "gen_log epoch run $i"
	[ "$i" = 2 ] && cp "$E/keys/signing.key" "$W/epoch2.key"
	[ "$i" -lt 3 ] && sleep 1.2
done
grep -q '^epoch 3 ' "$E/keys/signing.epoch" && pass "keys dir is in epoch 3" || fail "signing.epoch: $(cat "$E/keys/signing.epoch")"
seed=$(openssl pkey -in "$W/epoch1.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
found=$(grep -rlF -- "$(sed -n 2p "$W/epoch1.key")" "$E" 2>/dev/null | wc -l)
raw=0
for f in $(find "$E" -type f); do
	od -An -tx1 -v "$f" | tr -d ' \n' | grep -q "$seed" && raw=$((raw + 1))
done
[ "${#seed}" = 64 ] && [ "$found" = 0 ] && [ "$raw" = 0 ] && pass "the epoch-1 private key (PEM and raw seed) is in no file of the state or keys dir" ||
	fail "epoch-1 private key found in $found PEM / $raw raw files"
expect "every epoch verifies from the first public key" 0 \
	"verifies with the key of its epoch \(3 epochs, followed from the given key" \
	"$ST" verify --quiet --pubkey "$W/first.pub" --data-key "$DK" --state-dir "$E/s"
expect "the current key alone does not verify the history" 1 "" \
	"$ST" verify --quiet --pubkey "$E/keys/signing.pub" --data-key "$DK" --state-dir "$E/s"

# an epoch-1 head: the first checkpoint record's note, re-signed with the epoch-3 key
"$ST" export --state-dir "$E/s" --stream system --event-type checkpoint --data-key "$DK" 2>/dev/null |
	python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    d = o.get("details", {})
    if o.get("event_type") == "checkpoint" and d["checkpoint_stream"] == "decision" and d["tree_size"] > 0:
        sys.stdout.write(o["details"]["note"]); break' >"$W/epoch1.note"
grep -q '^300$' "$W/epoch1.note" && pass "an epoch-1 decision head (300 records) taken from the log" ||
	fail "no epoch-1 note: $(head -3 "$W/epoch1.note")"
expect "the genuine epoch-1 head verifies as --checkpoint" 0 "verify: OK" \
	"$ST" verify --quiet --pubkey "$W/first.pub" --data-key "$DK" --state-dir "$E/s" --checkpoint "$W/epoch1.note"
cp "$W/epoch1.note" "$W/forged.note"
"$EDIT" --resign-file "$W/forged.note" --key "$E/keys/signing.key"
expect "a checkpoint for epoch 1 forged with the epoch-3 key is rejected" 1 \
	"forged.note: signed by epoch 3 key .* lies outside that key's epoch" \
	"$ST" verify --quiet --pubkey "$W/first.pub" --data-key "$DK" --state-dir "$E/s" --checkpoint "$W/forged.note"

# CVE-2023-31439 class: re-seal an old epoch with the current key
plain() { rm -rf "$E/p" && mkdir -p "$E/p/decision" "$E/p/system" && for f in "$E"/s/*/*.seg; do
	st=$(basename "$(dirname "$f")"); "$ST" decrypt --data-key "$DK" "$f" >"$E/p/$st/$(basename "$f")"; done &&
	cp "$E"/s/decision/checkpoint "$E/p/decision/" && cp "$E"/s/system/checkpoint "$E/p/system/"; }
plain
expect "the log decrypted to plain gzip segments still verifies (no data key)" 0 "verify: OK" \
	"$ST" verify --quiet --pubkey "$W/first.pub" --state-dir "$E/p"
cseq=$(zcat "$E"/p/system/*.seg | grep '"event_type":"checkpoint"' | sed -n 1p |
	grep -oE '"seq":[0-9]+' | cut -d: -f2)
"$EDIT" "$E/p" system "$cseq" resign --key "$E/keys/signing.key" --rechain
expect "an epoch-1 checkpoint record re-sealed with the epoch-3 key (CVE-2023-31439 class)" 1 \
	"system/[0-9]+\.seg seq $cseq: checkpoint: " \
	"$ST" verify --quiet --pubkey "$W/first.pub" --state-dir "$E/p"

# CVE-2023-31438 class: truncate into epoch 2 and continue with the epoch-3 key
cp -a "$E/s" "$E/t"
for st in system decision; do rm "$E/t/$st/$(ls "$E/t/$st" | grep '\.seg$' | tail -1)"; rm -f "$E/t/$st/checkpoint" "$E/t/$st/resume"; done
"$GEN" --keys-dir "$E/keys" --state-dir "$E/t" --records 300 --data-key "$DK" --start 2025-02-01 >/dev/null 2>&1
expect "truncated into epoch 2 and continued with the epoch-3 key (CVE-2023-31438 class)" 1 \
	"system/[0-9]+\.seg seq [0-9]+: checkpoint: no signature by any of the [0-9]+ given public keys" \
	"$ST" verify --quiet --pubkey "$W/first.pub" --data-key "$DK" --state-dir "$E/t"

echo "at_rest: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
