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
	"duration_ns", "ret", "human_override_applied", "details",
	"preceding_event_hash",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *st_event_type_name(enum st_event_type t)
{
	if ((unsigned)t >= ST_ET__COUNT)
		return NULL;
	return type_names[t];
}

int st_event_type_parse(const char *name)
{
	int i;

	for (i = 0; i < ST_ET__COUNT; i++)
		if (!strcmp(name, type_names[i]))
			return i;
	return -1;
}

const char *st_stream_name(enum st_stream s)
{
	if ((unsigned)s >= ST_STREAM__COUNT)
		return NULL;
	return stream_names[s];
}

int st_stream_parse(const char *name)
{
	int i;

	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (!strcmp(name, stream_names[i]))
			return i;
	return -1;
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
	time_t sec = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return -1;
	memcpy(out, "0000-00-00T00:00:00.000000000Z", ST_TIME_LEN + 1);
	put_dec(out, (uint64_t)tm.tm_year + 1900, 4);
	put_dec(out + 5, (uint64_t)tm.tm_mon + 1, 2);
	put_dec(out + 8, (uint64_t)tm.tm_mday, 2);
	put_dec(out + 11, (uint64_t)tm.tm_hour, 2);
	put_dec(out + 14, (uint64_t)tm.tm_min, 2);
	put_dec(out + 17, (uint64_t)tm.tm_sec, 2);
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

static void put_opt_int(struct st_buf *b, const char *key, int64_t v)
{
	st_json_key(b, key);
	if (v == -1)
		st_json_null(b);
	else
		st_json_int(b, v);
	st_buf_putc(b, ',');
}

static void put_opt_str(struct st_buf *b, const char *key, const char *s)
{
	st_json_key(b, key);
	st_json_cstr(b, s);
	st_buf_putc(b, ',');
}

static void put_kv(struct st_buf *b, const struct st_kv *kv)
{
	st_json_key(b, kv->key);
	switch (kv->kind) {
	case ST_KV_STR: st_json_cstr(b, kv->v.s); break;
	case ST_KV_INT: st_json_int(b, kv->v.i); break;
	case ST_KV_UINT: st_json_uint(b, kv->v.u); break;
	case ST_KV_BOOL: st_json_bool(b, kv->v.b); break;
	}
}

static int put_details(struct st_buf *b, const struct st_record *rec,
		       char *err, size_t errlen)
{
	const struct st_kv *sorted[ST_RECORD_MAX_DETAILS], *t;
	size_t i, j;
	int c;

	if (rec->ndetails > ST_RECORD_MAX_DETAILS)
		return st_errf(err, errlen, "record: %zu details, at most %d",
			    rec->ndetails, ST_RECORD_MAX_DETAILS);
	for (i = 0; i < rec->ndetails; i++) {
		t = &rec->details[i];
		if (!detail_key_ok(t->key))
			return st_errf(err, errlen, "record: detail key '%s' is not [A-Za-z0-9_.-]{1,64}",
				    t->key ? t->key : "(null)");
		if ((unsigned)t->kind > ST_KV_BOOL)
			return st_errf(err, errlen, "record: detail '%s' has an unknown kind",
				    t->key);
		/* insertion sort: records carry a handful of details */
		for (j = i; j > 0; j--) {
			c = strcmp(sorted[j - 1]->key, t->key);
			if (!c)
				return st_errf(err, errlen, "record: duplicate detail key '%s'",
					    t->key);
			if (c < 0)
				break;
			sorted[j] = sorted[j - 1];
		}
		sorted[j] = t;
	}
	st_json_key(b, "details");
	st_buf_putc(b, '{');
	for (i = 0; i < rec->ndetails; i++) {
		if (i)
			st_buf_putc(b, ',');
		put_kv(b, sorted[i]);
	}
	st_buf_put(b, "},", 2);
	return 0;
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
	return 0;
}

int st_record_canon(struct st_buf *b, const struct st_record_hdr *hdr,
		    const struct st_record *rec, char *err, size_t errlen)
{
	char ts[ST_TIME_LEN + 1];

	if (check_record(hdr, rec, err, errlen))
		return -1;
	if (st_time_format(rec->timestamp_ns, ts))
		return st_errf(err, errlen, "record: timestamp %" PRIu64 " out of range",
			    rec->timestamp_ns);
	st_buf_put(b, "{\"schema_version\":", 18);
	st_json_int(b, ST_SCHEMA_VERSION);
	st_buf_putc(b, ',');
	put_opt_str(b, "event_id", hdr->event_id);
	put_opt_str(b, "event_type", st_event_type_name(rec->type));
	put_opt_str(b, "timestamp_utc", ts);
	put_opt_str(b, "system_id", hdr->system_id);
	put_opt_str(b, "operator_id", hdr->operator_id);
	put_opt_str(b, "node_id", hdr->node_id);
	put_opt_str(b, "stream", st_stream_name(hdr->stream));
	st_json_key(b, "seq");
	st_json_uint(b, hdr->seq);
	st_buf_putc(b, ',');
	put_opt_int(b, "pid", rec->pid ? rec->pid : -1);
	put_opt_int(b, "tid", rec->tid ? rec->tid : -1);
	put_opt_str(b, "comm", rec->comm);
	put_opt_str(b, "container_id", rec->container_id);
	put_opt_str(b, "probe", rec->probe);
	put_opt_str(b, "model_version", rec->model_version);
	put_opt_str(b, "model_artifact", rec->model_artifact);
	put_opt_str(b, "input_hash", rec->input_hash);
	put_opt_int(b, "input_len", rec->input_len);
	put_opt_str(b, "output_reference", rec->output_reference);
	put_opt_int(b, "output_len", rec->output_len);
	put_opt_int(b, "duration_ns", rec->duration_ns);
	st_json_key(b, "ret");
	if (rec->has_ret)
		st_json_int(b, rec->ret);
	else
		st_json_null(b);
	st_buf_putc(b, ',');
	st_json_key(b, "human_override_applied");
	st_json_bool(b, rec->human_override_applied);
	st_buf_putc(b, ',');
	if (put_details(b, rec, err, errlen))
		return -1;
	st_json_key(b, "preceding_event_hash");
	st_buf_putc(b, '"');
	st_buf_put(b, hdr->prev_hex, ST_HASH_HEX);
	st_buf_put(b, "\"}", 2);
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

static int get_details(struct st_record_parsed *p, const struct st_jv *v,
		       char *err, size_t errlen)
{
	const struct st_jmember *m;
	struct st_kv *kv;

	if (v->t != ST_JOBJ)
		return st_errf(err, errlen, "details: expected an object");
	if (v->n > ST_RECORD_MAX_DETAILS)
		return st_errf(err, errlen, "details: more than %d keys",
			    ST_RECORD_MAX_DETAILS);
	for (m = v->members; m; m = m->next) {
		kv = &p->details[p->rec.ndetails++];
		kv->key = m->key;
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
					return st_errf(err, errlen, "details.%s: out of range",
						    m->key);
			} else {
				kv->kind = ST_KV_UINT;
				kv->v.u = m->val->mag;
			}
			break;
		default:
			return st_errf(err, errlen, "details.%s: not a string, integer or boolean",
				    m->key);
		}
	}
	p->rec.details = p->details;
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
	if (i != ST_SCHEMA_VERSION)
		return st_errf(err, errlen, "schema_version %" PRId64 " is not %d",
			    i, ST_SCHEMA_VERSION);
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
	if (get_details(p, v[23], err, errlen) ||
	    get_str(v[24], keys[24], false, &s, err, errlen))
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
	char jerr[128];
	size_t i;

	memset(p, 0, sizeof(*p));
	if (st_json_parse(line, len, &p->doc, jerr, sizeof(jerr)))
		return st_errf(err, errlen, "not JSON: %s", jerr);
	if (p->doc.root->t != ST_JOBJ)
		return st_errf(err, errlen, "not a JSON object");
	for (i = 0, m = p->doc.root->members; i < NKEYS; i++, m = m->next) {
		if (!m)
			return st_errf(err, errlen, "missing key \"%s\"", keys[i]);
		if (strcmp(m->key, keys[i]))
			return st_errf(err, errlen, "key #%zu is \"%s\", expected \"%s\"",
				    i + 1, m->key, keys[i]);
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
