"""Decision fields in clear, per-field pseudonyms, schema 1 and 2 side by side.

* A real uprobe target (examples/demo_server, the `make run` server) with
  decision fields: every record carries the decision and score the client
  received, in clear, and the applicant id only as HMAC(id); lookup --field
  finds each applicant's one decision; the id never appears in the log.
* A log written by an agent of schema 1 (tests/e2e/fixtures, made by the
  gen_log of the commit before schema 2) continued by this build: verify,
  export, prove and tools/verify_export.py accept both kinds of line.
"""
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.request

from harness import BUILD, ROOT, SEALTRACE, Agent, eq, run, wait_for

DEMO = os.path.join(BUILD, "examples", "demo_server")
GEN_LOG = os.path.join(BUILD, "tools", "gen_log")
PYVERIFY = os.path.join(ROOT, "tools", "verify_export.py")
FIXTURE = os.path.join(ROOT, "tests", "e2e", "fixtures", "schema1-log.tar.gz")
N = 50


def run_to(cmd, path):
    """Run cmd with stdout into path (exit status checked)."""
    with open(path, "w") as f:
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def applicant(i):
    return {"applicant_id": "A-%05d" % i, "age": 21 + i % 50,
            "annual_income": 24000 + i * 3797 % 90000, "loan_amount": 5000 + i * 1291 % 45000}


