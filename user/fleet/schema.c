// SPDX-License-Identifier: Apache-2.0
/*
 * The PostgreSQL schema, as numbered migrations (see db.h and
 * docs/operations.md "Fleet: PostgreSQL"). A migration is never edited
 * once released: changes are a new version.
 *
 * Tables (schema "sealtrace"):
 *   records        one row per record: the canonical line byte for byte,
 *                  its SHA-256, and the columns reconstruction filters
 *                  on; range-partitioned by month of timestamp_utc, so
 *                  retention drops whole partitions
 *   record_keys    (origin, stream, seq) -> line hash, not partitioned:
 *                  the uniqueness a partitioned table cannot enforce,
 *                  the fork check, and the memory of purged seqs
 *   checkpoints    every signed tree head shipped (the note verbatim)
 *   cosignatures   witness cosignatures of those heads
 *   forks          what a shipper refused: same key, another hash
 *   purges         one audit row per dropped partition
 *   schema_version the migrations applied
 *
 * Roles (NOLOGIN groups; login users are granted membership):
 *   sealtrace_shipper  SELECT and INSERT only; may create the partition
 *                      of a month (ensure_partition, SECURITY DEFINER)
 *   sealtrace_purge    may only call purge_before(), which writes the
 *                      audit row and drops whole partitions
 *   sealtrace_reader   SELECT (verify --db, export --db)
 * Triggers on every table refuse UPDATE, DELETE and TRUNCATE, whoever
 * asks (the owner included; row triggers reach the partitions, statement
 * triggers also a statement that would touch no row); only purge_before() removes rows, by
 * dropping partitions, which fires no row trigger.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"

struct migration {
	int version;
	const char *what;
	const char *sql;
};

static const char v1_sql[] =
	"CREATE SCHEMA IF NOT EXISTS sealtrace;\n"
	"DO $$ DECLARE r text; BEGIN\n"
	"  FOREACH r IN ARRAY ARRAY['sealtrace_shipper','sealtrace_purge','sealtrace_reader'] LOOP\n"
	"    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN\n"
	"      EXECUTE format('CREATE ROLE %I NOLOGIN', r);\n"
	"    END IF;\n"
	"  END LOOP;\n"
	"END $$;\n"
	"REVOKE ALL ON SCHEMA sealtrace FROM PUBLIC;\n"
	"GRANT USAGE ON SCHEMA sealtrace TO sealtrace_shipper, sealtrace_purge, sealtrace_reader;\n"
	"CREATE TABLE sealtrace.record_keys (\n"
	"  origin text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,\n"
	"  line_hash bytea NOT NULL CHECK (length(line_hash) = 32),\n"
	"  ts timestamptz NOT NULL,\n"
	"  PRIMARY KEY (origin, stream, seq));\n"
	"CREATE TABLE sealtrace.records (\n"
	"  origin text NOT NULL,\n"
	"  stream text NOT NULL CHECK (stream IN ('decision', 'system')),\n"
	"  seq bigint NOT NULL CHECK (seq >= 0),\n"
	"  ts timestamptz NOT NULL,\n"
	"  system_id text NOT NULL, node_id text NOT NULL,\n"
	"  event_id uuid NOT NULL, event_type text NOT NULL,\n"
	"  model_version text, model_artifact text,\n"
	"  input_hash text, output_reference text,\n"
	"  decision jsonb,\n"
	"  pseudonyms text[] NOT NULL DEFAULT '{}',\n"
	"  line_hash bytea NOT NULL CHECK (length(line_hash) = 32),\n"
	"  line text NOT NULL,\n"
	"  shipped_at timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (origin, stream, seq, ts)\n"
	") PARTITION BY RANGE (ts);\n"
	/* the seed questions: a system's decisions in a window by model
	 * version; everything about one pseudonym; one node's window */
	"CREATE INDEX records_system_type_ts ON sealtrace.records (system_id, event_type, ts);\n"
	"CREATE INDEX records_model_ts ON sealtrace.records (model_version, ts);\n"
	"CREATE INDEX records_node_ts ON sealtrace.records (node_id, ts);\n"
	"CREATE INDEX records_decision ON sealtrace.records USING gin (decision jsonb_path_ops);\n"
	"CREATE INDEX records_pseudonyms ON sealtrace.records USING gin (pseudonyms);\n"
	"CREATE INDEX records_event_id ON sealtrace.records (event_id);\n"
	"CREATE TABLE sealtrace.checkpoints (\n"
	"  origin text NOT NULL, stream text NOT NULL, size bigint NOT NULL,\n"
	"  root bytea NOT NULL CHECK (length(root) = 32),\n"
	"  note text NOT NULL,\n"
	"  received_at timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (origin, stream, size));\n"
	"CREATE TABLE sealtrace.cosignatures (\n"
	"  origin text NOT NULL, stream text NOT NULL, size bigint NOT NULL,\n"
	"  witness text NOT NULL, line text NOT NULL, cosigned_at timestamptz NOT NULL,\n"
	"  received_at timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (origin, stream, size, witness));\n"
	"CREATE TABLE sealtrace.forks (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  origin text NOT NULL, stream text NOT NULL, seq bigint NOT NULL,\n"
	"  kind text NOT NULL CHECK (kind IN ('record', 'checkpoint')),\n"
	"  stored_hash bytea NOT NULL, offered_hash bytea NOT NULL, offered text NOT NULL,\n"
	"  reporter text NOT NULL DEFAULT session_user,\n"
	"  detected_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE TABLE sealtrace.purges (\n"
	"  id bigserial PRIMARY KEY,\n"
	"  partition text NOT NULL, range_from timestamptz NOT NULL, range_to timestamptz NOT NULL,\n"
	"  rows bigint NOT NULL, seq_ranges jsonb NOT NULL, reason text NOT NULL,\n"
	"  purged_by text NOT NULL DEFAULT session_user,\n"
	"  purged_at timestamptz NOT NULL DEFAULT now());\n"
	/* append-only, enforced by the database itself */
	"CREATE FUNCTION sealtrace.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	"  RAISE EXCEPTION 'sealtrace: % on %.% refused: the audit store is append-only',\n"
	"    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';\n"
	"END $$;\n"
	"DO $$ DECLARE t text; BEGIN\n"
	"  FOREACH t IN ARRAY ARRAY['records','record_keys','checkpoints','cosignatures','forks','purges'] LOOP\n"
	"    EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON sealtrace.%I '\n"
	"                   'FOR EACH ROW EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"    EXECUTE format('CREATE TRIGGER append_only_statement BEFORE UPDATE OR DELETE ON sealtrace.%I '\n"
	"                   'FOR EACH STATEMENT EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"    EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON sealtrace.%I '\n"
	"                   'FOR EACH STATEMENT EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"  END LOOP;\n"
	"END $$;\n"
	"GRANT SELECT, INSERT ON sealtrace.records, sealtrace.record_keys, sealtrace.checkpoints,\n"
	"  sealtrace.cosignatures, sealtrace.forks TO sealtrace_shipper;\n"
	"GRANT USAGE ON SEQUENCE sealtrace.forks_id_seq TO sealtrace_shipper;\n"
	"GRANT SELECT ON sealtrace.purges TO sealtrace_shipper, sealtrace_purge;\n"
	"GRANT SELECT ON ALL TABLES IN SCHEMA sealtrace TO sealtrace_reader;\n"
	"GRANT SELECT ON sealtrace.schema_version TO sealtrace_shipper, sealtrace_purge;\n"
	/* a month's partition, made on demand by the shipper's batch */
	"CREATE FUNCTION sealtrace.ensure_partition(t timestamptz) RETURNS text\n"
	"LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$\n"
	"DECLARE\n"
	"  lo timestamptz := make_timestamptz(extract(year FROM t AT TIME ZONE 'UTC')::int,\n"
	"                      extract(month FROM t AT TIME ZONE 'UTC')::int, 1, 0, 0, 0, 'UTC');\n"
	"  name text := 'records_' || to_char(t AT TIME ZONE 'UTC', 'YYYYMM');\n"
	"BEGIN\n"
	"  IF to_regclass('sealtrace.' || name) IS NULL THEN\n"
	/* two shippers may race for a new month: the loser's CREATE waits
	 * for the winner's lock on records and then finds the table */
	"    BEGIN\n"
	"      EXECUTE format('CREATE TABLE sealtrace.%I PARTITION OF sealtrace.records '\n"
	"                     'FOR VALUES FROM (%L) TO (%L)', name, lo, lo + interval '1 month');\n"
	"    EXCEPTION WHEN duplicate_table OR unique_violation THEN NULL;\n"
	"    END;\n"
	"  END IF;\n"
	"  RETURN name;\n"
	"END $$;\n"
	"REVOKE ALL ON FUNCTION sealtrace.ensure_partition(timestamptz) FROM PUBLIC;\n"
	"GRANT EXECUTE ON FUNCTION sealtrace.ensure_partition(timestamptz) TO sealtrace_shipper;\n"
	/* retention: whole months before the cutoff, each with an audit row
	 * saying which seqs of which log went and the hash of the last one */
	"CREATE FUNCTION sealtrace.purge_before(cutoff timestamptz, reason text) RETURNS integer\n"
	"LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$\n"
	"DECLARE\n"
	"  p record; lo timestamptz; n integer := 0; cnt bigint; ranges jsonb;\n"
	"BEGIN\n"
	"  IF reason IS NULL OR length(btrim(reason)) = 0 THEN\n"
	"    RAISE EXCEPTION 'sealtrace: a purge needs a reason';\n"
	"  END IF;\n"
	"  FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid\n"
	"           WHERE i.inhparent = 'sealtrace.records'::regclass ORDER BY c.relname LOOP\n"
	"    lo := make_timestamptz(substr(p.relname, 9, 4)::int, substr(p.relname, 13, 2)::int,\n"
	"                           1, 0, 0, 0, 'UTC');\n"
	"    CONTINUE WHEN lo + interval '1 month' > cutoff;\n"
	"    EXECUTE format('SELECT coalesce(jsonb_agg(r), ''[]'') FROM ('\n"
	"      'SELECT origin, stream, min(seq) AS first_seq, max(seq) AS last_seq, count(*) AS rows,'\n"
	"      ' encode((array_agg(line_hash ORDER BY seq DESC))[1], ''hex'') AS last_hash'\n"
	"      ' FROM sealtrace.%I GROUP BY origin, stream ORDER BY origin, stream) r', p.relname)\n"
	"      INTO ranges;\n"
	"    EXECUTE format('SELECT count(*) FROM sealtrace.%I', p.relname) INTO cnt;\n"
	"    INSERT INTO sealtrace.purges (partition, range_from, range_to, rows, seq_ranges, reason)\n"
	"      VALUES (p.relname, lo, lo + interval '1 month', cnt, ranges, reason);\n"
	"    EXECUTE format('DROP TABLE sealtrace.%I', p.relname);\n"
	"    n := n + 1;\n"
	"  END LOOP;\n"
	"  RETURN n;\n"
	"END $$;\n"
	"REVOKE ALL ON FUNCTION sealtrace.purge_before(timestamptz, text) FROM PUBLIC;\n"
	"GRANT EXECUTE ON FUNCTION sealtrace.purge_before(timestamptz, text) TO sealtrace_purge;\n";


/* v2: the witness's registry, state and audit (witness.c) */
static const char v2_sql[] =
	"DO $$ BEGIN\n"
	"  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sealtrace_witness') THEN\n"
	"    CREATE ROLE sealtrace_witness NOLOGIN;\n"
	"  END IF;\n"
	"END $$;\n"
	"GRANT USAGE ON SCHEMA sealtrace TO sealtrace_witness;\n"
	"GRANT SELECT ON sealtrace.schema_version TO sealtrace_witness;\n"
	/* which node key may sign which log: one row per (log, key) */
	"CREATE TABLE sealtrace.witness_logs (\n"
	"  origin text NOT NULL, vkey text NOT NULL,\n"
	"  registered_by text NOT NULL, registered_at timestamptz NOT NULL DEFAULT now(),\n"
	"  PRIMARY KEY (origin, vkey));\n"
	/* the latest head cosigned per log (one per stream origin): the one
	 * mutable table, changed only under a row lock with its consistency
	 * proof checked; its history is in cosignatures */
	"CREATE TABLE sealtrace.witness_state (\n"
	"  origin text PRIMARY KEY, size bigint NOT NULL,\n"
	"  root bytea NOT NULL CHECK (length(root) = 32), note text NOT NULL,\n"
	"  updated_at timestamptz NOT NULL DEFAULT now());\n"
	"CREATE TABLE sealtrace.witness_audit (\n"
	"  id bigserial PRIMARY KEY, action text NOT NULL, origin text NOT NULL,\n"
	"  detail text NOT NULL, actor text NOT NULL,\n"
	"  db_user text NOT NULL DEFAULT session_user,\n"
	"  at timestamptz NOT NULL DEFAULT now());\n"
	"DO $$ DECLARE t text; BEGIN\n"
	"  FOREACH t IN ARRAY ARRAY['witness_logs','witness_audit'] LOOP\n"
	"    EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON sealtrace.%I '\n"
	"                   'FOR EACH ROW EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"    EXECUTE format('CREATE TRIGGER append_only_statement BEFORE UPDATE OR DELETE ON sealtrace.%I '\n"
	"                   'FOR EACH STATEMENT EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"    EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON sealtrace.%I '\n"
	"                   'FOR EACH STATEMENT EXECUTE FUNCTION sealtrace.refuse_change()', t);\n"
	"  END LOOP;\n"
	"END $$;\n"
	"CREATE TRIGGER no_delete BEFORE DELETE OR TRUNCATE ON sealtrace.witness_state\n"
	"  FOR EACH STATEMENT EXECUTE FUNCTION sealtrace.refuse_change();\n"
	"GRANT SELECT ON sealtrace.witness_logs TO sealtrace_witness;\n"
	"GRANT SELECT, INSERT, UPDATE ON sealtrace.witness_state TO sealtrace_witness;\n"
	"GRANT SELECT, INSERT ON sealtrace.witness_audit, sealtrace.cosignatures TO sealtrace_witness;\n"
	"GRANT USAGE ON SEQUENCE sealtrace.witness_audit_id_seq TO sealtrace_witness;\n"
	"GRANT SELECT ON sealtrace.witness_logs, sealtrace.witness_state, sealtrace.witness_audit\n"
	"  TO sealtrace_reader, sealtrace_shipper;\n";

static const struct migration migrations[] = {
	{ 1, "records, record_keys, checkpoints, cosignatures, forks, purges; roles; append-only triggers; monthly partitions",
	  v1_sql },
	{ 2, "witness: witness_logs, witness_state, witness_audit; role sealtrace_witness", v2_sql },
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int st_db_schema_latest(void)
{
	return migrations[NMIGRATIONS - 1].version;
}

int st_db_schema_version(PGconn *c, int *version, char *err, size_t errlen)
{
	PGresult *r;
	int rc = 0;

	*version = 0;
	r = PQexec(c, "SELECT CASE WHEN to_regclass('sealtrace.schema_version') IS NULL THEN -1 END");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return st_errf(err, errlen, "database: %s", PQerrorMessage(c));
	}
	if (PQgetisnull(r, 0, 0)) {
		PQclear(r);
		r = PQexec(c, "SELECT coalesce(max(version), 0) FROM sealtrace.schema_version");
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			*version = atoi(PQgetvalue(r, 0, 0));
		else
			rc = st_errf(err, errlen, "database: sealtrace.schema_version: %s",
				     PQerrorMessage(c));
	}
	PQclear(r);
	return rc;
}

static int apply(PGconn *c, const struct migration *m, char *err,
		 size_t errlen)
{
	char sql[512];

	if (st_db_exec(c, m->sql, err, errlen))
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO sealtrace.schema_version (version, description) VALUES (%d, '%s')",
		 m->version, m->what);
	return st_db_exec(c, sql, err, errlen);
}

/* One version, in a transaction, unless another migrator did it first. */
static int step(PGconn *c, const struct migration *m, char *err,
		size_t errlen)
{
	int have;

	if (st_db_exec(c, "BEGIN; SELECT pg_advisory_xact_lock(hashtext('sealtrace.migrate'))",
		       err, errlen))
		return -1;
	if (st_db_schema_version(c, &have, err, errlen))
		goto fail;
	if (have < m->version) {
		if (!have && st_db_exec(c,
			"CREATE SCHEMA IF NOT EXISTS sealtrace;"
			"CREATE TABLE IF NOT EXISTS sealtrace.schema_version ("
			" version integer PRIMARY KEY, description text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now(),"
			" applied_by text NOT NULL DEFAULT session_user)", err, errlen))
			goto fail;
		if (apply(c, m, err, errlen))
			goto fail;
	}
	return st_db_exec(c, "COMMIT", err, errlen);
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int st_db_migrate(PGconn *c, int *from, int *to, char *err, size_t errlen)
{
	size_t i;
	char why[1024];

	if (st_db_schema_version(c, from, err, errlen))
		return -1;
	*to = *from;
	if (*from > st_db_schema_latest())
		return st_errf(err, errlen, "database schema version %d is newer than this sealtrace's (%d): upgrade sealtrace first",
			       *from, st_db_schema_latest());
	for (i = 0; i < NMIGRATIONS; i++) {
		if (migrations[i].version <= *to)
			continue;
		if (step(c, &migrations[i], why, sizeof(why)))
			return st_errf(err, errlen, "migration %d (%s): %s",
				       migrations[i].version, migrations[i].what, why);
		*to = migrations[i].version;
	}
	return 0;
}
