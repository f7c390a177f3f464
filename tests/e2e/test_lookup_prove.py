"""lookup and prove on a log of known inputs (no BPF: build/tools/gen_log).

gen_log --inputs/--outputs gives decision event d the line d % n of a file,
so how often each input occurs is known exactly; the expected counts are
computed from that schedule here and cross-checked with an HMAC computed
by Python's hmac module over the stored records.
"""
import gzip
import hashlib
import hmac
import json
import os
import shutil
import tempfile

from harness import BUILD, ROOT, SEALTRACE, eq, run

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")
PYVERIFY = os.path.join(ROOT, "tools", "verify_export.py")

INPUTS = ["applicant A-1 income 52000", "applicant B-2 income 31000",
          "applicant A-1 income 52000", "applicant C-3 income 78000"]
OUTPUTS = ["approve", "deny", "refer"]
SYSTEM_EVERY = 7


def schedule(records):
    """(input, output or None) per decision event, as gen_log makes them."""
    out, d = [], 0
    for i in range(records):
        if i % SYSTEM_EVERY == SYSTEM_EVERY - 1:
            continue
        inference = i % 500 != 499          # else an incomplete event
        out.append((INPUTS[d % len(INPUTS)],
                    OUTPUTS[d % len(OUTPUTS)] if inference else None))
        d += 1
    return out


