// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace report: what an auditor or compliance officer reads about a
 * period - coverage and losses over time, decisions per day by class and
 * model version, the score distribution per model version, risk events,
 * human oversight (rate, overrides), the model versions in production
 * with their digests, checkpoint and witness status, and the result of
 * verifying the log - as one self-contained HTML file (inline CSS and
 * SVG, no script, no network: a Content-Security-Policy forbids both) and
 * as JSON for machines. Both are written from the same figures.
 *
 * One pass over each stream with every check `verify` makes on the chain
 * and the tree (st_scan_stream), plus the signed checkpoint's root; the
 * figures are counted on the way.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/json.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/log/store.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/monitor/inventory.h"
#include "sealtrace/monitor/lines.h"
#include "sealtrace/monitor/risk.h"

#define DAY_NS		(86400ull * 1000000000ull)
#define MAX_DAYS	1100	/* three years of days */
#define MAX_NAMES	12	/* classes, versions shown; the rest is "other" */
#define OTHER		MAX_NAMES
#define HIST_BINS	20
#define MAX_RULES	64
#define MAX_MODELS	64

struct names {
	char v[MAX_NAMES][64];
	size_t n;
};

struct day {
	uint64_t decisions, incomplete, lost, loss_records, risk, oversight, overrides;
	uint64_t by_class[MAX_NAMES + 1], by_version[MAX_NAMES + 1];
};

struct rule_count {
	char name[65], severity[16];
	uint64_t n;
};

struct model_seen {
	char artifact[80], version[128];
	uint64_t first, last, loads;
};

struct stream_check {
	int rc;				/* 0 intact, 1 not, -1 error */
	char err[512];
	uint64_t records;
	uint64_t signed_size, signed_ts;
	bool have_ckpt, root_ok, sig_checked;
	unsigned signatures;		/* lines on the note: 1 = the log's own */
	uint8_t root[ST_HASH_LEN];
	bool root_seen;
	uint64_t ckpt_records;		/* checkpoint records in the period */
};

struct rep {
	const char *dir, *score_field, *class_field;
	uint64_t from, to;
	const struct st_keyset *keys;
	/* days */
	struct day *days;
	uint64_t base_day, first_day, last_day;
	bool any_day, base_known;
	uint64_t outside_days;
	/* totals */
	uint64_t decisions, incomplete, lost, loss_records, risk, oversight, overrides;
	uint64_t agent_starts, recoveries, with_fields;
	struct names classes, versions;
	uint64_t hist[MAX_NAMES + 1][HIST_BINS], hist_n[MAX_NAMES + 1], scores_outside;
	struct rule_count rules[MAX_RULES];
	size_t nrules;
	struct model_seen models[MAX_MODELS];
	size_t nmodels;
	struct st_inventory inv;	/* serving at the end of the period */
	struct stream_check chk[ST_STREAM__COUNT];
	char system_id[128], node_id[128];
	/* progress */
	bool tty;
	uint64_t total_bytes, done_bytes, seg_bytes;
	char cur_seg[ST_SEG_NAME_LEN + 1];
	int last_pct;
	uint64_t scanned;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace report --state-dir DIR [--from TIME] [--to TIME]\n"
		"                        [--out FILE.html] [--json] [--pubkey FILE]\n"
		"                        [--score-field NAME] [--class-field NAME]\n\n"
		"A report for an auditor over [--from, --to): coverage and losses per day,\n"
		"decisions per day by class and model version, the score distribution per\n"
		"model version, risk events, oversight rate and overrides, the model\n"
		"versions in production with their digests, checkpoint and witness status,\n"
		"and the result of verifying both streams. --out writes one self-contained\n"
		"HTML file (inline CSS and SVG, no script, no network); --json writes the\n"
		"same figures to stdout. A progress bar goes to stderr when it is a terminal.\n\n"
		"  --state-dir DIR     the agent's state directory\n"
		"  --from, --to TIME   the period (RFC 3339 or YYYY-MM-DD; default: all)\n"
		"  --out FILE          the HTML report\n"
		"  --json              the figures as JSON on stdout\n"
		"  --pubkey FILE       check the checkpoints' signatures with this key\n"
		"  --score-field NAME  decision field with the score (default confidence_score)\n"
		"  --class-field NAME  decision field with the class (default output_class)\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 written and the log verifies, 1 written but the log does\n"
		"not verify, 2 usage, 3 I/O error.\n");
}

/* ---- counting ---- */

static size_t name_index(struct names *n, const char *s)
{
	size_t i;

	if (!s || !*s)
		s = "(none)";
	for (i = 0; i < n->n; i++)
		if (!strcmp(n->v[i], s))
			return i;
	if (n->n == MAX_NAMES)
		return OTHER;
	snprintf(n->v[n->n], sizeof(n->v[0]), "%s", s);
	return n->n++;
}

static struct day *day_of(struct rep *r, uint64_t ts)
{
	uint64_t d = ts / DAY_NS;

	if (!r->any_day) {
		if (!r->base_known)
			r->base_day = r->from ? r->from / DAY_NS : d;
		r->first_day = r->last_day = d < r->base_day ? r->base_day : d;
		r->any_day = true;
	}
	if (d < r->base_day || d >= r->base_day + MAX_DAYS) {
		r->outside_days++;
		return NULL;
	}
	if (d < r->first_day)
		r->first_day = d;
	if (d > r->last_day)
		r->last_day = d;
	return &r->days[d - r->base_day];
}

static bool in_period(const struct rep *r, uint64_t ts)
{
	return ts >= r->from && ts < r->to;
}

static void count_fields(struct rep *r, const struct st_record *rec, size_t ver,
			 struct day *d)
{
	struct st_dval f[ST_RISK_MAX_FIELDS];
	size_t n = st_risk_fields_of(rec, f, ST_RISK_MAX_FIELDS), i, cls;
	const char *class_name = NULL;
	int bin;

	if (n)
		r->with_fields++;
	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].name, r->class_field) && f[i].kind == ST_DVAL_STR)
			class_name = f[i].str;
		if (strcmp(f[i].name, r->score_field) || f[i].kind != ST_DVAL_NUM)
			continue;
		if (!(f[i].num >= 0 && f[i].num <= 1)) {
			r->scores_outside++;
			continue;
		}
		bin = (int)(f[i].num * HIST_BINS);
		if (bin == HIST_BINS)
			bin--;
		r->hist[ver][bin]++;
		r->hist_n[ver]++;
	}
	cls = name_index(&r->classes, class_name ? class_name :
			 n ? "(no class)" : "(no decision fields)");
	if (d)
		d->by_class[cls]++;
}

