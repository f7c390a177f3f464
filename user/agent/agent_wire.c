// SPDX-License-Identifier: Apache-2.0
/*
 * agent_wire: HTTP targets. Discovery tells the wire capture which
 * processes to watch; the reassembler's exchanges become inference (or
 * incomplete) records, its connection reports and the kernel's counts of
 * what the ring could not take become loss records. Bodies exist only as
 * HMAC refs (and the decision fields the config names); the client's
 * address only as a pseudonym, or not at all.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/log/decision.h"
#include "sealtrace/wire/http.h"
#include "sealtrace/wire/wire.h"

#include "sealtrace/agent/agent.h"

static bool wire_wanted(const struct st_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ntargets; i++)
		if (cfg->targets[i].http.enabled)
			return true;
	return false;
}

static const struct st_target_cfg *target_of_pid(struct agent *a, uint32_t pid)
{
	size_t i;

	for (i = 0; i < a->nwire_pids; i++)
		if (a->wire_pids[i].pid == pid)
			return &a->cfg.targets[a->wire_pids[i].target];
	return NULL;
}

/* ---- what is an inference ---------------------------------------------- */

static bool any_match(char *const *globs, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fnmatch(globs[i], s, 0))
			return true;
	return false;
}

static bool selected(const struct st_http_cfg *h, const struct st_exchange *ex)
{
	size_t i;
	bool port = false;

	for (i = 0; i < h->nports; i++)
		port |= h->ports[i] == ex->lport;
	if (ex->lport && !port)
		return false;
	if (ex->method[0] && h->methods && !any_match(h->methods, h->nmethods, ex->method))
		return false;
	if (any_match(h->exclude, h->nexclude, ex->path))
		return false;
	return !h->paths || !ex->path[0] || any_match(h->paths, h->npaths, ex->path);
}

/* ---- exchanges to records ---------------------------------------------- */

static const char *ref_of(struct agent *a, const struct st_http_body *b, char *ref,
			  size_t reflen)
{
	if (st_pseudo_ref(a->keys, b->bytes ? b->bytes : (const uint8_t *)"", b->captured,
			  ref, reflen))
		return NULL;
	return ref;
}

/* The client's IP address as text, HMAC'd like any identifier. */
static bool client_ref(struct agent *a, const struct st_exchange *ex, char *ref, size_t reflen)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (!ex->have_peer)
		return false;
	if (!inet_ntop(ex->family == 10 ? AF_INET6 : AF_INET, ex->raddr, ip, sizeof(ip)))
		return false;
	return !st_pseudo_ref(a->keys, ip, strlen(ip), ref, reflen);
}

struct xrec {
	struct st_record rec;
	struct st_kv details[32];
	size_t nd;
	struct st_kv refs[ST_DECISION_MAX_FIELDS + 1];
	char in_ref[ST_REF_LEN], out_ref[ST_REF_LEN], client[ST_REF_LEN];
	char probe[300];
};

static void add_details(struct xrec *x, const struct st_exchange *ex)
{
	struct st_kv *d = x->details;
	size_t n = 0;

	d[n++] = st_kv_str("method", ex->method);
	d[n++] = st_kv_str("path", ex->path);
	if (ex->status)
		d[n++] = st_kv_int("status", ex->status);
	if (ex->resp_ctype[0])
		d[n++] = st_kv_str("content_type", ex->resp_ctype);
	if (ex->req_ctype[0])
		d[n++] = st_kv_str("request_content_type", ex->req_ctype);
	d[n++] = st_kv_uint("connection", ex->conn_id);
	if (ex->resp_ts && ex->req_end_ts && ex->resp_ts >= ex->req_end_ts)
		d[n++] = st_kv_uint("ttfb_ns", ex->resp_ts - ex->req_end_ts);
	if (ex->streamed) {
		d[n++] = st_kv_bool("streamed", true);
		d[n++] = st_kv_uint("response_chunks", ex->resp_chunks);
	}
	if (ex->req.truncated) {
		d[n++] = st_kv_bool("input_truncated", true);
		d[n++] = st_kv_uint("input_captured_len", ex->req.captured);
	}
	if (ex->resp.truncated) {
		d[n++] = st_kv_bool("output_truncated", true);
		d[n++] = st_kv_uint("output_captured_len", ex->resp.captured);
	}
	if (ex->sendfile_bytes)
		d[n++] = st_kv_uint("sendfile_bytes", ex->sendfile_bytes);
	if (ex->resynced)
		d[n++] = st_kv_bool("resynced", true);
	if (ex->preexisting)
		d[n++] = st_kv_bool("connection_open_before_agent", true);
	if (ex->tls)
		d[n++] = st_kv_bool("tls", true);
	if (!ex->complete)
		d[n++] = st_kv_str("reason", ex->reason ? ex->reason : "incomplete");
	x->nd = n;
}