class Log:
    def __init__(self):
        if not os.access(GEN_LOG, os.X_OK):
            raise AssertionError("%s not built (make all)" % GEN_LOG)
        self.dir = tempfile.mkdtemp(prefix="st-e2e-lookup-")
        self.keys = os.path.join(self.dir, "keys")
        self.state = os.path.join(self.dir, "state")
        self.pub = os.path.join(self.keys, "signing.pub")
        self.events = []
        for name, lines in (("inputs", INPUTS), ("outputs", OUTPUTS)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write("\n".join(lines) + "\n")
        run([SEALTRACE, "keygen", "--dir", self.keys])

    def generate(self, records, start):
        run([GEN_LOG, "--state-dir", self.state, "--keys-dir", self.keys,
             "--records", str(records), "--system-every", str(SYSTEM_EVERY),
             "--seg-records", "300", "--ckpt-records", "200", "--start", start,
             "--inputs", os.path.join(self.dir, "inputs"),
             "--outputs", os.path.join(self.dir, "outputs")])
        key_id = self.key_ids()[-1]
        self.events += [(key_id, i, o) for i, o in schedule(records)]

    def key_ids(self):
        with open(os.path.join(self.keys, "hmac.key")) as f:
            return [l.split()[0] for l in f if l.strip() and not l.startswith("#")]

    def key(self, key_id):
        with open(os.path.join(self.keys, "hmac.key")) as f:
            for l in f:
                if l.split()[0] == key_id:
                    return bytes.fromhex(l.split()[1])
        raise KeyError(key_id)

    def ref(self, key_id, data):
        return "hmac-sha256:%s:%s" % (
            key_id, hmac.new(self.key(key_id), data.encode(), hashlib.sha256).hexdigest())

    def lines(self, stream):
        d, out = os.path.join(self.state, stream), []
        for name in sorted(n for n in os.listdir(d) if n.endswith(".seg")):
            with gzip.open(os.path.join(d, name), "rb") as f:
                out += [l.rstrip(b"\n") for l in f]
        return out

    def expected(self, data, field="input"):
        """(count per key id) from the schedule; checked against the stored refs."""
        per_key = {}
        for key_id, i, o in self.events:
            if (i if field == "input" else o) == data:
                per_key[key_id] = per_key.get(key_id, 0) + 1
        refs = {self.ref(k, data) for k in self.key_ids()}
        name = "input_hash" if field == "input" else "output_reference"
        stored = sum(1 for l in self.lines("decision") if json.loads(l)[name] in refs)
        eq(stored, sum(per_key.values()), "records holding %r's reference (Python HMAC)" % data)
        return per_key

    def lookup(self, *args):
        return run([SEALTRACE, "lookup", "--state-dir", self.state, "--keys", self.keys,
                    "--quiet"] + list(args), check=False)

    def cleanup(self):
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def check_found(log, p, data, per_key, field="input"):
    total = sum(per_key.values())
    eq(p.returncode, 0, "lookup exit (found)\n" + p.stderr)
    out = p.stdout.splitlines()
    eq(len(out), total, "records printed")
    name = "input_hash" if field == "input" else "output_reference"
    refs = {log.ref(k, data) for k in per_key}
    eq(sum(1 for l in out if json.loads(l)[name] in refs), total, "printed records that match")
    stored = set(l.decode() for l in log.lines("decision"))
    eq(sum(1 for l in out if l in stored), total, "printed lines byte for byte as stored")
    by_key = "; by key " + " ".join("%s: %d" % (k, per_key[k]) for k in log.key_ids()
                                    if k in per_key)
    if ("lookup: %d records match the %s (%d bytes)" % (total, field, len(data))) not in p.stderr \
            or by_key not in p.stderr:
        raise AssertionError("summary lacks count/keys %r:\n%s" % (by_key, p.stderr))
    return out


def test_lookup_counts_and_rotation():
    log = Log()
    try:
        log.generate(1000, "2025-03-01")
        a1 = INPUTS[0]
        per_key = log.expected(a1)
        eq(sum(per_key.values()), 429, "A-1 records in the first run")
        check_found(log, log.lookup("--input-string", a1), a1, per_key)
        # the same bytes given as hex and as a file
        check_found(log, log.lookup("--input-hex", a1.encode().hex().upper()), a1, per_key)
        path = os.path.join(log.dir, "request.txt")
        with open(path, "wb") as f:
            f.write(a1.encode())
        check_found(log, log.lookup("--input-file", path), a1, per_key)
        # outputs; incomplete events have none
        deny = log.expected("deny", "output")
        eq(sum(deny.values()), 286, "deny outputs")
        check_found(log, log.lookup("--output", "--input-string", "deny"), "deny", deny, "output")
        # unknown input, a prefix, the system stream alone: exit 1, nothing printed
        for args in (["--input-string", "applicant D-4 income 1"],
                     ["--input-string", a1[:-1]],
                     ["--input-string", a1, "--stream", "system"]):
            p = log.lookup(*args)
            eq((p.returncode, p.stdout), (1, ""), "lookup %s" % args)
            if "lookup: no record matches the input" not in p.stderr:
                raise AssertionError(p.stderr)

        # rotate the HMAC key, append more records: both keys match
        old = log.key_ids()[0]
        run([SEALTRACE, "keygen", "--dir", log.keys, "--rotate-hmac"])
        new = log.key_ids()[-1]
        if new == old:
            raise AssertionError("rotation kept key id %s" % old)
        log.generate(700, "2025-03-02")
        per_key = log.expected(a1)
        eq(per_key, {old: 429, new: 300}, "A-1 records per key")
        out = check_found(log, log.lookup("--input-string", a1), a1, per_key)
        eq([json.loads(l)["input_hash"].split(":")[1] for l in out],
           [old] * 429 + [new] * 300, "key ids in log order")
        p = log.lookup("--input-string", a1)
        if "first 2025-03-01T00:00:00.000000000Z, last 2025-03-02T00:00:00.697000000Z" \
                not in p.stderr:
            raise AssertionError("first/last timestamp:\n" + p.stderr)
        eq(run([SEALTRACE, "verify", "--quiet", "--state-dir", log.state, "--pubkey",
                log.pub], check=False).returncode, 0, "verify after the second run")
        # a key ring without the old key: its records cannot be matched, and it says so
        ring = os.path.join(log.dir, "newonly")
        os.mkdir(ring)
        with open(os.path.join(log.keys, "hmac.key")) as f:
            last = [l for l in f if l.strip()][-1]
        with open(os.path.join(ring, "hmac.key"), "w") as f:
            f.write(last)
        p = run([SEALTRACE, "lookup", "--state-dir", log.state, "--keys", ring,
                 "--input-string", a1], check=False)
        eq((p.returncode, len(p.stdout.splitlines())), (0, 300), "lookup with the new key only")
        if "lookup: note: 858 references name a key id that is not in the key ring" \
                not in p.stderr:
            raise AssertionError(p.stderr)
    finally:
        log.cleanup()


def test_lookup_usage():
    log = Log()
    try:
        log.generate(50, "2025-03-01")
        for args, what in (([], "no input"),
                           (["--input-string", "x", "--input-hex", "78"], "two inputs"),
                           (["--input-hex", "7"], "odd hex"),
                           (["--input-hex", "zz"], "bad hex"),
                           (["--input-string", "x", "--stream", "nope"], "bad stream")):
            eq(log.lookup(*args).returncode, 2, "lookup usage: " + what)
        p = run([SEALTRACE, "lookup", "--state-dir", log.state, "--keys",
                 os.path.join(log.dir, "nokeys"), "--input-string", "x"], check=False)
        eq(p.returncode, 2, "lookup without a key ring")
        if "lookup needs the HMAC key ring" not in p.stderr:
            raise AssertionError(p.stderr)
        p = log.lookup("--input-file", os.path.join(log.dir, "missing"))
        eq(p.returncode, 3, "lookup --input-file of a missing file")
        p = run([SEALTRACE, "lookup", "--help"], check=False)
        eq(p.returncode, 0, "lookup --help")
        if "Needs hmac.key" not in p.stdout:
            raise AssertionError("--help does not name the key-holder role:\n" + p.stdout)
    finally:
        log.cleanup()


def audit_path_len(m, n):
    """RFC 6962 inclusion proof length for leaf m of a tree of n leaves."""
    if n <= 1:
        return 0
    k = 1
    while k * 2 < n:
        k *= 2
    return 1 + (audit_path_len(m, k) if m < k else audit_path_len(m - k, n - k))


def prove(log, event_id, *extra):
    return run([SEALTRACE, "prove", "--state-dir", log.state, "--event-id", event_id]
               + list(extra), check=False)


def verifiers(path, pub):
    c = run([SEALTRACE, "verify", "--export", path, "--pubkey", pub], check=False)
    py = run(["python3", PYVERIFY, path, pub], check=False)
    return c, py


def test_prove_one_record():
    log = Log()
    try:
        log.generate(1000, "2025-03-01")
        lines = log.lines("decision")
        rec = json.loads(lines[500])
        eq(rec["seq"], 500, "picked record's seq")
        p = prove(log, rec["event_id"].upper(), "--pubkey", log.pub)
        eq(p.returncode, 0, "prove exit\n" + p.stderr)
        bundle = p.stdout.splitlines()
        eq(len(bundle), 4, "bundle lines: header, checkpoint, record, proof")
        hdr, ck, line, proof = (json.loads(bundle[0]), json.loads(bundle[1]), bundle[2],
                                json.loads(bundle[3]))
        eq(hdr["filter"], {"event_id": rec["event_id"], "event_type": None, "from": None,
                           "stream": "decision", "to": None}, "header filter")
        eq((ck["export"], ck["stream"]), ("checkpoint", "decision"), "checkpoint line")
        eq(line.encode(), lines[500], "record line byte for byte")
        size = len(lines)
        eq((proof["tree_size"], len(proof["nodes"])), (size, audit_path_len(500, size)),
           "proof: tree size and audit path length")
        path = os.path.join(log.dir, "proof.jsonl")
        with open(path, "w") as f:
            f.write(p.stdout)
        c, py = verifiers(path, log.pub)
        eq((c.returncode, py.returncode), (0, 0), "both verifiers on the proof\n%s%s" % (
            c.stdout, py.stdout))
        if "decision 1 records (seq 500..500" not in c.stdout or \
                "decision 1 records proved in the tree of %d signed by" % size not in py.stdout:
            raise AssertionError(c.stdout + py.stdout)

        # the record line altered (still canonical JSON): both verifiers say no
        altered = bundle[:]
        altered[2] = line.replace('"ret":0,', '"ret":1,')
        if altered[2] == line:
            raise AssertionError("record has no ret 0: " + line)
        bad = os.path.join(log.dir, "altered.jsonl")
        with open(bad, "w") as f:
            f.write("\n".join(altered) + "\n")
        c, py = verifiers(bad, log.pub)
        eq((c.returncode, py.returncode), (1, 1), "verifiers on the altered proof")
        if "records and proof give another Merkle root" not in c.stdout or \
                "records and proof do not give the signed root" not in py.stdout:
            raise AssertionError(c.stdout + py.stdout)

        # a system record; the newest one, not yet checkpointed; unknown; bad id
        sys_lines = log.lines("system")
        p = prove(log, json.loads(sys_lines[3])["event_id"])
        eq(p.returncode, 0, "prove of a system record\n" + p.stderr)
        eq(json.loads(p.stdout.splitlines()[2])["seq"], 3, "system record proved")
        p = prove(log, json.loads(sys_lines[-1])["event_id"])
        eq(p.returncode, 1, "prove of a record after the last checkpoint")
        if "after the latest signed checkpoint" not in p.stderr:
            raise AssertionError(p.stderr)
        p = prove(log, "00000000-0000-7000-8000-000000000000")
        eq((p.returncode, p.stdout), (1, ""), "prove of an unknown event id")
        eq(prove(log, "not-a-uuid").returncode, 2, "prove of a malformed id")
        eq(run([SEALTRACE, "prove", "--event-id", rec["event_id"]],
               check=False).returncode, 2, "prove without --state-dir")
        # the wrong public key: the checkpoint does not verify
        other = os.path.join(log.dir, "other")
        run([SEALTRACE, "keygen", "--dir", other])
        p = prove(log, rec["event_id"], "--pubkey", os.path.join(other, "signing.pub"))
        eq((p.returncode, p.stdout), (1, ""), "prove with another signing key")
    finally:
        log.cleanup()
