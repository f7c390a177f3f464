#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Verify a sealtrace export with nothing but the Python standard library.

usage: verify_export.py EXPORT.jsonl SIGNING.pub [RETIRED.pub ...]
exit status: 0 intact, 1 not intact (the reason is printed), 2 usage.

Several public keys: after a signing key rotation, give the current key
and the retired ones; each note must be signed by one of them. A key is a
PEM file (signing.pub), or a C2SP verifier key string name+keyid+key
(signing.vkey, or the string itself).

Checks: each checkpoint note's Ed25519 signature (C2SP signed note: a
key is known by name and key id; the name is the verifier key's, or for
a PEM key the one the origin implies, sealtrace/<system>/<node>; other
signers' lines, cosignatures and other algorithms are skipped), each
record's canonical form, the hash chain between records with consecutive
seqs, and that the records plus the proof nodes give the Merkle root
(RFC 6962) that the note signs. The format is described in docs/verify.md.
"""
import base64
import hashlib
import json
import sys

# schema_version 1; 2 adds "decision" and "pseudonyms" before "details"
KEYS_V1 = ["schema_version", "event_id", "event_type", "timestamp_utc",
           "system_id", "operator_id", "node_id", "stream", "seq", "pid",
           "tid", "comm", "container_id", "probe", "model_version",
           "model_artifact", "input_hash", "input_len", "output_reference",
           "output_len", "duration_ns", "ret", "human_override_applied",
           "details", "preceding_event_hash"]
KEYS_V2 = KEYS_V1[:23] + ["decision", "pseudonyms"] + KEYS_V1[23:]
KEYS = {1: KEYS_V1, 2: KEYS_V2}

# --- Ed25519 signature check, RFC 8032 section 6 (reference code) ------
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    e, f = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    g, h = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = f - e, h - g, h + g, f + e
    return (e * f, g * h, f * g, e * h)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and \
        (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _point(s):
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    a, r = _point(pub), _point(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % Q
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


# --- signed notes (C2SP tlog-checkpoint) --------------------------------
class Bad(Exception):
    pass


def load_pub(path):
    """(raw public key, key name or None) from a PEM file or a verifier key."""
    try:
        text = open(path, encoding="ascii").read()
    except FileNotFoundError:
        if "+" not in path:
            raise
        text = path
    if not text.startswith("-----"):
        return load_vkey(text.strip(), path)
    body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    if len(der) != 44 or der[:12] != bytes.fromhex("302a300506032b6570032100"):
        raise Bad(f"{path}: not an Ed25519 public key")
    return der[12:], None


def load_vkey(vkey, path):
    name, sep, rest = vkey.partition("+")
    keyid, sep2, b64 = rest.partition("+")
    if not (sep and sep2) or len(keyid) != 8:
        raise Bad(f"{path}: not a verifier key (name+keyid+key)")
    blob = base64.b64decode(b64, validate=True)
    if len(blob) != 33 or blob[0] != 1:
        raise Bad(f"{path}: not an Ed25519 signed-note key")
    if hashlib.sha256(name.encode() + b"\n" + blob).digest()[:4] != bytes.fromhex(keyid):
        raise Bad(f"{path}: key id does not match the name and key")
    return blob[1:], name


def check_note(note, pubs):
    """Return (origin, size, root, signer) of a note signed by one of pubs
    ((key, name or None) pairs; signer: its index), or raise Bad."""
    text, sep, sigs = note.partition("\n\n")
    if not sep or not note.endswith("\n"):
        raise Bad("checkpoint: not a signed note")
    msg = (text + "\n").encode()
    lines = text.split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise Bad("checkpoint: bad origin/size/root lines")
    implied = lines[0].rsplit("/", 1)[0]
    for line in sigs.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            raise Bad("checkpoint: bad signature line")
        name, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64, validate=True)
        if len(blob) != 68:
            continue    # a cosignature (76 bytes) or another algorithm
        matched = False
        for i, (pub, known) in enumerate(pubs):
            # C2SP: a key is its (name, key id); key ids are 4 bytes and
            # two keys may share one, so try each that matches
            if name != (known or implied) or \
                    hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4] != blob[:4]:
                continue
            matched = True
            if ed25519_verify(pub, msg, blob[4:]):
                return (lines[0], int(lines[1]),
                        base64.b64decode(lines[2], validate=True), i)
        if matched:
            raise Bad(f"checkpoint: signature of '{name}' does not verify")
    if len(pubs) == 1:
        raise Bad("checkpoint: no signature by the given public key under its name")
    raise Bad(f"checkpoint: no signature by any of the {len(pubs)} given public keys under their names")


# --- RFC 6962 Merkle tree ------------------------------------------------
def leaf_hash(line):
    return hashlib.sha256(b"\x00" + line).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def subtree(lo, hi, seqs, leaves, proof, used):
    """Root of leaves [lo, hi) from exported leaves and proof nodes."""
    if not seqs:
        if (lo, hi) not in proof:
            raise Bad(f"proof lacks the hash of leaves [{lo}, {hi})")
        used.add((lo, hi))
        return proof[(lo, hi)]
    if hi - lo == 1:
        return leaves[lo]
    k = 1
    while k * 2 < hi - lo:
        k *= 2
    left = [s for s in seqs if s < lo + k]
    right = seqs[len(left):]
    return node_hash(subtree(lo, lo + k, left, leaves, proof, used),
                     subtree(lo + k, hi, right, leaves, proof, used))


# --- the export ----------------------------------------------------------
class Num(float):
    """A JSON number with a fraction or exponent, as written (RFC 8785)."""


def es6(x):
    """ECMAScript Number::toString of a double (RFC 8785 3.2.2.3)."""
    if x == 0:
        return "0"
    sign, r = ("-", -x) if x < 0 else ("", x)
    # shortest round-trip digits: repr() gives them; normalise to d.ddd e n
    rep = repr(r)
    if "e" in rep:
        m, e = rep.split("e")
    else:
        m, e = rep, "0"
    ip, _, fp = m.partition(".")
    digits = (ip + fp).lstrip("0")
    lead = len(ip.lstrip("0")) if ip.strip("0") else -(len(fp) - len(fp.lstrip("0")))
    n = int(e) + lead
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * -n + digits
    else:
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + \
            "e" + ("+" if n - 1 >= 0 else "-") + str(abs(n - 1))
    return sign + out


def _dumps(v):
    if isinstance(v, Num):
        return es6(v)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _dumps(x)
                              for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_dumps(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _scalars(obj, name, any_scalar):
    v = obj[name]
    if v is None and name != "details":
        return True
    if not isinstance(v, dict) or list(v) != sorted(v):
        return False
    for x in v.values():
        if isinstance(x, (dict, list)):
            return False
        if not any_scalar and (x is None or isinstance(x, Num)):
            return False
    return True


def canonical(obj, line):
    keys = KEYS.get(obj.get("schema_version"))
    if keys is None or list(obj) != keys or not _scalars(obj, "details", False):
        return False
    if "decision" in obj and not (_scalars(obj, "decision", True) and
                                  _scalars(obj, "pseudonyms", False)):
        return False
    for k, v in obj.items():
        if isinstance(v, Num) or (k not in ("decision",) and isinstance(v, dict) and
                                  any(isinstance(x, Num) for x in v.values())):
            return False
    return _dumps(obj).encode() == line


def verify(path, pubs, names):
    streams, header = {}, False
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                if not raw.endswith(b"\n"):
                    raise Bad("line does not end with a newline")
                line = raw[:-1]
                obj = json.loads(line, parse_float=lambda t: Num(float(t)))
                if not header:
                    if obj.get("export") != "header" or \
                            obj.get("format") != "sealtrace-export/1":
                        raise Bad("not a sealtrace-export/1 file")
                    header = True
                elif "export" in obj:
                    meta(obj, streams, pubs)
                else:
                    record(obj, line, streams)
            except (Bad, ValueError, KeyError, TypeError) as e:
                raise Bad(f"{path}:{n}: {e}")
    if not streams:
        raise Bad(f"{path}: no signed checkpoint")
    for name, s in streams.items():
        if "proof" not in s:
            raise Bad(f"{path}: stream {name} has no proof line")
        used = set()
        if s["size"] == 0:
            # an empty signed tree: its root is the hash of nothing
            root = hashlib.sha256(b"").digest()
        else:
            root = subtree(0, s["size"], sorted(s["leaves"]), s["leaves"],
                           s["proof"], used)
        if used != set(s["proof"]):
            raise Bad(f"{path}: {name}: proof nodes that are not part of the tree")
        if root != s["root"]:
            raise Bad(f"{path}: {name}: records and proof do not give the signed root")
        print(f"  {name:8} {len(s['leaves'])} records proved in the tree "
              f"of {s['size']} signed by {names[s['signer']]}, "
              f"{s['links']} chain links checked")


def meta(obj, streams, pubs):
    name = obj["stream"]
    if obj["export"] == "checkpoint":
        if name in streams:
            raise Bad(f"second checkpoint for {name}")
        origin, size, root, signer = check_note(obj["note"], pubs)
        if origin.rsplit("/", 1)[-1] != name:
            raise Bad(f"checkpoint origin {origin} is not of stream {name}")
        streams[name] = {"size": size, "root": root, "leaves": {}, "links": 0,
                         "last": None, "signer": signer}
    elif obj["export"] == "proof":
        s = streams.get(name)
        if s is None or "proof" in s or obj["tree_size"] != s["size"]:
            raise Bad("proof without its checkpoint, or of another tree size")
        s["proof"] = {(lo, hi): bytes.fromhex(h) for lo, hi, h in obj["nodes"]}
        if len(s["proof"]) != len(obj["nodes"]):
            raise Bad("duplicate proof node")
    else:
        raise Bad(f"unknown line kind {obj['export']}")


def record(obj, line, streams):
    if not canonical(obj, line):
        raise Bad("record is not in canonical form")
    s, seq = streams.get(obj["stream"]), obj["seq"]
    if s is None or "proof" in s:
        raise Bad(f"seq {seq}: not between its stream's checkpoint and proof")
    if not 0 <= seq < s["size"]:
        raise Bad(f"seq {seq}: beyond the signed tree of {s['size']}")
    last = s["last"]
    if last is not None:
        if seq <= last[0]:
            raise Bad(f"seq {seq}: out of order")
        if seq == last[0] + 1:
            if obj["preceding_event_hash"] != last[1]:
                raise Bad(f"seq {seq}: preceding_event_hash does not match seq {last[0]}")
            s["links"] += 1
    s["last"] = (seq, hashlib.sha256(line).hexdigest())
    s["leaves"][seq] = leaf_hash(line)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        pubs = [load_pub(p) for p in argv[2:]]
        print(f"verify_export: {argv[1]}")
        verify(argv[1], pubs, argv[2:])
    except (Bad, OSError, ValueError) as e:
        print(f"verify_export: FAIL: {e}")
        return 1
    print("verify_export: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
