/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The witness (sealtrace witness): an off-node service with its own
 * Ed25519 key that speaks C2SP tlog-witness add-checkpoint over HTTP
 * (libmicrohttpd) and keeps its state in PostgreSQL (schema v2):
 *
 *   POST /add-checkpoint   body: addckpt.h
 *   200  cosignature line(s) (c2sp.org/tlog-cosignature, cosignature/v1)
 *   400  malformed body, or old size beyond the checkpoint
 *   403  not signed by a key registered for the log
 *   404  a log nobody registered
 *   409  old size is not the size last cosigned; body: that size
 *        (Content-Type text/x.tlog.size)
 *   422  the consistency proof does not verify
 *
 * The check and the new state are one transaction under the log's row
 * lock, so two requests cannot both move a log, and a crash leaves the old
 * state or the new one. Every cosignature also goes to
 * sealtrace.cosignatures.
 *
 * The client half (the shipper submits every checkpoint) posts a body and
 * reads the status and body back (plain HTTP/1.1; libhttp-parser).
 */
#ifndef SEALTRACE_WITNESS_H
#define SEALTRACE_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/json.h"

/* POST body to url ("http://host:port/add-checkpoint"). 0 with *status and
 * the response body in resp; -1 with err (connection, timeout, parse). */
int st_witness_post(const char *url, const char *body, size_t len,
		    unsigned timeout_ms, int *status, struct st_buf *resp,
		    char *err, size_t errlen);

#endif /* SEALTRACE_WITNESS_H */
