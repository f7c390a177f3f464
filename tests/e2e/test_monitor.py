"""Post-market monitoring (Art. 72), model inventory, reconstruction and the
auditor's report (issue 14): risk records, `models --at`, `reconstruct`,
`report` (HTML checked in headless chromium, figures equal to --json), and
the agent's risk-rule hook with the demo server under real BPF.

Logs with decision history come from build/tools/gen_log (--model-switch,
--scores, --risk-config): the same record pipeline the agent uses, with
timestamps set months back.
"""
import calendar
import html.parser
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from harness import (BUILD, ROOT, SEALTRACE, Agent, Skip, eq, run, wait_for)
import promparse

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")
DEMO = os.path.join(BUILD, "examples", "demo_server")

RULES = """risk_rules:
  - {name: low_confidence, field: confidence_score, op: "<", value: 0.70, severity: medium}
  - {name: class_outside_set, field: output_class, not_in: [approve, decline, refer], severity: high}
"""


def rules_config(path):
    with open(path, "w") as f:
        f.write("system_id: credit-scoring\noperator_id: example-bank\n")
        f.write(RULES)
        f.write("targets:\n  - name: scorer\n    exe: scorer\n    probes:\n      - symbol: score\n")


def expected_risk(decisions):
    """gen_log --scores: decision d scores (d*7 % 1000)/1000, class escalate when
    d % 1000 == 999: the exact number of records each rule must produce."""
    low = sum(1 for d in range(decisions) if (d * 7) % 1000 < 700)
    outside = sum(1 for d in range(decisions) if d % 1000 == 999)
    return low, outside


def gen(tmp, name, records, switch, start, step_ns, extra=()):
    keys = os.path.join(tmp, "keys")
    if not os.path.exists(os.path.join(keys, "hmac.key")):
        run([SEALTRACE, "keygen", "--dir", keys])
    cfg = os.path.join(tmp, "rules.yaml")
    rules_config(cfg)
    state = os.path.join(tmp, name)
    run([GEN_LOG, "--state-dir", state, "--keys-dir", keys, "--records", str(records),
         "--model-switch", str(switch), "--scores", "--risk-config", cfg,
         "--start", start, "--step-ns", str(step_ns), "--input-bytes", "128",
         "--output-bytes", "64"] + list(extra))
    return state, keys


def records(state, stream):
    import gzip
    out = []
    d = os.path.join(state, stream)
    for name in sorted(os.listdir(d)):
        if name.endswith(".seg"):
            with gzip.open(os.path.join(d, name), "rt", encoding="utf-8") as f:
                out.extend(json.loads(line) for line in f)
    return out


