// SPDX-License-Identifier: Apache-2.0
/* Pairing: pair entry and return events into calls (see pairing.h). */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/capture/pairing.h"

/* A pending entry: a private copy of the ring record (header + bytes). */
struct pending {
	uint32_t probe_id;
	uint64_t kseq;
	bool dead;		/* its thread was gone at the last reap mark */
	uint64_t pos;		/* ring position of the entry */
	uint64_t seen_ns;	/* when the consumer read it */
	struct st_event *ev;
};

/* A call recorded by a previous agent: (probe, kseq), no event. */
struct skipped {
	uint32_t probe_id;
	uint64_t kseq;
	int events_left;	/* entry and return */
};

struct st_pairing {
	struct st_consume_ops ops;
	void *root;		/* tsearch tree of struct pending, by (probe, kseq) */
	size_t npending;
	void *skip_root;	/* tsearch tree of struct skipped */
	bool (*alive)(uint32_t tgid, uint32_t tid);	/* during reap_mark */
};

/* struct pending and struct skipped both start with (probe_id, kseq). */
struct call_id {
	uint32_t probe_id;
	uint64_t kseq;
};

static int pending_cmp(const void *a, const void *b)
{
	const struct call_id *x = a, *y = b;

	if (x->probe_id != y->probe_id)
		return x->probe_id < y->probe_id ? -1 : 1;
	if (x->kseq != y->kseq)
		return x->kseq < y->kseq ? -1 : 1;
	return 0;
}

struct st_pairing *st_pairing_new(const struct st_consume_ops *ops)
{
	struct st_pairing *p = calloc(1, sizeof(*p));

	if (p)
		p->ops = *ops;
	return p;
}

static bool event_size_ok(const struct st_event *ev, size_t size)
{
	uint64_t need = sizeof(*ev) + (uint64_t)ev->in_len + ev->out_len;

	return size >= sizeof(*ev) && need <= size &&
	       ev->in_len <= ST_MAX_CAPTURE && ev->out_len <= ST_MAX_CAPTURE;
}

static void call_from_entry(struct st_call *call, const struct st_event *ev)
{
	memset(call, 0, sizeof(*call));
	call->probe_id = ev->probe_id;
	call->tgid = ev->tgid;
	call->tid = ev->tid;
	memcpy(call->comm, ev->comm, sizeof(call->comm));
	call->comm[ST_COMM_LEN - 1] = '\0';
	call->kseq = ev->kseq;
	call->entry_ts = ev->ts_ns;
	call->depth = ev->depth;
	call->flags = ev->flags;
	call->in = st_event_data(ev);
	call->in_len = ev->in_len;
	call->in_want = ev->in_want;
	call->out = st_event_data(ev) + ev->in_len;
	call->out_len = ev->out_len;
	call->out_want = ev->out_want;
}

/*
 * Merge the return into the call. A capture taken at return replaces what
 * the entry had for it: the recipe takes each capture at one moment only,
 * so at most one of the two events carries bytes or flags for it.
 */
static void merge_return(struct st_call *call, const struct st_event *ev)
{
	const uint8_t *data = st_event_data(ev);

	call->return_ts = ev->ts_ns;
	call->ret = ev->ret;
	call->flags |= ev->flags;
	if (ev->in_len || ev->in_want || (ev->flags & (ST_F_IN_FAULT | ST_F_IN_TRUNC))) {
		call->in = data;
		call->in_len = ev->in_len;
		call->in_want = ev->in_want;
	}
	if (ev->out_len || ev->out_want || (ev->flags & (ST_F_OUT_FAULT | ST_F_OUT_TRUNC))) {
		call->out = data + ev->in_len;
		call->out_len = ev->out_len;
		call->out_want = ev->out_want;
	}
}

/* True (and the event is consumed) when a previous agent recorded the call. */
static bool skip_event(struct st_pairing *p, const struct st_event *ev, uint64_t pos)
{
	struct call_id key = { .probe_id = ev->probe_id, .kseq = ev->kseq };
	struct skipped **slot, *sk;

	if (!p->skip_root)
		return false;
	slot = tfind(&key, &p->skip_root, pending_cmp);
	if (!slot)
		return false;
	sk = *slot;
	if (ev->kind == ST_EV_RETURN && p->ops.skipped)
		p->ops.skipped(p->ops.ctx, ev->probe_id, ev->kseq, pos);
	if (--sk->events_left <= 0 || ev->kind == ST_EV_RETURN) {
		tdelete(sk, &p->skip_root, pending_cmp);
		free(sk);
	}
	return true;
}

