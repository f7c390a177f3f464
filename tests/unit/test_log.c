// SPDX-License-Identifier: Apache-2.0
/* The log facade end to end under ASan: exact counts and segment layout,
 * continuing across runs, torn-tail recovery, unclean stop, refusing a
 * tampered log; and the verify/export verbs on the result. */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/log.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/log/store.h"

static char dir[64], keys[96], state[96];
/* the whole group runs twice: blocks written inline, then by the writer
 * thread (log.h), with the same exact expectations */
static bool writer_thread;

static int setup(void **st)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/st-log-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	return st_keys_generate(keys, err, sizeof(err));
}

static int teardown(void **st)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct st_log_opts opts(void)
{
	struct st_log_opts o = {
		.state_dir = state, .keys_dir = keys, .system_id = "sys",
		.operator_id = "op", .node_id = "n1", .seg_max_records = 100,
		.ckpt_every_records = 50, .writer_thread = writer_thread,
	};
	return o;
}

static void append_n(struct st_log *log, struct st_keyring *kr, int n, int sys_every)
{
	char ref[ST_PSEUDO_REF_MAX], err[256];
	struct st_kv d = { .key = "kseq", .kind = ST_KV_UINT };
	struct st_record r;
	int i;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.timestamp_ns = 1700000000000000000ULL + (uint64_t)i * 1000;
		r.input_len = r.output_len = r.duration_ns = -1;
		if (sys_every && i % sys_every == sys_every - 1) {
			r.type = ST_ET_HEARTBEAT;
		} else {
			r.type = ST_ET_INFERENCE;
			assert_int_equal(st_pseudo_ref(kr, "prompt", 6, ref, sizeof(ref)), 0);
			r.input_hash = ref;
			r.input_len = 6;
			d.v.u = (uint64_t)i;
			r.details = &d;
			r.ndetails = 1;
		}
		assert_int_equal(st_log_append(log, &r, err, sizeof(err)), 0);
	}
}

static uint64_t scan_count(enum st_stream s, struct st_scan_result *res)
{
	char err[512];
	int rc = st_scan_stream(state, s, NULL, NULL, res, err, sizeof(err));

	if (rc)
		fail_msg("scan: %s", err);
	return res->records;
}

/* Run a verb on a NULL-terminated argv, stdout to out, stderr to out.stderr. */
static int run_argv(int (*fn)(int, char **), char **argv, const char *out)
{
	char errpath[300];
	int argc = 0, saved, saved_err, fd, rc;

	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	saved = dup(1);
	saved_err = dup(2);
	snprintf(errpath, sizeof(errpath), "%s.stderr", out);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved_err, 2);
	close(saved);
	close(saved_err);
	return rc;
}

static int run_verb(int (*fn)(int, char **), const char *a0, const char *a1,
		    const char *a2, const char *a3, const char *a4,
		    const char *out)
{
	char *argv[8] = { (char *)a0, (char *)a1, (char *)a2, (char *)a3,
			  (char *)a4, NULL };

	return run_argv(fn, argv, out);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(buf);
	assert_true(fread(buf, 1, 65535, f) < 65535);
	fclose(f);
	return buf;
}

