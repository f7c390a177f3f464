/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 reassembly: wire events of one connection (wire_abi.h) in, one
 * exchange (request + response) out per request, in order, with
 * keep-alive, pipelining, Content-Length, chunked and close-delimited
 * bodies and streamed responses. Parsing is libhttp-parser's (nodejs
 * http-parser, Debian libhttp-parser-dev); this module only keeps the
 * per-connection state and the bodies up to a cap.
 *
 * What cannot be reassembled is reported, never dropped: a gap in a
 * connection's event numbers or a reset ends the exchanges in flight as
 * incomplete; HTTP/2, gRPC and unparseable streams are reported once per
 * connection (st_http_note); a connection seen first mid-stream (open
 * before the agent, or after a gap) is picked up at the next request line.
 */
#ifndef SEALTRACE_HTTP_H
#define SEALTRACE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/wire/wire_abi.h"

#define ST_HTTP_DEF_MAX_BODY	(64u << 10)
#define ST_HTTP_PATH_MAX	512
#define ST_HTTP_CTYPE_MAX	128

struct st_http_body {
	uint8_t *bytes;		/* the first `captured` bytes */
	size_t captured;
	uint64_t len;		/* all body bytes seen (decoded: no chunk framing) */
	bool truncated;		/* len > captured: bytes past the cap, or holes */
};

struct st_exchange {
	uint64_t conn_id;
	uint32_t tgid, tid;
	char comm[WIRE_COMM_LEN + 1];
	uint16_t lport, rport, family;
	uint8_t raddr[16];
	bool have_peer;			/* family/raddr/rport known (from accept) */
	uint64_t req_ts, req_end_ts;	/* CLOCK_TAI ns: first and last request byte */
	uint64_t resp_ts, resp_end_ts;	/* first and last response byte; 0: none */
	char method[16];
	char path[ST_HTTP_PATH_MAX];	/* without the query string */
	char req_ctype[ST_HTTP_CTYPE_MAX], resp_ctype[ST_HTTP_CTYPE_MAX];
	int status;			/* 0: no response head */
	struct st_http_body req, resp;
	uint64_t sendfile_bytes;	/* response bytes sent by sendfile (not seen) */
	uint64_t resp_chunks;		/* response data chunks (streamed responses) */
	bool streamed;			/* chunked or close-delimited response */
	bool resynced;			/* first exchange after picking the stream up */
	bool preexisting;		/* connection open before the agent */
	bool tls;
	bool complete;			/* false: reason says why */
	const char *reason;
};

/* A connection-level report: unsupported or unparseable, resync, gap. */
struct st_http_note {
	uint64_t conn_id;
	uint32_t tgid;
	const char *what;	/* "http2", "unparseable", "resync", "gap" */
	const char *detail;	/* parser error name, ... */
	uint64_t bytes;		/* bytes skipped (unparseable) or lost (gap) */
};

struct st_http_ops {
	void *ctx;
	void (*exchange)(void *ctx, const struct st_exchange *ex);
	void (*note)(void *ctx, const struct st_http_note *n);
};

struct st_http;

struct st_http *st_http_new(size_t max_body, const struct st_http_ops *ops);
/* One wire event; data is the chunk for DATA events (ev->len bytes). */
void st_http_event(struct st_http *h, const struct wire_event *ev, const uint8_t *data);
/* The process is gone: end its connections (their open exchanges: incomplete). */
void st_http_end_process(struct st_http *h, uint32_t tgid);
/* End everything (agent stop): open exchanges are incomplete. */
void st_http_free(struct st_http *h, bool report);
size_t st_http_conns(const struct st_http *h);

#endif /* SEALTRACE_HTTP_H */