static void on_exchange(void *ctx, const struct st_exchange *ex)
{
	struct agent *a = ctx;
	const struct st_target_cfg *t = target_of_pid(a, ex->tgid);
	struct st_decision_result dec;
	bool have_dec;
	struct xrec *x;
	size_t i, nrefs = 0;

	if (!t) {
		a->wire_unowned++;
		return;
	}
	if (!selected(&t->http, ex)) {
		a->wire_excluded++;	/* health checks, metrics, other paths */
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		a->wire_write_failed++;
		return;
	}
	snprintf(x->probe, sizeof(x->probe), "%s:http", t->name);
	st_record_init(&x->rec, ex->complete ? ST_ET_INFERENCE : ST_ET_INCOMPLETE,
		       st_tai_to_utc(ex->req_ts, a->tai_offset_ns));
	x->rec.pid = (int32_t)ex->tgid;
	x->rec.tid = (int32_t)ex->tid;
	x->rec.comm = ex->comm;
	x->rec.probe = x->probe;
	x->rec.input_hash = ref_of(a, &ex->req, x->in_ref, sizeof(x->in_ref));
	x->rec.input_len = x->rec.input_hash ? (int64_t)ex->req.len : -1;
	if (ex->status) {
		x->rec.output_reference = ref_of(a, &ex->resp, x->out_ref, sizeof(x->out_ref));
		x->rec.output_len = x->rec.output_reference ? (int64_t)ex->resp.len : -1;
	}
	if (ex->resp_end_ts > ex->req_ts)
		x->rec.duration_ns = (int64_t)(ex->resp_end_ts - ex->req_ts);
	add_details(x, ex);
	st_tracker_annotate(a->tracker, &x->rec);
	have_dec = t->http.decision.nfields > 0;
	if (have_dec) {
		st_decision_extract(&t->http.decision, a->keys,
				    ex->req.bytes, ex->req.captured, !ex->req.truncated,
				    ex->status ? ex->resp.bytes : NULL, ex->resp.captured,
				    !ex->resp.truncated, &dec);
		st_decision_apply(&dec, &x->rec, x->details, &x->nd, 32);
		for (i = 0; i < dec.nrefs; i++)
			x->refs[nrefs++] = dec.refs[i];
	}
	if (!t->http.omit_client && client_ref(a, ex, x->client, sizeof(x->client)))
		x->refs[nrefs++] = st_kv_str("client_address", x->client);
	x->rec.has_pseudonyms = nrefs > 0;
	x->rec.pseudonyms = x->refs;
	x->rec.npseudonyms = nrefs;
	x->rec.details = x->details;
	x->rec.ndetails = x->nd;
	if (agent_log_append(a, &x->rec))
		a->wire_write_failed++;
	else if (ex->complete)
		a->wire_recorded++;
	else
		a->wire_incomplete++;
	if (have_dec)
		st_decision_result_free(&dec);
	free(x);
}

/* A connection-level report: a loss record naming the connection and why. */
static void on_note(void *ctx, const struct st_http_note *n)
{
	struct agent *a = ctx;
	const struct st_target_cfg *t = target_of_pid(a, n->tgid);
	char probe[300], reason[64];
	struct st_record rec;
	struct st_kv d[6];
	size_t nd = 0;

	snprintf(probe, sizeof(probe), "%s:http", t ? t->name : "wire");
	snprintf(reason, sizeof(reason), "wire_%s", n->what);
	st_record_init(&rec, ST_ET_LOSS, st_clock_ns(CLOCK_REALTIME));
	rec.pid = (int32_t)n->tgid;
	rec.probe = probe;
	/* how many requests are in what was skipped is unknown: 0, and bytes */
	d[nd++] = st_kv_uint("count", 0);
	d[nd++] = st_kv_str("reason", reason);
	d[nd++] = st_kv_uint("connection", n->conn_id);
	if (n->detail)
		d[nd++] = st_kv_str("detail", n->detail);
	d[nd++] = st_kv_uint(!strcmp(n->what, "gap") ? "events" : "bytes", n->bytes);
	rec.details = d;
	rec.ndetails = nd;
	if (agent_log_append(a, &rec))
		a->wire_write_failed++;
}

