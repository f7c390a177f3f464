"""sealtrace ship into a real PostgreSQL (pgcluster.py), logs from gen_log.

Three nodes, 200,000 generated events in total, three shippers at once:
exactly one row per local record. The database stopped for 60 s while the
log grows, then started: everything arrives, nothing twice. A shipper
killed with -9 mid-run and restarted: nothing lost, nothing twice. A node
whose log differs from what the database holds: the fork is refused,
reported and recorded. Retention keeps segments not yet shipped.
"""
import gzip
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import BUILD, ROOT, SEALTRACE, eq, run, wait_for
from pgcluster import Cluster

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")
OUTAGE_S = int(os.environ.get("ST_E2E_PG_OUTAGE_S", "60"))


def local_lines(state):
    n = 0
    for stream in ("decision", "system"):
        d = os.path.join(state, stream)
        for name in sorted(os.listdir(d)):
            if name.endswith(".seg"):
                with gzip.open(os.path.join(d, name), "rb") as f:
                    n += sum(1 for _ in f)
    return n


class Node:
    def __init__(self, base, name, pg, user, seed=1):
        self.dir = os.path.join(base, name)
        self.keys = os.path.join(self.dir, "keys")
        self.state = os.path.join(self.dir, "st")
        self.name = name
        self.seed = seed
        os.makedirs(self.dir)
        run([SEALTRACE, "keygen", "--dir", self.keys])
        pg.login(user, user + "-pw", "sealtrace_shipper")
        self.config = os.path.join(self.dir, "ship.yaml")
        with open(self.config, "w") as f:
            f.write('state_dir: %s\ndsn: "%s"\nbatch_records: 2000\npoll_ms: 200\n'
                    'retry_max_ms: 2000\n' % (self.state, pg.tls_dsn(user, user + "-pw")))

    def gen(self, records, start="2026-01-01T00:00:00Z", extra=(), model="llama-3-8b-q4"):
        run([GEN_LOG, "--state-dir", self.state, "--keys-dir", self.keys, "--records",
             str(records), "--node-id", self.name, "--seed", str(self.seed),
             "--start", start, "--ckpt-records", "5000", "--model-version", model]
            + list(extra))

    def ship_once(self, check=True):
        p = subprocess.run([SEALTRACE, "ship", "--config", self.config, "--once"],
                           capture_output=True, text=True)
        if check and p.returncode:
            raise AssertionError("ship --once: %d %s" % (p.returncode, p.stderr))
        return p

    def ship_bg(self):
        return subprocess.Popen([SEALTRACE, "ship", "--config", self.config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def local_records(state, stream="decision"):
    d, out = os.path.join(state, stream), []
    for name in sorted(os.listdir(d)):
        if name.endswith(".seg"):
            with gzip.open(os.path.join(d, name), "rb") as f:
                out += [json.loads(l) for l in f]
    return out


def bundle_records(path):
    with open(path) as f:
        return [json.loads(l) for l in f if not l.startswith('{"export"')]


def rows(pg, node=None):
    where = " WHERE node_id = '%s'" % node if node else ""
    return int(pg.psql("SELECT count(*) FROM sealtrace.records" + where).stdout)


def distinct_rows(pg):
    return int(pg.psql("SELECT count(DISTINCT (origin, stream, seq)) FROM sealtrace.records").stdout)


def setup():
    pg = Cluster()
    run([SEALTRACE, "db", "init", "--dsn", pg.owner_dsn()])
    return pg, tempfile.mkdtemp(prefix="st-e2e-ship-")


def test_ship_three_nodes_200k():
    pg, base = setup()
    try:
        nodes = [Node(base, "node-%d" % i, pg, "node%d" % i, seed=i) for i in (1, 2, 3)]
        per = [66667, 66667, 66666]
        for n, k in zip(nodes, per):
            n.gen(k * 3 // 5, model="model-a")
            n.gen(k - k * 3 // 5, start="2026-02-01T00:00:00Z", model="model-b")
        eq(sum(per), 200000, "events generated")
        expected = sum(local_lines(n.state) for n in nodes)
        procs = [subprocess.Popen([SEALTRACE, "ship", "--config", n.config, "--once"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in nodes]
        for p in procs:
            out, errs = p.communicate(timeout=900)
            eq(p.returncode, 0, "shipper: " + errs)
        eq(rows(pg), expected, "one row per local record (%d)" % expected)
        eq(distinct_rows(pg), expected, "no (origin, stream, seq) twice")
        for n in nodes:
            eq(rows(pg, n.name), local_lines(n.state), "rows of " + n.name)
        # every generated decision event: gen_log makes one system event per
        # 1000, the rest decisions
        dec = int(pg.psql("SELECT count(*) FROM sealtrace.records WHERE stream = 'decision'").stdout)
        eq(dec, sum(len(local_records(n.state)) for n in nodes), "decision rows")
        # idempotent: a second run adds nothing
        for n in nodes:
            n.ship_once()
        eq(rows(pg), expected, "second run adds nothing")
        # the mark the agent's retention reads
        with open(os.path.join(nodes[0].state, "shipped", "decision")) as f:
            eq(int(f.read()), per[0] - per[0] // 1000, "shipped mark")
        # checkpoints arrived with the records
        ck = int(pg.psql("SELECT count(*) FROM sealtrace.checkpoints").stdout)
        eq(ck >= 3 * 2 * 13, True, "checkpoints shipped (%d)" % ck)

        # the database on its own: chains, hashes, roots, signatures
        pg.login("auditor", "a-pw", "sealtrace_reader")
        reader = pg.tls_dsn("auditor", "a-pw")
        r = subprocess.run([SEALTRACE, "verify", "--db", reader, "--quiet"], capture_output=True,
                           text=True)
        eq(r.returncode, 0, "verify --db: " + r.stdout + r.stderr)
        eq("%d rows" % expected in r.stdout, True, r.stdout)
        # export by model version: exactly the matching records, verifiable
        out = os.path.join(base, "export")
        r = subprocess.run([SEALTRACE, "export", "--db", reader, "--model-version", "model-b",
                            "--out-dir", out], capture_output=True, text=True)
        eq(r.returncode, 0, "export --db: " + r.stderr)
        for n in nodes:
            want = sorted(x["event_id"] for x in local_records(n.state)
                          if x["model_version"] == "model-b")
            path = os.path.join(out, "sealtrace_credit-scoring_%s.jsonl" % n.name)
            got = sorted(x["event_id"] for x in bundle_records(path))
            eq(len(got), len(want), "model-b records of " + n.name)
            eq(got == want, True, "the same records")
            v = subprocess.run(["python3", os.path.join(ROOT, "tools", "verify_export.py"), path,
                                os.path.join(n.keys, "signing.pub")], capture_output=True,
                               text=True)
            eq(v.returncode, 0, "verify_export.py: " + v.stdout)
        # one node's, to stdout
        r = subprocess.run([SEALTRACE, "export", "--db", reader, "--model-version", "model-a",
                            "--node", "node-2"], capture_output=True, text=True)
        eq(r.returncode, 0, "export --db one node: " + r.stderr)
        got = [json.loads(l) for l in r.stdout.splitlines() if not l.startswith('{"export"')]
        eq(len(got), sum(1 for x in local_records(nodes[1].state)
                         if x["model_version"] == "model-a"), "model-a of node-2")
        # a row changed behind the triggers (owner drops them): verify --db fails
        pg.psql("ALTER TABLE sealtrace.records DISABLE TRIGGER USER;"
                "UPDATE sealtrace.records SET line = replace(line, 'model-b', 'model-c')"
                " WHERE node_id = 'node-3' AND seq = 50000 AND stream = 'decision'")
        r = subprocess.run([SEALTRACE, "verify", "--db", reader, "--quiet"], capture_output=True,
                           text=True)
        eq(r.returncode, 1, "verify --db after an edit: " + r.stdout)
        eq("seq 50000" in r.stdout, True, r.stdout)
    finally:
        pg.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_ship_database_outage_and_kill9():
    pg, base = setup()
    try:
        n = Node(base, "node-1", pg, "node1")
        n.gen(20000)
        p = n.ship_bg()
        try:
            wait_for(lambda: rows(pg) == local_lines(n.state), timeout=300,
                     what="first 20,000 shipped")
            pg.stop()
            t0 = time.time()
            n.gen(20000, start="2026-02-01T00:00:00Z")     # capture goes on
            time.sleep(max(0, OUTAGE_S - (time.time() - t0)))
            eq(p.poll(), None, "shipper survives the outage")
            pg.start()
            wait_for(lambda: rows(pg) == local_lines(n.state), timeout=300,
                     what="records written during the outage shipped")
        finally:
            p.send_signal(signal.SIGTERM)
            _, errs = p.communicate(timeout=60)
        eq(p.returncode, 0, "SIGTERM: exit 0")
        eq("retrying" in errs and "reachable again" in errs, True, errs)
        eq(distinct_rows(pg), rows(pg), "nothing twice after the outage")

        # kill -9 while shipping, then restart
        n.gen(60000, start="2026-03-01T00:00:00Z")
        expected = local_lines(n.state)
        before = rows(pg)
        p = n.ship_bg()
        wait_for(lambda: rows(pg) > before + 4000, timeout=300, what="shipping under way")
        p.send_signal(signal.SIGKILL)
        p.wait()
        mid = rows(pg)
        eq(mid < expected, True, "killed mid-run (%d of %d)" % (mid, expected))
        n.ship_once()
        eq(rows(pg), expected, "nothing lost after kill -9")
        eq(distinct_rows(pg), expected, "nothing twice after kill -9")
    finally:
        pg.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_ship_fork_refused_and_retention_waits():
    pg, base = setup()
    try:
        n = Node(base, "node-1", pg, "node1")
        n.gen(9000)
        n.ship_once()
        shipped = rows(pg)
        # the node's log replaced by another one under the same origin and
        # key (truncated and rewritten): same seqs, other records
        shutil.rmtree(n.state)
        n.seed = 99
        n.gen(12000)
        r = n.ship_once(check=False)
        eq(r.returncode, 1, "fork: exit 1 (%s)" % r.stderr)
        eq("FORK" in r.stderr, True, r.stderr)
        forks = pg.psql("SELECT origin, stream, kind FROM sealtrace.forks").stdout.strip()
        eq("sealtrace/credit-scoring/node-1|" in forks, True, "fork recorded: " + forks)
        eq(rows(pg), shipped, "nothing of the forked log shipped")

        # retention: with shipping configured, unshipped segments stay
        m = Node(base, "node-2", pg, "node2")
        m.gen(30000, start="2020-01-01T00:00:00Z",
              extra=["--seg-records", "2000"])
        os.makedirs(os.path.join(m.state, "shipped"))
        segs = len(os.listdir(os.path.join(m.state, "decision")))
        m.gen(0, extra=["--retain-decision-days", "30"])
        eq(len(os.listdir(os.path.join(m.state, "decision"))), segs,
           "no unshipped segment purged")
        m.ship_once()
        m.gen(0, extra=["--retain-decision-days", "30"])
        eq(len(os.listdir(os.path.join(m.state, "decision"))) < segs, True,
           "shipped segments purged")
        r = subprocess.run([SEALTRACE, "verify", "--state-dir", m.state, "--quiet"],
                           capture_output=True, text=True)
        eq(r.returncode, 0, "log still verifies after the purge: " + r.stdout)
    finally:
        pg.destroy()
        shutil.rmtree(base, ignore_errors=True)
