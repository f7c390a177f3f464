// SPDX-License-Identifier: Apache-2.0
/* Canonical JSON writer and a small strict parser (see json.h). */
#include <errno.h>
#include <inttypes.h>
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

void st_json_str(struct st_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, l;
	char esc[6];

	st_buf_putc(b, '"');
	while (i < n) {
		/* copy the longest run of bytes that need no attention at once */
		run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		       u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			st_buf_put(b, s + i, run - i);
			i = run;
			continue;
		}
		if (u[i] >= 0x80) {
			l = utf8_seq(u + i, n - i);
			if (l) {
				st_buf_put(b, s + i, l);
				i += l;
			} else {
				st_buf_put(b, "\xef\xbf\xbd", 3);	/* U+FFFD */
				i++;
			}
			continue;
		}
		switch (u[i]) {
		case '"':  st_buf_put(b, "\\\"", 2); break;
		case '\\': st_buf_put(b, "\\\\", 2); break;
		case '\b': st_buf_put(b, "\\b", 2); break;
		case '\t': st_buf_put(b, "\\t", 2); break;
		case '\n': st_buf_put(b, "\\n", 2); break;
		case '\f': st_buf_put(b, "\\f", 2); break;
		case '\r': st_buf_put(b, "\\r", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hexdig[u[i] >> 4];
			esc[5] = hexdig[u[i] & 15];
			st_buf_put(b, esc, 6);
		}
		i++;
	}
	st_buf_putc(b, '"');
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

/* ---- parser ----------------------------------------------------------- */

#define MAX_DEPTH 8
#define MAX_MEMBERS 10000	/* keys in one object */

struct parser {
	const unsigned char *s;
	size_t n, i;
	struct st_json_arena *arena;
	char *err;
	size_t errlen;
	bool failed;
	struct st_buf tmp;	/* string decoding scratch */
};

static int perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (p->failed)
		return -1;
	p->failed = true;
	k = snprintf(p->err, p->errlen, "byte %zu: ", p->i);
	if (k < 0 || (size_t)k >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static struct st_jv *new_val(struct parser *p, enum st_jt t)
{
	struct st_jv *v = arena_alloc(&p->arena, sizeof(*v));

	if (!v) {
		perr(p, "out of memory");
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	v->t = t;
	return v;
}

static int hex4(struct parser *p, unsigned *out)
{
	unsigned v = 0, i, c;

	if (p->n - p->i < 4)
		return perr(p, "short \\u escape");
	for (i = 0; i < 4; i++) {
		c = p->s[p->i + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return perr(p, "bad hex digit in \\u escape");
	}
	p->i += 4;
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

static int parse_escape(struct parser *p)
{
	unsigned cp, lo;
	char c = (char)p->s[p->i++];

	switch (c) {
	case '"': case '\\': case '/':
		st_buf_putc(&p->tmp, c);
		return 0;
	case 'b': st_buf_putc(&p->tmp, '\b'); return 0;
	case 'f': st_buf_putc(&p->tmp, '\f'); return 0;
	case 'n': st_buf_putc(&p->tmp, '\n'); return 0;
	case 'r': st_buf_putc(&p->tmp, '\r'); return 0;
	case 't': st_buf_putc(&p->tmp, '\t'); return 0;
	case 'u':
		break;
	default:
		p->i--;
		return perr(p, "bad escape '\\%c'", c);
	}
	if (hex4(p, &cp))
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return perr(p, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
			return perr(p, "lone high surrogate");
		p->i += 2;
		if (hex4(p, &lo))
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return perr(p, "bad surrogate pair");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(&p->tmp, cp);
	return 0;
}

static int parse_string(struct parser *p, const char **out, size_t *outlen)
{
	size_t l, run;
	char *s;

	p->i++;		/* opening quote */
	p->tmp.len = 0;
	for (;;) {
		if (p->i >= p->n)
			return perr(p, "unterminated string");
		if (p->s[p->i] == '"')
			break;
		if (p->s[p->i] == '\\') {
			p->i++;
			if (p->i >= p->n)
				return perr(p, "unterminated escape");
			if (parse_escape(p))
				return -1;
			continue;
		}
		if (p->s[p->i] < 0x20)
			return perr(p, "raw control character in string");
		/* copy a run of plain characters at once */
		run = p->i;
		while (run < p->n && p->s[run] >= 0x20 && p->s[run] != '"' &&
		       p->s[run] != '\\') {
			if (p->s[run] < 0x80) {
				run++;
				continue;
			}
			l = utf8_seq(p->s + run, p->n - run);
			if (!l) {
				p->i = run;
				return perr(p, "invalid UTF-8");
			}
			run += l;
		}
		st_buf_put(&p->tmp, p->s + p->i, run - p->i);
		p->i = run;
	}
	p->i++;
	if (p->tmp.oom)
		return perr(p, "out of memory");
	s = arena_alloc(&p->arena, p->tmp.len + 1);
	if (!s)
		return perr(p, "out of memory");
	if (p->tmp.len)
		memcpy(s, p->tmp.p, p->tmp.len);
	s[p->tmp.len] = '\0';
	*out = s;
	*outlen = p->tmp.len;
	return 0;
}

static int parse_number(struct parser *p, struct st_jv *v)
{
	uint64_t mag = 0;
	unsigned d;
	size_t start;

	if (p->s[p->i] == '-') {
		v->neg = true;
		p->i++;
	}
	start = p->i;
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		d = p->s[p->i] - '0';
		if (mag > (UINT64_MAX - d) / 10)
			return perr(p, "integer out of range");
		mag = mag * 10 + d;
		p->i++;
	}
	if (p->i == start)
		return perr(p, "expected a digit");
	if (p->s[start] == '0' && p->i - start > 1)
		return perr(p, "leading zero");
	if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' ||
			    p->s[p->i] == 'E'))
		return perr(p, "only integers are allowed");
	v->mag = mag;
	return 0;
}

static struct st_jv *parse_value(struct parser *p, int depth);

/*
 * The keys of one object with where each ended, for the duplicate check:
 * sorted once at the object's end (O(n log n)) rather than each key
 * compared with every earlier one (an 80,000-key line took seconds).
 */
struct keyrefs {
	struct keyref {
		const char *key;
		size_t at;		/* p->i after the key */
	} *v, small[32];
	size_t n, cap;
};

static int add_keyref(struct parser *p, struct keyrefs *k, const char *key)
{
	struct keyref *grown;

	if (k->n == MAX_MEMBERS)
		return perr(p, "more than %d keys in one object", MAX_MEMBERS);
	if (k->n == k->cap) {
		grown = malloc(k->cap * 2 * sizeof(*grown));
		if (!grown)
			return perr(p, "out of memory");
		memcpy(grown, k->v, k->n * sizeof(*grown));
		if (k->v != k->small)
			free(k->v);
		k->v = grown;
		k->cap *= 2;
	}
	k->v[k->n].key = key;
	k->v[k->n++].at = p->i;
	return 0;
}

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* A duplicate is reported at its second occurrence, as it is read. */
static int check_dup_keys(struct parser *p, struct keyrefs *k)
{
	size_t i, dup = SIZE_MAX;

	qsort(k->v, k->n, sizeof(*k->v), keyref_cmp);
	for (i = 1; i < k->n; i++)
		if (!strcmp(k->v[i - 1].key, k->v[i].key) &&
		    (dup == SIZE_MAX || k->v[i].at < k->v[dup].at))
			dup = i;
	if (dup == SIZE_MAX)
		return 0;
	p->i = k->v[dup].at;
	return perr(p, "duplicate key \"%s\"", k->v[dup].key);
}

static int parse_members(struct parser *p, struct st_jv *v, int depth,
			 struct keyrefs *keys);

static int parse_object(struct parser *p, struct st_jv *v, int depth)
{
	struct keyrefs keys = { .cap = 32 };
	int rc;

	keys.v = keys.small;
	rc = parse_members(p, v, depth, &keys);
	if (!rc && keys.n > 1)
		rc = check_dup_keys(p, &keys);
	if (keys.v != keys.small)
		free(keys.v);
	return rc;
}

static int parse_members(struct parser *p, struct st_jv *v, int depth,
			 struct keyrefs *keys)
{
	struct st_jmember *m, **tail = &v->members;
	const char *key;
	size_t klen;

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != '"')
			return perr(p, "expected a key");
		if (parse_string(p, &key, &klen))
			return -1;
		if (strlen(key) != klen)
			return perr(p, "NUL in key");
		if (add_keyref(p, keys, key))
			return -1;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			return perr(p, "expected ':'");
		p->i++;
		m = arena_alloc(&p->arena, sizeof(*m));
		if (!m)
			return perr(p, "out of memory");
		m->key = key;
		m->next = NULL;
		m->val = parse_value(p, depth + 1);
		if (!m->val)
			return -1;
		*tail = m;
		tail = &m->next;
		v->n++;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			return 0;
		}
		return perr(p, "expected ',' or '}'");
	}
}

