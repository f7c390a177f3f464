// SPDX-License-Identifier: Apache-2.0
/*
 * Status: the completeness snapshot as JSON (status.json, read back by
 * `sealtrace status`) and as Prometheus text (/metrics). See status.h.
 *
 * No JSON library is in our dependency set, so this file carries a small
 * strict writer and a parser for exactly the format the writer produces.
 * The parser must never crash on a torn or hostile file: every read is
 * bounds-checked against the NUL terminator and every string against the
 * field it fills.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/ops/status.h"
#include "sealtrace/base/file.h"

/* A snapshot is a few hundred KiB at most; more is corruption. */
#define STATUS_MAX_FILE (16u << 20)

#define ST_STATUS_FORMAT 1

static const char *const loss_names[ST_LOSS__COUNT] = {
	[ST_LOSS_RINGBUF_FULL] = "ringbuf_full",
	[ST_LOSS_CAPTURE_FAULT] = "capture_fault",
	[ST_LOSS_AGENT_DOWN] = "agent_down",
	[ST_LOSS_UNPAIRED] = "unpaired",
	[ST_LOSS_WRITE_FAILED] = "write_failed",
};

static const char *const stream_names[2] = { "decision", "system" };

const char *st_loss_reason_name(enum st_loss_reason r)
{
	if ((unsigned int)r >= ST_LOSS__COUNT)
		return "unknown";
	return loss_names[r];
}

double st_probe_coverage(const struct st_probe_status *p)
{
	/* calls still running are neither recorded nor lost yet */
	uint64_t settled = p->hits > p->in_flight ? p->hits - p->in_flight : 0;

	if (settled == 0)
		return 100.0;
	return 100.0 * (double)p->persisted / (double)settled;
}

uint64_t st_probe_lost_total(const struct st_probe_status *p)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < ST_LOSS__COUNT; i++)
		sum += p->lost[i];
	return sum;
}

/* ------------------------------------------------------------------ */
/* JSON writer                                                         */
/* ------------------------------------------------------------------ */

/* Length of a valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A quoted JSON string of at most max bytes of s. Bytes that are not valid
 * UTF-8 (a C string from /proc or a path need not be) become U+FFFD: JSON
 * text must be UTF-8 and there is no escape for a raw byte.
 */
void st_json_fputs(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strnlen(s, max), i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, f);
		} else {
			n = utf8_seq_len(p + i, len - i);
			if (n == 0) {
				fputs("\xef\xbf\xbd", f);
				i++;
				continue;
			}
			fwrite(p + i, 1, n, f);
			i += n;
			continue;
		}
		i++;
	}
	fputc('"', f);
}

#define JSTR(f, field) st_json_fputs(f, field, sizeof(field))

static void write_probe_json(FILE *f, const struct st_probe_status *p)
{
	int r;

	fputs("{\"target\":", f);
	JSTR(f, p->target);
	fputs(",\"probe\":", f);
	JSTR(f, p->probe);
	fprintf(f, ",\"attached\":%s,\"hits\":%" PRIu64 ",\"persisted\":%" PRIu64
		",\"lost\":{", p->attached ? "true" : "false", p->hits, p->persisted);
	for (r = 0; r < ST_LOSS__COUNT; r++)
		fprintf(f, "%s\"%s\":%" PRIu64, r ? "," : "", loss_names[r], p->lost[r]);
	fprintf(f, "},\"in_flight\":%" PRIu64 ",\"truncated\":%" PRIu64
		",\"last_event_ns\":%" PRIu64 "}", p->in_flight, p->truncated, p->last_event_ns);
}

static void write_pair_json(FILE *f, const char *key, const uint64_t v[2])
{
	fprintf(f, ",\"%s\":{\"%s\":%" PRIu64 ",\"%s\":%" PRIu64 "}",
		key, stream_names[0], v[0], stream_names[1], v[1]);
}

