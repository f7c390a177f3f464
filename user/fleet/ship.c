// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace ship: records and checkpoints of a state directory into
 * PostgreSQL (ship.h). The local segments are only read; the one file
 * written is the mark <state_dir>/shipped/<stream> (retention.h) that
 * keeps retention from purging what the database does not hold yet.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/clock.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"
#include "sealtrace/fleet/ship.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/log/store.h"

#define ERRLEN 2048

struct cursor {
	enum st_stream s;
	char origin[ST_ORIGIN_MAX];	/* the log's key name */
	bool positioned, halted, behind_told;
	uint64_t next;			/* rows the database has: seqs 0..next-1 */
	uint8_t db_prev[ST_HASH_LEN];	/* its hash of seq next-1 */
	uint8_t prev[ST_HASH_LEN];	/* hash of the last line taken */
	bool prev_known;
	uint64_t seg_first, offset;	/* where reading goes on */
	uint64_t expect;		/* next seq in reading order */
	uint64_t batch_next;		/* next seq to add to the batch */
	uint64_t ckpt_shipped;		/* size of the checkpoint file shipped */
	uint64_t witnessed;		/* size last submitted to the witness */
};

struct batch {
	struct st_buf copy;		/* COPY text rows */
	uint64_t rows, first, last;
	char **notes;			/* checkpoint notes of system records */
	size_t nnotes, capnotes;
};

struct shipper {
	const struct st_ship_config *cfg;
	PGconn *c;
	struct cursor cur[ST_STREAM__COUNT];
	struct batch b;
	struct st_buf scratch, field;
	struct st_hasher *h;
	struct st_ship_stats st;
	bool forked;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* ---- COPY text format ------------------------------------------------- */

static void copy_text(struct st_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\': st_buf_puts(b, "\\\\"); break;
		case '\t': st_buf_puts(b, "\\t"); break;
		case '\n': st_buf_puts(b, "\\n"); break;
		case '\r': st_buf_puts(b, "\\r"); break;
		default: st_buf_putc(b, s[i]);
		}
	}
}

static void copy_str(struct st_buf *b, const char *s, bool last)
{
	if (s)
		copy_text(b, s, strlen(s));
	else
		st_buf_puts(b, "\\N");
	st_buf_putc(b, last ? '\n' : '\t');
}

static void copy_hash(struct st_buf *b, const uint8_t h[ST_HASH_LEN])
{
	char hex[ST_HASH_HEX + 1];

	st_hex(h, ST_HASH_LEN, hex);
	st_buf_puts(b, "\\\\x");
	st_buf_puts(b, hex);
	st_buf_putc(b, '\t');
}

static bool is_pseudonym(const char *s)
{
	return s && !strncmp(s, "hmac-sha256:", 12) && !strpbrk(s, "\",{}\\ ");
}

/* One scalar of a decision object, as the record holds it. */
static void put_scalar(struct st_buf *f, const struct st_kv *kv)
{
	switch (kv->kind) {
	case ST_KV_STR: st_json_cstr(f, kv->v.s); break;
	case ST_KV_INT: st_json_int(f, kv->v.i); break;
	case ST_KV_UINT: st_json_uint(f, kv->v.u); break;
	case ST_KV_BOOL: st_json_bool(f, kv->v.b); break;
	case ST_KV_NULL: st_json_null(f); break;
	case ST_KV_NUM: st_json_double(f, kv->v.d); break;
	}
}

/* The record's decision object (schema 2) as one JSON object; pseudonyms as an array */
static void copy_derived(struct shipper *sh, const struct st_record *rec)
{
	struct st_buf *f = &sh->field;
	bool any = false;
	size_t i;

	f->len = 0;
	for (i = 0; rec->has_decision && i < rec->ndecision; i++) {
		st_buf_putc(f, any ? ',' : '{');
		any = true;
		st_json_cstr(f, rec->decision[i].key);
		st_buf_putc(f, ':');
		put_scalar(f, &rec->decision[i]);
	}
	if (any) {
		st_buf_putc(f, '}');
		copy_text(&sh->b.copy, f->p, f->len);
		st_buf_putc(&sh->b.copy, '\t');
	} else {
		st_buf_puts(&sh->b.copy, "\\N\t");
	}
	st_buf_putc(&sh->b.copy, '{');
	any = false;
	if (is_pseudonym(rec->input_hash)) {
		st_buf_puts(&sh->b.copy, rec->input_hash);
		any = true;
	}
	if (is_pseudonym(rec->output_reference)) {
		if (any)
			st_buf_putc(&sh->b.copy, ',');
		st_buf_puts(&sh->b.copy, rec->output_reference);
		any = true;
	}
	for (i = 0; rec->has_pseudonyms && i < rec->npseudonyms; i++) {
		if (rec->pseudonyms[i].kind != ST_KV_STR || !is_pseudonym(rec->pseudonyms[i].v.s))
			continue;
		if (any)
			st_buf_putc(&sh->b.copy, ',');
		st_buf_puts(&sh->b.copy, rec->pseudonyms[i].v.s);
		any = true;
	}
	for (i = 0; i < rec->ndetails; i++) {
		if (rec->details[i].kind != ST_KV_STR || !is_pseudonym(rec->details[i].v.s))
			continue;
		if (any)
			st_buf_putc(&sh->b.copy, ',');
		st_buf_puts(&sh->b.copy, rec->details[i].v.s);
		any = true;
	}
	st_buf_puts(&sh->b.copy, "}\t");
}

