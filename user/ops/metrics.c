// SPDX-License-Identifier: Apache-2.0
/*
 * Metrics: /metrics (Prometheus text) and /healthz over HTTP, served by
 * libmicrohttpd's own polling thread from the last published snapshot.
 *
 * We bind the listening socket ourselves and hand it to libmicrohttpd so
 * that a busy port or a bad address is reported with its errno, and so a
 * test can listen on port 0 and ask which port it got.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/ops/metrics.h"

struct st_metrics {
	struct MHD_Daemon *daemon;
	int port;
	pthread_mutex_t lock;		/* guards snap and have */
	bool have;
	struct st_status snap;
	char *extra;			/* st_metrics_publish_text, guarded too */
	size_t extra_len;
};

/* ------------------------------------------------------------------ */
/* HOST:PORT                                                           */
/* ------------------------------------------------------------------ */

/* Split "HOST:PORT" or "[V6]:PORT" into host and port. */
static int split_listen(const char *listen_addr, char *host, size_t hostlen,
			unsigned int *port, char *err, size_t errlen)
{
	const char *colon, *hs = listen_addr, *he;
	char *end;
	unsigned long v;

	if (listen_addr[0] == '[') {
		hs = listen_addr + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':') {
			snprintf(err, errlen, "listen '%s': expected [IPV6]:PORT", listen_addr);
			return -1;
		}
		colon = he + 1;
	} else {
		colon = strrchr(listen_addr, ':');
		if (!colon || memchr(listen_addr, ':', (size_t)(colon - listen_addr))) {
			snprintf(err, errlen, "listen '%s': expected HOST:PORT "
				 "(IPv6 addresses in brackets: [::1]:9464)", listen_addr);
			return -1;
		}
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= hostlen) {
		snprintf(err, errlen, "listen '%s': %s host", listen_addr,
			 he == hs ? "empty" : "overlong");
		return -1;
	}
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || v > 65535) {
		snprintf(err, errlen, "listen '%s': port must be 0..65535", listen_addr);
		return -1;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (unsigned int)v;
	return 0;
}

static int resolve_listen(const char *listen_addr, struct sockaddr_storage *ss,
			  socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256], portstr[8];
	unsigned int port;
	int rc;

	if (split_listen(listen_addr, host, sizeof(host), &port, err, errlen))
		return -1;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "listen '%s': %s", listen_addr, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int open_listener(const char *listen_addr, int *family, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, one = 1;

	if (resolve_listen(listen_addr, &ss, &sslen, err, errlen))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen '%s': socket: %s", listen_addr, strerror(errno));
		return -1;
	}
	/* A restarted agent must rebind while old connections sit in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 64)) {
		snprintf(err, errlen, "listen '%s': %s", listen_addr, strerror(errno));
		close(fd);
		return -1;
	}
	*family = ss.ss_family;
	return fd;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */


/* Queue a malloc'd body; ownership passes to libmicrohttpd (or is freed). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     const char *ctype, char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static const char text_plain[] = "text/plain; charset=utf-8";
static const char prom_type[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int code,
				  const char *text)
{
	return reply(c, code, text_plain, strdup(text));
}

static enum MHD_Result serve_metrics(struct st_metrics *m, struct MHD_Connection *c)
{
	char *body = NULL;
	bool have;

	pthread_mutex_lock(&m->lock);
	have = m->have;
	if (have)
		body = st_status_to_prometheus(&m->snap);
	if (body && m->extra_len) {
		size_t len = strlen(body);
		char *grown = realloc(body, len + m->extra_len + 1);

		if (grown) {
			memcpy(grown + len, m->extra, m->extra_len);
			grown[len + m->extra_len] = '\0';
		} else {
			free(body);
		}
		body = grown;
	}
	pthread_mutex_unlock(&m->lock);
	if (!have)
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no status snapshot published yet\n");
	if (!body)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, prom_type, body);
}

static enum MHD_Result serve_healthz(struct st_metrics *m, struct MHD_Connection *c)
{
	char why[400], *body;
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = st_status_health(m->have ? &m->snap : NULL, st_realtime_ns(), why, sizeof(why));
	pthread_mutex_unlock(&m->lock);
	if (asprintf(&body, "%s\n", why) < 0)
		return MHD_NO;
	return reply(c, rc ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, text_plain, body);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct st_metrics *m = cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(m, c);
	if (!strcmp(url, "/healthz"))
		return serve_healthz(m, c);
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

int st_metrics_start(struct st_metrics **out, const char *listen_addr, char *err, size_t errlen)
{
	struct st_metrics *m;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	int fd, family = AF_INET;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics: out of memory");
		return -1;
	}
	fd = open_listener(listen_addr, &family, err, errlen);
	if (fd < 0) {
		free(m);
		return -1;
	}
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->port = bound_port(fd);
	pthread_mutex_init(&m->lock, NULL);
	m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				     MHD_OPTION_CONNECTION_LIMIT, 64u,
				     MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, errlen, "listen '%s': libmicrohttpd failed to start", listen_addr);
		close(fd);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return -1;
	}
	*out = m;
	return 0;
}

void st_metrics_publish(struct st_metrics *m, const struct st_status *s)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->snap = *s;
	if (m->snap.nprobes > ST_STATUS_MAX_PROBES)
		m->snap.nprobes = ST_STATUS_MAX_PROBES;
	m->have = true;
	pthread_mutex_unlock(&m->lock);
}

void st_metrics_publish_text(struct st_metrics *m, const char *text, size_t len)
{
	char *copy = NULL;

	if (!m)
		return;
	if (text && len) {
		copy = malloc(len);
		if (!copy)
			return;		/* the previous text stays: stale, not wrong */
		memcpy(copy, text, len);
	}
	pthread_mutex_lock(&m->lock);
	free(m->extra);
	m->extra = copy;
	m->extra_len = copy ? len : 0;
	pthread_mutex_unlock(&m->lock);
}

int st_metrics_port(const struct st_metrics *m)
{
	return m ? m->port : -1;
}

/* Joins the server thread (in-flight requests finish) and closes the socket. */
void st_metrics_stop(struct st_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m->extra);
	free(m);
}