char *st_status_to_json(const struct st_status *s)
{
	char *buf = NULL;
	size_t len = 0, i, n = s->nprobes;
	FILE *f;
	int bad;

	if (n > ST_STATUS_MAX_PROBES)
		n = ST_STATUS_MAX_PROBES;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"format\":%d,\"pid\":%d,\"updated_ns\":%" PRIu64
		",\"started_ns\":%" PRIu64 ",\"interval_ns\":%" PRIu64 ",\"node_id\":",
		ST_STATUS_FORMAT, s->pid, s->updated_ns, s->started_ns, s->interval_ns);
	JSTR(f, s->node_id);
	fputs(",\"state_dir\":", f);
	JSTR(f, s->state_dir);
	write_pair_json(f, "chain_seq", s->chain_seq);
	write_pair_json(f, "events_persisted", s->events_persisted);
	fprintf(f, ",\"last_checkpoint_ns\":%" PRIu64 ",\"ringbuf_size\":%" PRIu64
		",\"ringbuf_used\":%" PRIu64 ",\"canary_ok\":%s,\"canary_last_ns\":%" PRIu64
		",\"probes\":[", s->last_checkpoint_ns, s->ringbuf_size, s->ringbuf_used,
		s->canary_ok ? "true" : "false", s->canary_last_ns);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		write_probe_json(f, &s->probes[i]);
	}
	fputs("]}\n", f);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* JSON parser: strict, for the writer's format                        */
/* ------------------------------------------------------------------ */

struct jp {
	const char *start;
	const char *p;
	char *err;
	size_t errlen;
	bool failed;
	int depth;
};

#define JP_MAX_DEPTH 16

static int jp_fail(struct jp *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error only, prefixed with the byte offset. */
static int jp_fail(struct jp *j, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (j->failed)
		return -1;
	j->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j->errlen)
		snprintf(j->err, j->errlen, "status.json: offset %td: %s",
			 j->p - j->start, msg);
	return -1;
}

static void jp_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static const char *jp_what(const struct jp *j)
{
	return *j->p ? "unexpected character" : "unexpected end of input";
}

static int jp_expect(struct jp *j, char c)
{
	jp_ws(j);
	if (*j->p != c)
		return jp_fail(j, "%s, expected '%c'", jp_what(j), c);
	j->p++;
	return 0;
}

/* After a member or element: 1 for ',' (more follow), 0 for close. */
static int jp_more(struct jp *j, char close)
{
	jp_ws(j);
	if (*j->p == ',') {
		j->p++;
		return 1;
	}
	if (*j->p == close) {
		j->p++;
		return 0;
	}
	return jp_fail(j, "%s, expected ',' or '%c'", jp_what(j), close);
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;	/* also stops at the NUL terminator */
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX (j->p at the 'u'), joining surrogate pairs. */
static int jp_unicode(struct jp *j, uint32_t *cp)
{
	uint32_t lo;

	if (hex4(j->p + 1, cp))
		return jp_fail(j, "bad \\u escape");
	j->p += 5;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return jp_fail(j, "lone low surrogate in \\u escape");
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return jp_fail(j, "high surrogate without low surrogate");
		j->p += 6;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0)
		return jp_fail(j, "\\u0000 cannot be held in a C string");
	return 0;
}

/* One escape sequence (j->p after the backslash) into out; its length. */
static int jp_escape(struct jp *j, char out[4], size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp = 0;

	if (*j->p == 'u') {
		if (jp_unicode(j, &cp))
			return -1;
		*n = utf8_encode(cp, out);
		return 0;
	}
	if (!*j->p)
		return jp_fail(j, "unterminated string");
	e = strchr(from, *j->p);
	if (!e)
		return jp_fail(j, "bad escape '\\%c'", *j->p);
	out[0] = to[e - from];
	*n = 1;
	j->p++;
	return 0;
}

/*
 * A string into buf (cap bytes incl. NUL); buf may be NULL to skip. Raw
 * bytes must be UTF-8 and not control characters.
 */
static int jp_string(struct jp *j, char *buf, size_t cap)
{
	size_t len = 0, n = 0;
	char tmp[4];

	if (jp_expect(j, '"'))
		return -1;
	for (;;) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"')
			break;
		if (c == 0)
			return jp_fail(j, "unterminated string");
		if (c < 0x20)
			return jp_fail(j, "raw control character 0x%02x in string", c);
		if (c == '\\') {
			j->p++;
			if (jp_escape(j, tmp, &n))
				return -1;
		} else {
			n = utf8_seq_len((const unsigned char *)j->p, strnlen(j->p, 4));
			if (n == 0)
				return jp_fail(j, "invalid UTF-8 in string");
			memcpy(tmp, j->p, n);
			j->p += n;
		}
		if (buf && len + n >= cap)
			return jp_fail(j, "string longer than %zu bytes", cap - 1);
		if (buf)
			memcpy(buf + len, tmp, n);
		len += n;
	}
	j->p++;
	if (buf)
		buf[len] = '\0';
	return 0;
}