static void on_event(void *ctx, const struct wire_event *ev, const uint8_t *data)
{
	struct agent *a = ctx;

	st_http_event(a->http, ev, data);
}

/* ---- the agent's calls ------------------------------------------------- */

int agent_wire_open(struct agent *a)
{
	struct st_http_ops ops = { .ctx = a, .exchange = on_exchange, .note = on_note };
	uint16_t ports[WIRE_MAX_PORTS];
	struct st_wire_opts o = { .ports = ports };
	uint64_t max_body = 0;
	size_t i, j, k;

	if (!wire_wanted(&a->cfg))
		return 0;
	for (i = 0; i < a->cfg.ntargets; i++) {
		const struct st_http_cfg *h = &a->cfg.targets[i].http;

		for (j = 0; h->enabled && j < h->nports; j++) {
			for (k = 0; k < o.nports && ports[k] != h->ports[j]; k++)
				;
			if (k == o.nports && o.nports < WIRE_MAX_PORTS)
				ports[o.nports++] = h->ports[j];
		}
		if (h->enabled && h->max_body > max_body)
			max_body = h->max_body;
		if (h->enabled && h->ringbuf_bytes > o.ringbuf_bytes)
			o.ringbuf_bytes = h->ringbuf_bytes;
	}
	if (st_wire_open(&a->wire, &o, a->err, sizeof(a->err)))
		return -1;
	/*
	 * The loop waits on the capture ring; a wire ring past its wakeup
	 * mark must end that wait too, or its forced wakeups (an interrupt
	 * each, in the server's syscall) repeat until the next timeout.
	 */
	if (st_capture_wake_on(a->capture, st_wire_fd(a->wire), a->err, sizeof(a->err)))
		return -1;
	a->http = st_http_new(max_body, &ops);
	if (!a->http) {
		snprintf(a->err, sizeof(a->err), "wire: out of memory");
		return -1;
	}
	return 0;
}

void agent_wire_process(void *ctx, int pid, size_t target, bool alive)
{
	struct agent *a = ctx;
	char err[ST_ERR_LEN];
	size_t i;

	if (!a->wire || !a->cfg.targets[target].http.enabled)
		return;
	if (alive) {
		if (a->nwire_pids == AGENT_MAX_WIRE_PIDS) {
			fprintf(stderr, "sealtrace: wire: more than %d processes, pid %d not watched\n",
				AGENT_MAX_WIRE_PIDS, pid);
			return;
		}
		a->wire_pids[a->nwire_pids].pid = (uint32_t)pid;
		a->wire_pids[a->nwire_pids++].target = target;
		if (st_wire_track(a->wire, (uint32_t)pid, (uint32_t)target, err, sizeof(err)))
			fprintf(stderr, "sealtrace: %s\n", err);
		return;
	}
	/* its last exchanges are in the ring: read them before it goes */
	agent_wire_poll(a);
	st_http_end_process(a->http, (uint32_t)pid);
	st_wire_untrack(a->wire, (uint32_t)pid);
	for (i = 0; i < a->nwire_pids; i++) {
		if (a->wire_pids[i].pid == (uint32_t)pid) {
			a->wire_pids[i] = a->wire_pids[--a->nwire_pids];
			break;
		}
	}
}

/*
 * How long the loop may wait: the wire ring is drained every
 * ST_WIRE_POLL_MS, so that its programs never have to wake the agent (a
 * wakeup is an interrupt raised inside the server's own syscall); the
 * kernel forces one only past half the ring, as a safety net.
 */
int agent_wire_wait_ms(const struct agent *a, int timeout_ms)
{
	if (a->wire && timeout_ms > ST_WIRE_POLL_MS)
		return ST_WIRE_POLL_MS;
	return timeout_ms;
}

