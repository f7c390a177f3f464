// SPDX-License-Identifier: Apache-2.0
/* POST to a witness and read the answer (witness.h); libhttp-parser. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/witness.h"

#define RESP_MAX (64u << 10)

struct reply {
	struct st_buf *body;
	bool done;
};

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct reply *r = p->data;

	if (r->body->len + len > RESP_MAX)
		return 1;
	st_buf_put(r->body, at, len);
	return r->body->oom;
}

static int on_done(http_parser *p)
{
	((struct reply *)p->data)->done = true;
	return 0;
}

/* "http://host:port/path" -> parts; only plain http (see docs). */
static int split_url(const char *url, char *host, size_t hostlen, char *port,
		     size_t portlen, const char **path)
{
	const char *h, *colon, *slash;

	if (strncmp(url, "http://", 7))
		return -1;
	h = url + 7;
	slash = strchr(h, '/');
	*path = slash ? slash : "/";
	if (!slash)
		slash = h + strlen(h);
	colon = memchr(h, ':', (size_t)(slash - h));
	if (!colon)
		colon = slash;
	if (colon == h || (size_t)(colon - h) >= hostlen)
		return -1;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	if (colon == slash)
		snprintf(port, portlen, "80");
	else if ((size_t)(slash - colon - 1) >= portlen || slash == colon + 1)
		return -1;
	else {
		memcpy(port, colon + 1, (size_t)(slash - colon - 1));
		port[slash - colon - 1] = '\0';
	}
	return 0;
}

static int dial(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *a;
	int fd = -1, rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return st_errf(err, errlen, "witness %s:%s: %s", host, port, gai_strerror(rc));
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && !connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return st_errf(err, errlen, "witness %s:%s: %s", host, port, strerror(errno));
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_reply(int fd, unsigned timeout_ms, int *status,
		      struct st_buf *resp, char *err, size_t errlen)
{
	http_parser_settings s;
	struct reply r = { .body = resp };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	http_parser p;
	char buf[4096];
	ssize_t n;

	http_parser_settings_init(&s);
	s.on_body = on_body;
	s.on_message_complete = on_done;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &r;
	while (!r.done) {
		if (poll(&pfd, 1, (int)timeout_ms) <= 0)
			return st_errf(err, errlen, "witness: no answer within %u ms", timeout_ms);
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_errf(err, errlen, "witness: %s", strerror(errno));
		if (http_parser_execute(&p, &s, buf, (size_t)n) != (size_t)n ||
		    HTTP_PARSER_ERRNO(&p) != HPE_OK)
			return st_errf(err, errlen, "witness: bad HTTP answer (%s)",
				       http_errno_description(HTTP_PARSER_ERRNO(&p)));
		if (!n && !r.done)
			return st_errf(err, errlen, "witness: connection closed mid-answer");
	}
	*status = p.status_code;
	return 0;
}

int st_witness_post(const char *url, const char *body, size_t len,
		    unsigned timeout_ms, int *status, struct st_buf *resp,
		    char *err, size_t errlen)
{
	char host[256], port[16], head[1024];
	const char *path;
	int fd, rc, n;

	if (split_url(url, host, sizeof(host), port, sizeof(port), &path))
		return st_errf(err, errlen, "witness url '%s': expected http://host:port/add-checkpoint", url);
	fd = dial(host, port, err, errlen);
	if (fd < 0)
		return -1;
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n", path, host, port, len);
	resp->len = 0;
	if (n < 0 || (size_t)n >= sizeof(head) || send_all(fd, head, (size_t)n) ||
	    send_all(fd, body, len))
		rc = st_errf(err, errlen, "witness %s: sending: %s", url, strerror(errno));
	else
		rc = read_reply(fd, timeout_ms, status, resp, err, errlen);
	close(fd);
	return rc;
}
