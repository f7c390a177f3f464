// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace witness serve|keygen|register (witness.h): an off-node witness
 * that cosigns a log's checkpoints only when they are consistent with the
 * last one it cosigned.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"
#include "sealtrace/fleet/witness.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/proof/addckpt.h"

#define BODY_MAX	(64u << 10)
#define WKEY_FILE	"witness.key"
#define WVKEY_FILE	"witness.vkey"

struct witness {
	const char *dsn;
	char name[ST_VKEY_NAME_MAX];
	EVP_PKEY *key;
	PGconn *c;
	uint64_t served[6];	/* 200 400 403 404 409 422 */
};

struct answer {
	unsigned code;
	const char *ctype;
	struct st_buf body;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void say(struct answer *a, unsigned code, const char *ctype,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(struct answer *a, unsigned code, const char *ctype,
		const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	a->code = code;
	a->ctype = ctype;
	a->body.len = 0;
	st_buf_puts(&a->body, text);
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

/* The registered keys of a log; some must have signed the note. */
static int check_signed(struct witness *w, const struct st_addckpt *req,
			const char *logname, struct answer *a)
{
	struct st_keyset ks = { 0 };
	const char *v[1] = { logname };
	struct st_ckpt ck;
	char err[512];
	PGresult *r;
	int i, rc;

	r = q(w->c, "SELECT vkey FROM sealtrace.witness_logs WHERE origin = $1", 1, v);
	if (!ok(r)) {
		say(a, 500, "text/plain", "database: %s", PQerrorMessage(w->c));
		PQclear(r);
		return -1;
	}
	if (!PQntuples(r)) {
		PQclear(r);
		say(a, 404, "text/plain", "unknown log '%s' (sealtrace witness register)\n", logname);
		return 1;
	}
	for (i = 0; i < PQntuples(r); i++)
		if (st_keyset_add_file(&ks, PQgetvalue(r, i, 0), err, sizeof(err)) < 0) {
			fprintf(stderr, "sealtrace witness: registered key of %s: %s\n", logname, err);
		}
	PQclear(r);
	rc = st_ckpt_parse_named(req->note, req->note_len, ks.key,
				 (const char *const *)ks.note_name, ks.n, &ck, NULL,
				 err, sizeof(err));
	st_keyset_free(&ks);
	if (rc) {
		say(a, 403, "text/plain", "%s\n", err);
		return 1;
	}
	return 0;
}

static int audit(struct witness *w, const char *action, const char *origin,
		 const char *detail)
{
	const char *v[3] = { action, origin, detail };
	PGresult *r = q(w->c, "INSERT INTO sealtrace.witness_audit (action, origin, detail, actor)"
			      " VALUES ($1, $2, $3, 'witness')", 3, v);
	int rc = ok(r) ? 0 : -1;

	PQclear(r);
	return rc;
}

/* Under the row lock: the stored head, the proof, the new state. */
static int advance(struct witness *w, const struct st_addckpt *req,
		   const struct st_ckpt *ck, struct answer *a)
{
	const char *v[4];
	char size[24], root[ST_HASH_HEX + 3], why[512], detail[256];
	uint8_t stored[ST_HASH_LEN];
	struct st_hasher *h;
	uint64_t cur = 0;
	PGresult *r;
	int rc;

	v[0] = ck->origin;
	r = q(w->c, "SELECT size, encode(root, 'hex') FROM sealtrace.witness_state"
		    " WHERE origin = $1 FOR UPDATE", 1, v);
	if (!ok(r))
		goto dberr;
	if (PQntuples(r)) {
		cur = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		st_unhex(PQgetvalue(r, 0, 1), ST_HASH_HEX, stored, ST_HASH_LEN);
	}
	PQclear(r);
	if (req->old_size != cur) {
		snprintf(detail, sizeof(detail), "409: old size %" PRIu64 ", cosigned %" PRIu64
			 ", offered %" PRIu64, req->old_size, cur, ck->size);
		audit(w, "refused", ck->origin, detail);
		say(a, 409, "text/x.tlog.size", "%" PRIu64 "\n", cur);
		return 1;
	}
	if (cur) {
		h = st_hasher_new();
		rc = h ? st_consistency_verify(h, cur, ck->size, stored, ck->root,
					       (const uint8_t (*)[ST_HASH_LEN])req->proof,
					       req->nproof, why, sizeof(why)) : -1;
		st_hasher_free(h);
		if (rc) {
			snprintf(detail, sizeof(detail), "422: %" PRIu64 " -> %" PRIu64 ": %.200s",
				 cur, ck->size, rc < 0 ? "SHA-256 failed" : why);
			audit(w, "refused", ck->origin, detail);
			say(a, 422, "text/plain", "%s\n", rc < 0 ? "SHA-256 failed" : why);
			return 1;
		}
	} else if (req->nproof) {
		say(a, 422, "text/plain", "a first checkpoint takes no proof\n");
		return 1;
	}
	snprintf(size, sizeof(size), "%" PRIu64, ck->size);
	root[0] = '\\';
	root[1] = 'x';
	st_hex(ck->root, ST_HASH_LEN, root + 2);
	v[1] = size;
	v[2] = root;
	v[3] = req->note;
	r = q(w->c, "INSERT INTO sealtrace.witness_state (origin, size, root, note)"
		    " VALUES ($1, $2, $3, $4) ON CONFLICT (origin) DO UPDATE SET"
		    " size = EXCLUDED.size, root = EXCLUDED.root, note = EXCLUDED.note,"
		    " updated_at = now()", 4, v);
	if (!ok(r))
		goto dberr;
	PQclear(r);
	return 0;
dberr:
	say(a, 500, "text/plain", "database: %s", PQerrorMessage(w->c));
	PQclear(r);
	return -1;
}

static int store_cosig(struct witness *w, const struct st_ckpt *ck,
		       const char *line, uint64_t ts)
{
	char name[ST_ORIGIN_MAX], size[24], tsbuf[24], *slash;
	const char *v[6];
	PGresult *r;
	int rc;

	snprintf(name, sizeof(name), "%s", ck->origin);
	slash = strrchr(name, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(size, sizeof(size), "%" PRIu64, ck->size);
	snprintf(tsbuf, sizeof(tsbuf), "%" PRIu64, ts);
	v[0] = name;
	v[1] = slash + 1;
	v[2] = size;
	v[3] = w->name;
	v[4] = line;
	v[5] = tsbuf;
	r = q(w->c, "INSERT INTO sealtrace.cosignatures (origin, stream, size, witness, line, cosigned_at)"
		    " VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint)) ON CONFLICT DO NOTHING", 6, v);
	rc = ok(r) ? 0 : -1;
	PQclear(r);
	return rc;
}

static void add_checkpoint(struct witness *w, const char *body, size_t len,
			   struct answer *a)
{
	struct st_addckpt req;
	struct st_ckpt ck;
	char err[512], logname[ST_ORIGIN_MAX], *slash;
	struct st_buf line = { 0 };
	uint64_t ts = (uint64_t)time(NULL);
	int rc;

	if (st_addckpt_parse(body, len, &req, err, sizeof(err)) ||
	    st_ckpt_parse_any(req.note, req.note_len, NULL, 0, &ck, NULL, err, sizeof(err))) {
		say(a, 400, "text/plain", "%s\n", err);
		return;
	}
	if (req.old_size > ck.size) {
		say(a, 400, "text/plain", "old size %" PRIu64 " is beyond the checkpoint's %" PRIu64 "\n",
		    req.old_size, ck.size);
		return;
	}
	snprintf(logname, sizeof(logname), "%s", ck.origin);
	slash = strrchr(logname, '/');
	if (slash)
		*slash = '\0';
	if (PQstatus(w->c) != CONNECTION_OK)
		PQreset(w->c);
	if (st_db_exec(w->c, "BEGIN", err, sizeof(err))) {
		say(a, 503, "text/plain", "%s\n", err);
		return;
	}
	rc = check_signed(w, &req, logname, a);
	if (!rc)
		rc = advance(w, &req, &ck, a);
	if (!rc && st_cosig_sign(req.note, req.note_len, w->name, w->key, ts, &line,
				 err, sizeof(err))) {
		say(a, 500, "text/plain", "%s\n", err);
		rc = -1;
	}
	if (!rc && (store_cosig(w, &ck, line.p, ts) ||
		    st_db_exec(w->c, "COMMIT", err, sizeof(err)))) {
		say(a, 503, "text/plain", "database: %s\n", PQerrorMessage(w->c));
		rc = -1;
	}
	if (rc) {
		/* a refusal's audit row stays; nothing else of it does */
		if (rc > 0 && (a->code == 409 || a->code == 422))
			PQclear(PQexec(w->c, "COMMIT"));
		else
			PQclear(PQexec(w->c, "ROLLBACK"));
		fprintf(stderr, "witness: %s %" PRIu64 " (old %" PRIu64 "): %u %.*s", ck.origin,
			ck.size, req.old_size, a->code, (int)a->body.len, a->body.p);
		st_buf_free(&line);
		return;
	}
	a->code = 200;
	a->ctype = "text/plain; charset=utf-8";
	a->body.len = 0;
	st_buf_put(&a->body, line.p, line.len);
	st_buf_free(&line);
}

/* ---- HTTP -------------------------------------------------------------- */

struct upload {
	struct st_buf body;
	bool too_big;
};

static void count(struct witness *w, unsigned code)
{
	static const unsigned codes[] = { 200, 400, 403, 404, 409, 422 };
	size_t i;

	for (i = 0; i < 6; i++)
		if (codes[i] == code)
			w->served[i]++;
}

static enum MHD_Result respond(struct MHD_Connection *c, struct answer *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(a->body.len, a->body.p, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->ctype);
	ret = MHD_queue_response(c, a->code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct witness *w = cls;
	struct upload *u = *con_cls;
	struct answer a = { .code = 404, .ctype = "text/plain" };
	enum MHD_Result ret;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_size) {
		if (u->body.len + *upload_size > BODY_MAX)
			u->too_big = true;
		else
			st_buf_put(&u->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/add-checkpoint"))
		say(&a, 404, "text/plain", "not found (POST /add-checkpoint)\n");
	else if (strcmp(method, "POST"))
		say(&a, 405, "text/plain", "POST only\n");
	else if (u->too_big || u->body.oom)
		say(&a, 400, "text/plain", "body larger than %u bytes\n", BODY_MAX);
	else
		add_checkpoint(w, u->body.p ? u->body.p : "", u->body.len, &a);
	count(w, a.code);
	ret = respond(c, &a);
	st_buf_free(&a.body);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	if (u) {
		st_buf_free(&u->body);
		free(u);
	}
	*con_cls = NULL;
}

/* ---- keys -------------------------------------------------------------- */

static int load_witness_key(const char *dir, struct witness *w, char *err,
			    size_t errlen)
{
	char path[4200], text[ST_VKEY_MAX + 2], *plus;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, WKEY_FILE);
	f = fopen(path, "re");
	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	w->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!w->key || EVP_PKEY_get_id(w->key) != EVP_PKEY_ED25519)
		return st_errf(err, errlen, "%s: not an Ed25519 private key", path);
	snprintf(path, sizeof(path), "%s/%s", dir, WVKEY_FILE);
	f = fopen(path, "re");
	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	plus = strchr(text, '+');
	if (!plus || (size_t)(plus - text) >= sizeof(w->name))
		return st_errf(err, errlen, "%s: not a verifier key", path);
	memcpy(w->name, text, (size_t)(plus - text));
	w->name[plus - text] = '\0';
	return 0;
}

static int write_file(const char *path, const char *data, size_t len,
		      mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	bool good;

	if (fd < 0)
		return st_errf(err, errlen, "%s: %s (refusing to overwrite)", path, strerror(errno));
	good = write(fd, data, len) == (ssize_t)len && !fsync(fd);
	if (close(fd) || !good)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

static int keygen(const char *dir, const char *name)
{
	char path[4200], vkey[ST_VKEY_MAX + 1], err[4400];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int rc = ST_EXIT_RUNTIME;

	if (!k || !b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
	    st_vkey_format(name, ST_VKEY_COSIG_V1, k, vkey, sizeof(vkey) - 1)) {
		fprintf(stderr, "sealtrace witness: key generation failed (is '%s' a key name?)\n", name);
		goto out;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealtrace witness: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	len = BIO_get_mem_data(b, &pem);
	snprintf(path, sizeof(path), "%s/%s", dir, WKEY_FILE);
	if (write_file(path, pem, (size_t)len, 0600, err, sizeof(err))) {
		fprintf(stderr, "sealtrace witness: %s\n", err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, WVKEY_FILE);
	strcat(vkey, "\n");
	if (write_file(path, vkey, strlen(vkey), 0644, err, sizeof(err))) {
		fprintf(stderr, "sealtrace witness: %s\n", err);
		goto out;
	}
	printf("witness: wrote %s/%s (0600) and %s (0644): %s", dir, WKEY_FILE, path, vkey);
	rc = ST_EXIT_OK;
out:
	BIO_free(b);
	EVP_PKEY_free(k);
	return rc;
}

/* ---- register ---------------------------------------------------------- */

static int register_log(const char *dsn, const char *vkey_arg, const char *actor)
{
	struct st_keyset ks = { 0 };
	char err[2048], vkey[ST_VKEY_MAX + 1];
	const char *v[4];
	PGconn *c;
	PGresult *r;
	FILE *f;
	size_t n;
	int rc = ST_EXIT_RUNTIME;

	/* the string itself, or a file holding it (signing.vkey) */
	f = fopen(vkey_arg, "re");
	if (f) {
		n = fread(vkey, 1, sizeof(vkey) - 1, f);
		fclose(f);
		vkey[n] = '\0';
		vkey[strcspn(vkey, "\r\n")] = '\0';
	} else {
		snprintf(vkey, sizeof(vkey), "%s", vkey_arg);
	}
	if (st_keyset_add_file(&ks, vkey, err, sizeof(err)) < 0 || !ks.note_name[0]) {
		fprintf(stderr, "sealtrace witness: --vkey: %s\n", ks.n ? "not a verifier key string" : err);
		st_keyset_free(&ks);
		return ST_EXIT_USAGE;
	}
	c = st_db_connect(dsn, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sealtrace witness: %s\n", err);
		st_keyset_free(&ks);
		return ST_EXIT_RUNTIME;
	}
	v[0] = ks.note_name[0];
	v[1] = vkey;
	v[2] = actor;
	if (st_db_exec(c, "BEGIN", err, sizeof(err)))
		goto out;
	r = q(c, "INSERT INTO sealtrace.witness_logs (origin, vkey, registered_by) VALUES ($1, $2, $3)"
		 " ON CONFLICT DO NOTHING", 3, v);
	if (ok(r)) {
		PQclear(r);
		v[3] = "register";
		r = q(c, "INSERT INTO sealtrace.witness_audit (action, origin, detail, actor)"
			 " VALUES ($4, $1, $2, $3)", 4, v);
	}
	if (!ok(r) || st_db_exec(c, "COMMIT", err, sizeof(err))) {
		fprintf(stderr, "sealtrace witness: register: %s", PQerrorMessage(c));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	printf("witness: %s may sign the logs %s/decision and %s/system (registered by %s)\n",
	       vkey, ks.note_name[0], ks.note_name[0], actor);
	rc = ST_EXIT_OK;
out:
	PQfinish(c);
	st_keyset_free(&ks);
	return rc;
}

/* ---- serve ------------------------------------------------------------- */

static int serve(const char *dsn, const char *key_dir, unsigned port)
{
	struct witness w = { .dsn = dsn };
	struct MHD_Daemon *d;
	struct sigaction sa;
	char err[2048];
	int version;

	if (load_witness_key(key_dir, &w, err, sizeof(err))) {
		fprintf(stderr, "sealtrace witness: %s\n", err);
		EVP_PKEY_free(w.key);
		return ST_EXIT_USAGE;
	}
	w.c = st_db_connect(dsn, err, sizeof(err));
	version = 0;
	if (w.c && !st_db_schema_version(w.c, &version, err, sizeof(err)) && version < 2)
		snprintf(err, sizeof(err), "the database has no witness tables (sealtrace db migrate)");
	if (!w.c || version < 2) {
		fprintf(stderr, "sealtrace witness: %s\n", err);
		PQfinish(w.c);
		EVP_PKEY_free(w.key);
		return ST_EXIT_RUNTIME;
	}
	/* one thread: requests are serialised, and with them the one
	 * database connection (the row lock serialises several witnesses) */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
			     (uint16_t)port, NULL, NULL, handle, &w,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
			     MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "sealtrace witness: cannot listen on port %u\n", port);
		PQfinish(w.c);
		EVP_PKEY_free(w.key);
		return ST_EXIT_RUNTIME;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "witness: %s listening on port %u\n", w.name, port);
	while (!stop_flag)
		pause();
	MHD_stop_daemon(d);
	fprintf(stderr, "witness: served 200:%" PRIu64 " 400:%" PRIu64 " 403:%" PRIu64
		" 404:%" PRIu64 " 409:%" PRIu64 " 422:%" PRIu64 "\n", w.served[0], w.served[1],
		w.served[2], w.served[3], w.served[4], w.served[5]);
	PQfinish(w.c);
	EVP_PKEY_free(w.key);
	return ST_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace witness keygen --dir DIR --name NAME\n"
		"       sealtrace witness register --dsn DSN --vkey VKEY --actor WHO\n"
		"       sealtrace witness serve --dsn DSN --dir DIR [--port N]\n\n"
		"An off-node witness (C2SP tlog-witness): it cosigns a node's checkpoint\n"
		"only with a valid consistency proof from the size it cosigned last, so a\n"
		"log truncated or rewritten on the node, even re-signed with the node's\n"
		"own key, is refused. State in PostgreSQL (sealtrace db migrate: v2).\n\n"
		"  keygen    DIR/witness.key (Ed25519, 0600) and DIR/witness.vkey, the\n"
		"            C2SP verifier key string of type cosignature/v1 under NAME\n"
		"            (e.g. witness.example.com/w1): give it to verifiers\n"
		"  register  allow a node key (its signing.vkey, file or string) to have\n"
		"            its logs cosigned; recorded in sealtrace.witness_audit\n"
		"            with --actor. Run as the database owner.\n"
		"  serve     POST /add-checkpoint on --port (default 7380): 200 with the\n"
		"            cosignature line, 400 malformed, 403 not signed by a\n"
		"            registered key, 404 unknown log, 409 old size is not the\n"
		"            one cosigned (body: that size), 422 bad proof. Plain HTTP:\n"
		"            put TLS in front of it (a proxy) when it crosses a network.\n"
		"  -h, --help  this text\n\n"
		"Exit status: 0 ok (serve: stopped by SIGTERM/SIGINT), 2 usage or keys,\n"
		"3 database or network error.\n");
}

int cmd_witness(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		{ "dir", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "vkey", required_argument, NULL, 'v' },
		{ "actor", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "witness", .opts = opts, .usage = usage,
			      .operands = true };
	const char *dsn = NULL, *dir = NULL, *name = NULL, *vkey = NULL, *actor = NULL;
	const char *action;
	unsigned long port = 7380;
	char *end;
	int c;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dsn = optarg; break;
		case 'k': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'v': vkey = optarg; break;
		case 'a': actor = optarg; break;
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || !port || port > 65535) {
				fprintf(stderr, "sealtrace witness: --port: '%s' is not a port\n", optarg);
				return ST_EXIT_USAGE;
			}
			break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (optind == argc)
		return st_cli_usage_error(&cli, "give one action: keygen, register or serve");
	if (optind != argc - 1)
		return st_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind + 1]);
	action = argv[optind];
	if (!strcmp(action, "keygen") && dir && name)
		return keygen(dir, name);
	if (!strcmp(action, "register") && dsn && vkey && actor && *actor)
		return register_log(dsn, vkey, actor);
	if (!strcmp(action, "serve") && dsn && dir)
		return serve(dsn, dir, (unsigned)port);
	return st_cli_usage_error(&cli, "'%s' needs other options", action);
}
