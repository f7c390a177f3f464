// SPDX-License-Identifier: Apache-2.0
/*
 * Config loader: one YAML file into struct st_config.
 *
 * libyaml's document API (yaml_parser_load) gives a node tree with line
 * numbers; we walk it against a fixed schema. The walk's depth is the
 * schema's, not the document's, so recursive aliases cannot loop us.
 *
 * Every error is "FILE:LINE: KEY.PATH: what is wrong". Unknown keys are
 * errors: a typo must not silently turn a probe or a capture off.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "sealtrace/config/config.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/capture/fetcharg.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_LEN 256
#define MAX_FILE_BYTES (16u << 20)

#define DEF_STATE_DIR	"/var/lib/sealtrace"
#define DEF_KEYS_DIR	"/etc/sealtrace"
#define DEF_PIN_DIR	"/sys/fs/bpf/sealtrace"
#define DEF_LISTEN	"127.0.0.1:9464"
#define DEF_RINGBUF	(64ull << 20)
#define MIN_RINGBUF	4096ull
#define MAX_RINGBUF	(1ull << 31)	/* BPF map max_entries is a u32 */
#define PID_MAX_LIMIT	4194304		/* the kernel's upper bound for pid_max */

struct ctx {
	const char *file;
	const char *buf;	/* the whole input, for line numbers of byte offsets */
	size_t len;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	size_t nprobes;		/* over all targets: probe ids are global */
};

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

__attribute__((format(printf, 4, 5)))
static int fail(struct ctx *c, const yaml_node_t *n, const char *path,
		const char *fmt, ...)
{
	char what[ST_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return -1;
	if (path && *path)
		snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, line_of(n),
			 path, what);
	else
		snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line_of(n), what);
	return -1;
}

/* A path cut short (a very long unknown key) ends in "..." to say so. */
static void mark_cut(char *buf, int n)
{
	if (n >= PATH_LEN)
		memcpy(buf + PATH_LEN - 4, "...", 4);
}

static void key_path(char *buf, const char *path, const char *key)
{
	if (path && *path)
		mark_cut(buf, snprintf(buf, PATH_LEN, "%s.%s", path, key));
	else
		mark_cut(buf, snprintf(buf, PATH_LEN, "%s", key));
}

static void index_path(char *buf, const char *path, size_t i)
{
	mark_cut(buf, snprintf(buf, PATH_LEN, "%s[%zu]", path, i));
}

static yaml_node_t *get_node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* An empty value, "~" or "null", unquoted: YAML's null. */
static int is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(scalar(n), nulls[i]))
			return 1;
	return 0;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

static void join_list(char *buf, size_t len, const char *const *list)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (; *list && pos < len; list++) {
		int n = snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "", *list);

		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

/* Value of key in map, or NULL. Keys were checked by check_keys first. */
static yaml_node_t *map_get(struct ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), key))
			return get_node(c, p->value);
	}
	return NULL;
}

static int want_map(struct ctx *c, yaml_node_t *n, const char *path)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, path, "must be a mapping (key: value)");
	return 0;
}

static int want_seq(struct ctx *c, yaml_node_t *n, const char *path)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, path, "must be a list ('- ...' items)");
	return 0;
}

/* Every key a string, known and given once. */
static int check_keys(struct ctx *c, yaml_node_t *map, const char *path,
		      const char *const *known)
{
	yaml_node_pair_t *start = map->data.mapping.pairs.start, *p, *q;
	char sub[PATH_LEN], list[256];

	for (p = start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key);

		if (!k || k->type != YAML_SCALAR_NODE)
			return fail(c, k ? k : map, path, "keys must be strings");
		key_path(sub, path, scalar(k));
		if (!in_list(known, scalar(k))) {
			join_list(list, sizeof(list), known);
			return fail(c, k, sub, "unknown key (expected one of: %s)", list);
		}
		for (q = start; q < p; q++) {
			yaml_node_t *kq = get_node(c, q->key);

			if (kq && kq->type == YAML_SCALAR_NODE &&
			    !strcmp(scalar(kq), scalar(k)))
				return fail(c, k, sub, "duplicate key (first at line %d)",
					    line_of(kq));
		}
	}
	return 0;
}

static int missing(struct ctx *c, yaml_node_t *map, const char *path,
		   const char *key)
{
	char sub[PATH_LEN];

	key_path(sub, path, key);
	return fail(c, map, sub, "required key is missing");
}

/* A scalar without NUL bytes (C strings could not hold the rest). */
static int want_text(struct ctx *c, yaml_node_t *n, const char *path,
		     const char *what)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, path, "must be %s, not a %s", what,
			    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
	if (is_null(n))
		return fail(c, n, path, "has no value (expected %s)", what);
	if (strlen(scalar(n)) != n->data.scalar.length)
		return fail(c, n, path, "contains a NUL byte");
	return 0;
}

static int get_string(struct ctx *c, yaml_node_t *n, const char *path,
		      int allow_empty, char **out)
{
	if (want_text(c, n, path, "a string"))
		return -1;
	if (!allow_empty && !*scalar(n))
		return fail(c, n, path, "must not be empty");
	*out = strdup(scalar(n));
	if (!*out)
		return fail(c, n, path, "out of memory");
	return 0;
}

/* Optional string key of map; path is the map's. */
static int opt_string(struct ctx *c, yaml_node_t *map, const char *path,
		      const char *key, int allow_empty, char **out)
{
	yaml_node_t *v = map_get(c, map, key);
	char sub[PATH_LEN];

	if (!v)
		return 0;
	key_path(sub, path, key);
	return get_string(c, v, sub, allow_empty, out);
}

static int req_string(struct ctx *c, yaml_node_t *map, const char *path,
		      const char *key, char **out)
{
	if (!map_get(c, map, key))
		return missing(c, map, path, key);
	return opt_string(c, map, path, key, 0, out);
}

/*
 * The first code point of s that has no place in an identifier, with its
 * byte offset in *at, or -1: C0 and C1 controls, DEL, and the invisible
 * marks that reorder text (U+202E would show "credit" for "tiderc").
 * libyaml hands over valid UTF-8.
 */
static long bad_ident_char(const char *s, size_t *at)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;
	unsigned long cp;

	while (p[i]) {
		len = p[i] < 0x80 ? 1 : p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
		for (k = 1; k < len && p[i + k]; k++)
			cp = cp << 6 | (p[i + k] & 0x3f);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x61c ||
		    cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			*at = i;
			return (long)cp;
		}
		i += k;
	}
	return -1;
}

/* Identifiers go into every record and are read by people: printable text. */
static int opt_ident(struct ctx *c, yaml_node_t *map, const char *path,
		     const char *key, char **out)
{
	char sub[PATH_LEN];
	size_t at;
	long cp;

	if (opt_string(c, map, path, key, 0, out))
		return -1;
	if (!*out || (cp = bad_ident_char(*out, &at)) < 0)
		return 0;
	key_path(sub, path, key);
	return fail(c, map_get(c, map, key), sub,
		    "contains U+%04lX (a control or text-direction character) at byte %zu; identifiers must be printable text",
		    (unsigned long)cp, at);
}

static int req_ident(struct ctx *c, yaml_node_t *map, const char *path,
		     const char *key, char **out)
{
	if (!map_get(c, map, key))
		return missing(c, map, path, key);
	return opt_ident(c, map, path, key, out);
}

/*
 * Unsigned decimal or 0x hex. 0: ok; -1: not a number; -2: too large;
 * -3: leading zero (YAML 1.1 would read it as octal; we refuse to guess).
 */
