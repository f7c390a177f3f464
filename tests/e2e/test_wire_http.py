"""Wire-level HTTP capture against real servers (real BPF, real sockets).

Servers: tests/e2e/servers/scoring_http.py (Python http.server, HTTP/1.1
keep-alive, Content-Length) and scoring_node.js (Node http, chunked). The
client here sends exactly known bodies and keeps exactly what it received,
so every record is checked byte for byte: input_hash = HMAC(request body),
output_reference = HMAC(response body as received, chunk framing removed),
decision = the JSON received, pseudonyms.applicant_id = HMAC(id).
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import tempfile
import subprocess
import threading
import time
import urllib.request

import promparse
from harness import ROOT, SEALTRACE, Agent, eq, wait_for

SERVERS = os.path.join(ROOT, "tests", "e2e", "servers")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise AssertionError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        self.pid = self.proc.pid
        self.exe = os.path.basename(os.readlink("/proc/%d/exe" % self.pid))

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def python_server():
    return Server(["python3", os.path.join(SERVERS, "scoring_http.py"), str(free_port())])


def node_server():
    if not shutil.which("node"):
        raise AssertionError("node is not installed (scripts/deps.sh installs nodejs)")
    return Server(["node", os.path.join(SERVERS, "scoring_node.js"), str(free_port())])


def agent_for(name, srv, extra_http="", paths='["/score", "/stream", "/echo", "/big", "/reset"]',
              extra=""):
    targets = ("  - name: scorer\n    exe: %s\n    pid: %d\n    http:\n"
               "      ports: [%d]\n      paths: %s\n      max_body: 65536\n"
               "      decision:\n"
               "        clear: {approve: \"response:/approve\", score: \"response:/score\",\n"
               "                model_version: \"response:/model\"}\n"
               "        pseudonymise: {applicant_id: \"request:/applicant_id\"}\n%s") % (
                   srv.exe, srv.pid, srv.port, paths, extra_http)
    return Agent(name, targets, extra=extra)


class _KeepOpen:
    """The connection's one buffered reader; HTTPResponse may not close it."""

    def __init__(self, f):
        self.f = f

    def __getattr__(self, name):
        return getattr(self.f, name)

    def close(self):
        pass


