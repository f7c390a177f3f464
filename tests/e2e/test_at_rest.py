"""The log at rest with the real agent: sealed segments through a kill -9,
and signing epochs while it runs (issue 13; tests/e2e/at_rest.sh covers
the same without BPF, on 100,000 records, plus the attacks)."""
import glob
import os
import shutil
import tempfile
import time

from harness import Agent, SEALTRACE, Target, eq, run, target

HERE = os.path.dirname(os.path.abspath(__file__))
WD = os.environ.get("TMPDIR", "/tmp")
PROBE = 'symbol: st_predict\n        input: {ptr: "%di", len: "%si", max: 256}\n' \
        '        output: {ptr: "%dx", len: "%ax", at: return}'


def targets_yaml(name, pid):
    return "  - name: %s\n    path: %s\n    pid: %d\n    probes:\n      - %s\n" % (
        name, target("workload"), pid, PROBE)


def data_key(d):
    path = os.path.join(d, "data.key")
    run([SEALTRACE, "keygen", "--data-key", path])
    return path


def nonces(state):
    """(salt, nonce) of every sealed block, torn copies included."""
    files = glob.glob(os.path.join(state, "*", "*.seg")) + \
        glob.glob(os.path.join(state, "*", "*.seg.torn-*"))
    p = run(["python3", os.path.join(HERE, "seal_edit.py"), "nonces"] + files)
    return [tuple(l.split()[:2]) for l in p.stdout.splitlines()]


def test_sealed_kill9_restart_no_nonce_reuse_nothing_lost():
    """Encrypted log, kill -9 during writes, restart: exactly N records, no (key, nonce) twice."""
    n = 100000
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "ar")
    kd = tempfile.mkdtemp(prefix="st-e2e-dk-")
    a = None
    try:
        a = Agent("ar", targets_yaml("ar", t.pid), extra="ringbuf_bytes: 67108864\n",
                  data_key=data_key(kd))
        a.start()
        open(t.go, "w").close()
        for _ in range(2):
            time.sleep(0.7)
            a.kill9()
            a.start()
        out, _ = t.proc.communicate(timeout=300)
        assert "done calls=%d" % n in out, out
        eq(a.stop(), 0, "agent exit")
        segs = glob.glob(os.path.join(a.state, "*", "*.seg"))
        for s in segs:
            with open(s, "rb") as f:
                eq(f.read(8), b"sealtrc\x01", "sealed header of " + s)
        recs = [r for r in a.records("decision") if r["probe"] == "ar:st_predict"]
        eq(len(set(r["details"]["kseq"] for r in recs)), n, "distinct calls recorded")
        eq(len(recs), n, "inference records (no duplicates)")
        eq(len(a.of_type("loss")), 0, "loss records")
        ns = nonces(a.state)
        assert len(ns) > 3 * len(segs), (len(ns), len(segs))
        eq(len(set(ns)), len(ns), "distinct (segment key, nonce) pairs of %d blocks" % len(ns))
        eq(a.verify().returncode, 0, "verify with the data key")
        p = run([SEALTRACE, "verify", "--state-dir", a.state, "--pubkey",
                 os.path.join(a.keys, "signing.pub")], check=False)
        eq(p.returncode, 2, "verify without the data key")
        assert "reading it needs the data key file" in p.stderr, p.stderr
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        if a:
            a.cleanup()
        shutil.rmtree(kd, ignore_errors=True)


def test_agent_signing_epochs_follow_from_first_key():
    """checkpoint.epoch_seconds: 1 — the running agent changes epochs; the first key verifies all."""
    t = Target([target("workload"), "loop", "--len", "16", "--count", "1000"], WD, "ep")
    a = Agent("ep", targets_yaml("ep", t.pid),
              extra="checkpoint: {every_records: 10000, every_seconds: 60, epoch_seconds: 1}\n")
    try:
        first = os.path.join(a.dir, "first.pub")
        with open(os.path.join(a.keys, "signing.pub")) as src, open(first, "w") as dst:
            dst.write(src.read())
        with open(os.path.join(a.keys, "signing.key")) as f:
            first_priv = f.read()
        a.start()
        open(t.go, "w").close()
        t.proc.communicate(timeout=120)
        time.sleep(3.5)
        eq(a.stop(), 0, "agent exit")
        epochs = a.of_type("key_epoch", "system")
        assert len(epochs) >= 2, "key_epoch records: %d" % len(epochs)
        eq([e["details"]["epoch"] for e in epochs], list(range(2, len(epochs) + 2)), "epochs")
        p = a.verify(pubkey=first)
        eq(p.returncode, 0, "verify from the first key:\n" + p.stdout + p.stderr)
        assert "%d epochs" % (len(epochs) + 1) in p.stdout, p.stdout
        body = first_priv.splitlines()[1]
        for root, _, files in os.walk(a.dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    assert body.encode() not in f.read(), "epoch-1 key in " + name
        assert os.path.exists(os.path.join(a.keys, "retired", "signing-epoch-1.pub"))
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()
