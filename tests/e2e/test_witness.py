"""The witness (sealtrace witness) with the shipper, on a real PostgreSQL.

A node's heads are cosigned as its log grows (consistency proofs checked);
verify --witness-key passes. Then the log is truncated and re-signed with
the node's own key: the witness answers 409, the shipper reports it and
counts it in metrics.prom, verify --witness-key fails. A log rewritten
under the same key (same origin, other records) gets 422. Registration is
audited; an unregistered log gets 404.
"""
import os
import shutil
import signal
import subprocess
import tempfile

from harness import BUILD, SEALTRACE, eq, run, wait_for
from pgcluster import Cluster, free_port

GEN_LOG = os.path.join(BUILD, "tools", "gen_log")


def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def metric(state, name):
    with open(os.path.join(state, "shipped", "metrics.prom")) as f:
        for line in f:
            if line.startswith(name + " "):
                return int(line.split()[1])
    raise AssertionError("no metric " + name)


def test_witness_cosigns_and_refuses():
    pg = Cluster()
    base = tempfile.mkdtemp(prefix="st-e2e-witness-")
    wproc = None
    try:
        owner = pg.owner_dsn()
        run([SEALTRACE, "db", "init", "--dsn", owner])
        pg.login("witness1", "w-pw", "sealtrace_witness")
        pg.login("node1", "n-pw", "sealtrace_shipper")
        wdir = os.path.join(base, "wkeys")
        out = run([SEALTRACE, "witness", "keygen", "--dir", wdir, "--name",
                   "witness.example/w1"]).stdout
        eq("witness.vkey" in out, True, out)
        wvkey = os.path.join(wdir, "witness.vkey")
        port = free_port()
        wproc = subprocess.Popen([SEALTRACE, "witness", "serve", "--dsn",
                                  pg.tls_dsn("witness1", "w-pw"), "--dir", wdir, "--port",
                                  str(port)], stderr=subprocess.PIPE, text=True)
        url = "http://127.0.0.1:%d/add-checkpoint" % port
        line = wproc.stderr.readline()
        eq("listening on port %d" % port in line, True, "witness up: " + line)

        keys, state = os.path.join(base, "keys"), os.path.join(base, "st")
        run([SEALTRACE, "keygen", "--dir", keys, "--system-id", "credit-scoring",
             "--node-id", "node-1"])

        def gen(records, seed=1, state=state):
            run([GEN_LOG, "--state-dir", state, "--keys-dir", keys, "--records",
                 str(records), "--seed", str(seed), "--ckpt-records", "1000",
                 "--seg-records", "1500"])

        cfg = os.path.join(base, "ship.yaml")
        with open(cfg, "w") as f:
            f.write('state_dir: %s\ndsn: "%s"\nwitness_url: %s\n'
                    % (state, pg.tls_dsn("node1", "n-pw"), url))
        gen(5000)
        # not registered yet: 404, counted as a refusal
        r = sh([SEALTRACE, "ship", "--config", cfg, "--once"])
        eq(r.returncode, 1, "unregistered: exit 1 (%s)" % r.stderr)
        eq("HTTP 404" in r.stderr, True, r.stderr)
        r = sh([SEALTRACE, "witness", "register", "--dsn", owner, "--vkey",
                os.path.join(keys, "signing.vkey"), "--actor", "ops:alice"])
        eq(r.returncode, 0, "register: " + r.stderr)
        audit = pg.psql("SELECT action, origin, actor FROM sealtrace.witness_audit"
                        " WHERE action = 'register'").stdout.strip()
        eq(audit, "register|sealtrace/credit-scoring/node-1|ops:alice", "registration audited")

        run([SEALTRACE, "ship", "--config", cfg, "--once"])
        for s in ("decision", "system"):
            eq(os.path.exists(os.path.join(state, "shipped", s + ".cosigned")), True,
               s + " head cosigned")
        r = sh([SEALTRACE, "verify", "--state-dir", state, "--witness-key", wvkey, "--quiet"])
        eq(r.returncode, 0, "verify --witness-key: " + r.stdout + r.stderr)
        first = int(pg.psql("SELECT size FROM sealtrace.witness_state WHERE origin ="
                            " 'sealtrace/credit-scoring/node-1/decision'").stdout)
        # the log grows: the next head is cosigned with a consistency proof
        gen(4000)
        run([SEALTRACE, "ship", "--config", cfg, "--once"])
        second = int(pg.psql("SELECT size FROM sealtrace.witness_state WHERE origin ="
                             " 'sealtrace/credit-scoring/node-1/decision'").stdout)
        eq(second > first, True, "witness moved from %d to %d" % (first, second))
        cos = int(pg.psql("SELECT count(*) FROM sealtrace.cosignatures"
                          " WHERE witness = 'witness.example/w1'").stdout)
        eq(cos >= 4, True, "cosignatures in the database (%d)" % cos)
        eq(sh([SEALTRACE, "verify", "--state-dir", state, "--witness-key", wvkey,
               "--quiet"]).returncode, 0, "verify after growth")
        eq(metric(state, "sealtrace_witness_refusals_total"), 0, "no refusal yet")

        # truncate the decision stream and re-sign it with the node's key:
        # drop the newest segments and the signed head; reopening the log
        # signs what is left, with the node's own key
        d = os.path.join(state, "decision")
        segs = sorted(n for n in os.listdir(d) if n.endswith(".seg"))
        for n in segs[-3:]:
            os.unlink(os.path.join(d, n))
        for n in ("checkpoint", "resume"):
            if os.path.exists(os.path.join(d, n)):
                os.unlink(os.path.join(d, n))
        # a thorough attacker removes the local cosigned copy too
        os.unlink(os.path.join(state, "shipped", "decision.cosigned"))
        gen(0)
        r = sh([SEALTRACE, "verify", "--state-dir", state, "--quiet", "--pubkey",
                os.path.join(keys, "signing.pub")])
        r = sh([SEALTRACE, "ship", "--config", cfg, "--once"])
        eq(r.returncode, 1, "witness refusal: exit 1")
        eq("WITNESS REFUSED" in r.stderr and "409" in r.stderr, True, r.stderr)
        eq(metric(state, "sealtrace_witness_refusals_total") >= 1, True, "metric counts it")
        refused = pg.psql("SELECT count(*) FROM sealtrace.witness_audit WHERE action = 'refused'"
                          " AND detail LIKE '409:%'").stdout.strip()
        eq(refused != "0", True, "the witness audited the 409")
        eq(int(pg.psql("SELECT size FROM sealtrace.witness_state WHERE origin ="
                       " 'sealtrace/credit-scoring/node-1/decision'").stdout), second,
           "the witness kept its state")
        r = sh([SEALTRACE, "verify", "--state-dir", state, "--witness-key", wvkey, "--quiet"])
        eq(r.returncode, 1, "verify --witness-key fails after truncation: " + r.stdout)

        # a log rewritten under the same key and origin, longer than what
        # the witness holds: the proof from the witness's size fails (422)
        state2 = os.path.join(base, "st2")
        gen(20000, seed=7, state=state2)
        cfg2 = os.path.join(base, "ship2.yaml")
        with open(cfg2, "w") as f:
            f.write('state_dir: %s\ndsn: "%s"\nwitness_url: %s\n'
                    % (state2, pg.tls_dsn("node1", "n-pw"), url))
        r = sh([SEALTRACE, "ship", "--config", cfg2, "--once"])
        eq(r.returncode, 1, "rewritten log refused")
        eq("422" in r.stderr, True, r.stderr)
    finally:
        if wproc:
            wproc.send_signal(signal.SIGTERM)
            wproc.communicate(timeout=30)
        pg.destroy()
        shutil.rmtree(base, ignore_errors=True)