static int add_row(struct shipper *sh, const struct st_record_parsed *p,
		   const char *line, size_t len, const uint8_t hash[ST_HASH_LEN])
{
	struct st_buf *b = &sh->b.copy;
	char ts[ST_TIME_LEN + 1], num[24];

	if (st_time_format(p->rec.timestamp_ns, ts))
		return -1;
	snprintf(num, sizeof(num), "%" PRIu64 "\t", p->hdr.seq);
	st_buf_puts(b, num);
	copy_str(b, ts, false);
	copy_str(b, p->hdr.system_id ? p->hdr.system_id : "", false);
	copy_str(b, p->hdr.node_id ? p->hdr.node_id : "", false);
	copy_str(b, p->hdr.event_id, false);
	copy_str(b, st_event_type_name(p->rec.type), false);
	copy_str(b, p->rec.model_version, false);
	copy_str(b, p->rec.model_artifact, false);
	copy_str(b, p->rec.input_hash, false);
	copy_str(b, p->rec.output_reference, false);
	copy_derived(sh, &p->rec);
	copy_hash(b, hash);
	copy_text(b, line, len);
	st_buf_putc(b, '\n');
	if (!sh->b.rows++)
		sh->b.first = p->hdr.seq;
	sh->b.last = p->hdr.seq;
	sh->st.bytes += len;
	return b->oom || sh->field.oom ? -1 : 0;
}

static int add_note(struct batch *b, const char *note)
{
	char **grown;

	if (b->nnotes == b->capnotes) {
		b->capnotes = b->capnotes ? 2 * b->capnotes : 16;
		grown = realloc(b->notes, b->capnotes * sizeof(*grown));
		if (!grown)
			return -1;
		b->notes = grown;
	}
	b->notes[b->nnotes] = strdup(note);
	return b->notes[b->nnotes++] ? 0 : -1;
}

static void batch_reset(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nnotes; i++)
		free(b->notes[i]);
	b->nnotes = 0;
	b->copy.len = 0;
	b->copy.oom = false;
	b->rows = 0;
}

/* ---- database steps --------------------------------------------------- */

static int sql_err(PGconn *c, PGresult *r, const char *what, char *err,
		   size_t errlen)
{
	size_t n;

	st_errf(err, errlen, "database: %s: %s", what, PQerrorMessage(c));
	n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = '\0';
	PQclear(r);
	return -1;
}

static PGresult *q(PGconn *c, const char *sql, int n, const char *const *v)
{
	return PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
}

