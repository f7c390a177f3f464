// SPDX-License-Identifier: Apache-2.0
/* Unit tests for user/capture/pairing.c: pairing entry/return events into calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealtrace/capture/pairing.h"

#define MAX_CALLS 32

struct seen {
	struct st_call calls[MAX_CALLS];
	char in[MAX_CALLS][64];
	char out[MAX_CALLS][64];
	int n;
	int skipped;
	uint64_t skipped_pos;
};

static void on_call(void *ctx, const struct st_call *c)
{
	struct seen *s = ctx;

	assert_true(s->n < MAX_CALLS);
	s->calls[s->n] = *c;
	/* the bytes are valid during the callback only: keep a copy */
	memcpy(s->in[s->n], c->in ? (const char *)c->in : "", c->in_len < 63 ? c->in_len : 63);
	memcpy(s->out[s->n], c->out ? (const char *)c->out : "", c->out_len < 63 ? c->out_len : 63);
	s->calls[s->n].in = NULL;
	s->calls[s->n].out = NULL;
	s->n++;
}

static void on_skipped(void *ctx, uint32_t probe_id, uint64_t kseq, uint64_t pos)
{
	struct seen *s = ctx;

	(void)probe_id;
	(void)kseq;
	s->skipped++;
	s->skipped_pos = pos;
}

/* An event with its bytes, as the ring hands it over. */
struct ev_buf {
	struct st_event ev;
	uint8_t data[128];
};

static size_t mk(struct ev_buf *b, uint16_t kind, uint32_t probe, uint32_t tid, uint64_t kseq,
		 const char *in, const char *out)
{
	size_t il = in ? strlen(in) : 0, ol = out ? strlen(out) : 0;

	memset(b, 0, sizeof(*b));
	b->ev.kind = kind;
	b->ev.probe_id = (uint16_t)probe;
	b->ev.tgid = 100;
	b->ev.tid = tid;
	b->ev.kseq = kseq;
	b->ev.ts_ns = 1000 + kseq;
	b->ev.in_len = b->ev.in_want = (uint32_t)il;
	b->ev.out_len = b->ev.out_want = (uint32_t)ol;
	memcpy(b->data, in ? in : "", il);
	memcpy(b->data + il, out ? out : "", ol);
	return sizeof(b->ev) + il + ol;
}

static struct st_pairing *new_pairing(struct seen *s)
{
	struct st_consume_ops ops = { .call = on_call, .skipped = on_skipped, .ctx = s };
	struct st_pairing *p;

	memset(s, 0, sizeof(*s));
	p = st_pairing_new(&ops);
	assert_non_null(p);
	return p;
}

static void feed(struct st_pairing *p, uint16_t kind, uint32_t probe, uint32_t tid,
		 uint64_t kseq, const char *in, const char *out, uint64_t pos)
{
	struct ev_buf b;
	size_t n = mk(&b, kind, probe, tid, kseq, in, out);

	assert_int_equal(st_pairing_event(p, &b.ev, n, pos, pos), 0);
}

static void test_pair_and_merge(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	feed(p, ST_EV_ENTRY, 1, 7, 0, "question", NULL, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(st_pairing_pending(p), 1);
	feed(p, ST_EV_RETURN, 1, 7, 0, NULL, "answer", 100);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].state, ST_CALL_COMPLETE);
	assert_string_equal(s.in[0], "question");
	assert_string_equal(s.out[0], "answer");
	assert_int_equal(s.calls[0].entry_ts, 1000);
	assert_int_equal(st_pairing_pending(p), 0);
	st_pairing_free(p);
}

static void test_interleaved_threads_out_of_order(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	/* two threads: kseq 1 is reserved in the ring after kseq 2 */
	feed(p, ST_EV_ENTRY, 3, 8, 2, "b", NULL, 0);
	feed(p, ST_EV_ENTRY, 3, 7, 1, "a", NULL, 10);
	feed(p, ST_EV_RETURN, 3, 7, 1, NULL, "A", 20);
	feed(p, ST_EV_RETURN, 3, 8, 2, NULL, "B", 30);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.in[0], "a");
	assert_string_equal(s.out[0], "A");
	assert_int_equal(s.calls[0].tid, 7);
	assert_string_equal(s.in[1], "b");
	assert_string_equal(s.out[1], "B");
	st_pairing_free(p);
}

static void test_return_without_entry(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	feed(p, ST_EV_RETURN, 1, 7, 5, NULL, "out", 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].state, ST_CALL_NO_ENTRY);
	assert_int_equal(s.calls[0].entry_ts, 0);
	assert_int_equal(s.calls[0].in_len, 0);
	assert_string_equal(s.out[0], "out");
	st_pairing_free(p);
}

static void test_thread_exit_only_its_calls(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);
	struct ev_buf b;
	size_t n;

	feed(p, ST_EV_ENTRY, 1, 7, 0, "x", NULL, 0);
	feed(p, ST_EV_ENTRY, 2, 7, 0, "y", NULL, 8);
	feed(p, ST_EV_ENTRY, 1, 9, 1, "z", NULL, 16);
	n = mk(&b, ST_EV_THREAD_EXIT, 0, 7, 0, NULL, NULL);
	b.ev.ret = 139;
	assert_int_equal(st_pairing_event(p, &b.ev, n, 24, 24), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.calls[0].state, ST_CALL_INCOMPLETE);
	assert_int_equal(s.calls[1].state, ST_CALL_INCOMPLETE);
	assert_int_equal(s.calls[0].ret, 139);
	assert_int_equal(st_pairing_pending(p), 1);
	st_pairing_flush(p);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.in[2], "z");
	assert_int_equal(s.calls[2].return_ts, 0);
	st_pairing_free(p);
}

