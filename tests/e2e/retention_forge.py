#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Forge a retention_purge record the way an attacker with file access
would after deleting one more segment: rewrite the last decision
retention_purge record of the system stream so that it covers the
deleted segment too, with the honest chain hash and Merkle frontier
(computed from an untouched copy), and recompute the system chain after
it. Only the signed checkpoints over the system stream can tell.

usage: retention_forge.py STATE UNTOUCHED_COPY NEXT_FIRST_SEQ
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tamper_edit import load, relink, save, segments  # noqa: E402


def frontier(leaves):
    """RFC 6962 frontier: perfect subtrees, largest first."""
    stack = []  # (height, hash)
    for leaf in leaves:
        h, node = 0, leaf
        while stack and stack[-1][0] == h:
            _, left = stack.pop()
            node = hashlib.sha256(b"\x01" + left + node).digest()
            h += 1
        stack.append((h, node))
    return ",".join(n.hex() for _, n in stack)


def main(state, base, nxt):
    lines = []
    for _, path in segments(base, "decision"):
        lines += load(path)
    lines = lines[:nxt]
    leaves = [hashlib.sha256(b"\x00" + l).digest() for l in lines]
    segs = segments(state, "system")
    data = [load(p) for _, p in segs]
    at = None
    for si, seg in enumerate(data):
        for li, line in enumerate(seg):
            r = json.loads(line)
            if r["event_type"] == "retention_purge" and \
                    r["details"]["purged_stream"] == "decision":
                at = (si, li)
    si, li = at
    line = data[si][li]
    d = json.loads(line)["details"]
    d["last_seq"] = nxt - 1
    d["records"] = nxt - d["first_seq"]
    d["last_hash"] = hashlib.sha256(lines[-1]).hexdigest()
    d["frontier"] = frontier(leaves)
    k = line.index(b'"details":{') + len(b'"details":')
    end = line.index(b"}", k) + 1
    data[si][li] = line[:k] + json.dumps(d, separators=(",", ":"), sort_keys=True).encode() + line[end:]
    prev = data[si][li]
    for sj in range(si, len(data)):
        for lj in range(li + 1 if sj == si else 0, len(data[sj])):
            data[sj][lj] = relink(data[sj][lj], prev)
            prev = data[sj][lj]
    for (_, p), seg in zip(segs, data):
        save(p, seg)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