/* An unsigned integer: digits only, no leading zero, no overflow. */
static int jp_u64(struct jp *j, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int d;

	jp_ws(j);
	if (*j->p < '0' || *j->p > '9')
		return jp_fail(j, "%s, expected an unsigned integer", jp_what(j));
	if (j->p[0] == '0' && j->p[1] >= '0' && j->p[1] <= '9')
		return jp_fail(j, "number with a leading zero");
	while (*j->p >= '0' && *j->p <= '9') {
		d = (unsigned int)(*j->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return jp_fail(j, "number out of range");
		v = v * 10 + d;
		j->p++;
	}
	if (*j->p == '.' || *j->p == 'e' || *j->p == 'E')
		return jp_fail(j, "expected an integer, found a fraction or exponent");
	*out = v;
	return 0;
}

static int jp_bool(struct jp *j, bool *out)
{
	jp_ws(j);
	if (!strncmp(j->p, "true", 4)) {
		j->p += 4;
		*out = true;
		return 0;
	}
	if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
		*out = false;
		return 0;
	}
	return jp_fail(j, "%s, expected true or false", jp_what(j));
}

static int jp_skip_value(struct jp *j);

static int jp_skip_container(struct jp *j, char close, bool keys)
{
	int more;

	if (++j->depth > JP_MAX_DEPTH)
		return jp_fail(j, "nesting deeper than %d", JP_MAX_DEPTH);
	j->p++;
	jp_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	do {
		if (keys && (jp_string(j, NULL, 0) || jp_expect(j, ':')))
			return -1;
		if (jp_skip_value(j))
			return -1;
		more = jp_more(j, close);
		if (more < 0)
			return -1;
	} while (more);
	j->depth--;
	return 0;
}

/* Any value under a key this version does not know (a newer writer's). */
static int jp_skip_value(struct jp *j)
{
	uint64_t u;
	bool b;

	jp_ws(j);
	switch (*j->p) {
	case '"':
		return jp_string(j, NULL, 0);
	case '{':
		return jp_skip_container(j, '}', true);
	case '[':
		return jp_skip_container(j, ']', false);
	case 't':
	case 'f':
		return jp_bool(j, &b);
	case 'n':
		if (!strncmp(j->p, "null", 4)) {
			j->p += 4;
			return 0;
		}
		break;
	default:
		if (*j->p >= '0' && *j->p <= '9')
			return jp_u64(j, &u);
	}
	return jp_fail(j, "%s, expected a value", jp_what(j));
}

/*
 * Object members are dispatched by key through a table: each known key
 * must appear exactly once; unknown keys are skipped so an older reader
 * still reads a newer agent's file.
 */
enum jf_kind { JF_U64, JF_BOOL, JF_STR, JF_INT, JF_CUSTOM };

struct jfield {
	const char *key;
	enum jf_kind kind;
	void *dst;
	size_t cap;			/* JF_STR: buffer size */
	int (*custom)(struct jp *j, void *dst);
};

static int jp_field(struct jp *j, const struct jfield *f)
{
	uint64_t v;

	switch (f->kind) {
	case JF_U64:
		return jp_u64(j, f->dst);
	case JF_BOOL:
		return jp_bool(j, f->dst);
	case JF_STR:
		return jp_string(j, f->dst, f->cap);
	case JF_INT:
		if (jp_u64(j, &v))
			return -1;
		if (v > INT_MAX)
			return jp_fail(j, "\"%s\" out of range", f->key);
		*(int *)f->dst = (int)v;
		return 0;
	case JF_CUSTOM:
		return f->custom(j, f->dst);
	}
	return jp_fail(j, "internal: bad field kind");
}