static bool ok(PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* The database's high-water mark of one (origin, stream). */
static int high_water(struct shipper *sh, struct cursor *cu, char *err,
		      size_t errlen)
{
	const char *v[2] = { cu->origin, st_stream_name(cu->s) };
	PGresult *r;

	r = q(sh->c, "SELECT seq, encode(line_hash, 'hex') FROM sealtrace.record_keys"
		     " WHERE origin = $1 AND stream = $2 ORDER BY seq DESC LIMIT 1", 2, v);
	if (!ok(r))
		return sql_err(sh->c, r, "high-water mark", err, errlen);
	cu->next = 0;
	if (PQntuples(r)) {
		cu->next = strtoull(PQgetvalue(r, 0, 0), NULL, 10) + 1;
		if (st_unhex(PQgetvalue(r, 0, 1), ST_HASH_HEX, cu->db_prev, ST_HASH_LEN)) {
			PQclear(r);
			return st_errf(err, errlen, "database: record_keys hash is not 32 bytes");
		}
	}
	PQclear(r);
	return 0;
}

static void report_fork(struct shipper *sh, struct cursor *cu, uint64_t seq,
			const char *kind, const uint8_t *stored,
			const uint8_t *offered, const char *text)
{
	char hs[ST_HASH_HEX + 1], ho[ST_HASH_HEX + 1], ss[24], sx[ST_HASH_HEX + 3],
	     ox[ST_HASH_HEX + 3];
	const char *v[7];
	PGresult *r;

	st_hex(stored, ST_HASH_LEN, hs);
	st_hex(offered, ST_HASH_LEN, ho);
	fprintf(stderr, "sealtrace ship: FORK: %s %s %s %" PRIu64 ": the database holds %.16s..., "
		"this node offers %.16s...: refused; %s stops shipping until an operator "
		"looks (docs/operations.md, alert SealtraceFork)\n",
		cu->origin, st_stream_name(cu->s), kind, seq, hs, ho, st_stream_name(cu->s));
	cu->halted = true;
	sh->forked = true;
	sh->st.forks++;
	snprintf(ss, sizeof(ss), "%" PRIu64, seq);
	snprintf(sx, sizeof(sx), "\\x%s", hs);
	snprintf(ox, sizeof(ox), "\\x%s", ho);
	v[0] = cu->origin;
	v[1] = st_stream_name(cu->s);
	v[2] = ss;
	v[3] = kind;
	v[4] = sx;
	v[5] = ox;
	v[6] = text;
	r = q(sh->c, "INSERT INTO sealtrace.forks (origin, stream, seq, kind, stored_hash,"
		     " offered_hash, offered) VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, v);
	if (!ok(r))
		fprintf(stderr, "sealtrace ship: could not record the fork in the database: %s",
			PQerrorMessage(sh->c));
	PQclear(r);
}

/* A signed head into checkpoints; the same size with another root is a fork. */
static int ship_note(struct shipper *sh, struct cursor *cu, const char *note,
		     char *err, size_t errlen)
{
	char why[512], size[24], root[ST_HASH_HEX + 3], name[ST_ORIGIN_MAX];
	const char *v[5], *stream;
	uint8_t stored[ST_HASH_LEN];
	struct st_ckpt ck;
	struct cursor tmp;
	PGresult *r;
	char *slash;
	int s;

	if (st_ckpt_parse_any(note, strlen(note), NULL, 0, &ck, NULL, why, sizeof(why)))
		return st_errf(err, errlen, "checkpoint note: %s", why);
	s = st_ckpt_stream(&ck);
	snprintf(name, sizeof(name), "%s", ck.origin);
	slash = strrchr(name, '/');
	if (s < 0 || !slash)
		return st_errf(err, errlen, "checkpoint note of origin '%s': no stream", ck.origin);
	*slash = '\0';
	stream = st_stream_name((enum st_stream)s);
	snprintf(size, sizeof(size), "%" PRIu64, ck.size);
	st_hex(ck.root, ST_HASH_LEN, root + 2);
	root[0] = '\\';
	root[1] = 'x';
	v[0] = name;
	v[1] = stream;
	v[2] = size;
	v[3] = root;
	v[4] = note;
	r = q(sh->c, "INSERT INTO sealtrace.checkpoints (origin, stream, size, root, note)"
		     " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", 5, v);
	if (!ok(r))
		return sql_err(sh->c, r, "checkpoint", err, errlen);
	PQclear(r);
	r = q(sh->c, "SELECT encode(root, 'hex') FROM sealtrace.checkpoints"
		     " WHERE origin = $1 AND stream = $2 AND size = $3", 3, v);
	if (!ok(r) || PQntuples(r) != 1)
		return sql_err(sh->c, r, "checkpoint read back", err, errlen);
	if (st_unhex(PQgetvalue(r, 0, 0), ST_HASH_HEX, stored, ST_HASH_LEN) ||
	    memcmp(stored, ck.root, ST_HASH_LEN)) {
		tmp = *cu;
		snprintf(tmp.origin, sizeof(tmp.origin), "%s", name);
		tmp.s = (enum st_stream)s;
		report_fork(sh, &tmp, ck.size, "checkpoint", stored, ck.root, note);
		cu->halted = true;
	}
	PQclear(r);
	sh->st.checkpoints++;
	return 0;
}

static const char create_tmp[] =
	"CREATE TEMP TABLE IF NOT EXISTS ship_in (seq bigint, ts timestamptz,"
	" system_id text, node_id text, event_id uuid, event_type text,"
	" model_version text, model_artifact text, input_hash text,"
	" output_reference text, decision jsonb, pseudonyms text[],"
	" line_hash bytea, line text) ON COMMIT DELETE ROWS";

static const char insert_rows[] =
	"WITH k AS (INSERT INTO sealtrace.record_keys (origin, stream, seq, line_hash, ts)"
	"  SELECT $1, $2, seq, line_hash, ts FROM ship_in ON CONFLICT DO NOTHING RETURNING seq)"
	" INSERT INTO sealtrace.records (origin, stream, seq, ts, system_id, node_id,"
	"  event_id, event_type, model_version, model_artifact, input_hash,"
	"  output_reference, decision, pseudonyms, line_hash, line)"
	" SELECT $1, $2, i.seq, i.ts, i.system_id, i.node_id, i.event_id, i.event_type,"
	"  i.model_version, i.model_artifact, i.input_hash, i.output_reference,"
	"  i.decision, i.pseudonyms, i.line_hash, i.line FROM ship_in i JOIN k USING (seq)";

static const char conflicts[] =
	"SELECT i.seq, encode(r.line_hash, 'hex'), encode(i.line_hash, 'hex'), i.line"
	" FROM ship_in i JOIN sealtrace.record_keys r"
	"  ON r.origin = $1 AND r.stream = $2 AND r.seq = i.seq"
	" WHERE r.line_hash <> i.line_hash ORDER BY i.seq LIMIT 1";

static int copy_in(struct shipper *sh, char *err, size_t errlen)
{
	PGresult *r = PQexec(sh->c, "COPY ship_in FROM STDIN");

	if (PQresultStatus(r) != PGRES_COPY_IN)
		return sql_err(sh->c, r, "COPY", err, errlen);
	PQclear(r);
	if (PQputCopyData(sh->c, sh->b.copy.p, (int)sh->b.copy.len) != 1 ||
	    PQputCopyEnd(sh->c, NULL) != 1)
		return sql_err(sh->c, NULL, "COPY data", err, errlen);
	r = PQgetResult(sh->c);
	if (!ok(r))
		return sql_err(sh->c, r, "COPY", err, errlen);
	PQclear(r);
	while ((r = PQgetResult(sh->c)))
		PQclear(r);
	return 0;
}

/* A conflict found in the batch: someone else wrote this seq. */
static int batch_conflict(struct shipper *sh, struct cursor *cu, char *err,
			  size_t errlen)
{
	const char *v[2] = { cu->origin, st_stream_name(cu->s) };
	uint8_t stored[ST_HASH_LEN], offered[ST_HASH_LEN];
	char *line;
	uint64_t seq;
	PGresult *r;

	/* the temporary table has no statistics: without them the planner
	 * walks record_keys once per row */
	if (st_db_exec(sh->c, "ANALYZE ship_in", err, errlen))
		return -1;
	r = q(sh->c, conflicts, 2, v);
	if (!ok(r))
		return sql_err(sh->c, r, "fork check", err, errlen);
	if (!PQntuples(r)) {
		PQclear(r);
		return 0;
	}
	seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	st_unhex(PQgetvalue(r, 0, 1), ST_HASH_HEX, stored, ST_HASH_LEN);
	st_unhex(PQgetvalue(r, 0, 2), ST_HASH_HEX, offered, ST_HASH_LEN);
	line = strdup(PQgetvalue(r, 0, 3));
	PQclear(r);
	/* nothing of a forked batch stays: the fork row goes in alone */
	PQclear(PQexec(sh->c, "ROLLBACK"));
	report_fork(sh, cu, seq, "record", stored, offered, line ? line : "");
	free(line);
	return 1;
}

static int flush(struct shipper *sh, struct cursor *cu, char *err,
		 size_t errlen)
{
	const char *v[2] = { cu->origin, st_stream_name(cu->s) };
	PGresult *r;
	size_t i;
	int rc;

	if (!sh->b.rows && !sh->b.nnotes)
		return 0;
	if (sh->b.copy.oom)
		return st_errf(err, errlen, "out of memory");
	if (st_db_exec(sh->c, "BEGIN", err, errlen) ||
	    st_db_exec(sh->c, create_tmp, err, errlen))
		return -1;
	if (sh->b.rows) {
		if (copy_in(sh, err, errlen))
			goto fail;
		r = PQexec(sh->c, "SELECT sealtrace.ensure_partition(m) FROM"
				  " (SELECT DISTINCT date_trunc('month', ts) AS m FROM ship_in) x");
		if (!ok(r)) {
			sql_err(sh->c, r, "partition", err, errlen);
			goto fail;
		}
		PQclear(r);
		r = q(sh->c, insert_rows, 2, v);
		if (!ok(r)) {
			sql_err(sh->c, r, "insert", err, errlen);
			goto fail;
		}
		/* every key new: no conflict to look for (the common case) */
		rc = strtoull(PQcmdTuples(r), NULL, 10) == sh->b.rows ? 0 :
		     batch_conflict(sh, cu, err, errlen);
		PQclear(r);
		if (rc < 0)
			goto fail;
		if (rc) {
			batch_reset(&sh->b);
			return 0;
		}
	}
	for (i = 0; i < sh->b.nnotes; i++)
		if (ship_note(sh, cu, sh->b.notes[i], err, errlen))
			goto fail;
	if (st_db_exec(sh->c, "COMMIT", err, errlen))
		return -1;
	if (sh->b.rows) {
		cu->next = sh->b.last + 1;
		memcpy(cu->db_prev, cu->prev, ST_HASH_LEN);
		sh->st.rows += sh->b.rows;
		sh->st.batches++;
	}
	batch_reset(&sh->b);
	if (st_ship_mark_write(sh->cfg->state_dir, cu->s, cu->next, err, errlen))
		fprintf(stderr, "sealtrace ship: %s (retention keeps the stream until it is written)\n",
			err);
	return 0;
fail:
	PQclear(PQexec(sh->c, "ROLLBACK"));
	return -1;
}

/* ---- reading the segments --------------------------------------------- */

/* The log's key name, from the stream's signed head. 0, 1 none yet, -1. */
static int find_origin(struct shipper *sh, struct cursor *cu, char *err,
		       size_t errlen)
{
	char path[4200], note[ST_NOTE_MAX], why[512], *slash;
	struct st_ckpt ck;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s/checkpoint", sh->cfg->state_dir,
		 st_stream_name(cu->s));
	if (access(path, F_OK))
		return 1;
	if (st_ckpt_read_file(path, note, sizeof(note), &len, err, errlen))
		return -1;
	if (st_ckpt_parse_any(note, len, NULL, 0, &ck, NULL, why, sizeof(why)))
		return st_errf(err, errlen, "%s: %s", path, why);
	slash = strrchr(ck.origin, '/');
	if (!slash || st_ckpt_stream(&ck) != (int)cu->s)
		return st_errf(err, errlen, "%s: origin '%s' is not of stream %s", path,
			       ck.origin, st_stream_name(cu->s));
	*slash = '\0';
	snprintf(cu->origin, sizeof(cu->origin), "%s", ck.origin);
	return 0;
}

static int position(struct shipper *sh, struct cursor *cu, char *err,
		    size_t errlen)
{
	struct st_seg_list l = { 0 };
	char dir[4200];
	uint64_t target;
	size_t i;
	int rc;

	rc = find_origin(sh, cu, err, errlen);
	if (rc)
		return rc;
	if (high_water(sh, cu, err, errlen))
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s", sh->cfg->state_dir, st_stream_name(cu->s));
	if (st_seg_list(dir, &l, err, errlen))
		return -1;
	target = cu->next ? cu->next - 1 : 0;
	rc = 1;
	for (i = l.n; i-- > 0;)
		if (l.first[i] <= target) {
			cu->seg_first = l.first[i];
			rc = 0;
			break;
		}
	if (rc && l.n) {
		fprintf(stderr, "sealtrace ship: %s %s: the database has %" PRIu64
			" records, the oldest local segment starts at seq %" PRIu64
			": records were purged here before they were shipped; not shipping this stream\n",
			cu->origin, st_stream_name(cu->s), cu->next, l.first[0]);
		cu->halted = true;
	}
	st_seg_list_free(&l);
	if (rc)
		return 1;
	cu->offset = 0;
	cu->expect = cu->seg_first;
	cu->batch_next = cu->next;
	cu->prev_known = false;
	cu->positioned = true;
	return 0;
}

/* One line read back. 0 on, 1 stop this stream (halted), -1 error. */
static int take_line(struct shipper *sh, struct cursor *cu, const char *line,
		     size_t len, char *err, size_t errlen)
{
	struct st_record_parsed p;
	uint8_t hash[ST_HASH_LEN];
	char why[512], hex[ST_HASH_HEX + 1], name[ST_ORIGIN_MAX];
	const struct st_kv *note;
	int rc = 0;

	if (st_record_parse(line, len, &p, &sh->scratch, why, sizeof(why))) {
		fprintf(stderr, "sealtrace ship: %s %s seq %" PRIu64 ": %s: not shipping this stream (run sealtrace verify)\n",
			cu->origin, st_stream_name(cu->s), cu->expect, why);
		st_record_parsed_free(&p);
		cu->halted = true;
		return 1;
	}
	if (p.hdr.seq != cu->expect || p.hdr.stream != cu->s) {
		fprintf(stderr, "sealtrace ship: %s %s: seq %" PRIu64 " where %" PRIu64
			" belongs: not shipping this stream (run sealtrace verify)\n",
			cu->origin, st_stream_name(cu->s), p.hdr.seq, cu->expect);
		cu->halted = true;
		rc = 1;
		goto out;
	}
	cu->expect++;
	if (st_sha256(sh->h, line, len, NULL, 0, hash)) {
		rc = st_errf(err, errlen, "SHA-256 failed");
		goto out;
	}
	if (p.hdr.seq + 1 < cu->next)
		goto out;		/* in the database already */
	if (p.hdr.seq + 1 == cu->next) {
		/* the record the database ends with: the same, or a fork */
		if (memcmp(hash, cu->db_prev, ST_HASH_LEN)) {
			report_fork(sh, cu, p.hdr.seq, "record", cu->db_prev, hash, line);
			rc = 1;
		} else {
			memcpy(cu->prev, hash, ST_HASH_LEN);
			cu->prev_known = true;
		}
		goto out;
	}
	if (p.hdr.seq != cu->batch_next) {
		rc = st_errf(err, errlen, "internal: seq %" PRIu64 " after %" PRIu64, p.hdr.seq,
			     cu->batch_next);
		goto out;
	}
	if (p.hdr.seq) {
		st_hex(cu->prev, ST_HASH_LEN, hex);
		if (!cu->prev_known || strcmp(hex, p.hdr.prev_hex)) {
			report_fork(sh, cu, p.hdr.seq - 1, "record", cu->prev, cu->prev, line);
			rc = 1;
			goto out;
		}
	}
	if (st_ckpt_key_name(name, sizeof(name), p.hdr.system_id, p.hdr.node_id) ||
	    strcmp(name, cu->origin)) {
		fprintf(stderr, "sealtrace ship: %s %s seq %" PRIu64 ": a record of '%s' in this log: not shipping this stream\n",
			cu->origin, st_stream_name(cu->s), p.hdr.seq, name);
		cu->halted = true;
		rc = 1;
		goto out;
	}
	if (add_row(sh, &p, line, len, hash)) {
		rc = st_errf(err, errlen, "out of memory");
		goto out;
	}
	if (cu->s == ST_STREAM_SYSTEM && p.rec.type == ST_ET_CHECKPOINT) {
		note = st_record_detail(&p.rec, "note");
		if (note && note->kind == ST_KV_STR && add_note(&sh->b, note->v.s))
			rc = st_errf(err, errlen, "out of memory");
	}
	memcpy(cu->prev, hash, ST_HASH_LEN);
	cu->prev_known = true;
	cu->batch_next++;
	if (!rc && sh->b.rows >= sh->cfg->batch_records)
		rc = flush(sh, cu, err, errlen);
out:
	st_record_parsed_free(&p);
	return rc;
}

static int take_block(struct shipper *sh, struct cursor *cu,
		      const struct st_buf *blk, char *err, size_t errlen)
{
	const char *p = blk->p, *end = blk->p + blk->len, *nl;
	int rc;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return st_errf(err, errlen, "block without a final newline");
		rc = take_line(sh, cu, p, (size_t)(nl - p), err, errlen);
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

/* Read one segment on from the cursor. 0 end of segment, 1 stop, -1. */
static int read_segment(struct shipper *sh, struct cursor *cu,
			struct st_buf *blk, char *err, size_t errlen)
{
	struct st_seg_reader *r;
	char path[4200], name[ST_SEG_NAME_LEN + 1];
	uint64_t off;
	int rc;

	st_seg_name(cu->seg_first, name);
	snprintf(path, sizeof(path), "%s/%s/%s", sh->cfg->state_dir,
		 st_stream_name(cu->s), name);
	if (st_seg_open(&r, path, err, errlen))
		return -1;
	if (cu->offset && st_seg_seek(r, cu->offset)) {
		st_seg_close(r);
		return 1;	/* the segment is not that long yet */
	}
	while ((rc = st_seg_next(r, blk, &off, err, errlen)) == ST_BLOCK_OK) {
		rc = take_block(sh, cu, blk, err, errlen);
		if (rc)
			break;
		cu->offset = st_seg_good_end(r);
	}
	st_seg_close(r);
	switch (rc) {
	case ST_BLOCK_END: return 0;
	case ST_BLOCK_TORN: return 1;		/* a block being written */
	case ST_BLOCK_CORRUPT:
		fprintf(stderr, "sealtrace ship: %s: %s: not shipping this stream (run sealtrace verify)\n",
			path, err);
		cu->halted = true;
		return 1;
	default:
		return rc;
	}
}

/* Ship what is new in one stream. 0 done for now, -1 database or I/O. */
static int ship_stream(struct shipper *sh, struct cursor *cu, char *err,
		       size_t errlen)
{
	struct st_buf blk = { 0 };
	struct st_seg_list l = { 0 };
	char dir[4200];
	size_t i;
	int rc = 0;

	if (cu->halted)
		return 0;
	if (!cu->positioned) {
		rc = position(sh, cu, err, errlen);
		if (rc)
			return rc < 0 ? -1 : 0;
	}
	snprintf(dir, sizeof(dir), "%s/%s", sh->cfg->state_dir, st_stream_name(cu->s));
	for (;;) {
		rc = read_segment(sh, cu, &blk, err, errlen);
		if (rc)
			break;
		/* the end of a segment: on to the next one, if it exists */
		if (st_seg_list(dir, &l, err, errlen)) {
			rc = -1;
			break;
		}
		for (i = 0; i < l.n && l.first[i] != cu->expect; i++)
			;
		rc = i < l.n ? 0 : 1;
		st_seg_list_free(&l);
		if (rc)
			break;
		cu->seg_first = cu->expect;
		cu->offset = 0;
	}
	st_buf_free(&blk);
	if (rc < 0)
		return -1;
	if (cu->halted) {
		batch_reset(&sh->b);
		return 0;
	}
	if (!cu->behind_told && cu->expect + 1 < cu->next) {
		fprintf(stderr, "sealtrace ship: %s %s: the local log ends at seq %" PRIu64
			", the database holds %" PRIu64 " records: truncated or rolled back here?\n",
			cu->origin, st_stream_name(cu->s), cu->expect, cu->next);
		cu->behind_told = true;
	}
	return flush(sh, cu, err, errlen);
}

/* The stream's checkpoint file, once the database has its records. */
static int ship_head(struct shipper *sh, struct cursor *cu, char *err,
		     size_t errlen)
{
	char path[4200], note[ST_NOTE_MAX], why[512];
	struct st_ckpt ck;
	size_t len;

	if (!cu->positioned && !sh->cfg->witness_url)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/checkpoint", sh->cfg->state_dir,
		 st_stream_name(cu->s));
	if (st_ckpt_read_file(path, note, sizeof(note), &len, why, sizeof(why)) ||
	    st_ckpt_parse_any(note, len, NULL, 0, &ck, NULL, why, sizeof(why)))
		return 0;	/* being replaced right now: next round */
	/* every new head goes to the witness, shipped records or not: a
	 * truncated log's head is exactly what it must see */
	if (sh->cfg->witness_url && ck.size != cu->witnessed) {
		if (st_ship_witness(sh->cfg, cu->s, note, len, &sh->st, why, sizeof(why)))
			fprintf(stderr, "sealtrace ship: witness: %s (next round)\n", why);
		else
			cu->witnessed = ck.size;
	}
	if (ck.size <= cu->ckpt_shipped || ck.size > cu->next)
		return 0;
	if (st_db_exec(sh->c, "BEGIN", err, errlen))
		return -1;
	if (ship_note(sh, cu, note, err, errlen)) {
		PQclear(PQexec(sh->c, "ROLLBACK"));
		return -1;
	}
	if (st_db_exec(sh->c, "COMMIT", err, errlen))
		return -1;
	cu->ckpt_shipped = ck.size;
	return 0;
}

/* ---- the verb --------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace ship --config FILE [--once]\n\n"
		"Copy every record and checkpoint of the agent's state directory into\n"
		"PostgreSQL (schema from `sealtrace db init`), as its own process: the\n"
		"agent never waits for the database. Resumes from the database's\n"
		"high-water mark per (origin, stream); each batch is one transaction,\n"
		"so a kill at any moment loses and repeats nothing. A record the\n"
		"database holds with another hash is a fork: refused, reported here and\n"
		"in sealtrace.forks, and that stream stops shipping.\n\n"
		"Config (YAML):\n"
		"  state_dir: /var/lib/sealtrace      the agent's state directory\n"
		"  dsn: \"host=db dbname=audit user=node1 sslmode=verify-full sslrootcert=ca.pem\"\n"
		"  batch_records: 2000                rows a transaction\n"
		"  poll_ms: 1000                      between looks at the segments\n"
		"  retry_max_ms: 10000                reconnect back-off cap\n"
		"  witness_url: http://witness:7380/add-checkpoint   optional: every new\n"
		"                                     signed head goes to the witness\n\n"
		"The segments are only read. <state_dir>/shipped/ holds how much the\n"
		"database has: while it exists, the agent's retention purges no segment\n"
		"that is not wholly shipped. Cosigned heads go to\n"
		"<state_dir>/shipped/<stream>.cosigned (verify --witness-key reads them);\n"
		"counters to <state_dir>/shipped/metrics.prom (node_exporter textfile).\n\n"
		"  --once      ship what is there, then exit (no waiting, no retrying)\n"
		"  -h, --help  this text\n\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT (or --once: all shipped),\n"
		"1 a fork was refused or the witness refused a head, 2 usage or config\n"
		"error, 3 database, witness or I/O error\n"
		"(--once; otherwise it reconnects with back-off).\n");
}

static void reset_cursors(struct shipper *sh)
{
	int i;

	for (i = 0; i < ST_STREAM__COUNT; i++)
		sh->cur[i].positioned = false;
	batch_reset(&sh->b);
}

static void nap(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	if (!stop_flag)
		nanosleep(&ts, NULL);
}

/* One round over both streams. 0, or -1 (database down: reconnect). */
static int round_once(struct shipper *sh, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < ST_STREAM__COUNT && !stop_flag; i++) {
		if (ship_stream(sh, &sh->cur[i], err, errlen) ||
		    ship_head(sh, &sh->cur[i], err, errlen))
			return -1;
	}
	return 0;
}

