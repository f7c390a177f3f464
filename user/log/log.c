// SPDX-License-Identifier: Apache-2.0
/* The audit log facade: record -> chain -> Merkle -> store -> checkpoints. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"
#include "sealtrace/log/access.h"
#include "sealtrace/log/chain.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/log.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/resume.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/log/store.h"

#define BLOCK_TARGET	(256u << 10)	/* write a block at this size */
#define BLOCK_HARD_MAX	(64u << 20)	/* refuse records beyond this backlog */
#define BLOCK_LINGER_NS	100000000ULL	/* a record waits at most ~100 ms */
#define ERR_LEN		512

struct lstream {
	enum st_stream id;
	char dir[4096];
	struct st_store *store;
	struct st_buf block;		/* whole lines, not yet written */
	uint64_t block_first_seq, block_records, block_opened_ns;
	uint64_t next_seq;
	struct st_chain chain;
	struct st_merkle tree;
	char origin[ST_ORIGIN_MAX];
	int signer;			/* accept[] index that signed the
					 * checkpoint found at open; -1 none */
	uint64_t signed_size;		/* of the last checkpoint signed */
	struct st_scan_head head;	/* first seq kept (retention) */
	bool head_known;		/* false after a resumed open of a
					 * purged stream, until retention asks */
	struct st_merkle block_tree;	/* before the block being filled */
	uint64_t room;			/* records the store takes, as known
					 * while the writer has a job (below) */
	struct st_scan_block pos;	/* the last block on disk */
	char last_id[ST_EVENT_ID_LEN + 1];	/* of the last record appended */
	/* the oldest segment as read by retention, while it stays oldest */
	bool have_oldest;
	struct st_seg_info oldest;
	struct st_scan_head after_oldest;
};

/*
 * A finished block on its way to disk: compress + write (+ fsync) run on
 * the writer thread while the next block fills, or inline without one.
 * One job at a time; while it is in flight the stores belong to the
 * writer and the log thread touches none of them. Its result is applied
 * ("reaped") by the log thread: only then do the stats, the resume
 * position and the unsynced flag move, so anything that reports
 * durability (st_log_flush, checkpoints, close) reaps first.
 */
struct wjob {
	struct lstream *st;		/* NULL: fsync only */
	struct st_buf buf;		/* the block's lines */
	uint64_t first_seq, nrec, opened_ns, now_ns;
	struct st_merkle tree;		/* before the block (resume state) */
	bool sync;			/* fsync every store afterwards */
	/* results */
	int rc;
	bool synced, have_pos;
	struct st_scan_block pos;
	char err[ERR_LEN];
};

struct writer {
	bool threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done_cv;
	bool pending, done, stop;	/* under mu */
	bool busy;			/* handed over, not reaped (log thread) */
	struct wjob job;
};

struct st_log {
	char *state_dir, *keys_dir, *system_id, *operator_id, *node_id;
	struct st_log_opts o;		/* numbers only; strings above */
	int lock_fd;
	EVP_PKEY *key;
	/* keys existing checkpoints may be signed by: [0] is key's public
	 * half, then every .pub in <keys_dir>/retired (keys rotated out) */
	struct st_keyset accept;
	char key_name[ST_ORIGIN_MAX];
	struct st_hasher *h;
	struct lstream s[ST_STREAM__COUNT];
	struct st_buf line, note;
	uint64_t since_ckpt;		/* appended records since a checkpoint */
	uint64_t last_ckpt_ns, last_sync_ns;
	bool unsynced;			/* written but not fsync'd */
	bool write_failed;		/* a block is waiting for a retry */
	char pending_err[ERR_LEN];
	uint8_t rnd[4000];		/* event id randomness, refilled */
	size_t rnd_pos;
	struct st_log_stats stats;
	char hold_err[ERR_LEN];		/* last legal hold problem recorded */
	struct writer w;
	/* signing epochs (log.h) */
	struct st_epoch_state epoch;
	EVP_PKEY *next_key;		/* signing.key.next found at open */
	EVP_PKEY *retiring;		/* the epoch key before log->key, until
					 * its files are retired (epoch_commit) */
	char seen_epoch_key[ST_PUBKEY_HASH_LEN + 1];	/* key_hash of the last
							 * key_epoch read at open */
	uint64_t access_scan_ns;	/* last look at <state_dir>/access */
};


/* ---- event ids -------------------------------------------------------- */

