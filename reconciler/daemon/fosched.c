#include "reconciler/daemon/watch_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/failover.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/status.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

/*
 * Failover on the loop: deciding per address from the cached state
 * (failover.h), the timers that re-decide (damping, backoff, spacing),
 * the failover worker's jobs and what they bring back.
 */

static void fo_inputs(const struct rc_fot_addr *a, struct rc_fo_cand *fc,
		      struct rc_fo_input *in, uint64_t now)
{
	int holder = -1;

	for (size_t k = 0; k < a->n; k++) {
		fc[k].health = a->c[k].hc.state;
		fc[k].running = rc_fo_running(a->c[k].observed, a->c[k].state);
		if (a->holder && !strcmp(a->holder, a->c[k].instance))
			holder = (int)k;
	}
	rc_fo_input_init(in, rcw_fo_spec(a), fc, holder, a->bound, now,
			 a->last_move_ms);
}

static uint64_t backoff_until(const struct rc_watch *w, const char *key)
{
	for (size_t i = 0; i < w->bo.n; i++)
		if (!strcmp(w->bo.v[i].key, key))
			return w->bo.v[i].until_ms;
	return 0;
}

/* Ask for a failover cycle of a, now or as soon as allowed. */
static void fo_request(struct rc_fot_addr *a, bool force)
{
	struct rc_watch *w = a->w;
	uint64_t now = rcw_mono(a->w), at = now;

	/* A follower observes at resyncs; the lease's gain asks for all. */
	if (w->stopping || !rcw_leader(w))
		return;
	if (!force && a->not_before_ms > at)
		at = a->not_before_ms;
	if (!rc_backoff_ready(&w->bo, a->key, now) &&
	    backoff_until(w, a->key) > at)
		at = backoff_until(w, a->key);
	if (at > now) {
		rc_ev_timer_arm_before(a->recheck, at);
		return;
	}
	a->pending = true;
	rcw_fo_start(w);
}

void rcw_fo_evaluate(struct rc_fot_addr *a)
{
	struct rc_watch *w = a->w;
	struct rc_fo_cand *cands;
	struct rc_fo_input in;
	struct rc_fo_decision d;
	uint64_t now = rcw_mono(a->w);

	if (w->stopping || !a->holder_known || a->in_flight)
		return;
	cands = util_xcalloc(a->n + 1, sizeof(*cands));
	fo_inputs(a, cands, &in, now);
	rc_fo_decide(&in, &d);
	a->last = d;
	a->decided = true;
	if (d.verdict != RC_FO_ALL_DOWN)
		a->last_alert_ms = 0;
	switch (d.verdict) {
	case RC_FO_MOVE:
		fo_request(a, false);
		break;
	case RC_FO_DAMPED:
		if (a->damped_logged != d.retry_at_ms) {
			a->damped_logged = d.retry_at_ms;
			rc_fo_log_damped(a->label, a->c[d.target].instance,
					 d.reason, now - a->last_move_ms,
					 d.retry_at_ms - now);
		}
		rc_ev_timer_arm_before(a->recheck, d.retry_at_ms);
		break;
	case RC_FO_ALL_DOWN:
		if (!a->last_alert_ms ||
		    now - a->last_alert_ms >= w->cfg.resync_ms) {
			a->last_alert_ms = now;
			util_log(UTIL_LOG_ERROR, "all_candidates_down",
				 a->label,
				 "no candidate of %s is up and running; "
				 "leaving it on %s",
				 a->label, a->holder ? a->holder : "nothing");
		}
		break;
	case RC_FO_KEEP:
	case RC_FO_WAITING:
		break;
	}
	free(cands);
}

void rcw_fo_recheck(void *ctx)
{
	struct rc_fot_addr *a = ctx;

	/* Never observed (its first cycle failed): try again. */
	if (!a->holder_known && !a->in_flight)
		fo_request(a, false);
	else
		rcw_fo_evaluate(a);
}