def iso(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def utc_ns(ts):
    secs, frac = ts.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(secs, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac)


def test_risk_records_and_models_at_switch():
    """5,000 events, v1 replaced by v2 at decision 2,500: exactly one risk
    record per rule hit, `models --at` names v1 before and v2 from the
    switch on, and report --json counts what the log holds."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-mon-")
    try:
        state, keys = gen(tmp, "state", 5000, 2500, "2026-01-05T10:00:00Z", 10**9)
        dec = records(state, "decision")
        sysr = records(state, "system")
        n = len(dec)
        eq(n, 4995, "decisions (every 1000th event is a system event)")
        low, outside = expected_risk(n)
        risk = [r for r in sysr if r["event_type"] == "risk"]
        eq(sum(1 for r in risk if r["details"]["rule"] == "low_confidence"), low,
           "low_confidence risk records")
        eq(sum(1 for r in risk if r["details"]["rule"] == "class_outside_set"), outside,
           "class_outside_set risk records")
        ids = {r["event_id"] for r in dec}
        eq(all(r["details"]["decision_event_id"] in ids for r in risk), True,
           "every risk record names a decision of the log")
        eq({r["details"]["severity"] for r in risk}, {"medium", "high"}, "severities")
        # the switch: the first v2 decision
        first_v2 = next(r for r in dec if r["model_version"] == "v2")
        t_switch = utc_ns(first_v2["timestamp_utc"])

        def models_at(ns):
            p = run([SEALTRACE, "models", "--state-dir", state, "--at", iso(ns), "--json"])
            return [(m["model_version"], m["model_artifact"]) for m in json.loads(p.stdout)["models"]]
        eq(models_at(t_switch - 10**9), [("v1", "sha256:" + "1" * 64)], "models 1 s before the switch")
        eq(models_at(t_switch), [("v2", "sha256:" + "2" * 64)], "models at the switch")
        eq(models_at(utc_ns("2026-01-05T09:59:59.000000000Z")), [], "models before the first")
        now = json.loads(run([SEALTRACE, "models", "--state-dir", state, "--json"]).stdout)
        eq([(m["model_version"], [p["pid"] for p in m["processes"]]) for m in now["models"]],
           [("v2", [4343])], "models now")
        text = run([SEALTRACE, "models", "--state-dir", state, "--at", iso(t_switch - 10**9)]).stdout
        assert "version v1" in text and "pid 4242 scorer" in text, text
        # usage errors: exit 2 with a message
        for argv in (["models", "--state-dir", state, "--at", "last tuesday"],
                     ["models", "--state-dir", os.path.join(tmp, "nope")],
                     ["report", "--state-dir", state],
                     ["report", "--state-dir", state, "--json", "--from", "2026-02-01",
                      "--to", "2026-01-01"],
                     ["report", "--state-dir", state, "--json", "--pubkey", "/nonexistent"]):
            p = run([SEALTRACE] + argv, check=False)
            eq(p.returncode, 2, "exit status of %s" % " ".join(argv[:1] + argv[3:]))
            assert p.stderr.strip(), "a message for %s" % argv
        for verb in ("models", "reconstruct", "report"):
            p = run([SEALTRACE, verb, "--help"])
            assert p.stdout.startswith("usage: sealtrace " + verb), p.stdout
        # the report counts what the log holds
        rep = json.loads(run([SEALTRACE, "report", "--state-dir", state, "--json",
                              "--pubkey", os.path.join(keys, "signing.pub")]).stdout)
        eq(rep["totals"]["decisions"], n, "report decisions")
        eq(rep["totals"]["risk_events"], low + outside, "report risk events")
        eq({r["rule"]: r["count"] for r in rep["risk_rules"]},
           {"low_confidence": low, "class_outside_set": outside}, "report per rule")
        eq(rep["days"][0]["by_model_version"],
           {"v1": sum(1 for r in dec if r["model_version"] == "v1"),
            "v2": sum(1 for r in dec if r["model_version"] == "v2")}, "report per version")
        eq(rep["totals"]["lost_calls"],
           sum(r["details"]["count"] for r in sysr if r["event_type"] == "loss"), "report losses")
        eq(rep["verification"]["decision"]["result"], "intact", "decision stream verifies")
        eq(rep["verification"]["system"]["result"], "intact", "system stream verifies")
        eq([m["model_version"] for m in rep["models_loaded"]], ["v1", "v2"], "models loaded")
        # a tampered decision line: report says so and exits 1
        seg = os.path.join(state, "decision", sorted(os.listdir(os.path.join(state, "decision")))[0])
        import gzip
        with gzip.open(seg, "rt") as f:
            lines = f.readlines()
        lines[10] = lines[10].replace('"ret":0', '"ret":1')
        with gzip.open(seg, "wt") as f:
            f.writelines(lines)
        p = run([SEALTRACE, "report", "--state-dir", state, "--json"], check=False)
        eq(p.returncode, 1, "report on a tampered log: exit status")
        eq(json.loads(p.stdout)["verification"]["decision"]["result"], "FAIL", "tamper found")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_reconstruct_three_months_back():
    """A decision from three months ago: found by event_id, and by its input
    reference and time; its bundle verifies with `verify --export` and
    tools/verify_export.py, and fails when one byte of it changes."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-recon-")
    try:
        start_ns = (time.time_ns() // 10**9 - 92 * 86400) * 10**9
        # 40,000 events spread over 92 days, segments of 5,000 records
        state, keys = gen(tmp, "state", 40000, 20000, iso(start_ns), 92 * 86400 * 10**9 // 40000,
                          ["--seg-records", "5000", "--ckpt-records", "2000"])
        pub = os.path.join(keys, "signing.pub")
        dec = records(state, "decision")
        sysr = records(state, "system")
        target = dec[12345]
        bundle = os.path.join(tmp, "bundle.jsonl")
        p = run([SEALTRACE, "reconstruct", "--state-dir", state, "--event-id", target["event_id"],
                 "--bundle", bundle, "--pubkey", pub, "--json"])
        out = json.loads(p.stdout)
        eq(out["record"], target, "the decision record")
        eq(out["seq"], 12345, "its seq")
        eq(out["proof"]["from_frontier"], True, "proved from a checkpoint frontier")
        want_risk = [r for r in sysr if r["event_type"] == "risk"
                     and r["details"]["decision_event_id"] == target["event_id"]]
        eq(out["risk"], len(want_risk), "risk records about it")
        eq([r for r in out["related"] if r["event_type"] == "risk"], want_risk, "those records")
        window = [r for r in sysr if r["event_type"] == "loss"
                  and abs(utc_ns(r["timestamp_utc"]) - utc_ns(target["timestamp_utc"])) <= 86400 * 10**9]
        eq(out["loss_records"], len(window), "loss records within a day")
        eq(out["related_in_bundle"], len(out["related"]), "related records proved in the bundle")
        with open(bundle) as f:
            blines = [json.loads(l) for l in f]
        eq([l for l in blines if l.get("stream") == "system" and "export" not in l],
           sorted(out["related"], key=lambda r: r["seq"]), "the bundle's system records")
        eq(run([SEALTRACE, "verify", "--export", bundle, "--pubkey", pub], check=False).returncode, 0,
           "verify --export accepts the bundle")
        p = run(["python3", os.path.join(ROOT, "tools", "verify_export.py"), bundle, pub], check=False)
        eq(p.returncode, 0, "verify_export.py accepts the bundle: " + p.stdout + p.stderr)
        # by reference and time: the same decision
        p = run([SEALTRACE, "reconstruct", "--state-dir", state, "--ref", target["input_hash"],
                 "--at", target["timestamp_utc"], "--json"])
        eq(json.loads(p.stdout)["event_id"], target["event_id"], "found by input reference")
        text = run([SEALTRACE, "reconstruct", "--state-dir", state, "--event-id",
                    target["event_id"]]).stdout
        assert "version %s" % target["model_version"] in text, text
        assert "risk records about it: %d" % len(want_risk) in text, text
        # one byte of the record changed: both verifiers refuse the bundle
        with open(bundle) as f:
            lines = f.readlines()
        lines[2] = lines[2].replace('"ret":0', '"ret":7')
        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.writelines(lines)
        eq(run([SEALTRACE, "verify", "--export", bad, "--pubkey", pub], check=False).returncode, 1,
           "verify --export on a changed bundle")
        eq(run(["python3", os.path.join(ROOT, "tools", "verify_export.py"), bad, pub],
               check=False).returncode, 1, "verify_export.py on a changed bundle")
        # unknown id, bad usage
        p = run([SEALTRACE, "reconstruct", "--state-dir", state, "--event-id",
                 "01a00000-0000-7000-8000-000000000000"], check=False)
        eq(p.returncode, 1, "unknown event_id: exit status")
        eq(run([SEALTRACE, "reconstruct", "--state-dir", state, "--event-id", "nope"],
               check=False).returncode, 2, "a non-UUID: exit status")
        eq(run([SEALTRACE, "reconstruct", "--state-dir", state, "--ref", "x"],
               check=False).returncode, 2, "--ref without --at: exit status")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Figures(html.parser.HTMLParser):
    """Every element with data-k: its key -> (text, data-v, data-n)."""

    def __init__(self):
        super().__init__()
        self.found = {}
        self.stack = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        self.stack.append([a.get("data-k"), a.get("data-v"), a.get("data-n"), ""])

    def handle_endtag(self, tag):
        if not self.stack:
            return
        k, v, n, text = self.stack.pop()
        if self.stack:
            self.stack[-1][3] += text
        if k:
            self.found[k] = (text.strip(), v, n)

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][3] += data


