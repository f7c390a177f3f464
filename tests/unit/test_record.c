// SPDX-License-Identifier: Apache-2.0
/*
 * st_record_canon writes a line in one reservation with its own string
 * and number code (record.c); it must give exactly the bytes that the
 * json.h writers give. The reference below is the writer as it was built
 * from st_json_* calls; random records (escapes, invalid UTF-8, integers
 * beyond 2^53, NULL fields, unsorted details, timestamps across seconds,
 * schema 2's decision and pseudonyms objects or nulls with doubles and
 * null members, schema 1 records without them) go through both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
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
	case ST_KV_NULL: st_json_null(b); break;
	case ST_KV_NUM: st_json_double(b, kv->v.d); break;
	}
}

/* "key":{...}, with the members sorted by key */
static void ref_object(struct st_buf *b, const char *key,
		       const struct st_kv *kvs, size_t n)
{
	const struct st_kv *sorted[ST_RECORD_MAX_DETAILS], *t;
	size_t i, j;

	for (i = 0; i < n; i++) {
		t = &kvs[i];
		for (j = i; j > 0 && strcmp(sorted[j - 1]->key, t->key) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = t;
	}
	st_json_key(b, key);
	st_buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		if (i)
			st_buf_putc(b, ',');
		ref_kv(b, sorted[i]);
	}
	st_buf_put(b, "},", 2);
}

