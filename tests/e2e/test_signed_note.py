"""C2SP conformance of the notes, end to end (no BPF: build/tools/gen_log).

keygen writes the verifier key string; verify, export and verify_export.py
take it; a signature moved under another name (with that name's key id)
is refused by both verifiers; cosignature, ECDSA and ML-DSA lines before
the log's own are skipped; a note over 2 KiB is read; a --checkpoint that
is no note is a usage error (2); an export of an empty signed tree
verifies with verify_export.py.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from harness import BUILD, ROOT, SEALTRACE, eq, run

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")
PYVERIFY = os.path.join(ROOT, "tools", "verify_export.py")
DASH = "\u2014 "


def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


class Log:
    def __init__(self, records=2000, system_every=1000):
        self.dir = tempfile.mkdtemp(prefix="st-e2e-note-")
        self.keys = os.path.join(self.dir, "keys")
        self.state = os.path.join(self.dir, "st")
        out = run([SEALTRACE, "keygen", "--dir", self.keys, "--system-id", "credit-scoring",
                   "--node-id", "node-1"]).stdout
        eq("signing.vkey" in out, True, "keygen names the vkey file")
        run([GEN_LOG, "--state-dir", self.state, "--keys-dir", self.keys, "--records",
             str(records), "--system-every", str(system_every), "--ckpt-records", "500"])

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def vkey(self):
        with open(os.path.join(self.keys, "signing.vkey")) as f:
            return f.read().strip()


def test_vkey_written_and_accepted():
    log = Log()
    try:
        vkey = log.vkey()
        name, kid, b64 = vkey.split("+", 2)
        eq(name, "sealtrace/credit-scoring/node-1", "key name in the vkey")
        blob = base64.b64decode(b64)
        eq(blob[0], 1, "Ed25519 type byte")
        eq(hashlib.sha256(name.encode() + b"\n" + blob).digest()[:4].hex(), kid,
           "key id = SHA-256(name \\n 0x01 key)[:4]")
        for k in (os.path.join(log.keys, "signing.vkey"), vkey):
            r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--pubkey", k, "--quiet"])
            eq(r.returncode, 0, "verify with the vkey: " + r.stdout + r.stderr)
        ex = log.path("ex.jsonl")
        with open(ex, "w") as f:
            subprocess.run([SEALTRACE, "export", "--state-dir", log.state, "--pubkey", vkey],
                           stdout=f, check=True, stderr=subprocess.DEVNULL)
        for k in (os.path.join(log.keys, "signing.vkey"), vkey,
                  os.path.join(log.keys, "signing.pub")):
            r = sh(["python3", PYVERIFY, ex, k])
            eq(r.returncode, 0, "verify_export.py with %s: %s" % (k, r.stdout))
        # a vkey of another name for the same key: not this log's key
        run([SEALTRACE, "keygen", "--dir", log.keys, "--vkey", "--system-id", "other"])
        r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--pubkey",
                os.path.join(log.keys, "signing.vkey"), "--quiet"])
        eq(r.returncode, 1, "vkey under another name: " + r.stdout)
        r = sh(["python3", PYVERIFY, ex, os.path.join(log.keys, "signing.vkey")])
        eq(r.returncode, 1, "verify_export.py, vkey under another name")
        # a rotation keeps the vkey the current key's, under its name
        run([SEALTRACE, "keygen", "--dir", log.keys, "--vkey", "--system-id", "credit-scoring",
             "--node-id", "node-1"])
        old = log.vkey()
        run([SEALTRACE, "keygen", "--dir", log.keys, "--rotate-signing"])
        eq(log.vkey().split("+")[0], old.split("+")[0], "name kept across rotation")
        eq(log.vkey() != old, True, "vkey follows the new key")
    finally:
        shutil.rmtree(log.dir)


def moved(note, new_name, pub):
    """The log's signature line moved under new_name, key id recomputed."""
    body, sig = note.split("\n\n", 1)
    name, b64 = sig[2:].strip().split(" ")
    blob = base64.b64decode(b64)
    kid = hashlib.sha256(new_name.encode() + b"\n\x01" + pub).digest()[:4]
    return body + "\n\n" + DASH + new_name + " " + base64.b64encode(kid + blob[4:]).decode() + "\n"


def raw_pub(keys):
    with open(os.path.join(keys, "signing.vkey")) as f:
        return base64.b64decode(f.read().strip().split("+", 2)[2])[1:]


