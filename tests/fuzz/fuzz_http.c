// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP/1.1 reassembler (wire/http.c) and the decision fields
 * (log/decision.c) on what any client of a watched server controls: the
 * bytes on the wire, cut into events however the kernel delivered them.
 *
 * Input: a sequence of events, each a header of 4 bytes and its data:
 *   byte 0: kind (low 3 bits: OPEN, DATA_IN, DATA_OUT, CLOSE, SENDFILE,
 *           HOLE_IN, HOLE_OUT, or "the process ended"), bit 3: the
 *           event number skips one (a gap), bit 4: PREEXISTING, bit 5: TLS
 *   byte 1: connection (low 2 bits: four connections)
 *   bytes 2-3: length, little endian (DATA: bytes that follow, cut at
 *           what is left; SENDFILE/HOLE: bytes not seen)
 * The body cap is small (64 bytes) so that truncation paths run too.
 * Checks: every exchange's captured bytes lie within the cap and its
 * length, strings are terminated, and every body it offers for decisions
 * goes through st_decision_extract.
 */
#include "fuzz.h"

#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/decision.h"
#include "sealtrace/wire/http.h"

#define MAX_BODY	64
#define NCONNS		4

static struct st_keyring *keys;

static struct st_decision_field fields[] = {
	{ .name = "approve", .pointer = "/approve", .src = ST_DSRC_RESPONSE },
	{ .name = "score", .pointer = "/outputs/0/data/0", .src = ST_DSRC_RESPONSE },
	{ .name = "model_version", .pointer = "/model", .src = ST_DSRC_RESPONSE },
	{ .name = "applicant_id", .pointer = "/applicant_id", .src = ST_DSRC_REQUEST,
	  .pseudonymise = true },
	{ .name = "esc", .pointer = "/a~1b/~0", .src = ST_DSRC_REQUEST },
};

static const struct st_decision_spec spec = {
	.fields = fields, .nfields = sizeof(fields) / sizeof(fields[0]), .max_string = 8,
};

static void check_body(const struct st_http_body *b)
{
	if (b->captured > MAX_BODY || b->captured > b->len)
		abort();
	if (b->captured && !b->bytes)
		abort();
	if (b->len > b->captured && !b->truncated)
		abort();
}

static void check_str(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		abort();
}

static void on_exchange(void *ctx, const struct st_exchange *ex)
{
	struct st_decision_result r;

	(void)ctx;
	check_body(&ex->req);
	check_body(&ex->resp);
	check_str(ex->method, sizeof(ex->method));
	check_str(ex->path, sizeof(ex->path));
	check_str(ex->req_ctype, sizeof(ex->req_ctype));
	check_str(ex->resp_ctype, sizeof(ex->resp_ctype));
	check_str(ex->comm, sizeof(ex->comm));
	if (!ex->complete && !ex->reason)
		abort();	/* an incomplete exchange says why */
	st_decision_extract(&spec, keys, ex->req.bytes, ex->req.captured, !ex->req.truncated,
			    ex->resp.bytes, ex->resp.captured, !ex->resp.truncated, &r);
	st_decision_result_free(&r);
}

static void on_note(void *ctx, const struct st_http_note *n)
{
	(void)ctx;
	if (!n->what)
		abort();
}

static struct st_keyring *load_keys(void)
{
	char path[128], err[256];
	struct st_keyring *kr = NULL;
	static const char line[] =
		"k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

	snprintf(path, sizeof(path), "%s/hmac.key", fuzz_dir());
	fuzz_write(path, line, sizeof(line) - 1);
	if (st_keyring_load_file(&kr, path, err, sizeof(err))) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	return kr;
}

static const uint32_t kinds[8] = {
	WIRE_CONN_OPEN, WIRE_DATA_IN, WIRE_DATA_OUT, WIRE_CLOSE,
	WIRE_SENDFILE, WIRE_HOLE_IN, WIRE_HOLE_OUT, 0 /* process ended */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct st_http_ops ops = { .exchange = on_exchange, .note = on_note };
	uint64_t seq[NCONNS] = { 0 };
	struct st_http *h;
	size_t pos = 0;

	if (!keys)
		keys = load_keys();
	h = st_http_new(MAX_BODY, &ops);
	if (!h)
		return 0;
	while (size - pos >= 4) {
		uint8_t k = data[pos], c = data[pos + 1] % NCONNS;
		uint32_t len = data[pos + 2] | (uint32_t)data[pos + 3] << 8;
		struct wire_event ev = {
			.kind = kinds[k & 7], .tgid = 100 + c % 2, .tid = 200,
			.conn_id = c + 1, .ts = pos, .lport = 8080, .rport = 40000,
			.family = 2,
		};
		const uint8_t *bytes = NULL;

		pos += 4;
		if (!ev.kind) {
			st_http_end_process(h, ev.tgid);
			continue;
		}
		if (k & 8)
			seq[c]++;	/* the ring refused one */
		ev.seq = seq[c]++;
		ev.flags = (k & 16 ? WIRE_F_PREEXISTING : 0) | (k & 32 ? WIRE_F_TLS : 0);
		if (ev.kind == WIRE_DATA_IN || ev.kind == WIRE_DATA_OUT) {
			if (len > size - pos)
				len = (uint32_t)(size - pos);
			bytes = data + pos;
			pos += len;
		} else if (ev.kind == WIRE_CONN_OPEN || ev.kind == WIRE_CLOSE) {
			len = 0;
		}
		ev.len = len;
		if (ev.kind == WIRE_CONN_OPEN)
			memcpy(ev.comm, "fuzz", 4);
		st_http_event(h, &ev, bytes);
	}
	st_http_free(h, true);
	return 0;
}