static int run_loop(struct shipper *sh, bool once)
{
	char err[ERRLEN];
	uint64_t backoff = 500, before;
	bool down_told = false;

	while (!stop_flag) {
		if (!sh->c) {
			sh->c = st_db_connect(sh->cfg->dsn, err, sizeof(err));
			if (!sh->c) {
				if (once) {
					fprintf(stderr, "sealtrace ship: %s\n", err);
					return ST_EXIT_RUNTIME;
				}
				if (!down_told)
					fprintf(stderr, "sealtrace ship: %s; retrying (the agent goes on capturing)\n",
						err);
				down_told = true;
				nap(backoff);
				backoff = backoff * 2 > sh->cfg->retry_max_ms ?
					  sh->cfg->retry_max_ms : backoff * 2;
				continue;
			}
			if (down_told)
				fprintf(stderr, "sealtrace ship: database reachable again\n");
			down_told = false;
			backoff = 500;
			sh->st.reconnects++;
			reset_cursors(sh);
		}
		before = sh->st.rows + sh->st.checkpoints + sh->st.cosigned;
		if (round_once(sh, err, sizeof(err))) {
			fprintf(stderr, "sealtrace ship: %s\n", err);
			PQfinish(sh->c);
			sh->c = NULL;
			reset_cursors(sh);
			if (once)
				return ST_EXIT_RUNTIME;
			continue;
		}
		st_ship_metrics(sh->cfg, &sh->st);
		if (once && sh->st.rows + sh->st.checkpoints + sh->st.cosigned == before)
			break;
		if (!once)
			nap(sh->cfg->poll_ms);
	}
	st_ship_metrics(sh->cfg, &sh->st);
	if (sh->forked || sh->st.witness_refusals)
		return ST_EXIT_FAIL;
	return once && sh->st.witness_errors ? ST_EXIT_RUNTIME : ST_EXIT_OK;
}