int agent_wire_poll(struct agent *a)
{
	int n;

	if (!a->wire)
		return 0;
	n = st_wire_poll(a->wire, on_event, a);
	return n < 0 ? 0 : n;
}

/*
 * The kernel's counts of what the ring could not take: one loss record per
 * increase. requests_lost counts lost inbound chunks that began with a
 * request line: requests pipelined behind it in the same read are not
 * counted separately (docs/http.md).
 */
void agent_wire_account(struct agent *a, uint64_t now)
{
	struct wire_counters k;
	struct st_record rec;
	struct st_kv d[7];
	size_t nd = 0;

	if (!a->wire || st_wire_counters(a->wire, &k))
		return;
	if (k.rb_full == a->wire_seen.rb_full && k.conns_full == a->wire_seen.conns_full &&
	    k.tls_unattributed == a->wire_seen.tls_unattributed)
		return;
	st_record_init(&rec, ST_ET_LOSS, now);
	rec.probe = "wire";
	/* a TLS read or write not tied to a connection may have been a request */
	d[nd++] = st_kv_uint("count", k.requests_lost - a->wire_seen.requests_lost +
			     k.tls_unattributed - a->wire_seen.tls_unattributed);
	d[nd++] = st_kv_str("reason", k.rb_full != a->wire_seen.rb_full ? "ringbuf_full" :
			    "wire_untracked");
	d[nd++] = st_kv_uint("tls_unattributed", k.tls_unattributed - a->wire_seen.tls_unattributed);
	d[nd++] = st_kv_uint("events", k.rb_full - a->wire_seen.rb_full);
	d[nd++] = st_kv_uint("bytes", k.bytes_lost - a->wire_seen.bytes_lost);
	d[nd++] = st_kv_uint("connections_untracked", k.conns_full - a->wire_seen.conns_full);
	rec.details = d;
	rec.ndetails = nd;
	if (agent_log_append(a, &rec) == 0)
		a->wire_seen = k;
}

/*
 * Losses as the loss records account them (wire_seen: the counters of the
 * last one written), progress as the kernel counts it now.
 */
bool agent_wire_status(struct agent *a, struct st_wire_status *ws)
{
	const struct wire_counters *seen = &a->wire_seen;
	struct wire_counters k;

	if (!a->wire) {
		if (a->wire_closed)
			*ws = a->wire_last;
		return a->wire_closed;
	}
	if (st_wire_counters(a->wire, &k))
		memset(&k, 0, sizeof(k));
	ws->calls = k.syscalls;
	ws->events = k.events;
	ws->recorded = a->wire_recorded;
	ws->incomplete = a->wire_incomplete;
	ws->excluded = a->wire_excluded;
	ws->write_failed = a->wire_write_failed;
	ws->requests_lost = seen->requests_lost;
	ws->events_lost = seen->rb_full;
	ws->bytes_lost = seen->bytes_lost;
	ws->connections_untracked = seen->conns_full;
	ws->tls_unattributed = seen->tls_unattributed;
	ws->unattributed_bytes = k.unattributed_bytes;
	ws->hole_bytes = k.hole_bytes;
	ws->sendfile_bytes = k.sendfile_bytes;
	ws->connections_open = a->http ? st_http_conns(a->http) : 0;
	ws->ringbuf_size = st_wire_ringbuf_size(a->wire);
	ws->ringbuf_used = st_wire_ringbuf_used(a->wire);
	return true;
}

void agent_wire_close(struct agent *a)
{
	if (!a->wire)
		return;
	agent_wire_poll(a);
	agent_wire_account(a, st_clock_ns(CLOCK_REALTIME));
	/* exchanges still in flight end here, recorded as incomplete */
	st_http_free(a->http, a->log != NULL);
	a->http = NULL;
	a->wire_closed = agent_wire_status(a, &a->wire_last);
	st_wire_close(a->wire);
	a->wire = NULL;
	fprintf(stderr, "sealtrace: wire: %" PRIu64 " exchanges recorded, %" PRIu64
		" incomplete, %" PRIu64 " not inferences (excluded paths/methods)\n",
		a->wire_recorded, a->wire_incomplete, a->wire_excluded);
}
