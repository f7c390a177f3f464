// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP/1.1 reassembly per connection on libhttp-parser (see http.h).
 * Two parsers per connection, one per direction; a FIFO of exchanges
 * pairs pipelined requests with their responses in order.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "sealtrace/wire/http.h"

#define BUCKETS		4096
#define HFIELD_MAX	32

enum conn_state { C_SYNC, C_RESYNC, C_BROKEN };

struct xnode {
	struct st_exchange ex;
	struct xnode *next;
	bool head;		/* HEAD request: the response has no body */
	bool req_done;
};

struct conn {
	uint64_t id;
	uint32_t tgid;
	struct conn *next;
	struct st_http *h;
	uint64_t next_seq;
	enum conn_state state;
	bool resync_mark;	/* the next exchange is the first after a resync */
	bool noted;		/* unsupported/unparseable reported */
	bool preexisting, tls, have_peer;
	char comm[WIRE_COMM_LEN];	/* of the thread that opened it (CONN_OPEN) */
	uint16_t lport, rport, family;
	uint8_t raddr[16];
	uint64_t skipped;	/* bytes not parsed (resync, broken) */
	uint64_t in_bytes;	/* request bytes parsed */
	http_parser req, resp;
	struct xnode *q_head, *q_tail;
	struct xnode *req_cur;	/* receiving request bytes */
	struct xnode *resp_cur;	/* receiving response bytes */
	bool interim;		/* the response being parsed is 1xx */
	bool unseen;		/* feeding zeros for bytes counted but not copied */
	bool query;		/* the URL's query started: the rest is not kept */
	char hfield[HFIELD_MAX];
	size_t hfield_len;
	bool in_value, want_value;
	const struct wire_event *ev;	/* the event being parsed */
};

struct st_http {
	size_t max_body;
	struct st_http_ops ops;
	struct conn *buckets[BUCKETS];
	size_t nconns;
	http_parser_settings req_settings, resp_settings;
};

/* ---- exchanges --------------------------------------------------------- */

static void body_add(struct conn *c, struct st_http_body *b, const char *p, size_t n)
{
	struct st_http *h = c->h;
	size_t keep = 0;

	if (c->unseen) {
		/* counted, never hashed: the HMAC covers only bytes seen */
		b->len += n;
		b->truncated = true;
		return;
	}
	if (b->captured < h->max_body) {
		keep = h->max_body - b->captured < n ? h->max_body - b->captured : n;
		if (!b->bytes)
			b->bytes = malloc(h->max_body);
		if (b->bytes) {
			memcpy(b->bytes + b->captured, p, keep);
			b->captured += keep;
		} else {
			keep = 0;
		}
	}
	b->len += n;
	if (keep < n)
		b->truncated = true;
}

static void xnode_free(struct xnode *x)
{
	free(x->ex.req.bytes);
	free(x->ex.resp.bytes);
	free(x);
}

static void pop_head(struct conn *c)
{
	struct xnode *x = c->q_head;

	c->q_head = x->next;
	if (!c->q_head)
		c->q_tail = NULL;
	if (c->req_cur == x)
		c->req_cur = NULL;
	if (c->resp_cur == x)
		c->resp_cur = NULL;
	xnode_free(x);
}

static void emit(struct conn *c, struct xnode *x, bool complete, const char *reason)
{
	x->ex.complete = complete;
	x->ex.reason = reason;
	c->h->ops.exchange(c->h->ops.ctx, &x->ex);
}

/* Every exchange in flight ends incomplete (gap, reset, close, parse error). */
static void end_all(struct conn *c, const char *reason_no_resp, const char *reason_mid)
{
	while (c->q_head) {
		struct xnode *x = c->q_head;

		emit(c, x, false, x->ex.status || x->ex.resp_ts ? reason_mid : reason_no_resp);
		pop_head(c);
	}
}

static void note(struct conn *c, const char *what, const char *detail, uint64_t bytes)
{
	struct st_http_note n = {
		.conn_id = c->id, .tgid = c->tgid, .what = what, .detail = detail,
		.bytes = bytes,
	};

	c->h->ops.note(c->h->ops.ctx, &n);
}

/* ---- parser callbacks -------------------------------------------------- */