static int parse_uint(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		return s[1] >= '0' && s[1] <= '9' ? -3 : -1;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -2;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int get_u64(struct ctx *c, yaml_node_t *n, const char *path,
		   uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s;
	uint64_t v = 0;
	int r;

	if (want_text(c, n, path, "an integer"))
		return -1;
	s = scalar(n);
	r = parse_uint(s, &v);
	if (r == -1 && s[0] == '-')
		return fail(c, n, path, "must not be negative, got '%s'", s);
	if (r == -1)
		return fail(c, n, path, "'%s' is not an integer (decimal or 0x hex)", s);
	if (r == -3)
		return fail(c, n, path, "'%s' has a leading zero (octal is not supported; use 0x for hex)", s);
	if (r == -2 || v > max) {
		if (min == 0 && max == UINT64_MAX)
			return fail(c, n, path, "'%s' does not fit in 64 bits", s);
		return fail(c, n, path, "must be between %" PRIu64 " and %" PRIu64 ", got '%s'",
			    min, max, s);
	}
	if (v < min)
		return fail(c, n, path, "must be between %" PRIu64 " and %" PRIu64 ", got '%s'",
			    min, max, s);
	*out = v;
	return 0;
}

static int get_bool(struct ctx *c, yaml_node_t *n, const char *path, bool *out)
{
	if (want_text(c, n, path, "true or false"))
		return -1;
	if (!strcmp(scalar(n), "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(scalar(n), "false")) {
		*out = false;
		return 0;
	}
	return fail(c, n, path, "must be true or false, got '%s'", scalar(n));
}

/* One of names[] (by index into values[]). */
static int get_enum(struct ctx *c, yaml_node_t *n, const char *path,
		    const char *const *names, int *out)
{
	char list[128];
	int i;

	if (want_text(c, n, path, "a string"))
		return -1;
	for (i = 0; names[i]; i++) {
		if (!strcmp(scalar(n), names[i])) {
			*out = i;
			return 0;
		}
	}
	join_list(list, sizeof(list), names);
	return fail(c, n, path, "'%s' is not one of: %s", scalar(n), list);
}

/* ---- captures ---------------------------------------------------------- */

static const char *const capture_keys[] = {
	"ptr", "len", "elem_size", "max", "at", NULL,
};

static int get_fetch(struct ctx *c, yaml_node_t *n, const char *path,
		     struct st_fetch *f)
{
	char ferr[ST_ERR_LEN];

	if (want_text(c, n, path, "a fetch-arg such as \"%di\" or \"+16(%sp)\""))
		return -1;
	if (st_fetcharg_parse(scalar(n), f, ferr, sizeof(ferr)))
		return fail(c, n, path, "%s", ferr);
	return 0;
}

static int parse_ptr(struct ctx *c, yaml_node_t *map, const char *path,
		     struct st_capture *cap)
{
	yaml_node_t *v = map_get(c, map, "ptr");
	char sub[PATH_LEN];

	if (!v)
		return missing(c, map, path, "ptr");
	key_path(sub, path, "ptr");
	if (get_fetch(c, v, sub, &cap->ptr))
		return -1;
	if (cap->ptr.base == ST_FETCH_IMM && cap->ptr.nderef == 0 &&
	    cap->ptr.type != ST_FT_STRING)
		return fail(c, v, sub, "a constant is not a pointer; use a register or memory reference");
	if (cap->ptr.type != ST_FT_U64 && cap->ptr.type != ST_FT_STRING)
		return fail(c, v, sub, "a pointer is 64 bits: use no type, ':u64' or ':string'");
	if (cap->ptr.type == ST_FT_STRING)
		cap->mode = ST_LEN_STRING;
	return 0;
}

/*
 * len: a plain YAML integer is a fixed count (ST_LEN_FIXED), anything else
 * a fetch-arg (ST_LEN_FETCH). Both count elem_size-byte elements.
 */
/* An unquoted YAML integer (possibly negative, so that it is refused as such). */
static int is_plain_int(const yaml_node_t *n)
{
	const char *s;
	uint64_t v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = scalar(n);
	if (parse_uint(s, &v) != -1)
		return 1;
	if (*s++ != '-' || !*s)
		return 0;
	return strspn(s, "0123456789") == strlen(s);
}

static int parse_len(struct ctx *c, yaml_node_t *map, const char *path,
		     struct st_capture *cap, uint64_t *fixed)
{
	yaml_node_t *v = map_get(c, map, "len");
	char sub[PATH_LEN];

	key_path(sub, path, "len");
	if (cap->mode == ST_LEN_STRING) {
		if (v)
			return fail(c, v, sub, "not allowed with a ':string' ptr (the string ends at its NUL)");
		return 0;
	}
	if (!v)
		return fail(c, map, sub, "required key is missing (or make ptr ':string' for a NUL-terminated string)");
	if (is_plain_int(v)) {
		if (get_u64(c, v, sub, 1, UINT32_MAX, fixed))
			return -1;
		cap->mode = ST_LEN_FIXED;
		return 0;
	}
	if (get_fetch(c, v, sub, &cap->len))
		return -1;
	if (cap->len.type == ST_FT_STRING)
		return fail(c, v, sub, "':string' is only for ptr; a length is a number");
	cap->mode = ST_LEN_FETCH;
	return 0;
}

static int parse_elem_size(struct ctx *c, yaml_node_t *map, const char *path,
			   struct st_capture *cap)
{
	yaml_node_t *v = map_get(c, map, "elem_size");
	char sub[PATH_LEN];
	uint64_t es;

	cap->elem_size = 1;
	if (!v)
		return 0;
	key_path(sub, path, "elem_size");
	if (cap->mode == ST_LEN_STRING)
		return fail(c, v, sub, "only applies with 'len', not a ':string' ptr");
	if (get_u64(c, v, sub, 1, ST_MAX_CAPTURE, &es))
		return -1;
	cap->elem_size = (uint32_t)es;
	return 0;
}

static int parse_at(struct ctx *c, yaml_node_t *map, const char *path,
		    struct st_capture *cap, int is_output)
{
	static const char *const ats[] = {
		[ST_AT_ENTRY] = "entry", [ST_AT_RETURN] = "return", NULL,
	};
	yaml_node_t *v = map_get(c, map, "at");
	char sub[PATH_LEN];
	int at;

	cap->at = is_output ? ST_AT_RETURN : ST_AT_ENTRY;
	if (!v)
		return 0;
	key_path(sub, path, "at");
	if (get_enum(c, v, sub, ats, &at))
		return -1;
	cap->at = (uint8_t)at;
	return 0;
}

/* %ax holds the return value only at a uretprobe. */
static int check_retval(struct ctx *c, yaml_node_t *map, const char *path,
			struct st_capture *cap)
{
	char sub[PATH_LEN];

	if (cap->mode == ST_LEN_FETCH && st_fetcharg_uses_retval(&cap->len)) {
		if (cap->at != ST_AT_RETURN) {
			key_path(sub, path, "len");
			return fail(c, map_get(c, map, "len"), sub,
				    "'%%ax' ($retval) is the return value; it needs 'at: return'");
		}
		cap->len_at_return = 1;
	}
	if (cap->at != ST_AT_RETURN && st_fetcharg_uses_retval(&cap->ptr)) {
		key_path(sub, path, "ptr");
		return fail(c, map_get(c, map, "ptr"), sub,
			    "'%%ax' ($retval) is the return value; it needs 'at: return'");
	}
	return 0;
}

static int parse_capture(struct ctx *c, yaml_node_t *n, const char *path,
			 struct st_capture *cap, int is_output)
{
	yaml_node_t *v;
	char sub[PATH_LEN];
	uint64_t fixed = 0, max = ST_DEFAULT_CAPTURE;

	if (want_map(c, n, path) || check_keys(c, n, path, capture_keys))
		return -1;
	if (parse_ptr(c, n, path, cap) || parse_len(c, n, path, cap, &fixed) ||
	    parse_elem_size(c, n, path, cap) || parse_at(c, n, path, cap, is_output))
		return -1;
	v = map_get(c, n, "max");
	key_path(sub, path, "max");
	if (v && get_u64(c, v, sub, 1, ST_MAX_CAPTURE, &max))
		return -1;
	cap->max = (uint32_t)max;
	if (cap->mode == ST_LEN_FIXED) {
		if (fixed * cap->elem_size > UINT32_MAX) {
			key_path(sub, path, "len");
			return fail(c, map_get(c, n, "len"), sub,
				    "len times elem_size does not fit in 32 bits");
		}
		cap->fixed_len = (uint32_t)(fixed * cap->elem_size);
	}
	return check_retval(c, n, path, cap);
}

/* ---- decision fields (decision.h) ------------------------------------- */

static bool field_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	return n >= 1 && n <= 64 && !s[n];
}

/* "response:/score": which body, then an RFC 6901 pointer. */
static int parse_field_ref(struct ctx *c, yaml_node_t *v, const char *path,
			   struct st_decision_field *f)
{
	static const struct { const char *word; enum st_decision_src src; } srcs[] = {
		{ "request:", ST_DSRC_REQUEST }, { "input:", ST_DSRC_REQUEST },
		{ "response:", ST_DSRC_RESPONSE }, { "output:", ST_DSRC_RESPONSE },
	};
	char perr[256];
	const char *s;
	size_t i, l;

	if (want_text(c, v, path, "'request:/pointer' or 'response:/pointer'"))
		return -1;
	s = scalar(v);
	for (i = 0; i < ARRAY_SIZE(srcs); i++) {
		l = strlen(srcs[i].word);
		if (strncmp(s, srcs[i].word, l))
			continue;
		if (st_json_pointer_valid(s + l, perr, sizeof(perr)))
			return fail(c, v, path, "%s", perr);
		f->src = srcs[i].src;
		f->pointer = strdup(s + l);
		return f->pointer ? 0 : fail(c, v, path, "out of memory");
	}
	return fail(c, v, path, "'%s' must start with request: or response: (input: or output: for a probe), then a JSON Pointer such as /score",
		    s);
}

static int parse_field_map(struct ctx *c, yaml_node_t *n, const char *path,
			   bool pseudonymise, struct st_decision_spec *d)
{
	yaml_node_pair_t *p;
	struct st_decision_field *f;
	char sub[PATH_LEN];
	size_t j;

	if (want_map(c, n, path))
		return -1;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key), *v = get_node(c, p->value);

		if (!k || k->type != YAML_SCALAR_NODE || !v)
			return fail(c, n, path, "keys must be strings");
		key_path(sub, path, scalar(k));
		if (!field_name_ok(scalar(k)))
			return fail(c, k, sub, "a field name is [A-Za-z0-9_.-]{1,64}");
		for (j = 0; j < d->nfields; j++)
			if (!strcmp(d->fields[j].name, scalar(k)))
				return fail(c, k, sub, "field name given twice");
		if (d->nfields == ST_DECISION_MAX_FIELDS)
			return fail(c, k, sub, "more than %d decision fields", ST_DECISION_MAX_FIELDS);
		f = &d->fields[d->nfields];
		memset(f, 0, sizeof(*f));
		f->name = strdup(scalar(k));
		if (!f->name)
			return fail(c, k, sub, "out of memory");
		d->nfields++;
		f->pseudonymise = pseudonymise;
		if (parse_field_ref(c, v, sub, f))
			return -1;
	}
	return 0;
}