static int jp_object(struct jp *j, const struct jfield *fields, size_t nfields,
		     const char *what)
{
	char key[64];
	uint64_t seen = 0;
	size_t i;
	int more;

	if (jp_expect(j, '{'))
		return -1;
	if (++j->depth > JP_MAX_DEPTH)
		return jp_fail(j, "nesting deeper than %d", JP_MAX_DEPTH);
	jp_ws(j);
	more = *j->p != '}';
	if (!more)
		j->p++;
	while (more) {
		jp_ws(j);
		if (jp_string(j, key, sizeof(key)) || jp_expect(j, ':'))
			return -1;
		for (i = 0; i < nfields && strcmp(key, fields[i].key); i++)
			;
		if (i < nfields && (seen & (1ull << i)))
			return jp_fail(j, "duplicate key \"%s\" in %s", key, what);
		if (i < nfields)
			seen |= 1ull << i;
		if (i < nfields ? jp_field(j, &fields[i]) : jp_skip_value(j))
			return -1;
		more = jp_more(j, '}');
		if (more < 0)
			return -1;
	}
	j->depth--;
	for (i = 0; i < nfields; i++)
		if (!(seen & (1ull << i)))
			return jp_fail(j, "missing key \"%s\" in %s", fields[i].key, what);
	return 0;
}

static int jp_pair(struct jp *j, void *dst)
{
	uint64_t *v = dst;
	const struct jfield f[] = {
		{ stream_names[0], JF_U64, &v[0], 0, NULL },
		{ stream_names[1], JF_U64, &v[1], 0, NULL },
	};

	return jp_object(j, f, 2, "stream counters");
}

static int jp_lost(struct jp *j, void *dst)
{
	uint64_t *v = dst;
	struct jfield f[ST_LOSS__COUNT];
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		f[r] = (struct jfield){ loss_names[r], JF_U64, &v[r], 0, NULL };
	return jp_object(j, f, ST_LOSS__COUNT, "lost");
}

static int jp_probe(struct jp *j, struct st_probe_status *p)
{
	const struct jfield f[] = {
		{ "target", JF_STR, p->target, sizeof(p->target), NULL },
		{ "probe", JF_STR, p->probe, sizeof(p->probe), NULL },
		{ "attached", JF_BOOL, &p->attached, 0, NULL },
		{ "hits", JF_U64, &p->hits, 0, NULL },
		{ "persisted", JF_U64, &p->persisted, 0, NULL },
		{ "lost", JF_CUSTOM, p->lost, 0, jp_lost },
		{ "in_flight", JF_U64, &p->in_flight, 0, NULL },
		{ "truncated", JF_U64, &p->truncated, 0, NULL },
		{ "last_event_ns", JF_U64, &p->last_event_ns, 0, NULL },
	};

	return jp_object(j, f, sizeof(f) / sizeof(f[0]), "probe");
}

static int jp_probes(struct jp *j, void *dst)
{
	struct st_status *s = dst;
	int more;

	s->nprobes = 0;
	if (jp_expect(j, '['))
		return -1;
	jp_ws(j);
	if (*j->p == ']') {
		j->p++;
		return 0;
	}
	do {
		if (s->nprobes == ST_STATUS_MAX_PROBES)
			return jp_fail(j, "more than %d probes", ST_STATUS_MAX_PROBES);
		if (jp_probe(j, &s->probes[s->nprobes]))
			return -1;
		s->nprobes++;
		more = jp_more(j, ']');
		if (more < 0)
			return -1;
	} while (more);
	return 0;
}

static int jp_format(struct jp *j, void *dst)
{
	uint64_t v;

	if (jp_u64(j, &v))
		return -1;
	if (v != ST_STATUS_FORMAT)
		return jp_fail(j, "unsupported format %" PRIu64 " (this build reads %d)",
			       v, ST_STATUS_FORMAT);
	return 0;
}

