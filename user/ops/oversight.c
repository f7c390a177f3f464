// SPDX-License-Identifier: Apache-2.0
/* Oversight: human decisions over a local socket (see oversight.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/access.h"
#include "sealtrace/ops/oversight.h"

#define REQ_MAX 4096
#define REQ_DEADLINE_MS 100	/* one whole request, however it trickles in */

bool st_oversight_uuid_ok(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
			continue;
		}
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	}
	return true;
}

/* A string member that must fit buf; "" when absent and optional. */
static int get_str(const struct st_jv *root, const char *key, bool required, char *buf,
		   size_t len, char *err, size_t errlen)
{
	const struct st_jv *v = st_jv_get(root, key);

	buf[0] = '\0';
	if (!v)
		return required ? st_errf(err, errlen, "'%s' is required", key) : 0;
	if (v->t != ST_JSTR)
		return st_errf(err, errlen, "'%s' must be a string", key);
	if (v->slen >= len || strlen(v->s) != v->slen)
		return st_errf(err, errlen, "'%s' is longer than %zu bytes or holds NUL", key,
			       len - 1);
	memcpy(buf, v->s, v->slen + 1);
	return 0;
}

static const char *const access_actions[] = { "export", "prove", "lookup", NULL };

static int parse_access(const struct st_jv *root, struct st_oversight_req *req, char *err,
			size_t errlen)
{
	size_t i;

	req->kind = ST_REQ_LOG_ACCESS;
	if (get_str(root, "action", true, req->action, sizeof(req->action), err, errlen) ||
	    get_str(root, "filter", false, req->filter, sizeof(req->filter), err, errlen))
		return -1;
	for (i = 0; access_actions[i]; i++)
		if (!strcmp(req->action, access_actions[i]))
			return 0;
	return st_errf(err, errlen, "'action' must be export, prove or lookup: %s", req->action);
}

int st_oversight_parse(const char *line, size_t len, struct st_oversight_req *req,
		       char *err, size_t errlen)
{
	struct st_json_doc doc = { 0 };
	const struct st_jv *ov, *type;
	char why[256];
	size_t i;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (st_json_parse(line, len, &doc, why, sizeof(why)))
		return st_errf(err, errlen, "not JSON: %s", why);
	if (doc.root->t != ST_JOBJ) {
		st_errf(err, errlen, "the request must be a JSON object");
		goto out;
	}
	type = st_jv_get(doc.root, "type");
	if (type && (type->t != ST_JSTR ||
		     (strcmp(type->s, "oversight") && strcmp(type->s, "log_access")))) {
		st_errf(err, errlen, "'type' must be oversight or log_access");
		goto out;
	}
	if (type && !strcmp(type->s, "log_access")) {
		rc = parse_access(doc.root, req, err, errlen);
		goto out;
	}
	if (get_str(doc.root, "event_id", true, req->event_id, sizeof(req->event_id), err,
		    errlen) ||
	    get_str(doc.root, "actor", true, req->actor, sizeof(req->actor), err, errlen) ||
	    get_str(doc.root, "note", false, req->note, sizeof(req->note), err, errlen))
		goto out;
	if (!st_oversight_uuid_ok(req->event_id)) {
		st_errf(err, errlen, "'event_id' is not a UUID: %s", req->event_id);
		goto out;
	}
	/* the log writes event ids in lower case */
	for (i = 0; req->event_id[i]; i++)
		if (req->event_id[i] >= 'A' && req->event_id[i] <= 'F')
			req->event_id[i] = (char)(req->event_id[i] - 'A' + 'a');
	if (!req->actor[0]) {
		st_errf(err, errlen, "'actor' must not be empty: oversight is by a person");
		goto out;
	}
	ov = st_jv_get(doc.root, "override");
	if (!ov || ov->t != ST_JBOOL) {
		st_errf(err, errlen, "'override' must be true or false");
		goto out;
	}
	req->override = ov->b;
	rc = 0;
out:
	st_json_doc_free(&doc);
	return rc;
}

int st_oversight_format(const struct st_oversight_req *req, char *buf, size_t len)
{
	struct st_buf b = { 0 };
	int rc = -1;

	if (req->kind == ST_REQ_LOG_ACCESS) {
		st_buf_puts(&b, "{\"type\":\"log_access\",\"action\":");
		st_json_cstr(&b, req->action);
		st_buf_puts(&b, ",\"filter\":");
		st_json_cstr(&b, req->filter);
		st_buf_puts(&b, "}\n");
		goto done;
	}
	st_buf_puts(&b, "{\"event_id\":");
	st_json_cstr(&b, req->event_id);
	st_buf_puts(&b, ",\"override\":");
	st_json_bool(&b, req->override);
	st_buf_puts(&b, ",\"actor\":");
	st_json_cstr(&b, req->actor);
	st_buf_puts(&b, ",\"note\":");
	st_json_cstr(&b, req->note);
	st_buf_puts(&b, "}\n");
done:
	if (!b.oom && b.len < len) {
		memcpy(buf, b.p, b.len);
		buf[b.len] = '\0';
		rc = 0;
	}
	st_buf_free(&b);
	return rc;
}

static int sock_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return st_errf(err, errlen, "%s: socket path too long", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int st_oversight_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd;

	if (sock_addr(path, &sa, err, errlen))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return st_errf(err, errlen, "%s: socket: %s", path, strerror(errno));
	unlink(path);	/* a previous agent's socket */
	/* only root may submit: an oversight record speaks for a person */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		umask(old);
		st_errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	return fd;
}