int st_pairing_skip(struct st_pairing *p, uint32_t probe_id, uint64_t kseq)
{
	struct skipped *sk = malloc(sizeof(*sk)), **slot;

	if (!sk)
		return -1;
	sk->probe_id = probe_id;
	sk->kseq = kseq;
	sk->events_left = 2;
	slot = tsearch(sk, &p->skip_root, pending_cmp);
	if (!slot || *slot != sk)
		free(sk);
	return slot ? 0 : -1;
}

static int on_entry(struct st_pairing *p, const struct st_event *ev, size_t size,
		    uint64_t pos, uint64_t now_ns)
{
	struct pending *pe, **slot;

	pe = malloc(sizeof(*pe));
	if (!pe)
		return -1;
	pe->probe_id = ev->probe_id;
	pe->kseq = ev->kseq;
	pe->pos = pos;
	pe->dead = false;
	pe->seen_ns = now_ns;
	pe->ev = malloc(size);
	if (!pe->ev) {
		free(pe);
		return -1;
	}
	memcpy(pe->ev, ev, size);
	slot = tsearch(pe, &p->root, pending_cmp);
	if (!slot || *slot != pe) {
		/* a duplicate kseq cannot come from the kernel; keep the first */
		free(pe->ev);
		free(pe);
		return -1;
	}
	p->npending++;
	return 0;
}

static struct pending *take(struct st_pairing *p, uint32_t probe_id, uint64_t kseq)
{
	struct pending key = { .probe_id = probe_id, .kseq = kseq }, **slot, *pe;

	slot = tfind(&key, &p->root, pending_cmp);
	if (!slot)
		return NULL;
	pe = *slot;
	tdelete(pe, &p->root, pending_cmp);
	p->npending--;
	return pe;
}

static void on_return(struct st_pairing *p, const struct st_event *ev)
{
	struct st_call call;
	struct pending *pe = NULL;

	if (!(ev->flags & (ST_F_NO_ENTRY_STATE | ST_F_DEPTH_OVERFLOW)))
		pe = take(p, ev->probe_id, ev->kseq);
	if (pe) {
		call_from_entry(&call, pe->ev);
		merge_return(&call, ev);
		call.state = ST_CALL_COMPLETE;
	} else {
		call_from_entry(&call, ev);
		call.entry_ts = 0;
		call.in = NULL;
		call.in_len = call.in_want = call.out_len = call.out_want = 0;
		merge_return(&call, ev);
		call.state = ST_CALL_NO_ENTRY;
	}
	p->ops.call(p->ops.ctx, &call);
	if (pe) {
		free(pe->ev);
		free(pe);
	}
}

/* Collect the pending entries of one thread (or all, tid 0) for delivery. */
struct collect {
	uint32_t tid;
	struct pending **list;
	size_t n, cap;
};

static void collect_one(const void *node, VISIT which, void *arg)
{
	struct pending *pe = *(struct pending *const *)node;
	struct collect *c = arg;
	struct pending **bigger;

	if (which != postorder && which != leaf)
		return;
	if (c->tid && pe->ev->tid != c->tid)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		bigger = realloc(c->list, c->cap * sizeof(*c->list));
		if (!bigger)
			return;
		c->list = bigger;
	}
	c->list[c->n++] = pe;
}

static int by_kseq(const void *a, const void *b)
{
	return pending_cmp(*(struct pending *const *)a, *(struct pending *const *)b);
}

static void complete_incomplete(struct st_pairing *p, uint32_t tid, uint64_t exit_code,
				uint64_t ts)
{
	struct collect c = { .tid = tid };
	struct st_call call;
	size_t i;

	twalk_r(p->root, collect_one, &c);
	qsort(c.list, c.n, sizeof(*c.list), by_kseq);
	for (i = 0; i < c.n; i++) {
		struct pending *pe = c.list[i];

		tdelete(pe, &p->root, pending_cmp);
		p->npending--;
		call_from_entry(&call, pe->ev);
		call.state = ST_CALL_INCOMPLETE;
		call.ret = exit_code;
		call.return_ts = ts;
		p->ops.call(p->ops.ctx, &call);
		free(pe->ev);
		free(pe);
	}
	free(c.list);
}