static void test_runs(void **st)
{
	struct st_log_opts o = opts();
	struct st_keyring *kr;
	struct st_log *log, *second;
	struct st_scan_result res;
	struct st_seg_list l;
	struct st_log_stats stats;
	char err[512], path[200], pub[200], out[200];

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	/* one writer per state dir */
	assert_int_equal(st_log_open(&second, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "locked"));
	/* open signs the empty log: 2 checkpoint records */
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == 2);
	append_n(log, kr, 250, 10);		/* 225 decisions, 25 heartbeats */
	assert_true(st_log_seq(log, ST_STREAM_DECISION) == 225);
	/* checkpoints at 50, 100, 150, 200, 250 appended records: 10 records */
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == 2 + 25 + 10);
	assert_int_equal(st_log_tick(log, 1, err, sizeof(err)), 0);
	st_log_get_stats(log, &stats);
	assert_true(stats.checkpoints == 12);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);

	/* segments of exactly 100 records: 0, 100, 200 */
	snprintf(path, sizeof(path), "%s/decision", state);
	assert_int_equal(st_seg_list(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_true(l.first[0] == 0 && l.first[1] == 100 && l.first[2] == 200);
	st_seg_list_free(&l);
	assert_true(scan_count(ST_STREAM_DECISION, &res) == 225);
	assert_true(scan_count(ST_STREAM_SYSTEM, &res) == 39);	/* + 2 at close */
	assert_int_equal(res.last_type, ST_ET_CHECKPOINT);

	/* a second run continues both chains; no recovery after a clean stop */
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	st_log_get_stats(log, &stats);
	assert_true(stats.recoveries == 0);
	append_n(log, kr, 30, 0);
	assert_int_equal(st_log_flush(log, err, sizeof(err)), 0);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	assert_true(scan_count(ST_STREAM_DECISION, &res) == 255);

	/* verify and export through the verbs */
	snprintf(pub, sizeof(pub), "%s/signing.pub", keys);
	snprintf(out, sizeof(out), "%s/verify.out", dir);
	assert_int_equal(run_verb(cmd_verify, "verify", "--quiet", "--state-dir",
				  state, NULL, out), ST_EXIT_OK);
	snprintf(path, sizeof(path), "%s/export.jsonl", dir);
	assert_int_equal(run_verb(cmd_export, "export", "--state-dir", state,
				  "--event-type", "inference", path), ST_EXIT_OK);
	{
		char *argv[] = { "verify", "--export", path, "--pubkey", pub, NULL };

		assert_int_equal(run_verb(cmd_verify, argv[0], argv[1], argv[2],
					  argv[3], argv[4], out), ST_EXIT_OK);
	}
	assert_int_equal(run_verb(cmd_verify, "verify", "--bogus", NULL, NULL,
				  NULL, out), ST_EXIT_USAGE);
	st_keyring_free(kr);
}

/* Pending-access notes in <state>/access (log/access.h). */
static uint64_t pending_notes(void)
{
	char cmd[300];
	FILE *p;
	unsigned long n = 0;

	snprintf(cmd, sizeof(cmd), "ls %s/access 2>/dev/null | grep -c '\\.pending$'", state);
	p = popen(cmd, "r");
	if (!p || fscanf(p, "%lu", &n) != 1)
		n = 0;
	if (p)
		pclose(p);
	return n;
}

static void test_recovery(void **st)
{
	struct st_log_opts o = opts();
	struct st_keyring *kr;
	struct st_log *log;
	struct st_log_stats stats;
	struct st_scan_result res;
	char err[512], path[200], cmd[400];
	uint64_t before;
	int fd;

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	/* a torn block at the end of the newest decision segment (each run
	 * starts its own: run 2 began at seq 225) */
	snprintf(path, sizeof(path), "%s/decision/00000000000000000225.seg", state);
	assert_int_equal(access(path, F_OK), 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b", 11), 11);
	close(fd);
	/* the export of test_runs left a pending-access note (no agent ran) */
	before = scan_count(ST_STREAM_SYSTEM, &res) + pending_notes();
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("reopen with a torn tail: %s", err);
	st_log_get_stats(log, &stats);
	assert_true(stats.recoveries == 1);
	/* recovery record + 2 checkpoint records (+ a log_access per note) */
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == before + 3);
	assert_int_equal(pending_notes(), 0);
	append_n(log, kr, 5, 0);
	/* crash: no close (free the memory the way a dying process would not) */
	assert_int_equal(st_log_flush(log, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "ls %s/decision | grep -c 'torn-' | grep -qx 1", state);
	assert_int_equal(system(cmd), 0);
	/* st_log_close would sign a final head: simulate the crash by copying
	 * the flushed state aside before closing and restoring it after */
	snprintf(cmd, sizeof(cmd), "cp -a %s %s/crashed", state, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mv %s/crashed %s", state, dir, state);
	assert_int_equal(system(cmd), 0);
	before = scan_count(ST_STREAM_SYSTEM, &res);
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("reopen after the crash: %s", err);
	st_log_get_stats(log, &stats);
	assert_true(stats.recoveries == 1);	/* unclean_stop */
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == before + 3);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	st_keyring_free(kr);
}

static void test_refuses_tampered(void **st)
{
	struct st_log_opts o = opts();
	struct st_log *log;
	char err[512], cmd[400];

	/* replace the first decision segment with a truncated copy */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/decision && zcat 00000000000000000000.seg | sed 5d | gzip > x && mv x 00000000000000000000.seg",
		 state);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/verify.out", dir);
	assert_int_equal(run_verb(cmd_verify, "verify", "--quiet", "--state-dir",
				  state, NULL, cmd), ST_EXIT_FAIL);
	/*
	 * With the resume state the open reads from the last signed head on
	 * and does not see an edit before it: the signed head covers those
	 * records, so verify (above) reports it, and the head the agent signs
	 * next is computed from the signed frontier, not from the edited
	 * segment.
	 */
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open after the edit: %s", err);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	assert_int_equal(run_verb(cmd_verify, "verify", "--quiet", "--state-dir",
				  state, NULL, cmd), ST_EXIT_FAIL);
	/* read whole (no resume state), the open refuses as it always did */
	snprintf(cmd, sizeof(cmd), "rm %s/decision/resume %s/system/resume", state,
		 state);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "decision/00000000000000000000.seg seq 4"));
	assert_non_null(strstr(err, "refusing to append"));
}