static void count_decision(struct rep *r, const struct st_record *rec)
{
	struct day *d = day_of(r, rec->timestamp_ns);
	size_t ver = name_index(&r->versions, rec->model_version);

	r->decisions++;
	if (rec->type == ST_ET_INCOMPLETE)
		r->incomplete++;
	if (d) {
		d->decisions++;
		d->incomplete += rec->type == ST_ET_INCOMPLETE;
		d->by_version[ver]++;
	}
	count_fields(r, rec, ver, d);
}

static void count_risk(struct rep *r, const struct st_record *rec, struct day *d)
{
	const char *name = st_record_detail_str(rec, "rule"), *sev = st_record_detail_str(rec, "severity");
	size_t i;

	r->risk++;
	if (d)
		d->risk++;
	for (i = 0; i < r->nrules; i++)
		if (!strcmp(r->rules[i].name, name ? name : "?"))
			break;
	if (i == r->nrules) {
		if (r->nrules == MAX_RULES)
			return;
		snprintf(r->rules[i].name, sizeof(r->rules[i].name), "%s", name ? name : "?");
		snprintf(r->rules[i].severity, sizeof(r->rules[i].severity), "%s", sev ? sev : "?");
		r->nrules++;
	}
	r->rules[i].n++;
}

static void count_model(struct rep *r, const struct st_record *rec)
{
	size_t i;

	if (!rec->model_artifact)
		return;
	for (i = 0; i < r->nmodels; i++)
		if (!strcmp(r->models[i].artifact, rec->model_artifact) &&
		    !strcmp(r->models[i].version, rec->model_version ? rec->model_version : ""))
			break;
	if (i == r->nmodels) {
		if (r->nmodels == MAX_MODELS)
			return;
		snprintf(r->models[i].artifact, sizeof(r->models[i].artifact), "%s", rec->model_artifact);
		snprintf(r->models[i].version, sizeof(r->models[i].version), "%s",
			 rec->model_version ? rec->model_version : "");
		r->models[i].first = rec->timestamp_ns;
		r->nmodels++;
	}
	if (rec->timestamp_ns < r->models[i].first)
		r->models[i].first = rec->timestamp_ns;
	if (rec->timestamp_ns > r->models[i].last)
		r->models[i].last = rec->timestamp_ns;
	r->models[i].loads++;
}

static void count_system(struct rep *r, const struct st_record *rec)
{
	struct day *d;

	if (rec->timestamp_ns < r->to && st_inventory_apply(&r->inv, rec))
		fprintf(stderr, "sealtrace report: out of memory (model inventory)\n");
	if (!in_period(r, rec->timestamp_ns))
		return;
	switch (rec->type) {
	case ST_ET_LOSS:
		d = day_of(r, rec->timestamp_ns);
		r->loss_records++;
		r->lost += st_record_detail_uint(rec, "count");
		if (d) {
			d->loss_records++;
			d->lost += st_record_detail_uint(rec, "count");
		}
		break;
	case ST_ET_RISK:
		count_risk(r, rec, day_of(r, rec->timestamp_ns));
		break;
	case ST_ET_OVERSIGHT:
		d = day_of(r, rec->timestamp_ns);
		r->oversight++;
		r->overrides += rec->human_override_applied;
		if (d) {
			d->oversight++;
			d->overrides += rec->human_override_applied;
		}
		break;
	case ST_ET_MODEL_LOADED:
		count_model(r, rec);
		break;
	case ST_ET_AGENT_START:
		r->agent_starts++;
		break;
	case ST_ET_RECOVERY:
		r->recoveries++;
		break;
	case ST_ET_CHECKPOINT:
		r->chk[ST_STREAM_SYSTEM].ckpt_records++;
		break;
	default:
		break;
	}
}

/* ---- progress on a terminal ---- */

static void progress(struct rep *r, const struct st_scan_rec *s)
{
	struct stat sb;
	char path[4300];
	uint64_t pos;
	int pct, i;

	if (strcmp(r->cur_seg, s->segment)) {
		r->done_bytes += r->seg_bytes;
		snprintf(r->cur_seg, sizeof(r->cur_seg), "%s", s->segment);
		snprintf(path, sizeof(path), "%s/%s/%s", r->dir, st_stream_name(s->stream),
			 s->segment);
		r->seg_bytes = stat(path, &sb) ? 0 : (uint64_t)sb.st_size;
	}
	pos = r->done_bytes + s->block_offset;
	pct = r->total_bytes ? (int)(pos * 100 / r->total_bytes) : 100;
	if (pct == r->last_pct || pct > 100)
		return;
	r->last_pct = pct;
	fprintf(stderr, "\rreport: [");
	for (i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : '.', stderr);
	fprintf(stderr, "] %3d%%  %s %" PRIu64 " records", pct, st_stream_name(s->stream),
		r->scanned);
}

static uint64_t stream_bytes(const char *dir, enum st_stream s)
{
	struct st_seg_list l = { 0 };
	struct stat sb;
	char d[4200], path[4300], name[ST_SEG_NAME_LEN + 1], err[256];
	uint64_t total = 0;
	size_t i;

	snprintf(d, sizeof(d), "%s/%s", dir, st_stream_name(s));
	if (st_seg_list(d, &l, err, sizeof(err)))
		return 0;
	for (i = 0; i < l.n; i++) {
		st_seg_name(l.first[i], name);
		snprintf(path, sizeof(path), "%s/%s", d, name);
		if (!stat(path, &sb))
			total += (uint64_t)sb.st_size;
	}
	st_seg_list_free(&l);
	return total;
}

/* ---- the scans ---- */

static int scan_cb(void *ctx, const struct st_scan_rec *s, char *err, size_t errlen)
{
	struct rep *r = ctx;
	struct stream_check *c = &r->chk[s->stream];
	const struct st_record *rec = &s->p->rec;

	(void)err;
	(void)errlen;
	r->scanned++;
	if (r->tty && !(r->scanned & 4095))
		progress(r, s);
	if (!r->system_id[0] && s->p->hdr.system_id) {
		snprintf(r->system_id, sizeof(r->system_id), "%s", s->p->hdr.system_id);
		snprintf(r->node_id, sizeof(r->node_id), "%s",
			 s->p->hdr.node_id ? s->p->hdr.node_id : "");
	}
	/* the root the checkpoint signs, once the tree has its size */
	if (c->have_ckpt && s->tree && s->p->hdr.seq == c->signed_size && s->tree->size == c->signed_size) {
		if (st_merkle_root(s->tree, s->h, c->root))
			return st_errf(err, errlen, "SHA-256 failed");
		c->root_seen = true;
	}
	if (s->stream == ST_STREAM_DECISION) {
		if (in_period(r, rec->timestamp_ns))
			count_decision(r, rec);
	} else {
		count_system(r, rec);
	}
	return 0;
}

