// SPDX-License-Identifier: Apache-2.0
/* Canonical JSON writer and the one strict parser (see json.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/json.h"

/* ---- buffer ----------------------------------------------------------- */

void st_buf_free(struct st_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

int st_buf_reserve(struct st_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (extra > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + extra + 1;	/* keep room for a terminating NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = true;
	return -1;
}

void st_buf_put(struct st_buf *b, const void *s, size_t n)
{
	if (st_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void st_buf_puts(struct st_buf *b, const char *s)
{
	st_buf_put(b, s, strlen(s));
}

void st_buf_putc(struct st_buf *b, char c)
{
	st_buf_put(b, &c, 1);
}

/* ---- UTF-8 ------------------------------------------------------------ */

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629 table 3.7:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool st_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		l = utf8_seq(u + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* ---- writers ---------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

typedef void (*put_fn)(void *sink, const void *s, size_t n);

static void put_buf(void *sink, const void *s, size_t n)
{
	st_buf_put(sink, s, n);
}

static void put_file(void *sink, const void *s, size_t n)
{
	fwrite(s, 1, n, sink);
}

/* The letter of a two-character escape for c, or 0 for \u00xx. */
static char short_escape(unsigned char c, bool display)
{
	switch (c) {
	case '"':
	case '\\':
		return (char)c;
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\b':
		return display ? 0 : 'b';
	case '\f':
		return display ? 0 : 'f';
	}
	return 0;
}

/*
 * The one string escaper. Canonical (records): RFC 8785, the short escapes
 * \b \t \n \f \r, other controls as \u00xx, DEL literal. Display (status
 * files and reports, read on terminals): only \t \n \r short, every other
 * control and DEL as \u00xx.
 */
static inline void json_str(put_fn put, void *sink, const char *s, size_t n,
			    bool display)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, l;
	char esc[6];

	put(sink, "\"", 1);
	while (i < n) {
		/* copy the longest run of bytes that need no attention at once */
		run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		       u[run] != '"' && u[run] != '\\' && !(display && u[run] == 0x7f))
			run++;
		if (run > i) {
			put(sink, s + i, run - i);
			i = run;
			continue;
		}
		if (u[i] >= 0x80) {
			l = utf8_seq(u + i, n - i);
			if (l) {
				put(sink, s + i, l);
				i += l;
			} else {
				put(sink, "\xef\xbf\xbd", 3);	/* U+FFFD */
				i++;
			}
			continue;
		}
		esc[0] = '\\';
		esc[1] = short_escape(u[i], display);
		if (esc[1]) {
			put(sink, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hexdig[u[i] >> 4];
			esc[5] = hexdig[u[i] & 15];
			put(sink, esc, 6);
		}
		i++;
	}
	put(sink, "\"", 1);
}

void st_json_str(struct st_buf *b, const char *s, size_t n)
{
	json_str(put_buf, b, s, n, false);
}

void st_json_fputs(FILE *f, const char *s, size_t max)
{
	json_str(put_file, f, s, strnlen(s, max), true);
}

size_t st_utf8_seq(const char *s, size_t n)
{
	return utf8_seq((const unsigned char *)s, n);
}

void st_json_cstr(struct st_buf *b, const char *s)
{
	if (!s)
		st_json_null(b);
	else
		st_json_str(b, s, strlen(s));
}

static size_t u64_dec(uint64_t v, char *out)	/* out: >= 20 bytes */
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void put_mag(struct st_buf *b, bool neg, uint64_t mag)
{
	char d[22];
	size_t n = 0;
	bool quote = mag > ST_JSON_SAFE_INT;

	if (quote)
		d[n++] = '"';
	if (neg)
		d[n++] = '-';
	n += u64_dec(mag, d + n);
	if (quote)
		d[n++] = '"';
	st_buf_put(b, d, n);
}

void st_json_int(struct st_buf *b, int64_t v)
{
	if (v < 0)
		put_mag(b, true, (uint64_t)0 - (uint64_t)v);
	else
		put_mag(b, false, (uint64_t)v);
}

void st_json_uint(struct st_buf *b, uint64_t v)
{
	put_mag(b, false, v);
}

void st_json_bool(struct st_buf *b, bool v)
{
	if (v)
		st_buf_put(b, "true", 4);
	else
		st_buf_put(b, "false", 5);
}

void st_json_null(struct st_buf *b)
{
	st_buf_put(b, "null", 4);
}

void st_json_key(struct st_buf *b, const char *key)
{
	size_t n = strlen(key);

	if (st_buf_reserve(b, n + 3))
		return;
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, key, n);
	b->len += n;
	b->p[b->len++] = '"';
	b->p[b->len++] = ':';
	b->p[b->len] = '\0';
}

/* ---- arena ------------------------------------------------------------ */

struct st_json_arena {
	struct st_json_arena *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_CHUNK 8192

static void *arena_alloc(struct st_json_arena **head, size_t n)
{
	struct st_json_arena *a = *head;
	size_t cap;

	n = (n + 15) & ~(size_t)15;
	if (!a || a->cap - a->used < n) {
		cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->used = 0;
		a->cap = cap;
		a->next = *head;
		*head = a;
	}
	a->used += n;
	return (char *)a->data + a->used - n;
}

static void arena_free(struct st_json_arena *a)
{
	struct st_json_arena *next;

	for (; a; a = next) {
		next = a->next;
		free(a);
	}
}

/* ---- cursor: the one tokenizer --------------------------------------- */

void st_jcur_init(struct st_jcur *c, const char *s, size_t n, int max_depth,
		  const char *name, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->s = (const unsigned char *)s;
	c->n = n;
	c->max_depth = max_depth;
	c->name = name;
	c->err = err;
	c->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

void st_jcur_free(struct st_jcur *c)
{
	st_buf_free(&c->str);
}

int st_jcur_fail(struct st_jcur *c, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (c->failed)
		return -1;
	c->failed = true;
	if (!c->err || !c->errlen)
		return -1;
	if (c->name)
		k = snprintf(c->err, c->errlen, "%s: offset %zu: ", c->name, c->i);
	else
		k = snprintf(c->err, c->errlen, "byte %zu: ", c->i);
	if (k < 0 || (size_t)k >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

const char *st_jcur_what(const struct st_jcur *c)
{
	return c->i < c->n ? "unexpected character" : "unexpected end of input";
}

int st_jcur_peek(struct st_jcur *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
			       c->s[c->i] == '\n' || c->s[c->i] == '\r'))
		c->i++;
	return c->i < c->n ? c->s[c->i] : -1;
}

int st_jcur_expect(struct st_jcur *c, char ch)
{
	if (st_jcur_peek(c) != (unsigned char)ch)
		return st_jcur_fail(c, "%s, expected '%c'", st_jcur_what(c), ch);
	c->i++;
	return 0;
}

int st_jcur_open(struct st_jcur *c, char open)
{
	char close = open == '{' ? '}' : ']';

	if (st_jcur_expect(c, open))
		return -1;
	if (++c->depth > c->max_depth)
		return st_jcur_fail(c, "nesting deeper than %d", c->max_depth);
	if (st_jcur_peek(c) == (unsigned char)close) {
		c->i++;
		c->depth--;
		return 0;
	}
	return 1;
}

int st_jcur_next(struct st_jcur *c, char close)
{
	int ch = st_jcur_peek(c);

	if (ch == ',') {
		c->i++;
		return 1;
	}
	if (ch == (unsigned char)close) {
		c->i++;
		c->depth--;
		return 0;
	}
	return st_jcur_fail(c, "%s, expected ',' or '%c'", st_jcur_what(c), close);
}

int st_jcur_key(struct st_jcur *c)
{
	if (st_jcur_string(c))
		return -1;
	if (strlen(c->str.p) != c->str.len)
		return st_jcur_fail(c, "NUL in key");
	return st_jcur_expect(c, ':');
}

static int hex4(struct st_jcur *c, unsigned *out)
{
	unsigned v = 0, i, ch;

	if (c->n - c->i < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		ch = c->s[c->i + i];
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -1;
	}
	c->i += 4;
	*out = v;
	return 0;
}

static void put_utf8(struct st_buf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		st_buf_put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		st_buf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		st_buf_put(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		st_buf_put(b, u, 4);
	}
}

/* \uXXXX (c->i after the 'u'), joining a surrogate pair. */
static int parse_unicode(struct st_jcur *c)
{
	unsigned cp, lo;

	if (hex4(c, &cp))
		return st_jcur_fail(c, "bad \\u escape");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return st_jcur_fail(c, "lone low surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (c->n - c->i < 2 || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
			return st_jcur_fail(c, "high surrogate without low surrogate");
		c->i += 2;
		if (hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return st_jcur_fail(c, "high surrogate without low surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(&c->str, cp);
	return 0;
}

/* One escape (c->i after the backslash) appended to c->str. */
static int parse_escape(struct st_jcur *c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;

	if (c->i >= c->n)
		return st_jcur_fail(c, "unterminated string");
	if (c->s[c->i] == 'u') {
		c->i++;
		return parse_unicode(c);
	}
	e = c->s[c->i] ? strchr(from, c->s[c->i]) : NULL;
	if (!e)
		return st_jcur_fail(c, "bad escape '\\%c'", c->s[c->i]);
	st_buf_putc(&c->str, to[e - from]);
	c->i++;
	return 0;
}

int st_jcur_string(struct st_jcur *c)
{
	size_t l, run;

	if (st_jcur_expect(c, '"'))
		return -1;
	c->str.len = 0;
	if (!st_buf_reserve(&c->str, 0))	/* str.p is a C string even when empty */
		c->str.p[0] = '\0';
	for (;;) {
		if (c->i >= c->n)
			return st_jcur_fail(c, "unterminated string");
		if (c->s[c->i] == '"')
			break;
		if (c->s[c->i] == '\\') {
			c->i++;
			if (parse_escape(c))
				return -1;
			continue;
		}
		if (c->s[c->i] < 0x20)
			return st_jcur_fail(c, "raw control character 0x%02x in string",
					    c->s[c->i]);
		/* copy a run of plain characters at once */
		run = c->i;
		while (run < c->n && c->s[run] >= 0x20 && c->s[run] != '"' &&
		       c->s[run] != '\\') {
			if (c->s[run] < 0x80) {
				run++;
				continue;
			}
			l = utf8_seq(c->s + run, c->n - run);
			if (!l) {
				c->i = run;
				return st_jcur_fail(c, "invalid UTF-8 in string");
			}
			run += l;
		}
		st_buf_put(&c->str, c->s + c->i, run - c->i);
		c->i = run;
	}
	c->i++;
	if (c->str.oom)
		return st_jcur_fail(c, "out of memory");
	return 0;
}

int st_jcur_int(struct st_jcur *c, bool *neg, uint64_t *mag)
{
	uint64_t v = 0;
	unsigned d;
	size_t start;

	st_jcur_peek(c);
	*neg = c->i < c->n && c->s[c->i] == '-';
	if (*neg)
		c->i++;
	start = c->i;
	if (start >= c->n || c->s[start] < '0' || c->s[start] > '9')
		return st_jcur_fail(c, "%s, expected a digit", st_jcur_what(c));
	if (c->s[start] == '0' && start + 1 < c->n && c->s[start + 1] >= '0' &&
	    c->s[start + 1] <= '9')
		return st_jcur_fail(c, "number with a leading zero");
	while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
		d = c->s[c->i] - '0';
		if (v > (UINT64_MAX - d) / 10)
			return st_jcur_fail(c, "number out of range");
		v = v * 10 + d;
		c->i++;
	}
	if (c->i < c->n && (c->s[c->i] == '.' || c->s[c->i] == 'e' ||
			    c->s[c->i] == 'E'))
		return st_jcur_fail(c, "expected an integer, found a fraction or exponent");
	*mag = v;
	return 0;
}

static bool match_word(struct st_jcur *c, const char *w)
{
	size_t l = strlen(w);

	if (c->n - c->i < l || memcmp(c->s + c->i, w, l))
		return false;
	c->i += l;
	return true;
}

int st_jcur_bool(struct st_jcur *c, bool *v)
{
	st_jcur_peek(c);
	if (match_word(c, "true")) {
		*v = true;
		return 0;
	}
	if (match_word(c, "false")) {
		*v = false;
		return 0;
	}
	return st_jcur_fail(c, "%s, expected true or false", st_jcur_what(c));
}

static int parse_null(struct st_jcur *c)
{
	if (match_word(c, "null"))
		return 0;
	return st_jcur_fail(c, "%s, expected a value", st_jcur_what(c));
}

static bool starts_number(int ch)
{
	return ch == '-' || (ch >= '0' && ch <= '9');
}

int st_jcur_skip(struct st_jcur *c)
{
	int ch = st_jcur_peek(c), more;
	bool b, neg;
	uint64_t mag;

	if (ch == '"')
		return st_jcur_string(c);
	if (ch == 't' || ch == 'f')
		return st_jcur_bool(c, &b);
	if (ch == 'n')
		return parse_null(c);
	if (starts_number(ch))
		return st_jcur_int(c, &neg, &mag);
	if (ch != '{' && ch != '[')
		return st_jcur_fail(c, "%s, expected a value", st_jcur_what(c));
	for (more = st_jcur_open(c, (char)ch); more > 0;
	     more = st_jcur_next(c, ch == '{' ? '}' : ']'))
		if ((ch == '{' && st_jcur_key(c)) || st_jcur_skip(c))
			return -1;
	return more;
}

int st_jcur_end(struct st_jcur *c, const char *what)
{
	if (st_jcur_peek(c) >= 0)
		return st_jcur_fail(c, "trailing data after the %s", what);
	return 0;
}

/* ---- reading an object into a struct ---------------------------------- */

int st_jcur_field(struct st_jcur *c, const struct st_jfield *f)
{
	bool neg;
	uint64_t v;
	int ch;

	switch (f->kind) {
	case ST_JF_BOOL:
		return st_jcur_bool(c, f->dst);
	case ST_JF_STR:
		if (st_jcur_string(c))
			return -1;
		if (strlen(c->str.p) != c->str.len)
			return st_jcur_fail(c, "\\u0000 cannot be held in a C string");
		if (c->str.len >= f->cap)
			return st_jcur_fail(c, "string longer than %zu bytes", f->cap - 1);
		memcpy(f->dst, c->str.p, c->str.len + 1);
		return 0;
	case ST_JF_CUSTOM:
		return f->custom(c, f->dst);
	case ST_JF_U64:
	case ST_JF_INT:
		break;
	}
	ch = st_jcur_peek(c);
	if (ch < '0' || ch > '9')
		return st_jcur_fail(c, "%s, expected an unsigned integer", st_jcur_what(c));
	if (st_jcur_int(c, &neg, &v))
		return -1;
	if (f->kind == ST_JF_U64) {
		*(uint64_t *)f->dst = v;
		return 0;
	}
	if (v > INT_MAX)
		return st_jcur_fail(c, "\"%s\" out of range", f->key);
	*(int *)f->dst = (int)v;
	return 0;
}

int st_jcur_object(struct st_jcur *c, const struct st_jfield *fields,
		   size_t nfields, const char *what)
{
	return st_jcur_object_opt(c, fields, nfields, 0, what);
}

int st_jcur_object_opt(struct st_jcur *c, const struct st_jfield *fields,
		       size_t nfields, uint64_t optional, const char *what)
{
	uint64_t seen = 0;
	size_t i;
	int more;

	if (nfields > 64)
		return st_jcur_fail(c, "internal: %zu fields in %s", nfields, what);
	for (more = st_jcur_open(c, '{'); more > 0; more = st_jcur_next(c, '}')) {
		if (st_jcur_key(c))
			return -1;
		for (i = 0; i < nfields && strcmp(c->str.p, fields[i].key); i++)
			;
		if (i == nfields) {
			/* a newer writer's key: skipped, so old readers go on */
			if (st_jcur_skip(c))
				return -1;
			continue;
		}
		if (seen & (1ull << i))
			return st_jcur_fail(c, "duplicate key \"%s\" in %s", fields[i].key,
					    what);
		seen |= 1ull << i;
		if (st_jcur_field(c, &fields[i]))
			return -1;
	}
	if (more < 0)
		return -1;
	for (i = 0; i < nfields; i++)
		if (!((seen | optional) & (1ull << i)))
			return st_jcur_fail(c, "missing key \"%s\" in %s", fields[i].key,
					    what);
	return 0;
}

/* ---- document tree ---------------------------------------------------- */

#define MAX_DEPTH 8
#define MAX_DEPTH_ANY 64	/* st_json_parse_any: bodies of other programs */
#define MAX_MEMBERS 10000	/* keys in one object */

struct dom {
	struct st_jcur c;
	struct st_json_arena *arena;
	bool numbers;		/* fractions, exponents, big integers: ST_JNUM */
};

static void *dom_alloc(struct dom *d, size_t n)
{
	void *p = arena_alloc(&d->arena, n);

	if (!p)
		st_jcur_fail(&d->c, "out of memory");
	return p;
}

static struct st_jv *dom_value(struct dom *d);

/* The string just read (c.str), copied into the arena. */
static const char *dom_str(struct dom *d)
{
	char *s = dom_alloc(d, d->c.str.len + 1);

	if (s)
		memcpy(s, d->c.str.p, d->c.str.len + 1);
	return s;
}

/*
 * The keys of one object with where each ended, for the duplicate check:
 * sorted once at the object's end (O(n log n)) rather than each key
 * compared with every earlier one (an 80,000-key line took seconds).
 */
struct keyrefs {
	struct keyref {
		const char *key;
		size_t at;		/* cursor offset after the key */
	} *v, small[32];
	size_t n, cap;
};

static int add_keyref(struct dom *d, struct keyrefs *k, const char *key)
{
	struct keyref *grown;

	if (k->n == MAX_MEMBERS)
		return st_jcur_fail(&d->c, "more than %d keys in one object", MAX_MEMBERS);
	if (k->n == k->cap) {
		grown = malloc(k->cap * 2 * sizeof(*grown));
		if (!grown)
			return st_jcur_fail(&d->c, "out of memory");
		memcpy(grown, k->v, k->n * sizeof(*grown));
		if (k->v != k->small)
			free(k->v);
		k->v = grown;
		k->cap *= 2;
	}
	k->v[k->n].key = key;
	k->v[k->n++].at = d->c.i;
	return 0;
}

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* A duplicate is reported at its second occurrence, as it is read. */
static int check_dup_keys(struct dom *d, struct keyrefs *k)
{
	size_t i, dup = SIZE_MAX;

	qsort(k->v, k->n, sizeof(*k->v), keyref_cmp);
	for (i = 1; i < k->n; i++)
		if (!strcmp(k->v[i - 1].key, k->v[i].key) &&
		    (dup == SIZE_MAX || k->v[i].at < k->v[dup].at))
			dup = i;
	if (dup == SIZE_MAX)
		return 0;
	d->c.i = k->v[dup].at;
	return st_jcur_fail(&d->c, "duplicate key \"%s\"", k->v[dup].key);
}

static int dom_members(struct dom *d, struct st_jv *v, struct keyrefs *keys)
{
	struct st_jmember *m, **tail = &v->members;
	const char *key;
	int more;

	for (more = st_jcur_open(&d->c, '{'); more > 0; more = st_jcur_next(&d->c, '}')) {
		if (st_jcur_string(&d->c))
			return -1;
		if (strlen(d->c.str.p) != d->c.str.len)
			return st_jcur_fail(&d->c, "NUL in key");
		key = dom_str(d);
		m = dom_alloc(d, sizeof(*m));
		if (!key || !m || add_keyref(d, keys, key) || st_jcur_expect(&d->c, ':'))
			return -1;
		m->key = key;
		m->next = NULL;
		m->val = dom_value(d);
		if (!m->val)
			return -1;
		*tail = m;
		tail = &m->next;
		v->n++;
	}
	return more;
}

static int dom_object(struct dom *d, struct st_jv *v)
{
	struct keyrefs keys = { .cap = 32 };
	int rc;

	keys.v = keys.small;
	rc = dom_members(d, v, &keys);
	if (!rc && keys.n > 1)
		rc = check_dup_keys(d, &keys);
	if (keys.v != keys.small)
		free(keys.v);
	return rc;
}

static int dom_array(struct dom *d, struct st_jv *v)
{
	struct st_jv **items = NULL, **grown, *item;
	size_t cap = 0;
	int more, rc = -1;

	for (more = st_jcur_open(&d->c, '['); more > 0; more = st_jcur_next(&d->c, ']')) {
		item = dom_value(d);
		if (!item)
			goto out;
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(items, cap * sizeof(*items));
			if (!grown) {
				st_jcur_fail(&d->c, "out of memory");
				goto out;
			}
			items = grown;
		}
		items[v->n++] = item;
	}
	if (more < 0)
		goto out;
	/* move the item table into the arena so the doc owns everything */
	v->items = dom_alloc(d, v->n * sizeof(*items));
	if (!v->items)
		goto out;
	if (v->n)
		memcpy(v->items, items, v->n * sizeof(*items));
	rc = 0;
out:
	free(items);
	return rc;
}

static size_t skip_digits(const struct st_jcur *c, size_t i)
{
	while (i < c->n && c->s[i] >= '0' && c->s[i] <= '9')
		i++;
	return i;
}

/*
 * A number of a document another program wrote: ST_JINT when it is an
 * integer that fits, else ST_JNUM (an IEEE double, as JSON's readers
 * take it).
 */
static int dom_number(struct dom *d, struct st_jv *v)
{
	struct st_jcur *c = &d->c;
	size_t start = c->i, i, int_end;
	char buf[64], *end;

	i = start + (c->s[start] == '-');
	int_end = skip_digits(c, i);
	if (int_end == i)
		return st_jcur_fail(c, "%s, expected a digit", st_jcur_what(c));
	if (c->s[i] == '0' && int_end - i > 1)
		return st_jcur_fail(c, "number with a leading zero");
	i = int_end;
	if (i < c->n && c->s[i] == '.') {
		if (skip_digits(c, i + 1) == i + 1)
			return st_jcur_fail(c, "expected a digit after '.'");
		i = skip_digits(c, i + 1);
	}
	if (i < c->n && (c->s[i] == 'e' || c->s[i] == 'E')) {
		i++;
		if (i < c->n && (c->s[i] == '+' || c->s[i] == '-'))
			i++;
		if (skip_digits(c, i) == i)
			return st_jcur_fail(c, "expected a digit in the exponent");
		i = skip_digits(c, i);
	}
	/* an integer of up to 19 digits always fits; 20 may */
	if (i == int_end && int_end - start - (c->s[start] == '-') <= 19) {
		v->t = ST_JINT;
		return st_jcur_int(c, &v->neg, &v->mag);
	}
	if (i - start >= sizeof(buf))
		return st_jcur_fail(c, "number too long");
	memcpy(buf, c->s + start, i - start);
	buf[i - start] = '\0';
	errno = 0;
	v->d = strtod(buf, &end);
	if (errno == ERANGE && (v->d > 1 || v->d < -1))
		return st_jcur_fail(c, "number out of range");
	v->t = ST_JNUM;
	c->i = i;
	return 0;
}

static struct st_jv *dom_value(struct dom *d)
{
	struct st_jv *v;
	int ch = st_jcur_peek(&d->c), rc;

	if (ch != '{' && ch != '[' && ch != '"' && ch != 't' && ch != 'f' &&
	    ch != 'n' && !starts_number(ch)) {
		st_jcur_fail(&d->c, "%s, expected a value", st_jcur_what(&d->c));
		return NULL;
	}
	v = dom_alloc(d, sizeof(*v));
	if (!v)
		return NULL;
	memset(v, 0, sizeof(*v));
	if (ch == '{') {
		v->t = ST_JOBJ;
		rc = dom_object(d, v);
	} else if (ch == '[') {
		v->t = ST_JARR;
		rc = dom_array(d, v);
	} else if (ch == '"') {
		v->t = ST_JSTR;
		rc = st_jcur_string(&d->c);
		if (!rc) {
			v->slen = d->c.str.len;
			v->s = dom_str(d);
			rc = v->s ? 0 : -1;
		}
	} else if (ch == 't' || ch == 'f') {
		v->t = ST_JBOOL;
		rc = st_jcur_bool(&d->c, &v->b);
	} else if (ch == 'n') {
		v->t = ST_JNULL;
		rc = parse_null(&d->c);
	} else if (d->numbers) {
		rc = dom_number(d, v);
	} else {
		v->t = ST_JINT;
		rc = st_jcur_int(&d->c, &v->neg, &v->mag);
	}
	return rc ? NULL : v;
}

static int parse_doc(const char *s, size_t n, bool foreign, struct st_json_doc *doc,
		     char *err, size_t errlen)
{
	struct dom d = { .arena = NULL, .numbers = foreign };
	struct st_jv *root;

	st_jcur_init(&d.c, s, n, foreign ? MAX_DEPTH_ANY : MAX_DEPTH, NULL, err, errlen);
	doc->root = NULL;
	doc->arena = NULL;
	root = dom_value(&d);
	if (root && st_jcur_end(&d.c, "value"))
		root = NULL;
	st_jcur_free(&d.c);
	if (!root) {
		arena_free(d.arena);
		return -1;
	}
	doc->root = root;
	doc->arena = d.arena;
	return 0;
}

int st_json_parse(const char *s, size_t n, struct st_json_doc *doc,
		  char *err, size_t errlen)
{
	return parse_doc(s, n, false, doc, err, errlen);
}

int st_json_parse_any(const char *s, size_t n, struct st_json_doc *doc,
		      char *err, size_t errlen)
{
	return parse_doc(s, n, true, doc, err, errlen);
}

void st_json_doc_free(struct st_json_doc *doc)
{
	arena_free(doc->arena);
	doc->arena = NULL;
	doc->root = NULL;
}

const struct st_jv *st_jv_get(const struct st_jv *obj, const char *key)
{
	const struct st_jmember *m;

	if (!obj || obj->t != ST_JOBJ)
		return NULL;
	for (m = obj->members; m; m = m->next)
		if (!strcmp(m->key, key))
			return m->val;
	return NULL;
}

int st_jv_int64(const struct st_jv *v, int64_t *out)
{
	if (!v || v->t != ST_JINT)
		return -1;
	if (v->neg) {
		if (v->mag > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			-(int64_t)v->mag;
		return 0;
	}
	if (v->mag > INT64_MAX)
		return -1;
	*out = (int64_t)v->mag;
	return 0;
}

int st_jv_uint64(const struct st_jv *v, uint64_t *out)
{
	if (!v || v->t != ST_JINT || (v->neg && v->mag))
		return -1;
	*out = v->mag;
	return 0;
}

/*
 * RFC 8785 3.2.2.3 (ECMAScript Number::toString): the shortest digit
 * string that reads back as the same double, in fixed notation for
 * decimal exponents -6 .. 20, else as d.ddde+-x.
 */
void st_json_double(struct st_buf *b, double v)
{
	char tmp[40], digits[20], out[48], *e;
	int prec, exp10, k, n, i, o = 0;
	size_t j;

	if (v != v || v - v != 0) {	/* NaN, inf: JSON has no such numbers */
		st_json_null(b);
		return;
	}
	if (v == 0) {
		st_buf_putc(b, '0');	/* -0 too, as ECMAScript writes it */
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (v < 0)
		out[o++] = '-';
	k = 0;
	for (j = v < 0 ? 1 : 0; tmp[j] && tmp[j] != 'e'; j++)
		if (tmp[j] >= '0' && tmp[j] <= '9')
			digits[k++] = tmp[j];
	while (k > 1 && digits[k - 1] == '0')
		k--;
	e = strchr(tmp, 'e');
	exp10 = e ? atoi(e + 1) : 0;
	n = exp10 + 1;		/* the decimal point sits after n digits */
	if (k <= n && n <= 21) {
		for (i = 0; i < k; i++)
			out[o++] = digits[i];
		for (; i < n; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		for (i = 0; i < n; i++)
			out[o++] = digits[i];
		out[o++] = '.';
		for (; i < k; i++)
			out[o++] = digits[i];
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = n; i < 0; i++)
			out[o++] = '0';
		for (i = 0; i < k; i++)
			out[o++] = digits[i];
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			for (i = 1; i < k; i++)
				out[o++] = digits[i];
		}
		o += snprintf(out + o, sizeof(out) - (size_t)o, "e%c%d",
			      n - 1 < 0 ? '-' : '+', n - 1 < 0 ? 1 - n : n - 1);
	}
	st_buf_put(b, out, (size_t)o);
}
