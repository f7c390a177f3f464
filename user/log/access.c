// SPDX-License-Identifier: Apache-2.0
/* Pending-access files: reads recorded while no agent runs (access.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/access.h"

#define MAGIC		"sealtrace-access v1"
#define SUFFIX		".pending"
#define FILE_MAX	4096

static bool privileged;

void st_access_set_privileged(bool on)
{
	privileged = on;
}

bool st_access_privileged(void)
{
	return privileged;
}

static int access_dir(char *out, size_t outlen, const char *state_dir)
{
	return (size_t)snprintf(out, outlen, "%s/" ST_ACCESS_DIR, state_dir) >= outlen ?
		-1 : 0;
}

int st_access_dir_ensure(const char *state_dir, char *err, size_t errlen)
{
	char dir[4200];
	struct stat st;

	if (access_dir(dir, sizeof(dir), state_dir))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	if (stat(state_dir, &st))
		return st_errf(err, errlen, "%s: %s", state_dir, strerror(errno));
	if (mkdir(dir, 02770) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	/* the reader group of the state dir may write here, nobody else */
	if (chown(dir, (uid_t)-1, st.st_gid) || chmod(dir, 02770))
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	return 0;
}

/* One line of free text: no newline or control byte can forge a field. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int st_access_pending_write(const char *state_dir, const struct st_access_note *n,
			    char *err, size_t errlen)
{
	char dir[4200], path[4400], buf[FILE_MAX], filter[ST_ACCESS_TEXT_MAX],
	     reason[ST_ACCESS_TEXT_MAX];
	int fd, len, dfd;

	if (access_dir(dir, sizeof(dir), state_dir))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	snprintf(filter, sizeof(filter), "%s", n->filter);
	snprintf(reason, sizeof(reason), "%s", n->reason);
	clean(filter);
	clean(reason);
	len = snprintf(buf, sizeof(buf), MAGIC "\nuid %" PRId64 "\ngid %" PRId64 "\npid %" PRId64
		       "\ntime_ns %" PRIu64 "\naction %s\noutcome %s\nfilter %s\nreason %s\n",
		       n->uid, n->gid, n->pid, n->time_ns, n->action, n->outcome, filter, reason);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return st_errf(err, errlen, "%s: access note too long", dir);
	snprintf(path, sizeof(path), "%s/%020" PRIu64 "-%" PRId64 SUFFIX, dir, n->time_ns, n->pid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (write(fd, buf, (size_t)len) != len || fsync(fd)) {
		st_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int field(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = text, *nl;

	for (; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (!strncmp(p, key, klen) && p[klen] == ' ') {
			size_t n = nl ? (size_t)(nl - p) - klen - 1 : strlen(p + klen + 1);

			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

static int parse_note(const char *text, struct st_access_note *n)
{
	char num[4][32];
	char *end;

	memset(n, 0, sizeof(*n));
	if (strncmp(text, MAGIC "\n", sizeof(MAGIC)) ||
	    field(text, "uid", num[0], sizeof(num[0])) ||
	    field(text, "gid", num[1], sizeof(num[1])) ||
	    field(text, "pid", num[2], sizeof(num[2])) ||
	    field(text, "time_ns", num[3], sizeof(num[3])) ||
	    field(text, "action", n->action, sizeof(n->action)) ||
	    field(text, "outcome", n->outcome, sizeof(n->outcome)) ||
	    field(text, "filter", n->filter, sizeof(n->filter)) ||
	    field(text, "reason", n->reason, sizeof(n->reason)))
		return -1;
	n->uid = strtoll(num[0], &end, 10);
	if (*end)
		return -1;
	n->gid = strtoll(num[1], &end, 10);
	if (*end)
		return -1;
	n->pid = strtoll(num[2], &end, 10);
	if (*end)
		return -1;
	n->time_ns = strtoull(num[3], &end, 10);
	return *end || !n->action[0] || !n->outcome[0] ? -1 : 0;
}

static int read_text(const char *path, char *buf, size_t cap)
{
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	r = read(fd, buf, cap - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_pending(const char *dir, size_t max, char ***names, size_t *n)
{
	struct dirent *de;
	size_t len;
	char **grown;
	DIR *d = opendir(dir);

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) && *n < max) {
		len = strlen(de->d_name);
		if (len <= strlen(SUFFIX) || strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX))
			continue;
		grown = realloc(*names, (*n + 1) * sizeof(*grown));
		if (!grown || !(grown[*n] = strdup(de->d_name))) {
			*names = grown ? grown : *names;
			closedir(d);
			return -1;
		}
		*names = grown;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
}

int st_access_pending_read(const char *state_dir, size_t max,
			   struct st_access_pending *out, char *err, size_t errlen)
{
	char dir[4200], path[4500], text[FILE_MAX];
	char **names;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	if (access_dir(dir, sizeof(dir), state_dir))
		return st_errf(err, errlen, "%s: path too long", state_dir);
	if (list_pending(dir, max, &names, &n))
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	out->name = calloc(n ? n : 1, sizeof(*out->name));
	out->note = calloc(n ? n : 1, sizeof(*out->note));
	if (!out->name || !out->note) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		st_access_pending_free(out);
		return st_errf(err, errlen, "%s: out of memory", dir);
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_text(path, text, sizeof(text)) ||
		    parse_note(text, &out->note[out->n])) {
			fprintf(stderr, "sealtrace: %s: not a pending-access note; left in place\n",
				path);
			free(names[i]);
			continue;
		}
		out->name[out->n++] = names[i];
	}
	free(names);
	return 0;
}

int st_access_pending_done(const char *state_dir, const struct st_access_pending *p,
			   char *err, size_t errlen)
{
	char path[4500];
	size_t i;
	int rc = 0;

	for (i = 0; i < p->n; i++) {
		snprintf(path, sizeof(path), "%s/" ST_ACCESS_DIR "/%s", state_dir, p->name[i]);
		if (unlink(path) && errno != ENOENT && !rc)
			rc = st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return rc;
}

void st_access_pending_free(struct st_access_pending *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->name[i]);
	free(p->name);
	free(p->note);
	memset(p, 0, sizeof(*p));
}