static void header_field(struct conn *c, const char *at, size_t n)
{
	size_t i;

	if (c->in_value) {
		c->hfield_len = 0;
		c->in_value = false;
	}
	for (i = 0; i < n && c->hfield_len < HFIELD_MAX - 1; i++) {
		char ch = at[i];

		c->hfield[c->hfield_len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	c->hfield[c->hfield_len] = '\0';
}

static void append(char *dst, size_t size, const char *at, size_t n)
{
	size_t l = strlen(dst);

	if (l + 1 >= size)
		return;
	if (n > size - l - 1)
		n = size - l - 1;
	memcpy(dst + l, at, n);
	dst[l + n] = '\0';
}

static int req_begin(http_parser *p)
{
	struct conn *c = p->data;
	struct xnode *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->ex.conn_id = c->id;
	x->ex.tgid = c->tgid;
	x->ex.tid = c->ev->tid;
	memcpy(x->ex.comm, c->comm, WIRE_COMM_LEN);
	x->ex.lport = c->lport;
	x->ex.rport = c->rport;
	x->ex.family = c->family;
	memcpy(x->ex.raddr, c->raddr, sizeof(x->ex.raddr));
	x->ex.have_peer = c->have_peer;
	x->ex.req_ts = c->ev->ts;
	x->ex.preexisting = c->preexisting;
	x->ex.tls = c->tls;
	x->ex.resynced = c->resync_mark;
	c->resync_mark = false;
	c->query = false;
	c->hfield_len = 0;
	c->in_value = false;
	if (c->q_tail)
		c->q_tail->next = x;
	else
		c->q_head = x;
	c->q_tail = x;
	c->req_cur = x;
	return 0;
}

static int req_url(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	size_t i;

	if (!c->req_cur || c->query)
		return 0;
	for (i = 0; i < n; i++) {
		if (at[i] == '?' || at[i] == '#') {
			c->query = true;
			break;
		}
	}
	append(c->req_cur->ex.path, sizeof(c->req_cur->ex.path), at, i);
	return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
	header_field(p->data, at, n);
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t n, bool request)
{
	struct conn *c = p->data;
	struct xnode *x = request ? c->req_cur : c->resp_cur;

	c->in_value = true;
	if (!x || strcmp(c->hfield, "content-type"))
		return 0;
	if (request)
		append(x->ex.req_ctype, sizeof(x->ex.req_ctype), at, n);
	else
		append(x->ex.resp_ctype, sizeof(x->ex.resp_ctype), at, n);
	return 0;
}

static int req_value(http_parser *p, const char *at, size_t n)
{
	return on_value(p, at, n, true);
}

static int resp_value(http_parser *p, const char *at, size_t n)
{
	return on_value(p, at, n, false);
}

static int req_headers(http_parser *p)
{
	struct conn *c = p->data;

	if (!c->req_cur)
		return 0;
	snprintf(c->req_cur->ex.method, sizeof(c->req_cur->ex.method), "%s",
		 http_method_str((enum http_method)p->method));
	c->req_cur->head = p->method == HTTP_HEAD;
	c->hfield_len = 0;
	c->in_value = false;
	return 0;
}

static int req_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	if (c->req_cur)
		body_add(c, &c->req_cur->ex.req, at, n);
	return 0;
}

static int req_done(http_parser *p)
{
	struct conn *c = p->data;

	if (c->req_cur) {
		c->req_cur->ex.req_end_ts = c->ev->ts;
		c->req_cur->req_done = true;
		c->req_cur = NULL;
	}
	return 0;
}

static int resp_begin(http_parser *p)
{
	struct conn *c = p->data;

	c->resp_cur = c->q_head;
	c->interim = false;
	c->hfield_len = 0;
	c->in_value = false;
	if (c->resp_cur && !c->resp_cur->ex.resp_ts)
		c->resp_cur->ex.resp_ts = c->ev->ts;
	return 0;
}

static int resp_headers(http_parser *p)
{
	struct conn *c = p->data;
	struct xnode *x = c->resp_cur;

	if (!x)
		return 0;
	if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
		c->interim = true;	/* 100 Continue: the real response follows */
		x->ex.resp_ctype[0] = '\0';
		return 0;
	}
	x->ex.status = p->status_code;
	x->ex.streamed = (p->flags & F_CHUNKED) || p->content_length == ULLONG_MAX;
	return x->head ? 1 : 0;	/* 1: no body follows */
}

static int resp_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	if (c->resp_cur && !c->interim)
		body_add(c, &c->resp_cur->ex.resp, at, n);
	return 0;
}

static int resp_chunk(http_parser *p)
{
	struct conn *c = p->data;

	if (c->resp_cur && p->content_length)
		c->resp_cur->ex.resp_chunks++;
	return 0;
}

