#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Who may read (issue 13), no agent running, no BPF needed:
# the state dir belongs to the log group (segments 0640), the data key is
# 0640 to it, hmac.key and signing.key 0600 root, and `sealtrace` is
# installed setgid to the log group. A user in `auditors` can `export`
# (and the export verifies), and leaves a log_access record with their uid
# (a pending-access note, sealed by the next log open); the same user can
# read no segment, key or hmac.key directly and may not `decrypt`; a user
# outside `auditors` is refused, and the refusal is recorded too.
# Creates (and removes) two users, and the groups `auditors` and
# `sealtrace` when missing. Prints PASS:/FAIL:; exits 1 if anything failed.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
ST=${SEALTRACE:-$ROOT/build/sealtrace}
GEN=${GEN_LOG:-$ROOT/build/tools/gen_log}
PYV=$ROOT/tools/verify_export.py
fails=0
passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v runuser >/dev/null && command -v useradd >/dev/null ||
	{ echo "SKIP: runuser/useradd missing"; exit 77; }
W=$(mktemp -d /tmp/sealtrace-access.XXXXXX)
AUD=st-aud-$$ OUT=st-out-$$
made_groups=()
cleanup() {
	userdel "$AUD" 2>/dev/null; userdel "$OUT" 2>/dev/null
	for g in "${made_groups[@]}"; do groupdel "$g" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
for g in auditors sealtrace; do
	getent group "$g" >/dev/null || { groupadd --system "$g" && made_groups+=("$g"); }
done
useradd --no-create-home --shell /bin/false --groups auditors "$AUD"
useradd --no-create-home --shell /bin/false "$OUT"
chmod 755 "$W"

S=$W/state K=$W/keys DK=$W/data.key
"$ST" keygen --dir "$K" >/dev/null
"$ST" keygen --data-key "$DK" >/dev/null
"$GEN" --keys-dir "$K" --state-dir "$S" --records 5000 --data-key "$DK" >/dev/null ||
	{ echo "FAIL: gen_log"; exit 1; }
# the operator's part (docs/operations.md, "Who may read")
chgrp -R sealtrace "$S" && find "$S" -type d -exec chmod g+s {} +
chgrp sealtrace "$DK" && chmod 0640 "$DK"
mkdir -p "$W/bin" && cp "$ST" "$W/bin/sealtrace" && chgrp sealtrace "$W/bin/sealtrace" &&
	chmod 2755 "$W/bin/sealtrace"
SG=$W/bin/sealtrace
# the log makes <state_dir>/access (2770, the state dir's group) at open
"$GEN" --keys-dir "$K" --state-dir "$S" --records 0 --data-key "$DK" >/dev/null
[ "$(stat -c '%a %G' "$S/access")" = "2770 sealtrace" ] && pass "access/ is 2770 root:sealtrace" ||
	fail "access/ is $(stat -c '%a %G' "$S/access")"
[ "$(stat -c %a "$K/hmac.key")" = 600 ] && [ "$(stat -c %a "$K/signing.key")" = 600 ] &&
	pass "hmac.key and signing.key are 0600 root" || fail "key modes"

as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
aud_uid=$(id -u "$AUD") out_uid=$(id -u "$OUT")

for f in "$S/decision/00000000000000000000.seg" "$DK" "$K/hmac.key" "$K/signing.key"; do
	if as "$AUD" cat "$f" >/dev/null 2>&1; then fail "auditor reads $f directly"
	else pass "auditor cannot read $(basename "$f") directly"; fi
done
if as "$AUD" "$ST" export --state-dir "$S" --data-key "$DK" >/dev/null 2>&1; then
	fail "auditor exports without the setgid binary"; else pass "without the setgid binary the auditor reads nothing"; fi

as "$AUD" "$SG" export --state-dir "$S" --data-key "$DK" >"$W/export.jsonl" 2>"$W/err"
rc=$?
[ $rc -eq 0 ] && pass "auditor: setgid export exits 0" || { fail "auditor export exit $rc"; cat "$W/err"; }
out=$(python3 "$PYV" "$W/export.jsonl" "$K/signing.pub" 2>&1) && pass "the auditor's export verifies (verify_export.py)" ||
	{ fail "export does not verify"; echo "$out" | tail -3; }
n=$(grep -l "^uid $aud_uid\$" "$S"/access/*.pending 2>/dev/null | wc -l)
[ "$n" = 1 ] && pass "a pending-access note with the auditor's uid, no agent running" || fail "$n notes for uid $aud_uid"

as "$AUD" "$SG" decrypt --data-key "$DK" "$S/decision/00000000000000000000.seg" >/dev/null 2>"$W/err"
rc=$?
[ $rc -eq 2 ] && grep -q "may run only export and prove" "$W/err" && pass "auditor may not decrypt a segment (exit 2)" ||
	fail "auditor decrypt: exit $rc $(cat "$W/err")"
as "$OUT" "$SG" export --state-dir "$S" --data-key "$DK" >"$W/out.jsonl" 2>"$W/err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$W/out.jsonl" ] && grep -q "is not in the 'auditors' group" "$W/err" &&
	pass "user outside auditors is refused (exit 2, nothing written)" || fail "outsider export: exit $rc $(cat "$W/err")"

# the next open of the log (an agent start) seals the notes
"$GEN" --keys-dir "$K" --state-dir "$S" --records 0 --data-key "$DK" >/dev/null
left=$(ls "$S/access" | grep -c pending)
[ "$left" = 0 ] && pass "the log open sealed every pending note" || fail "$left notes left"
"$ST" export --state-dir "$S" --stream system --event-type log_access --data-key "$DK" 2>/dev/null |
	python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    if o.get("event_type") == "log_access":
        d = o["details"]
        print(d["action"], d["actor"], d.get("outcome", "-"), d.get("reason", "-").replace(" ", "_"))' >"$W/access.txt"
cat "$W/access.txt" | sed 's/^/   /'
grep -q "^export uid:$aud_uid granted " "$W/access.txt" && pass "log_access: export granted to uid $aud_uid" ||
	fail "no granted export record for uid $aud_uid"
grep -q "^decrypt uid:$aud_uid refused verb_not_allowed" "$W/access.txt" && pass "log_access: decrypt refused for uid $aud_uid" ||
	fail "no refused decrypt record"
grep -q "^export uid:$out_uid refused not_in_the_auditors_group" "$W/access.txt" &&
	pass "log_access: export refused for uid $out_uid (outside auditors)" || fail "no refused export record for uid $out_uid"
out=$("$ST" verify --quiet --pubkey "$K/signing.pub" --data-key "$DK" --state-dir "$S" 2>&1) &&
	pass "the log verifies with its log_access records" || { fail "verify"; echo "$out" | tail -3; }

echo "access: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
