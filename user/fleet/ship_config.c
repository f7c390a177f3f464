// SPDX-License-Identifier: Apache-2.0
/* The shipper's configuration file: a flat YAML mapping (ship.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/ship.h"

static int set_uint(const char *path, const yaml_node_t *v, const char *key,
		    uint64_t *out, char *err, size_t errlen)
{
	const char *s = (const char *)v->data.scalar.value;
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || !*out)
		return st_errf(err, errlen, "%s:%zu: %s: '%s' is not a positive integer",
			       path, v->start_mark.line + 1, key, s);
	return 0;
}

static int set_str(const yaml_node_t *v, char **out)
{
	free(*out);
	*out = strdup((const char *)v->data.scalar.value);
	return *out ? 0 : -1;
}

static int entry(const char *path, yaml_document_t *doc, yaml_node_pair_t *p,
		 struct st_ship_config *c, char *err, size_t errlen)
{
	yaml_node_t *k = yaml_document_get_node(doc, p->key);
	yaml_node_t *v = yaml_document_get_node(doc, p->value);
	const char *key;

	if (!k || k->type != YAML_SCALAR_NODE)
		return st_errf(err, errlen, "%s: keys must be plain names", path);
	key = (const char *)k->data.scalar.value;
	if (!v || v->type != YAML_SCALAR_NODE)
		return st_errf(err, errlen, "%s:%zu: %s: must be a single value", path,
			       k->start_mark.line + 1, key);
	if (!strcmp(key, "state_dir"))
		return set_str(v, &c->state_dir);
	if (!strcmp(key, "dsn"))
		return set_str(v, &c->dsn);
	if (!strcmp(key, "witness_url"))
		return set_str(v, &c->witness_url);
	if (!strcmp(key, "batch_records"))
		return set_uint(path, v, key, &c->batch_records, err, errlen);
	if (!strcmp(key, "poll_ms"))
		return set_uint(path, v, key, &c->poll_ms, err, errlen);
	if (!strcmp(key, "retry_max_ms"))
		return set_uint(path, v, key, &c->retry_max_ms, err, errlen);
	return st_errf(err, errlen, "%s:%zu: %s: unknown key (state_dir, dsn, batch_records, poll_ms, retry_max_ms, witness_url)",
		       path, k->start_mark.line + 1, key);
}

static int load_doc(const char *path, yaml_document_t *doc,
		    struct st_ship_config *c, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_pair_t *p;

	if (!root || root->type != YAML_MAPPING_NODE)
		return st_errf(err, errlen, "%s:1: expected a mapping (state_dir: ..., dsn: ...)", path);
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++)
		if (entry(path, doc, p, c, err, errlen))
			return -1;
	if (!c->state_dir || !*c->state_dir)
		return st_errf(err, errlen, "%s: state_dir: required", path);
	if (!c->dsn || !*c->dsn)
		return st_errf(err, errlen, "%s: dsn: required", path);
	if (c->batch_records > 100000)
		return st_errf(err, errlen, "%s: batch_records: at most 100000", path);
	return 0;
}

int st_ship_config_load(const char *path, struct st_ship_config *c, char *err,
			size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	FILE *f;
	int rc;

	memset(c, 0, sizeof(*c));
	c->batch_records = 2000;
	c->poll_ms = 1000;
	c->retry_max_ms = 10000;
	f = fopen(path, "re");
	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = st_errf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
			     parser.problem ? parser.problem : "YAML error");
	} else {
		rc = load_doc(path, &doc, c, err, errlen);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	if (rc)
		st_ship_config_free(c);
	return rc;
}

void st_ship_config_free(struct st_ship_config *c)
{
	free(c->state_dir);
	free(c->dsn);
	free(c->witness_url);
	c->state_dir = c->dsn = c->witness_url = NULL;
}