static void read_checkpoint(struct rep *r, enum st_stream s)
{
	struct stream_check *c = &r->chk[s];
	struct st_ckpt ck;
	char path[4300], note[ST_NOTE_MAX], why[512];
	const char *p;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s/checkpoint", r->dir, st_stream_name(s));
	if (st_ckpt_read_file(path, note, sizeof(note), &len, why, sizeof(why)))
		return;
	if (st_ckpt_parse_any(note, len, r->keys->key, r->keys->n, &ck, NULL, why, sizeof(why))) {
		c->rc = 1;
		snprintf(c->err, sizeof(c->err), "%s/checkpoint: %.400s", st_stream_name(s), why);
		return;
	}
	c->have_ckpt = true;
	c->sig_checked = r->keys->n > 0;
	c->signed_size = ck.size;
	memcpy(c->root, ck.root, ST_HASH_LEN);	/* the claim; replaced by the computed root */
	for (p = note; (p = strstr(p, "\n\xe2\x80\x94 ")); p++)
		c->signatures++;
}

static void check_stream(struct rep *r, enum st_stream s)
{
	struct stream_check *c = &r->chk[s];
	struct st_scan_result res;
	uint8_t claimed[ST_HASH_LEN];
	struct st_hasher *h;
	int rc;

	read_checkpoint(r, s);
	if (c->rc)
		return;
	memcpy(claimed, c->root, ST_HASH_LEN);
	rc = st_scan_stream(r->dir, s, scan_cb, r, &res, c->err, sizeof(c->err));
	c->records = res.records;
	if (rc) {
		c->rc = rc;
		return;
	}
	if (!c->have_ckpt)
		return;
	if (!c->root_seen && res.tree.size == c->signed_size) {
		h = st_hasher_new();
		c->root_seen = h && !st_merkle_root(&res.tree, h, c->root);
		st_hasher_free(h);
	}
	c->root_ok = c->root_seen && !memcmp(claimed, c->root, ST_HASH_LEN);
	if (!c->root_ok) {
		c->rc = 1;
		snprintf(c->err, sizeof(c->err), "%s: %" PRIu64 " records do not give the root its checkpoint signs for %" PRIu64,
			 st_stream_name(s), res.records, c->signed_size);
	}
}

/* ---- JSON ---- */

static void jnum(struct st_buf *b, double v)
{
	char t[40];

	snprintf(t, sizeof(t), "%.6f", v);
	st_buf_puts(b, t);
}

static void jtime(struct st_buf *b, uint64_t ns)
{
	char t[ST_TIME_LEN + 1];

	if (!ns || ns == UINT64_MAX || st_time_format(ns, t))
		st_json_null(b);
	else
		st_json_cstr(b, t);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 1.0;
}

static void day_date(const struct rep *r, uint64_t day, char out[11])
{
	char t[ST_TIME_LEN + 1];

	(void)r;
	st_time_format(day * DAY_NS, t);
	memcpy(out, t, 10);
	out[10] = '\0';
}

static void jnames(struct st_buf *b, const struct names *n, const uint64_t *v)
{
	size_t i;

	st_buf_putc(b, '{');
	for (i = 0; i <= n->n && i <= MAX_NAMES; i++) {
		size_t k = i == n->n ? OTHER : i;

		if (i == n->n && (n->n < MAX_NAMES || !v[OTHER]))
			break;
		if (i)
			st_buf_putc(b, ',');
		st_json_cstr(b, k == OTHER ? "other" : n->v[k]);
		st_buf_putc(b, ':');
		st_json_uint(b, v[k]);
	}
	st_buf_putc(b, '}');
}

static void json_check(struct st_buf *b, const struct stream_check *c)
{
	st_buf_puts(b, "{\"result\":");
	st_json_cstr(b, c->rc == 0 ? "intact" : c->rc > 0 ? "FAIL" : "error");
	st_buf_puts(b, ",\"error\":");
	st_json_cstr(b, c->rc ? c->err : NULL);
	st_buf_puts(b, ",\"records\":");
	st_json_uint(b, c->records);
	st_buf_puts(b, ",\"signed_tree_size\":");
	if (c->have_ckpt)
		st_json_uint(b, c->signed_size);
	else
		st_json_null(b);
	st_buf_puts(b, ",\"signature_checked\":");
	st_json_bool(b, c->sig_checked);
	st_buf_puts(b, ",\"signatures\":");
	st_json_uint(b, c->signatures);
	st_buf_puts(b, ",\"witness_cosignatures\":");
	st_json_uint(b, c->signatures > 1 ? c->signatures - 1 : 0);
	st_buf_puts(b, "}");
}