int st_status_from_json(const char *text, struct st_status *s, char *err, size_t errlen)
{
	struct jp j = { .start = text, .p = text, .err = err, .errlen = errlen };
	const struct jfield f[] = {
		{ "format", JF_CUSTOM, NULL, 0, jp_format },
		{ "pid", JF_INT, &s->pid, 0, NULL },
		{ "updated_ns", JF_U64, &s->updated_ns, 0, NULL },
		{ "started_ns", JF_U64, &s->started_ns, 0, NULL },
		{ "interval_ns", JF_U64, &s->interval_ns, 0, NULL },
		{ "node_id", JF_STR, s->node_id, sizeof(s->node_id), NULL },
		{ "state_dir", JF_STR, s->state_dir, sizeof(s->state_dir), NULL },
		{ "chain_seq", JF_CUSTOM, s->chain_seq, 0, jp_pair },
		{ "events_persisted", JF_CUSTOM, s->events_persisted, 0, jp_pair },
		{ "last_checkpoint_ns", JF_U64, &s->last_checkpoint_ns, 0, NULL },
		{ "ringbuf_size", JF_U64, &s->ringbuf_size, 0, NULL },
		{ "ringbuf_used", JF_U64, &s->ringbuf_used, 0, NULL },
		{ "canary_ok", JF_BOOL, &s->canary_ok, 0, NULL },
		{ "canary_last_ns", JF_U64, &s->canary_last_ns, 0, NULL },
		{ "probes", JF_CUSTOM, s, 0, jp_probes },
	};

	if (errlen)
		err[0] = '\0';
	if (!text) {
		snprintf(err, errlen, "status.json: no input");
		return -1;
	}
	memset(s, 0, sizeof(*s));
	if (jp_object(&j, f, sizeof(f) / sizeof(f[0]), "status"))
		goto bad;
	jp_ws(&j);
	if (*j.p) {
		jp_fail(&j, "trailing data after the object");
		goto bad;
	}
	return 0;
bad:
	/* Never hand back half a snapshot. */
	memset(s, 0, sizeof(*s));
	return -1;
}

/* ------------------------------------------------------------------ */
/* status.json on disk                                                 */
/* ------------------------------------------------------------------ */

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Make the rename durable: the directory entry lives in the directory. */
static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

static int write_file_atomic(const char *dir, const char *path, const char *tmp,
			     const char *text, char *err, size_t errlen)
{
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, strlen(text)) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		return -1;
	}
	if (close(fd) || rename(tmp, path)) {
		saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "%s -> %s: %s", tmp, path, strerror(saved));
		return -1;
	}
	fsync_dir(dir);
	return 0;
}

int st_status_write(const struct st_status *s, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	char *text;
	int rc;

	if (!s->state_dir[0]) {
		snprintf(err, errlen, "status: no state_dir in the snapshot");
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/agent", s->state_dir) >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/status.json", dir) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.status.json.tmp", dir) >= sizeof(tmp)) {
		snprintf(err, errlen, "status: state_dir path too long");
		return -1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	text = st_status_to_json(s);
	if (!text) {
		snprintf(err, errlen, "status: out of memory");
		return -1;
	}
	rc = write_file_atomic(dir, path, tmp, text, err, errlen);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Prometheus text exposition format 0.0.4                             */
/* ------------------------------------------------------------------ */

/* A label value: backslash, double quote and newline escaped (the spec). */
static void prom_label(FILE *f, const char *name, const char *v, size_t max)
{
	size_t len = strnlen(v, max), i;
	const unsigned char *u = (const unsigned char *)v;
	size_t n;

	fprintf(f, "%s=\"", name);
	for (i = 0; i < len; i += n) {
		n = 1;
		if (v[i] == '\\') {
			fputs("\\\\", f);
		} else if (v[i] == '"') {
			fputs("\\\"", f);
		} else if (v[i] == '\n') {
			fputs("\\n", f);
		} else if (u[i] < 0x80) {
			fputc(v[i], f);
		} else {
			/* Label values are UTF-8; a stray byte becomes U+FFFD. */
			n = utf8_seq_len(u + i, len - i);
			if (n == 0) {
				fputs("\xef\xbf\xbd", f);
				n = 1;
			} else {
				fwrite(u + i, 1, n, f);
			}
		}
	}
	fputc('"', f);
}

static void prom_probe_labels(FILE *f, const struct st_probe_status *p)
{
	prom_label(f, "target", p->target, sizeof(p->target));
	fputc(',', f);
	prom_label(f, "probe", p->probe, sizeof(p->probe));
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ns since the epoch as exact decimal seconds: a double would round. */
static void prom_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u, ns % 1000000000u);
}

