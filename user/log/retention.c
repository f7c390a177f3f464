// SPDX-License-Identifier: Apache-2.0
/* Retention: frontiers, retention_purge records, legal holds (retention.h). */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/base/file.h"

#define HOLD_FILE_MAX	(64u << 10)

/* ---- legal hold ------------------------------------------------------- */

static int hold_time(const char *v, uint64_t *ns, char *why, size_t whylen)
{
	while (*v == ' ' || *v == '\t')
		v++;
	return st_time_parse_why(v, ns, why, whylen);
}

/* One line; *seen: bit 0 from, bit 1 to, bit 2 all. */
static int hold_line(char *line, unsigned lineno, struct st_hold *h,
		     unsigned *seen, char *why, size_t whylen)
{
	size_t n = strlen(line);
	char bad[160];

	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (!strcmp(line, "all")) {
		*seen |= 4;
		return 0;
	}
	if (!strncmp(line, "from:", 5)) {
		if (*seen & 1)
			return st_errf(why, whylen, "line %u: 'from:' given twice", lineno);
		if (hold_time(line + 5, &h->from_ns, bad, sizeof(bad)))
			return st_errf(why, whylen, "line %u: 'from:' is not an RFC 3339 time: %s",
				       lineno, bad);
		*seen |= 1;
	} else if (!strncmp(line, "to:", 3)) {
		if (*seen & 2)
			return st_errf(why, whylen, "line %u: 'to:' given twice", lineno);
		if (hold_time(line + 3, &h->to_ns, bad, sizeof(bad)))
			return st_errf(why, whylen, "line %u: 'to:' is not an RFC 3339 time: %s",
				       lineno, bad);
		*seen |= 2;
	}
	return 0;	/* anything else: the reason, free text */
}

int st_hold_parse(const char *text, size_t len, struct st_hold *out,
		  char *why, size_t whylen)
{
	unsigned seen = 0, lineno = 0;
	char *copy, *line, *save = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len))
		return st_errf(why, whylen, "not a text file (NUL byte)");
	copy = strndup(text, len);
	if (!copy)
		return st_errf(why, whylen, "out of memory");
	/* strtok_r would skip empty lines and miscount; split by hand */
	for (line = copy; line && !rc; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		rc = hold_line(line, ++lineno, out, &seen, why, whylen);
	}
	free(copy);
	if (rc)
		return -1;
	if (seen == 4) {
		out->from_ns = 0;
		out->to_ns = UINT64_MAX;
		return 0;
	}
	if (seen & 4)
		return st_errf(why, whylen, "'all' together with from:/to: (give one or the other)");
	if (seen != 3)
		return st_errf(why, whylen, "needs 'from: <RFC 3339>' and 'to: <RFC 3339>', or a line 'all'");
	if (out->from_ns > out->to_ns)
		return st_errf(why, whylen, "'from:' is after 'to:'");
	return 0;
}

static int read_small(const char *path, char **out, size_t *len, char *err,
		      size_t errlen)
{
	FILE *f = st_fopen_regular(path, err, errlen);
	size_t n;
	char *buf;

	if (!f)
		return -1;
	buf = malloc(HOLD_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return st_errf(err, errlen, "out of memory");
	}
	n = fread(buf, 1, HOLD_FILE_MAX + 1, f);
	if (ferror(f)) {
		st_errf(err, errlen, "%s: read error", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

static int load_hold(const char *path, struct st_holds *hs, char *err,
		     size_t errlen)
{
	struct st_hold h, *grown;
	char why[256], *text = NULL;
	size_t len = 0;
	struct stat st;

	if (stat(path, &st))
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode)) {
		st_errf(err, errlen, "%s: not a regular file (a hold is one file)", path);
		return 1;
	}
	if (read_small(path, &text, &len, err, errlen))
		return -1;
	if (len > HOLD_FILE_MAX) {
		free(text);
		st_errf(err, errlen, "%s: larger than %u bytes", path, HOLD_FILE_MAX);
		return 1;
	}
	if (st_hold_parse(text, len, &h, why, sizeof(why))) {
		free(text);
		st_errf(err, errlen, "%s: %s", path, why);
		return 1;
	}
	free(text);
	grown = realloc(hs->v, (hs->n + 1) * sizeof(*grown));
	if (!grown)
		return st_errf(err, errlen, "out of memory");
	hs->v = grown;
	hs->v[hs->n++] = h;
	return 0;
}

int st_holds_load(const char *state_dir, struct st_holds *out, char *err,
		  size_t errlen)
{
	char dir[4200], path[4500];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	snprintf(dir, sizeof(dir), "%s/" ST_LEGAL_HOLD_DIR, state_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	/* fail safe: every entry counts, hidden files too */
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = load_hold(path, out, err, errlen);
	}
	closedir(d);
	if (rc)
		st_holds_free(out);
	return rc;
}

void st_holds_free(struct st_holds *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

bool st_holds_cover(const struct st_holds *h, uint64_t min_ns, uint64_t max_ns)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].from_ns <= max_ns && min_ns <= h->v[i].to_ns)
			return true;
	return false;
}