static void build_json(struct rep *r, struct st_buf *b)
{
	static struct st_inv_group g[64];
	size_t i, j, ng;
	uint64_t day;

	st_buf_puts(b, "{\"format\":\"sealtrace-report/1\",\"system_id\":");
	st_json_cstr(b, r->system_id[0] ? r->system_id : NULL);
	st_buf_puts(b, ",\"node_id\":");
	st_json_cstr(b, r->node_id[0] ? r->node_id : NULL);
	st_buf_puts(b, ",\"from\":");
	jtime(b, r->from);
	st_buf_puts(b, ",\"to\":");
	jtime(b, r->to);
	st_buf_puts(b, ",\"verification\":{\"decision\":");
	json_check(b, &r->chk[ST_STREAM_DECISION]);
	st_buf_puts(b, ",\"system\":");
	json_check(b, &r->chk[ST_STREAM_SYSTEM]);
	st_buf_puts(b, "},\"totals\":{\"decisions\":");
	st_json_uint(b, r->decisions);
	st_buf_puts(b, ",\"incomplete\":");
	st_json_uint(b, r->incomplete);
	st_buf_puts(b, ",\"lost_calls\":");
	st_json_uint(b, r->lost);
	st_buf_puts(b, ",\"loss_records\":");
	st_json_uint(b, r->loss_records);
	st_buf_puts(b, ",\"coverage\":");
	jnum(b, ratio(r->decisions, r->decisions + r->lost));
	st_buf_puts(b, ",\"risk_events\":");
	st_json_uint(b, r->risk);
	st_buf_puts(b, ",\"oversight\":");
	st_json_uint(b, r->oversight);
	st_buf_puts(b, ",\"overrides\":");
	st_json_uint(b, r->overrides);
	st_buf_puts(b, ",\"oversight_rate\":");
	jnum(b, r->decisions ? ratio(r->oversight, r->decisions) : 0);
	st_buf_puts(b, ",\"override_rate\":");
	jnum(b, r->oversight ? ratio(r->overrides, r->oversight) : 0);
	st_buf_puts(b, ",\"decisions_with_fields\":");
	st_json_uint(b, r->with_fields);
	st_buf_puts(b, ",\"agent_starts\":");
	st_json_uint(b, r->agent_starts);
	st_buf_puts(b, ",\"recoveries\":");
	st_json_uint(b, r->recoveries);
	st_buf_puts(b, ",\"records_outside_days\":");
	st_json_uint(b, r->outside_days);
	st_buf_puts(b, "},\"days\":[");
	for (day = r->first_day; r->any_day && day <= r->last_day; day++) {
		const struct day *d = &r->days[day - r->base_day];
		char date[11];

		day_date(r, day, date);
		if (day != r->first_day)
			st_buf_putc(b, ',');
		st_buf_puts(b, "{\"date\":");
		st_json_cstr(b, date);
		st_buf_puts(b, ",\"decisions\":");
		st_json_uint(b, d->decisions);
		st_buf_puts(b, ",\"incomplete\":");
		st_json_uint(b, d->incomplete);
		st_buf_puts(b, ",\"lost_calls\":");
		st_json_uint(b, d->lost);
		st_buf_puts(b, ",\"coverage\":");
		jnum(b, ratio(d->decisions, d->decisions + d->lost));
		st_buf_puts(b, ",\"risk_events\":");
		st_json_uint(b, d->risk);
		st_buf_puts(b, ",\"oversight\":");
		st_json_uint(b, d->oversight);
		st_buf_puts(b, ",\"overrides\":");
		st_json_uint(b, d->overrides);
		st_buf_puts(b, ",\"by_class\":");
		jnames(b, &r->classes, d->by_class);
		st_buf_puts(b, ",\"by_model_version\":");
		jnames(b, &r->versions, d->by_version);
		st_buf_putc(b, '}');
	}
	st_buf_puts(b, "],\"score_histograms\":[");
	for (i = 0, j = 0; i <= MAX_NAMES; i++) {
		size_t k;

		if (!r->hist_n[i])
			continue;
		st_buf_puts(b, j++ ? ",{\"model_version\":" : "{\"model_version\":");
		st_json_cstr(b, i == OTHER ? "other" : r->versions.v[i]);
		st_buf_puts(b, ",\"field\":");
		st_json_cstr(b, r->score_field);
		st_buf_puts(b, ",\"n\":");
		st_json_uint(b, r->hist_n[i]);
		st_buf_puts(b, ",\"bins\":[");
		for (k = 0; k < HIST_BINS; k++) {
			if (k)
				st_buf_putc(b, ',');
			st_json_uint(b, r->hist[i][k]);
		}
		st_buf_puts(b, "]}");
	}
	st_buf_puts(b, "],\"risk_rules\":[");
	for (i = 0; i < r->nrules; i++) {
		st_buf_puts(b, i ? ",{\"rule\":" : "{\"rule\":");
		st_json_cstr(b, r->rules[i].name);
		st_buf_puts(b, ",\"severity\":");
		st_json_cstr(b, r->rules[i].severity);
		st_buf_puts(b, ",\"count\":");
		st_json_uint(b, r->rules[i].n);
		st_buf_putc(b, '}');
	}
	st_buf_puts(b, "],\"models_loaded\":[");
	for (i = 0; i < r->nmodels; i++) {
		st_buf_puts(b, i ? ",{\"model_artifact\":" : "{\"model_artifact\":");
		st_json_cstr(b, r->models[i].artifact);
		st_buf_puts(b, ",\"model_version\":");
		st_json_cstr(b, r->models[i].version[0] ? r->models[i].version : NULL);
		st_buf_puts(b, ",\"first_loaded\":");
		jtime(b, r->models[i].first);
		st_buf_puts(b, ",\"last_loaded\":");
		jtime(b, r->models[i].last);
		st_buf_puts(b, ",\"loads\":");
		st_json_uint(b, r->models[i].loads);
		st_buf_putc(b, '}');
	}
	st_buf_puts(b, "],\"serving_at_end\":[");
	ng = st_inventory_groups(&r->inv, g, 64);
	for (i = 0; i < ng; i++) {
		st_buf_puts(b, i ? ",{\"model_artifact\":" : "{\"model_artifact\":");
		st_json_cstr(b, g[i].model->artifact);
		st_buf_puts(b, ",\"model_version\":");
		st_json_cstr(b, g[i].model->version[0] ? g[i].model->version : NULL);
		st_buf_puts(b, ",\"since\":");
		jtime(b, g[i].since_ns);
		st_buf_puts(b, ",\"processes\":");
		st_json_uint(b, g[i].nprocs);
		st_buf_putc(b, '}');
	}
	st_buf_puts(b, "]}\n");
}

/* ---- HTML ---- */

static const char *const palette[] = {
	"#3366cc", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477",
	"#66aa00", "#b82e2e", "#316395", "#994499", "#22aa99", "#aaaa11", "#888888",
};

static void hesc(struct st_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': st_buf_puts(b, "&lt;"); break;
		case '>': st_buf_puts(b, "&gt;"); break;
		case '&': st_buf_puts(b, "&amp;"); break;
		case '"': st_buf_puts(b, "&quot;"); break;
		default: st_buf_putc(b, *s);
		}
	}
}

static void hprintf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hprintf(struct st_buf *b, const char *fmt, ...)
{
	char t[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	st_buf_puts(b, t);
}

/* A figure the test compares with --json: data-k names its JSON path. */
static void hu(struct st_buf *b, const char *key, uint64_t v)
{
	hprintf(b, "<td class=\"n\" data-k=\"%s\">%" PRIu64 "</td>", key, v);
}

static void hpct(struct st_buf *b, const char *key, double v)
{
	hprintf(b, "<td class=\"n\" data-k=\"%s\" data-v=\"%.6f\">%.4f %%</td>", key, v, v * 100);
}

/* Indices of the names in use: 0..n-1, then OTHER when anything went there. */
static size_t used_names(const struct names *n, const struct rep *r, bool cls, size_t *idx)
{
	size_t i, k = 0;
	uint64_t day, other = 0;

	for (i = 0; i < n->n; i++)
		idx[k++] = i;
	for (day = r->first_day; r->any_day && day <= r->last_day; day++)
		other += cls ? r->days[day - r->base_day].by_class[OTHER] :
			       r->days[day - r->base_day].by_version[OTHER];
	if (other)
		idx[k++] = OTHER;
	return k;
}

typedef uint64_t (*day_val_fn)(const struct day *d, size_t k);

static uint64_t v_class(const struct day *d, size_t k) { return d->by_class[k]; }
static uint64_t v_version(const struct day *d, size_t k) { return d->by_version[k]; }
static uint64_t v_cov(const struct day *d, size_t k) { return k ? d->lost : d->decisions; }
static uint64_t v_risk(const struct day *d, size_t k) { (void)k; return d->risk; }

static void svg_axis_label(struct st_buf *b, double x, double y, const char *anchor,
			   const char *text)
{
	hprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"ax\">", x, y, anchor);
	hesc(b, text);
	st_buf_puts(b, "</text>");
}