/*
 * decision: {clear: {name: "response:/ptr", ...},
 *            pseudonymise: {name: "request:/ptr", ...}, max_string: N}
 */
static int parse_decision(struct ctx *c, yaml_node_t *map, const char *path,
			  struct st_decision_spec *d)
{
	static const char *const keys[] = { "clear", "pseudonymise", "max_string", NULL };
	yaml_node_t *n = map_get(c, map, "decision"), *v;
	char sub[PATH_LEN], item[PATH_LEN];
	uint64_t max;

	if (!n)
		return 0;
	key_path(sub, path, "decision");
	if (want_map(c, n, sub) || check_keys(c, n, sub, keys))
		return -1;
	if (!d->fields) {
		d->fields = calloc(ST_DECISION_MAX_FIELDS, sizeof(*d->fields));
		if (!d->fields)
			return fail(c, n, sub, "out of memory");
	}
	v = map_get(c, n, "clear");
	key_path(item, sub, "clear");
	if (v && parse_field_map(c, v, item, false, d))
		return -1;
	v = map_get(c, n, "pseudonymise");
	key_path(item, sub, "pseudonymise");
	if (v && parse_field_map(c, v, item, true, d))
		return -1;
	v = map_get(c, n, "max_string");
	key_path(item, sub, "max_string");
	if (v) {
		if (get_u64(c, v, item, 1, ST_DECISION_MAX_STRING, &max))
			return -1;
		d->max_string = (uint32_t)max;
	}
	return 0;
}

static void free_decision(struct st_decision_spec *d)
{
	size_t i;

	for (i = 0; d->fields && i < d->nfields; i++) {
		free(d->fields[i].name);
		free(d->fields[i].pointer);
	}
	free(d->fields);
	memset(d, 0, sizeof(*d));
}

/*
 * system_facts: {annex_iii_category: ..., jurisdiction: ...,
 * training_data_version: ...}: string facts about the whole system, in
 * system_activation and the export header (as "fact.<key>").
 */
static int parse_facts(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *n = map_get(c, root, "system_facts");
	yaml_node_pair_t *p;
	char sub[PATH_LEN];
	size_t count;

	if (!n)
		return 0;
	if (want_map(c, n, "system_facts"))
		return -1;
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > ST_MAX_FACTS)
		return fail(c, n, "system_facts", "more than %d facts", ST_MAX_FACTS);
	cfg->facts = calloc(count ? count : 1, sizeof(*cfg->facts));
	if (!cfg->facts)
		return fail(c, n, "system_facts", "out of memory");
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(c, p->key), *v = get_node(c, p->value);
		struct st_fact_cfg *f = &cfg->facts[cfg->nfacts];

		if (!k || k->type != YAML_SCALAR_NODE || !v)
			return fail(c, n, "system_facts", "keys must be strings");
		key_path(sub, "system_facts", scalar(k));
		if (!field_name_ok(scalar(k)) || strlen(scalar(k)) > 59)
			return fail(c, k, sub, "a fact name is [A-Za-z0-9_.-]{1,59}");
		f->name = strdup(scalar(k));
		if (!f->name)
			return fail(c, k, sub, "out of memory");
		cfg->nfacts++;
		snprintf(f->key, sizeof(f->key), "fact.%s", f->name);
		if (get_string(c, v, sub, 0, &f->value))
			return -1;
	}
	return 0;
}

/* ---- probes and targets ------------------------------------------------ */

static const char *const probe_keys[] = {
	"symbol", "offset", "input", "output", "no_endbr_skip", "decision", NULL,
};

static int parse_probe_site(struct ctx *c, yaml_node_t *n, const char *path,
			    struct st_probe_cfg *p)
{
	yaml_node_t *sym = map_get(c, n, "symbol"), *off = map_get(c, n, "offset");
	char sub[PATH_LEN];

	if (sym && off)
		return fail(c, off, path, "both 'symbol' and 'offset' given; use exactly one");
	if (!sym && !off)
		return fail(c, n, path, "needs 'symbol' or 'offset'");
	if (sym)
		return opt_string(c, n, path, "symbol", 0, &p->symbol);
	key_path(sub, path, "offset");
	/* Offset 0 is the ELF header: never code. */
	if (get_u64(c, off, sub, 1, INT64_MAX, &p->offset))
		return -1;
	p->has_offset = true;
	return 0;
}

static int parse_probe(struct ctx *c, yaml_node_t *n, const char *path,
		       struct st_probe_cfg *p)
{
	yaml_node_t *v;
	char sub[PATH_LEN];

	if (want_map(c, n, path) || check_keys(c, n, path, probe_keys))
		return -1;
	p->line = line_of(n);
	if (++c->nprobes > ST_MAX_PROBES)
		return fail(c, n, path, "more than %d probes in total", ST_MAX_PROBES);
	if (parse_probe_site(c, n, path, p))
		return -1;
	v = map_get(c, n, "no_endbr_skip");
	key_path(sub, path, "no_endbr_skip");
	if (v && get_bool(c, v, sub, &p->no_endbr_skip))
		return -1;
	v = map_get(c, n, "input");
	key_path(sub, path, "input");
	if (v && parse_capture(c, v, sub, &p->in, 0))
		return -1;
	v = map_get(c, n, "output");
	key_path(sub, path, "output");
	if (v && parse_capture(c, v, sub, &p->out, 1))
		return -1;
	return parse_decision(c, n, path, &p->decision);
}

static int parse_probes(struct ctx *c, yaml_node_t *map, const char *path,
			struct st_target_cfg *t, size_t first)
{
	yaml_node_t *n = map_get(c, map, "probes");
	char sub[PATH_LEN], item[PATH_LEN];
	struct st_probe_cfg *all;
	size_t i, count;

	if (!n && first)
		return 0;	/* a preset's probes are enough */
	if (!n)
		return missing(c, map, path, "probes");
	key_path(sub, path, "probes");
	if (want_seq(c, n, sub))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return fail(c, n, sub, "needs at least one probe");
	all = realloc(t->probes, (first + count) * sizeof(*t->probes));
	if (!all)
		return fail(c, n, sub, "out of memory");
	memset(all + first, 0, count * sizeof(*all));
	t->probes = all;
	t->nprobes = first + count;
	for (i = 0; i < count; i++) {
		index_path(item, sub, i);
		if (parse_probe(c, get_node(c, n->data.sequence.items.start[i]),
				item, &t->probes[first + i]))
			return -1;
	}
	return 0;
}

static const char *const target_keys[] = {
	"name", "path", "exe", "maps", "pid", "on_loss", "signal", "probes",
	"hold", "preset", "model_globs", "http", NULL,
};

/* ---- string lists (model_globs) ---------------------------------------- */

/*
 * A list of strings. An empty list ([]) is kept as a list of none
 * (*out set, *nout 0), unlike an absent key (*out NULL): for model_globs
 * it means "hash no model artifacts", not "the default patterns".
 */