/* UUID version 7 (RFC 9562): 48-bit ms timestamp, 74 random bits. */
static int event_id(struct st_log *log, uint64_t ts_ns, char out[ST_EVENT_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t ms = ts_ns / 1000000ULL;
	uint8_t u[16];
	int i, j;

	if (log->rnd_pos + 10 > sizeof(log->rnd)) {
		if (RAND_bytes(log->rnd, sizeof(log->rnd)) != 1)
			return -1;
		log->rnd_pos = 0;
	}
	for (i = 0; i < 6; i++)
		u[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(u + 6, log->rnd + log->rnd_pos, 10);
	log->rnd_pos += 10;
	u[6] = (uint8_t)(0x70 | (u[6] & 0x0f));
	u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
	for (i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[u[i] >> 4];
		out[j++] = hex[u[i] & 15];
	}
	out[j] = '\0';
	return 0;
}

/* ---- blocks and sync -------------------------------------------------- */

static void note_failure(struct st_log *log, const char *msg)
{
	log->write_failed = true;
	snprintf(log->pending_err, sizeof(log->pending_err), "%s", msg);
}

/* ---- the writer ------------------------------------------------------ */

/* Writer side: compress, (seal,) write, fsync; touches only stores. */
static void run_job(struct st_log *log, struct wjob *j)
{
	struct st_store *store;
	int i;

	j->rc = 0;
	j->synced = j->have_pos = false;
	if (j->st) {
		store = j->st->store;
		j->rc = st_store_append(store, j->buf.p, j->buf.len, j->first_seq,
					j->nrec, j->now_ns, j->err, sizeof(j->err));
		if (j->rc)
			return;
		j->have_pos = !st_store_last_block(store, j->pos.segment,
						   &j->pos.offset, &j->pos.end);
	}
	if (!j->sync)
		return;
	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (st_store_sync(log->s[i].store, j->err, sizeof(j->err))) {
			j->rc = -1;
			return;
		}
	j->synced = true;
}

static void *writer_main(void *arg)
{
	struct st_log *log = arg;
	struct writer *w = &log->w;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->pending)
			break;		/* stop, nothing left */
		w->pending = false;
		pthread_mutex_unlock(&w->mu);
		run_job(log, &w->job);
		pthread_mutex_lock(&w->mu);
		w->done = true;
		pthread_cond_signal(&w->done_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* A failed block goes back in front of what was appended since. */
static int restore_block(struct st_log *log, struct wjob *j, char *err,
			 size_t errlen)
{
	struct lstream *st = j->st;
	struct st_buf tmp;

	st_buf_put(&j->buf, st->block.p, st->block.len);
	if (j->buf.oom) {
		j->buf.oom = false;
		return st_errf(err, errlen, "log: out of memory keeping a block for a retry (%s)",
			       j->err);
	}
	tmp = st->block;
	st->block = j->buf;
	j->buf = tmp;
	st->block_opened_ns = j->opened_ns;
	st->block_first_seq = j->first_seq;
	st->block_records += j->nrec;
	st->block_tree = j->tree;
	return 0;
}

/* Log side: wait for the job in flight, if any, and apply its result. */
static int reap(struct st_log *log, char *err, size_t errlen)
{
	struct writer *w = &log->w;
	struct wjob *j = &w->job;
	struct lstream *st = j->st;

	if (!w->busy)
		return 0;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		while (!w->done)
			pthread_cond_wait(&w->done_cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	w->busy = false;
	if (st)
		st->room = st_store_room(st->store);
	if (j->rc && st && !j->have_pos) {
		/* not written (a failed fsync after it leaves it written) */
		if (restore_block(log, j, err, errlen))
			return -1;
		j->buf.len = 0;
		return st_errf(err, errlen, "%s", j->err);
	}
	j->buf.len = 0;
	if (st && j->have_pos) {
		st->pos = (struct st_scan_block){
			.valid = true, .offset = j->pos.offset, .end = j->pos.end,
			.first_seq = j->first_seq, .next_seq = j->first_seq + j->nrec,
			.tree = j->tree,
		};
		memcpy(st->pos.segment, j->pos.segment, sizeof(st->pos.segment));
	}
	if (st && (j->have_pos || !j->rc)) {
		log->stats.persisted[st->id] += j->nrec;
		log->stats.blocks_written++;
		log->stats.bytes_written = st_store_bytes(log->s[0].store) +
					   st_store_bytes(log->s[1].store);
		log->unsynced = true;
	}
	if (j->synced) {
		log->unsynced = false;
		log->last_sync_ns = st_realtime_ns();
		log->stats.fsyncs++;
	}
	return j->rc ? st_errf(err, errlen, "%s", j->err) : 0;
}

/* Reap only if the writer is already done: never waits. */
static int poll_reap(struct st_log *log, char *err, size_t errlen)
{
	struct writer *w = &log->w;
	bool done;

	if (!w->busy)
		return 0;
	pthread_mutex_lock(&w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done ? reap(log, err, errlen) : 0;
}

/*
 * Hand st's block (NULL: none) to the writer, with an fsync of every
 * store after it when sync. The previous job is reaped first, so at most
 * one block is in flight. Without a writer thread the job runs here and
 * its result is returned at once.
 */
static int submit(struct st_log *log, struct lstream *st, bool sync,
		  char *err, size_t errlen)
{
	struct writer *w = &log->w;
	struct wjob *j = &w->job;
	struct st_buf tmp;
	uint64_t room;

	if (reap(log, err, errlen))
		return -1;
	j->st = st;
	j->sync = sync;
	if (st) {
		tmp = j->buf;		/* the block's buffer goes, an empty one comes */
		j->buf = st->block;
		st->block = tmp;
		st->block.len = 0;
		j->first_seq = st->block_first_seq;
		j->nrec = st->block_records;
		j->opened_ns = st->block_opened_ns;
		j->tree = st->block_tree;
		j->now_ns = st_realtime_ns();
		/* what the segment takes after this block, unless it also
		 * ends by size: a lower bound until the job is reaped */
		room = st_store_room(st->store);
		st->room = room == UINT64_MAX ? room :
			   room > j->nrec ? room - j->nrec : log->o.seg_max_records;
		st->block_records = 0;
	}
	w->busy = true;
	if (!w->threaded) {
		run_job(log, j);
		return reap(log, err, errlen);
	}
	pthread_mutex_lock(&w->mu);
	w->done = false;
	w->pending = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* How many more records st's segment takes; waits for the writer only
 * when the lower bound says the block is full. */
static uint64_t stream_room(struct st_log *log, struct lstream *st)
{
	char e[ERR_LEN];

	if (!log->w.busy)
		return st_store_room(st->store);
	if (log->w.job.st != st || st->block_records < st->room)
		return st->room;
	if (reap(log, e, sizeof(e)))
		note_failure(log, e);
	return st_store_room(st->store);
}

static int start_writer(struct st_log *log, char *err, size_t errlen)
{
	struct writer *w = &log->w;
	int e;

	sigset_t all, old;

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	/* signals (SIGTERM, SIGINT ...) stay the caller's: the writer starts
	 * with all of them blocked, so they interrupt the caller's poll */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&w->thread, NULL, writer_main, log);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return st_errf(err, errlen, "log: writer thread: %s", strerror(e));
	w->threaded = true;
	return 0;
}

/* Reap (result reported by the caller's flush/close) and join. */
static void stop_writer(struct st_log *log)
{
	struct writer *w = &log->w;
	char e[ERR_LEN];

	if (reap(log, e, sizeof(e)))
		fprintf(stderr, "sealtrace: log: last block not written: %s\n", e);
	if (!w->threaded)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->threaded = false;
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done_cv);
	pthread_mutex_destroy(&w->mu);
}

/* ---- blocks and sync -------------------------------------------------- */

/* Everything written is durable when this returns 0. */
static int sync_all(struct st_log *log, char *err, size_t errlen)
{
	if (reap(log, err, errlen))
		return -1;
	if (!log->unsynced)
		return 0;
	if (submit(log, NULL, true, err, errlen) || reap(log, err, errlen))
		return -1;
	return 0;
}

/* The block to the writer (fsync'd with it under the every-block policy). */
static int flush_stream(struct st_log *log, struct lstream *st, char *err,
			size_t errlen)
{
	if (!st->block_records)
		return 0;
	return submit(log, st, !log->o.fsync_every_ms, err, errlen);
}

static int flush_all(struct st_log *log, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (flush_stream(log, &log->s[i], err, errlen))
			return -1;
	return 0;
}

/* A flush the caller cannot act on right now: retried at the next tick. */
static void try_flush(struct st_log *log, struct lstream *st)
{
	char e[ERR_LEN];

	if (flush_stream(log, st, e, sizeof(e)))
		note_failure(log, e);
}

/* ---- appending -------------------------------------------------------- */

static int checkpoint(struct st_log *log, const char *trigger, char *err,
		      size_t errlen);

/*
 * Chain one record. internal: a record the log writes itself (checkpoint,
 * recovery) that must not trigger a checkpoint in turn.
 */
static int append(struct st_log *log, const struct st_record *rec,
		  bool internal, char *err, size_t errlen)
{
	struct st_record_hdr hdr = { 0 };
	char id[ST_EVENT_ID_LEN + 1];
	struct lstream *st;
	uint8_t leaf[ST_HASH_LEN];
	size_t before;

	if ((unsigned)rec->type >= ST_ET__COUNT)
		return st_errf(err, errlen, "log: unknown event type %d", rec->type);
	st = &log->s[st_event_stream(rec->type)];
	if (st->block.len >= BLOCK_HARD_MAX) {
		if (flush_stream(log, st, err, errlen) || reap(log, err, errlen))
			return -1;	/* the backlog is full: refuse */
	} else if (st->block_records &&
		   (st->block.len >= BLOCK_TARGET ||
		    st->block_records >= stream_room(log, st))) {
		try_flush(log, st);
	}
	if (event_id(log, rec->timestamp_ns, id))
		return st_errf(err, errlen, "log: no randomness for an event id");
	hdr.event_id = id;
	hdr.system_id = log->system_id;
	hdr.operator_id = log->operator_id;
	hdr.node_id = log->node_id;
	hdr.stream = st->id;
	hdr.seq = st->next_seq;
	st_chain_prev_hex(&st->chain, hdr.prev_hex);
	log->line.len = 0;
	if (st_record_canon(&log->line, &hdr, rec, err, errlen))
		return -1;
	before = st->block.len;
	if (!st->block_records)
		st->block_tree = st->tree;	/* for the resume state */
	st_buf_put(&st->block, log->line.p, log->line.len);
	st_buf_putc(&st->block, '\n');
	if (st->block.oom) {
		st->block.oom = false;
		st->block.len = before;
		return st_errf(err, errlen, "log: out of memory buffering a record");
	}
	if (st_merkle_leaf(log->h, log->line.p, log->line.len, leaf) ||
	    st_merkle_append(&st->tree, log->h, leaf) ||
	    st_chain_advance(&st->chain, log->h, log->line.p, log->line.len)) {
		/* the tree may be half-updated: this log cannot go on */
		st->block.len = before;
		return st_errf(err, errlen, "log: SHA-256 failed");
	}
	if (!st->block_records) {
		st->block_first_seq = st->next_seq;
		st->block_opened_ns = st_realtime_ns();
	}
	st->block_records++;
	st->next_seq++;
	memcpy(st->last_id, id, sizeof(st->last_id));
	log->stats.appended[st->id]++;
	if (st->block_records >= stream_room(log, st))
		try_flush(log, st);	/* end the segment on the exact count */
	if (internal)
		return 0;
	log->since_ckpt++;
	if (log->o.ckpt_every_records && log->since_ckpt >= log->o.ckpt_every_records) {
		char e[ERR_LEN];

		if (checkpoint(log, "records", e, sizeof(e)))
			note_failure(log, e);
	}
	return 0;
}

int st_log_append(struct st_log *log, const struct st_record *rec, char *err,
		  size_t errlen)
{
	/* verify treats these as the log's own statements: only it writes them */
	if (rec->type == ST_ET_CHECKPOINT || rec->type == ST_ET_RECOVERY ||
	    rec->type == ST_ET_RETENTION_PURGE)
		return st_errf(err, errlen, "log: %s records are written by the log itself",
			    st_event_type_name(rec->type));
	return append(log, rec, false, err, errlen);
}

/* ---- checkpoints ------------------------------------------------------ */

static int write_checkpoint_file(struct lstream *st, const char *note,
				 size_t len, char *err, size_t errlen)
{
	char tmp[4200], final[4200];

	snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", st->dir);
	snprintf(final, sizeof(final), "%s/checkpoint", st->dir);
	/* a reader sees the old note or the new one, never half */
	return st_replace_file(st->dir, final, tmp, note, len, 0644, err, errlen);
}

static int checkpoint_record(struct st_log *log, struct lstream *st,
			     const struct st_ckpt *c, const struct st_merkle *tree,
			     const char *note, const char *trigger, char *err,
			     size_t errlen)
{
	char root[ST_HASH_HEX + 1], frontier[ST_FRONTIER_HEX_MAX + 1];
	struct st_kv d[6] = {
		{ .key = "checkpoint_stream", .kind = ST_KV_STR,
		  .v.s = st_stream_name(st->id) },
		{ .key = "tree_size", .kind = ST_KV_UINT, .v.u = c->size },
		{ .key = "root_hash", .kind = ST_KV_STR, .v.s = root },
		{ .key = "note", .kind = ST_KV_STR, .v.s = note },
		{ .key = "trigger", .kind = ST_KV_STR, .v.s = trigger },
	};
	struct st_record r = {
		.type = ST_ET_CHECKPOINT, .timestamp_ns = st_realtime_ns(),
		.input_len = -1, .output_len = -1, .duration_ns = -1,
		.details = d, .ndetails = 5,
	};

	st_hex(c->root, ST_HASH_LEN, root);
	/*
	 * The tree's frontier at the signed size: with it, the lines up to
	 * the next signed head prove a record in that head without reading
	 * the stream from seq 0 (sealtrace reconstruct). Nothing trusts it:
	 * a wrong frontier gives a root the next note refutes.
	 */
	if (tree->size == c->size && c->size) {
		st_frontier_format(tree, frontier);
		d[r.ndetails++] = (struct st_kv){ .key = "frontier", .kind = ST_KV_STR,
						  .v.s = frontier };
	}
	return append(log, &r, true, err, errlen);
}

/*
 * The state after the checkpoint just signed, for the next open
 * (resume.h). Only an optimisation: the next open checks it against the
 * signed note and falls back to reading everything, so a failure here
 * is reported, not fatal, and the stale file it leaves is refused then.
 */
static void write_resume(struct st_log *log, struct lstream *st,
			 const char *note)
{
	struct st_resume *r;
	char e[ERR_LEN];
	int rc;

	/* the last block on disk must end with the last record signed */
	if (!st->pos.valid || st->pos.next_seq != st->tree.size)
		return;
	r = malloc(sizeof(*r));		/* big: two frontiers and a note */
	if (!r) {
		fprintf(stderr, "sealtrace: %s: resume state not written: out of memory\n",
			st->dir);
		return;
	}
	r->size = st->tree.size;
	r->tree = st->tree;
	memcpy(r->head, st->chain.prev, ST_HASH_LEN);
	r->block = st->pos;
	r->note_len = strlen(note);
	rc = -1;
	if (r->note_len < sizeof(r->note)) {
		memcpy(r->note, note, r->note_len + 1);
		rc = st_resume_write(st->dir, r, e, sizeof(e));
	} else {
		snprintf(e, sizeof(e), "checkpoint note too long");
	}
	if (rc) {
		fprintf(stderr, "sealtrace: %s: resume state not written: %s\n",
			st->dir, e);
		log->stats.resume_write_failures++;
	}
	free(r);
}

static int checkpoint(struct st_log *log, const char *trigger, char *err,
		      size_t errlen)
{
	struct st_ckpt c[ST_STREAM__COUNT];
	struct st_merkle signed_tree[ST_STREAM__COUNT];
	size_t at[ST_STREAM__COUNT];
	int i;

	/* sign only what is on disk and synced: a crash cannot undo it */
	if (flush_all(log, err, errlen) || sync_all(log, err, errlen))
		return -1;
	memset(c, 0, sizeof(c));
	log->note.len = 0;
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		struct lstream *st = &log->s[i];

		snprintf(c[i].origin, sizeof(c[i].origin), "%s", st->origin);
		c[i].size = st->tree.size;
		signed_tree[i] = st->tree;
		if (st_merkle_root(&st->tree, log->h, c[i].root))
			return st_errf(err, errlen, "log: SHA-256 failed");
		at[i] = log->note.len;
		if (st_ckpt_sign(&c[i], log->key_name, log->key, &log->note,
				 err, errlen))
			return -1;
		st_buf_putc(&log->note, '\0');	/* notes kept side by side */
		if (log->note.oom)
			return st_errf(err, errlen, "log: out of memory");
	}
	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (write_checkpoint_file(&log->s[i], log->note.p + at[i],
					  strlen(log->note.p + at[i]), err, errlen))
			return -1;
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		log->s[i].signed_size = c[i].size;	/* on disk, signed */
		write_resume(log, &log->s[i], log->note.p + at[i]);
	}
	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (checkpoint_record(log, &log->s[i], &c[i], &signed_tree[i],
				      log->note.p + at[i], trigger, err, errlen))
			return -1;
	log->since_ckpt = 0;
	log->last_ckpt_ns = st_realtime_ns();
	log->stats.checkpoints += ST_STREAM__COUNT;
	log->stats.last_checkpoint_ns = log->last_ckpt_ns;
	return 0;
}

/* ---- signing epochs (log.h) ------------------------------------------- */

/*
 * The new key's public half, signed by the current key over its place in
 * the system stream (keys.h st_epoch_message), as a key_epoch record.
 */
static int key_epoch_record(struct st_log *log, EVP_PKEY *next, char *err,
			    size_t errlen)
{
	struct lstream *st = &log->s[ST_STREAM_SYSTEM];
	char msg[1024], prev[ST_HASH_HEX + 1], pubhex[65], sighex[129];
	char newh[ST_PUBKEY_HASH_LEN + 1], oldh[ST_PUBKEY_HASH_LEN + 1];
	uint8_t pub[32], sig[64];
	uint64_t epoch = log->epoch.epoch + 1;
	struct st_kv d[6];
	struct st_record r = {
		.type = ST_ET_KEY_EPOCH, .timestamp_ns = st_realtime_ns(),
		.input_len = -1, .output_len = -1, .duration_ns = -1,
		.details = d, .ndetails = 6,
	};
	int n;

	st_chain_prev_hex(&st->chain, prev);
	if (st_pubkey_raw(next, pub) || st_pubkey_hash(next, newh) ||
	    st_pubkey_hash(log->key, oldh))
		return st_errf(err, errlen, "log: Ed25519 public key unavailable");
	n = st_epoch_message(msg, sizeof(msg), log->key_name, epoch, st->next_seq,
			     prev, pub);
	if (n < 0 || st_ed25519_sign(log->key, msg, (size_t)n, sig))
		return st_errf(err, errlen, "log: signing the key_epoch statement failed");
	st_hex(pub, sizeof(pub), pubhex);
	st_hex(sig, sizeof(sig), sighex);
	d[0] = (struct st_kv){ .key = "epoch", .kind = ST_KV_UINT, .v.u = epoch };
	d[1] = (struct st_kv){ .key = "epoch_seconds", .kind = ST_KV_UINT,
			       .v.u = log->o.epoch_seconds };
	d[2] = (struct st_kv){ .key = "key_hash", .kind = ST_KV_STR, .v.s = newh };
	d[3] = (struct st_kv){ .key = "prev_key_hash", .kind = ST_KV_STR, .v.s = oldh };
	d[4] = (struct st_kv){ .key = "public_key", .kind = ST_KV_STR, .v.s = pubhex };
	d[5] = (struct st_kv){ .key = "signature", .kind = ST_KV_STR, .v.s = sighex };
	return append(log, &r, true, err, errlen);
}

/*
 * The announced key signs from now on (in memory at once: once its
 * key_epoch record is in the block, no head may be signed by the old key);
 * the files follow in epoch_commit once that record is on disk.
 */
static void epoch_switch(struct st_log *log, EVP_PKEY *next, uint64_t now_ns)
{
	EVP_PKEY_free(log->retiring);	/* a commit still pending: superseded */
	log->retiring = log->key;
	log->key = next;
	log->epoch.epoch++;
	log->epoch.started_ns = now_ns;
}

/* signing.key.next over signing.key, the old one zeroed and gone (keys.h). */
static int epoch_commit(struct st_log *log, char *err, size_t errlen)
{
	if (!log->retiring)
		return 0;
	if (st_epoch_commit(log->keys_dir, log->retiring, log->key,
			    log->epoch.epoch - 1, log->epoch.started_ns, err, errlen))
		return -1;
	EVP_PKEY_free(log->retiring);	/* OpenSSL clears the private bytes */
	log->retiring = NULL;
	return st_pubkey_hash(log->key, log->epoch.key_hash) ?
		st_errf(err, errlen, "log: SHA-256 of a public key failed") : 0;
}

/* The announced key becomes the signing key; the old one is erased. */
static int install_next(struct st_log *log, EVP_PKEY *next, uint64_t now_ns,
			char *err, size_t errlen)
{
	epoch_switch(log, next, now_ns);
	return epoch_commit(log, err, errlen);
}

static bool epoch_due(const struct st_log *log, uint64_t now_ns)
{
	uint64_t len = log->o.epoch_seconds * 1000000000ull;

	return log->o.epoch_seconds && now_ns >= log->epoch.started_ns &&
	       now_ns - log->epoch.started_ns >= len;
}

/*
 * Next key on disk first (a crash leaves it for the open to resolve),
 * then its announcement, written and synced, then the switch. No
 * checkpoint between announcement and switch: the first head after a
 * key_epoch record is always the new key's.
 */
static int epoch_advance(struct st_log *log, uint64_t now_ns, char *err,
			 size_t errlen)
{
	EVP_PKEY *next;

	if (st_epoch_prepare(log->keys_dir, &next, err, errlen))
		return -1;
	if (key_epoch_record(log, next, err, errlen)) {
		EVP_PKEY_free(next);	/* not announced: the next open erases it */
		return -1;
	}
	epoch_switch(log, next, now_ns);
	/* a failure here leaves the files to the next tick, or to the open
	 * after a crash (which finds signing.key.next and its record) */
	if (flush_all(log, err, errlen) || sync_all(log, err, errlen))
		return -1;
	return epoch_commit(log, err, errlen);
}

/*
 * At open: the epoch state, and an interrupted change. signing.key.next
 * whose key_epoch record reached the log is installed; one that did not
 * was never announced and is erased. A signing.epoch that names another
 * key than signing.key is one change behind (a crash after the rename).
 */
static int epoch_open(struct st_log *log, char *err, size_t errlen)
{
	char cur[ST_PUBKEY_HASH_LEN + 1], next[ST_PUBKEY_HASH_LEN + 1];
	uint64_t now = st_realtime_ns();
	EVP_PKEY *k = log->next_key;
	int rc;

	log->next_key = NULL;
	if (k) {
		if (st_pubkey_hash(k, next)) {
			EVP_PKEY_free(k);
			return st_errf(err, errlen, "log: SHA-256 of a public key failed");
		}
		if (!strcmp(next, log->seen_epoch_key))
			return install_next(log, k, now, err, errlen);
		EVP_PKEY_free(k);
		if (st_epoch_discard(log->keys_dir, err, errlen))
			return -1;
	}
	if (st_pubkey_hash(log->key, cur))
		return st_errf(err, errlen, "log: SHA-256 of a public key failed");
	if (!strcmp(cur, log->epoch.key_hash) || !log->o.epoch_seconds)
		return 0;
	if (log->epoch.key_hash[0])
		log->epoch.epoch++;	/* renamed, but the file not rewritten */
	log->epoch.started_ns = now;
	memcpy(log->epoch.key_hash, cur, sizeof(cur));
	rc = st_epoch_write(log->keys_dir, &log->epoch, err, errlen);
	return rc;
}

/* ---- reads recorded while no agent answered (access.h) ---------------- */

#define ACCESS_SCAN_NS		1000000000ULL
#define ACCESS_BATCH		256

static int access_record(struct st_log *log, const struct st_access_note *n,
			 char *err, size_t errlen)
{
	char actor[40], reqd[40];
	struct st_kv d[7];
	struct st_record r = {
		.type = ST_ET_LOG_ACCESS, .timestamp_ns = st_realtime_ns(),
		.pid = n->pid > 0 && n->pid <= INT32_MAX ? (int32_t)n->pid : 0,
		.input_len = -1, .output_len = -1, .duration_ns = -1,
		.details = d,
	};
	size_t k = 0;

	snprintf(actor, sizeof(actor), "uid:%" PRId64, n->uid);
	snprintf(reqd, sizeof(reqd), "gid:%" PRId64, n->gid);
	d[k++] = (struct st_kv){ .key = "action", .kind = ST_KV_STR, .v.s = n->action };
	d[k++] = (struct st_kv){ .key = "actor", .kind = ST_KV_STR, .v.s = actor };
	d[k++] = (struct st_kv){ .key = "actor_gid", .kind = ST_KV_STR, .v.s = reqd };
	d[k++] = (struct st_kv){ .key = "filter", .kind = ST_KV_STR, .v.s = n->filter };
	d[k++] = (struct st_kv){ .key = "outcome", .kind = ST_KV_STR, .v.s = n->outcome };
	d[k++] = (struct st_kv){ .key = "requested_ns", .kind = ST_KV_UINT, .v.u = n->time_ns };
	if (n->reason[0])
		d[k++] = (struct st_kv){ .key = "reason", .kind = ST_KV_STR, .v.s = n->reason };
	r.ndetails = k;
	return append(log, &r, true, err, errlen);
}

/*
 * Pending-access files become log_access records; the files go only once
 * the records are on disk (a crash in between records a read twice,
 * never not at all).
 */
static int seal_pending_access(struct st_log *log, char *err, size_t errlen)
{
	struct st_access_pending p;
	size_t i;
	int rc = 0;

	log->access_scan_ns = st_realtime_ns();
	if (st_access_pending_read(log->state_dir, ACCESS_BATCH, &p, err, errlen))
		return -1;
	for (i = 0; i < p.n && !rc; i++)
		rc = access_record(log, &p.note[i], err, errlen);
	if (!rc && p.n)
		rc = flush_all(log, err, errlen) || sync_all(log, err, errlen) ||
		     st_access_pending_done(log->state_dir, &p, err, errlen) ? -1 : 0;
	st_access_pending_free(&p);
	return rc;
}

/* ---- tick, flush, close ----------------------------------------------- */

static int retry_failed(struct st_log *log, char *err, size_t errlen)
{
	if (!log->write_failed)
		return 0;
	if (flush_all(log, err, errlen))
		return -1;
	log->write_failed = false;
	return 0;
}

int st_log_tick(struct st_log *log, uint64_t now_ns, char *err, size_t errlen)
{
	struct lstream *st;
	bool access_due;
	int i;

	if (poll_reap(log, err, errlen))
		note_failure(log, err);
	if (retry_failed(log, err, errlen))
		return -1;
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		st = &log->s[i];
		if (st->block_records && (now_ns < st->block_opened_ns ||
					  now_ns - st->block_opened_ns >= BLOCK_LINGER_NS))
			if (flush_stream(log, st, err, errlen))
				return -1;
	}
	/* the policy's fsync goes to the writer behind the blocks before it:
	 * nothing waits for it (flush and checkpoints do their own) */
	if (log->o.fsync_every_ms && (log->unsynced || log->w.busy) &&
	    (now_ns < log->last_sync_ns ||
	     now_ns - log->last_sync_ns >= log->o.fsync_every_ms * 1000000ULL)) {
		log->last_sync_ns = now_ns;	/* requested; reaping sets it again */
		if (submit(log, NULL, true, err, errlen))
			return -1;
	}
	if (log->o.ckpt_every_seconds &&
	    (now_ns < log->last_ckpt_ns ||
	     now_ns - log->last_ckpt_ns >= log->o.ckpt_every_seconds * 1000000000ULL))
		if (checkpoint(log, "time", err, errlen))
			return -1;
	/*
	 * Pending-access notes and signing epochs flush, sync, sign and
	 * rotate keys: they run with no block in flight, so the writer's
	 * job is reaped (waited for) first when either is due.
	 */
	access_due = now_ns < log->access_scan_ns ||
		     now_ns - log->access_scan_ns >= ACCESS_SCAN_NS;
	if ((access_due || log->retiring || epoch_due(log, now_ns)) &&
	    reap(log, err, errlen))
		return -1;
	if (access_due && seal_pending_access(log, err, errlen))
		return -1;
	if (log->retiring && (flush_all(log, err, errlen) || sync_all(log, err, errlen) ||
			      epoch_commit(log, err, errlen)))
		return -1;
	if (epoch_due(log, now_ns) &&
	    (epoch_advance(log, now_ns, err, errlen) ||
	     checkpoint(log, "epoch", err, errlen)))
		return -1;
	if (poll_reap(log, err, errlen))
		return -1;
	for (i = 0; i < ST_STREAM__COUNT && !log->w.busy; i++) {
		st = &log->s[i];
		/* rotate by age only between blocks, with the writer idle */
		if (!st->block_records && st_store_tick(st->store, now_ns, err, errlen))
			return -1;
		st->room = st_store_room(st->store);
	}
	return 0;
}

int st_log_flush(struct st_log *log, char *err, size_t errlen)
{
	if (flush_all(log, err, errlen))
		return -1;
	log->write_failed = false;
	return sync_all(log, err, errlen);
}

const char *st_log_last_event_id(const struct st_log *log, enum st_stream s)
{
	if ((unsigned)s >= ST_STREAM__COUNT || !log->s[s].next_seq)
		return NULL;
	return log->s[s].last_id;
}

uint64_t st_log_seq(const struct st_log *log, enum st_stream s)
{
	if ((unsigned)s >= ST_STREAM__COUNT)
		return 0;
	return log->s[s].next_seq;
}

void st_log_get_stats(const struct st_log *log, struct st_log_stats *out)
{
	*out = log->stats;
}

static void log_free(struct st_log *log)
{
	int i;

	stop_writer(log);
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		st_store_close(log->s[i].store, NULL, 0);
		st_buf_free(&log->s[i].block);
	}
	st_buf_free(&log->w.job.buf);
	st_buf_free(&log->line);
	st_buf_free(&log->note);
	st_hasher_free(log->h);
	EVP_PKEY_free(log->key);
	EVP_PKEY_free(log->next_key);
	EVP_PKEY_free(log->retiring);
	st_keyset_free(&log->accept);
	if (log->lock_fd >= 0)
		close(log->lock_fd);	/* releases the flock */
	free(log->state_dir);
	free(log->keys_dir);
	free(log->system_id);
	free(log->operator_id);
	free(log->node_id);
	free(log);
}

