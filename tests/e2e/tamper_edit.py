#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tamper with a sealtrace state dir the way an attacker with file access
would: decompress a segment, change its lines, write it back as valid gzip.

usage: tamper_edit.py STATE STREAM SEQ ACTION [--rechain] [--key FILE]
       tamper_edit.py --resign-file NOTE --key FILE
ACTION: flip    change one byte of the record (a hex digit of its event_id)
        delete  remove the record
        swap    exchange the record with the next one
        insert  insert a forged copy of the record after it
        sig     alter one base64 character of a checkpoint record's signature
        resign  sign a checkpoint record's note anew with --key FILE (an
                Ed25519 PEM private key, e.g. a foreign or stolen one),
                under the same key name
--rechain: recompute preceding_event_hash of every later record of the
stream, so that the chain is consistent again (only the signed Merkle
checkpoints can then tell).
--resign-file: the same for a note file (<stream>/checkpoint).
"""
import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def segments(state, stream):
    d = os.path.join(state, stream)
    names = sorted(n for n in os.listdir(d) if n.endswith(".seg") and len(n) == 24)
    return [(int(n[:20]), os.path.join(d, n)) for n in names]


def load(path):
    with open(path, "rb") as f:
        data = gzip.decompress(f.read())
    return data.split(b"\n")[:-1]


def save(path, lines):
    with open(path, "wb") as f:
        f.write(gzip.compress(b"".join(l + b"\n" for l in lines)))


def flip_event_id(line):
    i = line.index(b'"event_id":"') + len(b'"event_id":"') + 2
    c = line[i:i + 1]
    return line[:i] + (b"1" if c != b"1" else b"2") + line[i + 1:]


def alter_sig(line):
    marker = "\u2014 ".encode()
    i = line.index(marker)
    j = line.index(b" ", i + len(marker)) + 20   # inside the signature
    c = line[j:j + 1]
    return line[:j] + (b"B" if c != b"B" else b"C") + line[j + 1:]


def resign_note(note, keyfile):
    """The note's body with one signature line by keyfile, same key name."""
    body, _, sigs = note.partition("\n\n")
    name = sigs[2:].split(" ")[0]
    msg = (body + "\n").encode()
    der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    with tempfile.NamedTemporaryFile() as m:
        m.write(msg)
        m.flush()
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin",
                              "-inkey", keyfile, "-in", m.name], check=True,
                             capture_output=True).stdout
    kid = hashlib.sha256(name.encode() + b"\n\x01" + der[-32:]).digest()[:4]
    return f"{body}\n\n\u2014 {name} {base64.b64encode(kid + sig).decode()}\n"


def resign_record(line, keyfile):
    obj = json.loads(line)
    obj["details"]["note"] = resign_note(obj["details"]["note"], keyfile)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def relink(line, prev):
    k = line.rindex(b'"preceding_event_hash":"') + len(b'"preceding_event_hash":"')
    return line[:k] + hashlib.sha256(prev).hexdigest().encode() + line[k + 64:]


def main(argv):
    key = argv[argv.index("--key") + 1] if "--key" in argv else None
    if len(argv) == 5 and argv[1] == "--resign-file" and key:
        with open(argv[2], encoding="utf-8") as f:
            note = resign_note(f.read(), key)
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(note)
        return 0
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    state, stream, seq, action = argv[1], argv[2], int(argv[3]), argv[4]
    rechain = "--rechain" in argv[5:]
    segs = segments(state, stream)
    idx = max(i for i, (first, _) in enumerate(segs) if first <= seq)
    first, path = segs[idx]
    lines = load(path)
    k = seq - first
    if action == "flip":
        lines[k] = flip_event_id(lines[k])
    elif action == "sig":
        lines[k] = alter_sig(lines[k])
    elif action == "resign" and key:
        lines[k] = resign_record(lines[k], key)
    elif action == "delete":
        del lines[k]
    elif action == "swap":
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
    elif action == "insert":
        lines.insert(k + 1, flip_event_id(lines[k]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if not rechain:
        save(path, lines)
        return 0
    prev = lines[k]
    for j in range(k + 1, len(lines)):
        lines[j] = relink(lines[j], prev)
        prev = lines[j]
    save(path, lines)
    for _, later in segs[idx + 1:]:
        more = load(later)
        for j in range(len(more)):
            more[j] = relink(more[j], prev)
            prev = more[j]
        save(later, more)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
