/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics: /metrics (Prometheus text of st_status_to_prometheus) and
 * /healthz (st_status_health) over HTTP, served by libmicrohttpd from the
 * last snapshot the agent published.
 */
#ifndef SEALTRACE_METRICS_H
#define SEALTRACE_METRICS_H

#include <stddef.h>

#include "sealtrace/ops/status.h"

struct st_metrics;

/* listen is "HOST:PORT"; serves the latest snapshot given to _publish. */
int st_metrics_start(struct st_metrics **out, const char *listen, char *err, size_t errlen);
void st_metrics_publish(struct st_metrics *m, const struct st_status *s);
/* More exposition text served after the snapshot's (copied; NULL clears). */
void st_metrics_publish_text(struct st_metrics *m, const char *text, size_t len);
void st_metrics_stop(struct st_metrics *m);
/* The port actually bound (useful after listening on port 0); -1 unknown. */
int st_metrics_port(const struct st_metrics *m);

#endif /* SEALTRACE_METRICS_H */