/* Stacked bars per day; series k of n, labelled, coloured from the palette. */
static const char *series_color(const char *const *colors, const size_t *idx, size_t k)
{
	if (colors)
		return colors[k];
	return palette[idx[k] == OTHER ? 12 : idx[k] % 12];
}

static void svg_days(struct st_buf *b, const struct rep *r, const char *title,
		     const size_t *idx, const char *const *labels, size_t n, day_val_fn val,
		     const char *const *colors)
{
	const double W = 960, H = 240, L = 64, R = 16, T = 12, B = 34;
	uint64_t ndays = r->any_day ? r->last_day - r->first_day + 1 : 0, day, max = 0, sum;
	double bw, x, y, h;
	char t[64], date[11];
	size_t k;

	for (day = r->first_day; ndays && day <= r->last_day; day++) {
		for (sum = 0, k = 0; k < n; k++)
			sum += val(&r->days[day - r->base_day], idx[k]);
		if (sum > max)
			max = sum;
	}
	hprintf(b, "<figure><figcaption>%s</figcaption><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">", title, W, H);
	hprintf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"axis\"/>", L, H - B, W - R, H - B);
	hprintf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"axis\"/>", L, T, L, H - B);
	snprintf(t, sizeof(t), "%" PRIu64, max);
	svg_axis_label(b, L - 6, T + 10, "end", t);
	svg_axis_label(b, L - 6, H - B, "end", "0");
	if (!ndays || !max) {
		svg_axis_label(b, W / 2, H / 2, "middle", "no records in this period");
		st_buf_puts(b, "</svg></figure>");
		return;
	}
	bw = (W - L - R) / (double)ndays;
	if (bw > 48)
		bw = 48;	/* a few days: bars, not walls */
	for (day = r->first_day; day <= r->last_day; day++) {
		y = H - B;
		x = L + (double)(day - r->first_day) * bw;
		for (k = 0; k < n; k++) {
			uint64_t v = val(&r->days[day - r->base_day], idx[k]);

			if (!v)
				continue;
			h = (H - B - T) * (double)v / (double)max;
			if (h < 1)
				h = 1;	/* a loss of one call still shows */
			y -= h;
			day_date(r, day, date);
			hprintf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>%s %s: %" PRIu64 "</title></rect>",
				x + bw * 0.08, y, bw * 0.84 > 0.5 ? bw * 0.84 : 0.5, h,
				series_color(colors, idx, k), date, labels[k], v);
		}
	}
	day_date(r, r->first_day, date);
	svg_axis_label(b, L, H - B + 16, "start", date);
	if (ndays > 1) {
		day_date(r, r->last_day, date);
		svg_axis_label(b, L + (double)ndays * bw, H - B + 16, "end", date);
	}
	st_buf_puts(b, "</svg><div class=\"legend\">");
	for (k = 0; k < n; k++) {
		hprintf(b, "<span><i style=\"background:%s\"></i>", series_color(colors, idx, k));
		hesc(b, labels[k]);
		st_buf_puts(b, "</span>");
	}
	st_buf_puts(b, "</div></figure>");
}

static void svg_hist(struct st_buf *b, const struct rep *r, size_t v)
{
	const double W = 460, H = 200, L = 56, R = 10, T = 10, B = 30;
	uint64_t max = 0;
	double bw = (W - L - R) / HIST_BINS, h;
	char t[64];
	size_t k;

	for (k = 0; k < HIST_BINS; k++)
		if (r->hist[v][k] > max)
			max = r->hist[v][k];
	st_buf_puts(b, "<figure class=\"half\"><figcaption>");
	hesc(b, r->score_field);
	st_buf_puts(b, ", model version ");
	hesc(b, v == OTHER ? "other" : r->versions.v[v]);
	hprintf(b, " (n = %" PRIu64 ")</figcaption><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\">", r->hist_n[v], W, H);
	hprintf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"axis\"/>", L, H - B, W - R, H - B);
	snprintf(t, sizeof(t), "%" PRIu64, max);
	svg_axis_label(b, L - 6, T + 10, "end", t);
	for (k = 0; k < HIST_BINS && max; k++) {
		h = (H - B - T) * (double)r->hist[v][k] / (double)max;
		hprintf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" data-k=\"hist.%zu.%zu\" data-n=\"%" PRIu64 "\"><title>[%.2f, %.2f): %" PRIu64 "</title></rect>",
			L + (double)k * bw + 1, H - B - h, bw - 2, h, palette[v == OTHER ? 12 : v % 12],
			v, k, r->hist[v][k], (double)k / HIST_BINS, (double)(k + 1) / HIST_BINS,
			r->hist[v][k]);
	}
	svg_axis_label(b, L, H - B + 16, "start", "0");
	svg_axis_label(b, W - R, H - B + 16, "end", "1");
	st_buf_puts(b, "</svg></figure>");
}

static void html_check(struct st_buf *b, const char *name, const struct stream_check *c)
{
	hprintf(b, "<tr><th>%s</th><td class=\"%s\" data-k=\"verification.%s.result\">%s</td>", name,
		c->rc ? "bad" : "ok", name, c->rc == 0 ? "intact" : c->rc > 0 ? "FAIL" : "error");
	hprintf(b, "<td class=\"n\" data-k=\"verification.%s.records\">%" PRIu64 "</td>", name, c->records);
	if (c->have_ckpt)
		hprintf(b, "<td class=\"n\">%" PRIu64 "</td>", c->signed_size);
	else
		st_buf_puts(b, "<td>none</td>");
	hprintf(b, "<td>%s</td><td class=\"n\" data-k=\"verification.%s.witness_cosignatures\">%u</td><td>",
		c->sig_checked ? "checked" : "not checked (no --pubkey)", name,
		c->signatures > 1 ? c->signatures - 1 : 0);
	if (c->rc)
		hesc(b, c->err);
	st_buf_puts(b, "</td></tr>");
}

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;padding:0 16px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dce6;padding-bottom:4px}"
	".sub{color:#5b6475}table{border-collapse:collapse;margin:6px 0;font-size:13px}"
	"th,td{padding:4px 10px;border-bottom:1px solid #eceef3;text-align:left;vertical-align:top}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#0a7a32;font-weight:600}"
	".bad{color:#b3261e;font-weight:600}.banner{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}"
	".banner.ok{background:#e6f4ea}.banner.bad{background:#fce8e6}"
	"figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;background:#fafbfd;border:1px solid #eceef3}"
	".half{display:inline-block;width:48%;margin-right:1%;vertical-align:top}"
	".axis{stroke:#8a93a6;stroke-width:1}.ax{font-size:11px;fill:#5b6475}"
	".legend span{display:inline-block;margin:2px 12px 2px 0;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}"
	"code{font-size:12px;word-break:break-all}details summary{cursor:pointer;font-weight:600}";