int cmd_ship(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "ship", .opts = opts, .usage = usage };
	struct st_ship_config cfg;
	struct shipper sh;
	const char *path = NULL;
	char err[ERRLEN], dir[4200];
	struct sigaction sa;
	uint64_t t0;
	bool once = false;
	int c, rc, i;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': once = true; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!path)
		return st_cli_usage_error(&cli, "--config FILE is required");
	if (st_ship_config_load(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "sealtrace ship: %s\n", err);
		return ST_EXIT_USAGE;
	}
	memset(&sh, 0, sizeof(sh));
	sh.cfg = &cfg;
	for (i = 0; i < ST_STREAM__COUNT; i++)
		sh.cur[i].s = (enum st_stream)i;
	sh.h = st_hasher_new();
	/* from now on the agent's retention waits for the database */
	snprintf(dir, sizeof(dir), "%s/%s", cfg.state_dir, ST_SHIPPED_DIR);
	if (!sh.h || (mkdir(dir, 0755) && errno != EEXIST)) {
		fprintf(stderr, "sealtrace ship: %s: %s\n", dir, sh.h ? strerror(errno) : "no SHA-256");
		st_hasher_free(sh.h);
		st_ship_config_free(&cfg);
		return ST_EXIT_RUNTIME;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t0 = st_monotonic_ns();
	rc = run_loop(&sh, once);
	fprintf(stderr, "ship: %" PRIu64 " records in %" PRIu64 " batches, %" PRIu64
		" checkpoints, %" PRIu64 " forks refused, %" PRIu64 " line bytes, %.1f s\n",
		sh.st.rows, sh.st.batches, sh.st.checkpoints, sh.st.forks, sh.st.bytes,
		(double)(st_monotonic_ns() - t0) / 1e9);
	PQfinish(sh.c);
	batch_reset(&sh.b);
	free(sh.b.notes);
	st_buf_free(&sh.b.copy);
	st_buf_free(&sh.field);
	st_buf_free(&sh.scratch);
	st_hasher_free(sh.h);
	st_ship_config_free(&cfg);
	return rc;
}