int st_pairing_event(struct st_pairing *p, const struct st_event *ev, size_t size,
		     uint64_t pos, uint64_t now_ns)
{
	if (!event_size_ok(ev, size))
		return -1;
	switch (ev->kind) {
	case ST_EV_ENTRY:
		if (skip_event(p, ev, pos))
			return 0;
		return on_entry(p, ev, size, pos, now_ns);
	case ST_EV_RETURN:
		if (!(ev->flags & ST_F_NO_ENTRY_STATE) && skip_event(p, ev, pos))
			return 0;
		on_return(p, ev);
		return 0;
	case ST_EV_THREAD_EXIT:
		complete_incomplete(p, ev->tid, ev->ret, ev->ts_ns);
		break;
	default:
		break;
	}
	if (p->ops.other)
		p->ops.other(p->ops.ctx, ev, size);
	return 0;
}

int st_pairing_lost_return(struct st_pairing *p, uint32_t probe_id, uint64_t kseq)
{
	struct pending *pe = take(p, probe_id, kseq);
	struct st_call call;

	if (!pe)
		return 0;
	call_from_entry(&call, pe->ev);
	call.state = ST_CALL_NO_RETURN;
	p->ops.call(p->ops.ctx, &call);
	free(pe->ev);
	free(pe);
	return 1;
}

/* ---- dead threads ---- */

static void mark_pending(const void *node, VISIT which, void *arg)
{
	struct pending *pe = *(struct pending *const *)node;
	struct st_pairing *p = arg;

	if (which == postorder || which == leaf)
		pe->dead = !p->alive(pe->ev->tgid, pe->ev->tid);
}

void st_pairing_reap_mark(struct st_pairing *p, bool (*alive)(uint32_t tgid, uint32_t tid))
{
	p->alive = alive;
	if (p->root)
		twalk_r(p->root, mark_pending, p);
}

struct dead_list {
	struct pending **items;
	size_t n, cap;
};

static void collect_dead(const void *node, VISIT which, void *arg)
{
	struct dead_list *d = arg;
	struct pending *item = *(struct pending *const *)node, **bigger;

	if (which != postorder && which != leaf)
		return;
	if (!item->dead)
		return;
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		bigger = realloc(d->items, d->cap * sizeof(*d->items));
		if (!bigger)
			return;
		d->items = bigger;
	}
	d->items[d->n++] = item;
}

void st_pairing_reap_settle(struct st_pairing *p, uint64_t now_tai)
{
	struct dead_list d = { 0 };
	struct st_call call;
	size_t i;

	if (p->root)
		twalk_r(p->root, collect_dead, &d);
	for (i = 0; i < d.n; i++) {
		struct pending *pe = d.items[i];

		tdelete(pe, &p->root, pending_cmp);
		p->npending--;
		call_from_entry(&call, pe->ev);
		call.state = ST_CALL_INCOMPLETE;
		call.return_ts = now_tai;
		p->ops.call(p->ops.ctx, &call);
		free(pe->ev);
		free(pe);
	}
	free(d.items);
}

struct safe_pos {
	uint64_t pos;
	uint64_t now_ns;
	uint64_t max_age_ns;
};

static void oldest_pos(const void *node, VISIT which, void *arg)
{
	const struct pending *pe = *(struct pending *const *)node;
	struct safe_pos *sp = arg;

	if (which != postorder && which != leaf)
		return;
	if (sp->now_ns - pe->seen_ns > sp->max_age_ns)
		return;
	if (pe->pos < sp->pos)
		sp->pos = pe->pos;
}

uint64_t st_pairing_safe_pos(const struct st_pairing *p, uint64_t read_pos,
			     uint64_t now_ns, uint64_t max_age_ns)
{
	struct safe_pos sp = { .pos = read_pos, .now_ns = now_ns, .max_age_ns = max_age_ns };

	if (p->root)
		twalk_r(p->root, oldest_pos, &sp);
	return sp.pos;
}

void st_pairing_flush(struct st_pairing *p)
{
	complete_incomplete(p, 0, 0, 0);
}

size_t st_pairing_pending(const struct st_pairing *p)
{
	return p->npending;
}

void st_pairing_free(struct st_pairing *p)
{
	struct collect c = { .tid = 0 };
	size_t i;

	if (!p)
		return;
	twalk_r(p->root, collect_one, &c);
	for (i = 0; i < c.n; i++) {
		tdelete(c.list[i], &p->root, pending_cmp);
		free(c.list[i]->ev);
		free(c.list[i]);
	}
	free(c.list);
	tdestroy(p->skip_root, free);
	free(p);
}