static uint64_t realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A quiet period is signed too: every ckpt_every_seconds, records or not. */
static void test_idle_checkpoints(void **st)
{
	struct st_log_opts o = opts();
	struct st_record r = {
		.type = ST_ET_CHECKPOINT, .input_len = -1, .output_len = -1,
		.duration_ns = -1,
	};
	struct st_log *log;
	char err[512];
	uint64_t sys, now;

	snprintf(state, sizeof(state), "%s/idle", dir);
	o.state_dir = state;
	o.ckpt_every_seconds = 60;
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	sys = st_log_seq(log, ST_STREAM_SYSTEM);
	assert_true(sys == 2);
	now = realtime();
	assert_int_equal(st_log_tick(log, now + 1000000000ULL, err, sizeof(err)), 0);
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == 2);
	assert_int_equal(st_log_tick(log, now + 61000000000ULL, err, sizeof(err)), 0);
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == 4);
	assert_true(st_log_seq(log, ST_STREAM_DECISION) == 0);
	/* only the log itself writes checkpoint records */
	assert_int_equal(st_log_append(log, &r, err, sizeof(err)), -1);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

struct rotations {
	int n;
	char old_hash[80], new_hash[80], old_file[300];
	uint64_t seq;
};

static int find_rotation(void *ctx, const struct st_scan_rec *r, char *err,
			 size_t errlen)
{
	struct rotations *rot = ctx;
	const struct st_kv *k;

	if (r->p->rec.type != ST_ET_CONFIG_CHANGE)
		return 0;
	k = st_record_detail(&r->p->rec, "signing_key_rotated");
	assert_non_null(k);
	assert_int_equal(k->kind, ST_KV_BOOL);
	assert_true(k->v.b);
	rot->n++;
	rot->seq = r->p->hdr.seq;
	snprintf(rot->old_hash, sizeof(rot->old_hash), "%s",
		 st_record_detail(&r->p->rec, "old_key_hash")->v.s);
	snprintf(rot->new_hash, sizeof(rot->new_hash), "%s",
		 st_record_detail(&r->p->rec, "new_key_hash")->v.s);
	snprintf(rot->old_file, sizeof(rot->old_file), "%s",
		 st_record_detail(&r->p->rec, "old_key_file")->v.s);
	assert_int_equal(r->p->rec.ndetails, 4);
	return 0;
}

static void key_hash(const char *path, char out[ST_PUBKEY_HASH_LEN + 1])
{
	char err[512];
	EVP_PKEY *k;

	assert_int_equal(st_pubkey_load(path, &k, err, sizeof(err)), 0);
	assert_int_equal(st_pubkey_hash(k, out), 0);
	EVP_PKEY_free(k);
}

