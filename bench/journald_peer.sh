#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Peer for make bench: systemd-journald with Forward Secure Sealing, fed at
# full speed by systemd-cat. Runs a private journald in its own mount
# namespace (tmpfs /run/systemd, /run/log; a scratch dir over /var/log; its
# own journald.conf: Storage=persistent, Seal=yes, no rate limit), so the
# machine's own logging (if any) is untouched. PID 1 need not be systemd.
#
#   bench/journald_peer.sh N BYTES CPU   (as root)
#
# Prints one JSON line: events, wall seconds until journald has stored
# all N entries, CPU seconds of journald and of the sender, whether
# `journalctl --verify --verify-key` passes on the sealed files.
set -euo pipefail
N=${1:-100000}
BYTES=${2:-64}
CPU=${3:-0}
if [ "${ST_JD_INNER:-}" != 1 ]; then
	exec env ST_JD_INNER=1 unshare -m --propagation private "$0" "$@"
fi
W=$(mktemp -d /tmp/st-bench-journald.XXXXXX)
trap 'kill "$JP" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
JP=
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/log && mount -t tmpfs tmpfs /run/log
mkdir -p "$W/varlog" && mount --bind "$W/varlog" /var/log
MID=$(cat /etc/machine-id)
mkdir -p "/var/log/journal/$MID" /run/systemd/journal
printf '[Journal]\nStorage=persistent\nSeal=yes\nRateLimitIntervalSec=0\nRateLimitBurst=0\nSyncIntervalSec=1s\nCompress=yes\n' > "$W/journald.conf"
mount --bind "$W/journald.conf" /etc/systemd/journald.conf
journalctl --setup-keys --force > "$W/setup.out" 2>&1
KEY=$(grep -oE '[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+/[0-9a-f]+-[0-9a-f]+' "$W/setup.out" | head -1)
taskset -c "$CPU" /lib/systemd/systemd-journald &
JP=$!
for _ in $(seq 1 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
# what systemd-journal-flush.service does: from /run to the sealed /var files
journalctl --flush >/dev/null 2>&1 || true
PAD=$(head -c "$BYTES" /dev/zero | tr '\0' 'x')
seq 1 "$N" | sed "s/\$/ $PAD/" > "$W/in"
J0=$(awk '{print $14+$15}' "/proc/$JP/stat")
T0=$(date +%s%N)
/usr/bin/time -f '%U %S' -o "$W/sender.time" taskset -c "$CPU" systemd-cat -t st-bench < "$W/in"
# stored = journald's CPU time stops growing (it has drained the stream)
last=-1; same=0
for _ in $(seq 1 1200); do
	now=$(awk '{print $14+$15}' "/proc/$JP/stat")
	if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; last=$now; fi
	[ $same -ge 4 ] && break
	sleep 0.05
done
T1=$(date +%s%N)
J1=$(awk '{print $14+$15}' "/proc/$JP/stat")
COUNT=$(journalctl -t st-bench --no-pager -q -o cat | wc -l)
SEALED=$(ls /var/log/journal/"$MID"/*.journal 2>/dev/null | wc -l)
if journalctl --verify --verify-key="$KEY" > "$W/verify.out" 2>&1; then V=true; else V=false; fi
kill "$JP"; wait "$JP" 2>/dev/null || true
TCK=$(getconf CLK_TCK)
read -r SU SS < "$W/sender.time"
# wall: quiet detection adds up to 0.2 s; subtract it
python3 - "$N" "$COUNT" "$T0" "$T1" "$J0" "$J1" "$TCK" "$SU" "$SS" "$V" "$SEALED" "$BYTES" <<'PY'
import json, sys
n, count, t0, t1, j0, j1, tck, su, ss, v, sealed, b = sys.argv[1:]
wall = max((int(t1) - int(t0)) / 1e9 - 0.2, 1e-3)
jcpu = (int(j1) - int(j0)) / int(tck)
scpu = float(su) + float(ss)
print(json.dumps({"events": int(n), "stored": int(count), "message_bytes": int(b),
                  "wall_s": wall, "events_per_s": int(count) / wall,
                  "journald_cpu_s": jcpu, "sender_cpu_s": scpu,
                  "events_per_cpu_s": int(count) / (jcpu + scpu) if jcpu + scpu else None,
                  "journald_events_per_cpu_s": int(count) / jcpu if jcpu else None,
                  "sealed_files": int(sealed), "verify_key_pass": v == "true"}))
PY
