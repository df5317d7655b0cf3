#include "reconciler/daemon/watch_int.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/backoff.h"
#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/engine/observe.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

/*
 * Full reconciles: which resources a run covers (backoff), coalescing
 * triggers into one follow-up, the retry timer, pre-emption by a newer
 * spec, and what a finished run changes in the daemon's state.
 */

/*
 * Back off what failed, forget what worked.  A job that ran on a spec
 * replaced since brings no failures back: the new spec gets a fresh try
 * (and a key it no longer names would wait forever).
 */
void rcw_apply_outcomes(struct rc_watch *w, const struct rc_job *j)
{
	const struct rc_cycle_result *r = &j->res;
	uint64_t now = rcw_mono(w);
	bool observed = r->observed, stale = j->ws != w->cur;

	for (size_t i = 0; i < r->n_outcomes; i++) {
		const struct rc_cycle_outcome *o = &r->outcomes[i];
		uint64_t delay;
		unsigned fails;
		char d[32];

		if (!o->failed) {
			rc_backoff_ok(&w->bo, o->key);
			continue;
		}
		/* The lease was lost: the new holder acts, not a retry. */
		if (stale || o->err.code == UTIL_EFENCED)
			continue;
		if (!strcmp(o->key, "*"))
			observed = false;
		delay = rc_backoff_fail(&w->bo, o->key, now);
		fails = rc_backoff_failures(&w->bo, o->key);
		util_log(UTIL_LOG_INFO, "backoff", o->label,
			 "%s failed %u time%s in a row; next attempt in %s",
			 o->label, fails, fails == 1 ? "" : "s",
			 util_duration_format(delay, d, sizeof(d)));
	}
	if (observed)
		rc_backoff_ok(&w->bo, "*");
}

/* Members a guard holds back in the groups of the spec in force. */
static size_t held_back_now(struct rc_watch *w)
{
	const struct spec *s = rcw_spec(w);
	size_t n = 0;

	for (size_t i = 0; i < s->n_lbs; i++) {
		const struct rc_snap_group *g =
			rc_snapshots_group(&w->seen, spec_lb_label(&s->lbs[i]));

		n += g ? g->g.held_back : 0;
	}
	return n;
}

/* Success: live state equals the spec; a guard holding back is not it. */
void rcw_success_check(struct rc_watch *w, const struct rc_cycle_result *r)
{
	if (r->status == RC_CYCLE_OK && w->bo.n == 0 && !held_back_now(w))
		w->last_success_at = rcw_wall(w);
}

static bool is_failover_key(const struct rc_watch *w, const char *key)
{
	return rcw_fo_find(w, key) != NULL;
}

/* The retry timer: when the earliest non-failover backoff ends. */
void rcw_arm_retry(struct rc_watch *w)
{
	uint64_t now = rcw_mono(w), next = 0;

	for (size_t i = 0; i < w->bo.n; i++) {
		const struct rc_backoff_entry *e = &w->bo.v[i];

		if (is_failover_key(w, e->key) || e->until_ms <= now)
			continue;
		if (!next || e->until_ms < next)
			next = e->until_ms;
	}
	if (next)
		rc_ev_timer_arm(w->retry_t, next);
	else
		rc_ev_timer_disarm(w->retry_t);
}

void rcw_on_retry(void *ctx)
{
	rcw_full_request(ctx, "retry");
}