static void run_once(struct st_log_opts *o, struct st_keyring *kr, int n)
{
	struct st_log *log;
	char err[512];

	if (st_log_open(&log, o, err, sizeof(err)))
		fail_msg("open: %s", err);
	append_n(log, kr, n, 10);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

/*
 * The signing key is rotated between two runs: the log goes on, says so
 * in a config_change record, and verifies with both keys but not with the
 * new one alone; a checkpoint by a key it does not know stops the open.
 */
static void test_key_rotation(void **st)
{
	struct st_log_opts o = opts();
	struct st_keyring *kr;
	struct st_scan_result res;
	struct rotations rot = { 0 };
	struct st_log *log;
	char rkeys[128], oldpub[200], newpub[200], retired[4200], out[200];
	char old_hash[ST_PUBKEY_HASH_LEN + 1], new_hash[ST_PUBKEY_HASH_LEN + 1];
	char err[8400], cmd[600], want[1200], *text;
	uint64_t sys;

	snprintf(rkeys, sizeof(rkeys), "%s/rkeys", dir);
	snprintf(state, sizeof(state), "%s/rot", dir);
	snprintf(oldpub, sizeof(oldpub), "%s/old.pub", dir);
	snprintf(newpub, sizeof(newpub), "%s/signing.pub", rkeys);
	snprintf(out, sizeof(out), "%s/rot.out", dir);
	o.state_dir = state;
	o.keys_dir = rkeys;
	assert_int_equal(st_keys_generate(rkeys, err, sizeof(err)), 0);
	assert_int_equal(st_keyring_load(&kr, rkeys, err, sizeof(err)), 0);
	run_once(&o, kr, 40);		/* 36 decisions, 4 heartbeats */
	snprintf(cmd, sizeof(cmd), "cp %s %s", newpub, oldpub);
	assert_int_equal(system(cmd), 0);
	key_hash(oldpub, old_hash);

	assert_int_equal(st_keys_rotate_signing(rkeys, retired, sizeof(retired),
						err, sizeof(err)), 0);
	key_hash(newpub, new_hash);
	sys = scan_count(ST_STREAM_SYSTEM, &res);
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("reopen after the rotation: %s", err);
	/* config_change + the 2 checkpoint records of the open */
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == sys + 3);
	append_n(log, kr, 40, 10);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	run_once(&o, kr, 10);		/* signed by the current key: no record */

	assert_int_equal(st_scan_stream(state, ST_STREAM_SYSTEM, find_rotation,
					&rot, &res, err, sizeof(err)), 0);
	assert_int_equal(rot.n, 1);
	assert_true(rot.seq == sys);
	assert_string_equal(rot.old_hash, old_hash);
	assert_string_equal(rot.new_hash, new_hash);
	assert_string_equal(rot.old_file, retired);
	assert_string_not_equal(old_hash, new_hash);
	assert_true(scan_count(ST_STREAM_DECISION, &res) == 36 + 36 + 9);

	/* verify: both keys (files or the keys dir) pass, the new one fails */
	{
		char *both[] = { "verify", "--quiet", "--state-dir", state, "--pubkey",
				 oldpub, "--pubkey", newpub, NULL };
		char *bydir[] = { "verify", "--quiet", "--state-dir", state,
				  "--pubkey-dir", rkeys, NULL };
		char *onlynew[] = { "verify", "--quiet", "--state-dir", state,
				    "--pubkey", newpub, NULL };

		assert_int_equal(run_argv(cmd_verify, both, out), ST_EXIT_OK);
		text = slurp(out);
		/* run 1: open + close; runs 2 and 3: the same, after the
		 * config_change at system seq 8 */
		snprintf(want, sizeof(want), "  key %s (%.23s...): signed 4 checkpoint records (system seq 0..7), 0 checkpoint file(s)\n"
			 "  key %s (%.23s...): signed 8 checkpoint records (system seq 9..21), 2 checkpoint file(s)\n",
			 oldpub, old_hash, newpub, new_hash);
		assert_true(sys == 8);
		if (!strstr(text, want))
			fail_msg("'%s' lacks '%s'", text, want);
		assert_non_null(strstr(text, "every checkpoint signature verifies with one of the 2 given keys"));
		free(text);
		assert_int_equal(run_argv(cmd_verify, bydir, out), ST_EXIT_OK);
		assert_int_equal(run_argv(cmd_verify, onlynew, out), ST_EXIT_FAIL);
		text = slurp(out);
		assert_non_null(strstr(text, "verify: FAIL: system/00000000000000000000.seg seq 0: checkpoint: no signature by the given public key (signed by 'sealtrace/sys/n1' key id "));
		free(text);
	}

	/* a key neither current nor retired signed the last checkpoint */
	sleep(1);		/* retired names have 1 s resolution */
	assert_int_equal(st_keys_rotate_signing(rkeys, retired, sizeof(retired),
						err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "rm -r %s/retired", rkeys);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/rot/decision/checkpoint: checkpoint: no signature by the given public key (signed by 'sealtrace/sys/n1' key id "));
	assert_non_null(strstr(err, "; accepted: the current signing key and 0 retired key(s) (*.pub in "));
	assert_non_null(strstr(err, "/rkeys/retired) (signed by another key?)"));
	st_keyring_free(kr);
}


/* ---- resume state ------------------------------------------------------ */

static void fresh_state(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	assert_int_equal(system(cmd), 0);
}

static void reopen_stats(struct st_log_stats *stats)
{
	struct st_log_opts o = opts();
	struct st_log *log;
	char err[512];

	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open: %s", err);
	st_log_get_stats(log, stats);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

/* Replace the line "<key> ..." of <stream>/resume by "<key> <value>". */
static void edit_resume(const char *stream, const char *key, const char *value)
{
	char path[200], text[16384], out[16400 + 200];
	size_t klen = strlen(key), n;
	char *line;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/resume", state, stream);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	line = strstr(text, key);
	while (line && (line != text && line[-1] != '\n'))
		line = strstr(line + 1, key);
	assert_non_null(line);
	assert_true(line[klen] == ' ');
	*line = '\0';
	snprintf(out, sizeof(out), "%s%s %s%s", text, key, value,
		 strchr(line + 1, '\n'));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
}

static void verify_ok(void)
{
	char out[200];

	snprintf(out, sizeof(out), "%s/verify.out", dir);
	assert_int_equal(run_verb(cmd_verify, "verify", "--quiet", "--state-dir",
				  state, NULL, out), ST_EXIT_OK);
}

/* The log of test_runs' first run: 225 decisions, 39 system records. */
static void make_log(struct st_keyring *kr)
{
	struct st_log_opts o = opts();
	struct st_log *log;
	char err[512];

	fresh_state();
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	append_n(log, kr, 250, 10);
	assert_int_equal(st_log_tick(log, 1, err, sizeof(err)), 0);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

static void test_resume_used(void **st)
{
	struct st_log_opts o = opts();
	struct st_log_stats stats;
	struct st_scan_result res;
	struct st_keyring *kr;
	struct st_log *log;
	char err[512];

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	fresh_state();
	/* a new log has no resume state and nothing to read */
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	st_log_get_stats(log, &stats);
	assert_true(stats.resumed_at_open == 0);
	assert_true(stats.records_scanned_at_open[ST_STREAM_DECISION] == 0);
	assert_true(stats.records_scanned_at_open[ST_STREAM_SYSTEM] == 0);
	append_n(log, kr, 250, 10);
	assert_int_equal(st_log_tick(log, 1, err, sizeof(err)), 0);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);

	/*
	 * The close signed decision 225 and system 37: read back are the
	 * block ending each signed tree (decision seqs 200..224, its own
	 * segment's only block; system 35..36, the checkpoint records of
	 * the round at 250) and what follows (system 37, 38: the close's
	 * checkpoint records).
	 */
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	st_log_get_stats(log, &stats);
	assert_true(stats.resumed_at_open == 2);
	assert_true(stats.records_scanned_at_open[ST_STREAM_DECISION] == 25);
	assert_true(stats.records_scanned_at_open[ST_STREAM_SYSTEM] == 4);
	assert_true(stats.recoveries == 0);
	assert_true(st_log_seq(log, ST_STREAM_DECISION) == 225);
	assert_true(st_log_seq(log, ST_STREAM_SYSTEM) == 39 + 2);
	append_n(log, kr, 30, 0);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	assert_true(scan_count(ST_STREAM_DECISION, &res) == 255);
	assert_true(scan_count(ST_STREAM_SYSTEM, &res) == 43);
	verify_ok();
	st_keyring_free(kr);
}

/* A resume state that does not hold: the whole stream is read instead. */
static void expect_full(const char *why)
{
	struct st_log_stats stats;
	struct st_scan_result res;
	uint64_t dec = scan_count(ST_STREAM_DECISION, &res);
	uint64_t sys = scan_count(ST_STREAM_SYSTEM, &res);

	reopen_stats(&stats);
	if (stats.resumed_at_open != 1 ||
	    stats.records_scanned_at_open[ST_STREAM_DECISION] != dec ||
	    stats.records_scanned_at_open[ST_STREAM_SYSTEM] != 4)
		fail_msg("%s: resumed %" PRIu64 ", scanned %" PRIu64 "/%" PRIu64
			 " (decision has %" PRIu64 ")", why, stats.resumed_at_open,
			 stats.records_scanned_at_open[0],
			 stats.records_scanned_at_open[1], dec);
	assert_true(stats.recoveries == 0);
	assert_true(sys == 39 || sys > 39);
	verify_ok();
}

static void test_resume_fallback(void **st)
{
	struct st_log_stats stats;
	struct st_keyring *kr;
	char err[512], path[200];

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	make_log(kr);
	/* a frontier that is not the signed tree */
	edit_resume("decision", "frontier",
		    "0000000000000000000000000000000000000000000000000000000000000000,"
		    "1111111111111111111111111111111111111111111111111111111111111111,"
		    "2222222222222222222222222222222222222222222222222222222222222222,"
		    "3333333333333333333333333333333333333333333333333333333333333333");
	expect_full("wrong frontier");
	/* an offset that is not the block ending the signed tree */
	edit_resume("decision", "block", "10 200 200");
	expect_full("wrong offset");
	/* a chain head that is not the hash of record N-1 */
	edit_resume("decision", "chain_head",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	expect_full("wrong chain head");
	/* a segment that is gone */
	edit_resume("decision", "segment", "00000000000000000300.seg");
	expect_full("missing segment");
	/* no resume file at all */
	snprintf(path, sizeof(path), "%s/decision/resume", state);
	assert_int_equal(unlink(path), 0);
	expect_full("no file");
	/* and the state written at that close is used again */
	reopen_stats(&stats);
	assert_true(stats.resumed_at_open == 2);
	assert_true(stats.records_scanned_at_open[ST_STREAM_DECISION] == 25);
	st_keyring_free(kr);
}

/* Records after N torn by a crash: moved aside as without a resume state. */
static void test_resume_torn_tail(void **st)
{
	struct st_log_stats stats;
	struct st_seg_list l;
	struct st_keyring *kr;
	struct stat sb;
	char err[512], path[300];

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	make_log(kr);
	/* the system stream's last block holds seqs 37, 38, after N = 37 */
	snprintf(path, sizeof(path), "%s/system", state);
	assert_int_equal(st_seg_list(path, &l, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/system/%020" PRIu64 ".seg", state,
		 l.first[l.n - 1]);
	st_seg_list_free(&l);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, sb.st_size - 10), 0);
	reopen_stats(&stats);
	assert_true(stats.resumed_at_open == 2);
	assert_true(stats.recoveries == 1);		/* torn_tail */
	assert_true(stats.records_scanned_at_open[ST_STREAM_SYSTEM] == 2);
	verify_ok();
	st_keyring_free(kr);
}

/*
 * st_log_flush returns once every appended record is in a segment on
 * disk (and fsync'd), with the log still open: what the ring commit of
 * the agent relies on. Across a segment boundary, both streams.
 */
static void test_flush_is_on_disk(void **st)
{
	struct st_log_opts o = opts();
	struct st_keyring *kr;
	struct st_log *log;
	struct st_scan_result res;
	struct st_log_stats stats;
	uint64_t dec, sys, dec0;
	char err[512];
	int round;

	assert_int_equal(st_keyring_load(&kr, keys, err, sizeof(err)), 0);
	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	dec0 = st_log_seq(log, ST_STREAM_DECISION);
	for (round = 0; round < 3; round++) {
		append_n(log, kr, 137, 7);
		assert_int_equal(st_log_flush(log, err, sizeof(err)), 0);
		dec = st_log_seq(log, ST_STREAM_DECISION);
		sys = st_log_seq(log, ST_STREAM_SYSTEM);
		assert_true(scan_count(ST_STREAM_DECISION, &res) == dec);
		assert_true(scan_count(ST_STREAM_SYSTEM, &res) == sys);
	}
	st_log_get_stats(log, &stats);
	assert_true(stats.persisted[ST_STREAM_DECISION] == dec - dec0);
	assert_true(dec - dec0 == 3 * (137 - 137 / 7));
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	st_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_refuses_tampered),
		cmocka_unit_test(test_idle_checkpoints),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_resume_used),
		cmocka_unit_test(test_resume_fallback),
		cmocka_unit_test(test_resume_torn_tail),
		cmocka_unit_test(test_flush_is_on_disk),
	};
	int failed;

	failed = cmocka_run_group_tests_name("inline writes", tests, setup, teardown);
	writer_thread = true;
	failed += cmocka_run_group_tests_name("writer thread", tests, setup, teardown);
	return failed;
}
