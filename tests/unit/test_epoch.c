// SPDX-License-Identifier: Apache-2.0
/* Signing epochs (log.h, keys.h st_epoch_*): a tick past the epoch makes a
 * key_epoch record and a new key, the old private key is gone, verify
 * follows the chain from the first public key; a change interrupted
 * before its announcement is erased at the next open, one interrupted
 * after it is finished. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/log.h"
#include "sealtrace/log/record.h"

static char dir[64], keys[96], state[96], first[128];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup(void **st)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/st-epoch-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(first, sizeof(first), "%s/first.pub", dir);
	if (st_keys_generate(keys, err, sizeof(err)))
		return -1;
	return sh("cp %s/signing.pub %s", keys, first);
}

static int teardown(void **st)
{
	return sh("rm -rf '%s'", dir);
}

static struct st_log_opts opts(void)
{
	struct st_log_opts o = {
		.state_dir = state, .keys_dir = keys, .system_id = "sys",
		.operator_id = "op", .node_id = "n1", .epoch_seconds = 60,
	};
	return o;
}

static void heartbeat(struct st_log *log)
{
	struct st_record r;
	char err[256];

	st_record_init(&r, ST_ET_HEARTBEAT, 1700000000000000000ULL);
	assert_int_equal(st_log_append(log, &r, err, sizeof(err)), 0);
}

static uint64_t epoch_now(void)
{
	struct st_epoch_state es;
	char err[256];

	assert_int_equal(st_epoch_read(keys, &es, err, sizeof(err)), 0);
	return es.epoch;
}

static void key_hash(char out[ST_PUBKEY_HASH_LEN + 1])
{
	EVP_PKEY *k;
	char err[256];

	assert_int_equal(st_signing_key_load(keys, &k, err, sizeof(err)), 0);
	assert_int_equal(st_pubkey_hash(k, out), 0);
	EVP_PKEY_free(k);
}

static int verify_from_first(void)
{
	char *argv[] = { "verify", "--quiet", "--state-dir", state, "--pubkey", first, NULL };
	int saved = dup(1), fd = open("/dev/null", O_WRONLY), rc;

	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	rc = cmd_verify(6, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

/* One run: open, a record, a tick far enough ahead for one epoch change
 * (each run's clock further on: an epoch starts at the tick that made it). */
static void run_one_epoch(void)
{
	static uint64_t ahead;

	struct st_log_opts o = opts();
	struct st_log *log;
	char err[512];

	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open: %s", err);
	heartbeat(log);
	ahead += 61;
	if (st_log_tick(log, ((uint64_t)time(NULL) + ahead) * 1000000000ULL,
			err, sizeof(err)))
		fail_msg("tick: %s", err);
	heartbeat(log);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

static void test_epochs_advance(void **st)
{
	char h1[ST_PUBKEY_HASH_LEN + 1], h2[ST_PUBKEY_HASH_LEN + 1];

	key_hash(h1);
	run_one_epoch();
	assert_int_equal(epoch_now(), 2);
	run_one_epoch();
	assert_int_equal(epoch_now(), 3);
	key_hash(h2);
	assert_string_not_equal(h1, h2);
	assert_int_equal(sh("test -f %s/retired/signing-epoch-1.pub && test -f %s/retired/signing-epoch-2.pub "
			    "&& test ! -e %s/signing.key.next", keys, keys, keys), 0);
	/* the first key's private half is in no file any more */
	assert_int_equal(verify_from_first(), ST_EXIT_OK);
}

/* Crash after signing.key.next was written, before its key_epoch record:
 * the next open erases it and stays in the epoch. */
static void test_crash_before_announcement(void **st)
{
	char before[ST_PUBKEY_HASH_LEN + 1], after[ST_PUBKEY_HASH_LEN + 1], err[256];
	struct st_log_opts o = opts();
	struct st_log *log;
	EVP_PKEY *next;
	uint64_t e = epoch_now();

	key_hash(before);
	assert_int_equal(st_epoch_prepare(keys, &next, err, sizeof(err)), 0);
	EVP_PKEY_free(next);
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open: %s", err);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	key_hash(after);
	assert_string_equal(before, after);
	assert_int_equal(epoch_now(), e);
	assert_int_equal(sh("test ! -e %s/signing.key.next", keys), 0);
	assert_int_equal(verify_from_first(), ST_EXIT_OK);
}

/* Crash after the key_epoch record, before the rename: retiring the old
 * key's files fails (its retired .pub name is taken by a directory), the
 * log signs on with the
 * announced key in memory, the process dies; the next open installs
 * signing.key.next because its key_epoch record is in the log. */
static void test_crash_after_announcement(void **st)
{
	char announced[ST_PUBKEY_HASH_LEN + 1], now[ST_PUBKEY_HASH_LEN + 1], err[512];
	struct st_log_opts o = opts();
	struct st_log *log;
	uint64_t e = epoch_now();
	EVP_PKEY *k;

	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open: %s", err);
	assert_int_equal(sh("mkdir -p %s/retired/signing-epoch-%llu.pub", keys,
			    (unsigned long long)e), 0);
	heartbeat(log);
	assert_int_equal(st_log_tick(log, ((uint64_t)time(NULL) + 600) * 1000000000ULL,
				     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "signing-epoch-"));
	/* the crash: what is on disk now is what the next open finds */
	assert_int_equal(sh("cp -a %s %s/state.crash && cp -a %s %s/keys.crash", state, dir, keys, dir), 0);
	st_log_close(log, err, sizeof(err));
	assert_int_equal(sh("rm -rf %s %s && mv %s/state.crash %s && mv %s/keys.crash %s && "
			    "rmdir %s/retired/signing-epoch-%llu.pub",
			    state, keys, dir, state, dir, keys, keys, (unsigned long long)e), 0);
	assert_int_equal(sh("test -f %s/signing.key.next", keys), 0);
	assert_int_equal(epoch_now(), e);
	assert_int_equal(st_epoch_pending(keys, &k, err, sizeof(err)), 1);
	assert_int_equal(st_pubkey_hash(k, announced), 0);
	EVP_PKEY_free(k);
	if (st_log_open(&log, &o, err, sizeof(err)))
		fail_msg("open after the crash: %s", err);
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
	key_hash(now);
	assert_string_equal(now, announced);
	assert_int_equal(epoch_now(), e + 1);
	assert_int_equal(sh("test ! -e %s/signing.key.next", keys), 0);
	assert_int_equal(verify_from_first(), ST_EXIT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epochs_advance),
		cmocka_unit_test(test_crash_before_announcement),
		cmocka_unit_test(test_crash_after_announcement),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