def chromium():
    exe = shutil.which("chromium")
    if exe:
        return exe
    # the test's own dependency: installed here, not for every user of sealtrace
    p = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
                       capture_output=True, text=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    exe = shutil.which("chromium")
    if not exe:
        raise Skip("chromium is not installed and apt-get could not install it: %s" %
                   (p.stdout + p.stderr).strip().splitlines()[-1:])
    return exe


def test_report_in_headless_chromium():
    """The HTML report renders in a real browser with no console or script
    errors and no network, and every figure in it equals --json's."""
    exe = chromium()
    tmp = tempfile.mkdtemp(prefix="st-e2e-report-")
    try:
        # three days of history, losses included (gen_log's loss records)
        state, keys = gen(tmp, "state", 30000, 15000, "2026-03-01T00:00:00Z", 8640000000)
        page = os.path.join(tmp, "report.html")
        p = run([SEALTRACE, "report", "--state-dir", state, "--out", page, "--json",
                 "--pubkey", os.path.join(keys, "signing.pub")])
        rep = json.loads(p.stdout)
        with open(page) as f:
            src = f.read()
        assert "<script" not in src and "http://" not in src and "https://" not in src, \
            "the page is self-contained"
        shot = os.path.join(tmp, "report.png")
        prof = os.path.join(tmp, "profile")
        base = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0"]
        p = subprocess.run(base + ["--window-size=1100,3000", "--screenshot=" + shot,
                                   "file://" + page], capture_output=True, text=True, timeout=180)
        eq(p.returncode, 0, "chromium --screenshot exit status: " + p.stderr[-2000:])
        eq(os.path.getsize(shot) > 20000, True, "a screenshot with content")
        console = [l for l in p.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l
                   or "Refused to" in l]
        eq(console, [], "console messages")
        p = subprocess.run(base + ["--dump-dom", "file://" + page], capture_output=True,
                           text=True, timeout=180)
        eq(p.returncode, 0, "chromium --dump-dom exit status")
        console = [l for l in p.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l
                   or "Refused to" in l]
        eq(console, [], "console messages")
        fig = Figures()
        fig.feed(p.stdout)
        eq(fig.scripts, 0, "script elements in the rendered page")

        def num(key):
            text, v, n = fig.found[key]
            return float(v) if v is not None else int(n) if n is not None else int(text)

        t = rep["totals"]
        for k in ("decisions", "incomplete", "lost_calls", "loss_records", "risk_events",
                  "oversight", "overrides", "agent_starts", "recoveries", "decisions_with_fields"):
            eq(num("totals." + k), t[k], "page totals." + k)
        for k in ("coverage", "oversight_rate", "override_rate"):
            eq(abs(num("totals." + k) - t[k]) < 1e-9, True, "page totals." + k)
        eq(len(rep["days"]), 3, "three days")
        for i, d in enumerate(rep["days"]):
            eq(fig.found["days.%d.date" % i][0], d["date"], "page day %d date" % i)
            for k in ("decisions", "lost_calls", "risk_events", "oversight", "overrides"):
                eq(num("days.%d.%s" % (i, k)), d[k], "page day %d %s" % (i, k))
            eq(abs(num("days.%d.coverage" % i) - d["coverage"]) < 1e-9, True, "page coverage")
        for i, r in enumerate(rep["risk_rules"]):
            eq(num("risk_rules.%d.count" % i), r["count"], "page rule " + r["rule"])
        for i, m in enumerate(rep["models_loaded"]):
            eq(num("models_loaded.%d.loads" % i), m["loads"], "page model loads")
            assert m["model_artifact"] in src
        eq(fig.found["verification.decision.result"][0], "intact", "page verification")
        eq(fig.found["verification.system.result"][0], "intact", "page verification")
        if os.environ.get("KEEP") == "1":
            print("report: %s, screenshot: %s" % (page, shot))
    finally:
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def demo_target():
    return ("  - name: credit-demo\n    path: %s\n    probes:\n      - symbol: predict\n"
            "        input:  {ptr: \"%%di\", len: \"%%si\", max: 65536}\n"
            "        output: {ptr: \"%%dx\", len: \"%%ax\", at: return, max: 4096}\n" % DEMO)


