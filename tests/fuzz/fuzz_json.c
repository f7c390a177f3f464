// SPDX-License-Identifier: Apache-2.0
/*
 * The JSON parser (base/json.c) on one line of arbitrary bytes: the
 * strict mode (the log's records) and the foreign-document mode
 * (st_json_parse_any: HTTP bodies other programs wrote).
 */
#include "fuzz.h"

#include "sealtrace/base/json.h"

static void walk(const struct st_jv *v, unsigned depth)
{
	const struct st_jmember *m;
	int64_t i;
	uint64_t u;
	size_t k;

	if (depth > 1000)
		abort();	/* the parser bounds nesting */
	(void)st_jv_int64(v, &i);
	(void)st_jv_uint64(v, &u);
	if (v->t == ST_JOBJ)
		for (k = 0, m = v->members; m; m = m->next, k++) {
			/* st_jv_get is linear: look up the first few only */
			if (k < 16 && st_jv_get(v, m->key) != m->val)
				abort();	/* keys are unique */
			walk(m->val, depth + 1);
		}
	if (v->t == ST_JARR)
		for (k = 0; k < v->n; k++)
			walk(v->items[k], depth + 1);
}

typedef int (*parse_fn)(const char *, size_t, struct st_json_doc *, char *,
			size_t);

static void parse_one(parse_fn parse, const uint8_t *data, size_t size)
{
	struct st_json_doc doc;
	char err[256];

	err[0] = '\0';
	if (!parse((const char *)data, size, &doc, err, sizeof(err))) {
		walk(doc.root, 0);
		st_json_doc_free(&doc);
	} else if (!err[0]) {
		abort();	/* a refusal says why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one(st_json_parse, data, size);
	parse_one(st_json_parse_any, data, size);
	return 0;
}