class Conn:
    """One keep-alive client connection that reads responses in order."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port))
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        self.f = self.sock.makefile("rb")

    def makefile(self, *a, **k):
        return _KeepOpen(self.f)

    def send(self, method, path, body=b"", ctype="application/json"):
        head = "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
            method, path, ctype, len(body))
        self.sock.sendall(head.encode() + body)

    def read(self):
        r = http.client.HTTPResponse(self)
        r.begin()
        return r.status, r.read()

    def close(self):
        self.f.close()
        self.sock.close()


def body_of(i):
    return json.dumps({"applicant_id": "A-%05d" % i, "income": 30000 + i * 37,
                       "loan": 1000 + i % 977}, separators=(",", ":")).encode()


def run_load(port, plan, tls=False):
    """plan: [(connections, requests_each, pipeline_depth)]; returns [(body, response)]."""
    out, lock, errors, n = [], threading.Lock(), [], [0]

    def worker(count, depth):
        try:
            c = Conn(port, tls)
            done = 0
            while done < count:
                batch = []
                for _ in range(min(depth, count - done)):
                    with lock:
                        i = n[0]
                        n[0] += 1
                    batch.append(body_of(i))
                    c.send("POST", "/score?trace=%d" % i, batch[-1])
                for b in batch:
                    st, resp = c.read()
                    eq(st, 200, "status")
                    with lock:
                        out.append((b, resp))
                done += len(batch)
            c.send("GET", "/health")       # a health check on the same connection
            c.read()
            c.close()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = []
    for conns, each, depth in plan:
        for _ in range(conns):
            threads.append(threading.Thread(target=worker, args=(each, depth)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


# 1 connection x 250, 8 x 95 (760), 64 x 14 (896), 1 x 94 pipelined 10 deep = 2000
PLAN = [(1, 250, 1), (8, 95, 1), (64, 14, 1), (1, 94, 10)]


def check_records(a, pairs, probe="scorer:http"):
    recs = [r for r in a.of_type("inference", "decision") if r["probe"] == probe]
    eq(len(recs), len(pairs), "inference records")
    eq(len(a.of_type("incomplete", "decision")), 0, "incomplete records")
    want = {}
    for body, resp in pairs:
        want.setdefault(a.ref(body), []).append((body, resp))
    for r in recs:
        body, resp = want[r["input_hash"]].pop()
        got = json.loads(resp)
        eq(r["output_reference"], a.ref(resp), "output_reference")
        eq(r["input_len"], len(body), "input_len")
        eq(r["output_len"], len(resp), "output_len")
        eq(r["decision"], {"approve": got["approve"], "score": got["score"],
                           "model_version": got["model"]}, "decision")
        eq(r["pseudonyms"]["applicant_id"], a.ref(got["applicant_id"].encode()), "pseudonym")
        eq(r["details"]["path"], "/score", "path without query")
        eq(r["details"]["method"], "POST", "method")
        eq(r["details"]["status"], 200, "status")
        eq("/health" in json.dumps(r), False, "health check recorded")


def status_json(a):
    """`sealtrace status --json`: (exit status, report)."""
    r = subprocess.run([SEALTRACE, "status", "--state-dir", a.state, "--json"],
                       capture_output=True, text=True)
    return r.returncode, json.loads(r.stdout)


def wire_metrics(mport):
    """The sealtrace_wire_* samples of /metrics: {(name, labels): value}."""
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read()
    expo = promparse.parse(body.decode(), sealtrace=True)
    return {(n, l): float(v) for n, l, v, _ in expo.samples if n.startswith("sealtrace_wire_")}


# status.json's wire keys and the /metrics series that carry them
WIRE_SERIES = {
    "calls": ("sealtrace_wire_calls_total", ()),
    "events": ("sealtrace_wire_events_total", ()),
    "recorded": ("sealtrace_wire_exchanges_total", (("outcome", "recorded"),)),
    "incomplete": ("sealtrace_wire_exchanges_total", (("outcome", "incomplete"),)),
    "excluded": ("sealtrace_wire_exchanges_total", (("outcome", "excluded"),)),
    "write_failed": ("sealtrace_wire_exchanges_total", (("outcome", "write_failed"),)),
    "requests_lost": ("sealtrace_wire_requests_lost_total", ()),
    "events_lost": ("sealtrace_wire_events_lost_total", ()),
    "bytes_lost": ("sealtrace_wire_bytes_lost_total", ()),
    "connections_untracked": ("sealtrace_wire_connections_untracked_total", ()),
    "tls_unattributed": ("sealtrace_wire_tls_unattributed_total", ()),
    "unattributed_bytes": ("sealtrace_wire_bytes_not_captured_total",
                           (("reason", "unattributed"),)),
    "hole_bytes": ("sealtrace_wire_bytes_not_captured_total", (("reason", "hole"),)),
    "sendfile_bytes": ("sealtrace_wire_bytes_not_captured_total", (("reason", "sendfile"),)),
    "connections_open": ("sealtrace_wire_connections_open", ()),
    "ringbuf_size": ("sealtrace_wire_ringbuf_size_bytes", ()),
    "ringbuf_used": ("sealtrace_wire_ringbuf_used_bytes", ()),
}


def check_wire_status(a, mport, n, excluded):
    """Once the last connection is closed: status --json and /metrics say
    exactly n exchanges recorded, `excluded` health checks, nothing lost."""
    def settled():
        rc, st = status_json(a)
        w = st.get("wire") or {}
        return w.get("recorded") == n and w.get("connections_open") == 0 and \
            w.get("ringbuf_used") == 0
    wait_for(settled, timeout=30, what="status: %d exchanges, no connection open" % n)
    rc, st = status_json(a)
    eq((rc, st["verdict"], st["probes"]), (0, "complete", []), "status verdict")
    w = st["wire"]
    want = {"recorded": n, "incomplete": 0, "excluded": excluded, "write_failed": 0,
            "requests_lost": 0, "events_lost": 0, "bytes_lost": 0,
            "connections_untracked": 0, "tls_unattributed": 0, "unattributed_bytes": 0,
            "hole_bytes": 0, "sendfile_bytes": 0, "connections_open": 0,
            "ringbuf_size": 16 << 20, "ringbuf_used": 0}
    eq({k: w[k] for k in want}, want, "status --json wire section")
    # a DATA event at least per call (one per chunk or iovec), plus an open
    # and a close per connection (one health check each); how many calls
    # depends on the server (pipelined requests share reads)
    eq(w["calls"] > n, True, "kernel calls %d" % w["calls"])
    eq(w["events"] >= w["calls"] + 2 * excluded, True,
       "kernel events %d >= calls %d + 2 x %d connections" % (w["events"], w["calls"], excluded))
    with open(os.path.join(a.state, "agent", "status.json")) as f:
        eq(json.load(f)["wire"], w, "status.json wire section")
    got = wire_metrics(mport)
    eq(len(got), len(WIRE_SERIES), "sealtrace_wire_* series")
    eq({k: got[WIRE_SERIES[k]] for k in w}, {k: float(v) for k, v in w.items()},
       "/metrics equal status --json")


def load_test(name, server):
    srv = server()
    mport = free_port()
    a = agent_for(name, srv, extra='metrics: {listen: "127.0.0.1:%d"}\n' % mport)
    try:
        a.start()
        pairs = run_load(srv.port, PLAN)
        eq(len(pairs), 2000, "requests answered")
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 2000, timeout=120,
                 what="2000 records")
        # one health check per connection: 1 + 8 + 64 + 1
        check_wire_status(a, mport, 2000, sum(c for c, _, _ in PLAN))
        eq(a.stop(), 0, "agent exit")
        with open(os.path.join(a.state, "agent", "status.json")) as f:
            last = json.load(f)["wire"]
        eq((last["recorded"], last["incomplete"], last["events_lost"]), (2000, 0, 0),
           "the last snapshot's wire section")
        eq(len(a.of_type("loss")), 0, "loss records")
        check_records(a, pairs)
        eq(a.verify().returncode, 0, "verify")
    finally:
        srv.stop()
        a.cleanup()


def test_python_http_server_2000():
    load_test("wire-py", python_server)


def test_node_chunked_2000():
    load_test("wire-node", node_server)


def one(a, port, method, path, body, ctype="application/json"):
    c = Conn(port)
    c.send(method, path, body, ctype)
    st, resp = c.read()
    c.close()
    return st, resp


def test_edge_cases():
    """SSE of 200 chunks, bodies of 0 B and 1 MiB, reset mid-response, health checks."""
    srv = python_server()
    a = agent_for("wire-edge", srv)
    try:
        a.start()
        _, sse = one(a, srv.port, "POST", "/stream", b'{"chunks":200}')
        _, empty = one(a, srv.port, "POST", "/echo", b"")
        big = bytes((i * 13) & 0xff for i in range(1 << 20))
        _, big_back = one(a, srv.port, "POST", "/echo", big, "application/octet-stream")
        eq(big_back, big, "1 MiB echoed")
        c = Conn(srv.port)
        c.send("POST", "/reset", b"{}")
        try:
            c.read()
        except (http.client.HTTPException, OSError):
            pass
        c.close()
        for _ in range(10):
            one(a, srv.port, "GET", "/health", b"")
        wait_for(lambda: len(a.of_type("inference", "decision")) +
                 len(a.of_type("incomplete", "decision")) >= 4, what="records")
        time.sleep(0.5)
        eq(a.stop(), 0, "agent exit")
        inf = a.of_type("inference", "decision")
        inc = a.of_type("incomplete", "decision")
        eq(len(inf), 3, "inference records (sse, 0 B, 1 MiB)")
        eq(len(inc), 1, "incomplete records (reset)")
        s = [r for r in inf if r["details"]["path"] == "/stream"][0]
        eq(s["output_len"], len(sse), "SSE total length")
        eq(s["output_reference"], a.ref(sse), "SSE HMAC")
        eq(s["details"]["response_chunks"], 200, "SSE chunks")
        eq(s["details"]["streamed"], True, "streamed")
        eq(s["details"]["content_type"], "text/event-stream", "content type")
        eq("ttfb_ns" in s["details"], True, "time to first byte")
        e = [r for r in inf if r["details"]["path"] == "/echo" and r["input_len"] == 0][0]
        eq((e["input_hash"], e["output_len"]), (a.ref(b""), 0), "0 B body")
        b = [r for r in inf if r["input_len"] == 1 << 20][0]
        eq(b["input_hash"], a.ref(big[:65536]), "HMAC of the captured 64 KiB")
        eq(b["output_reference"], a.ref(big[:65536]), "response HMAC of the captured 64 KiB")
        eq((b["details"]["input_truncated"], b["details"]["input_captured_len"]),
           (True, 65536), "truncation flag")
        eq(b["output_len"], 1 << 20, "full response length")
        r = inc[0]
        eq((r["details"]["path"], r["details"]["status"], r["details"]["reason"]),
           ("/reset", 200, "closed_mid_response"), "reset mid-response")
        eq(a.verify().returncode, 0, "verify")
    finally:
        srv.stop()
        a.cleanup()


def test_connection_open_before_agent():
    srv = python_server()
    a = agent_for("wire-pre", srv)
    try:
        c = Conn(srv.port)
        c.send("POST", "/score", body_of(1))
        c.read()                                  # before the agent: not recorded
        a.start()
        pairs = []
        for i in (2, 3, 4):
            c.send("POST", "/score", body_of(i))
            pairs.append((body_of(i), c.read()[1]))
        c.close()
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 3, what="records")
        time.sleep(0.3)
        eq(a.stop(), 0, "agent exit")
        check_records(a, pairs)
        recs = sorted(a.of_type("inference", "decision"), key=lambda r: r["seq"])
        eq(recs[0]["details"].get("resynced"), True, "first record says resynced")
        eq(recs[0]["details"].get("connection_open_before_agent"), True, "preexisting")
        notes = [r for r in a.of_type("loss") if r["details"]["reason"] == "wire_resync"]
        eq(len(notes), 1, "one resync report")
        eq(notes[0]["details"]["detail"], "open_before_agent", "why")
    finally:
        srv.stop()
        a.cleanup()


def test_agent_killed_and_restarted():
    """kill -9 of the agent with a keep-alive connection open: what was in
    the log stays; requests while no agent runs are not seen (wire capture
    is not pinned) and the successor's agent_start says for how long; after
    the restart every request is recorded again, on the old connection
    (resynchronised, reported once) and on a new one; the log verifies."""
    srv = python_server()
    a = agent_for("wire-k9", srv)
    try:
        a.start()
        c1 = Conn(srv.port)
        before = []
        for i in range(50):
            c1.send("POST", "/score", body_of(i))
            before.append((body_of(i), c1.read()[1]))
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 50, what="50 records")
        a.kill9()
        for i in range(50, 70):          # no agent: not seen
            c1.send("POST", "/score", body_of(i))
            c1.read()
        a.start()
        after = []
        c2 = Conn(srv.port)
        for i in range(70, 100):
            for c in (c1, c2):
                b = body_of(i if c is c1 else i + 1000)
                c.send("POST", "/score", b)
                after.append((b, c.read()[1]))
        c1.close()
        c2.close()
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 110, what="110 records")
        time.sleep(0.3)
        eq(a.stop(), 0, "agent exit")
        check_records(a, before + after)
        starts = a.of_type("agent_start")
        eq(len(starts), 2, "agent_start records")
        eq("away_ms" in starts[1]["details"], True, "the successor says how long none ran")
        resynced = [r for r in a.of_type("inference", "decision") if r["details"].get("resynced")]
        eq(len(resynced), 1, "one resynchronised record (the old connection's first)")
        eq(resynced[0]["input_hash"], a.ref(body_of(70)), "resynchronised at the next request")
        notes = [r for r in a.of_type("loss") if r["details"]["reason"] == "wire_resync"]
        eq([r["details"]["detail"] for r in notes], ["open_before_agent"], "one resync report")
        eq(a.verify().returncode, 0, "verify")
    finally:
        srv.stop()
        a.cleanup()


def test_tls_python_ssl_server():
    """The same through Python's ssl module (OpenSSL): SSL_read_ex/SSL_write_ex."""
    d = tempfile.mkdtemp(prefix="st-e2e-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    srv = Server(["python3", os.path.join(SERVERS, "scoring_http.py"), str(free_port()),
                  "--tls", cert, key])
    a = agent_for("wire-tls", srv)
    try:
        a.start()
        pairs = run_load(srv.port, [(1, 100, 1), (8, 25, 1), (1, 50, 5)], tls=True)
        eq(len(pairs), 350, "requests answered")
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 350, timeout=60,
                 what="350 records")
        time.sleep(0.5)
        eq(a.stop(), 0, "agent exit")
        eq(len(a.of_type("loss")), 0, "loss records")
        check_records(a, pairs)
        eq({r["details"].get("tls") for r in a.of_type("inference", "decision")}, {True},
           "every record says tls")
    finally:
        srv.stop()
        a.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def test_openai_preset():
    """preset: openai: the paths, and model/token counts/finish reason in clear."""
    srv = python_server()
    targets = ("  - name: llm\n    exe: %s\n    pid: %d\n    http:\n"
               "      ports: [%d]\n      preset: openai\n") % (srv.exe, srv.pid, srv.port)
    a = Agent("wire-openai", targets)
    try:
        a.start()
        sent = []
        for i in range(12):
            req = {"model": "llm-7b", "stream": i % 4 == 3, "user": "u-%d" % i,
                   "messages": [{"role": "user", "content": "hello there number %d" % i}]}
            body = json.dumps(req).encode()
            _, resp = one(a, srv.port, "POST", "/v1/chat/completions", body)
            sent.append((req, body, resp))
        one(a, srv.port, "POST", "/score", body_of(1))     # not an OpenAI path
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 12, what="records")
        time.sleep(0.3)
        eq(a.stop(), 0, "agent exit")
        recs = {r["input_hash"]: r for r in a.of_type("inference", "decision")}
        eq(len(recs), 12, "inference records (no /score)")
        for req, body, resp in sent:
            r = recs[a.ref(body)]
            eq(r["output_reference"], a.ref(resp), "output_reference")
            eq(r["probe"], "llm:http", "probe")
            if req["stream"]:
                eq(r["decision"], {"request_model": "llm-7b", "stream": True}, "stream decision")
                eq(r["details"]["streamed"], True, "streamed")
                eq(r["details"]["decision_missing"],
                   "model_version,prompt_tokens,completion_tokens,finish_reason", "missing")
                continue
            got = json.loads(resp)
            eq(r["decision"], {"model_version": "llm-7b-v2", "request_model": "llm-7b",
                               "prompt_tokens": got["usage"]["prompt_tokens"],
                               "completion_tokens": got["usage"]["completion_tokens"],
                               "finish_reason": "stop", "stream": False}, "decision")
            eq(r["model_version"], "llm-7b-v2", "model_version from the server")
            eq("hello" in json.dumps(r), False, "prompt in clear")
    finally:
        srv.stop()
        a.cleanup()