def test_agent_risk_rules_with_demo_server():
    """The demo server under the agent (real uprobes) with risk_rules: every
    request is one inference record; the rules are recorded once as a
    config_change and again only when they change; records without decision
    fields never make risk records (the rules read only decision fields)."""
    if not os.path.exists(DEMO):
        raise Skip("build/examples/demo_server not built")
    mport = free_port()
    a = Agent("risk", demo_target(), extra=RULES + 'metrics: {listen: "127.0.0.1:%d"}\n' % mport)
    port = free_port()
    server = None
    try:
        a.start()
        server = subprocess.Popen([DEMO, "--port", str(port), "--threads", "2"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        n = 50
        for i in range(n):
            req = urllib.request.Request("http://127.0.0.1:%d/predict" % port,
                                         data=json.dumps({"applicant": "A-%05d" % i,
                                                          "income": 1000 + i}).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=5).read()

        def decisions_metric():
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                          timeout=5).read().decode()
            expo = promparse.parse(body, sealtrace=True)
            return sum(float(v) for name, labels, v, _ in expo.samples
                       if name == "sealtrace_decisions_total"), expo
        wait_for(lambda: decisions_metric()[0] == n, 30, "/metrics to count %d decisions" % n)
        total, expo = decisions_metric()
        eq(float(expo.get("sealtrace_decisions_total",
                          {"system_id": "urn:example:ai-system:e2e-risk",
                           "model_version": "(none)", "class": "(none)"})), float(n),
           "decisions without fields: model_version and class (none)")
        eq(a.stop(), 0, "agent exit status")
        eq(len(a.of_type("inference")), n, "inference records")
        eq(total, float(len(a.of_type("inference")) + len(a.of_type("incomplete"))),
           "/metrics decisions equal the log's")
        eq(len(a.of_type("risk")), 0, "risk records without decision fields")
        changes = [r for r in a.of_type("config_change") if "risk_rules_sha256" in r["details"]]
        eq(len(changes), 1, "risk rules recorded at the first start")
        eq(changes[0]["details"]["risk_rules"], 2, "rules in force")
        first = changes[0]["details"]["risk_rules_sha256"]
        # the same rules again: nothing new; other rules: one change naming both digests
        os.unlink(a.ready)      # start() waits for the new agent's ready file
        a.start()
        eq(a.stop(), 0, "agent exit status")
        eq(len([r for r in a.of_type("config_change") if "risk_rules_sha256" in r["details"]]), 1,
           "no change record for the same rules")
        with open(a.config) as f:
            cfg = f.read()
        with open(a.config, "w") as f:
            f.write(cfg.replace("value: 0.70", "value: 0.65"))
        os.unlink(a.ready)
        a.start()
        eq(a.stop(), 0, "agent exit status")
        changes = [r for r in a.of_type("config_change") if "risk_rules_sha256" in r["details"]]
        eq(len(changes), 2, "a change record for new rules")
        eq(changes[1]["details"]["old_risk_rules_sha256"], first, "the old digest")
        assert changes[1]["details"]["risk_rules_sha256"] != first
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        a.cleanup()


SCORER = r'''
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# the model file is read (and kept open) as a model server would
model_path, version = sys.argv[2], sys.argv[3]
model = open(model_path, "rb")
weights = model.read()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True     # one request at a time: no 40 ms delayed-ACK stalls

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        k = json.loads(body)["k"]
        s = (k * 7 % 1000) / 1000
        cls = "escalate" if k % 100 == 99 else "approve" if s >= 0.7 else "refer" if s >= 0.4 else "decline"
        out = json.dumps({"output_class": cls, "confidence_score": s,
                          "model_version": version}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("ready", flush=True)
srv.serve_forever()
'''


def test_wire_decisions_risk_metrics_and_model_switch():
    """A Python scoring service under wire capture (real BPF on its sockets),
    5,000 decisions (MONITOR_WIRE_DECISIONS), model v1 then, after a rolling
    restart, v2: every decision carries its
    fields, each low score makes exactly one risk record, /metrics counts
    equal the log's, and `models --at` names v1 before the switch and v2
    after it. Needs the wire-capture targets (http:); skipped without."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-wire-mon-")
    exe = "st-mon-%d" % os.getpid()
    py = os.path.join(tmp, exe)
    shutil.copy(os.path.realpath(shutil.which("python3")), py)
    script = os.path.join(tmp, "scorer.py")
    with open(script, "w") as f:
        f.write(SCORER)
    models = {}
    for v in ("v1", "v2"):
        models[v] = os.path.join(tmp, "scorer-%s.onnx" % v)
        with open(models[v], "wb") as f:
            f.write(os.urandom(65536) + v.encode())
    import hashlib
    digest = {v: hashlib.sha256(open(p, "rb").read()).hexdigest() for v, p in models.items()}
    port, mport = free_port(), free_port()
    target = ("  - name: scorer\n    exe: %s\n    http:\n      ports: [%d]\n"
              "      paths: [\"/score\"]\n      decision:\n"
              "        clear: {output_class: \"response:/output_class\",\n"
              "                confidence_score: \"response:/confidence_score\",\n"
              "                model_version: \"response:/model_version\"}\n" % (exe, port))
    extra = (RULES + 'metrics: {listen: "127.0.0.1:%d"}\n' % mport +
             "models:\n  - {sha256: %s, version: v1}\n  - {sha256: %s, version: v2}\n"
             % (digest["v1"], digest["v2"]))
    a = Agent("wiremon", target, extra=extra)
    p = run([SEALTRACE, "run", "--check-config", a.config], check=False)
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        a.cleanup()
        raise Skip("this build has no wire-capture targets (http:): %s" % p.stderr.strip()[-200:])
    n_each = int(os.environ.get("MONITOR_WIRE_DECISIONS", "5000")) // 2
    procs = []
    try:
        a.start()
        sent = []
        for v in ("v1", "v2"):
            srv = subprocess.Popen([py, script, str(port), models[v], v],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(srv)
            eq(srv.stdout.readline().strip(), "ready", "scorer %s started" % v)
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for i in range(n_each):
                k = len(sent)
                c.request("POST", "/score", body=json.dumps({"k": k}),
                          headers={"Content-Type": "application/json"})
                got = json.loads(c.getresponse().read())
                sent.append((k, got))
            c.close()
            if v == "v1":
                t_v1 = time.time_ns()   # v1 served every request until now
                time.sleep(1.5)     # the v1 records are in before the restart
                srv.terminate()
                srv.wait(10)
                time.sleep(0.5)
        n = len(sent)
        low = sum(1 for _, g in sent if g["confidence_score"] < 0.7)
        outside = sum(1 for _, g in sent if g["output_class"] == "escalate")

        def metrics():
            body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                          timeout=5).read().decode()
            return promparse.parse(body, sealtrace=True)
        wait_for(lambda: sum(float(v) for nm, _, v, _ in metrics().samples
                             if nm == "sealtrace_decisions_total") >= n, 30, "metrics")
        expo = metrics()
        eq(a.stop(), 0, "agent exit status")
        dec = [r for r in a.records("decision") if r["event_type"] == "inference"]
        eq(len(dec), n, "inference records")
        eq(sorted((r["decision"]["confidence_score"], r["decision"]["output_class"],
                   r["decision"]["model_version"]) for r in dec),
           sorted((g["confidence_score"], g["output_class"], g["model_version"]) for _, g in sent),
           "decision fields equal what the client received")
        risk = a.of_type("risk")
        eq(sum(1 for r in risk if r["details"]["rule"] == "low_confidence"), low, "low_confidence")
        eq(sum(1 for r in risk if r["details"]["rule"] == "class_outside_set"), outside,
           "class_outside_set")
        by_id = {r["event_id"]: r for r in dec}
        for r in risk:
            d = by_id[r["details"]["decision_event_id"]]["decision"]
            if r["details"]["rule"] == "low_confidence":
                eq(d["confidence_score"] < 0.7, True, "risk record names a low score")
        # /metrics equals the log
        for (ver, cls) in {(r["decision"]["model_version"], r["decision"]["output_class"])
                           for r in dec}:
            want = sum(1 for r in dec if r["decision"]["model_version"] == ver
                       and r["decision"]["output_class"] == cls)
            got = expo.get("sealtrace_decisions_total", {"system_id": "urn:example:ai-system:e2e-wiremon",
                                                          "model_version": ver, "class": cls})
            eq(float(got or 0), float(want), "metrics %s/%s" % (ver, cls))
        eq(float(expo.get("sealtrace_risk_events_total", {
            "system_id": "urn:example:ai-system:e2e-wiremon", "rule": "low_confidence",
            "severity": "medium"})), float(low), "metrics risk events")
        eq(float(expo.get("sealtrace_http_responses_total", {
            "system_id": "urn:example:ai-system:e2e-wiremon", "status": "200"})), float(n),
           "metrics HTTP 200")
        # the model inventory before and after the rolling restart
        def models_at(ns):
            out = run([SEALTRACE, "models", "--state-dir", a.state, "--at", iso(ns), "--json"]).stdout
            return [m["model_version"] for m in json.loads(out)["models"]]
        eq(models_at(t_v1), ["v1"], "models before the switch")
        eq(models_at(time.time_ns()), ["v2"], "models after the switch")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        for s in procs:
            if s.poll() is None:
                s.kill()
                s.wait()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
