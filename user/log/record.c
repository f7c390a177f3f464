// SPDX-License-Identifier: Apache-2.0
/* Records: canonical JSON line of one event, and its strict reader. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/record.h"

static const char *const type_names[ST_ET__COUNT] = {
	[ST_ET_INFERENCE] = "inference",
	[ST_ET_INCOMPLETE] = "incomplete",
	[ST_ET_SYSTEM_ACTIVATION] = "system_activation",
	[ST_ET_SYSTEM_DEACTIVATION] = "system_deactivation",
	[ST_ET_MODEL_LOADED] = "model_loaded",
	[ST_ET_PROBE_ATTACHED] = "probe_attached",
	[ST_ET_PROBE_DETACHED] = "probe_detached",
	[ST_ET_AGENT_START] = "agent_start",
	[ST_ET_AGENT_STOP] = "agent_stop",
	[ST_ET_LOSS] = "loss",
	[ST_ET_HEARTBEAT] = "heartbeat",
	[ST_ET_CHECKPOINT] = "checkpoint",
	[ST_ET_RECOVERY] = "recovery",
	[ST_ET_RETENTION_PURGE] = "retention_purge",
	[ST_ET_LOG_ACCESS] = "log_access",
	[ST_ET_OVERSIGHT] = "oversight",
	[ST_ET_CONFIG_CHANGE] = "config_change",
	[ST_ET_KEY_EPOCH] = "key_epoch",
	[ST_ET_RISK] = "risk",
};

static const char *const stream_names[ST_STREAM__COUNT] = {
	[ST_STREAM_DECISION] = "decision",
	[ST_STREAM_SYSTEM] = "system",
};

/* The fixed key order; st_record_canon writes exactly these. */
static const char *const keys[] = {
	"schema_version", "event_id", "event_type", "timestamp_utc",
	"system_id", "operator_id", "node_id", "stream", "seq", "pid", "tid",
	"comm", "container_id", "probe", "model_version", "model_artifact",
	"input_hash", "input_len", "output_reference", "output_len",
	"duration_ns", "ret", "human_override_applied", "decision",
	"pseudonyms", "details", "preceding_event_hash",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
/* schema 1: the same without decision and pseudonyms */
static const char *const keys_v1[] = {
	"schema_version", "event_id", "event_type", "timestamp_utc",
	"system_id", "operator_id", "node_id", "stream", "seq", "pid", "tid",
	"comm", "container_id", "probe", "model_version", "model_artifact",
	"input_hash", "input_len", "output_reference", "output_len",
	"duration_ns", "ret", "human_override_applied", "details",
	"preceding_event_hash",
};
#define NKEYS_V1 (sizeof(keys_v1) / sizeof(keys_v1[0]))

const char *st_event_type_name(enum st_event_type t)
{
	if ((unsigned)t >= ST_ET__COUNT)
		return NULL;
	return type_names[t];
}

/* Index of name in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

int st_event_type_parse(const char *name)
{
	return name_index(type_names, ST_ET__COUNT, name);
}

const char *st_stream_name(enum st_stream s)
{
	if ((unsigned)s >= ST_STREAM__COUNT)
		return NULL;
	return stream_names[s];
}

int st_stream_parse(const char *name)
{
	return name_index(stream_names, ST_STREAM__COUNT, name);
}

enum st_stream st_event_stream(enum st_event_type t)
{
	if (t == ST_ET_INFERENCE || t == ST_ET_INCOMPLETE)
		return ST_STREAM_DECISION;
	return ST_STREAM_SYSTEM;
}

/* ---- time ------------------------------------------------------------- */

static void put_dec(char *out, uint64_t v, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

int st_time_format(uint64_t ns, char out[ST_TIME_LEN + 1])
{
	/* records come in time order: the date and time of the last second
	 * formatted (per thread) spares a gmtime_r per record */
	static __thread uint64_t last_sec = UINT64_MAX;
	static __thread char last[ST_TIME_LEN + 1];
	uint64_t s = ns / 1000000000ULL;
	time_t sec = (time_t)s;
	struct tm tm;

	if (s != last_sec) {
		if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
			return -1;
		memcpy(last, "0000-00-00T00:00:00.000000000Z", ST_TIME_LEN + 1);
		put_dec(last, (uint64_t)tm.tm_year + 1900, 4);
		put_dec(last + 5, (uint64_t)tm.tm_mon + 1, 2);
		put_dec(last + 8, (uint64_t)tm.tm_mday, 2);
		put_dec(last + 11, (uint64_t)tm.tm_hour, 2);
		put_dec(last + 14, (uint64_t)tm.tm_min, 2);
		put_dec(last + 17, (uint64_t)tm.tm_sec, 2);
		last_sec = s;
	}
	memcpy(out, last, ST_TIME_LEN + 1);
	put_dec(out + 20, ns % 1000000000ULL, 9);
	return 0;
}

static int digits(const char **s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int expect(const char **s, char c)
{
	if (**s != c)
		return -1;
	(*s)++;
	return 0;
}

#define RFC3339_FORM "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.frac]] with Z or +HH:MM"
/* the last second whose nanoseconds fit in 64 bits: 2554-07-21T23:34:33Z */
#define MAX_UNIX_SECONDS (UINT64_MAX / 1000000000ULL - 1)

static int days_in_month(int y, int mo)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/* The clock part after 'T': HH:MM[:SS[.frac]] and the zone. */
static int parse_clock(const char **p, int f[5], int *sign, uint64_t *frac)
{
	const char *s = *p;
	uint64_t scale = 100000000ULL;

	if (digits(&s, 2, &f[0]) || expect(&s, ':') || digits(&s, 2, &f[1]))
		return -1;
	if (*s == ':') {
		s++;
		if (digits(&s, 2, &f[2]))
			return -1;
		if (*s == '.') {
			s++;
			if (*s < '0' || *s > '9')
				return -1;
			for (; *s >= '0' && *s <= '9'; s++) {
				*frac += (uint64_t)(*s - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		*sign = *s == '+' ? 1 : -1;
		s++;
		if (digits(&s, 2, &f[3]) || expect(&s, ':') || digits(&s, 2, &f[4]))
			return -1;
	} else {
		return -1;	/* a time without a zone is ambiguous */
	}
	*p = s;
	return *s ? -1 : 0;
}

int st_time_parse_why(const char *s, uint64_t *ns, char *why, size_t whylen)
{
	int y, mo, d, f[5] = { 0 }, sign = 0;	/* h, mi, sec, oh, om */
	const char *text = s;
	uint64_t frac = 0;
	struct tm tm = { 0 };
	time_t t;

	if (digits(&s, 4, &y) || expect(&s, '-') || digits(&s, 2, &mo) ||
	    expect(&s, '-') || digits(&s, 2, &d))
		return st_errf(why, whylen, "'%.40s' is not a time (" RFC3339_FORM ")", text);
	if (*s && ((*s != 'T' && *s != 't' && *s != ' ') ||
		   (s++, parse_clock(&s, f, &sign, &frac))))
		return st_errf(why, whylen, "'%.40s' is not a time (" RFC3339_FORM ")", text);
	if (mo < 1 || mo > 12)
		return st_errf(why, whylen, "'%.40s': there is no month %d", text, mo);
	if (d < 1 || d > days_in_month(y, mo))
		return st_errf(why, whylen, "'%.40s': %04d-%02d has no day %d", text, y, mo, d);
	if (f[0] > 23 || f[1] > 59 || f[2] > 60 || f[3] > 23 || f[4] > 59)
		return st_errf(why, whylen, "'%.40s': hour, minute, second or offset out of range",
			       text);
	if (y < 1970)
		return st_errf(why, whylen, "'%.40s' is before 1970-01-01", text);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = f[0];
	tm.tm_min = f[1];
	tm.tm_sec = f[2];
	t = timegm(&tm);
	t -= sign * (f[3] * 3600 + f[4] * 60);
	if (t < 0)
		return st_errf(why, whylen, "'%.40s' is before 1970-01-01", text);
	if ((uint64_t)t > MAX_UNIX_SECONDS)
		return st_errf(why, whylen, "'%.40s' is after 2554-07-21T23:34:32Z, the last second a 64-bit nanosecond timestamp holds",
			       text);
	*ns = (uint64_t)t * 1000000000ULL + frac;
	return 0;
}

int st_time_parse(const char *s, uint64_t *ns)
{
	return st_time_parse_why(s, ns, NULL, 0);
}

/* ---- writer ----------------------------------------------------------- */

static bool detail_key_ok(const char *k)
{
	size_t n = 0;

	if (!k)
		return false;
	for (; k[n]; n++)
		if (!((k[n] >= 'a' && k[n] <= 'z') || (k[n] >= 'A' && k[n] <= 'Z') ||
		      (k[n] >= '0' && k[n] <= '9') || k[n] == '_' ||
		      k[n] == '.' || k[n] == '-'))
			return false;
	return n >= 1 && n <= ST_DETAIL_KEY_MAX;
}

static bool is_ref(const char *s)
{
	return !s || !strncmp(s, "hmac-sha256:", 12);
}

/*
 * The writer reserves a bound for the whole line once and then stores
 * bytes directly (kept at the cursor *p, written back to b->len before a
 * call into json.c); strings that need no escaping are copied whole.
 * The bytes are exactly those of the st_json_* writers (json.h rules).
 */
#define LIT(p, s)	put_raw(p, s, sizeof(s) - 1)
#define NUM_MAX		22	/* '"' '-' 20 digits '"' */

static void put_raw(char **p, const char *s, size_t n)
{
	memcpy(*p, s, n);
	*p += n;
}

/* Bytes st_json_str may write for n input bytes (\u00xx is the longest). */
static size_t str_bound(const char *s)
{
	return s ? 6 * strlen(s) + 2 : 4;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/* A byte of x below n (n <= 0x80), or a zero byte: the classic SWAR tests. */
static inline uint64_t has_less(uint64_t x, uint64_t n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

static inline uint64_t has_zero(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

/* No byte needs an escape or a UTF-8 check: 8 bytes a step. */
static bool plain(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint64_t x;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, u + i, 8);
		if ((x & HIGHS) | has_less(x, 0x20) | has_zero(x ^ (ONES * '"')) |
		    has_zero(x ^ (ONES * '\\')))
			return false;
	}
	for (; i < n; i++)
		if (u[i] < 0x20 || u[i] >= 0x80 || u[i] == '"' || u[i] == '\\')
			return false;
	return true;
}

static void put_str(struct st_buf *b, char **p, const char *s)
{
	size_t n;

	if (!s) {
		LIT(p, "null");
		return;
	}
	n = strlen(s);
	if (plain(s, n)) {
		*(*p)++ = '"';
		put_raw(p, s, n);
		*(*p)++ = '"';
		return;
	}
	b->len = (size_t)(*p - b->p);	/* within the reservation */
	st_json_str(b, s, n);
	*p = b->p + b->len;
}

static void put_mag(char **p, bool neg, uint64_t mag)
{
	char tmp[20];
	size_t n = 0;
	bool quote = mag > ST_JSON_SAFE_INT;

	do {
		tmp[n++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (quote)
		*(*p)++ = '"';
	if (neg)
		*(*p)++ = '-';
	while (n)
		*(*p)++ = tmp[--n];
	if (quote)
		*(*p)++ = '"';
}

static void put_int(char **p, int64_t v)
{
	if (v < 0)
		put_mag(p, true, (uint64_t)0 - (uint64_t)v);
	else
		put_mag(p, false, (uint64_t)v);
}

/* -1 is null */
static void put_opt_int(char **p, int64_t v)
{
	if (v == -1)
		LIT(p, "null");
	else
		put_int(p, v);
}

/* Bytes st_json_double may write (its own buffer is this size). */
#define DOUBLE_MAX	48

static void put_double(struct st_buf *b, char **p, double v)
{
	b->len = (size_t)(*p - b->p);	/* within the reservation */
	st_json_double(b, v);
	*p = b->p + b->len;
}

static void put_kv(struct st_buf *b, char **p, const struct st_kv *kv)
{
	*(*p)++ = '"';
	put_raw(p, kv->key, strlen(kv->key));
	LIT(p, "\":");
	switch (kv->kind) {
	case ST_KV_STR: put_str(b, p, kv->v.s); break;
	case ST_KV_INT: put_int(p, kv->v.i); break;
	case ST_KV_UINT: put_mag(p, false, kv->v.u); break;
	case ST_KV_BOOL:
		if (kv->v.b)
			LIT(p, "true");
		else
			LIT(p, "false");
		break;
	case ST_KV_NULL: LIT(p, "null"); break;
	case ST_KV_NUM: put_double(b, p, kv->v.d); break;
	}
}

/* What each object of a record may hold. */
enum kv_set { KV_DETAILS, KV_DECISION, KV_PSEUDONYMS };

static int check_kv(const struct st_kv *t, enum kv_set set, const char *what,
		    char *err, size_t errlen)
{
	if (!detail_key_ok(t->key))
		return st_errf(err, errlen, "record: %s key '%s' is not [A-Za-z0-9_.-]{1,64}",
			    what, t->key ? t->key : "(null)");
	if ((unsigned)t->kind > ST_KV_NUM ||
	    (set == KV_DETAILS && t->kind > ST_KV_BOOL))
		return st_errf(err, errlen, "record: %s '%s' has a kind it may not hold",
			    what, t->key);
	if (set == KV_PSEUDONYMS && (t->kind != ST_KV_STR || !t->v.s ||
				     strncmp(t->v.s, "hmac-sha256:", 12)))
		return st_errf(err, errlen, "record: pseudonym '%s' is not an hmac-sha256 reference",
			    t->key);
	if (t->kind == ST_KV_NUM && (t->v.d != t->v.d || t->v.d - t->v.d != 0))
		return st_errf(err, errlen, "record: %s '%s' is not a finite number",
			    what, t->key);
	return 0;
}

/*
 * One object of a record (details, decision, pseudonyms), checked and
 * sorted bytewise by key before anything is written, so a bad record
 * writes nothing.
 */
struct sorted_obj {
	const struct st_kv *kv[ST_RECORD_MAX_DETAILS];
	size_t n;
	bool present;		/* false: written as null */
};

static int sort_object(const struct st_kv *kvs, size_t n, enum kv_set set,
		       struct sorted_obj *o, char *err, size_t errlen)
{
	static const char *const what[] = { "detail", "decision", "pseudonym" };
	static const size_t max[] = { ST_RECORD_MAX_DETAILS, ST_RECORD_MAX_DECISION,
				      ST_RECORD_MAX_DECISION };
	const struct st_kv *t;
	size_t i, j;
	int c;

	if (n > max[set])
		return st_errf(err, errlen, "record: %zu %s keys, at most %zu",
			    n, what[set], max[set]);
	for (i = 0; i < n; i++) {
		t = &kvs[i];
		if (check_kv(t, set, what[set], err, errlen))
			return -1;
		/* insertion sort: records carry a handful of members */
		for (j = i; j > 0; j--) {
			c = strcmp(o->kv[j - 1]->key, t->key);
			if (!c)
				return st_errf(err, errlen, "record: duplicate %s key '%s'",
					    what[set], t->key);
			if (c < 0)
				break;
			o->kv[j] = o->kv[j - 1];
		}
		o->kv[j] = t;
	}
	o->n = n;
	o->present = true;
	return 0;
}

/* The three objects of a record, in the order main's checks ran. */
struct sorted_objs {
	struct sorted_obj decision, pseudonyms, details;
};

/* Schema 2: "decision" and "pseudonyms", each an object or null. */
static int sort_decision(const struct st_record *rec, struct sorted_objs *s,
			 char *err, size_t errlen)
{
	if (!rec->has_decision && rec->ndecision)
		return st_errf(err, errlen, "record: decision values without has_decision");
	if (!rec->has_pseudonyms && rec->npseudonyms)
		return st_errf(err, errlen, "record: pseudonyms without has_pseudonyms");
	if (rec->has_decision &&
	    sort_object(rec->decision, rec->ndecision, KV_DECISION, &s->decision,
			err, errlen))
		return -1;
	if (rec->has_pseudonyms &&
	    sort_object(rec->pseudonyms, rec->npseudonyms, KV_PSEUDONYMS,
			&s->pseudonyms, err, errlen))
		return -1;
	return 0;
}

static int sort_objects(const struct st_record *rec, struct sorted_objs *s,
			char *err, size_t errlen)
{
	s->decision.present = s->pseudonyms.present = false;
	s->decision.n = s->pseudonyms.n = 0;
	if (rec->schema_version != 1 && sort_decision(rec, s, err, errlen))
		return -1;
	return sort_object(rec->details, rec->ndetails, KV_DETAILS, &s->details,
			   err, errlen);
}

/* "key":{...}, or "key":null, */
static void put_object(struct st_buf *b, char **p, const char *key_colon,
		       const struct sorted_obj *o)
{
	size_t i;

	put_raw(p, key_colon, strlen(key_colon));
	if (!o->present) {
		LIT(p, "null,");
		return;
	}
	*(*p)++ = '{';
	for (i = 0; i < o->n; i++) {
		if (i)
			*(*p)++ = ',';
		put_kv(b, p, o->kv[i]);
	}
	LIT(p, "},");
}

static int check_record(const struct st_record_hdr *hdr,
			const struct st_record *rec, char *err, size_t errlen)
{
	if ((unsigned)rec->type >= ST_ET__COUNT)
		return st_errf(err, errlen, "record: unknown event type %d", rec->type);
	if ((unsigned)hdr->stream >= ST_STREAM__COUNT ||
	    st_event_stream(rec->type) != hdr->stream)
		return st_errf(err, errlen, "record: event type %s does not belong to stream %d",
			    st_event_type_name(rec->type), hdr->stream);
	if (!hdr->event_id || strlen(hdr->prev_hex) != ST_HASH_HEX)
		return st_errf(err, errlen, "record: header lacks event_id or preceding hash");
	if (!is_ref(rec->input_hash) || !is_ref(rec->output_reference))
		return st_errf(err, errlen, "record: input_hash/output_reference must be an hmac-sha256 reference, never raw data");
	if (rec->input_len < -1 || rec->output_len < -1 || rec->duration_ns < -1)
		return st_errf(err, errlen, "record: negative length or duration");
	if (rec->pid < 0 || rec->tid < 0)
		return st_errf(err, errlen, "record: negative pid/tid");
	if (rec->schema_version && (rec->schema_version < ST_SCHEMA_VERSION_MIN ||
				    rec->schema_version > ST_SCHEMA_VERSION))
		return st_errf(err, errlen, "record: schema_version %d is not %d..%d",
			    rec->schema_version, ST_SCHEMA_VERSION_MIN, ST_SCHEMA_VERSION);
	if (rec->schema_version == 1 && (rec->has_decision || rec->has_pseudonyms))
		return st_errf(err, errlen, "record: schema_version 1 has no decision or pseudonyms");
	return 0;
}

/* An upper bound of the bytes one object adds to the line. */
static size_t object_bound(const struct sorted_obj *o)
{
	size_t n = 16 + 4, i;	/* "pseudonyms": {}, or null, */

	for (i = 0; i < o->n; i++) {
		n += ST_DETAIL_KEY_MAX + 4;
		if (o->kv[i]->kind == ST_KV_STR)
			n += str_bound(o->kv[i]->v.s);
		else
			n += NUM_MAX > DOUBLE_MAX ? NUM_MAX : DOUBLE_MAX;
	}
	return n;
}

/* An upper bound of the line st_record_canon writes for rec. */
static size_t line_bound(const struct st_record_hdr *hdr,
			 const struct st_record *rec,
			 const struct sorted_objs *s)
{
	size_t n = 1024;	/* keys, punctuation, ids, hash */

	n += str_bound(hdr->system_id) + str_bound(hdr->operator_id) +
	     str_bound(hdr->node_id) + str_bound(rec->comm) +
	     str_bound(rec->container_id) + str_bound(rec->probe) +
	     str_bound(rec->model_version) + str_bound(rec->model_artifact) +
	     str_bound(rec->input_hash) + str_bound(rec->output_reference) +
	     str_bound(hdr->event_id);
	return n + object_bound(&s->decision) + object_bound(&s->pseudonyms) +
	       object_bound(&s->details);
}

int st_record_canon(struct st_buf *b, const struct st_record_hdr *hdr,
		    const struct st_record *rec, char *err, size_t errlen)
{
	struct sorted_objs s;
	char ts[ST_TIME_LEN + 1], *p;

	if (check_record(hdr, rec, err, errlen))
		return -1;
	if (st_time_format(rec->timestamp_ns, ts))
		return st_errf(err, errlen, "record: timestamp %" PRIu64 " out of range",
			    rec->timestamp_ns);
	if (sort_objects(rec, &s, err, errlen))
		return -1;
	if (st_buf_reserve(b, line_bound(hdr, rec, &s)))
		return st_errf(err, errlen, "record: out of memory");
	p = b->p + b->len;
	LIT(&p, "{\"schema_version\":");
	put_int(&p, rec->schema_version ? rec->schema_version : ST_SCHEMA_VERSION);
	LIT(&p, ",\"event_id\":");
	put_str(b, &p, hdr->event_id);
	LIT(&p, ",\"event_type\":");
	put_str(b, &p, st_event_type_name(rec->type));
	LIT(&p, ",\"timestamp_utc\":");
	put_str(b, &p, ts);
	LIT(&p, ",\"system_id\":");
	put_str(b, &p, hdr->system_id);
	LIT(&p, ",\"operator_id\":");
	put_str(b, &p, hdr->operator_id);
	LIT(&p, ",\"node_id\":");
	put_str(b, &p, hdr->node_id);
	LIT(&p, ",\"stream\":");
	put_str(b, &p, st_stream_name(hdr->stream));
	LIT(&p, ",\"seq\":");
	put_mag(&p, false, hdr->seq);
	LIT(&p, ",\"pid\":");
	put_opt_int(&p, rec->pid ? rec->pid : -1);
	LIT(&p, ",\"tid\":");
	put_opt_int(&p, rec->tid ? rec->tid : -1);
	LIT(&p, ",\"comm\":");
	put_str(b, &p, rec->comm);
	LIT(&p, ",\"container_id\":");
	put_str(b, &p, rec->container_id);
	LIT(&p, ",\"probe\":");
	put_str(b, &p, rec->probe);
	LIT(&p, ",\"model_version\":");
	put_str(b, &p, rec->model_version);
	LIT(&p, ",\"model_artifact\":");
	put_str(b, &p, rec->model_artifact);
	LIT(&p, ",\"input_hash\":");
	put_str(b, &p, rec->input_hash);
	LIT(&p, ",\"input_len\":");
	put_opt_int(&p, rec->input_len);
	LIT(&p, ",\"output_reference\":");
	put_str(b, &p, rec->output_reference);
	LIT(&p, ",\"output_len\":");
	put_opt_int(&p, rec->output_len);
	LIT(&p, ",\"duration_ns\":");
	put_opt_int(&p, rec->duration_ns);
	LIT(&p, ",\"ret\":");
	if (rec->has_ret)
		put_int(&p, rec->ret);
	else
		LIT(&p, "null");
	if (rec->human_override_applied)
		LIT(&p, ",\"human_override_applied\":true,");
	else
		LIT(&p, ",\"human_override_applied\":false,");
	if (rec->schema_version != 1) {
		put_object(b, &p, "\"decision\":", &s.decision);
		put_object(b, &p, "\"pseudonyms\":", &s.pseudonyms);
	}
	put_object(b, &p, "\"details\":", &s.details);
	LIT(&p, "\"preceding_event_hash\":\"");
	put_raw(&p, hdr->prev_hex, ST_HASH_HEX);
	LIT(&p, "\"}");
	b->len = (size_t)(p - b->p);
	b->p[b->len] = '\0';
	if (b->oom)
		return st_errf(err, errlen, "record: out of memory");
	return 0;
}

/* ---- reader ----------------------------------------------------------- */

static int get_str(const struct st_jv *v, const char *key, bool nullable,
		   const char **out, char *err, size_t errlen)
{
	if (nullable && v->t == ST_JNULL) {
		*out = NULL;
		return 0;
	}
	if (v->t != ST_JSTR || strlen(v->s) != v->slen)
		return st_errf(err, errlen, "%s: expected a string", key);
	*out = v->s;
	return 0;
}

/* An integer written as a number, or (beyond 2^53) as a decimal string. */
static int get_int(const struct st_jv *v, const char *key, int64_t *out,
		   char *err, size_t errlen)
{
	struct st_jv tmp = { .t = ST_JINT };
	const char *s;
	char *end;

	if (v->t == ST_JSTR) {
		s = v->s;
		tmp.neg = *s == '-';
		if (tmp.neg)
			s++;
		if (*s < '0' || *s > '9')
			return st_errf(err, errlen, "%s: expected an integer", key);
		tmp.mag = strtoull(s, &end, 10);
		if (*end)
			return st_errf(err, errlen, "%s: expected an integer", key);
		v = &tmp;
	}
	if (st_jv_int64(v, out))
		return st_errf(err, errlen, "%s: expected a 64-bit integer", key);
	return 0;
}

static int get_opt_int(const struct st_jv *v, const char *key, int64_t *out,
		       char *err, size_t errlen)
{
	if (v->t == ST_JNULL) {
		*out = -1;
		return 0;
	}
	if (get_int(v, key, out, err, errlen))
		return -1;
	if (*out < 0)
		return st_errf(err, errlen, "%s: negative", key);
	return 0;
}

/* pid/tid: null (absent, 0 in the struct) or 1..INT32_MAX */
static int get_id(const struct st_jv *v, const char *key, int32_t *out,
		  char *err, size_t errlen)
{
	int64_t i;

	if (get_opt_int(v, key, &i, err, errlen))
		return -1;
	if (i > INT32_MAX)
		return st_errf(err, errlen, "%s: out of range", key);
	*out = i < 0 ? 0 : (int32_t)i;
	return 0;
}

/* One object of scalars into kvs; NULL and NUM only where allowed. */
static int get_kvs(const struct st_jv *v, const char *what, struct st_kv *kvs,
		   size_t max, bool any_scalar, size_t *n, char *err, size_t errlen)
{
	const struct st_jmember *m;
	struct st_kv *kv;

	if (v->t != ST_JOBJ)
		return st_errf(err, errlen, "%s: expected an object", what);
	if (v->n > max)
		return st_errf(err, errlen, "%s: more than %zu keys", what, max);
	for (m = v->members; m; m = m->next) {
		kv = &kvs[(*n)++];
		kv->key = m->key;
		if (any_scalar && m->val->t == ST_JNULL) {
			kv->kind = ST_KV_NULL;
			continue;
		}
		if (any_scalar && m->val->t == ST_JNUM) {
			kv->kind = ST_KV_NUM;
			kv->v.d = m->val->d;
			continue;
		}
		switch (m->val->t) {
		case ST_JSTR:
			kv->kind = ST_KV_STR;
			if (get_str(m->val, m->key, false, &kv->v.s, err, errlen))
				return -1;
			break;
		case ST_JBOOL:
			kv->kind = ST_KV_BOOL;
			kv->v.b = m->val->b;
			break;
		case ST_JINT:
			if (m->val->neg) {
				kv->kind = ST_KV_INT;
				if (st_jv_int64(m->val, &kv->v.i))
					return st_errf(err, errlen, "%s.%s: out of range",
						    what, m->key);
			} else {
				kv->kind = ST_KV_UINT;
				kv->v.u = m->val->mag;
			}
			break;
		default:
			return st_errf(err, errlen, "%s.%s: not a %s", what, m->key,
				    any_scalar ? "scalar" : "string, integer or boolean");
		}
	}
	return 0;
}

static int get_details(struct st_record_parsed *p, const struct st_jv *v,
		       char *err, size_t errlen)
{
	if (get_kvs(v, "details", p->details, ST_RECORD_MAX_DETAILS, false,
		    &p->rec.ndetails, err, errlen))
		return -1;
	p->rec.details = p->details;
	return 0;
}

/* Schema 2: decision (scalars) and pseudonyms (strings), or null. */
static int get_decision(struct st_record_parsed *p, const struct st_jv *dec,
			const struct st_jv *pse, char *err, size_t errlen)
{
	struct st_record *r = &p->rec;

	r->has_decision = dec->t != ST_JNULL;
	if (r->has_decision &&
	    get_kvs(dec, "decision", p->decision, ST_RECORD_MAX_DECISION, true,
		    &r->ndecision, err, errlen))
		return -1;
	r->decision = p->decision;
	r->has_pseudonyms = pse->t != ST_JNULL;
	if (r->has_pseudonyms &&
	    get_kvs(pse, "pseudonyms", p->pseudonyms, ST_RECORD_MAX_DECISION, false,
		    &r->npseudonyms, err, errlen))
		return -1;
	r->pseudonyms = p->pseudonyms;
	return 0;
}

/* Fill rec/hdr from the members, which are known to be the keys in order. */
static int fill(struct st_record_parsed *p, const struct st_jv *const *v,
		char *err, size_t errlen)
{
	struct st_record *r = &p->rec;
	struct st_record_hdr *h = &p->hdr;
	const char *s = NULL;
	int64_t i;
	int t;

	if (get_int(v[0], keys[0], &i, err, errlen))
		return -1;
	if (i < ST_SCHEMA_VERSION_MIN || i > ST_SCHEMA_VERSION)
		return st_errf(err, errlen, "schema_version %" PRId64 " is not %d..%d",
			    i, ST_SCHEMA_VERSION_MIN, ST_SCHEMA_VERSION);
	r->schema_version = (int)i;
	if (get_str(v[1], keys[1], false, &h->event_id, err, errlen) ||
	    get_str(v[2], keys[2], false, &s, err, errlen))
		return -1;
	t = st_event_type_parse(s);
	if (t < 0)
		return st_errf(err, errlen, "event_type: unknown '%s'", s);
	r->type = (enum st_event_type)t;
	if (get_str(v[3], keys[3], false, &s, err, errlen))
		return -1;
	if (st_time_parse(s, &r->timestamp_ns))
		return st_errf(err, errlen, "timestamp_utc: not a UTC time '%s'", s);
	if (get_str(v[4], keys[4], true, &h->system_id, err, errlen) ||
	    get_str(v[5], keys[5], true, &h->operator_id, err, errlen) ||
	    get_str(v[6], keys[6], true, &h->node_id, err, errlen) ||
	    get_str(v[7], keys[7], false, &s, err, errlen))
		return -1;
	t = st_stream_parse(s);
	if (t < 0)
		return st_errf(err, errlen, "stream: unknown '%s'", s);
	h->stream = (enum st_stream)t;
	if (st_jv_uint64(v[8], &h->seq))
		return st_errf(err, errlen, "seq: expected an unsigned integer");
	if (get_id(v[9], keys[9], &r->pid, err, errlen) ||
	    get_id(v[10], keys[10], &r->tid, err, errlen))
		return -1;
	if (get_str(v[11], keys[11], true, &r->comm, err, errlen) ||
	    get_str(v[12], keys[12], true, &r->container_id, err, errlen) ||
	    get_str(v[13], keys[13], true, &r->probe, err, errlen) ||
	    get_str(v[14], keys[14], true, &r->model_version, err, errlen) ||
	    get_str(v[15], keys[15], true, &r->model_artifact, err, errlen) ||
	    get_str(v[16], keys[16], true, &r->input_hash, err, errlen) ||
	    get_opt_int(v[17], keys[17], &r->input_len, err, errlen) ||
	    get_str(v[18], keys[18], true, &r->output_reference, err, errlen) ||
	    get_opt_int(v[19], keys[19], &r->output_len, err, errlen) ||
	    get_opt_int(v[20], keys[20], &r->duration_ns, err, errlen))
		return -1;
	r->has_ret = v[21]->t != ST_JNULL;
	if (r->has_ret && get_int(v[21], keys[21], &r->ret, err, errlen))
		return -1;
	if (v[22]->t != ST_JBOOL)
		return st_errf(err, errlen, "human_override_applied: expected a boolean");
	r->human_override_applied = v[22]->b;
	if (r->schema_version >= 2) {
		if (get_decision(p, v[23], v[24], err, errlen))
			return -1;
		v += 2;
	}
	if (get_details(p, v[23], err, errlen) ||
	    get_str(v[24], "preceding_event_hash", false, &s, err, errlen))
		return -1;
	if (strlen(s) != ST_HASH_HEX)
		return st_errf(err, errlen, "preceding_event_hash: not 64 hex digits");
	memcpy(h->prev_hex, s, ST_HASH_HEX + 1);
	return 0;
}

int st_record_parse(const char *line, size_t len, struct st_record_parsed *p,
		    struct st_buf *scratch, char *err, size_t errlen)
{
	const struct st_jv *vals[NKEYS];
	const struct st_jmember *m;
	const char *const *want = keys;
	size_t nwant = NKEYS;
	char jerr[128];
	size_t i;

	memset(p, 0, sizeof(*p));
	/* numbers with fractions can occur in decision; the rewrite below
	 * refuses them anywhere else */
	if (st_json_parse_any(line, len, &p->doc, jerr, sizeof(jerr)))
		return st_errf(err, errlen, "not JSON: %s", jerr);
	if (p->doc.root->t != ST_JOBJ)
		return st_errf(err, errlen, "not a JSON object");
	m = p->doc.root->members;
	if (m && !strcmp(m->key, "schema_version") && m->val->t == ST_JINT &&
	    !m->val->neg && m->val->mag == 1) {
		want = keys_v1;
		nwant = NKEYS_V1;
	}
	for (i = 0; i < nwant; i++, m = m->next) {
		if (!m)
			return st_errf(err, errlen, "missing key \"%s\"", want[i]);
		if (strcmp(m->key, want[i]))
			return st_errf(err, errlen, "key #%zu is \"%s\", expected \"%s\"",
				    i + 1, m->key, want[i]);
		vals[i] = m->val;
	}
	if (m)
		return st_errf(err, errlen, "unexpected key \"%s\"", m->key);
	if (fill(p, vals, err, errlen))
		return -1;
	/* the strongest canonical check: writing it again gives the same bytes */
	scratch->len = 0;
	if (st_record_canon(scratch, &p->hdr, &p->rec, err, errlen))
		return -1;
	if (scratch->len != len || memcmp(scratch->p, line, len)) {
		for (i = 0; i < len && i < scratch->len && line[i] == scratch->p[i]; i++)
			;
		return st_errf(err, errlen, "not in canonical form (first difference at byte %zu)",
			    i);
	}
	return 0;
}

void st_record_parsed_free(struct st_record_parsed *p)
{
	st_json_doc_free(&p->doc);
}

const struct st_kv *st_record_detail(const struct st_record *rec,
				     const char *key)
{
	size_t i;

	for (i = 0; i < rec->ndetails; i++)
		if (!strcmp(rec->details[i].key, key))
			return &rec->details[i];
	return NULL;
}

const char *st_record_detail_str(const struct st_record *rec, const char *key)
{
	const struct st_kv *kv = st_record_detail(rec, key);

	return kv && kv->kind == ST_KV_STR ? kv->v.s : NULL;
}

uint64_t st_record_detail_uint(const struct st_record *rec, const char *key)
{
	const struct st_kv *kv = st_record_detail(rec, key);

	if (!kv)
		return 0;
	if (kv->kind == ST_KV_UINT)
		return kv->v.u;
	return kv->kind == ST_KV_INT && kv->v.i > 0 ? (uint64_t)kv->v.i : 0;
}

void st_record_init(struct st_record *rec, enum st_event_type type, uint64_t ts_ns)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->timestamp_ns = ts_ns;
	rec->input_len = -1;
	rec->output_len = -1;
	rec->duration_ns = -1;
}

struct st_kv st_kv_str(const char *key, const char *v)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_STR };

	kv.v.s = v;
	return kv;
}

struct st_kv st_kv_int(const char *key, int64_t v)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_INT };

	kv.v.i = v;
	return kv;
}

struct st_kv st_kv_uint(const char *key, uint64_t v)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_UINT };

	kv.v.u = v;
	return kv;
}

struct st_kv st_kv_bool(const char *key, bool v)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_BOOL };

	kv.v.b = v;
	return kv;
}

struct st_kv st_kv_null(const char *key)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_NULL };

	return kv;
}

struct st_kv st_kv_num(const char *key, double v)
{
	struct st_kv kv = { .key = key, .kind = ST_KV_NUM };

	kv.v.d = v;
	return kv;
}