def test_ring_full_is_counted():
    """A ring far too small for 256 KiB responses: every request is either a
    record (inference, or incomplete with capture_gap) or in a loss count."""
    srv = python_server()
    a = agent_for("wire-full", srv, extra_http="      ringbuf_bytes: 16384\n",
                  paths='["/big"]')
    n = 40
    try:
        a.start()
        for _ in range(n):
            st, resp = one(a, srv.port, "POST", "/big", b'{"bytes": 262144}')
            eq((st, len(resp)), (200, 262144), "response")
        time.sleep(2.5)                # a tick writes the kernel's counts
        eq(a.stop(), 0, "agent exit")
        recs = a.of_type("inference", "decision") + a.of_type("incomplete", "decision")
        losses = [r for r in a.of_type("loss") if r["probe"] == "wire"]
        lost = sum(r["details"]["count"] for r in losses)
        eq(len(losses) > 0, True, "the ring overflowed (loss records)")
        eq(sum(r["details"]["events"] for r in losses) > 0, True, "events lost")
        eq(len(recs) + lost, n, "records + requests counted lost")
        for r in a.of_type("incomplete", "decision"):
            eq(r["details"]["reason"], "capture_gap", "why incomplete")
        # the last status snapshot says what the log says
        with open(os.path.join(a.state, "agent", "status.json")) as f:
            w = json.load(f)["wire"]
        eq((w["recorded"], w["incomplete"], w["requests_lost"], w["events_lost"],
            w["bytes_lost"], w["ringbuf_size"]),
           (len(a.of_type("inference", "decision")), len(a.of_type("incomplete", "decision")),
            lost, sum(r["details"]["events"] for r in losses),
            sum(r["details"]["bytes"] for r in losses), 16384), "status.json wire section")
        eq(a.verify().returncode, 0, "verify")
    finally:
        srv.stop()
        a.cleanup()