int st_log_close(struct st_log *log, char *err, size_t errlen)
{
	int rc = 0, i;

	if (!log)
		return 0;
	/* the final head covers everything; its own records follow it */
	if (checkpoint(log, "close", err, errlen) ||
	    flush_all(log, err, errlen) || sync_all(log, err, errlen) ||
	    epoch_commit(log, err, errlen))
		rc = -1;
	for (i = 0; i < ST_STREAM__COUNT && !rc; i++) {
		rc = st_store_close(log->s[i].store, err, errlen);
		log->s[i].store = NULL;
	}
	log_free(log);
	return rc;
}

/* ---- open ------------------------------------------------------------- */

struct resume {
	struct st_log *log;
	struct st_ckpt ckpt;		/* the stream's own last checkpoint */
	bool has_ckpt;
	size_t signer;			/* log->accept index that signed it */
	bool last_was_close;		/* last record: checkpoint at close */
	char why[256];
	char note[ST_NOTE_MAX];		/* the checkpoint file, verbatim */
	size_t note_len;
};

static int resume_cb(void *ctx, const struct st_scan_rec *r, char *err,
		     size_t errlen)
{
	struct resume *rs = ctx;
	const struct st_kv *t;
	uint8_t root[ST_HASH_LEN];

	if (rs->has_ckpt && r->tree->size == rs->ckpt.size) {
		if (st_merkle_root(r->tree, r->h, root))
			return st_errf(err, errlen, "SHA-256 failed");
		if (memcmp(root, rs->ckpt.root, ST_HASH_LEN)) {
			st_errf(err, errlen, "%s/%s seq %" PRIu64
			     ": the records before it do not match the signed checkpoint",
			     st_stream_name(r->stream), r->segment, r->p->hdr.seq);
			return 1;
		}
	}
	if (r->p->rec.type == ST_ET_KEY_EPOCH) {
		t = st_record_detail(&r->p->rec, "key_hash");
		if (t && t->kind == ST_KV_STR)
			snprintf(rs->log->seen_epoch_key, sizeof(rs->log->seen_epoch_key),
				 "%s", t->v.s);
	}
	t = st_record_detail(&r->p->rec, "trigger");
	rs->last_was_close = r->p->rec.type == ST_ET_CHECKPOINT && t &&
			     t->kind == ST_KV_STR && !strcmp(t->v.s, "close");
	return 0;
}