/* A failover cycle for every address asking for one. */
void rcw_fo_start(struct rc_watch *w)
{
	struct rc_job *j;
	size_t n = 0, total = 0, h = 0;
	uint64_t now = rcw_mono(w);

	if (w->fast.busy || w->stopping)
		return;
	for (size_t i = 0; i < w->n_fo; i++) {
		if (!w->fo[i]->pending)
			continue;
		n++;
		total += w->fo[i]->n;
	}
	if (!n)
		return;
	j = util_xcalloc(1, sizeof(*j));
	j->kind = RC_JOB_FAILOVER;
	/* A follower learns holders and addresses, so its probes run. */
	j->observe_only = !rcw_leader(w);
	j->ws = rc_spec_ref_take(w->cur);
	j->trigger = util_xstrdup("failover");
	j->now_ms = now;
	j->started_at = rcw_wall(w);
	j->in = util_xcalloc(n + 1, sizeof(*j->in));
	j->holders = util_xcalloc(n + 1, sizeof(char *));
	j->health = util_xcalloc(total + 1, sizeof(*j->health));
	for (size_t i = 0; i < w->n_fo; i++) {
		struct rc_fot_addr *a = w->fo[i];
		struct rc_cycle_fo_in *in;

		if (!a->pending)
			continue;
		a->pending = false;
		a->in_flight = true;
		in = &j->in[j->n_in];
		in->eip = a->eip;
		in->health = &j->health[h];
		for (size_t k = 0; k < a->n; k++)
			j->health[h++] = a->c[k].hc.state;
		in->last_move_ms = a->last_move_ms;
		in->holder_known = a->holder_known;
		j->holders[j->n_in] = util_xstrdup_or_null(a->holder);
		in->holder = j->holders[j->n_in];
		j->n_in++;
	}
	rc_worker_give(&w->fast, j);
	rc_evloop_hold(w->l); /* released in on_worker */
}

/* Every failover address, for the resync and a new spec. */
void rcw_fo_request_all(struct rc_watch *w)
{
	uint64_t now = rcw_mono(w);

	for (size_t i = 0; i < w->n_fo; i++) {
		struct rc_fot_addr *a = w->fo[i];

		if (rc_backoff_ready(&w->bo, a->key, now))
			a->pending = true;
	}
	rcw_fo_start(w);
}

void rcw_fo_done(struct rc_watch *w, struct rc_job *j)
{
	uint64_t now = rcw_mono(w);

	if (!j->observe_only)
		rcw_count_result(w, j);
	rcw_apply_outcomes(w, j);
	for (size_t i = 0; i < j->res.n_fo; i++) {
		const struct rc_cycle_fo_out *o = &j->res.fo[i];
		struct rc_fot_addr *a = o->addr.key
						? rcw_fo_find(w, o->addr.key)
						: NULL;
		const struct spec_failover *f;

		if (!a)
			continue; /* gone with a new spec */
		f = rcw_fo_spec(a);
		a->in_flight = false;
		a->not_before_ms = now + f->interval_ms;
		if (o->observed)
			rc_fot_observed(a, o);
		if (o->moved) {
			a->last_move_ms = now;
			a->last_move_at = rcw_wall(w);
			if (!o->drift &&
			    o->decision.reason != RC_FO_WHY_NOT_CANDIDATE &&
			    o->decision.reason != RC_FO_WHY_UNBOUND)
				a->moves++;
		}
		free(a->last_error);
		a->last_error = o->failed ? rc_status_err_line(&o->err) : NULL;
		if (o->failed && !a->holder_known)
			fo_request(a, false); /* after its backoff */
		if (o->observed)
			a->last = o->decision;
	}
	/* Re-evaluate with what was just seen (alerts, damping, retries). */
	for (size_t i = 0; i < w->n_fo; i++)
		if (!w->fo[i]->in_flight)
			rcw_fo_evaluate(w->fo[i]);
	if (!j->observe_only)
		rcw_success_check(w, &j->res);
	rcw_arm_retry(w);
	rcw_status_write(w);
}