static int resp_done(http_parser *p)
{
	struct conn *c = p->data;
	struct xnode *x = c->resp_cur;

	if (!x)
		return 0;
	if (c->interim) {
		c->interim = false;
		return 0;
	}
	x->ex.resp_end_ts = c->ev->ts;
	c->resp_cur = NULL;
	if (x != c->q_head)
		return 0;	/* cannot happen: responses pair in order */
	emit(c, x, true, NULL);
	pop_head(c);
	return 0;
}

/* ---- connections ------------------------------------------------------- */

static struct conn **slot(struct st_http *h, uint64_t id)
{
	struct conn **pp = &h->buckets[(id * 0x9e3779b97f4a7c15ULL) >> 52 & (BUCKETS - 1)];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void parsers_reset(struct conn *c)
{
	http_parser_init(&c->req, HTTP_REQUEST);
	http_parser_init(&c->resp, HTTP_RESPONSE);
	c->req.data = c;
	c->resp.data = c;
	c->req_cur = c->resp_cur = NULL;
	c->interim = false;
}

static struct conn *conn_new(struct st_http *h, const struct wire_event *ev)
{
	struct conn **pp = slot(h, ev->conn_id), *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = ev->conn_id;
	c->tgid = ev->tgid;
	c->h = h;
	c->next_seq = ev->seq;
	c->lport = ev->lport;
	c->preexisting = ev->flags & WIRE_F_PREEXISTING;
	c->tls = ev->flags & WIRE_F_TLS;
	parsers_reset(c);
	/* seen first mid-stream: pick it up at the next request line */
	c->state = ev->kind == WIRE_CONN_OPEN && !c->preexisting ? C_SYNC : C_RESYNC;
	*pp = c;
	h->nconns++;
	return c;
}

static void conn_free(struct st_http *h, struct conn *c)
{
	struct conn **pp = slot(h, c->id);

	*pp = c->next;
	while (c->q_head)
		pop_head(c);
	free(c);
	h->nconns--;
}

static bool request_start(const uint8_t *d, size_t n)
{
	static const char *const methods[] = {
		"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "PATCH ", "OPTIONS ",
	};
	size_t i, l;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		l = strlen(methods[i]);
		if (n >= l && !memcmp(d, methods[i], l))
			return true;
	}
	return false;
}

/* The stream cannot be parsed: say why once, end what is in flight. */
static void broken(struct conn *c, const uint8_t *d, size_t n, const char *detail)
{
	static const char h2[] = "PRI * HTTP/2.0";
	const char *what = "unparseable";

	if (n >= sizeof(h2) - 1 && !memcmp(d, h2, sizeof(h2) - 1))
		what = "http2";
	c->state = C_BROKEN;
	end_all(c, "unparseable", "unparseable");
	if (!c->noted)
		note(c, what, detail, n);
	c->noted = true;
	c->skipped += n;
}

static void feed_in(struct conn *c, const uint8_t *d, size_t n)
{
	size_t done;

	if (c->state == C_RESYNC) {
		if (!request_start(d, n)) {
			c->skipped += n;
			return;
		}
		/* the stream is picked up here; the responses of skipped requests too */
		end_all(c, "resync", "resync");
		parsers_reset(c);
		c->state = C_SYNC;
		c->resync_mark = true;
		note(c, "resync", c->preexisting ? "open_before_agent" : "after_gap", c->skipped);
		c->skipped = 0;
	}
	if (c->state != C_SYNC)
		return;
	if (!c->in_bytes && n >= 14 && !memcmp(d, "PRI * HTTP/2.0", 14)) {
		broken(c, d, n, "prior_knowledge_preface");	/* HTTP/2 (gRPC too) */
		return;
	}
	c->in_bytes += n;
	done = http_parser_execute(&c->req, &c->h->req_settings, (const char *)d, n);
	if (HTTP_PARSER_ERRNO(&c->req) != HPE_OK || (done != n && !c->req.upgrade))
		broken(c, d, n, http_errno_name(HTTP_PARSER_ERRNO(&c->req)));
	else if (c->req.upgrade)
		broken(c, d, n, "upgrade");
}

static void feed_out(struct conn *c, const uint8_t *d, size_t n)
{
	size_t done;

	if (c->state != C_SYNC || (!c->q_head && !c->resp_cur)) {
		c->skipped += n;
		return;
	}
	done = http_parser_execute(&c->resp, &c->h->resp_settings, (const char *)d, n);
	if (HTTP_PARSER_ERRNO(&c->resp) != HPE_OK || done != n)
		broken(c, d, n, http_errno_name(HTTP_PARSER_ERRNO(&c->resp)));
}

