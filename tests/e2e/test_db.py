"""sealtrace db init|migrate|status against a real PostgreSQL (pgcluster.py):
the schema's version, TLS with verify-full, and append-only enforced by the
database: the shipper role can INSERT and SELECT only, a trigger refuses
UPDATE, DELETE and TRUNCATE even from the owner, and purging is a separate
role whose every purge leaves an audit row.
"""
import subprocess

from harness import SEALTRACE, eq
from pgcluster import Cluster

LINE_HASH = "'\\x" + "ab" * 32 + "'::bytea"


def db(action, dsn):
    return subprocess.run([SEALTRACE, "db", action, "--dsn", dsn], capture_output=True,
                          text=True)


def insert_sql(seq, ts, pseudonym="hmac-sha256:k1:" + "0" * 64):
    return ("SELECT sealtrace.ensure_partition('%s');"
            "INSERT INTO sealtrace.record_keys VALUES ('sealtrace/s/n1', 'decision', %d, %s, '%s');"
            "INSERT INTO sealtrace.records (origin, stream, seq, ts, system_id, node_id, event_id,"
            " event_type, model_version, decision, pseudonyms, line_hash, line) VALUES"
            " ('sealtrace/s/n1', 'decision', %d, '%s', 's', 'n1', gen_random_uuid(), 'inference',"
            " 'v1', '{\"job\": \"J-7\"}', ARRAY['%s'], %s, '{}')"
            % (ts, seq, LINE_HASH, ts, seq, ts, pseudonym, LINE_HASH))


def test_db_schema_roles_and_append_only():
    pg = Cluster()
    try:
        owner = pg.owner_dsn()
        r = db("status", owner)
        eq(r.returncode, 1, "status before init: behind (%s)" % r.stdout)
        r = db("migrate", owner)
        eq(r.returncode, 2, "migrate on an empty database: %s" % r.stderr)
        r = db("init", owner)
        eq(r.returncode, 0, "init: " + r.stdout + r.stderr)
        eq("schema version 0 -> 2" in r.stdout, True, r.stdout)
        eq(db("init", owner).returncode, 2, "init twice")
        r = db("migrate", owner)
        eq((r.returncode, "up to date" in r.stdout), (0, True), "migrate: " + r.stdout)
        eq(db("status", owner).returncode, 0, "status after init")
        eq(pg.psql("SELECT version FROM sealtrace.schema_version ORDER BY 1").stdout.split(),
           ["1", "2"], "schema_version rows")

        pg.login("node1", "node1-pw", "sealtrace_shipper")
        pg.login("purger", "purger-pw", "sealtrace_purge")
        ship = pg.tls_dsn("node1", "node1-pw")
        # TLS with verify-full against the test CA; another CA is refused,
        # and so is TCP without TLS
        r = db("status", ship)
        eq(r.returncode, 0, "shipper over TLS verify-full: " + r.stderr)
        r = db("status", pg.tls_dsn("node1", "node1-pw", ca=pg.tls + "/other-ca.pem"))
        eq(r.returncode, 3, "verify-full with another CA: exit 3")
        eq("certificate verify failed" in r.stderr, True, r.stderr)
        r = db("status", "host=127.0.0.1 port=%d dbname=audit user=node1 password=node1-pw "
               "sslmode=disable" % pg.port)
        eq(r.returncode, 3, "TCP without TLS is rejected")

        # the shipper: INSERT and SELECT (partition made on demand)
        pg.psql_dsn(ship, insert_sql(0, "2026-01-15T10:00:00Z"))
        pg.psql_dsn(ship, insert_sql(1, "2026-02-15T10:00:00Z"))
        eq(pg.psql_dsn(ship, "SELECT count(*) FROM sealtrace.records").stdout.strip(), "2",
           "rows visible to the shipper")
        # a second row with the same (origin, stream, seq) is refused
        r = pg.psql_dsn(ship, insert_sql(1, "2026-02-15T10:00:00Z"), check=False)
        eq(r.returncode != 0 and "duplicate key" in r.stderr, True, "unique seq: " + r.stderr)
        # ... but not UPDATE, DELETE, TRUNCATE, DROP
        for sql in ("UPDATE sealtrace.records SET line = 'x'",
                    "DELETE FROM sealtrace.records",
                    "DELETE FROM sealtrace.record_keys",
                    "TRUNCATE sealtrace.records",
                    "DROP TABLE sealtrace.records_202601",
                    "SELECT sealtrace.purge_before(now(), 'shipper tries')"):
            r = pg.psql_dsn(ship, sql, check=False)
            eq(r.returncode != 0 and ("permission denied" in r.stderr or
                                      "must be owner" in r.stderr), True,
               "shipper refused %r: %s" % (sql, r.stderr))
        # the owner is refused by the trigger
        for sql in ("UPDATE sealtrace.records SET line = 'x'",
                    "DELETE FROM sealtrace.records WHERE seq = 0",
                    "DELETE FROM sealtrace.checkpoints",
                    "TRUNCATE sealtrace.record_keys",
                    "UPDATE sealtrace.purges SET reason = 'x'"):
            r = pg.psql(sql, check=False)
            eq(r.returncode != 0 and "append-only" in r.stderr, True,
               "owner refused %r: %s" % (sql, r.stderr))
        eq(pg.psql("SELECT count(*) FROM sealtrace.records").stdout.strip(), "2", "rows kept")

        # the seed questions have their indexes
        plan = pg.psql("SET enable_seqscan = off; EXPLAIN SELECT line FROM sealtrace.records"
                       " WHERE pseudonyms @> ARRAY['hmac-sha256:k1:" + "0" * 64 + "']").stdout
        eq("records_pseudonyms" in plan or "pseudonyms_idx" in plan, True, plan)
        plan = pg.psql("SET enable_seqscan = off; EXPLAIN SELECT line FROM sealtrace.records"
                       " WHERE system_id = 's' AND event_type = 'inference' AND"
                       " decision @> '{\"job\": \"J-7\"}' AND ts > '2025-12-01'::timestamptz"
                       " ORDER BY model_version").stdout
        eq("Index" in plan, True, plan)

        # purging: a separate role, whole months, an audit row each
        purge = pg.tls_dsn("purger", "purger-pw")
        r = pg.psql_dsn(purge, "DELETE FROM sealtrace.records", check=False)
        eq(r.returncode != 0, True, "purge role cannot DELETE")
        r = pg.psql_dsn(purge, "SELECT sealtrace.purge_before('2026-02-01', '')", check=False)
        eq(r.returncode != 0 and "needs a reason" in r.stderr, True, r.stderr)
        r = pg.psql_dsn(purge, "SELECT sealtrace.purge_before('2026-02-01', 'retention: 6 months')")
        eq(r.stdout.strip(), "1", "one partition dropped")
        audit = pg.psql("SELECT partition, rows, seq_ranges->0->>'first_seq',"
                        " seq_ranges->0->>'last_hash', reason, purged_by FROM sealtrace.purges"
                        ).stdout.strip()
        eq(audit, "records_202601|1|0|%s|retention: 6 months|purger" % ("ab" * 32), "audit row")
        eq(pg.psql("SELECT count(*) FROM sealtrace.records").stdout.strip(), "1", "one row left")
        # the key of the purged record stays: a fork check still sees it
        eq(pg.psql("SELECT count(*) FROM sealtrace.record_keys").stdout.strip(), "2", "keys kept")
    finally:
        pg.destroy()