def test_name_checked_and_other_lines_skipped():
    log = Log()
    try:
        cp = os.path.join(log.state, "decision", "checkpoint")
        with open(cp) as f:
            note = f.read()
        pub = raw_pub(log.keys)
        pem = os.path.join(log.keys, "signing.pub")
        # (a) moved under another name: refused with the PEM key and the vkey
        bad = log.path("moved.note")
        with open(bad, "w") as f:
            f.write(moved(note, "mallory/node-1", pub))
        for k in (pem, os.path.join(log.keys, "signing.vkey")):
            r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--pubkey", k,
                    "--checkpoint", bad, "--quiet"])
            eq(r.returncode, 1, "moved name refused: " + r.stdout)
            eq("no signature by the given public key" in r.stdout, True, r.stdout)
        # (b) cosignature, ECDSA and ML-DSA lines before the log's own, and
        # enough cosignatures to pass 2 KiB
        body, sig = note.split("\n\n")
        extra = ""
        for i in range(20):
            extra += DASH + "witness%d.example/w %s\n" % (
                i, base64.b64encode(os.urandom(76)).decode())
        extra += DASH + "ecdsa.example/log " + base64.b64encode(os.urandom(75)).decode() + "\n"
        extra += DASH + "mldsa.example/log " + base64.b64encode(os.urandom(2424)).decode() + "\n"
        big = body + "\n\n" + extra + sig
        eq(len(big.encode()) > 2047, True, "note over 2,047 bytes")
        other = log.path("cosigned.note")
        with open(other, "w") as f:
            f.write(big)
        r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--pubkey", pem,
                "--checkpoint", other, "--quiet"])
        eq(r.returncode, 0, "other lines skipped: " + r.stdout + r.stderr)
        # the same note in an export, checked by verify_export.py
        ex = log.path("ex.jsonl")
        with open(ex, "w") as f:
            subprocess.run([SEALTRACE, "export", "--state-dir", log.state, "--stream",
                            "decision"], stdout=f, check=True, stderr=subprocess.DEVNULL)
        with open(ex) as f:
            lines = f.read().split("\n")
        ck = json.loads(lines[1])
        orig = ck["note"]
        ck["note"] = orig.split("\n\n")[0] + "\n\n" + extra + orig.split("\n\n")[1]
        lines[1] = json.dumps(ck, ensure_ascii=False, separators=(",", ":"))
        ex2 = log.path("ex2.jsonl")
        with open(ex2, "w") as f:
            f.write("\n".join(lines))
        r = sh(["python3", PYVERIFY, ex2, pem])
        eq(r.returncode, 0, "verify_export.py skips other lines: " + r.stdout)
        ck["note"] = moved(orig, "mallory/node-1", pub)
        lines[1] = json.dumps(ck, ensure_ascii=False, separators=(",", ":"))
        with open(ex2, "w") as f:
            f.write("\n".join(lines))
        r = sh(["python3", PYVERIFY, ex2, pem])
        eq(r.returncode, 1, "verify_export.py refuses the moved name: " + r.stdout)
        # a --checkpoint that is no note: usage error, exit 2
        junk = log.path("junk.note")
        with open(junk, "w") as f:
            f.write("not a note\n")
        r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--checkpoint", junk, "--quiet"])
        eq(r.returncode, 2, "--checkpoint junk: exit 2 (%s)" % r.stderr)
        with open(junk, "w") as f:
            f.write("x" * 20000)
        r = sh([SEALTRACE, "verify", "--state-dir", log.state, "--checkpoint", junk, "--quiet"])
        eq(r.returncode, 2, "--checkpoint too large: exit 2 (%s)" % r.stderr)
    finally:
        shutil.rmtree(log.dir)


def test_export_of_empty_tree():
    log = Log(records=5, system_every=1)     # no decision record at all
    try:
        ex = log.path("ex.jsonl")
        with open(ex, "w") as f:
            subprocess.run([SEALTRACE, "export", "--state-dir", log.state, "--stream",
                            "decision"], stdout=f, check=True, stderr=subprocess.DEVNULL)
        r = sh(["python3", PYVERIFY, ex, os.path.join(log.keys, "signing.pub")])
        eq(r.returncode, 0, "empty signed tree: " + r.stdout)
        r = sh([SEALTRACE, "verify", "--export", ex, "--pubkey",
                os.path.join(log.keys, "signing.pub")])
        eq(r.returncode, 0, "C verifier agrees: " + r.stdout)
    finally:
        shutil.rmtree(log.dir)
