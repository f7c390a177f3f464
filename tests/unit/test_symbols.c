// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for user/capture/symbols.c against the real test targets (built by
 * `make all` before `make unit`): symbol lookup, endbr64 placement,
 * stripped files, bad offsets, build-id and file digests.
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

#include "sealtrace/capture/symbols.h"

#define WORKLOAD "build/targets/workload"
#define CET "build/targets/cet_target"

static char err[512];

static void test_plain_function(void **state)
{
	struct st_symbol s;

	assert_int_equal(st_symbol_resolve(WORKLOAD, "st_predict", true, &s, err, sizeof(err)), 0);
	assert_false(s.endbr_skipped);
	assert_int_equal(s.attach_offset, s.func_offset);
	assert_true(s.func_offset > 0);
	assert_true(s.size > 0);
}

static void test_endbr64_is_skipped(void **state)
{
	struct st_symbol s;

	assert_int_equal(st_symbol_resolve(CET, "st_predict", true, &s, err, sizeof(err)), 0);
	assert_true(s.endbr_skipped);
	assert_int_equal(s.attach_offset, s.func_offset + 4);
	/* the same, asked to keep the symbol address */
	assert_int_equal(st_symbol_resolve(CET, "st_predict", false, &s, err, sizeof(err)), 0);
	assert_false(s.endbr_skipped);
	assert_int_equal(s.attach_offset, s.func_offset);
	/* by offset, the same placement rule */
	assert_int_equal(st_symbol_at_offset(CET, s.func_offset, true, &s, err, sizeof(err)), 0);
	assert_true(s.endbr_skipped);
}

static void test_missing_symbol_and_file(void **state)
{
	struct st_symbol s;

	assert_int_equal(st_symbol_resolve(WORKLOAD, "no_such_fn", true, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, WORKLOAD));
	assert_non_null(strstr(err, "'no_such_fn' not found"));
	assert_int_equal(st_symbol_resolve("/nonexistent/x", "f", true, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/x: cannot open: No such file or directory");
	assert_int_equal(st_symbol_resolve("/etc/hostname", "f", true, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "/etc/hostname: not an ELF file");
}

static void test_stripped_and_offsets(void **state)
{
	char tmp[] = "/tmp/st-sym-XXXXXX", cmd[256];
	struct st_symbol s, orig;
	int fd = mkstemp(tmp);

	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp %s %s && strip --strip-all %s", WORKLOAD, tmp, tmp);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(st_symbol_resolve(WORKLOAD, "st_handle", true, &orig, err, sizeof(err)), 0);
	assert_int_equal(st_symbol_resolve(tmp, "st_handle", true, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stripped: give 'offset:' instead"));
	assert_int_equal(st_symbol_at_offset(tmp, orig.func_offset, true, &s, err, sizeof(err)), 0);
	assert_int_equal(s.attach_offset, orig.attach_offset);
	/* offset 0 is the ELF header, not code */
	assert_int_equal(st_symbol_at_offset(tmp, 0, true, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "offset 0x0 is not in an executable segment"));
	assert_int_equal(st_symbol_at_offset(tmp, 1ull << 40, true, &s, err, sizeof(err)), -1);
	unlink(tmp);
}

static void test_build_id_and_digest(void **state)
{
	char hex[128], sha[65], tmp[] = "/tmp/st-sha-XXXXXX";
	uint64_t size = 0;
	int fd;

	assert_int_equal(st_elf_build_id(WORKLOAD, hex, sizeof(hex), err, sizeof(err)), 0);
	assert_int_equal(strlen(hex), 40);	/* GNU build-id: SHA-1 */
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(st_file_sha256(tmp, sha, &size, err, sizeof(err)), 0);
	assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	unlink(tmp);
	assert_int_equal(st_file_sha256("/nonexistent", sha, &size, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_function),
		cmocka_unit_test(test_endbr64_is_skipped),
		cmocka_unit_test(test_missing_symbol_and_file),
		cmocka_unit_test(test_stripped_and_offsets),
		cmocka_unit_test(test_build_id_and_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