/* The reference: key order of docs/schema.md, objects sorted by key. */
static void ref_canon(struct st_buf *b, const struct st_record_hdr *hdr,
		      const struct st_record *rec)
{
	char ts[ST_TIME_LEN + 1];

	assert_int_equal(st_time_format(rec->timestamp_ns, ts), 0);
	st_buf_put(b, "{\"schema_version\":", 18);
	st_json_int(b, rec->schema_version ? rec->schema_version : ST_SCHEMA_VERSION);
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
	if (rec->schema_version != 1) {
		if (rec->has_decision)
			ref_object(b, "decision", rec->decision, rec->ndecision);
		else
			st_buf_puts(b, "\"decision\":null,");
		if (rec->has_pseudonyms)
			ref_object(b, "pseudonyms", rec->pseudonyms, rec->npseudonyms);
		else
			st_buf_puts(b, "\"pseudonyms\":null,");
	}
	ref_object(b, "details", rec->details, rec->ndetails);
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

/* Finite doubles of every shape st_json_double writes: integers, -0,
 * fractions, exponents both ways, subnormals, the largest. */
static double rdouble(void)
{
	static const double fixed[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1e21, 1e-7,
					123456789012345680000.0, 5e-324,
					1.7976931348623157e308, 0.000001, 2.5e-5 };
	uint64_t bits;
	double v;

	switch (rnd() % 4) {
	case 0: return fixed[rnd() % (sizeof(fixed) / sizeof(fixed[0]))];
	case 1: return (double)(int64_t)(rnd() % 2000001) - 1000000.0;
	case 2: return (double)(rnd() % 1000000) / 1000.0;
	default:
		do {	/* any finite bit pattern */
			bits = rnd();
			memcpy(&v, &bits, sizeof(v));
		} while (!isfinite(v));
		return v;
	}
}

/* A decision object: every kind it may hold, nulls and doubles included. */
static size_t rdecision(struct st_kv *d, char (*pool)[48])
{
	static const char *const keys[] = { "label", "score", "approved", "amount",
					    "risk.class", "Z", "reason_code", "n" };
	size_t n = rnd() % 8, used = 0, i, j;
	const char *key;

	for (i = 0; i < n; i++) {
		key = keys[rnd() % 8];
		for (j = 0; j < used && strcmp(d[j].key, key); j++)
			;
		if (j < used)
			continue;
		d[used].key = key;
		d[used].kind = (enum st_kv_kind)(rnd() % 6);
		switch (d[used].kind) {
		case ST_KV_STR: d[used].v.s = rstr(pool[used], 48) ?: ""; break;
		case ST_KV_INT: d[used].v.i = rint64(); break;
		case ST_KV_UINT: d[used].v.u = rnd(); break;
		case ST_KV_BOOL: d[used].v.b = rnd() & 1; break;
		case ST_KV_NULL: break;
		case ST_KV_NUM: d[used].v.d = rdouble(); break;
		}
		used++;
	}
	return used;
}

/* Pseudonyms: hmac-sha256 references only. */
static size_t rpseudonyms(struct st_kv *d, char (*pool)[80])
{
	static const char *const keys[] = { "customer_id", "email", "iban", "a" };
	size_t n = rnd() % 5, used = 0, i, j;
	const char *key;

	for (i = 0; i < n; i++) {
		key = keys[rnd() % 4];
		for (j = 0; j < used && strcmp(d[j].key, key); j++)
			;
		if (j < used)
			continue;
		snprintf(pool[used], 80, "hmac-sha256:k%u:%016llx", (unsigned)(rnd() % 3),
			 (unsigned long long)rnd());
		d[used] = st_kv_str(key, pool[used]);
		used++;
	}
	return used;
}

static void test_same_bytes_as_json_writers(void **state)
{
	struct st_buf fast = { 0 }, ref = { 0 };
	char pool[8][48], dpool[6][48], cpool[8][48], ppool[4][80], err[256];
	struct st_kv d[6], dec[8], ps[4];
	int it, written = 0, v1 = 0, with_decision = 0, with_num = 0;
	size_t k;

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
		r.schema_version = (int)(rnd() % 3);	/* 0: the current one */
		if (r.schema_version != 1) {
			r.has_decision = rnd() % 3 != 0;
			r.has_pseudonyms = rnd() % 3 != 0;
			r.decision = dec;
			r.ndecision = r.has_decision ? rdecision(dec, cpool) : 0;
			r.pseudonyms = ps;
			r.npseudonyms = r.has_pseudonyms ? rpseudonyms(ps, ppool) : 0;
		}
		v1 += r.schema_version == 1;
		with_decision += r.has_decision && r.ndecision;
		for (k = 0; k < r.ndecision; k++)
			if (dec[k].kind == ST_KV_NUM) {
				with_num++;
				break;
			}
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
	/* the draw covered what it is for */
	assert_true(v1 > 5000 && with_decision > 5000 && with_num > 2000);
	st_buf_free(&fast);
	st_buf_free(&ref);
}

/* A record the writer refuses: its message, and nothing written. */
static void expect_refused(const struct st_record *r, const char *msg)
{
	struct st_record_hdr h = {
		.event_id = "01941f29-7c00-720e-b634-c414f285bdf1",
		.system_id = "s", .operator_id = "o", .node_id = "n",
		.stream = ST_STREAM_DECISION, .seq = 1,
	};
	struct st_buf b = { 0 };
	char err[256];

	memset(h.prev_hex, 'a', ST_HASH_HEX);
	st_buf_puts(&b, "kept");
	assert_int_equal(st_record_canon(&b, &h, r, err, sizeof(err)), -1);
	assert_string_equal(err, msg);
	assert_int_equal(b.len, 4);
	st_buf_free(&b);
}

static void test_refused_objects(void **state)
{
	struct st_kv nan_v[1] = { st_kv_num("score", NAN) };
	struct st_kv inf_v[1] = { st_kv_num("score", -INFINITY) };
	struct st_kv raw[1] = { st_kv_str("email", "alice@example.com") };
	struct st_kv nul[1] = { st_kv_null("email") };
	struct st_kv dup[2] = { st_kv_null("a"), st_kv_bool("a", true) };
	struct st_kv num_detail[1] = { st_kv_num("x", 1.5) };
	struct st_kv many[ST_RECORD_MAX_DECISION + 1];
	struct st_record r = {
		.type = ST_ET_INFERENCE, .timestamp_ns = 1700000000000000000ULL,
		.input_len = -1, .output_len = -1, .duration_ns = -1,
	};
	size_t i;

	r.has_decision = true;
	r.decision = nan_v;
	r.ndecision = 1;
	expect_refused(&r, "record: decision 'score' is not a finite number");
	r.decision = inf_v;
	expect_refused(&r, "record: decision 'score' is not a finite number");
	r.decision = dup;
	r.ndecision = 2;
	expect_refused(&r, "record: duplicate decision key 'a'");
	for (i = 0; i < ST_RECORD_MAX_DECISION + 1; i++)
		many[i] = st_kv_null("k");
	r.decision = many;
	r.ndecision = ST_RECORD_MAX_DECISION + 1;
	expect_refused(&r, "record: 17 decision keys, at most 16");
	r.ndecision = 0;
	r.has_pseudonyms = true;
	r.pseudonyms = raw;
	r.npseudonyms = 1;
	expect_refused(&r, "record: pseudonym 'email' is not an hmac-sha256 reference");
	r.pseudonyms = nul;
	expect_refused(&r, "record: pseudonym 'email' is not an hmac-sha256 reference");
	r.has_pseudonyms = false;
	expect_refused(&r, "record: pseudonyms without has_pseudonyms");
	r.npseudonyms = 0;
	r.details = num_detail;
	r.ndetails = 1;
	expect_refused(&r, "record: detail 'x' has a kind it may not hold");
	r.ndetails = 0;
	r.schema_version = 1;
	expect_refused(&r, "record: schema_version 1 has no decision or pseudonyms");
	r.schema_version = 3;
	r.has_decision = false;
	expect_refused(&r, "record: schema_version 3 is not 1..2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_json_writers),
		cmocka_unit_test(test_refused_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
