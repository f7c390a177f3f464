// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 reassembly (user/wire/http.c) from synthetic wire events:
 * pipelining in one chunk, byte-by-byte splits, chunked and
 * close-delimited responses, HEAD, 100 Continue, caps, gaps, HTTP/2,
 * resync of a connection seen mid-stream, reset mid-response.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealtrace/wire/http.h"

#define MAXX 16

struct got {
	struct st_exchange ex[MAXX];
	char req[MAXX][256], resp[MAXX][2048];
	size_t n;
	char notes[8][32];
	size_t nnotes;
};

static void on_exchange(void *ctx, const struct st_exchange *ex)
{
	struct got *g = ctx;

	assert_true(g->n < MAXX);
	g->ex[g->n] = *ex;
	memcpy(g->req[g->n], ex->req.bytes ? (char *)ex->req.bytes : "", ex->req.captured);
	memcpy(g->resp[g->n], ex->resp.bytes ? (char *)ex->resp.bytes : "", ex->resp.captured);
	g->ex[g->n].req.bytes = NULL;
	g->ex[g->n].resp.bytes = NULL;
	g->n++;
}

static void on_note(void *ctx, const struct st_http_note *n)
{
	struct got *g = ctx;

	assert_true(g->nnotes < 8);
	strncpy(g->notes[g->nnotes++], n->what, 31);
}

struct feed {
	struct st_http *h;
	uint64_t seq, conn;
	struct got g;
};

static void ev(struct feed *f, uint32_t kind, const char *data, size_t len)
{
	struct wire_event e = {
		.kind = kind, .tgid = 7, .tid = 8, .conn_id = f->conn, .seq = f->seq++,
		.ts = f->seq * 1000, .len = (uint32_t)len, .lport = 80,
	};

	st_http_event(f->h, &e, (const uint8_t *)data);
}

static void in(struct feed *f, const char *s)
{
	ev(f, WIRE_DATA_IN, s, strlen(s));
}

static void out(struct feed *f, const char *s)
{
	ev(f, WIRE_DATA_OUT, s, strlen(s));
}

static void start(struct feed *f, size_t max_body)
{
	struct st_http_ops ops = { .ctx = &f->g, .exchange = on_exchange, .note = on_note };

	memset(f, 0, sizeof(*f));
	f->h = st_http_new(max_body, &ops);
	f->conn = 1;
	ev(f, WIRE_CONN_OPEN, NULL, 0);
}

static void test_pipelined(void **state)
{
	struct feed f;

	start(&f, 0);
	in(&f, "POST /score?x=1 HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\nabc"
	       "POST /score HTTP/1.1\r\nContent-Length: 2\r\n\r\nde"
	       "GET /health HTTP/1.1\r\n\r\n");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n2\r\nuv\r\n0\r\n\r\n");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f.g.n, 3);
	assert_string_equal(f.g.ex[0].path, "/score");
	assert_string_equal(f.g.ex[0].method, "POST");
	assert_string_equal(f.g.req[0], "abc");
	assert_string_equal(f.g.resp[0], "{}");
	assert_string_equal(f.g.ex[0].req_ctype, "application/json");
	assert_int_equal(f.g.ex[1].status, 201);
	assert_string_equal(f.g.resp[1], "xyzuv");
	assert_true(f.g.ex[1].streamed);
	assert_int_equal(f.g.ex[1].resp_chunks, 2);
	assert_string_equal(f.g.ex[2].path, "/health");
	assert_true(f.g.ex[2].complete);
	st_http_free(f.h, true);
}

static void test_byte_by_byte(void **state)
{
	const char *req = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld";
	struct feed f;
	size_t i;

	start(&f, 0);
	for (i = 0; req[i]; i++)
		ev(&f, WIRE_DATA_IN, req + i, 1);
	for (i = 0; resp[i]; i++)
		ev(&f, WIRE_DATA_OUT, resp + i, 1);
	assert_int_equal(f.g.n, 1);
	assert_string_equal(f.g.req[0], "hello");
	assert_string_equal(f.g.resp[0], "world");
	assert_true(f.g.ex[0].resp_ts > f.g.ex[0].req_end_ts);
	st_http_free(f.h, true);
}

static void test_cap_head_continue(void **state)
{
	struct feed f;

	start(&f, 4);
	in(&f, "POST /big HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
	out(&f, "HTTP/1.1 100 Continue\r\n\r\n");
	in(&f, "0123456789");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef");
	in(&f, "HEAD /x HTTP/1.1\r\n\r\n");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
	assert_int_equal(f.g.n, 2);
	assert_int_equal(f.g.ex[0].req.len, 10);
	assert_int_equal(f.g.ex[0].req.captured, 4);
	assert_true(f.g.ex[0].req.truncated);
	assert_int_equal(f.g.ex[0].status, 200);
	assert_int_equal(f.g.ex[0].resp.len, 6);
	assert_string_equal(f.g.ex[1].method, "HEAD");
	assert_int_equal(f.g.ex[1].resp.len, 0);
	st_http_free(f.h, true);
}

static void test_close_delimited_and_reset(void **state)
{
	struct feed f;

	start(&f, 0);
	in(&f, "GET /stream HTTP/1.1\r\n\r\n");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n");
	out(&f, "data: 2\n\n");
	ev(&f, WIRE_CLOSE, NULL, 0);
	assert_int_equal(f.g.n, 1);
	assert_true(f.g.ex[0].complete);
	assert_string_equal(f.g.resp[0], "data: 1\n\ndata: 2\n\n");
	st_http_free(f.h, true);

	start(&f, 0);
	in(&f, "POST /reset HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
	ev(&f, WIRE_CLOSE, NULL, 0);
	assert_int_equal(f.g.n, 1);
	assert_false(f.g.ex[0].complete);
	assert_string_equal(f.g.ex[0].reason, "closed_mid_response");
	st_http_free(f.h, true);
}

static void test_gap_resync_http2(void **state)
{
	struct feed f;

	start(&f, 0);
	in(&f, "POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
	f.seq++;		/* one event the ring could not take */
	in(&f, "cd");		/* not a request line: skipped */
	in(&f, "POST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nz");
	out(&f, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nk");
	assert_int_equal(f.g.n, 2);
	assert_false(f.g.ex[0].complete);
	assert_string_equal(f.g.ex[0].reason, "capture_gap");
	assert_true(f.g.ex[1].complete);
	assert_true(f.g.ex[1].resynced);
	assert_string_equal(f.g.notes[0], "gap");
	assert_string_equal(f.g.notes[1], "resync");
	st_http_free(f.h, true);

	start(&f, 0);
	in(&f, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	in(&f, "more frames");
	assert_int_equal(f.g.n, 0);
	assert_int_equal(f.g.nnotes, 1);	/* once per connection */
	assert_string_equal(f.g.notes[0], "http2");
	st_http_free(f.h, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_cap_head_continue),
		cmocka_unit_test(test_close_delimited_and_reset),
		cmocka_unit_test(test_gap_resync_http2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