static int parse_str_list(struct ctx *c, yaml_node_t *n, const char *path,
			  char ***out, size_t *nout)
{
	char item[PATH_LEN];
	size_t i, count;

	if (want_seq(c, n, path))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return fail(c, n, path, "out of memory");
	*nout = count;
	for (i = 0; i < count; i++) {
		index_path(item, path, i);
		if (get_string(c, get_node(c, n->data.sequence.items.start[i]), item, 0,
			       &(*out)[i]))
			return -1;
	}
	return 0;
}

static void free_str_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- presets ----------------------------------------------------------- */

/*
 * llama.cpp's public C API (libllama), measured on the testbed build:
 *   llama_tokenize(vocab, text=%si, text_len=%dx, tokens=%cx, ...) -> count:
 *	once per request; input the prompt bytes, output the token ids.
 *   llama_decode(ctx, struct llama_batch batch): the 56-byte batch is passed
 *	on the stack: n_tokens at +8(%sp), token pointer at +16(%sp). Once per
 *	generated token; the first call of a request decodes the whole prompt.
 */
struct preset_probe {
	const char *symbol;
	const char *in_ptr, *in_len;
	uint32_t in_elem;
	const char *out_ptr, *out_len;	/* at return, len from %ax */
	uint32_t out_elem;
};

static const struct preset_probe llama_probes[] = {
	{ "llama_tokenize", "%si", "%dx:s32", 1, "%cx", "%ax:s32", 4 },
	{ "llama_decode", "+16(%sp)", "+8(%sp):s32", 4, NULL, NULL, 0 },
};

static int preset_capture(struct ctx *c, yaml_node_t *n, const char *path,
			  struct st_capture *cap, const char *ptr, const char *len,
			  uint32_t elem, bool at_return)
{
	char ferr[ST_ERR_LEN];

	if (st_fetcharg_parse(ptr, &cap->ptr, ferr, sizeof(ferr)) ||
	    st_fetcharg_parse(len, &cap->len, ferr, sizeof(ferr)))
		return fail(c, n, path, "preset: %s", ferr);
	cap->mode = ST_LEN_FETCH;
	cap->elem_size = elem;
	cap->max = ST_DEFAULT_CAPTURE;
	cap->at = at_return ? ST_AT_RETURN : ST_AT_ENTRY;
	cap->len_at_return = at_return && st_fetcharg_uses_retval(&cap->len);
	return 0;
}

static int preset_probe(struct ctx *c, yaml_node_t *n, const char *path,
			const struct preset_probe *pp, struct st_probe_cfg *p)
{
	p->line = line_of(n);
	if (++c->nprobes > ST_MAX_PROBES)
		return fail(c, n, path, "more than %d probes in total", ST_MAX_PROBES);
	p->symbol = strdup(pp->symbol);
	if (!p->symbol)
		return fail(c, n, path, "out of memory");
	if (preset_capture(c, n, path, &p->in, pp->in_ptr, pp->in_len, pp->in_elem, false))
		return -1;
	if (pp->out_ptr &&
	    preset_capture(c, n, path, &p->out, pp->out_ptr, pp->out_len, pp->out_elem, true))
		return -1;
	return 0;
}

/* Probes of the preset first, then the target's own (if any). */
static int parse_preset(struct ctx *c, yaml_node_t *map, const char *path,
			struct st_target_cfg *t, size_t *npreset)
{
	static const char *const presets[] = { "llama.cpp", NULL };
	yaml_node_t *v = map_get(c, map, "preset");
	char sub[PATH_LEN];
	size_t i;
	int which;

	*npreset = 0;
	if (!v)
		return 0;
	key_path(sub, path, "preset");
	if (get_enum(c, v, sub, presets, &which) || get_string(c, v, sub, 0, &t->preset))
		return -1;
	/* the engine is the library, whatever executable hosts it */
	if (!t->path && !t->maps) {
		t->maps = strdup("libllama.so");
		if (!t->maps)
			return fail(c, v, sub, "out of memory");
	}
	t->probes = calloc(ARRAY_SIZE(llama_probes), sizeof(*t->probes));
	if (!t->probes)
		return fail(c, v, sub, "out of memory");
	t->nprobes = ARRAY_SIZE(llama_probes);
	for (i = 0; i < ARRAY_SIZE(llama_probes); i++)
		if (preset_probe(c, v, sub, &llama_probes[i], &t->probes[i]))
			return -1;
	*npreset = t->nprobes;
	return 0;
}

/* ---- http: wire capture of the target's own sockets ------------------- */

static const char *const default_excludes[] = {
	"/health", "/health/*", "/healthz", "/livez", "/readyz", "/ready", "/live",
	"/metrics", "/favicon.ico",
};

struct http_preset {
	const char *name;
	const char *paths[3];
	const char *fields[8][2];	/* name, "request:/..." | "response:/..." */
};

/*
 * The common protocols, so most users write no pointers. Only counts,
 * names and classes are kept in clear; prompts, completions and tensors
 * only as the body HMAC.
 */
static const struct http_preset http_presets[] = {
	{ "openai", { "/v1/chat/completions", "/v1/completions", NULL },
	  { { "model_version", "response:/model" },
	    { "request_model", "request:/model" },
	    { "prompt_tokens", "response:/usage/prompt_tokens" },
	    { "completion_tokens", "response:/usage/completion_tokens" },
	    { "finish_reason", "response:/choices/0/finish_reason" },
	    { "stream", "request:/stream" } } },
	{ "kserve-v1", { "/v1/models/*:predict", NULL, NULL },
	  { { "prediction", "response:/predictions/0" } } },
	{ "open-inference", { "/v2/models/*/infer", "/v2/models/*/versions/*/infer", NULL },
	  { { "model_name", "response:/model_name" },
	    { "model_version", "response:/model_version" },
	    { "output0_name", "response:/outputs/0/name" },
	    { "output0", "response:/outputs/0/data/0" } } },
};

