// SPDX-License-Identifier: Apache-2.0
/*
 * The tlog-witness add-checkpoint body (addckpt.h): written and read back,
 * and every malformed form refused with the line it is on; the shipper's
 * config file (ship.h): every error names file:line: key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealtrace/fleet/ship.h"
#include "sealtrace/proof/addckpt.h"

#define NOTE "sealtrace/s/n/decision\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n" \
	"\xe2\x80\x94 sealtrace/s/n PbWfAsPA4nQsAt6CJt24QwIgfyHavQEjgHiNKa8uho8ByByk1P3dT3AC44RaPjnm9I9AA5qxfgBjbbWNiRWAxFVa4gg=\n"

static void test_roundtrip(void **state)
{
	uint8_t proof[3][ST_HASH_LEN];
	struct st_buf b = { 0 };
	struct st_addckpt req;
	char err[256];

	memset(proof, 0xab, sizeof(proof));
	proof[2][0] = 1;
	st_addckpt_write(&b, 5, (const uint8_t (*)[ST_HASH_LEN])proof, 3, NOTE, strlen(NOTE));
	assert_false(b.oom);
	assert_int_equal(strncmp(b.p, "old 5\n", 6), 0);
	assert_int_equal(st_addckpt_parse(b.p, b.len, &req, err, sizeof(err)), 0);
	assert_true(req.old_size == 5);
	assert_int_equal(req.nproof, 3);
	assert_memory_equal(req.proof, proof, sizeof(proof));
	assert_int_equal(req.note_len, strlen(NOTE));
	assert_memory_equal(req.note, NOTE, strlen(NOTE));
	st_buf_free(&b);
	/* a first checkpoint: old 0, no proof */
	assert_int_equal(st_addckpt_parse("old 0\n\n" NOTE, strlen("old 0\n\n" NOTE), &req,
					  err, sizeof(err)), 0);
	assert_int_equal(req.nproof, 0);
}

static void expect_bad(const char *body, const char *where)
{
	struct st_addckpt req;
	char err[256];

	assert_int_equal(st_addckpt_parse(body, strlen(body), &req, err, sizeof(err)), -1);
	if (!strstr(err, where))
		fail_msg("'%s' lacks '%s'", err, where);
}

static void test_malformed(void **state)
{
	expect_bad("", "line 1");
	expect_bad("old\n\n" NOTE, "line 1");
	expect_bad("old 01\n\n" NOTE, "line 1");
	expect_bad("old -1\n\n" NOTE, "line 1");
	expect_bad("new 1\n\n" NOTE, "line 1");
	expect_bad("old 1\nnot-base64!\n\n" NOTE, "line 2");
	expect_bad("old 1\nAAAA\n\n" NOTE, "line 2");	/* 3 bytes, not 32 */
	expect_bad("old 1\n", "line 2");		/* no blank line */
	expect_bad("old 1\n\n", "line 3");		/* no checkpoint */
}

static char *write_tmp(const char *text)
{
	static char path[] = "/tmp/st-unit-shipcfg-XXXXXX";
	int fd;

	strcpy(path, "/tmp/st-unit-shipcfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void cfg_bad(const char *text, const char *want)
{
	struct st_ship_config c;
	char err[512], *path = write_tmp(text);

	assert_int_equal(st_ship_config_load(path, &c, err, sizeof(err)), -1);
	unlink(path);
	if (!strstr(err, want))
		fail_msg("'%s' lacks '%s'", err, want);
}

static void test_ship_config(void **state)
{
	struct st_ship_config c;
	char err[512], *path;

	path = write_tmp("state_dir: /var/lib/sealtrace\ndsn: \"host=db sslmode=verify-full\"\n"
			 "batch_records: 500\nwitness_url: http://w:7380/add-checkpoint\n");
	assert_int_equal(st_ship_config_load(path, &c, err, sizeof(err)), 0);
	unlink(path);
	assert_string_equal(c.state_dir, "/var/lib/sealtrace");
	assert_string_equal(c.dsn, "host=db sslmode=verify-full");
	assert_true(c.batch_records == 500 && c.poll_ms == 1000 && c.retry_max_ms == 10000);
	assert_string_equal(c.witness_url, "http://w:7380/add-checkpoint");
	st_ship_config_free(&c);

	cfg_bad("state_dir: /x\ndsn: d\nbatch_records: 0\n", ":3: batch_records");
	cfg_bad("state_dir: /x\ndsn: d\npoll_ms: -5\n", ":3: poll_ms");
	cfg_bad("state_dir: /x\ndsn: d\nbatch_size: 5\n", ":3: batch_size: unknown key");
	cfg_bad("dsn: d\n", "state_dir: required");
	cfg_bad("state_dir: /x\n", "dsn: required");
	cfg_bad("state_dir: [a, b]\ndsn: d\n", ":1: state_dir: must be a single value");
	cfg_bad("state_dir: /x\ndsn: 'unterminated\n", ":");
	cfg_bad("- a\n- b\n", ":1: expected a mapping");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ship_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
