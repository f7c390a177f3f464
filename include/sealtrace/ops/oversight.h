/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Oversight: a human's decision about a recorded inference (confirmed, or
 * overridden), submitted to the running agent over a local Unix socket and
 * recorded as an `oversight` record in the system stream. The agent is the
 * only writer of the log, so the request goes to it rather than to files.
 *
 * Protocol: one JSON object per connection, one line:
 *   {"event_id":"<uuid>","override":true|false,"actor":"...","note":"..."}
 *   {"type":"log_access","action":"export","filter":"--stream decision"}
 * The second kind is sent by export, prove and lookup so that reading the
 * log leaves a `log_access` record; who asked is taken from the socket's
 * peer credentials, not from the request. The agent answers one line:
 * "ok <system seq>" once the record is durable, or "error: <what>".
 */
#ifndef SEALTRACE_OVERSIGHT_H
#define SEALTRACE_OVERSIGHT_H

#include <stdbool.h>
#include <stddef.h>

#define ST_OVERSIGHT_SOCK	"agent/oversight.sock"	/* under state_dir */
#define ST_OVERSIGHT_ACTOR_MAX	128
#define ST_OVERSIGHT_NOTE_MAX	1024

enum st_agent_req_kind {
	ST_REQ_OVERSIGHT = 0,
	ST_REQ_LOG_ACCESS,
};

struct st_oversight_req {
	enum st_agent_req_kind kind;
	char action[16];		/* log_access: export | prove | lookup */
	char filter[512];		/* log_access: what was selected */
	int peer_uid, peer_pid;		/* filled by the agent from SO_PEERCRED */
	char event_id[37];		/* the decision's event_id (UUID text) */
	bool override;			/* the human overrode the output */
	char actor[ST_OVERSIGHT_ACTOR_MAX];
	char note[ST_OVERSIGHT_NOTE_MAX];	/* "" when none */
};

/* True for 8-4-4-4-12 hex digits (any case). */
bool st_oversight_uuid_ok(const char *s);

/* Parse and validate one request line. 0, or -1 with a message. */
int st_oversight_parse(const char *line, size_t len, struct st_oversight_req *req,
		       char *err, size_t errlen);

/* The request as one JSON line with newline (for the client). */
int st_oversight_format(const struct st_oversight_req *req, char *buf, size_t len);

/* Agent side: a non-blocking listening socket at path (0600). fd or -1. */
int st_oversight_listen(const char *path, char *err, size_t errlen);

/* Handle one request: fill reply ("ok N" / "error: ..."). */
typedef void (*st_oversight_fn)(void *ctx, const struct st_oversight_req *req, char *reply,
				size_t replylen);

/* Accept and answer every connection waiting on lfd; never blocks long. */
void st_oversight_serve(int lfd, st_oversight_fn fn, void *ctx);

/* Client side: send req, read the reply. 0, or -1 when the agent is unreachable. */
int st_oversight_submit(const char *path, const struct st_oversight_req *req, char *reply,
			size_t replylen, char *err, size_t errlen);

/*
 * For the verbs that read a log (export, prove, lookup): ask the agent
 * running on state_dir to record a log_access. When no agent answers,
 * leave a pending-access note (log/access.h) that the log seals into a
 * log_access record at its next open or tick. 0 recorded (or, run by
 * root, noted on stderr that it could not be); -1 when a reader through
 * the setgid binary could not be recorded: the verb must not read.
 */
int st_note_log_access(const char *state_dir, const char *action, const char *filter);

#endif /* SEALTRACE_OVERSIGHT_H */