/* Bytes the kernel counted but did not copy: keep the framing with zeros. */
static void feed_unseen(struct conn *c, uint64_t len, bool out, bool sendfile)
{
	static const uint8_t zeros[4096];
	struct xnode *x = out ? c->resp_cur : c->req_cur;

	if (x && sendfile)
		x->ex.sendfile_bytes += len;
	c->unseen = true;
	while (len && c->state == C_SYNC) {
		size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;

		if (out)
			feed_out(c, zeros, n);
		else
			feed_in(c, zeros, n);
		len -= n;
	}
	c->unseen = false;
}

static void on_close(struct st_http *h, struct conn *c)
{
	if (c->state == C_SYNC && c->resp_cur) {
		/* a close-delimited body ends here */
		http_parser_execute(&c->resp, &h->resp_settings, NULL, 0);
	}
	end_all(c, "no_response", "closed_mid_response");
	conn_free(h, c);
}

void st_http_event(struct st_http *h, const struct wire_event *ev, const uint8_t *data)
{
	struct conn *c = *slot(h, ev->conn_id);

	if (!c) {
		if (ev->kind == WIRE_CLOSE)
			return;
		c = conn_new(h, ev);
		if (!c)
			return;
	}
	if (ev->seq != c->next_seq) {
		/* the ring could not take some events of this connection */
		end_all(c, "capture_gap", "capture_gap");
		note(c, "gap", "ringbuf_full", ev->seq - c->next_seq);
		parsers_reset(c);
		c->state = c->state == C_BROKEN ? C_BROKEN : C_RESYNC;
	}
	c->next_seq = ev->seq + 1;
	c->ev = ev;
	if (ev->flags & WIRE_F_TLS)
		c->tls = true;	/* the plaintext of SSL_read/SSL_write */
	switch (ev->kind) {
	case WIRE_CONN_OPEN:
		memcpy(c->comm, ev->comm, sizeof(c->comm));
		c->family = ev->family;
		c->rport = ev->rport;
		memcpy(c->raddr, ev->raddr, sizeof(c->raddr));
		c->have_peer = true;
		break;
	case WIRE_DATA_IN:
		if (ev->len)
			feed_in(c, data, ev->len);
		break;
	case WIRE_DATA_OUT:
		if (ev->len)
			feed_out(c, data, ev->len);
		break;
	case WIRE_HOLE_IN:
		feed_unseen(c, ev->len, false, false);
		break;
	case WIRE_HOLE_OUT:
		feed_unseen(c, ev->len, true, false);
		break;
	case WIRE_SENDFILE:
		feed_unseen(c, ev->len, true, true);
		break;
	case WIRE_CLOSE:
		on_close(h, c);
		return;
	default:
		break;
	}
	c->ev = NULL;
}

void st_http_end_process(struct st_http *h, uint32_t tgid)
{
	struct conn *c, *next;
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		for (c = h->buckets[i]; c; c = next) {
			next = c->next;
			if (c->tgid != tgid)
				continue;
			end_all(c, "process_exit", "process_exit");
			conn_free(h, c);
		}
	}
}

struct st_http *st_http_new(size_t max_body, const struct st_http_ops *ops)
{
	struct st_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->max_body = max_body ? max_body : ST_HTTP_DEF_MAX_BODY;
	h->ops = *ops;
	h->req_settings.on_message_begin = req_begin;
	h->req_settings.on_url = req_url;
	h->req_settings.on_header_field = on_field;
	h->req_settings.on_header_value = req_value;
	h->req_settings.on_headers_complete = req_headers;
	h->req_settings.on_body = req_body;
	h->req_settings.on_message_complete = req_done;
	h->resp_settings.on_message_begin = resp_begin;
	h->resp_settings.on_header_field = on_field;
	h->resp_settings.on_header_value = resp_value;
	h->resp_settings.on_headers_complete = resp_headers;
	h->resp_settings.on_body = resp_body;
	h->resp_settings.on_chunk_header = resp_chunk;
	h->resp_settings.on_message_complete = resp_done;
	return h;
}

void st_http_free(struct st_http *h, bool report)
{
	struct conn *c, *next;
	size_t i;

	if (!h)
		return;
	for (i = 0; i < BUCKETS; i++) {
		for (c = h->buckets[i]; c; c = next) {
			next = c->next;
			if (report)
				end_all(c, "agent_stop", "agent_stop");
			conn_free(h, c);
		}
	}
	free(h);
}

size_t st_http_conns(const struct st_http *h)
{
	return h->nconns;
}