static int read_own_checkpoint(struct st_log *log, struct lstream *st,
			       struct resume *rs, char *err, size_t errlen)
{
	char path[4200], *note = rs->note;
	size_t len;

	snprintf(path, sizeof(path), "%s/checkpoint", st->dir);
	if (access(path, F_OK))
		return 0;
	if (st_ckpt_read_file(path, note, sizeof(rs->note), &len, err, errlen))
		return -1;
	rs->note_len = len;
	/* a retired key may have signed it: the run before a rotation */
	if (st_ckpt_parse_any(note, len, log->accept.key, log->accept.n,
			      &rs->ckpt, &rs->signer, rs->why, sizeof(rs->why)))
		return st_errf(err, errlen, "%s: %s; accepted: the current signing key and %zu retired key(s) "
			    "(*.pub in %s and %s/" ST_KEYS_RETIRED_DIR ") (signed by another key?)",
			    path, rs->why, log->accept.n - 1, log->keys_dir, log->keys_dir);
	if (strcmp(rs->ckpt.origin, st->origin) &&
	    st_ckpt_stream(&rs->ckpt) != (int)st->id)
		return st_errf(err, errlen, "%s: origin '%s' is not this stream's",
			    path, rs->ckpt.origin);
	rs->has_ckpt = true;
	return 0;
}

