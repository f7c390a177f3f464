// SPDX-License-Identifier: Apache-2.0
/*
 * st_record_canon writes a line in one reservation with its own string
 * and number code (record.c); it must give exactly the bytes that the
 * json.h writers give. The reference below is the writer as it was built
 * from st_json_* calls; random records (escapes, invalid UTF-8, integers
 * beyond 2^53, NULL fields, unsorted details, timestamps across seconds)
 * go through both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sealtrace/log/record.h"

static void ref_opt_int(struct st_buf *b, const char *key, int64_t v)
{
	st_json_key(b, key);
	if (v == -1)
		st_json_null(b);
	else
		st_json_int(b, v);
	st_buf_putc(b, ',');
}

static void ref_opt_str(struct st_buf *b, const char *key, const char *s)
{
	st_json_key(b, key);
	st_json_cstr(b, s);
	st_buf_putc(b, ',');
}

static void ref_kv(struct st_buf *b, const struct st_kv *kv)
{
	st_json_key(b, kv->key);
	switch (kv->kind) {
	case ST_KV_STR: st_json_cstr(b, kv->v.s); break;
	case ST_KV_INT: st_json_int(b, kv->v.i); break;
	case ST_KV_UINT: st_json_uint(b, kv->v.u); break;
	case ST_KV_BOOL: st_json_bool(b, kv->v.b); break;
	}
}

/* The reference: key order of docs/schema.md, details sorted by key. */
static void ref_canon(struct st_buf *b, const struct st_record_hdr *hdr,
		      const struct st_record *rec)
{
	const struct st_kv *sorted[ST_RECORD_MAX_DETAILS], *t;
	char ts[ST_TIME_LEN + 1];
	size_t i, j;

	assert_int_equal(st_time_format(rec->timestamp_ns, ts), 0);
	for (i = 0; i < rec->ndetails; i++) {
		t = &rec->details[i];
		for (j = i; j > 0 && strcmp(sorted[j - 1]->key, t->key) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = t;
	}
	st_buf_put(b, "{\"schema_version\":", 18);
	st_json_int(b, ST_SCHEMA_VERSION);
	st_buf_putc(b, ',');
	ref_opt_str(b, "event_id", hdr->event_id);
	ref_opt_str(b, "event_type", st_event_type_name(rec->type));
	ref_opt_str(b, "timestamp_utc", ts);
	ref_opt_str(b, "system_id", hdr->system_id);
	ref_opt_str(b, "operator_id", hdr->operator_id);
	ref_opt_str(b, "node_id", hdr->node_id);
	ref_opt_str(b, "stream", st_stream_name(hdr->stream));
	st_json_key(b, "seq");
	st_json_uint(b, hdr->seq);
	st_buf_putc(b, ',');
	ref_opt_int(b, "pid", rec->pid ? rec->pid : -1);
	ref_opt_int(b, "tid", rec->tid ? rec->tid : -1);
	ref_opt_str(b, "comm", rec->comm);
	ref_opt_str(b, "container_id", rec->container_id);
	ref_opt_str(b, "probe", rec->probe);
	ref_opt_str(b, "model_version", rec->model_version);
	ref_opt_str(b, "model_artifact", rec->model_artifact);
	ref_opt_str(b, "input_hash", rec->input_hash);
	ref_opt_int(b, "input_len", rec->input_len);
	ref_opt_str(b, "output_reference", rec->output_reference);
	ref_opt_int(b, "output_len", rec->output_len);
	ref_opt_int(b, "duration_ns", rec->duration_ns);
	st_json_key(b, "ret");
	if (rec->has_ret)
		st_json_int(b, rec->ret);
	else
		st_json_null(b);
	st_buf_putc(b, ',');
	st_json_key(b, "human_override_applied");
	st_json_bool(b, rec->human_override_applied);
	st_buf_putc(b, ',');
	st_json_key(b, "details");
	st_buf_putc(b, '{');
	for (i = 0; i < rec->ndetails; i++) {
		if (i)
			st_buf_putc(b, ',');
		ref_kv(b, sorted[i]);
	}
	st_buf_put(b, "},", 2);
	st_json_key(b, "preceding_event_hash");
	st_buf_putc(b, '"');
	st_buf_put(b, hdr->prev_hex, ST_HASH_HEX);
	st_buf_put(b, "\"}", 2);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* NULL now and then; otherwise letters, controls, quotes, backslashes,
 * bytes >= 0x80 (valid UTF-8 or not) */
static const char *rstr(char *s, size_t cap)
{
	size_t n = rnd() % (cap - 1), k;
	unsigned c;

	if (rnd() % 5 == 0)
		return NULL;
	for (k = 0; k < n; k++) {
		c = (unsigned)(rnd() % 10);
		s[k] = c < 6 ? (char)('a' + rnd() % 26) :
		       c == 6 ? (char)(rnd() % 31 + 1) :
		       c == 7 ? '"' : c == 8 ? '\\' : (char)(0x80 + rnd() % 128);
	}
	s[n] = '\0';
	return s;
}

static int64_t rint64(void)
{
	switch (rnd() % 5) {
	case 0: return -1;
	case 1: return (int64_t)(rnd() % 100);
	case 2: return (int64_t)(rnd() >> 1);
	case 3: return -(int64_t)(rnd() >> 1);
	default: return 9007199254740991LL + (int64_t)(rnd() % 3);
	}
}

static size_t rdetails(struct st_kv *d, char (*pool)[48])
{
	static const char *const keys[] = { "kseq", "reason", "a", "zz", "count",
					    "probe", "x.y-z" };
	size_t n = rnd() % 6, used = 0, i, j;
	const char *key;

	for (i = 0; i < n; i++) {
		key = keys[rnd() % 7];
		for (j = 0; j < used && strcmp(d[j].key, key); j++)
			;
		if (j < used)
			continue;
		d[used].key = key;
		d[used].kind = (enum st_kv_kind)(rnd() % 4);
		if (d[used].kind == ST_KV_STR)
			d[used].v.s = rstr(pool[used], 48) ?: "";
		else if (d[used].kind == ST_KV_INT)
			d[used].v.i = rint64();
		else if (d[used].kind == ST_KV_UINT)
			d[used].v.u = rnd();
		else
			d[used].v.b = rnd() & 1;
		used++;
	}
	return used;
}

static void test_same_bytes_as_json_writers(void **state)
{
	struct st_buf fast = { 0 }, ref = { 0 };
	char pool[8][48], dpool[6][48], err[256];
	struct st_kv d[6];
	int it, written = 0;

	for (it = 0; it < 20000; it++) {
		bool inf = rnd() & 1;
		struct st_record r = {
			.type = inf ? ST_ET_INFERENCE : ST_ET_LOSS,
			.timestamp_ns = 1700000000000000000ULL + rnd() % 100000000000000ULL,
			.pid = (int32_t)(rnd() % 70000), .tid = (int32_t)(rnd() % 3),
			.comm = rstr(pool[0], 48), .container_id = rstr(pool[1], 48),
			.probe = rstr(pool[2], 48), .model_version = rstr(pool[3], 48),
			.model_artifact = rstr(pool[4], 48),
			.input_hash = rnd() % 2 ? "hmac-sha256:k:abc" : NULL,
			.input_len = rnd() % 2 ? -1 : (int64_t)(rnd() % 100000),
			.output_len = -1, .duration_ns = rnd() % 2 ? -1 : (int64_t)(rnd() >> 2),
			.has_ret = rnd() & 1, .ret = rint64(),
			.human_override_applied = rnd() & 1, .details = d,
		};
		struct st_record_hdr h = {
			.event_id = "01941f29-7c00-720e-b634-c414f285bdf1",
			.system_id = rstr(pool[5], 48) ?: "s",
			.operator_id = "op\x01\xff", .node_id = "n",
			.stream = inf ? ST_STREAM_DECISION : ST_STREAM_SYSTEM,
			.seq = rnd(),
		};

		r.ndetails = rdetails(d, dpool);
		memset(h.prev_hex, 'a', ST_HASH_HEX);
		/* appending after what a buffer already holds, as log.c does */
		fast.len = ref.len = 0;
		if (rnd() % 3 == 0) {
			st_buf_puts(&fast, "prefix");
			st_buf_puts(&ref, "prefix");
		}
		assert_int_equal(st_record_canon(&fast, &h, &r, err, sizeof(err)), 0);
		ref_canon(&ref, &h, &r);
		assert_false(ref.oom);
		assert_int_equal(fast.len, ref.len);
		assert_memory_equal(fast.p, ref.p, ref.len + 1);	/* and the NUL */
		written++;
	}
	assert_int_equal(written, 20000);
	st_buf_free(&fast);
	st_buf_free(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_json_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