static int copy_list(char ***out, size_t *n, const char *const *src, size_t count)
{
	size_t i;

	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return -1;
	for (i = 0; i < count && src[i]; i++) {
		(*out)[i] = strdup(src[i]);
		if (!(*out)[i])
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int apply_http_preset(struct ctx *c, yaml_node_t *n, const char *path,
			     struct st_http_cfg *h)
{
	const struct http_preset *p = NULL;
	struct st_decision_field *f;
	size_t i, j, np = 0;

	for (i = 0; i < ARRAY_SIZE(http_presets); i++)
		if (!strcmp(h->preset, http_presets[i].name))
			p = &http_presets[i];
	if (!p)
		return fail(c, n, path, "'%s' is not one of: openai, kserve-v1, open-inference",
			    h->preset);
	while (np < 3 && p->paths[np])
		np++;
	if (!h->paths && copy_list(&h->paths, &h->npaths, p->paths, np))
		return fail(c, n, path, "out of memory");
	if (!h->methods) {
		static const char *const post[] = { "POST" };

		if (copy_list(&h->methods, &h->nmethods, post, 1))
			return fail(c, n, path, "out of memory");
	}
	if (!h->decision.fields) {
		h->decision.fields = calloc(ST_DECISION_MAX_FIELDS, sizeof(*h->decision.fields));
		if (!h->decision.fields)
			return fail(c, n, path, "out of memory");
	}
	for (i = 0; i < 8 && p->fields[i][0]; i++) {
		bool have = false;

		for (j = 0; j < h->decision.nfields; j++)
			have |= !strcmp(h->decision.fields[j].name, p->fields[i][0]);
		if (have || h->decision.nfields == ST_DECISION_MAX_FIELDS)
			continue;	/* the operator's own field of that name wins */
		f = &h->decision.fields[h->decision.nfields];
		f->name = strdup(p->fields[i][0]);
		f->src = !strncmp(p->fields[i][1], "request:", 8) ? ST_DSRC_REQUEST : ST_DSRC_RESPONSE;
		f->pointer = strdup(strchr(p->fields[i][1], ':') + 1);
		if (!f->name || !f->pointer)
			return fail(c, n, path, "out of memory");
		h->decision.nfields++;
	}
	return 0;
}

static int parse_http_ports(struct ctx *c, yaml_node_t *map, const char *path,
			    struct st_http_cfg *h)
{
	yaml_node_t *n = map_get(c, map, "ports");
	char sub[PATH_LEN], item[PATH_LEN];
	size_t i, count;
	uint64_t v;

	key_path(sub, path, "ports");
	if (!n)
		return fail(c, map, sub, "required key is missing (the port(s) the server listens on)");
	if (want_seq(c, n, sub))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count || count > ST_HTTP_MAX_PORTS)
		return fail(c, n, sub, "needs 1 to %d ports", ST_HTTP_MAX_PORTS);
	for (i = 0; i < count; i++) {
		index_path(item, sub, i);
		if (get_u64(c, get_node(c, n->data.sequence.items.start[i]), item, 1, 65535, &v))
			return -1;
		h->ports[h->nports++] = (uint16_t)v;
	}
	return 0;
}

static int parse_http(struct ctx *c, yaml_node_t *map, const char *path,
		      struct st_http_cfg *h)
{
	static const char *const keys[] = {
		"ports", "paths", "methods", "exclude_paths", "max_body", "client_address",
		"preset", "decision", "ringbuf_bytes", NULL,
	};
	static const char *const client[] = { "pseudonymise", "omit", NULL };
	yaml_node_t *n = map_get(c, map, "http"), *v;
	char sub[PATH_LEN], item[PATH_LEN];
	int which;

	if (!n)
		return 0;
	key_path(sub, path, "http");
	if (want_map(c, n, sub) || check_keys(c, n, sub, keys))
		return -1;
	h->enabled = true;
	h->line = line_of(n);
	h->max_body = 65536;
	if (parse_http_ports(c, n, sub, h))
		return -1;
	v = map_get(c, n, "paths");
	key_path(item, sub, "paths");
	if (v && parse_str_list(c, v, item, &h->paths, &h->npaths))
		return -1;
	v = map_get(c, n, "methods");
	key_path(item, sub, "methods");
	if (v && parse_str_list(c, v, item, &h->methods, &h->nmethods))
		return -1;
	v = map_get(c, n, "exclude_paths");
	key_path(item, sub, "exclude_paths");
	if (v ? parse_str_list(c, v, item, &h->exclude, &h->nexclude) :
	    copy_list(&h->exclude, &h->nexclude, default_excludes, ARRAY_SIZE(default_excludes)))
		return v ? -1 : fail(c, n, item, "out of memory");
	v = map_get(c, n, "max_body");
	key_path(item, sub, "max_body");
	if (v && get_u64(c, v, item, 0, 16u << 20, &h->max_body))
		return -1;
	v = map_get(c, n, "ringbuf_bytes");
	key_path(item, sub, "ringbuf_bytes");
	if (v) {
		if (get_u64(c, v, item, 4096, 1u << 30, &h->ringbuf_bytes))
			return -1;
		if (h->ringbuf_bytes & (h->ringbuf_bytes - 1))
			return fail(c, v, item, "must be a power of two");
	}
	v = map_get(c, n, "client_address");
	key_path(item, sub, "client_address");
	if (v) {
		if (get_enum(c, v, item, client, &which))
			return -1;
		h->omit_client = which == 1;
	}
	if (parse_decision(c, n, sub, &h->decision))
		return -1;
	if (opt_string(c, n, sub, "preset", 0, &h->preset))
		return -1;
	key_path(item, sub, "preset");
	return h->preset ? apply_http_preset(c, map_get(c, n, "preset"), item, h) : 0;
}

static void free_http(struct st_http_cfg *h)
{
	free_str_list(h->paths, h->npaths);
	free_str_list(h->methods, h->nmethods);
	free_str_list(h->exclude, h->nexclude);
	free(h->preset);
	free_decision(&h->decision);
	memset(h, 0, sizeof(*h));
}

static int parse_signal(struct ctx *c, yaml_node_t *n, const char *path, int *out)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {
		{ "SIGKILL", SIGKILL }, { "SIGSTOP", SIGSTOP }, { "SIGTERM", SIGTERM },
	};
	uint64_t v;
	size_t i;

	if (want_text(c, n, path, "a signal"))
		return -1;
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (!strcmp(scalar(n), sigs[i].name)) {
			*out = sigs[i].sig;
			return 0;
		}
	}
	if (parse_uint(scalar(n), &v) != 0)
		return fail(c, n, path, "'%s' is not SIGKILL, SIGSTOP, SIGTERM or a signal number",
			    scalar(n));
	if (get_u64(c, n, path, 1, (uint64_t)SIGRTMAX, &v))
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_target_opts(struct ctx *c, yaml_node_t *n, const char *path,
			     struct st_target_cfg *t)
{
	static const char *const losses[] = {
		[ST_ON_LOSS_RECORD] = "record", [ST_ON_LOSS_SIGNAL] = "signal", NULL,
	};
	yaml_node_t *v;
	char sub[PATH_LEN];
	uint64_t pid;
	int on_loss;

	v = map_get(c, n, "pid");
	key_path(sub, path, "pid");
	if (v) {
		if (get_u64(c, v, sub, 0, PID_MAX_LIMIT, &pid))
			return -1;
		t->pid = (int)pid;
	}
	v = map_get(c, n, "on_loss");
	key_path(sub, path, "on_loss");
	if (v) {
		if (get_enum(c, v, sub, losses, &on_loss))
			return -1;
		t->on_loss = (enum st_on_loss)on_loss;
	}
	v = map_get(c, n, "hold");
	key_path(sub, path, "hold");
	if (v) {
		bool hold;

		if (get_bool(c, v, sub, &hold))
			return -1;
		t->no_hold = !hold;
	}
	v = map_get(c, n, "model_globs");
	key_path(sub, path, "model_globs");
	if (v && parse_str_list(c, v, sub, &t->model_globs, &t->nmodel_globs))
		return -1;
	t->signal = SIGKILL;
	v = map_get(c, n, "signal");
	key_path(sub, path, "signal");
	return v ? parse_signal(c, v, sub, &t->signal) : 0;
}

static int parse_target(struct ctx *c, yaml_node_t *n, const char *path,
			struct st_target_cfg *t)
{
	char sub[PATH_LEN];
	size_t npreset;

	if (want_map(c, n, path) || check_keys(c, n, path, target_keys))
		return -1;
	t->line = line_of(n);
	if (req_ident(c, n, path, "name", &t->name) ||
	    opt_string(c, n, path, "path", 0, &t->path) ||
	    opt_string(c, n, path, "exe", 0, &t->exe) ||
	    opt_string(c, n, path, "maps", 0, &t->maps))
		return -1;
	if (parse_preset(c, n, path, t, &npreset))
		return -1;
	if (!t->path && !t->exe && !t->maps) {
		key_path(sub, path, "path");
		return fail(c, n, sub, "required key is missing (or give 'exe', 'maps' or 'preset')");
	}
	if (t->exe && strchr(t->exe, '/')) {
		key_path(sub, path, "exe");
		return fail(c, map_get(c, n, "exe"), sub,
			    "is an executable name, not a path (use 'path' for a path)");
	}
	if (parse_target_opts(c, n, path, t) || parse_http(c, n, path, &t->http))
		return -1;
	/* an http target's inferences come from its sockets: probes optional */
	if (t->http.enabled && !map_get(c, n, "probes"))
		return 0;
	return parse_probes(c, n, path, t, npreset);
}

/* Target names label records; two alike would make them ambiguous. */
static int check_target_names(struct ctx *c, yaml_node_t *seq, struct st_config *cfg)
{
	char sub[PATH_LEN];
	size_t i, j;

	for (i = 1; i < cfg->ntargets; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->targets[i].name, cfg->targets[j].name))
				continue;
			snprintf(sub, sizeof(sub), "targets[%zu].name", i);
			return fail(c, get_node(c, seq->data.sequence.items.start[i]), sub,
				    "duplicate target name '%s' (also targets[%zu] at line %d)",
				    cfg->targets[i].name, j, cfg->targets[j].line);
		}
	}
	return 0;
}

static int parse_targets(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *n = map_get(c, root, "targets");
	char item[PATH_LEN];
	size_t i, count;

	if (!n)
		return fail(c, root, "targets", "required key is missing (at least one target)");
	if (want_seq(c, n, "targets"))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return fail(c, n, "targets", "needs at least one target");
	cfg->targets = calloc(count, sizeof(*cfg->targets));
	if (!cfg->targets)
		return fail(c, n, "targets", "out of memory");
	cfg->ntargets = count;
	for (i = 0; i < count; i++) {
		index_path(item, "targets", i);
		if (parse_target(c, get_node(c, n->data.sequence.items.start[i]),
				 item, &cfg->targets[i]))
			return -1;
	}
	return check_target_names(c, n, cfg);
}

/* ---- top level --------------------------------------------------------- */

static const char *const top_keys[] = {
	"system_id", "operator_id", "node_id", "state_dir", "keys",
	"ringbuf_bytes", "pin_dir", "segment", "checkpoint", "fsync",
	"metrics", "heartbeat_seconds", "fail_closed_after_ms", "targets", "model_globs",
	"model_detection", "models", "retention", "encryption", "risk_rules", "system_facts",
	NULL,
};

/* enum st_model_detection, in its order */
static const char *const model_detections[] = { "auto", "page_cache", "openat", NULL };

