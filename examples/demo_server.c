// SPDX-License-Identifier: Apache-2.0
/*
 * demo_server: a tiny "model server" for the sealtrace demo.
 *
 * It knows nothing about sealtrace. POST /predict hands the request body
 * to predict(), a toy credit-scoring "model", and answers with its output;
 * sealtrace records every call of predict() from outside with a uprobe:
 *
 *   symbol: predict
 *   input:  {ptr: "%di", len: "%si"}
 *   output: {ptr: "%dx", len: "%ax", at: return}
 *
 *   demo_server [--port N] [--threads N]
 *
 * HTTP/1.1 on 127.0.0.1 only, keep-alive or Connection: close, bodies up
 * to 1 MiB (413 beyond). GET /health answers {"status":"ok","pid":N,
 * "served":N}. SIGTERM or SIGINT stops it after the requests in flight.
 */
#define _GNU_SOURCE	/* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY	(1u << 20)
#define MAX_HEADER	16384
#define MAX_OUTPUT	4096
#define MAX_THREADS	64
#define POLL_MS		250	/* how often blocked threads look at `stopping` */
#define IDLE_MS		10000	/* a silent connection is closed after this */

size_t predict(const char *input, size_t input_len, char *output,
	       size_t output_cap);

static volatile int stopping;
static unsigned long served;	/* predictions answered, atomic */
static int listen_fd = -1;

/* ---- the "model" ------------------------------------------------------ */

/*
 * The probed function. Non-static and noipa so it keeps its symbol and its
 * ABI (no clone, no inlining, no changed calling convention): the probe's
 * fetch-args name the SysV argument registers.
 *
 * A deterministic toy: a score in [0.05, 0.95] from FNV-1a of the input,
 * and a decision from the score. Writes at most output_cap bytes (NUL
 * included) and returns the length written without the NUL.
 */
__attribute__((noinline, noipa)) size_t
predict(const char *input, size_t input_len, char *output, size_t output_cap)
{
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned int pct;
	const char *decision;
	size_t k;
	int n;

	for (k = 0; k < input_len; k++) {
		h ^= (unsigned char)input[k];
		h *= 0x100000001b3ull;
	}
	pct = 5 + (unsigned int)(h % 91);
	decision = pct >= 60 ? "approve" : pct >= 40 ? "review" : "decline";
	if (!output_cap)
		return 0;
	n = snprintf(output, output_cap,
		     "{\"score\":0.%02u,\"decision\":\"%s\",\"model\":\"credit-demo-v1\"}",
		     pct, decision);
	if (n < 0)
		return 0;
	return (size_t)n < output_cap ? (size_t)n : output_cap - 1;
}

/* ---- socket I/O ------------------------------------------------------- */

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

/*
 * recv() that gives up when the server stops or the peer stays silent for
 * IDLE_MS; returns bytes read, 0 at EOF, -1 on error or give-up.
 */
static ssize_t recv_some(int fd, char *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int waited = 0, r;
	ssize_t got;

	for (;;) {
		if (stopping || waited >= IDLE_MS)
			return -1;
		r = poll(&pfd, 1, POLL_MS);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0) {
			waited += POLL_MS;
			continue;
		}
		got = recv(fd, p, n, 0);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got;
	}
}

static int respond(int fd, int status, const char *reason, const char *ctype,
		   const char *body, size_t len, int keep_alive)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: %s\r\n\r\n",
		     status, reason, ctype, len, keep_alive ? "keep-alive" : "close");
	if (send_all(fd, head, (size_t)n) || send_all(fd, body, len))
		return -1;
	return 0;
}

static int respond_error(int fd, int status, const char *reason)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", reason);

	/* After an error the framing of what follows is unknown: close. */
	respond(fd, status, reason, "application/json", body, (size_t)n, 0);
	return -1;
}

/* ---- HTTP request parsing -------------------------------------------- */