/*
 * Continue from the resume state instead of reading the whole stream.
 * Why this is safe although the segments before N are not read: the
 * state is taken only when it reproduces the root of the stream's own
 * signed checkpoint of size N (st_resume_check re-reads the block ending
 * with N-1 from the segment), so records 0..N-1 are those the signature
 * covers, and an edit of them is verify's to report, as it is of any
 * signed record; a forged frontier or chain head cannot match it without
 * a SHA-256 collision. Everything after N is read from disk with every
 * check of a full scan (canonical form, seq, chain from the head of N-1,
 * tree growth from the signed frontier), and the next checkpoint signs
 * that tree. 0: scanned, *scan_rc as st_scan_stream's; 1: not usable,
 * stderr says why, the caller reads everything.
 */
static int resume_fast(struct st_log *log, struct lstream *st,
		       struct resume *rs, struct st_scan_result *res,
		       int *scan_rc, char *err, size_t errlen)
{
	struct st_scan_from from;
	struct st_resume *r;
	char why[ERR_LEN];
	uint64_t lines = 0;
	int rc;

	r = malloc(sizeof(*r));		/* big: two frontiers and a note */
	if (!r)
		return 1;
	rc = st_resume_read(st->dir, r, why, sizeof(why));
	if (rc == 1)
		snprintf(why, sizeof(why), "no resume state");
	else if (!rc && !rs->has_ckpt)
		rc = st_failf(why, sizeof(why), "no signed checkpoint");
	else if (!rc)
		rc = st_resume_check(st->dir, st->id, r, &rs->ckpt, rs->note,
				     rs->note_len, log->h, resume_cb, rs, &from,
				     &lines, why, sizeof(why));
	free(r);
	if (rc) {
		/* a new log has neither: nothing to say */
		if (rs->has_ckpt || strcmp(why, "no resume state"))
			fprintf(stderr, "sealtrace: %s: not resuming (%s); reading the whole stream\n",
				st->dir, why);
		rs->last_was_close = false;
		return 1;
	}
	*scan_rc = st_scan_stream_from(log->state_dir, st->id, &from, resume_cb,
				       rs, res, err, errlen);
	log->stats.records_scanned_at_open[st->id] = lines + res->records - from.seq;
	log->stats.resumed_at_open++;
	st->head_known = false;		/* retention finds it when it needs it */
	return 0;
}