/* models: [{sha256: <64 hex>, version: <name>}] */
static int parse_model(struct ctx *c, yaml_node_t *n, const char *path,
		       struct st_model_cfg *m)
{
	static const char *const keys[] = { "sha256", "version", NULL };
	char *hex = NULL, sub[PATH_LEN];
	size_t i;

	if (want_map(c, n, path) || check_keys(c, n, path, keys))
		return -1;
	m->line = line_of(n);
	if (req_string(c, n, path, "sha256", &hex))
		return -1;
	key_path(sub, path, "sha256");
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64) {
		free(hex);
		return fail(c, map_get(c, n, "sha256"), sub, "must be 64 hex digits");
	}
	for (i = 0; i < 64; i++)
		m->sha256[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
	m->sha256[64] = '\0';
	free(hex);
	return req_ident(c, n, path, "version", &m->version);
}

static int parse_models(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *n = map_get(c, root, "models");
	char item[PATH_LEN];
	size_t i, j, count;

	if (!n)
		return 0;
	if (want_seq(c, n, "models"))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	cfg->models = calloc(count ? count : 1, sizeof(*cfg->models));
	if (!cfg->models)
		return fail(c, n, "models", "out of memory");
	cfg->nmodels = count;
	for (i = 0; i < count; i++) {
		yaml_node_t *item_node = get_node(c, n->data.sequence.items.start[i]);

		index_path(item, "models", i);
		if (parse_model(c, item_node, item, &cfg->models[i]))
			return -1;
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->models[j].sha256, cfg->models[i].sha256))
				return fail(c, item_node, item,
					    "duplicate sha256 (also models[%zu] at line %d)",
					    j, cfg->models[j].line);
	}
	return 0;
}

/* ---- risk_rules ------------------------------------------------------- */

static const char *const risk_severities[] = { "low", "medium", "high", "critical", NULL };
static const char *const risk_ops[] = { "<", "<=", ">", ">=", "==", "!=", NULL };

static int risk_name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	return n >= 1 && n <= 64 && !s[n];
}

/* A finite decimal number: 0.7, -3, 1e-3. */
static int get_double(struct ctx *c, yaml_node_t *n, const char *path, double *out)
{
	const char *s;
	char *end;

	if (want_text(c, n, path, "a number"))
		return -1;
	s = scalar(n);
	errno = 0;
	*out = strtod(s, &end);
	if (!*s || *end || errno || *out != *out || *out > 1e300 || *out < -1e300)
		return fail(c, n, path, "'%s' is not a finite number", s);
	return 0;
}

static int parse_risk_set(struct ctx *c, yaml_node_t *rule, const char *path,
			  struct st_risk_rule_cfg *r)
{
	yaml_node_t *in = map_get(c, rule, "in"), *not_in = map_get(c, rule, "not_in");
	char sub[PATH_LEN];

	if (in && not_in)
		return fail(c, rule, path, "give one of in and not_in, not both");
	r->op = in ? ST_RISK_IN : ST_RISK_NOT_IN;
	key_path(sub, path, in ? "in" : "not_in");
	if (parse_str_list(c, in ? in : not_in, sub, &r->set, &r->nset))
		return -1;
	if (!r->nset)
		return fail(c, in ? in : not_in, sub, "must list at least one value");
	return 0;
}

static int parse_risk_rule(struct ctx *c, yaml_node_t *n, const char *path,
			   struct st_risk_rule_cfg *r)
{
	static const char *const keys[] = { "name", "field", "op", "value", "in",
					    "not_in", "severity", NULL };
	yaml_node_t *op = NULL, *value = NULL;
	char sub[PATH_LEN];
	int i;

	if (want_map(c, n, path) || check_keys(c, n, path, keys))
		return -1;
	r->line = line_of(n);
	if (req_string(c, n, path, "name", &r->name) ||
	    req_string(c, n, path, "field", &r->field) ||
	    req_string(c, n, path, "severity", &r->severity))
		return -1;
	key_path(sub, path, "name");
	if (!risk_name_ok(r->name))
		return fail(c, map_get(c, n, "name"), sub, "a rule name is [A-Za-z0-9_.-]{1,64}");
	key_path(sub, path, "field");
	if (!risk_name_ok(r->field))
		return fail(c, map_get(c, n, "field"), sub, "a field name is [A-Za-z0-9_.-]{1,64}");
	key_path(sub, path, "severity");
	if (!in_list(risk_severities, r->severity)) {
		char known[128];

		join_list(known, sizeof(known), risk_severities);
		return fail(c, map_get(c, n, "severity"), sub, "'%s' is not one of %s",
			    r->severity, known);
	}
	op = map_get(c, n, "op");
	value = map_get(c, n, "value");
	if (!op && !value)
		return map_get(c, n, "in") || map_get(c, n, "not_in") ?
		       parse_risk_set(c, n, path, r) :
		       fail(c, n, path, "needs op and value, or in / not_in");
	if (map_get(c, n, "in") || map_get(c, n, "not_in"))
		return fail(c, n, path, "give op and value, or in / not_in, not both");
	if (!op || !value)
		return fail(c, n, path, "op and value go together");
	key_path(sub, path, "op");
	if (want_text(c, op, sub, "one of < <= > >= == !="))
		return -1;
	for (i = 0; risk_ops[i] && strcmp(risk_ops[i], scalar(op)); i++)
		;
	if (!risk_ops[i])
		return fail(c, op, sub, "'%s' is not one of < <= > >= == !=", scalar(op));
	r->op = (enum st_risk_op)i;
	key_path(sub, path, "value");
	return get_double(c, value, sub, &r->value);
}

static int parse_risk_rules(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *n = map_get(c, root, "risk_rules");
	char item[PATH_LEN];
	size_t i, j, count;

	if (!n)
		return 0;
	if (want_seq(c, n, "risk_rules"))
		return -1;
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	cfg->risk_rules = calloc(count ? count : 1, sizeof(*cfg->risk_rules));
	if (!cfg->risk_rules)
		return fail(c, n, "risk_rules", "out of memory");
	cfg->nrisk_rules = count;
	for (i = 0; i < count; i++) {
		yaml_node_t *item_node = get_node(c, n->data.sequence.items.start[i]);

		index_path(item, "risk_rules", i);
		if (parse_risk_rule(c, item_node, item, &cfg->risk_rules[i]))
			return -1;
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->risk_rules[j].name, cfg->risk_rules[i].name))
				return fail(c, item_node, item,
					    "duplicate name '%s' (also risk_rules[%zu] at line %d)",
					    cfg->risk_rules[i].name, j, cfg->risk_rules[j].line);
	}
	return 0;
}

/* A mapping of integers, e.g. segment: {max_records: 1, ...}. */
struct num_key {
	const char *key;
	size_t off;		/* into struct st_config */
	uint64_t min, max;
};

#define NUM(k, f, lo) { k, offsetof(struct st_config, f), lo, UINT64_MAX }

static const struct num_key segment_keys[] = {
	NUM("max_records", segment.max_records, 1),
	NUM("max_bytes", segment.max_bytes, 1),
	NUM("max_seconds", segment.max_seconds, 1),
};
static const struct num_key checkpoint_keys[] = {
	NUM("every_records", checkpoint.every_records, 1),
	NUM("every_seconds", checkpoint.every_seconds, 1),
	NUM("epoch_seconds", checkpoint.epoch_seconds, 0),
};
static const struct num_key retention_keys[] = {
	NUM("decision_days", retention.decision_days, 0),
	NUM("system_days", retention.system_days, 0),
	NUM("check_seconds", retention.check_seconds, 1),
};
static const struct num_key fsync_keys[] = {
	NUM("every_ms", fsync.every_ms, 0),
};

static int parse_num_map(struct ctx *c, yaml_node_t *root, const char *name,
			 const struct num_key *keys, size_t nkeys,
			 struct st_config *cfg)
{
	yaml_node_t *n = map_get(c, root, name), *v;
	const char *known[8];
	char sub[PATH_LEN];
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < nkeys && i < ARRAY_SIZE(known) - 1; i++)
		known[i] = keys[i].key;
	known[i] = NULL;
	if (want_map(c, n, name) || check_keys(c, n, name, known))
		return -1;
	for (i = 0; i < nkeys; i++) {
		v = map_get(c, n, keys[i].key);
		key_path(sub, name, keys[i].key);
		if (v && get_u64(c, v, sub, keys[i].min, keys[i].max,
				 (uint64_t *)((char *)cfg + keys[i].off)))
			return -1;
	}
	return 0;
}

