// SPDX-License-Identifier: Apache-2.0
/* The shipper's half of the witness protocol (ship.h, witness.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/ship.h"
#include "sealtrace/fleet/witness.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/proof/addckpt.h"

#define WITNESS_TIMEOUT_MS 10000

static int cosigned_path(char *out, size_t outlen, const char *state_dir,
			 int stream, const char *suffix)
{
	int n = snprintf(out, outlen, "%s/%s/%s.cosigned%s", state_dir, ST_SHIPPED_DIR,
			 st_stream_name((enum st_stream)stream), suffix);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Size of the last cosigned head kept here; 0 when none. */
static uint64_t cosigned_size(const char *state_dir, int stream)
{
	char path[4200], note[ST_NOTE_MAX], why[512];
	struct st_ckpt ck;
	size_t len;

	if (cosigned_path(path, sizeof(path), state_dir, stream, "") ||
	    access(path, F_OK) ||
	    st_ckpt_read_file(path, note, sizeof(note), &len, why, sizeof(why)) ||
	    st_ckpt_parse_any(note, len, NULL, 0, &ck, NULL, why, sizeof(why)))
		return 0;
	return ck.size;
}

static int keep_cosigned(const char *state_dir, int stream, const char *note,
			 size_t len, const struct st_buf *line, char *err,
			 size_t errlen)
{
	char path[4200], tmp[4220];
	int fd, good;

	if (cosigned_path(path, sizeof(path), state_dir, stream, "") ||
	    cosigned_path(tmp, sizeof(tmp), state_dir, stream, ".tmp"))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", tmp, strerror(errno));
	good = write(fd, note, len) == (ssize_t)len &&
	       write(fd, line->p, line->len) == (ssize_t)line->len && !fsync(fd);
	if (close(fd) || !good || rename(tmp, path)) {
		unlink(tmp);
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return 0;
}

/* One POST from old. 0 with *status (and the size a 409 names). */
static int post(const struct st_ship_config *cfg, int stream, uint64_t old,
		const struct st_ckpt *ck, const char *note, size_t len,
		int *status, struct st_buf *resp, char *err, size_t errlen)
{
	uint8_t proof[ST_CONSISTENCY_MAX][ST_HASH_LEN];
	struct st_buf body = { 0 };
	size_t n = 0;
	int rc;

	if (old) {
		rc = st_consistency_of_log(cfg->state_dir, (enum st_stream)stream, old, ck,
					   proof, &n, err, errlen);
		if (rc)
			return rc;
	}
	st_addckpt_write(&body, old, (const uint8_t (*)[ST_HASH_LEN])proof, n, note, len);
	rc = body.oom ? st_errf(err, errlen, "out of memory") :
	     st_witness_post(cfg->witness_url, body.p, body.len, WITNESS_TIMEOUT_MS,
			     status, resp, err, errlen);
	st_buf_free(&body);
	return rc;
}

static void refused(struct st_ship_stats *st, const struct st_ckpt *ck,
		    const char *why)
{
	st->witness_refusals++;
	fprintf(stderr, "sealtrace ship: WITNESS REFUSED %s at size %" PRIu64 ": %s "
		"(alert SealtraceWitnessRefused; docs/operations.md)\n", ck->origin, ck->size, why);
}

int st_ship_witness(const struct st_ship_config *cfg, int stream,
		    const char *note, size_t len, struct st_ship_stats *st,
		    char *err, size_t errlen)
{
	struct st_buf resp = { 0 };
	struct st_ckpt ck;
	char why[1024];
	uint64_t old, named;
	int status = 0, rc, tries;

	if (st_ckpt_parse_any(note, len, NULL, 0, &ck, NULL, why, sizeof(why)))
		return 0;
	old = cosigned_size(cfg->state_dir, stream);
	if (old == ck.size)
		return 0;
	/* a cosigned head beyond the signed one: this log lost records */
	if (old > ck.size)
		old = 0;
	for (tries = 0; tries < 2; tries++) {
		rc = post(cfg, stream, old, &ck, note, len, &status, &resp, why, sizeof(why));
		if (rc > 0) {
			refused(st, &ck, why);
			break;
		}
		if (rc < 0) {
			st->witness_errors++;
			st_buf_free(&resp);
			return st_errf(err, errlen, "%s", why);
		}
		if (status != 409)
			break;
		named = strtoull(resp.p ? resp.p : "0", NULL, 10);
		if (named > ck.size || named == old) {
			snprintf(why, sizeof(why), "409: the witness has cosigned %" PRIu64
				 " records of this log, its signed head has %" PRIu64
				 " (truncated, rolled back or forked here)", named, ck.size);
			refused(st, &ck, why);
			status = 0;
			break;
		}
		old = named;	/* our copy was stale: prove from the witness's size */
	}
	if (status == 200) {
		if (keep_cosigned(cfg->state_dir, stream, note, len, &resp, why, sizeof(why)))
			fprintf(stderr, "sealtrace ship: %s\n", why);
		st->cosigned++;
	} else if (status == 422) {
		snprintf(why, sizeof(why), "422: %.*s", (int)(resp.len && resp.p[resp.len - 1] == '\n' ?
			 resp.len - 1 : resp.len), resp.p ? resp.p : "");
		refused(st, &ck, why);
	} else if (status && status != 409) {
		snprintf(why, sizeof(why), "HTTP %d: %.*s", status, (int)(resp.len > 200 ? 200 : resp.len),
			 resp.p ? resp.p : "");
		refused(st, &ck, why);
	}
	st_buf_free(&resp);
	return 0;
}

void st_ship_metrics(const struct st_ship_config *cfg,
		     const struct st_ship_stats *st)
{
	char path[4200], tmp[4220];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/metrics.prom", cfg->state_dir, ST_SHIPPED_DIR);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f,
		"# HELP sealtrace_ship_rows_total Records this shipper wrote to the database.\n"
		"# TYPE sealtrace_ship_rows_total counter\nsealtrace_ship_rows_total %" PRIu64 "\n"
		"# HELP sealtrace_ship_forks_total Records or heads refused as forks.\n"
		"# TYPE sealtrace_ship_forks_total counter\nsealtrace_ship_forks_total %" PRIu64 "\n"
		"# HELP sealtrace_witness_cosigned_total Heads the witness cosigned.\n"
		"# TYPE sealtrace_witness_cosigned_total counter\nsealtrace_witness_cosigned_total %" PRIu64 "\n"
		"# HELP sealtrace_witness_refusals_total Heads the witness refused (409 the node cannot answer, 422).\n"
		"# TYPE sealtrace_witness_refusals_total counter\nsealtrace_witness_refusals_total %" PRIu64 "\n"
		"# HELP sealtrace_witness_errors_total Witness not reachable.\n"
		"# TYPE sealtrace_witness_errors_total counter\nsealtrace_witness_errors_total %" PRIu64 "\n",
		st->rows, st->forks, st->cosigned, st->witness_refusals, st->witness_errors);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}