static int scan_stream(struct st_log *log, struct lstream *st,
		       struct resume *rs, struct st_scan_result *res,
		       char *err, size_t errlen)
{
	int rc;

	if (!resume_fast(log, st, rs, res, &rc, err, errlen))
		return rc;
	rc = st_scan_stream(log->state_dir, st->id, resume_cb, rs, res, err,
			    errlen);
	log->stats.records_scanned_at_open[st->id] = res->records - res->head.seq;
	st->head = res->head;
	st->head_known = true;
	return rc;
}

static int resume_stream(struct st_log *log, struct lstream *st,
			 bool *unclean, char *err, size_t errlen)
{
	struct st_scan_result res;
	struct resume rs = { .log = log };
	uint8_t root[ST_HASH_LEN];
	int rc;

	if (read_own_checkpoint(log, st, &rs, err, errlen))
		return -1;
	rc = scan_stream(log, st, &rs, &res, err, errlen);
	if (rc > 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "; refusing to append to a log that fails verification (move %s aside)",
			 st->dir);
		return -1;
	}
	if (rc < 0)
		return -1;
	if (rs.has_ckpt && rs.ckpt.size > res.records)
		return st_errf(err, errlen, "%s: %" PRIu64 " records but its last checkpoint signs %" PRIu64
			    " (records lost or removed); refusing to append (move it aside)",
			    st->dir, res.records, rs.ckpt.size);
	if (rs.has_ckpt && rs.ckpt.size == res.records) {
		if (st_merkle_root(&res.tree, log->h, root))
			return st_errf(err, errlen, "SHA-256 failed");
		if (memcmp(root, rs.ckpt.root, ST_HASH_LEN))
			return st_errf(err, errlen, "%s: the records do not match the signed checkpoint; refusing to append",
				    st->dir);
	}
	st->next_seq = res.records;
	st->chain = res.chain;
	st->tree = res.tree;
	st->signer = rs.has_ckpt ? (int)rs.signer : -1;
	st->pos = res.last_block;
	if (st->id == ST_STREAM_SYSTEM && res.has_last && !rs.last_was_close)
		*unclean = true;
	return 0;
}

static int recovery_record(struct st_log *log, struct lstream *st,
			   const struct st_recovery *rec, bool torn,
			   char *err, size_t errlen)
{
	struct st_kv d[7];
	struct st_record r = {
		.type = ST_ET_RECOVERY, .timestamp_ns = st_realtime_ns(),
		.input_len = -1, .output_len = -1, .duration_ns = -1,
		.details = d,
	};
	size_t n = 0;

	d[n++] = (struct st_kv){ .key = "reason", .kind = ST_KV_STR,
				 .v.s = torn ? "torn_tail" : "unclean_stop" };
	d[n++] = (struct st_kv){ .key = "recovered_stream", .kind = ST_KV_STR,
				 .v.s = st_stream_name(st->id) };
	d[n++] = (struct st_kv){ .key = "next_seq", .kind = ST_KV_UINT,
				 .v.u = st->next_seq };
	if (torn) {
		d[n++] = (struct st_kv){ .key = "segment", .kind = ST_KV_STR,
					 .v.s = rec->segment };
		d[n++] = (struct st_kv){ .key = "kept_bytes", .kind = ST_KV_UINT,
					 .v.u = rec->good_end };
		d[n++] = (struct st_kv){ .key = "torn_bytes", .kind = ST_KV_UINT,
					 .v.u = rec->torn_bytes };
		d[n++] = (struct st_kv){ .key = "torn_file", .kind = ST_KV_STR,
					 .v.s = rec->torn_file };
	}
	r.ndetails = n;
	log->stats.recoveries++;
	return append(log, &r, true, err, errlen);
}

/*
 * The last checkpoint was signed by a retired key: the signing key was
 * rotated between runs. Say so in the log, so the key change is itself
 * under the chain and the next signed head (by the new key).
 */
static int rotation_record(struct st_log *log, char *err, size_t errlen)
{
	char old_hash[ST_PUBKEY_HASH_LEN + 1], new_hash[ST_PUBKEY_HASH_LEN + 1];
	struct st_kv d[4];
	struct st_record r = {
		.type = ST_ET_CONFIG_CHANGE, .timestamp_ns = st_realtime_ns(),
		.input_len = -1, .output_len = -1, .duration_ns = -1,
		.details = d, .ndetails = 4,
	};
	int old = log->s[ST_STREAM_SYSTEM].signer;

	if (old <= 0)
		old = log->s[ST_STREAM_DECISION].signer;
	if (old <= 0)
		return 0;	/* a new log, or signed by the current key */
	if (st_pubkey_hash(log->accept.key[old], old_hash) ||
	    st_pubkey_hash(log->accept.key[0], new_hash))
		return st_errf(err, errlen, "log: SHA-256 of a public key failed");
	d[0] = (struct st_kv){ .key = "signing_key_rotated", .kind = ST_KV_BOOL,
			       .v.b = true };
	d[1] = (struct st_kv){ .key = "old_key_hash", .kind = ST_KV_STR,
			       .v.s = old_hash };
	d[2] = (struct st_kv){ .key = "new_key_hash", .kind = ST_KV_STR,
			       .v.s = new_hash };
	d[3] = (struct st_kv){ .key = "old_key_file", .kind = ST_KV_STR,
			       .v.s = log->accept.name[old] };
	return append(log, &r, true, err, errlen);
}