/* A mapping with one string key, e.g. keys: {dir: /etc/sealtrace}. */
static int parse_str_map(struct ctx *c, yaml_node_t *root, const char *name,
			 const char *key, int allow_empty, char **out)
{
	const char *const known[] = { key, NULL };
	yaml_node_t *n = map_get(c, root, name);

	if (!n)
		return 0;
	if (want_map(c, n, name) || check_keys(c, n, name, known))
		return -1;
	return opt_string(c, n, name, key, allow_empty, out);
}

static int parse_ringbuf(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *v = map_get(c, root, "ringbuf_bytes");

	cfg->ringbuf_bytes = DEF_RINGBUF;
	if (!v)
		return 0;
	if (get_u64(c, v, "ringbuf_bytes", MIN_RINGBUF, MAX_RINGBUF, &cfg->ringbuf_bytes))
		return -1;
	if (cfg->ringbuf_bytes & (cfg->ringbuf_bytes - 1))
		return fail(c, v, "ringbuf_bytes", "must be a power of two, got %" PRIu64,
			    cfg->ringbuf_bytes);
	return 0;
}

static void set_num_defaults(struct st_config *cfg)
{
	cfg->segment.max_records = 100000;
	cfg->segment.max_bytes = 64ull << 20;
	cfg->segment.max_seconds = 86400;
	cfg->checkpoint.every_records = 10000;
	cfg->checkpoint.every_seconds = 60;
	cfg->fsync.every_ms = 0;
	cfg->heartbeat_seconds = 60;
	cfg->retention.decision_days = ST_RETENTION_MIN_DECISION_DAYS;
	cfg->retention.system_days = ST_RETENTION_DEF_SYSTEM_DAYS;
	cfg->retention.check_seconds = ST_RETENTION_DEF_CHECK_SECONDS;
}

static int default_string(struct ctx *c, yaml_node_t *root, char **field,
			  const char *def)
{
	if (*field)
		return 0;
	*field = strdup(def);
	return *field ? 0 : fail(c, root, "", "out of memory");
}

static int set_string_defaults(struct ctx *c, yaml_node_t *root,
			       struct st_config *cfg)
{
	char host[256];

	if (!cfg->node_id) {
		if (gethostname(host, sizeof(host)))
			return fail(c, root, "node_id", "not set, and gethostname failed: %s",
				    strerror(errno));
		host[sizeof(host) - 1] = '\0';
		if (default_string(c, root, &cfg->node_id, host))
			return -1;
	}
	return default_string(c, root, &cfg->state_dir, DEF_STATE_DIR) ||
	       default_string(c, root, &cfg->keys_dir, DEF_KEYS_DIR) ||
	       default_string(c, root, &cfg->pin_dir, DEF_PIN_DIR) ||
	       default_string(c, root, &cfg->metrics.listen, DEF_LISTEN) ? -1 : 0;
}

/*
 * pin_dir is created in bpffs, which refuses names with a '.' (reserved
 * there): mkdir fails with EPERM, which reads like a missing privilege.
 */
static int check_pin_dir(struct ctx *c, yaml_node_t *root, const char *pin_dir)
{
	char base[256];
	const char *end, *start;

	if (!pin_dir)
		return 0;
	if (pin_dir[0] != '/')
		return fail(c, map_get(c, root, "pin_dir"), "pin_dir",
			    "must be an absolute path in bpffs (e.g. /sys/fs/bpf/sealtrace)");
	/* the last component, the one the agent creates in bpffs */
	end = pin_dir + strlen(pin_dir);
	while (end > pin_dir + 1 && end[-1] == '/')
		end--;
	start = end;
	while (start > pin_dir && start[-1] != '/')
		start--;
	snprintf(base, sizeof(base), "%.*s", (int)(end - start), start);
	if (strchr(base, '.'))
		return fail(c, map_get(c, root, "pin_dir"), "pin_dir",
			    "'%s': bpffs does not allow '.' in names; choose a name without one",
			    base);
	return 0;
}

static int parse_root(struct ctx *c, yaml_node_t *root, struct st_config *cfg)
{
	yaml_node_t *v;

	if (root->type != YAML_MAPPING_NODE)
		return fail(c, root, "", "the top level must be a mapping (key: value)");
	if (check_keys(c, root, "", top_keys))
		return -1;
	set_num_defaults(cfg);
	if (req_ident(c, root, "", "system_id", &cfg->system_id) ||
	    req_ident(c, root, "", "operator_id", &cfg->operator_id) ||
	    opt_ident(c, root, "", "node_id", &cfg->node_id) ||
	    opt_string(c, root, "", "state_dir", 0, &cfg->state_dir) ||
	    opt_string(c, root, "", "pin_dir", 0, &cfg->pin_dir) ||
	    check_pin_dir(c, root, cfg->pin_dir) ||
	    parse_str_map(c, root, "keys", "dir", 0, &cfg->keys_dir) ||
	    parse_str_map(c, root, "metrics", "listen", 1, &cfg->metrics.listen) ||
	    parse_str_map(c, root, "encryption", "key_file", 0,
			  &cfg->encryption.key_file) ||
	    parse_ringbuf(c, root, cfg) ||
	    parse_num_map(c, root, "segment", segment_keys, ARRAY_SIZE(segment_keys), cfg) ||
	    parse_num_map(c, root, "checkpoint", checkpoint_keys,
			  ARRAY_SIZE(checkpoint_keys), cfg) ||
	    parse_num_map(c, root, "fsync", fsync_keys, ARRAY_SIZE(fsync_keys), cfg) ||
	    parse_num_map(c, root, "retention", retention_keys,
			  ARRAY_SIZE(retention_keys), cfg))
		return -1;
	v = map_get(c, root, "heartbeat_seconds");
	if (v && get_u64(c, v, "heartbeat_seconds", 1, UINT64_MAX, &cfg->heartbeat_seconds))
		return -1;
	v = map_get(c, root, "fail_closed_after_ms");
	if (v && get_u64(c, v, "fail_closed_after_ms", 0, 86400000, &cfg->fail_closed_after_ms))
		return -1;
	v = map_get(c, root, "model_globs");
	if (v && parse_str_list(c, v, "model_globs", &cfg->model_globs, &cfg->nmodel_globs))
		return -1;
	v = map_get(c, root, "model_detection");
	if (v) {
		int how;

		if (get_enum(c, v, "model_detection", model_detections, &how))
			return -1;
		cfg->model_detection = (enum st_model_detection)how;
	}
	if (parse_models(c, root, cfg) || parse_risk_rules(c, root, cfg) ||
	    parse_facts(c, root, cfg))
		return -1;
	if (parse_targets(c, root, cfg))
		return -1;
	return set_string_defaults(c, root, cfg);
}

/* ---- loading ----------------------------------------------------------- */

/* The 1-based line of byte offset off (the reader reports no line). */
static size_t line_at(const struct ctx *c, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off && i < c->len; i++)
		line += c->buf[i] == '\n';
	return line;
}

static int yaml_fail(struct ctx *c, const yaml_parser_t *p)
{
	if (!c->err || !c->errlen)
		return -1;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(c->err, c->errlen, "%s: out of memory reading YAML", c->file);
		break;
	case YAML_READER_ERROR:
		snprintf(c->err, c->errlen, "%s:%zu: invalid input at byte %zu: %s",
			 c->file, line_at(c, p->problem_offset), p->problem_offset,
			 p->problem ? p->problem : "?");
		break;
	default:
		if (p->context)
			snprintf(c->err, c->errlen,
				 "%s:%zu: YAML syntax error: %s at column %zu (%s started at line %zu)",
				 c->file, p->problem_mark.line + 1,
				 p->problem ? p->problem : "?", p->problem_mark.column + 1,
				 p->context, p->context_mark.line + 1);
		else
			snprintf(c->err, c->errlen, "%s:%zu: YAML syntax error: %s at column %zu",
				 c->file, p->problem_mark.line + 1,
				 p->problem ? p->problem : "?", p->problem_mark.column + 1);
	}
	return -1;
}

/*
 * Before libyaml builds the node tree, a pass over its events bounds what
 * a hostile file can cost: nesting (libyaml's scanner is quadratic in the
 * depth of flow lists: 100 KB of '[' took 10 s) and the size of the
 * document once every alias is expanded (our walk copies an aliased list
 * into each place it is used: one anchored list aliased by 256 targets
 * took 1 GB). Nodes are counted as the walk will see them: an alias
 * counts the nodes of what it names.
 */
#define MAX_DEPTH	32
#define MAX_NODES	100000
#define MAX_ANCHORS	1024

struct anchor {
	char *name;
	uint64_t nodes;		/* of the anchored node, aliases expanded */
	bool open;		/* its collection has not ended yet */
};

