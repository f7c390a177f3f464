// SPDX-License-Identifier: Apache-2.0
/*
 * Decision fields: JSON Pointer (RFC 6901) into a body, the value in clear
 * (scalars, capped strings) or as its own HMAC reference (decision.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/decision.h"

/* ---- JSON Pointer ------------------------------------------------------ */

int st_json_pointer_valid(const char *ptr, char *err, size_t errlen)
{
	size_t i;

	if (!*ptr)
		return 0;
	if (ptr[0] != '/')
		return st_errf(err, errlen, "a JSON Pointer is \"\" or starts with '/' (RFC 6901), got '%s'",
			    ptr);
	for (i = 0; ptr[i]; i++)
		if (ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1')
			return st_errf(err, errlen, "'~' at offset %zu of '%s' is not ~0 or ~1",
				    i, ptr);
	return 0;
}

/* Next reference token of *p, unescaped into tok; false at the end. */
static bool next_token(const char **p, char *tok, size_t toklen, bool *too_long)
{
	size_t n = 0;
	const char *s = *p;

	if (*s != '/')
		return false;
	for (s++; *s && *s != '/'; s++) {
		char c = *s;

		if (c == '~') {
			c = s[1] == '1' ? '/' : '~';
			s++;
		}
		if (n + 1 >= toklen) {
			*too_long = true;
			return false;
		}
		tok[n++] = c;
	}
	tok[n] = '\0';
	*p = s;
	return true;
}

/* An array index: "0" or digits without a leading zero ("-" is past the end). */
static bool array_index(const char *tok, const struct st_jv *arr, size_t *idx)
{
	size_t i = 0, v = 0;

	if (!tok[0] || (tok[0] == '0' && tok[1]))
		return false;
	for (; tok[i]; i++) {
		if (tok[i] < '0' || tok[i] > '9' || v > arr->n)
			return false;
		v = v * 10 + (size_t)(tok[i] - '0');
	}
	if (v >= arr->n)
		return false;
	*idx = v;
	return true;
}

const struct st_jv *st_json_pointer_get(const struct st_jv *root, const char *ptr)
{
	char tok[1024];
	bool too_long = false;
	size_t idx;

	while (root && *ptr) {
		if (!next_token(&ptr, tok, sizeof(tok), &too_long))
			return NULL;
		if (root->t == ST_JOBJ)
			root = st_jv_get(root, tok);
		else if (root->t == ST_JARR && array_index(tok, root, &idx))
			root = root->items[idx];
		else
			return NULL;
	}
	return root;
}

/* ---- extraction -------------------------------------------------------- */

static void list_add(char *list, size_t size, const char *name)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s%s", n ? "," : "", name);
}

/* Cut at most max bytes, never inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void keep_clear(const struct st_decision_spec *spec,
		       const struct st_decision_field *f, const struct st_jv *v,
		       size_t i, struct st_decision_result *r)
{
	struct st_kv *kv = &r->clear[r->nclear];
	size_t max = spec->max_string ? spec->max_string : ST_DECISION_DEF_STRING;
	size_t keep;
	int64_t iv;

	switch (v->t) {
	case ST_JNULL: *kv = st_kv_null(f->name); break;
	case ST_JBOOL: *kv = st_kv_bool(f->name, v->b); break;
	case ST_JNUM: *kv = st_kv_num(f->name, v->d); break;
	case ST_JINT:
		if (!v->neg)
			*kv = st_kv_uint(f->name, v->mag);
		else if (!st_jv_int64(v, &iv))
			*kv = st_kv_int(f->name, iv);
		else
			*kv = st_kv_num(f->name, -(double)v->mag);
		break;
	case ST_JSTR:
		keep = utf8_cut(v->s, v->slen, max);
		r->strings[i] = strndup(v->s, keep);
		if (!r->strings[i]) {
			list_add(r->missing, sizeof(r->missing), f->name);
			return;
		}
		if (keep < v->slen || strlen(r->strings[i]) != keep)
			list_add(r->truncated, sizeof(r->truncated), f->name);
		*kv = st_kv_str(f->name, r->strings[i]);
		if (!strcmp(f->name, ST_DECISION_MODEL_VERSION))
			r->model_version = r->strings[i];
		break;
	default:
		list_add(r->missing, sizeof(r->missing), f->name);
		return;
	}
	r->nclear++;
}

/*
 * The bytes a pseudonym keys: a string's UTF-8 bytes (what an operator
 * types into lookup --value), any other scalar's canonical JSON text.
 */