def test_http2_reported_and_sendfile_counted():
    """An HTTP/2 preface is reported once for its connection, never parsed;
    a body sent with sendfile() is counted and flagged."""
    srv = python_server()
    a = agent_for("wire-h2", srv, paths='["/file"]')
    try:
        a.start()
        c = socket.create_connection(("127.0.0.1", srv.port))
        c.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 64)
        c.settimeout(5)
        try:
            c.recv(4096)
        except OSError:
            pass
        c.close()
        st, body = one(a, srv.port, "POST", "/file", b"")
        eq(st, 200, "file status")
        wait_for(lambda: len(a.of_type("inference", "decision")) >= 1, what="record")
        time.sleep(0.3)
        eq(a.stop(), 0, "agent exit")
        notes = [r for r in a.of_type("loss") if r["details"]["reason"] == "wire_http2"]
        eq(len(notes), 1, "one http2 report")
        recs = a.of_type("inference", "decision")
        eq(len(recs), 1, "only the /file exchange is a record")
        r = recs[0]
        eq((r["details"]["path"], r["details"]["sendfile_bytes"]), ("/file", len(body)),
           "sendfile counted")
        eq(r["output_len"], len(body), "full length")
        eq(r["details"]["output_truncated"], True, "flagged: the HMAC does not cover it")
    finally:
        srv.stop()
        a.cleanup()