struct conn {
	int fd;
	char buf[MAX_HEADER];
	size_t len;	/* bytes in buf (header, then maybe body and more) */
};

struct request {
	char method[16];
	char target[256];
	int http11;
	int keep_alive;
	int has_length;
	unsigned long long length;
	int chunked;
	int expect_continue;
	size_t head_len;	/* header bytes in conn.buf, blank line included */
};

/* Reads until the blank line ending the header; 0 ok, -1 closed, 431 big. */
static int read_head(struct conn *c, size_t *head_len)
{
	char *end;
	ssize_t got;

	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end) {
			*head_len = (size_t)(end - c->buf) + 4;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return 431;
		got = recv_some(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
}

static int header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) || line[n] != ':')
		return 0;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	*value = line;
	return 1;
}

static void parse_header_line(struct request *r, const char *line)
{
	const char *v;
	char *end;

	if (header_is(line, "Content-Length", &v)) {
		errno = 0;
		r->length = strtoull(v, &end, 10);
		r->has_length = !errno && end != v && *v != '-';
		if (!r->has_length)
			r->chunked = 1;	/* unusable framing: refuse like chunked */
	} else if (header_is(line, "Connection", &v)) {
		if (!strncasecmp(v, "close", 5))
			r->keep_alive = 0;
		else if (!strncasecmp(v, "keep-alive", 10))
			r->keep_alive = 1;
	} else if (header_is(line, "Transfer-Encoding", &v)) {
		r->chunked = 1;
	} else if (header_is(line, "Expect", &v)) {
		r->expect_continue = !strncasecmp(v, "100-continue", 12);
	}
}

/* Parses the request line and headers in place; 0 ok, else an HTTP status. */
static int parse_head(char *head, size_t head_len, struct request *r)
{
	char version[16], *line, *next;

	memset(r, 0, sizeof(*r));
	r->head_len = head_len;
	head[head_len - 2] = '\0';	/* ends the last header line */
	next = strstr(head, "\r\n");
	if (!next)
		return 400;
	*next = '\0';
	if (sscanf(head, "%15s %255s %15s", r->method, r->target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7))
		return 400;
	r->http11 = !strcmp(version, "HTTP/1.1");
	r->keep_alive = r->http11;
	for (line = next + 2; *line; line = next + 2) {
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		parse_header_line(r, line);
		if (!next)
			break;
	}
	return 0;
}

/* ---- routes ------------------------------------------------------------ */

static int handle_health(int fd, const struct request *r)
{
	char body[128];
	int n;

	n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"pid\":%d,\"served\":%lu}\n",
		     (int)getpid(), __atomic_load_n(&served, __ATOMIC_RELAXED));
	return respond(fd, 200, "OK", "application/json", body, (size_t)n,
		       r->keep_alive);
}

/* Gathers the body: what came with the header, then the rest from the socket. */
static char *read_body(struct conn *c, const struct request *r)
{
	size_t want = (size_t)r->length, have = c->len - r->head_len;
	char *body = malloc(want ? want : 1);
	ssize_t got;

	if (!body)
		return NULL;
	if (have > want)
		have = want;
	memcpy(body, c->buf + r->head_len, have);
	/* Keep bytes of a pipelined next request for the next round. */
	memmove(c->buf, c->buf + r->head_len + have, c->len - r->head_len - have);
	c->len -= r->head_len + have;
	while (have < want) {
		got = recv_some(c->fd, body + have, want - have);
		if (got <= 0) {
			free(body);
			return NULL;
		}
		have += (size_t)got;
	}
	return body;
}

static int handle_predict(struct conn *c, const struct request *r)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	char out[MAX_OUTPUT], *body;
	size_t n;
	int ret;

	if (r->chunked || !r->has_length)
		return respond_error(c->fd, 411, "Length Required");
	if (r->length > MAX_BODY)
		return respond_error(c->fd, 413, "Payload Too Large");
	if (r->expect_continue && c->len == r->head_len && r->length &&
	    send_all(c->fd, cont, sizeof(cont) - 1))
		return -1;
	body = read_body(c, r);
	if (!body)
		return -1;
	n = predict(body, (size_t)r->length, out, sizeof(out));
	free(body);
	__atomic_fetch_add(&served, 1, __ATOMIC_RELAXED);
	ret = respond(c->fd, 200, "OK", "application/json", out, n, r->keep_alive);
	return ret;
}