static void keep_ref(const struct st_keyring *keys, const struct st_decision_field *f,
		     const struct st_jv *v, size_t i, struct st_decision_result *r)
{
	struct st_buf b = { 0 };
	int rc;

	switch (v->t) {
	case ST_JSTR:
		st_buf_put(&b, v->s, v->slen);
		break;
	case ST_JINT:
		if (v->neg)
			st_buf_putc(&b, '-');
		{
			char d[24];

			snprintf(d, sizeof(d), "%llu", (unsigned long long)v->mag);
			st_buf_puts(&b, d);
		}
		break;
	case ST_JNUM: st_json_double(&b, v->d); break;
	case ST_JBOOL: st_json_bool(&b, v->b); break;
	default:
		list_add(r->missing, sizeof(r->missing), f->name);
		return;
	}
	rc = b.oom ? -1 : st_pseudo_ref(keys, b.p ? b.p : "", b.len, r->ref_text[i],
					 sizeof(r->ref_text[i]));
	st_buf_free(&b);
	if (rc) {
		list_add(r->missing, sizeof(r->missing), f->name);
		return;
	}
	r->refs[r->nrefs++] = st_kv_str(f->name, r->ref_text[i]);
}

/* Parse one body, or say in r->error why not; NULL root then. */
static const struct st_jv *read_body(const char *what, const void *body, size_t len,
				     bool whole, struct st_json_doc *doc,
				     struct st_decision_result *r)
{
	char jerr[96];
	size_t n = strlen(r->error);

	if (!body) {
		snprintf(r->error + n, sizeof(r->error) - n, "%s%s: not captured",
			 n ? "; " : "", what);
		return NULL;
	}
	if (!whole) {
		snprintf(r->error + n, sizeof(r->error) - n, "%s%s: cut at the capture cap",
			 n ? "; " : "", what);
		return NULL;
	}
	if (st_json_parse_any(body, len, doc, jerr, sizeof(jerr))) {
		snprintf(r->error + n, sizeof(r->error) - n, "%s%s: not JSON (%s)",
			 n ? "; " : "", what, jerr);
		return NULL;
	}
	return doc->root;
}

void st_decision_extract(const struct st_decision_spec *spec,
			 const struct st_keyring *keys,
			 const void *req, size_t req_len, bool req_whole,
			 const void *resp, size_t resp_len, bool resp_whole,
			 struct st_decision_result *r)
{
	struct st_json_doc docs[2] = { { 0 }, { 0 } };
	const struct st_jv *roots[2] = { NULL, NULL }, *v;
	bool need[2] = { false, false }, tried[2] = { false, false };
	const struct st_decision_field *f;
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < spec->nfields && i < ST_DECISION_MAX_FIELDS; i++) {
		need[spec->fields[i].src] = true;
		if (spec->fields[i].pseudonymise)
			r->any_refs = true;
		else
			r->any_clear = true;
	}
	for (i = 0; i < spec->nfields && i < ST_DECISION_MAX_FIELDS; i++) {
		f = &spec->fields[i];
		if (!tried[f->src] && need[f->src]) {
			tried[f->src] = true;
			roots[f->src] = f->src == ST_DSRC_REQUEST ?
				read_body("request", req, req_len, req_whole, &docs[0], r) :
				read_body("response", resp, resp_len, resp_whole, &docs[1], r);
		}
		v = st_json_pointer_get(roots[f->src], f->pointer);
		if (!v) {
			list_add(r->missing, sizeof(r->missing), f->name);
			continue;
		}
		if (f->pseudonymise)
			keep_ref(keys, f, v, i, r);
		else
			keep_clear(spec, f, v, i, r);
	}
	st_json_doc_free(&docs[0]);
	st_json_doc_free(&docs[1]);
}

void st_decision_result_free(struct st_decision_result *r)
{
	size_t i;

	for (i = 0; i < ST_DECISION_MAX_FIELDS; i++) {
		free(r->strings[i]);
		r->strings[i] = NULL;
	}
}

void st_decision_apply(const struct st_decision_result *r, struct st_record *rec,
		       struct st_kv *details, size_t *nd, size_t max)
{
	rec->has_decision = r->any_clear;
	rec->decision = r->clear;
	rec->ndecision = r->nclear;
	rec->has_pseudonyms = r->any_refs;
	rec->pseudonyms = r->refs;
	rec->npseudonyms = r->nrefs;
	if (r->model_version)
		rec->model_version = r->model_version;
	if (r->missing[0] && *nd < max)
		details[(*nd)++] = st_kv_str("decision_missing", r->missing);
	if (r->truncated[0] && *nd < max)
		details[(*nd)++] = st_kv_str("decision_truncated", r->truncated);
	if (r->error[0] && *nd < max)
		details[(*nd)++] = st_kv_str("decision_error", r->error);
}