def test_decision_fields_uprobe():
    port = free_port()
    targets = ("  - name: credit\n    path: %s\n    probes:\n"
               "      - symbol: predict\n"
               "        input:  {ptr: \"%%di\", len: \"%%si\", max: 65536}\n"
               "        output: {ptr: \"%%dx\", len: \"%%ax\", at: return, max: 4096}\n"
               "        decision:\n"
               "          clear: {decision: \"output:/decision\", score: \"output:/score\",\n"
               "                  model_version: \"output:/model\", absent: \"output:/nope\"}\n"
               "          pseudonymise: {applicant_id: \"input:/applicant_id\"}\n") % DEMO
    extra = ("system_facts: {annex_iii_category: \"5(b)\", jurisdiction: EU-DE,"
             " training_data_version: td-7}\n")
    a = Agent("decision", targets, extra=extra)
    server = subprocess.Popen([DEMO, "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = "http://127.0.0.1:%d" % port

        def up():
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                return True
            except OSError:
                return False
        wait_for(up, what="demo_server")
        a.start()
        sent, got = [], []
        for i in range(N):
            body = json.dumps(applicant(i), separators=(",", ":")).encode()
            req = urllib.request.Request(url + "/predict", data=body,
                                         headers={"Content-Type": "application/json"})
            got.append(urllib.request.urlopen(req, timeout=10).read())
            sent.append(body)
        wait_for(lambda: len(a.of_type("inference", "decision")) >= N, what="records")
        eq(a.stop(), 0, "agent exit")
        recs = a.of_type("inference", "decision")
        eq(len(recs), N, "inference records")
        by_input = {r["input_hash"]: r for r in recs}
        for body, out in zip(sent, got):
            r = by_input[a.ref(body)]
            eq(r["output_reference"], a.ref(out), "output_reference")
            resp = json.loads(out)
            eq(r["schema_version"], 2, "schema_version")
            eq(r["decision"], {"decision": resp["decision"], "score": resp["score"],
                               "model_version": resp["model"]}, "decision in clear")
            eq(r["model_version"], resp["model"], "model_version from the output")
            eq(r["details"]["decision_missing"], "absent", "missing field recorded")
            aid = json.loads(body)["applicant_id"]
            eq(r["pseudonyms"], {"applicant_id": a.ref(aid.encode())}, "pseudonym")
        # no identifier in clear anywhere in the log
        raw = b""
        for s in ("decision", "system"):
            d = os.path.join(a.state, s)
            for name in os.listdir(d):
                if name.endswith(".seg"):
                    raw += subprocess.run(["zcat", os.path.join(d, name)],
                                          capture_output=True).stdout
        eq(b"A-000" in raw, False, "applicant ids in clear")
        # lookup --field: exactly one decision per applicant; an unknown one: exit 1
        p = run([SEALTRACE, "lookup", "--state-dir", a.state, "--keys", a.keys,
                 "--field", "applicant_id", "--value", "A-00017", "--quiet"])
        lines = p.stdout.splitlines()
        eq(len(lines), 1, "lookup --field matches")
        eq(json.loads(lines[0])["pseudonyms"]["applicant_id"], a.ref(b"A-00017"), "match")
        p = run([SEALTRACE, "lookup", "--state-dir", a.state, "--keys", a.keys,
                 "--field", "applicant_id", "--value", "A-99999", "--quiet"], check=False)
        eq(p.returncode, 1, "lookup of an unknown applicant")
        # facts once per start, in the export header
        act = a.of_type("agent_start")[0]["details"]
        eq(act["fact.jurisdiction"], "EU-DE", "fact in agent_start")
        exp = os.path.join(a.dir, "export.jsonl")
        run_to([SEALTRACE, "export", "--state-dir", a.state], exp)
        with open(exp) as f:
            hdr = json.loads(f.readline())
        eq(hdr["system_facts"], {"annex_iii_category": "5(b)", "jurisdiction": "EU-DE",
                                 "training_data_version": "td-7"}, "export header facts")
        pub = os.path.join(a.keys, "signing.pub")
        run(["python3", PYVERIFY, exp, pub])
        run([SEALTRACE, "verify", "--export", exp, "--pubkey", pub])
        eq(a.verify().returncode, 0, "verify")
    finally:
        server.terminate()
        server.wait(10)
        a.cleanup()


def test_schema1_log_continued():
    d = tempfile.mkdtemp(prefix="st-e2e-schema1-")
    try:
        with tarfile.open(FIXTURE) as t:
            t.extractall(d)
        keys, state = os.path.join(d, "keys"), os.path.join(d, "state")
        pub = os.path.join(keys, "signing.pub")
        run([GEN_LOG, "--state-dir", state, "--keys-dir", keys, "--records", "40",
             "--system-every", "10", "--input-bytes", "64", "--output-bytes", "32",
             "--ckpt-records", "16", "--start", "2025-03-02"])
        p = run([SEALTRACE, "verify", "--state-dir", state, "--pubkey", pub])
        exp = os.path.join(d, "export.jsonl")
        run_to([SEALTRACE, "export", "--state-dir", state], exp)
        with open(exp) as f:
            recs = [json.loads(l) for l in f if '"export"' not in l[:12]]
        versions = sorted({r["schema_version"] for r in recs})
        eq(versions, [1, 2], "both schema versions in the export")
        eq(sum(1 for r in recs if r["schema_version"] == 1 and "decision" in r), 0,
           "schema 1 lines keep their layout")
        run(["python3", PYVERIFY, exp, pub])
        run([SEALTRACE, "verify", "--export", exp, "--pubkey", pub])
        for v in (1, 2):
            ev = next(r for r in recs if r["schema_version"] == v and
                      r["stream"] == "decision")["event_id"]
            pf = os.path.join(d, "prove-%d.jsonl" % v)
            run_to([SEALTRACE, "prove", "--state-dir", state, "--event-id", ev], pf)
            run(["python3", PYVERIFY, pf, pub])
        # a schema 1 line edited to claim schema 2 no longer verifies
        bad = os.path.join(d, "bad.jsonl")
        with open(exp) as f, open(bad, "w") as g:
            done = False
            for line in f:
                if not done and line.startswith('{"schema_version":1,'):
                    line = line.replace('{"schema_version":1,', '{"schema_version":2,', 1)
                    done = True
                g.write(line)
        p = run(["python3", PYVERIFY, bad, pub], check=False)
        eq(p.returncode, 1, "verify_export of an edited version")
        p = run([SEALTRACE, "verify", "--export", bad, "--pubkey", pub], check=False)
        eq(p.returncode, 1, "verify --export of an edited version")
    finally:
        shutil.rmtree(d, ignore_errors=True)
