"""Consistency proofs of a real log (no BPF: build/tools/gen_log).

prove --consistency writes a C2SP tlog-witness add-checkpoint body; the
test checks it with `verify --consistency` and with its own RFC 9162
verifier below (hashlib only), then attacks it: a fork (another log under
the same key and origin), a truncated log, a flipped proof hash, an old
checkpoint of another size, and a head purged by retention.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import tempfile

from harness import BUILD, SEALTRACE, eq, run

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def rfc9162_verify(m, n, old_root, new_root, proof):
    """RFC 9162 2.1.4.2, written from the RFC text."""
    if m == n:
        return not proof and old_root == new_root
    if m == 0 or m > n or not proof:
        return False
    if m & (m - 1) == 0:
        proof = [old_root] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def parse_body(text):
    lines = text.split("\n")
    assert lines[0].startswith("old "), lines[0]
    blank = lines.index("")
    proof = [base64.b64decode(l) for l in lines[1:blank]]
    note = "\n".join(lines[blank + 1:])
    nl = note.split("\n")
    return int(lines[0][4:]), proof, int(nl[1]), base64.b64decode(nl[2]), note


def note_head(path):
    with open(path) as f:
        l = f.read().split("\n")
    return int(l[1]), base64.b64decode(l[2])


class Dir:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="st-e2e-consistency-")
        self.keys = os.path.join(self.dir, "keys")
        self.pub = os.path.join(self.keys, "signing.pub")
        run([SEALTRACE, "keygen", "--dir", self.keys])

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def gen(self, state, records, seed=1, start="2026-01-01T00:00:00Z", extra=()):
        run([GEN_LOG, "--state-dir", self.path(state), "--keys-dir", self.keys,
             "--records", str(records), "--seg-records", "700", "--ckpt-records", "500",
             "--seed", str(seed), "--start", start] + list(extra))

    def prove(self, state, old, check=True):
        return subprocess.run([SEALTRACE, "prove", "--state-dir", self.path(state),
                               "--consistency", str(old), "--pubkey", self.pub],
                              capture_output=True, text=True, check=check)

    def verify(self, proof_text, old_note):
        p = self.path("proof.txt")
        with open(p, "w") as f:
            f.write(proof_text)
        return subprocess.run([SEALTRACE, "verify", "--consistency", p, "--checkpoint",
                               old_note, "--pubkey", self.pub],
                              capture_output=True, text=True)


def test_consistency_proof_of_a_growing_log():
    d = Dir()
    try:
        d.gen("st", 3000)
        old = d.path("old.note")
        shutil.copy(d.path("st", "decision", "checkpoint"), old)
        old_size, old_root = note_head(old)
        d.gen("st", 2500)
        p = d.prove("st", old_size)
        m, proof, n, new_root, _ = parse_body(p.stdout)
        eq(m, old_size, "old size in the body")
        eq(n > old_size, True, "the log grew")
        eq(rfc9162_verify(m, n, old_root, new_root, proof), True,
           "independent RFC 9162 check of the proof")
        r = d.verify(p.stdout, old)
        eq(r.returncode, 0, "verify --consistency: " + r.stdout + r.stderr)
        # every old size from 1 to the new size proves and verifies
        for k in (1, 2, 3, 500, 1024, n - 1, n):
            q = d.prove("st", k)
            mk, pk, nk, rk, _ = parse_body(q.stdout)
            eq((mk, nk, rk), (k, n, new_root), "sizes and root for old size %d" % k)
            eq(len(pk) > 0, k != n, "proof length for %d" % k)
        # a flipped bit in one hash: both verifiers refuse, exit 1
        lines = p.stdout.split("\n")
        raw = bytearray(base64.b64decode(lines[2]))
        raw[5] ^= 1
        lines[2] = base64.b64encode(bytes(raw)).decode()
        eq(rfc9162_verify(m, n, old_root, new_root,
                          [base64.b64decode(l) for l in lines[1:lines.index("")]]),
           False, "independent check refuses the flipped proof")
        r = d.verify("\n".join(lines), old)
        eq(r.returncode, 1, "flipped proof: exit 1 (%s)" % r.stdout)
        # an old checkpoint of another size than the proof's
        r = d.verify(d.prove("st", 1).stdout, old)
        eq(r.returncode, 1, "old size mismatch: exit 1")
        eq("starts at size 1" in r.stdout, True, r.stdout)
    finally:
        shutil.rmtree(d.dir)


def test_consistency_refuses_fork_and_truncation():
    d = Dir()
    try:
        d.gen("a", 3000, seed=1)
        d.gen("b", 3000, seed=2)     # same key and origin, other records
        old = d.path("a.note")
        shutil.copy(d.path("a", "decision", "checkpoint"), old)
        d.gen("b", 1000, seed=3)
        size, _ = note_head(old)
        r = d.verify(d.prove("b", size).stdout, old)
        eq(r.returncode, 1, "fork: exit 1")
        eq("does not lead to the root of size %d" % size in r.stdout, True, r.stdout)
        # a head beyond the log (truncated or rolled back): prove refuses
        q = d.prove("a", size + 1, check=False)
        eq(q.returncode, 1, "old size beyond the signed size: exit 1")
        # bad usage is exit 2
        q = subprocess.run([SEALTRACE, "prove", "--state-dir", d.path("a"),
                            "--consistency", "x"], capture_output=True, text=True)
        eq(q.returncode, 2, "non-numeric size: exit 2")
    finally:
        shutil.rmtree(d.dir)


def test_consistency_after_retention():
    d = Dir()
    try:
        d.gen("st", 3000, start="2020-01-01T00:00:00Z")
        old = d.path("old.note")
        shutil.copy(d.path("st", "decision", "checkpoint"), old)
        size, _ = note_head(old)
        d.gen("st", 3000, start="2026-11-01T00:00:00Z",
              extra=["--retain-decision-days", "30", "--retain-now", "2026-11-20T00:00:00Z"])
        segs = sorted(os.listdir(d.path("st", "decision")))
        eq(segs[0] != "00000000000000000000.seg", True, "retention purged the head")
        # the frontier in the retention_purge record stands in for the
        # purged records: the proof from the purge boundary still works
        r = d.verify(d.prove("st", size).stdout, old)
        eq(r.returncode, 0, "proof across a purge: " + r.stdout + r.stderr)
        # a size inside the purged range needs hashes nobody kept
        q = d.prove("st", 1400, check=False)
        eq(q.returncode, 1, "purged subtree: exit 1")
        eq("retention purged" in q.stderr, True, q.stderr)
    finally:
        shutil.rmtree(d.dir)