static int lock_state(struct st_log *log, char *err, size_t errlen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/.lock", log->state_dir);
	log->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (log->lock_fd < 0)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (flock(log->lock_fd, LOCK_EX | LOCK_NB))
		return st_errf(err, errlen, "%s: %s (another sealtrace writes this state dir?)",
			    path, errno == EWOULDBLOCK ? "locked" : strerror(errno));
	return 0;
}

/* The current key first (index 0 means "not rotated"), then retired ones. */
static int load_accepted_keys(struct st_log *log, char *err, size_t errlen)
{
	uint8_t raw[32];
	char dir[4200];
	EVP_PKEY *pub;
	size_t found;

	if (st_pubkey_raw(log->key, raw))
		return st_errf(err, errlen, "%s/signing.key: no Ed25519 public half",
			    log->keys_dir);
	pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
	if (!pub)
		return st_errf(err, errlen, "log: out of memory");
	snprintf(dir, sizeof(dir), "%s/signing.key", log->keys_dir);
	if (st_keyset_add(&log->accept, pub, dir, err, errlen) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/" ST_KEYS_RETIRED_DIR, log->keys_dir);
	if (st_keyset_add_dir(&log->accept, dir, true, &found, err, errlen))
		return -1;
	/*
	 * Also every *.pub beside signing.key: a Kubernetes Secret is flat, so
	 * retired public keys arrive there as retired-<time>.pub.
	 */
	return st_keyset_add_dir(&log->accept, log->keys_dir, true, &found, err, errlen);
}

static int init_log(struct st_log *log, const struct st_log_opts *o,
		    char *err, size_t errlen)
{
	log->lock_fd = -1;
	log->o = *o;
	log->o.state_dir = log->o.keys_dir = NULL;
	log->o.system_id = log->o.operator_id = log->o.node_id = NULL;
	log->rnd_pos = sizeof(log->rnd);	/* refill on first use */
	log->state_dir = strdup(o->state_dir);
	log->keys_dir = strdup(o->keys_dir);
	log->system_id = o->system_id ? strdup(o->system_id) : NULL;
	log->operator_id = o->operator_id ? strdup(o->operator_id) : NULL;
	log->node_id = o->node_id ? strdup(o->node_id) : NULL;
	log->h = st_hasher_new();
	if (!log->state_dir || !log->keys_dir || !log->h || (o->system_id && !log->system_id) ||
	    (o->operator_id && !log->operator_id) || (o->node_id && !log->node_id))
		return st_errf(err, errlen, "log: out of memory");
	if (mkdir(o->state_dir, 0750) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", o->state_dir, strerror(errno));
	if (lock_state(log, err, errlen) ||
	    st_signing_key_load(o->keys_dir, &log->key, err, errlen) ||
	    load_accepted_keys(log, err, errlen) ||
	    st_epoch_read(o->keys_dir, &log->epoch, err, errlen) < 0 ||
	    st_epoch_pending(o->keys_dir, &log->next_key, err, errlen) < 0)
		return -1;
	if (st_ckpt_key_name(log->key_name, sizeof(log->key_name), o->system_id,
			     o->node_id))
		return st_errf(err, errlen, "log: system_id/node_id too long");
	return 0;
}

static int open_streams(struct st_log *log, const struct st_log_opts *o,
			struct st_recovery *rec, bool *unclean, char *err,
			size_t errlen)
{
	struct st_store_opts so = {
		.max_records = o->seg_max_records, .max_bytes = o->seg_max_bytes,
		.max_seconds = o->seg_max_seconds,
	};
	struct lstream *st;
	int i;

	for (i = 0; i < ST_STREAM__COUNT; i++) {
		st = &log->s[i];
		st->id = (enum st_stream)i;
		if ((size_t)snprintf(st->dir, sizeof(st->dir), "%s/%s", o->state_dir,
				     st_stream_name(st->id)) >= sizeof(st->dir))
			return st_errf(err, errlen, "%s: path too long", o->state_dir);
		if (st_ckpt_origin(st->origin, sizeof(st->origin), o->system_id,
				   o->node_id, st->id))
			return st_errf(err, errlen, "log: system_id/node_id too long");
		/* the store makes the dir; recovery before reading it back */
		if (st_store_open(&st->store, st->dir, &so, err, errlen) ||
		    st_store_recover(st->dir, st_realtime_ns(), &rec[i], err, errlen) ||
		    resume_stream(log, st, unclean, err, errlen))
			return -1;
		st->room = st_store_room(st->store);
	}
	return 0;
}

int st_log_open(struct st_log **out, const struct st_log_opts *o, char *err,
		size_t errlen)
{
	struct st_recovery rec[ST_STREAM__COUNT];
	struct st_log *log;
	bool unclean = false, any_torn = false;
	int i;

	*out = NULL;
	if (!o->state_dir || !o->keys_dir)
		return st_errf(err, errlen, "log: state_dir and keys_dir are required");
	log = calloc(1, sizeof(*log));
	if (!log)
		return st_errf(err, errlen, "log: out of memory");
	if (init_log(log, o, err, errlen) ||
	    open_streams(log, o, rec, &unclean, err, errlen))
		goto bad;
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		if (!rec[i].torn)
			continue;
		any_torn = true;
		if (recovery_record(log, &log->s[i], &rec[i], true, err, errlen))
			goto bad;
	}
	if (unclean && !any_torn &&
	    recovery_record(log, &log->s[ST_STREAM_SYSTEM], NULL, false, err, errlen))
		goto bad;
	if (rotation_record(log, err, errlen) || epoch_open(log, err, errlen) ||
	    st_access_dir_ensure(log->state_dir, err, errlen) ||
	    seal_pending_access(log, err, errlen))
		goto bad;
	if (o->writer_thread && start_writer(log, err, errlen))
		goto bad;
	/* sign what this run continues from, recovery notes included */
	if (checkpoint(log, "open", err, errlen))
		goto bad;
	*out = log;
	return 0;
bad:
	log_free(log);
	return -1;
}

/* ---- retention ---------------------------------------------------------- */

/* One line of the oldest segment: the same checks as a scan, and its hashes. */
static int oldest_line(struct st_log *log, struct lstream *st, const char *line,
		       size_t len, struct st_buf *scratch, struct st_seg_info *info,
		       struct st_scan_head *h, char *err, size_t errlen)
{
	struct st_record_parsed p;
	char why[256], want[ST_HASH_HEX + 1];
	uint8_t leaf[ST_HASH_LEN];
	int rc = -1;

	if (st_record_parse(line, len, &p, scratch, why, sizeof(why))) {
		st_errf(err, errlen, "%s seq %" PRIu64 ": %s", st->dir, h->seq, why);
		goto out;
	}
	st_chain_prev_hex(&h->chain, want);
	if (p.hdr.seq != h->seq || p.hdr.stream != st->id ||
	    strcmp(p.hdr.prev_hex, want)) {
		st_errf(err, errlen, "%s seq %" PRIu64 ": does not follow on from the record before; not purging",
			st->dir, h->seq);
		goto out;
	}
	if (st_merkle_leaf(log->h, line, len, leaf) ||
	    st_merkle_append(&h->tree, log->h, leaf) ||
	    st_chain_advance(&h->chain, log->h, line, len)) {
		st_errf(err, errlen, "log: SHA-256 failed");
		goto out;
	}
	if (h->seq == info->first_seq || p.rec.timestamp_ns < info->min_ts)
		info->min_ts = p.rec.timestamp_ns;
	if (p.rec.timestamp_ns > info->max_ts)
		info->max_ts = p.rec.timestamp_ns;
	info->last_seq = h->seq++;
	rc = 0;
out:
	st_record_parsed_free(&p);
	return rc;
}

/*
 * Read the oldest segment from the stream's head: its seq range, time
 * range, and the chain hash and tree after it (what the purge record
 * carries). Cached while it stays the oldest: reading it costs a
 * decompression, and it is asked about every check.
 */
static int read_oldest(struct st_log *log, struct lstream *st, uint64_t next_first,
		       char *err, size_t errlen)
{
	struct st_buf block = { 0 }, scratch = { 0 };
	struct st_scan_head h = st->head;
	struct st_seg_info info = { .first_seq = st->head.seq };
	struct st_seg_reader *r;
	char name[ST_SEG_NAME_LEN + 1], path[4200], why[256];
	const char *line, *end, *nl;
	uint64_t off;
	int rc = 0, brc;

	if (st->have_oldest && st->oldest.first_seq == st->head.seq)
		return 0;
	st_seg_name(st->head.seq, name);
	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	if (st_seg_open(&r, path, err, errlen))
		return -1;
	while (!rc && (brc = st_seg_next(r, &block, &off, why, sizeof(why))) == ST_BLOCK_OK)
		for (line = block.p, end = block.p + block.len; !rc && line < end;
		     line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(end - line));
			rc = oldest_line(log, st, line, (size_t)(nl - line),
					 &scratch, &info, &h, err, errlen);
		}
	st_seg_close(r);
	st_buf_free(&block);
	st_buf_free(&scratch);
	if (rc)
		return -1;
	if (brc != ST_BLOCK_END)
		return st_errf(err, errlen, "%s: %s; not purging", path, why);
	if (h.seq != next_first || h.seq == info.first_seq)
		return st_errf(err, errlen, "%s: ends at seq %" PRIu64 " but the next segment starts at %" PRIu64
			       "; not purging", path, h.seq, next_first);
	st->oldest = info;
	st->after_oldest = h;
	st->have_oldest = true;
	return 0;
}

