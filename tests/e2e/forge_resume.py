#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write <state>/<stream>/resume as an attacker would after editing the
stream: frontier, chain head and last block recomputed from the segments
as they are now, with the stream's real signed checkpoint note."""
import glob, hashlib, os, sys, zlib

state, stream = sys.argv[1], sys.argv[2]
d = os.path.join(state, stream)
note = open(os.path.join(d, "checkpoint"), "rb").read()
size = int(note.split(b"\n")[1])


def frontier(nodes):
    return ",".join(h.hex() for _, h in nodes)


def push(nodes, leaf):
    """nodes: [(level, hash)] largest first, as the log's frontier."""
    lvl, h = 0, leaf
    while nodes and nodes[-1][0] == lvl:
        h = hashlib.sha256(b"\x01" + nodes.pop()[1] + h).digest()
        lvl += 1
    nodes.append((lvl, h))


nodes, seq, last = [], 0, None
for seg in sorted(glob.glob(os.path.join(d, "*.seg"))):
    data, off = open(seg, "rb").read(), 0
    while off < len(data) and seq < size:
        z = zlib.decompressobj(31)
        plain = z.decompress(data[off:])
        end = len(data) - len(z.unused_data)
        before, first = list(nodes), seq
        for line in plain.rstrip(b"\n").split(b"\n"):
            if seq == size:
                break
            push(nodes, hashlib.sha256(b"\x00" + line).digest())
            head, seq = hashlib.sha256(line).hexdigest(), seq + 1
        last = (os.path.basename(seg), off, end, first, before)
        off = end
seg, off, end, first, before = last
with open(os.path.join(d, "resume"), "wb") as f:
    f.write(("sealtrace-resume 1\nsize %d\nfrontier %s\nchain_head %s\n"
             "segment %s\nblock %d %d %d\nblock_frontier %s\nnote\n" %
             (size, frontier(nodes), head, seg, off, end, first,
              frontier(before))).encode() + note)
