#!/usr/bin/env python3
"""Check the GPU e2e log: one inference record per predict() call, each with
the HMAC reference of exactly the floats that call passed (stdlib only).

    check.py STATE_DIR KEYS_DIR N
"""
import gzip
import hashlib
import hmac
import json
import os
import struct
import sys

DIM = 256


def main():
    state, keys, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(os.path.join(keys, "hmac.key")) as f:
        key_id, hexkey = [l.split() for l in f if l.strip() and not l.startswith("#")][-1][:2]
    key = bytes.fromhex(hexkey)
    recs = []
    d = os.path.join(state, "decision")
    for name in sorted(os.listdir(d)):
        if name.endswith(".seg"):
            with gzip.open(os.path.join(d, name), "rt") as f:
                recs += [json.loads(l) for l in f]
    calls = {r["details"]["kseq"]: r for r in recs if r["event_type"] == "inference"}
    bad = 0
    for i in range(n):
        r = calls.get(i)
        cnt = 1 + i % DIM
        data = struct.pack("<%df" % cnt, *[float((i * 131 + j) % 1000) for j in range(cnt)])
        want = "hmac-sha256:%s:%s" % (key_id, hmac.new(key, data, hashlib.sha256).hexdigest())
        if (r is None or r["input_hash"] != want or r["input_len"] != 4 * cnt or
                r["output_len"] != 4 * DIM or r["ret"] != DIM):
            bad += 1
            if bad <= 3:
                print("call %d: record %s" % (i, r))
    summary = {"calls": n, "inference_records": len(calls), "records_total": len(recs),
               "mismatched": bad}
    print(json.dumps(summary))
    return 0 if bad == 0 and len(calls) == n and len(recs) == n else 1


if __name__ == "__main__":
    sys.exit(main())