static void html_totals(struct st_buf *b, const struct rep *r)
{
	st_buf_puts(b, "<h2>Completeness and activity</h2><table><tbody>");
	st_buf_puts(b, "<tr><th>decisions recorded</th>");
	hu(b, "totals.decisions", r->decisions);
	st_buf_puts(b, "</tr><tr><th>of which incomplete (no return)</th>");
	hu(b, "totals.incomplete", r->incomplete);
	st_buf_puts(b, "</tr><tr><th>calls lost (loss records)</th>");
	hu(b, "totals.lost_calls", r->lost);
	st_buf_puts(b, "</tr><tr><th>loss records</th>");
	hu(b, "totals.loss_records", r->loss_records);
	st_buf_puts(b, "</tr><tr><th>coverage (recorded / (recorded + lost))</th>");
	hpct(b, "totals.coverage", ratio(r->decisions, r->decisions + r->lost));
	st_buf_puts(b, "</tr><tr><th>agent starts / recoveries</th>");
	hprintf(b, "<td class=\"n\"><span data-k=\"totals.agent_starts\">%" PRIu64 "</span> / <span data-k=\"totals.recoveries\">%" PRIu64 "</span></td>",
		r->agent_starts, r->recoveries);
	st_buf_puts(b, "</tr><tr><th>decisions with decision fields</th>");
	hu(b, "totals.decisions_with_fields", r->with_fields);
	st_buf_puts(b, "</tr></tbody></table>");
}

static void html_oversight(struct st_buf *b, const struct rep *r)
{
	size_t i;

	st_buf_puts(b, "<h2>Risk events (Art. 72)</h2><table><thead><tr><th>rule</th><th>severity</th><th>events</th></tr></thead><tbody>");
	for (i = 0; i < r->nrules; i++) {
		char k[96];

		st_buf_puts(b, "<tr><td>");
		hesc(b, r->rules[i].name);
		st_buf_puts(b, "</td><td>");
		hesc(b, r->rules[i].severity);
		st_buf_puts(b, "</td>");
		snprintf(k, sizeof(k), "risk_rules.%zu.count", i);
		hu(b, k, r->rules[i].n);
		st_buf_puts(b, "</tr>");
	}
	if (!r->nrules)
		st_buf_puts(b, "<tr><td colspan=\"3\">no risk events in this period</td></tr>");
	st_buf_puts(b, "<tr><th colspan=\"2\">all rules</th>");
	hu(b, "totals.risk_events", r->risk);
	st_buf_puts(b, "</tr></tbody></table>");
	st_buf_puts(b, "<h2>Human oversight (Art. 14)</h2><table><tbody><tr><th>oversight records</th>");
	hu(b, "totals.oversight", r->oversight);
	st_buf_puts(b, "</tr><tr><th>overrides applied</th>");
	hu(b, "totals.overrides", r->overrides);
	st_buf_puts(b, "</tr><tr><th>oversight rate (records / decisions)</th>");
	hpct(b, "totals.oversight_rate", r->decisions ? ratio(r->oversight, r->decisions) : 0);
	st_buf_puts(b, "</tr><tr><th>override rate (overrides / oversight records)</th>");
	hpct(b, "totals.override_rate", r->oversight ? ratio(r->overrides, r->oversight) : 0);
	st_buf_puts(b, "</tr></tbody></table>");
}

static void html_models(struct st_buf *b, struct rep *r)
{
	static struct st_inv_group g[64];
	char t1[ST_TIME_LEN + 1], t2[ST_TIME_LEN + 1];
	size_t i, ng;

	st_buf_puts(b, "<h2>Model versions in production</h2><table><thead><tr><th>version</th><th>artifact (SHA-256)</th><th>first loaded</th><th>last loaded</th><th>loads</th></tr></thead><tbody>");
	for (i = 0; i < r->nmodels; i++) {
		char k[64];

		st_time_format(r->models[i].first, t1);
		st_time_format(r->models[i].last, t2);
		st_buf_puts(b, "<tr><td>");
		hesc(b, r->models[i].version[0] ? r->models[i].version : "(unnamed)");
		st_buf_puts(b, "</td><td><code>");
		hesc(b, r->models[i].artifact);
		hprintf(b, "</code></td><td>%s</td><td>%s</td>", t1, t2);
		snprintf(k, sizeof(k), "models_loaded.%zu.loads", i);
		hu(b, k, r->models[i].loads);
		st_buf_puts(b, "</tr>");
	}
	if (!r->nmodels)
		st_buf_puts(b, "<tr><td colspan=\"5\">no model_loaded records in this period</td></tr>");
	st_buf_puts(b, "</tbody></table><p>Serving at the end of the period:</p><ul>");
	ng = st_inventory_groups(&r->inv, g, 64);
	for (i = 0; i < ng; i++) {
		st_time_format(g[i].since_ns, t1);
		st_buf_puts(b, "<li>");
		hesc(b, g[i].model->version[0] ? g[i].model->version : "(unnamed)");
		st_buf_puts(b, " <code>");
		hesc(b, g[i].model->artifact);
		hprintf(b, "</code> since %s, %zu process%s</li>", t1, g[i].nprocs,
			g[i].nprocs == 1 ? "" : "es");
	}
	if (!ng)
		st_buf_puts(b, "<li>none recorded</li>");
	st_buf_puts(b, "</ul>");
}