static int parse_array(struct parser *p, struct st_jv *v, int depth)
{
	struct st_jv **items = NULL, **grown, *item;
	size_t cap = 0;
	int rc = -1;

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		item = parse_value(p, depth + 1);
		if (!item)
			goto out;
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(items, cap * sizeof(*items));
			if (!grown) {
				perr(p, "out of memory");
				goto out;
			}
			items = grown;
		}
		items[v->n++] = item;
		skip_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			break;
		}
		perr(p, "expected ',' or ']'");
		goto out;
	}
	/* move the item table into the arena so the doc owns everything */
	v->items = arena_alloc(&p->arena, v->n * sizeof(*items));
	if (!v->items) {
		perr(p, "out of memory");
		goto out;
	}
	memcpy(v->items, items, v->n * sizeof(*items));
	rc = 0;
out:
	free(items);
	return rc;
}

static int match_word(struct parser *p, const char *w)
{
	size_t l = strlen(w);

	if (p->n - p->i < l || memcmp(p->s + p->i, w, l))
		return perr(p, "unexpected character");
	p->i += l;
	return 0;
}

static struct st_jv *parse_value(struct parser *p, int depth)
{
	struct st_jv *v = NULL;
	unsigned char c;

	if (depth > MAX_DEPTH) {
		perr(p, "nested too deeply");
		return NULL;
	}
	skip_ws(p);
	if (p->i >= p->n) {
		perr(p, "unexpected end of input");
		return NULL;
	}
	c = p->s[p->i];
	if (c == '{') {
		v = new_val(p, ST_JOBJ);
		if (v && parse_object(p, v, depth))
			return NULL;
	} else if (c == '[') {
		v = new_val(p, ST_JARR);
		if (v && parse_array(p, v, depth))
			return NULL;
	} else if (c == '"') {
		v = new_val(p, ST_JSTR);
		if (v && parse_string(p, &v->s, &v->slen))
			return NULL;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		v = new_val(p, ST_JINT);
		if (v && parse_number(p, v))
			return NULL;
	} else if (c == 't' || c == 'f') {
		v = new_val(p, ST_JBOOL);
		if (v && match_word(p, c == 't' ? "true" : "false"))
			return NULL;
		if (v)
			v->b = c == 't';
	} else if (c == 'n') {
		v = new_val(p, ST_JNULL);
		if (v && match_word(p, "null"))
			return NULL;
	} else {
		perr(p, "unexpected character");
	}
	return v;
}

int st_json_parse(const char *s, size_t n, struct st_json_doc *doc,
		  char *err, size_t errlen)
{
	struct parser p = {
		.s = (const unsigned char *)s, .n = n, .err = err,
		.errlen = errlen,
	};
	struct st_jv *root;

	doc->root = NULL;
	doc->arena = NULL;
	root = parse_value(&p, 0);
	if (root) {
		skip_ws(&p);
		if (p.i != n) {
			perr(&p, "trailing data after the value");
			root = NULL;
		}
	}
	st_buf_free(&p.tmp);
	if (!root) {
		arena_free(p.arena);
		return -1;
	}
	doc->root = root;
	doc->arena = p.arena;
	return 0;
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
