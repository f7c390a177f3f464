// SPDX-License-Identifier: Apache-2.0
/* Unit tests for user/ops/oversight.c: request parsing, formatting, the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealtrace/ops/oversight.h"

#define ID "0190c7a2-1b2c-7d3e-8f40-123456789abc"

static void test_parse_ok(void **state)
{
	const char *line = "{\"event_id\":\"0190C7A2-1B2C-7D3E-8F40-123456789ABC\","
			   "\"override\":true,\"actor\":\"reviewer-17\",\"note\":\"income misread\"}\n";
	struct st_oversight_req r;
	char err[256];

	assert_int_equal(st_oversight_parse(line, strlen(line), &r, err, sizeof(err)), 0);
	assert_string_equal(r.event_id, ID);	/* lower-cased like the log */
	assert_true(r.override);
	assert_string_equal(r.actor, "reviewer-17");
	assert_string_equal(r.note, "income misread");
}

static void expect_err(const char *line, const char *want)
{
	struct st_oversight_req r;
	char err[256];

	assert_int_equal(st_oversight_parse(line, strlen(line), &r, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("'%s': got '%s', want '%s'", line, err, want);
}

static void test_parse_errors(void **state)
{
	char big[2000];

	expect_err("", "not JSON");
	expect_err("[1]", "must be a JSON object");
	expect_err("{\"override\":true,\"actor\":\"a\"}", "'event_id' is required");
	expect_err("{\"event_id\":\"x\",\"override\":true,\"actor\":\"a\"}", "not a UUID: x");
	expect_err("{\"event_id\":\"" ID "\",\"override\":true}", "'actor' is required");
	expect_err("{\"event_id\":\"" ID "\",\"override\":true,\"actor\":\"\"}", "must not be empty");
	expect_err("{\"event_id\":\"" ID "\",\"override\":1,\"actor\":\"a\"}", "'override' must be true or false");
	expect_err("{\"event_id\":\"" ID "\",\"actor\":\"a\"}", "'override' must be true or false");
	expect_err("{\"event_id\":7,\"override\":true,\"actor\":\"a\"}", "'event_id' must be a string");
	snprintf(big, sizeof(big), "{\"event_id\":\"" ID "\",\"override\":false,\"actor\":\"%0300d\"}", 1);
	expect_err(big, "'actor' is longer than 127 bytes");
	expect_err("{\"event_id\":\"" ID "\",\"override\":false,\"actor\":\"a\\u0000b\"}", "holds NUL");
}

static void test_log_access(void **state)
{
	struct st_oversight_req in = { .kind = ST_REQ_LOG_ACCESS, .action = "export",
				       .filter = "--stream decision" }, out;
	char buf[1024], err[256];

	assert_int_equal(st_oversight_format(&in, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"type\":\"log_access\",\"action\":\"export\","
			    "\"filter\":\"--stream decision\"}\n");
	assert_int_equal(st_oversight_parse(buf, strlen(buf), &out, err, sizeof(err)), 0);
	assert_int_equal(out.kind, ST_REQ_LOG_ACCESS);
	assert_string_equal(out.action, "export");
	assert_string_equal(out.filter, "--stream decision");
	expect_err("{\"type\":\"log_access\",\"action\":\"delete\"}",
		   "'action' must be export, prove or lookup: delete");
	expect_err("{\"type\":\"log_access\"}", "'action' is required");
	expect_err("{\"type\":\"other\"}", "'type' must be oversight or log_access");
}

static void test_format_roundtrip(void **state)
{
	struct st_oversight_req in = { .event_id = ID, .override = false, .actor = "q\"uote",
				       .note = "line\nbreak" }, out;
	char buf[4096], err[256];

	assert_int_equal(st_oversight_format(&in, buf, sizeof(buf)), 0);
	assert_int_equal(buf[strlen(buf) - 1], '\n');
	assert_int_equal(st_oversight_parse(buf, strlen(buf), &out, err, sizeof(err)), 0);
	assert_string_equal(out.actor, "q\"uote");
	assert_string_equal(out.note, "line\nbreak");
	assert_false(out.override);
	assert_int_equal(st_oversight_format(&in, buf, 10), -1);
}

static void answer(void *ctx, const struct st_oversight_req *req, char *reply, size_t len)
{
	int *calls = ctx;

	(*calls)++;
	snprintf(reply, len, "ok %s %d\n", req->actor, req->override);
}

static void test_socket_roundtrip(void **state)
{
	char dir[] = "/tmp/st-ov-XXXXXX", path[128], reply[256], err[256];
	struct st_oversight_req req = { .event_id = ID, .override = true, .actor = "r1" };
	int lfd, calls = 0;
	pid_t child;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	/* nobody listening: the client says so */
	assert_int_equal(st_oversight_submit(path, &req, reply, sizeof(reply), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is the agent running?"));
	lfd = st_oversight_listen(path, err, sizeof(err));
	assert_true(lfd >= 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int rc = st_oversight_submit(path, &req, reply, sizeof(reply), err, sizeof(err));

		_exit(rc == 0 && !strcmp(reply, "ok r1 1\n") ? 0 : 1);
	}
	while (!calls)
		st_oversight_serve(lfd, answer, &calls), usleep(1000);
	assert_int_equal(calls, 1);
	{
		int status;

		assert_int_equal(waitpid(child, &status, 0), child);
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/*
 * A client that sends a valid request one byte every 10 ms (3+ s in all)
 * gets an error once the 100 ms deadline for the whole request passes,
 * and the handler is never called. With only a per-read timeout each
 * byte reset the clock and the agent's loop waited for all of it.
 */
static void test_socket_slow_client(void **state)
{
	char dir[] = "/tmp/st-ov-XXXXXX", path[64], err[256], line[512];
	struct st_oversight_req req = { .event_id = ID, .override = true, .actor = "r1" };
	int lfd, calls = 0, p[2], status;
	struct pollfd pfd;
	char got[256] = "";
	ssize_t r;
	pid_t child;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	memset(req.note, 'x', 200);
	assert_int_equal(st_oversight_format(&req, line, sizeof(line)), 0);
	assert_true(strlen(line) > 200);
	lfd = st_oversight_listen(path, err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char reply[256];
		size_t i, n = 0;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(2);
		for (i = 0; line[i]; i++) {
			if (send(fd, line + i, 1, MSG_NOSIGNAL) != 1)
				break;	/* the agent answered and closed */
			usleep(10000);
		}
		while (n < sizeof(reply) - 1 && (r = read(fd, reply + n, sizeof(reply) - 1 - n)) > 0)
			n += (size_t)r;
		if (write(p[1], reply, n) != (ssize_t)n)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, -1), 1);
	st_oversight_serve(lfd, answer, &calls);
	assert_int_equal(calls, 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(WEXITSTATUS(status), 0);
	r = read(p[0], got, sizeof(got) - 1);
	assert_true(r > 0);
	assert_non_null(strstr(got, "error: no whole request line within 100 ms ("));
	close(p[0]);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_log_access),
		cmocka_unit_test(test_socket_roundtrip),
		cmocka_unit_test(test_socket_slow_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