static void html_days_table(struct st_buf *b, const struct rep *r)
{
	uint64_t day;
	size_t i = 0;
	char date[11], k[64];

	st_buf_puts(b, "<details><summary>Daily figures</summary><table><thead><tr><th>date</th><th>decisions</th><th>lost</th><th>coverage</th><th>risk</th><th>oversight</th><th>overrides</th></tr></thead><tbody>");
	for (day = r->first_day; r->any_day && day <= r->last_day; day++, i++) {
		const struct day *d = &r->days[day - r->base_day];

		day_date(r, day, date);
		hprintf(b, "<tr><td data-k=\"days.%zu.date\">%s</td>", i, date);
		snprintf(k, sizeof(k), "days.%zu.decisions", i);
		hu(b, k, d->decisions);
		snprintf(k, sizeof(k), "days.%zu.lost_calls", i);
		hu(b, k, d->lost);
		snprintf(k, sizeof(k), "days.%zu.coverage", i);
		hpct(b, k, ratio(d->decisions, d->decisions + d->lost));
		snprintf(k, sizeof(k), "days.%zu.risk_events", i);
		hu(b, k, d->risk);
		snprintf(k, sizeof(k), "days.%zu.oversight", i);
		hu(b, k, d->oversight);
		snprintf(k, sizeof(k), "days.%zu.overrides", i);
		hu(b, k, d->overrides);
		st_buf_puts(b, "</tr>");
	}
	st_buf_puts(b, "</tbody></table></details>");
}

