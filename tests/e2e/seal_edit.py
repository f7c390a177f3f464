#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Attack or inspect a sealed (AES-256-GCM) segment (docs/schema.md).

usage: seal_edit.py blocks SEGMENT            one line per block: offset index flags len
       seal_edit.py flip SEGMENT OFFSET       xor one byte at OFFSET with 0x01
       seal_edit.py swap SEGMENT I J          exchange whole blocks I and J (file order)
       seal_edit.py drop-last SEGMENT         cut the last block off
       seal_edit.py nonces FILE...            every block's 12-byte nonce (hex), one a
                                              line, prefixed by the segment's salt; also
                                              reads the block headers of .torn-* files
                                              (named <segment>.torn-<ns>)
"""
import os
import struct
import sys

MAGIC = b"sealtrc\x01"
HDR = 80
BH = 13
TAG = 16


def blocks(data, start=HDR):
    """(offset, index, flags, length) of each whole block from start."""
    out, pos = [], start
    while pos + BH <= len(data):
        ln, idx, flags = struct.unpack(">IQB", data[pos:pos + BH])
        if pos + BH + ln + TAG > len(data):
            break
        out.append((pos, idx, flags, ln))
        pos += BH + ln + TAG
    return out


def first_seq(path):
    base = os.path.basename(path)
    return int(base[:20])


def nonce(seg_first, idx, flags):
    return struct.pack(">I", seg_first & 0xffffffff) + idx.to_bytes(7, "big") + bytes([flags])


def cmd_nonces(paths):
    for p in paths:
        base = os.path.basename(p)
        with open(p, "rb") as f:
            data = f.read()
        if ".torn-" in base:
            # a torn copy starts where the segment's whole blocks ended:
            # its own header is the segment's (kept) one
            seg = os.path.join(os.path.dirname(p), base.split(".torn-")[0])
            if data[:8] == MAGIC:
                salt, start = data[41:73], HDR
            elif os.path.exists(seg):
                with open(seg, "rb") as f:
                    salt, start = f.read(HDR)[41:73], 0
            else:
                continue
            if len(data) >= start + BH:
                ln, idx, flags = struct.unpack(">IQB", data[start:start + BH])
                print(salt.hex(), nonce(first_seq(base), idx, flags).hex(), "torn")
            continue
        if data[:8] != MAGIC:
            continue
        salt = data[41:73]
        for _, idx, flags, _ in blocks(data):
            print(salt.hex(), nonce(first_seq(p), idx, flags).hex())
    return 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, path = argv[1], argv[2]
    if cmd == "nonces":
        return cmd_nonces(argv[2:])
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:8] != MAGIC:
        print(f"{path}: not a sealed segment", file=sys.stderr)
        return 2
    bl = blocks(data)
    if cmd == "blocks":
        for off, idx, flags, ln in bl:
            print(off, idx, flags, ln)
        return 0
    if cmd == "flip":
        data[int(argv[3])] ^= 0x01
    elif cmd == "swap":
        i, j = sorted((int(argv[3]), int(argv[4])))
        a, b = bl[i], bl[j]
        ea, eb = a[0] + BH + a[3] + TAG, b[0] + BH + b[3] + TAG
        data = data[:a[0]] + data[b[0]:eb] + data[ea:b[0]] + data[a[0]:ea] + data[eb:]
    elif cmd == "drop-last":
        data = data[:bl[-1][0]]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    with open(path, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