enum probe_field {
	PF_HITS, PF_PERSISTED, PF_IN_FLIGHT, PF_TRUNCATED, PF_ATTACHED,
	PF_COVERAGE, PF_LAST_EVENT,
};

struct probe_metric {
	const char *name;
	const char *type;
	const char *help;
	enum probe_field field;
};

static const struct probe_metric probe_metrics[] = {
	{ "sealtrace_probe_hits_total", "counter",
	  "Calls the kernel probe saw.", PF_HITS },
	{ "sealtrace_probe_persisted_total", "counter",
	  "Calls with an inference or incomplete record in the log.", PF_PERSISTED },
	{ "sealtrace_probe_in_flight", "gauge",
	  "Calls entered and not yet returned.", PF_IN_FLIGHT },
	{ "sealtrace_probe_truncated_total", "counter",
	  "Calls whose captured payload was truncated.", PF_TRUNCATED },
	{ "sealtrace_probe_attached", "gauge",
	  "1 when the probe is attached, 0 when not.", PF_ATTACHED },
	{ "sealtrace_probe_coverage_ratio", "gauge",
	  "Persisted calls divided by settled calls (hits less in flight; 1 when none).", PF_COVERAGE },
	{ "sealtrace_probe_last_event_timestamp_seconds", "gauge",
	  "Time of the last recorded call (0 never).", PF_LAST_EVENT },
};

static void prom_probe_value(FILE *f, const struct st_probe_status *p, enum probe_field pf)
{
	switch (pf) {
	case PF_HITS:
		fprintf(f, "%" PRIu64 "\n", p->hits);
		break;
	case PF_PERSISTED:
		fprintf(f, "%" PRIu64 "\n", p->persisted);
		break;
	case PF_IN_FLIGHT:
		fprintf(f, "%" PRIu64 "\n", p->in_flight);
		break;
	case PF_TRUNCATED:
		fprintf(f, "%" PRIu64 "\n", p->truncated);
		break;
	case PF_ATTACHED:
		fprintf(f, "%d\n", p->attached ? 1 : 0);
		break;
	case PF_COVERAGE:
		fprintf(f, "%.17g\n", st_probe_coverage(p) / 100.0);
		break;
	case PF_LAST_EVENT:
		prom_seconds(f, p->last_event_ns);
		break;
	}
}

static void prom_probes(FILE *f, const struct st_status *s, size_t n)
{
	const struct probe_metric *m;
	size_t i, k;
	int r;

	for (k = 0; k < sizeof(probe_metrics) / sizeof(probe_metrics[0]); k++) {
		m = &probe_metrics[k];
		prom_head(f, m->name, m->type, m->help);
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{", m->name);
			prom_probe_labels(f, &s->probes[i]);
			fputs("} ", f);
			prom_probe_value(f, &s->probes[i], m->field);
		}
	}
	/* One series per reason, zeros included, so rate() sees the first loss. */
	prom_head(f, "sealtrace_events_lost_total", "counter",
		  "Calls accounted in loss records, by reason.");
	for (i = 0; i < n; i++) {
		for (r = 0; r < ST_LOSS__COUNT; r++) {
			fputs("sealtrace_events_lost_total{", f);
			prom_probe_labels(f, &s->probes[i]);
			fprintf(f, ",reason=\"%s\"} %" PRIu64 "\n", loss_names[r],
				s->probes[i].lost[r]);
		}
	}
}

static void prom_streams(FILE *f, const char *name, const char *type, const char *help,
			 const uint64_t v[2])
{
	int i;

	prom_head(f, name, type, help);
	for (i = 0; i < 2; i++)
		fprintf(f, "%s{stream=\"%s\"} %" PRIu64 "\n", name, stream_names[i], v[i]);
}

static void prom_gauge_seconds(FILE *f, const char *name, const char *help, uint64_t ns)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	prom_seconds(f, ns);
}

static void prom_gauge_u64(FILE *f, const char *name, const char *help, uint64_t v)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