static void build_html(struct rep *r, struct st_buf *b)
{
	size_t idx[MAX_NAMES + 1], cov_idx[2] = { 0, 1 }, n, i;
	const char *labels[MAX_NAMES + 1], *cov_labels[2] = { "recorded", "lost" };
	const char *risk_label[1] = { "risk events" };
	const char *const cov_colors[2] = { "#3366cc", "#d93025" }, *const risk_colors[1] = { "#e8710a" };
	char from[ST_TIME_LEN + 1] = "start", to[ST_TIME_LEN + 1] = "end", now[ST_TIME_LEN + 1];
	bool ok = !r->chk[0].rc && !r->chk[1].rc;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	st_time_format((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, now);
	if (r->from)
		st_time_format(r->from, from);
	if (r->to != UINT64_MAX)
		st_time_format(r->to, to);
	st_buf_puts(b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sealtrace report: ");
	hesc(b, r->system_id);
	st_buf_puts(b, "</title><style>");
	st_buf_puts(b, css);
	st_buf_puts(b, "</style></head><body><h1>Record-keeping report: ");
	hesc(b, r->system_id[0] ? r->system_id : "(no records)");
	st_buf_puts(b, "</h1><div class=\"sub\">node ");
	hesc(b, r->node_id);
	hprintf(b, " &middot; period %s to %s &middot; generated %s by sealtrace</div>", from, to, now);
	hprintf(b, "<div class=\"banner %s\" data-k=\"verification.ok\">%s</div>", ok ? "ok" : "bad",
		ok ? "The log verifies: canonical records, hash chain, Merkle tree and signed checkpoints agree." :
		     "The log does NOT verify: see the verification table.");
	html_totals(b, r);
	svg_days(b, r, "Coverage and losses per day (recorded decisions, lost calls)", cov_idx,
		 cov_labels, 2, v_cov, cov_colors);
	n = used_names(&r->versions, r, false, idx);
	for (i = 0; i < n; i++)
		labels[i] = idx[i] == OTHER ? "other" : r->versions.v[idx[i]];
	st_buf_puts(b, "<h2>Decisions per day</h2>");
	svg_days(b, r, "By model version", idx, labels, n, v_version, NULL);
	n = used_names(&r->classes, r, true, idx);
	for (i = 0; i < n; i++)
		labels[i] = idx[i] == OTHER ? "other" : r->classes.v[idx[i]];
	svg_days(b, r, "By decision class", idx, labels, n, v_class, NULL);
	st_buf_puts(b, "<h2>Score distribution per model version</h2>");
	for (i = 0, n = 0; i <= MAX_NAMES; i++)
		if (r->hist_n[i]) {
			svg_hist(b, r, i);
			n++;
		}
	if (!n)
		st_buf_puts(b, "<p>No decision carries a numeric score field in [0, 1] in this period.</p>");
	html_oversight(b, r);
	svg_days(b, r, "Risk events per day", cov_idx, risk_label, 1, v_risk, risk_colors);
	html_models(b, r);
	st_buf_puts(b, "<h2>Verification, checkpoints and witnesses</h2><table><thead><tr><th>stream</th><th>result</th><th>records</th><th>signed tree size</th><th>signature</th><th>witness cosignatures</th><th>problem</th></tr></thead><tbody>");
	html_check(b, "decision", &r->chk[ST_STREAM_DECISION]);
	html_check(b, "system", &r->chk[ST_STREAM_SYSTEM]);
	st_buf_puts(b, "</tbody></table>");
	html_days_table(b, r);
	st_buf_puts(b, "</body></html>\n");
}

/* ---- the verb ---- */

static int write_file(const char *path, const struct st_buf *b)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f) {
		fprintf(stderr, "sealtrace report: %s: %m\n", path);
		return -1;
	}
	ok = fwrite(b->p, 1, b->len, f) == b->len;
	ok = !fflush(f) && !fsync(fileno(f)) && ok;
	if (fclose(f) || !ok) {
		fprintf(stderr, "sealtrace report: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

/* ---- both streams at once ---- */

struct first_ts {
	uint64_t ts;
};

static int first_event(void *ctx, const char *line, size_t len)
{
	struct first_ts *f = ctx;
	char type[32];
	uint64_t ts;

	/* checkpoints carry the time they were signed, not an event's */
	if (st_line_head(line, len, type, sizeof(type), &ts) || !strcmp(type, "checkpoint"))
		return 0;
	f->ts = ts;
	return 2;	/* found: stop */
}

/* The day of a stream's first event record; 0 when there is none. */
static uint64_t first_day_of(const char *dir, enum st_stream s)
{
	struct st_seg_list l = { 0 };
	struct first_ts f = { 0 };
	char d[4200], err[256];
	uint64_t seq = 0;
	size_t k;

	snprintf(d, sizeof(d), "%s/%s", dir, st_stream_name(s));
	if (st_seg_list(d, &l, err, sizeof(err)))
		return 0;
	for (k = 0; k < l.n && !f.ts; k++)
		if (st_lines_segment(dir, s, l.first[k], first_event, &f, &seq, err, sizeof(err)) < 0)
			break;
	st_seg_list_free(&l);
	return f.ts / DAY_NS;
}

static void *system_thread(void *arg)
{
	check_stream(arg, ST_STREAM_SYSTEM);
	return NULL;
}

/* What the system scan (s) counted, into the decision scan's figures (d). */
static void merge_system(struct rep *d, struct rep *s)
{
	uint64_t day;

	for (day = s->first_day; s->any_day && day <= s->last_day; day++) {
		struct day *a = &d->days[day - d->base_day];
		const struct day *b = &s->days[day - s->base_day];

		a->lost += b->lost;
		a->loss_records += b->loss_records;
		a->risk += b->risk;
		a->oversight += b->oversight;
		a->overrides += b->overrides;
	}
	if (s->any_day && (!d->any_day || s->first_day < d->first_day))
		d->first_day = s->first_day;
	if (s->any_day && (!d->any_day || s->last_day > d->last_day))
		d->last_day = s->last_day;
	d->any_day = d->any_day || s->any_day;
	d->outside_days += s->outside_days;
	d->lost = s->lost;
	d->loss_records = s->loss_records;
	d->risk = s->risk;
	d->oversight = s->oversight;
	d->overrides = s->overrides;
	d->agent_starts = s->agent_starts;
	d->recoveries = s->recoveries;
	memcpy(d->rules, s->rules, sizeof(d->rules));
	d->nrules = s->nrules;
	memcpy(d->models, s->models, sizeof(d->models));
	d->nmodels = s->nmodels;
	d->inv = s->inv;
	memset(&s->inv, 0, sizeof(s->inv));	/* moved */
	d->chk[ST_STREAM_SYSTEM] = s->chk[ST_STREAM_SYSTEM];
	if (!d->system_id[0]) {
		memcpy(d->system_id, s->system_id, sizeof(d->system_id));
		memcpy(d->node_id, s->node_id, sizeof(d->node_id));
	}
}

/*
 * Both streams are verified and counted at the same time, each in its own
 * thread with its own figures, counted per day from the same first day,
 * then merged: a report costs about the larger of the two scans.
 */
static int scan_both(struct rep *r)
{
	static struct rep sys;
	pthread_t t;
	int err;

	r->base_day = r->from ? r->from / DAY_NS : first_day_of(r->dir, ST_STREAM_DECISION);
	if (!r->from && !r->base_day)
		r->base_day = first_day_of(r->dir, ST_STREAM_SYSTEM);
	r->base_known = true;
	sys = *r;
	sys.tty = false;		/* one progress bar: the decision scan's */
	sys.days = calloc(MAX_DAYS, sizeof(*sys.days));
	if (!sys.days)
		return -1;
	st_inventory_init(&sys.inv, r->inv.at_ns);
	err = pthread_create(&t, NULL, system_thread, &sys);
	if (err)
		check_stream(&sys, ST_STREAM_SYSTEM);	/* no thread: one after the other */
	check_stream(r, ST_STREAM_DECISION);
	if (!err)
		pthread_join(t, NULL);
	st_inventory_settle(&sys.inv);
	st_inventory_free(&r->inv);
	merge_system(r, &sys);
	r->scanned += sys.scanned;
	free(sys.days);
	return 0;
}

static int run_report(struct rep *r, const char *out, bool json)
{
	struct st_buf b = { 0 };
	int rc = ST_EXIT_OK;

	r->days = calloc(MAX_DAYS, sizeof(*r->days));
	if (!r->days) {
		fprintf(stderr, "sealtrace report: out of memory\n");
		return ST_EXIT_RUNTIME;
	}
	st_inventory_init(&r->inv, r->to == UINT64_MAX ? UINT64_MAX : r->to - 1);
	r->tty = isatty(STDERR_FILENO);
	r->last_pct = -1;
	if (r->tty)
		r->total_bytes = stream_bytes(r->dir, ST_STREAM_DECISION);
	if (scan_both(r)) {
		fprintf(stderr, "sealtrace report: out of memory\n");
		free(r->days);
		st_inventory_free(&r->inv);
		return ST_EXIT_RUNTIME;
	}
	if (r->tty)
		fprintf(stderr, "\rreport: [########################################] 100%%  %" PRIu64 " records\n",
			r->scanned);
	if (r->chk[0].rc < 0 || r->chk[1].rc < 0) {
		fprintf(stderr, "sealtrace report: %s\n", r->chk[0].rc < 0 ? r->chk[0].err : r->chk[1].err);
		rc = ST_EXIT_RUNTIME;
		goto done;
	}
	if (out) {
		build_html(r, &b);
		if (b.oom || write_file(out, &b)) {
			rc = ST_EXIT_RUNTIME;
			goto done;
		}
		b.len = 0;
	}
	if (json) {
		build_json(r, &b);
		if (b.oom || fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout)) {
			rc = ST_EXIT_RUNTIME;
			goto done;
		}
	}
	if (r->chk[0].rc || r->chk[1].rc) {
		fprintf(stderr, "sealtrace report: the log does not verify: %s\n",
			r->chk[0].rc ? r->chk[0].err : r->chk[1].err);
		rc = ST_EXIT_FAIL;
	}
done:
	st_buf_free(&b);
	st_inventory_free(&r->inv);
	free(r->days);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		ST_OPT_PUBKEY,
		{ "score-field", required_argument, NULL, 's' },
		{ "class-field", required_argument, NULL, 'c' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "report", .opts = opts, .usage = usage };
	static struct rep r;
	const char *from = NULL, *to = NULL, *out = NULL, *pubkey = NULL;
	struct st_keyset keys = { 0 };
	struct stat sb;
	char err[512];
	bool json = false;
	int c, rc;

	memset(&r, 0, sizeof(r));
	r.score_field = "confidence_score";
	r.class_field = "output_class";
	r.to = UINT64_MAX;
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': r.dir = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'p': pubkey = optarg; break;
		case 's': r.score_field = optarg; break;
		case 'c': r.class_field = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!r.dir || (!out && !json))
		return st_cli_usage_error(&cli, "--state-dir DIR and --out FILE and/or --json are required");
	if ((from && st_time_parse(from, &r.from)) || (to && st_time_parse(to, &r.to))) {
		fprintf(stderr, "sealtrace report: TIME must be RFC 3339 (2025-01-02T03:04:05Z) or YYYY-MM-DD\n");
		return ST_EXIT_USAGE;
	}
	if (r.from >= r.to) {
		fprintf(stderr, "sealtrace report: --from must be before --to\n");
		return ST_EXIT_USAGE;
	}
	if (stat(r.dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "sealtrace report: %s: not a directory\n", r.dir);
		return ST_EXIT_USAGE;
	}
	if (pubkey && st_keyset_add_file(&keys, pubkey, err, sizeof(err)) < 0) {
		fprintf(stderr, "sealtrace report: %s\n", err);
		st_keyset_free(&keys);
		return ST_EXIT_USAGE;
	}
	r.keys = &keys;
	st_note_log_access(r.dir, "report", from || to ? "--from/--to" : "");
	rc = run_report(&r, out, json);
	st_keyset_free(&keys);
	return rc;
}