def test_kserve_and_open_inference_presets():
    srv = python_server()
    try:
        _presets_one_by_one(srv)
    finally:
        srv.stop()


def _presets_one_by_one(srv):
    """Each preset on its own agent (one process: the first target would win)."""
    for preset, path, body in (
            ("kserve-v1", "/v1/models/credit:predict", b'{"instances": [[1, 2, 3]]}'),
            ("open-inference", "/v2/models/credit/infer",
             b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]}')):
        t = "  - name: m\n    exe: %s\n    pid: %d\n    http: {ports: [%d], preset: %s}\n" % (
            srv.exe, srv.pid, srv.port, preset)
        a = Agent("wire-" + preset, t)
        try:
            a.start()
            _, resp = one(a, srv.port, "POST", path, body)
            one(a, srv.port, "POST", "/score", body_of(1))      # not this protocol's path
            wait_for(lambda: len(a.of_type("inference", "decision")) >= 1, what="record")
            time.sleep(0.3)
            eq(a.stop(), 0, "agent exit")
            recs = a.of_type("inference", "decision")
            eq(len(recs), 1, "%s records" % preset)
            got = json.loads(resp)
            if preset == "kserve-v1":
                eq(recs[0]["decision"], {"prediction": got["predictions"][0]}, "prediction")
            else:
                eq(recs[0]["decision"], {"model_name": "credit", "model_version": "3",
                                         "output0_name": "probability",
                                         "output0": got["outputs"][0]["data"][0]}, "outputs")
                eq(recs[0]["model_version"], "3", "model_version reported by the server")
            eq(recs[0]["input_hash"], a.ref(body), "input_hash")
        finally:
            a.cleanup()