/*
 * Read one request line into buf until a newline, EOF or the deadline.
 * The deadline covers the whole request: the agent serves this socket in
 * its main loop, and a client trickling one byte at a time must not hold
 * capture draining and heartbeats (a per-read timeout alone let 100 bytes
 * take 9 s). 1 when the deadline passed before a whole line came.
 */
static int read_request(int cfd, char *buf, size_t cap, size_t *n,
			uint64_t deadline)
{
	struct pollfd pfd = { .fd = cfd, .events = POLLIN };
	uint64_t now;
	ssize_t r;

	*n = 0;
	while (*n < cap - 1) {
		now = st_monotonic_ns();
		if (now >= deadline)
			return 1;
		r = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return 1;
		if (r < 0)
			return 0;
		r = read(cfd, buf + *n, cap - 1 - *n);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			return 0;
		*n += (size_t)r;
		if (memchr(buf, '\n', *n))
			return 0;
	}
	return 0;
}

/* One connection: read one line (REQ_DEADLINE_MS at most), answer, close. */
static void serve_one(int cfd, st_oversight_fn fn, void *ctx)
{
	char req_line[REQ_MAX], reply[512], err[256];
	struct st_oversight_req req;
	size_t n;

	if (read_request(cfd, req_line, sizeof(req_line), &n,
			 st_monotonic_ns() + REQ_DEADLINE_MS * 1000000ull)) {
		snprintf(reply, sizeof(reply),
			 "error: no whole request line within %d ms (%zu bytes came)\n",
			 REQ_DEADLINE_MS, n);
	} else if (st_oversight_parse(req_line, n, &req, err, sizeof(err))) {
		snprintf(reply, sizeof(reply), "error: %s\n", err);
	} else {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		/* who asked comes from the kernel, not from the request */
		req.peer_uid = req.peer_pid = -1;
		if (!getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
			req.peer_uid = (int)cred.uid;
			req.peer_pid = (int)cred.pid;
		}
		fn(ctx, &req, reply, sizeof(reply));
	}
	if (write(cfd, reply, strlen(reply)) < 0)
		fprintf(stderr, "sealtrace: oversight reply: %s\n", strerror(errno));
	close(cfd);
}

void st_oversight_serve(int lfd, st_oversight_fn fn, void *ctx)
{
	uint64_t start = st_monotonic_ns();
	int cfd;

	if (lfd < 0)
		return;
	/* the rest of a queue of clients waits for the next round */
	while (st_monotonic_ns() - start < REQ_DEADLINE_MS * 1000000ull &&
	       (cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		serve_one(cfd, fn, ctx);
}

int st_oversight_submit(const char *path, const struct st_oversight_req *req, char *reply,
			size_t replylen, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	char line[REQ_MAX];
	size_t n = 0;
	ssize_t r;
	int fd;

	if (sock_addr(path, &sa, err, errlen))
		return -1;
	if (st_oversight_format(req, line, sizeof(line)))
		return st_errf(err, errlen, "request too long");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return st_errf(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		st_errf(err, errlen, "%s: %s (is the agent running?)", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (n < replylen - 1 && (r = read(fd, reply + n, replylen - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	reply[n] = '\0';
	if (!n)
		return st_errf(err, errlen, "%s: the agent closed without answering", path);
	return 0;
}

/* No agent answered: a pending-access file for the next agent (access.h). */
static int note_pending(const char *state_dir, const char *action, const char *filter,
			char *err, size_t errlen)
{
	struct st_access_note n = {
		.uid = getuid(), .gid = getgid(), .pid = getpid(),
		.time_ns = st_realtime_ns(),
	};

	snprintf(n.action, sizeof(n.action), "%s", action);
	snprintf(n.outcome, sizeof(n.outcome), "granted");
	snprintf(n.filter, sizeof(n.filter), "%s", filter ? filter : "");
	if (!st_access_pending_write(state_dir, &n, err, errlen))
		return 0;
	/* a state dir no agent of this version has opened yet: make access/
	 * (only root can; the setgid reader cannot write the state dir) */
	if (st_access_dir_ensure(state_dir, err, errlen))
		return -1;
	return st_access_pending_write(state_dir, &n, err, errlen);
}

int st_note_log_access(const char *state_dir, const char *action, const char *filter)
{
	struct st_oversight_req req = { .kind = ST_REQ_LOG_ACCESS };
	char path[4200], reply[512] = "", err[512] = "", perr[4600] = "";

	snprintf(req.action, sizeof(req.action), "%s", action);
	snprintf(req.filter, sizeof(req.filter), "%s", filter ? filter : "");
	snprintf(path, sizeof(path), "%s/%s", state_dir, ST_OVERSIGHT_SOCK);
	if (!st_oversight_submit(path, &req, reply, sizeof(reply), err, sizeof(err)) &&
	    !strncmp(reply, "ok ", 3))
		return 0;
	if (!note_pending(state_dir, action, filter, perr, sizeof(perr)))
		return 0;	/* the log seals it at its next open or tick */
	fprintf(stderr, "sealtrace %s: %s this access: no agent recorded it (%s), and no pending-access note could be left (%s)\n",
		action, st_access_privileged() ? "refusing" : "note:",
		err[0] ? err : reply, perr);
	return st_access_privileged() ? -1 : 0;
}