void rcw_full_start(struct rc_watch *w)
{
	const struct spec *s = rcw_spec(w);
	uint64_t now = rcw_mono(w);
	struct rc_job *j;
	size_t n_sel = 0, n_all = 0;

	if (!w->full_pending || w->full.busy || w->stopping)
		return;
	j = util_xcalloc(1, sizeof(*j));
	j->use_lb = util_xcalloc(s->n_lbs + 1, sizeof(bool));
	j->use_eip = util_xcalloc(s->n_eips + 1, sizeof(bool));
	if (rc_backoff_ready(&w->bo, "*", now)) {
		for (size_t i = 0; i < s->n_lbs; i++) {
			n_all++;
			j->use_lb[i] = rc_backoff_ready(&w->bo,
							w->cur->lb_keys[i],
							now);
			n_sel += j->use_lb[i];
		}
		for (size_t i = 0; i < s->n_eips; i++) {
			if (s->eips[i].bind == SPEC_BIND_FAILOVER)
				continue;
			n_all++;
			j->use_eip[i] = rc_backoff_ready(&w->bo,
							 w->cur->eip_keys[i],
							 now);
			n_sel += j->use_eip[i];
		}
	} else {
		n_all = 1;
	}
	w->full_pending = false;
	if (!n_sel) {
		/* Nothing to do now: no such resources, or all waiting. */
		rc_job_free(j);
		rcw_arm_retry(w);
		return;
	}
	j->kind = RC_JOB_FULL;
	j->ws = rc_spec_ref_take(w->cur);
	j->trigger = util_xstrdup(w->full_trigger ? w->full_trigger : "?");
	j->now_ms = now;
	j->started_at = rcw_wall(w);
	j->covers_all = n_sel == n_all;
	w->preempt = 0; /* the worker is idle: nothing reads it now */
	j->drift = w->applied_gen && w->applied_gen == j->ws->gen;
	j->observe_only = !rcw_leader(w);
	util_log(UTIL_LOG_DEBUG, "reconcile_started", NULL,
		 "reconciling %zu of %zu resources (%s)", n_sel, n_all,
		 j->trigger);
	rc_worker_give(&w->full, j);
	rc_evloop_hold(w->l); /* released in on_worker */
}

void rcw_full_request(struct rc_watch *w, const char *trigger)
{
	if (w->stopping)
		return;
	w->full_pending = true;
	free(w->full_trigger);
	w->full_trigger = util_xstrdup(trigger);
	rcw_full_start(w);
}

/* A follower's reconcile only keeps what it saw, for its status. */
static void observed_done(struct rc_watch *w, struct rc_job *j)
{
	struct rc_cycle_result *r = &j->res;

	rcw_apply_outcomes(w, j);
	rc_snapshots_keep(&w->seen, r, rcw_wall(w));
	util_log(UTIL_LOG_DEBUG, "observed", NULL,
		 "not the lease holder: observed (%s), %zu change%s planned "
		 "for the holder in %llums",
		 rc_cycle_status_name(r->status), r->planned,
		 r->planned == 1 ? "" : "s", (unsigned long long)r->elapsed_ms);
	rcw_arm_retry(w);
	rcw_status_write(w);
}

void rcw_full_done(struct rc_watch *w, struct rc_job *j)
{
	struct rc_cycle_result *r = &j->res;
	enum util_log_level lvl = UTIL_LOG_INFO;

	if (j->observe_only) {
		observed_done(w, j);
		return;
	}
	rcw_count_result(w, j);
	rcw_apply_outcomes(w, j);
	rc_snapshots_keep(&w->seen, r, rcw_wall(w));
	if (r->status == RC_CYCLE_OK && j->covers_all && j->ws == w->cur)
		w->applied_gen = j->ws->gen;
	if (r->status != RC_CYCLE_OK && r->status != RC_CYCLE_PREEMPTED)
		lvl = UTIL_LOG_WARN;
	util_log(lvl, "reconcile", NULL,
		 "%s reconcile (%s): %s, %zu change%s%s in %llums",
		 j->covers_all ? "full" : "partial", j->trigger,
		 rc_cycle_status_name(r->status), r->changes,
		 r->changes == 1 ? "" : "s", r->drift ? " undoing drift" : "",
		 (unsigned long long)r->elapsed_ms);
	rcw_success_check(w, r);
	rcw_arm_retry(w);
	rcw_status_write(w);
}

/*
 * A newer spec makes the reconcile in progress moot: its waits end, the
 * steps it has not sent are skipped, and it is run again on the new spec
 * (full_request coalesces into that follow-up).  Failover is not touched.
 */
void rcw_preempt_full(struct rc_watch *w)
{
	if (!w->full.busy || w->preempt)
		return;
	util_log(UTIL_LOG_INFO, "reconcile_preempted", NULL,
		 "a newer spec is in force: the reconcile in progress stops "
		 "waiting and sends nothing more; reconciling again");
	pthread_mutex_lock(&w->sleep_m);
	w->preempt = 1;
	pthread_cond_broadcast(&w->sleep_c);
	pthread_mutex_unlock(&w->sleep_m);
}