/* One request: 0 to keep the connection, -1 to close it. */
static int serve_one(struct conn *c)
{
	struct request r;
	size_t head_len;
	int st;

	st = read_head(c, &head_len);
	if (st == 431)
		return respond_error(c->fd, 431, "Request Header Fields Too Large");
	if (st)
		return -1;
	st = parse_head(c->buf, head_len, &r);
	if (st)
		return respond_error(c->fd, 400, "Bad Request");
	if (!strcmp(r.target, "/predict")) {
		if (strcmp(r.method, "POST"))
			return respond_error(c->fd, 405, "Method Not Allowed");
		st = handle_predict(c, &r);
	} else if (!strcmp(r.target, "/health")) {
		if (strcmp(r.method, "GET"))
			return respond_error(c->fd, 405, "Method Not Allowed");
		/* A body on GET is not expected; refuse rather than misframe. */
		if (r.has_length && r.length)
			return respond_error(c->fd, 400, "Bad Request");
		memmove(c->buf, c->buf + head_len, c->len - head_len);
		c->len -= head_len;
		st = handle_health(c->fd, &r);
	} else {
		return respond_error(c->fd, 404, "Not Found");
	}
	return st || !r.keep_alive ? -1 : 0;
}

static void serve_conn(int fd)
{
	struct conn *c = malloc(sizeof(*c));

	if (c) {
		c->fd = fd;
		c->len = 0;
		while (!stopping && !serve_one(c))
			;
		free(c);
	}
	close(fd);
}

/* ---- threads and startup ---------------------------------------------- */

static void *worker(void *arg)
{
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	int fd;

	(void)arg;
	while (!stopping) {
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;	/* EAGAIN: another worker took it */
		serve_conn(fd);
	}
	return NULL;
}

static int open_listener(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

static long parse_num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s ? s : "", &end, 10);
	if (!s || errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "demo_server: %s wants a number in %ld..%ld\n", opt, lo, hi);
		exit(2);
	}
	return v;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: demo_server [--port N (8088)] [--threads N (4)]\n"
		   "POST /predict -> predict(body); GET /health. 127.0.0.1 only.\n");
}

int main(int argc, char **argv)
{
	pthread_t tids[MAX_THREADS];
	long port = 8088, nthreads = 4, i;
	sigset_t set;
	int sig, k;

	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--port")) {
			port = parse_num("--port", argv[k + 1], 1, 65535);
			k++;
		} else if (!strcmp(argv[k], "--threads")) {
			nthreads = parse_num("--threads", argv[k + 1], 1, MAX_THREADS);
			k++;
		} else {
			usage(strcmp(argv[k], "--help") ? stderr : stdout);
			return strcmp(argv[k], "--help") ? 2 : 0;
		}
	}
	listen_fd = open_listener((int)port);
	if (listen_fd < 0) {
		fprintf(stderr, "demo_server: cannot listen on 127.0.0.1:%ld: %s\n",
			port, strerror(errno));
		return 1;
	}
	/* Workers inherit the mask; only main takes SIGTERM/SIGINT, by sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, NULL)) {
			fprintf(stderr, "demo_server: pthread_create failed\n");
			return 1;
		}
	}
	printf("demo_server: pid=%d listening on http://127.0.0.1:%ld (threads=%ld)\n",
	       (int)getpid(), port, nthreads);
	fflush(stdout);
	sigwait(&set, &sig);
	stopping = 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	close(listen_fd);
	printf("demo_server: stopped by %s, served=%lu\n", strsignal(sig), served);
	return 0;
}