/* ---- selection -------------------------------------------------------- */

enum st_purge_verdict st_purge_decide(const struct st_seg_info *seg,
				      bool is_newest,
				      const struct st_purge_ctx *c)
{
	uint64_t keep_ns;

	if (!c->days)
		return ST_KEEP_FOREVER;
	if (is_newest)
		return ST_KEEP_CURRENT;
	if (seg->last_seq >= c->signed_size)
		return ST_KEEP_UNSIGNED;
	keep_ns = c->days > UINT64_MAX / ST_DAY_NS ? UINT64_MAX : c->days * ST_DAY_NS;
	if (seg->max_ts > c->now_ns || c->now_ns - seg->max_ts < keep_ns)
		return ST_KEEP_YOUNG;
	if (c->holds && st_holds_cover(c->holds, seg->min_ts, seg->max_ts))
		return ST_KEEP_HELD;
	if (c->keep_seq >= seg->first_seq && c->keep_seq <= seg->last_seq)
		return ST_KEEP_ANCHOR;
	if (c->ship_required && seg->last_seq >= c->shipped_size)
		return ST_KEEP_UNSHIPPED;
	return ST_PURGE_OK;
}

const char *st_purge_verdict_name(enum st_purge_verdict v)
{
	static const char *const names[] = {
		[ST_PURGE_OK] = "purge",
		[ST_KEEP_FOREVER] = "kept forever (0 days)",
		[ST_KEEP_CURRENT] = "current segment",
		[ST_KEEP_UNSIGNED] = "not yet under a signed checkpoint",
		[ST_KEEP_YOUNG] = "within the retention period",
		[ST_KEEP_HELD] = "under legal hold",
		[ST_KEEP_ANCHOR] = "holds the retention_purge record the decision stream starts from",
		[ST_KEEP_UNSHIPPED] = "not yet shipped to the database",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

/* ---- the shipper's mark ------------------------------------------------ */

static int mark_path(char *out, size_t outlen, const char *state_dir,
		     int stream, const char *suffix)
{
	int n = snprintf(out, outlen, "%s/%s/%s%s", state_dir, ST_SHIPPED_DIR,
			 st_stream_name((enum st_stream)stream), suffix);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int st_ship_mark_read(const char *state_dir, int stream, bool *required,
		      uint64_t *size, char *err, size_t errlen)
{
	char path[4200], dir[4200], text[32], *end;
	struct stat sb;
	FILE *f;
	size_t n;
	int len;

	*required = false;
	*size = 0;
	len = snprintf(dir, sizeof(dir), "%s/%s", state_dir, ST_SHIPPED_DIR);
	if (len < 0 || (size_t)len >= sizeof(dir) ||
	    mark_path(path, sizeof(path), state_dir, stream, ""))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	if (stat(dir, &sb))
		return errno == ENOENT ? 0 : st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	*required = true;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : st_errf(err, errlen, "%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	errno = 0;
	*size = strtoull(text, &end, 10);
	if (!n || errno || (*end && strcmp(end, "\n")))
		return st_errf(err, errlen, "%s: not a record count", path);
	return 0;
}

int st_ship_mark_write(const char *state_dir, int stream, uint64_t size,
		       char *err, size_t errlen)
{
	char path[4200], tmp[4210], dir[4200], text[32];
	int fd, len, ok;

	if (mark_path(path, sizeof(path), state_dir, stream, "") ||
	    mark_path(tmp, sizeof(tmp), state_dir, stream, ".tmp"))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	len = snprintf(dir, sizeof(dir), "%s/%s", state_dir, ST_SHIPPED_DIR);
	if (len < 0 || (size_t)len >= sizeof(dir))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	len = snprintf(text, sizeof(text), "%" PRIu64 "\n", size);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", tmp, strerror(errno));
	ok = write(fd, text, (size_t)len) == len && !fsync(fd);
	if (close(fd) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return st_fsync_dir(dir, err, errlen);
}
