/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status: the agent's completeness snapshot, one source for three readers.
 *
 * The agent fills a struct st_status once a second and
 *  - writes it to <state_dir>/agent/status.json (atomically: tmp + rename),
 *    which `sealtrace status` reads;
 *  - serves it as Prometheus text on /metrics and as /healthz (metrics.h).
 *
 * Coverage of a probe = persisted / hits, where persisted counts calls that
 * have an inference or incomplete record and lost counts calls accounted in
 * loss records; the agent's invariant is hits == persisted + lost + in_flight.
 */
#ifndef SEALTRACE_STATUS_H
#define SEALTRACE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sealtrace/capture/capture.h"	/* enum st_loss_reason */

#define ST_STATUS_MAX_PROBES 256

struct st_probe_status {
	char target[128];
	char probe[256];		/* "target:symbol" */
	bool attached;
	uint64_t hits;			/* kernel: calls seen */
	uint64_t persisted;		/* calls with a record in the log */
	uint64_t lost[ST_LOSS__COUNT];	/* calls accounted in loss records */
	uint64_t in_flight;		/* entered, not yet returned */
	uint64_t truncated;
	uint64_t last_event_ns;		/* UTC ns of the last recorded call, 0 never */
};

/*
 * HTTP wire capture (targets with http:), all targets together. Present
 * (st_status.has_wire) only while the agent runs wire capture. The lost
 * figures are the kernel's counters as accounted in loss records (probe
 * "wire"); the others are read fresh each snapshot.
 */
struct st_wire_status {
	uint64_t calls;			/* kernel: socket calls that moved bytes on
					 * a tracked connection */
	uint64_t events;		/* kernel: events written to the wire ring */
	uint64_t recorded;		/* exchanges with an inference record */
	uint64_t incomplete;		/* exchanges with an incomplete record */
	uint64_t excluded;		/* exchanges not inferences (paths, methods) */
	uint64_t write_failed;		/* exchanges whose record could not be written */
	uint64_t requests_lost;		/* requests in events the ring could not take */
	uint64_t events_lost;		/* events the ring could not take */
	uint64_t bytes_lost;		/* data bytes in those */
	uint64_t connections_untracked;	/* connections the kernel table could not hold */
	uint64_t tls_unattributed;	/* SSL_read/SSL_write calls without a known socket */
	uint64_t unattributed_bytes;	/* moved by calls whose buffer is not known */
	uint64_t hole_bytes;		/* moved past the per-call capture limit */
	uint64_t sendfile_bytes;	/* sendfile()/splice(): length only */
	uint64_t connections_open;	/* connections being reassembled */
	uint64_t ringbuf_size;		/* the wire ring */
	uint64_t ringbuf_used;
};

struct st_status {
	int pid;			/* the agent's pid */
	uint64_t updated_ns;		/* UTC ns of this snapshot */
	uint64_t started_ns;		/* UTC ns the agent started */
	uint64_t interval_ns;		/* how often the snapshot is refreshed */
	char node_id[128];
	char state_dir[1024];
	uint64_t chain_seq[2];		/* next seq: [0] decision, [1] system */
	uint64_t events_persisted[2];	/* records written: [0] decision, [1] system */
	uint64_t last_checkpoint_ns;	/* UTC ns, 0 never */
	uint64_t ringbuf_size;
	uint64_t ringbuf_used;
	bool canary_ok;			/* kernel -> ring buffer -> agent path alive */
	uint64_t canary_last_ns;	/* UTC ns the canary last came back */
	uint64_t lifecycle_lost;	/* discovery events that did not fit their ring */
	bool has_wire;			/* the agent runs wire capture: wire is set */
	struct st_wire_status wire;
	size_t nprobes;
	struct st_probe_status probes[ST_STATUS_MAX_PROBES];
};

/* Coverage in percent (100.0 when nothing was seen). */
double st_probe_coverage(const struct st_probe_status *p);

/* Sum of p->lost over all reasons. */
uint64_t st_probe_lost_total(const struct st_probe_status *p);

/* JSON text of a snapshot (malloc'd, caller frees); NULL on OOM. */
char *st_status_to_json(const struct st_status *s);

/* The wire section as one JSON object (status.json's keys) on f. */
void st_wire_status_fputs(FILE *f, const struct st_wire_status *w);

/* Parse what st_status_to_json wrote. -1 with a message on bad input. */
int st_status_from_json(const char *text, struct st_status *s, char *err, size_t errlen);

/* Write <state_dir>/agent/status.json atomically. */
int st_status_write(const struct st_status *s, char *err, size_t errlen);

/* Read <state_dir>/agent/status.json back. -1 with "<path>: what" in err. */
int st_status_read(const char *state_dir, struct st_status *s, char *err, size_t errlen);

/* Prometheus text exposition of a snapshot (malloc'd, caller frees). */
char *st_status_to_prometheus(const struct st_status *s);

/* A snapshot older than this (3 x interval, 1 s if unset) means the agent is down. */
uint64_t st_status_stale_after_ns(const struct st_status *s);
/*
 * /healthz verdict for a snapshot at time now_ns (UTC): 0 healthy, else -1
 * with a one-line reason. s may be NULL (nothing published yet).
 */
int st_status_health(const struct st_status *s, uint64_t now_ns, char *why, size_t whylen);

#endif /* SEALTRACE_STATUS_H */