char *st_status_to_prometheus(const struct st_status *s)
{
	char *buf = NULL;
	size_t len = 0, n = s->nprobes;
	FILE *f;
	int bad;

	if (n > ST_STATUS_MAX_PROBES)
		n = ST_STATUS_MAX_PROBES;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	prom_probes(f, s, n);
	prom_streams(f, "sealtrace_events_persisted_total", "counter",
		     "Records written to the log, by stream.", s->events_persisted);
	prom_streams(f, "sealtrace_chain_seq", "gauge",
		     "Next sequence number of the stream's hash chain.", s->chain_seq);
	prom_gauge_u64(f, "sealtrace_ringbuf_used_bytes",
		       "Bytes waiting in the BPF ring buffer.", s->ringbuf_used);
	prom_gauge_u64(f, "sealtrace_ringbuf_size_bytes",
		       "Size of the BPF ring buffer.", s->ringbuf_size);
	prom_gauge_seconds(f, "sealtrace_last_checkpoint_timestamp_seconds",
			   "Time of the last signed checkpoint (0 never).", s->last_checkpoint_ns);
	prom_gauge_u64(f, "sealtrace_canary_ok",
		       "1 when the canary call came back through the ring buffer.",
		       s->canary_ok ? 1 : 0);
	prom_gauge_seconds(f, "sealtrace_canary_last_timestamp_seconds",
			   "Time the canary last came back (0 never).", s->canary_last_ns);
	prom_gauge_seconds(f, "sealtrace_agent_start_timestamp_seconds",
			   "Time the agent started.", s->started_ns);
	prom_gauge_seconds(f, "sealtrace_status_updated_timestamp_seconds",
			   "Time of this snapshot.", s->updated_ns);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* Health                                                              */
/* ------------------------------------------------------------------ */

uint64_t st_status_stale_after_ns(const struct st_status *s)
{
	uint64_t iv = s->interval_ns ? s->interval_ns : 1000000000ull;

	return 3 * iv;
}

int st_status_health(const struct st_status *s, uint64_t now_ns, char *why, size_t whylen)
{
	uint64_t age, limit;
	size_t i;

	if (!s) {
		snprintf(why, whylen, "no status snapshot published yet");
		return -1;
	}
	limit = st_status_stale_after_ns(s);
	age = now_ns > s->updated_ns ? now_ns - s->updated_ns : 0;
	if (age > limit) {
		snprintf(why, whylen, "status snapshot stale: updated %.1f s ago (limit %.1f s)",
			 (double)age / 1e9, (double)limit / 1e9);
		return -1;
	}
	if (!s->canary_ok) {
		snprintf(why, whylen, "canary failed: kernel -> ring buffer -> agent path not alive");
		return -1;
	}
	for (i = 0; i < s->nprobes && i < ST_STATUS_MAX_PROBES; i++) {
		if (!s->probes[i].attached) {
			snprintf(why, whylen, "probe %.*s not attached",
				 (int)strnlen(s->probes[i].probe, sizeof(s->probes[i].probe)),
				 s->probes[i].probe);
			return -1;
		}
	}
	snprintf(why, whylen, "ok");
	return 0;
}

/* The whole file as a NUL-terminated string; embedded NULs are corruption. */
static char *read_text(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t n;
	FILE *f;

	f = st_fopen_regular(path, err, errlen);
	if (!f) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: %s (agent never ran with this state dir?)",
				 path, strerror(ENOENT));
		return NULL;
	}
	if (fstat(fileno(f), &st) || st.st_size < 0 || (uint64_t)st.st_size > STATUS_MAX_FILE) {
		snprintf(err, errlen, "%s: corrupt: unreadable or larger than %u bytes",
			 path, STATUS_MAX_FILE);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s: corrupt: contains a NUL byte", path);
		free(buf);
		return NULL;
	}
	return buf;
}

int st_status_read(const char *state_dir, struct st_status *s, char *err, size_t errlen)
{
	char path[4096], perr[300];
	char *text;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/agent/status.json", state_dir) >= sizeof(path)) {
		snprintf(err, errlen, "state dir path too long");
		return -1;
	}
	text = read_text(path, err, errlen);
	if (!text)
		return -1;
	rc = st_status_from_json(text, s, perr, sizeof(perr));
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: corrupt: %s", path, perr);
	return rc;
}
