#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench, part "shipping": rows/s into PostgreSQL from one shipper and
from three in parallel, bytes per record in the database, and the CPU the
shipper adds on the node (its own user+sys seconds per 1,000 records).

A PostgreSQL cluster of its own on this machine (tests/e2e/pgcluster.py:
TLS verify-full over 127.0.0.1), logs from build/tools/gen_log. The
database and the shippers share this machine's cores: on a separate
database server the shipper's figure stays, the rows/s are the database's.

usage: bench/ship.py [--records N]   (per node, default 100000)
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from pgcluster import Cluster  # noqa: E402

SEALTRACE = os.path.join(ROOT, "build", "sealtrace")
GEN_LOG = os.path.join(ROOT, "build", "tools", "gen_log")


def sh(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def node(base, pg, i, records):
    d = os.path.join(base, "node-%d" % i)
    os.makedirs(d)
    sh([SEALTRACE, "keygen", "--dir", d + "/keys"])
    sh([GEN_LOG, "--state-dir", d + "/st", "--keys-dir", d + "/keys", "--records",
        str(records), "--node-id", "node-%d" % i, "--seed", str(i)])
    pg.login("node%d" % i, "pw%d" % i, "sealtrace_shipper")
    cfg = d + "/ship.yaml"
    with open(cfg, "w") as f:
        f.write('state_dir: %s/st\ndsn: "%s"\n' % (d, pg.tls_dsn("node%d" % i, "pw%d" % i)))
    return cfg


def rows(pg):
    return int(pg.psql("SELECT count(*) FROM sealtrace.records").stdout)


def ship(cfgs):
    """Run shippers in parallel; (wall s, CPU s of all of them)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = [subprocess.Popen([SEALTRACE, "ship", "--config", c, "--once"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in cfgs]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit("ship failed: %s" % err.decode())
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100000)
    a = ap.parse_args()
    pg = Cluster()
    base = tempfile.mkdtemp(prefix="st-bench-ship-")
    try:
        sh([SEALTRACE, "db", "init", "--dsn", pg.owner_dsn()])
        cfgs = [node(base, pg, i, a.records) for i in (1, 2, 3, 4)]
        wall1, cpu1 = ship(cfgs[:1])
        n1 = rows(pg)
        wall3, cpu3 = ship(cfgs[1:])                # three nodes at once
        n3 = rows(pg) - n1
        size = int(pg.psql(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c"
            " ON c.oid = i.inhrelid WHERE i.inhparent = 'sealtrace.records'::regclass").stdout)
        keys = int(pg.psql("SELECT pg_total_relation_size('sealtrace.record_keys')").stdout)
        lines = int(pg.psql("SELECT sum(octet_length(line)) FROM sealtrace.records").stdout)
        total = rows(pg)
        print("ship: one shipper: %d rows in %.1f s = %.0f rows/s; shipper CPU %.2f s"
              " = %.1f ms per 1,000 records" % (n1, wall1, n1 / wall1, cpu1, 1e6 * cpu1 / n1))
        print("ship: three shippers in parallel: %d rows in %.1f s = %.0f rows/s;"
              " CPU %.1f ms per 1,000 records" % (n3, wall3, n3 / wall3, 1e6 * cpu3 / n3))
        print("ship: load average during the run: %.1f" % os.getloadavg()[0])
        print("ship: database: %.0f bytes per record (records with indexes %.0f, record_keys"
              " %.0f; the canonical line itself %.0f)" % ((size + keys) / total, size / total,
                                                          keys / total, lines / total))
    finally:
        pg.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