static void test_lost_return_and_lost_call(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	feed(p, ST_EV_ENTRY, 1, 7, 4, "in", NULL, 0);
	assert_int_equal(st_pairing_lost_return(p, 1, 4), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].state, ST_CALL_NO_RETURN);
	assert_string_equal(s.in[0], "in");
	/* neither event: the whole call is lost */
	assert_int_equal(st_pairing_lost_return(p, 1, 5), 0);
	assert_int_equal(s.n, 1);
	st_pairing_free(p);
}

/* Only thread 9 is still alive. */
static bool only_9_alive(uint32_t tgid, uint32_t tid)
{
	(void)tgid;
	return tid == 9;
}

static void test_dead_thread_calls_become_incomplete(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	/* an entry lost in the kernel leaves a return without entry */
	feed(p, ST_EV_RETURN, 1, 7, 10, NULL, "o", 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.calls[0].state, ST_CALL_NO_ENTRY);

	/* open calls of a dead thread (its exit event lost) end as incomplete */
	feed(p, ST_EV_ENTRY, 2, 7, 0, "dead", NULL, 8);
	feed(p, ST_EV_ENTRY, 2, 9, 1, "alive", NULL, 16);
	st_pairing_reap_mark(p, only_9_alive);
	st_pairing_reap_settle(p, 5);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.calls[1].state, ST_CALL_INCOMPLETE);
	assert_string_equal(s.in[1], "dead");
	assert_int_equal(s.calls[1].return_ts, 5);
	assert_int_equal(st_pairing_pending(p), 1);
	st_pairing_free(p);
}

/* An entry read between mark and settle (during the drain) is not reaped. */
static void test_entry_after_mark_is_not_reaped(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);
	int i;

	feed(p, ST_EV_ENTRY, 1, 7, 0, "dead", NULL, 0);
	st_pairing_reap_mark(p, only_9_alive);
	/* many, so that a flag left uninitialised by malloc would show */
	for (i = 1; i <= 20; i++)
		feed(p, ST_EV_ENTRY, 1, 7, (uint64_t)i, "new", NULL, (uint64_t)i * 8);
	st_pairing_reap_settle(p, 5);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.in[0], "dead");
	assert_int_equal(st_pairing_pending(p), 20);
	st_pairing_free(p);
}

static void test_skip_recorded_calls(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);

	assert_int_equal(st_pairing_skip(p, 1, 3), 0);
	feed(p, ST_EV_ENTRY, 1, 7, 3, "again", NULL, 40);
	feed(p, ST_EV_RETURN, 1, 7, 3, NULL, "again", 48);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.skipped, 1);
	assert_int_equal(s.skipped_pos, 48);
	assert_int_equal(st_pairing_pending(p), 0);
	/* the next call of the same probe is recorded */
	feed(p, ST_EV_ENTRY, 1, 7, 4, "new", NULL, 56);
	feed(p, ST_EV_RETURN, 1, 7, 4, NULL, "new", 64);
	assert_int_equal(s.n, 1);
	st_pairing_free(p);
}

static void test_safe_pos(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);
	struct ev_buf b;
	size_t n;

	assert_int_equal(st_pairing_safe_pos(p, 500, 0, 100), 500);
	n = mk(&b, ST_EV_ENTRY, 1, 7, 0, "a", NULL);
	assert_int_equal(st_pairing_event(p, &b.ev, n, 200, 1000), 0);
	n = mk(&b, ST_EV_ENTRY, 1, 8, 1, "b", NULL);
	assert_int_equal(st_pairing_event(p, &b.ev, n, 300, 1050), 0);
	/* the oldest pending entry holds the ring position */
	assert_int_equal(st_pairing_safe_pos(p, 500, 1060, 100), 200);
	/* unless it is older than the limit: then the next one does */
	assert_int_equal(st_pairing_safe_pos(p, 500, 1101, 100), 300);
	assert_int_equal(st_pairing_safe_pos(p, 500, 5000, 100), 500);
	st_pairing_free(p);	/* pending entries are freed (ASan checks) */
}

static void test_malformed_sizes(void **state)
{
	struct seen s;
	struct st_pairing *p = new_pairing(&s);
	struct ev_buf b;
	size_t n = mk(&b, ST_EV_ENTRY, 1, 7, 0, "abcdef", NULL);

	/* shorter than header + the lengths it claims */
	assert_int_equal(st_pairing_event(p, &b.ev, n - 1, 0, 0), -1);
	assert_int_equal(st_pairing_event(p, &b.ev, sizeof(b.ev) - 1, 0, 0), -1);
	b.ev.in_len = ST_MAX_CAPTURE + 1;
	assert_int_equal(st_pairing_event(p, &b.ev, sizeof(b), 0, 0), -1);
	assert_int_equal(st_pairing_pending(p), 0);
	assert_int_equal(s.n, 0);
	st_pairing_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_and_merge),
		cmocka_unit_test(test_interleaved_threads_out_of_order),
		cmocka_unit_test(test_return_without_entry),
		cmocka_unit_test(test_thread_exit_only_its_calls),
		cmocka_unit_test(test_lost_return_and_lost_call),
		cmocka_unit_test(test_dead_thread_calls_become_incomplete),
		cmocka_unit_test(test_entry_after_mark_is_not_reaped),
		cmocka_unit_test(test_skip_recorded_calls),
		cmocka_unit_test(test_safe_pos),
		cmocka_unit_test(test_malformed_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