struct bound {
	struct ctx *c;
	struct anchor anchors[MAX_ANCHORS];
	size_t nanchors;
	struct {
		size_t anchor;	/* MAX_ANCHORS: none */
		uint64_t start;	/* nodes before it */
	} open[MAX_DEPTH + 1];
	int depth;
	uint64_t nodes;
};

__attribute__((format(printf, 3, 4)))
static int event_fail(struct ctx *c, const yaml_event_t *e, const char *fmt, ...)
{
	char what[ST_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s:%zu: %s", c->file,
			 e->start_mark.line + 1, what);
	return -1;
}

static int add_anchor(struct bound *b, const yaml_event_t *e,
		      const yaml_char_t *name, size_t *idx)
{
	struct anchor *a;

	*idx = MAX_ANCHORS;
	if (!name)
		return 0;
	if (b->nanchors == MAX_ANCHORS)
		return event_fail(b->c, e, "more than %d anchors (&name)", MAX_ANCHORS);
	a = &b->anchors[b->nanchors];
	a->name = strdup((const char *)name);
	if (!a->name)
		return event_fail(b->c, e, "out of memory");
	a->nodes = 1;
	a->open = true;
	*idx = b->nanchors++;
	return 0;
}

/* The latest anchor of that name (YAML lets a name be reused). */
static struct anchor *find_anchor(struct bound *b, const yaml_char_t *name)
{
	size_t i;

	for (i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, (const char *)name))
			return &b->anchors[i];
	return NULL;
}

static int bound_alias(struct bound *b, const yaml_event_t *e)
{
	const yaml_char_t *name = e->data.alias.anchor;
	struct anchor *a = find_anchor(b, name);

	if (!a)
		return 0;	/* libyaml reports the undefined alias */
	if (a->open)
		return event_fail(b->c, e, "alias *%s is inside the node it names (a recursive alias)",
				  (const char *)name);
	b->nodes += a->nodes;
	if (b->nodes > MAX_NODES)
		return event_fail(b->c, e, "alias *%s (%" PRIu64 " nodes) takes the config beyond %d nodes once aliases are expanded",
				  (const char *)name, a->nodes, MAX_NODES);
	return 0;
}

static int bound_event(struct bound *b, const yaml_event_t *e)
{
	const yaml_char_t *anchor = NULL;
	size_t idx;

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		return bound_alias(b, e);
	case YAML_SCALAR_EVENT:
		b->nodes++;
		if (add_anchor(b, e, e->data.scalar.anchor, &idx))
			return -1;
		if (idx < MAX_ANCHORS)
			b->anchors[idx].open = false;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		anchor = e->type == YAML_SEQUENCE_START_EVENT ?
			 e->data.sequence_start.anchor : e->data.mapping_start.anchor;
		if (b->depth == MAX_DEPTH)
			return event_fail(b->c, e, "lists and mappings nested deeper than %d levels",
					  MAX_DEPTH);
		if (add_anchor(b, e, anchor, &idx))
			return -1;
		b->open[b->depth].anchor = idx;
		b->open[b->depth++].start = b->nodes++;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth <= 0)
			break;
		idx = b->open[--b->depth].anchor;
		if (idx < MAX_ANCHORS) {
			b->anchors[idx].nodes = b->nodes - b->open[b->depth].start;
			b->anchors[idx].open = false;
		}
		break;
	default:
		break;
	}
	if (b->nodes > MAX_NODES)
		return event_fail(b->c, e, "more than %d nodes", MAX_NODES);
	return 0;
}

static int check_bounds(struct ctx *c, const char *yaml, size_t len)
{
	struct bound *b = calloc(1, sizeof(*b));
	yaml_parser_t parser;
	yaml_event_t e;
	bool done = false;
	int rc = 0;
	size_t i;

	if (!b || !yaml_parser_initialize(&parser)) {
		free(b);
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return -1;
	}
	b->c = c;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	while (!rc && !done) {
		if (!yaml_parser_parse(&parser, &e)) {
			rc = yaml_fail(c, &parser);
			break;
		}
		done = e.type == YAML_STREAM_END_EVENT;
		rc = bound_event(b, &e);
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&parser);
	for (i = 0; i < b->nanchors; i++)
		free(b->anchors[i].name);
	free(b);
	return rc;
}

/* A second document in the stream would be ignored silently: refuse it. */
static int check_single_doc(struct ctx *c, yaml_parser_t *parser)
{
	yaml_document_t doc2;
	yaml_node_t *root2;
	int ret = 0;

	if (!yaml_parser_load(parser, &doc2))
		return yaml_fail(c, parser);
	root2 = yaml_document_get_root_node(&doc2);
	if (root2)
		ret = fail(c, root2, "", "only one YAML document is allowed");
	yaml_document_delete(&doc2);
	return ret;
}

static int load_doc(struct ctx *c, yaml_parser_t *parser, struct st_config *cfg)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	if (!yaml_parser_load(parser, &doc))
		return yaml_fail(c, parser);
	c->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		if (c->err && c->errlen)
			snprintf(c->err, c->errlen,
				 "%s:1: empty config (system_id, operator_id and targets are required)",
				 c->file);
		ret = -1;
	} else {
		ret = check_single_doc(c, parser);
		if (!ret)
			ret = parse_root(c, root, cfg);
	}
	c->doc = NULL;
	yaml_document_delete(&doc);
	return ret;
}

int st_config_load_string(const char *name, const char *yaml, size_t len,
			  struct st_config *cfg, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	yaml_parser_t parser;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	cfg->file = strdup(name ? name : "<string>");
	if (!cfg->file) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name ? name : "<string>");
		return -1;
	}
	c.file = cfg->file;
	if (!yaml_parser_initialize(&parser)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", c.file);
		st_config_free(cfg);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	c.buf = yaml;
	c.len = len;
	ret = check_bounds(&c, yaml, len);
	if (!ret)
		ret = load_doc(&c, &parser, cfg);
	yaml_parser_delete(&parser);
	if (ret)
		st_config_free(cfg);
	return ret;
}

static int read_file(const char *path, char **buf, size_t *len, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, n = 0;
	char *b, *nb;

	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap || cap >= MAX_FILE_BYTES)
			break;
		nb = realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	if (!b || ferror(f) || n >= MAX_FILE_BYTES) {
		int e = !b ? ENOMEM : ferror(f) ? errno : EFBIG;

		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

int st_config_load(const char *path, struct st_config *cfg, char *err,
		   size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (read_file(path, &buf, &len, err, errlen))
		return -1;
	ret = st_config_load_string(path, buf, len, cfg, err, errlen);
	free(buf);
	return ret;
}

static void free_target(struct st_target_cfg *t)
{
	size_t i;

	for (i = 0; i < t->nprobes; i++) {
		free(t->probes[i].symbol);
		free_decision(&t->probes[i].decision);
	}
	free(t->probes);
	free(t->name);
	free(t->path);
	free(t->exe);
	free(t->maps);
	free(t->preset);
	free_str_list(t->model_globs, t->nmodel_globs);
	free_http(&t->http);
}

void st_config_free(struct st_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->ntargets; i++)
		free_target(&cfg->targets[i]);
	free(cfg->targets);
	free_str_list(cfg->model_globs, cfg->nmodel_globs);
	for (i = 0; i < cfg->nmodels; i++)
		free(cfg->models[i].version);
	free(cfg->models);
	for (i = 0; i < cfg->nrisk_rules; i++) {
		free(cfg->risk_rules[i].name);
		free(cfg->risk_rules[i].field);
		free(cfg->risk_rules[i].severity);
		free_str_list(cfg->risk_rules[i].set, cfg->risk_rules[i].nset);
	}
	free(cfg->risk_rules);
	for (i = 0; i < cfg->nfacts; i++) {
		free(cfg->facts[i].name);
		free(cfg->facts[i].value);
	}
	free(cfg->facts);
	free(cfg->file);
	free(cfg->system_id);
	free(cfg->operator_id);
	free(cfg->node_id);
	free(cfg->state_dir);
	free(cfg->keys_dir);
	free(cfg->encryption.key_file);
	free(cfg->pin_dir);
	free(cfg->metrics.listen);
	memset(cfg, 0, sizeof(*cfg));
}

int st_config_retention_warning(const struct st_config *cfg, char *out,
				size_t outlen)
{
	uint64_t d = cfg->retention.decision_days;

	if (!d || d >= ST_RETENTION_MIN_DECISION_DAYS)
		return 0;
	snprintf(out, outlen, "%s: retention.decision_days: %" PRIu64
		 " is below %d days: the AI Act (Art. 19(1), 26(6)) requires logs to be kept at least six months",
		 cfg->file ? cfg->file : "config", d, ST_RETENTION_MIN_DECISION_DAYS);
	return 1;
}