/*
 * The record first, signed and on disk, then the unlink: a crash in
 * between leaves the segment and a record that matches no stream start
 * (ignored; the next run purges it again), never a gap without a record.
 */
static int purge_oldest(struct st_log *log, struct lstream *st, char *err,
			size_t errlen)
{
	struct st_purge p = { .stream = st->id };
	struct st_purge_text t;
	struct st_record r;
	char path[4200];
	uint64_t at = log->s[ST_STREAM_SYSTEM].next_seq;

	p.first_seq = st->oldest.first_seq;
	p.last_seq = st->oldest.last_seq;
	p.count = p.last_seq - p.first_seq + 1;
	st_seg_name(p.first_seq, p.segment);
	memcpy(p.last_hash, st->after_oldest.chain.prev, ST_HASH_LEN);
	p.tree = st->after_oldest.tree;
	st_purge_details(&p, &t);
	st_record_init(&r, ST_ET_RETENTION_PURGE, st_realtime_ns());
	r.details = t.d;
	r.ndetails = ST_PURGE_NDETAILS;
	if (append(log, &r, true, err, errlen) ||
	    checkpoint(log, "retention", err, errlen))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", st->dir, p.segment);
	if (unlink(path))
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (st_fsync_dir(st->dir, err, errlen))
		return -1;
	st->head = st->after_oldest;
	st->head.anchor_seq = at;
	st_seg_name(at, st->head.anchor_segment);	/* informational only */
	st->have_oldest = false;
	return 0;
}

/* Purge from one stream until the oldest segment must stay. */
static int retain_stream(struct st_log *log, struct lstream *st,
			 struct st_purge_ctx *c, struct st_retain_report *rep,
			 char *err, size_t errlen)
{
	struct st_seg_list l = { 0 };
	enum st_purge_verdict v;
	int rc = 0;

	for (;;) {
		if (st_seg_list(st->dir, &l, err, errlen))
			return -1;
		v = ST_KEEP_CURRENT;
		if (l.n && l.first[0] != st->head.seq)
			rc = st_errf(err, errlen, "%s: oldest segment starts at seq %" PRIu64
				     ", not at %" PRIu64 " where the log starts; not purging",
				     st->dir, l.first[0], st->head.seq);
		else if (!c->days)
			v = ST_KEEP_FOREVER;
		else if (l.n >= 2 && !(rc = read_oldest(log, st, l.first[1], err, errlen)))
			v = st_purge_decide(&st->oldest, false, c);
		st_seg_list_free(&l);
		if (rc || v != ST_PURGE_OK)
			break;
		rc = purge_oldest(log, st, err, errlen);
		if (rc)
			break;
		rep->records[st->id] += st->oldest.last_seq - st->oldest.first_seq + 1;
		rep->segments[st->id]++;
		c->signed_size = st->signed_size;
	}
	rep->kept[st->id] = (int)v;
	return rc;
}

/* A malformed hold stops every purge; say so in the log, once per problem. */
static int hold_problem(struct st_log *log, const char *msg, char *err,
			size_t errlen)
{
	struct st_kv d[2];
	struct st_record r;

	if (!strcmp(log->hold_err, msg))
		return 0;
	snprintf(log->hold_err, sizeof(log->hold_err), "%s", msg);
	d[0] = st_kv_bool("legal_hold_invalid", true);
	d[1] = st_kv_str("reason", msg);
	st_record_init(&r, ST_ET_CONFIG_CHANGE, st_realtime_ns());
	r.details = d;
	r.ndetails = 2;
	return append(log, &r, true, err, errlen);
}

/*
 * After a resumed open the stream's first kept seq is not known: the
 * segments before the resume point were not read. Retention needs it
 * (a purge record carries the state after the purged segment), so it is
 * found here, once, the way a full scan finds it; the decision head's
 * anchor also keeps the system segment that holds it.
 */
static int find_head(struct st_log *log, struct lstream *st, char *err,
		     size_t errlen)
{
	struct st_scan_head h;
	int rc;

	if (st->head_known)
		return 0;
	rc = st_scan_stream_head(log->state_dir, st->id, &h, err, errlen);
	if (rc > 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, "; not purging");
	}
	if (rc)
		return -1;
	st->head = h;
	st->head_known = true;
	return 0;
}

int st_log_retain(struct st_log *log, const uint64_t days[ST_STREAM__COUNT],
		  uint64_t now_ns, struct st_retain_report *rep, char *err,
		  size_t errlen)
{
	static const enum st_stream order[] = { ST_STREAM_DECISION, ST_STREAM_SYSTEM };
	struct st_holds holds;
	struct lstream *dec = &log->s[ST_STREAM_DECISION];
	struct st_purge_ctx c;
	int rc, i;

	memset(rep, 0, sizeof(*rep));
	/* segments are read and removed below: the writer stands still */
	if (reap(log, err, errlen))
		note_failure(log, err);
	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (find_head(log, &log->s[i], err, errlen))
			return -1;
	rc = st_holds_load(log->state_dir, &holds, err, errlen);
	if (rc > 0) {
		char msg[ERR_LEN];

		snprintf(msg, sizeof(msg), "%s", err);
		if (hold_problem(log, msg, err, errlen))
			return -1;
		st_errf(err, errlen, "legal hold: %s; no segment is purged until it is fixed",
			msg);
		return 1;
	}
	if (rc < 0)
		return -1;
	log->hold_err[0] = '\0';
	rep->holds = holds.n;
	/* decision first: its purge records then sit after any system
	 * segment purged in the same round */
	for (i = 0; i < ST_STREAM__COUNT && !rc; i++) {
		struct lstream *st = &log->s[order[i]];

		c = (struct st_purge_ctx){
			.days = days[order[i]], .now_ns = now_ns,
			.signed_size = st->signed_size, .holds = &holds,
			.keep_seq = UINT64_MAX,
		};
		if (order[i] == ST_STREAM_SYSTEM && dec->head.seq)
			c.keep_seq = dec->head.anchor_seq;
		/* with a shipper, nothing goes before the database has it */
		rc = st_ship_mark_read(log->state_dir, order[i], &c.ship_required,
				       &c.shipped_size, err, errlen);
		if (!rc)
			rc = retain_stream(log, st, &c, rep, err, errlen);
	}
	st_holds_free(&holds);
	return rc;
}
