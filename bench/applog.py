#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The application-level audit logger as teams write it today (the pattern
of published Art. 12 guides): inside the model server, per inference, a JSON
line with a SHA-256 of input and output and the SHA-256 of the previous
line (hash chain), appended to a file and flushed; optionally fsync'd.

    applog.py --len L --count N --mode flush|fsync --file F

Prints "done events=N elapsed_ns=T ns_per_event=X". Only the logging is
timed: the "model" is a constant output, so the figure compares with
sealtrace's added ns per call, not with the whole call.
"""
import argparse
import hashlib
import json
import os
import time
import uuid
from datetime import datetime, timezone


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--len", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--mode", choices=("flush", "fsync"), required=True)
    ap.add_argument("--file", required=True)
    a = ap.parse_args()

    inp = bytearray(os.urandom(a.len))
    out = bytes(32)
    prev = "0" * 64
    fsync = a.mode == "fsync"
    with open(a.file, "a", encoding="utf-8") as f:
        t0 = time.perf_counter_ns()
        for i in range(a.count):
            # inputs differ per call, as they would in production
            inp[0:8] = i.to_bytes(8, "little")
            rec = {
                "event_id": str(uuid.uuid4()),
                "event_type": "inference",
                "timestamp_utc": datetime.now(timezone.utc).isoformat(),
                "system_id": "urn:x:bench",
                "input_hash": hashlib.sha256(inp).hexdigest(),
                "input_len": len(inp),
                "output_reference": hashlib.sha256(out).hexdigest(),
                "output_len": len(out),
                "preceding_event_hash": prev,
            }
            line = json.dumps(rec, separators=(",", ":"))
            prev = hashlib.sha256(line.encode()).hexdigest()
            f.write(line + "\n")
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        dt = time.perf_counter_ns() - t0
    print(f"done events={a.count} elapsed_ns={dt} ns_per_event={dt / a.count:.1f}")


if __name__ == "__main__":
    main()