def lifecycle_links():
    """Names of the lifecycle openat and page-cache programs attached now."""
    progs = {p["id"]: p.get("name", "") for p in json.loads(
        subprocess.run(["bpftool", "-j", "prog", "show"], check=True,
                       capture_output=True, text=True).stdout)}
    links = json.loads(subprocess.run(["bpftool", "-j", "link", "show"], check=True,
                                      capture_output=True, text=True).stdout)
    return sorted(progs.get(lk.get("prog_id"), "") for lk in links
                  if progs.get(lk.get("prog_id"), "").startswith(("lc_openat", "lc_file")))


def test_no_syscall_tracepoint_for_model_hashing():
    """Model hashing (the default) attaches the page cache's tracepoints,
    never a syscall tracepoint (which would put every task on the syscall
    slow path); model_globs: [] (and no library watch) attaches neither;
    model_detection: openat the openat programs only."""
    srv = python_server()
    before = lifecycle_links()
    try:
        for extra, want in (("model_globs: []\n", []),
                            ("", ["lc_file_fault", "lc_file_map", "lc_file_read"]),
                            # a kernel before 6.10 (auto), or chosen: openat, not the page cache
                            ("model_detection: openat\n", ["lc_openat_enter", "lc_openat_exit"])):
            a = agent_for("wire-openat", srv, extra=extra)
            try:
                a.start()
                c = Conn(srv.port)
                c.send("POST", "/score", body_of(1))
                c.read()
                c.close()
                wait_for(lambda: len(a.of_type("inference", "decision")) >= 1, what="record")
                now = lifecycle_links()
                for name in before:     # another agent's, if any
                    now.remove(name)
                eq(now, want, "lifecycle programs attached")
                eq(a.stop(), 0, "agent exit")
                eq(len(a.of_type("inference", "decision")), 1, "records")
            finally:
                a.cleanup()
    finally:
        srv.stop()
