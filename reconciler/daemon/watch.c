#include "reconciler/daemon/watch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/backoff.h"
#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/failover.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/httpd.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "reconciler/daemon/probe.h"
#include "reconciler/daemon/snapshots.h"
#include "reconciler/daemon/spec_ref.h"
#include "reconciler/daemon/specwatch.h"
#include "reconciler/daemon/status.h"
#include "reconciler/daemon/workers.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/banned.h"

/* Status writes caused by probes: at most one per this. */
#define STATUS_MIN_INTERVAL_MS 1000

/* --- failover state, owned by the loop ------------------------------------ */

/* --- the daemon ------------------------------------------------------------- */

enum file_state {
	FILE_OK = 0,
	FILE_INVALID,
	FILE_MISSING,
	FILE_EMPTY,
	FILE_UNREADABLE,
};

static const char *file_state_name(enum file_state f)
{
	switch (f) {
	case FILE_OK:
		return "ok";
	case FILE_INVALID:
		return "invalid";
	case FILE_MISSING:
		return "missing";
	case FILE_EMPTY:
		return "empty";
	case FILE_UNREADABLE:
		return "unreadable";
	}
	return "?";
}

struct rc_watch {
	struct rc_watch_config cfg;
	char *initial_region;
	struct prov *p;
	struct rc_evloop *l;
	struct rc_prober *pr;
	struct rc_awsprober *ap;
	struct rc_specwatch *sw;
	int sigfd, evfd;
	struct rc_ev_timer *debounce_t, *resync_t, *retry_t, *status_t, *stop_t;
	struct rc_debounce deb;
	uint64_t rng;

	struct rc_spec_ref *cur;
	char seen_sha[UTIL_SHA256_HEX_SIZE]; /* file content last read */
	/*
	 * The spec generation last applied whole.  Drift is a difference
	 * found while that generation is still in force: moor left live
	 * state as it declares, so only someone else changed it.  A spec
	 * edited back to an earlier text is a new generation, not drift.
	 */
	uint64_t applied_gen;
	enum file_state file;
	char *file_error;
	time_t spec_loaded_at;

	struct rc_backoff bo;
	struct rc_fot_addr **fo;
	size_t n_fo;
	struct rc_worker full, fast;
	bool full_pending;
	char *full_trigger;

	bool stopping, abandoned;
	volatile sig_atomic_t cancel;
	/* A newer spec is in force: the full worker's reconcile is moot. */
	volatile sig_atomic_t preempt;
	pthread_mutex_t sleep_m;
	pthread_cond_t sleep_c;
	struct util_clock wclock; /* the failover worker's */
	struct util_clock fclock; /* the full worker's: preempt ends sleeps */

	/* status */
	time_t started_at;
	time_t last_reconcile_at, last_success_at, last_error_at;
	char *last_reconcile_trigger;
	const char *last_reconcile_result;
	size_t last_reconcile_changes;
	size_t last_reconcile_held_back;
	uint64_t last_reconcile_ms;
	char *last_error, *last_error_resource, *last_error_code,
		*last_error_rid;
	uint64_t n_ok, n_error, n_refused, n_drift;
	struct rc_snapshots seen; /* what the last full reconciles saw */
	uint64_t last_status_ms;
	bool status_warned, metrics_warned;
};

static const struct spec *cur_spec(const struct rc_watch *w)
{
	return w->cur->s;
}

static double rnd(struct rc_watch *w)
{
	/* xorshift64*: the resync jitter needs no more. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (double)((w->rng * 2685821657736338717ULL) >> 11) /
	       (double)(1ULL << 53);
}

static void status_write(struct rc_watch *w);
static void status_soon(struct rc_watch *w);
static void full_request(struct rc_watch *w, const char *trigger);
static void fo_request_all(struct rc_watch *w);
static void fo_evaluate(struct rc_fot_addr *a);
static void fo_start(struct rc_watch *w);
static void arm_retry(struct rc_watch *w);
static void maybe_finish(struct rc_watch *w);

static void set_last_error(struct rc_watch *w, const struct util_err *e,
			   const char *resource)
{
	if (!util_err_isset(e))
		return;
	free(w->last_error);
	free(w->last_error_resource);
	free(w->last_error_code);
	free(w->last_error_rid);
	w->last_error = rc_status_err_line(e);
	w->last_error_resource = util_xstrdup_or_null(resource);
	w->last_error_code = e->aws_code[0] ? util_xstrdup(e->aws_code) : NULL;
	w->last_error_rid = e->request_id[0] ? util_xstrdup(e->request_id)
					     : NULL;
	w->last_error_at = time(NULL);
}

/* --- worker threads ------------------------------------------------------- */

static uint64_t wc_mono(void *ctx)
{
	(void)ctx;
	return util_mono_ms();
}

static time_t wc_wall(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

/*
 * The engine's sleeps (waits, retries) end at once when stopping, and
 * the full worker's also when a newer spec preempts its reconcile.
 */
static void sleep_unless(struct rc_watch *w, uint64_t ms,
			 const volatile sig_atomic_t *also)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->sleep_m);
	while (!w->cancel && !(also && *also))
		if (pthread_cond_timedwait(&w->sleep_c, &w->sleep_m, &ts) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&w->sleep_m);
}

static void wc_sleep(void *ctx, uint64_t ms)
{
	sleep_unless(ctx, ms, NULL);
}

static void wc_sleep_full(void *ctx, uint64_t ms)
{
	struct rc_watch *w = ctx;

	sleep_unless(w, ms, &w->preempt);
}

static void run_job(void *ctx, struct rc_job *j)
{
	struct rc_watch *w = ctx;
	struct rc_cycle_opts o = { 0 };

	o.concurrency = w->cfg.concurrency;
	o.has_max_changes = w->cfg.has_max_changes;
	o.max_changes = w->cfg.max_changes;
	o.region = w->cfg.region;
	o.clock = j->kind == RC_JOB_FULL ? &w->fclock : &w->wclock;
	o.cancel = &w->cancel;
	o.preempt = j->kind == RC_JOB_FULL ? &w->preempt : NULL;
	if (j->kind == RC_JOB_FULL)
		rc_cycle_full(w->p, j->ws->s, j->use_lb, j->use_eip, j->drift,
			      &o, &j->res);
	else
		rc_cycle_failover(w->p, j->ws->s, j->in, j->n_in, j->now_ms, &o,
				  &j->res);
}

/* --- failover table --------------------------------------------------------- */

static const struct spec_failover *fo_spec(const struct rc_fot_addr *a)
{
	return &cur_spec(a->w)->eips[a->eip].failover;
}

static const struct spec_probe *cand_probe(const struct rc_fot_addr *a,
					   size_t k)
{
	const struct spec_failover *f = fo_spec(a);

	if (f->candidates[k].probe.kind != SPEC_PROBE_NONE)
		return &f->candidates[k].probe;
	return &f->probe;
}

static struct rc_fot_addr *fo_find(const struct rc_watch *w, const char *key)
{
	return rc_fot_find(w->fo, w->n_fo, key);
}

static void fo_tick(void *ctx);
static void fo_recheck(void *ctx);

/*
 * The failover table for the spec in force, keeping what is known (health,
 * holder, damping) of addresses and candidates that stay.
 */
static void fo_rebuild(struct rc_watch *w)
{
	const struct spec *s = cur_spec(w);
	struct rc_fot_addr **old = w->fo;
	size_t n_old = w->fo ? w->n_fo : 0;
	uint64_t now = util_mono_ms();

	w->fo = util_xcalloc(s->n_eips + 1, sizeof(*w->fo));
	w->n_fo = 0;
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct spec_eip *e = &s->eips[i];
		struct rc_fot_addr *a;

		if (e->bind != SPEC_BIND_FAILOVER)
			continue;
		a = rc_fot_addr_new(w->cur, i,
				    rc_fot_find(old, n_old,
						w->cur->eip_keys[i]));
		a->w = w;
		a->tick = rc_ev_timer_new(w->l, fo_tick, a);
		a->recheck = rc_ev_timer_new(w->l, fo_recheck, a);
		/* Spread the first rounds a little over the interval. */
		rc_ev_timer_arm(a->tick, now + (uint64_t)(rnd(w) *
							  (double)e->failover
								  .interval_ms /
							  4));
		w->fo[w->n_fo++] = a;
	}
	for (size_t k = 0; k < n_old; k++)
		rc_fot_addr_free(old[k]);
	free(old);
}

/* --- probes ------------------------------------------------------------------ */

static void on_probe(void *ctx, const struct rc_probe_result *r)
{
	struct rc_fot_cand *c = ctx;
	struct rc_fot_addr *a = c->a;
	struct rc_watch *w = a->w;
	const struct spec_failover *f = fo_spec(a);
	char streak[16];

	c->probe = NULL;
	free(c->last_result);
	c->last_result = util_xstrdup(r->detail);
	c->last_probe_at = time(NULL);
	util_log(UTIL_LOG_DEBUG, "probe", a->label, "%s %s: %s (%llums)",
		 c->instance, r->up ? "passed" : "failed", r->detail,
		 (unsigned long long)r->elapsed_ms);
	if (rc_hc_record(&c->hc, r->up, f->fall, f->rise)) {
		bool up = c->hc.state == RC_HEALTH_UP;
		const char *fields[] = {
			"instance", c->instance,
			"probe",    c->probe_desc ? c->probe_desc : "?",
			"result",   r->detail,
			"streak",   streak,
			NULL
		};

		if (snprintf(streak, sizeof(streak), "%u",
			     up ? c->hc.ok_streak : c->hc.fail_streak) < 0)
			streak[0] = '\0';
		util_log_fields(up ? UTIL_LOG_INFO : UTIL_LOG_WARN,
				up ? "probe_up" : "probe_down", a->label,
				fields,
				"candidate %s of %s is %s after %s %s in a "
				"row (%s)",
				c->instance, a->label, up ? "up" : "down",
				streak, up ? "passed probes" : "failed probes",
				r->detail);
		status_soon(w);
	}
	/*
	 * Decide once the round is complete: a candidate whose probe of
	 * this round is still out may be failing too (two servers that die
	 * together must give "all down", not a move to the second).
	 */
	for (size_t k = 0; k < a->n; k++)
		if (a->c[k].probe)
			return;
	if (a->aws)
		return;
	fo_evaluate(a);
}

/* A round of AWS probes answered: up and down count as probe results. */
static void on_aws_probe(void *ctx, struct rc_aws_ask *asks, size_t n)
{
	struct rc_fot_addr *a = ctx;

	for (size_t i = 0; i < n; i++) {
		struct rc_fot_cand *c = &a->c[asks[i].cand];
		struct rc_probe_result r = { .up = asks[i].verdict ==
						   RC_AWS_UP };

		memcpy(r.detail, asks[i].detail, sizeof(r.detail));
		if (asks[i].verdict != RC_AWS_KEEP) {
			on_probe(c, &r);
			continue;
		}
		if (asks[i].read_failed)
			util_log(UTIL_LOG_WARN, "probe_failed", a->label,
				 "cannot probe %s: %s", c->instance, r.detail);
		free(c->last_result);
		c->last_result = util_xstrdup(r.detail);
		c->last_probe_at = time(NULL);
	}
	a->aws = NULL;
	for (size_t k = 0; k < a->n; k++)
		if (a->c[k].probe)
			return;
	fo_evaluate(a);
}

/* One read per resource for a's candidates probed through AWS. */
static void fo_aws_round(struct rc_fot_addr *a)
{
	struct rc_aws_ask *asks;
	size_t n = 0;

	if (a->aws)
		return; /* the last round is still out: not doubled */
	asks = util_xcalloc(a->n + 1, sizeof(*asks));
	for (size_t k = 0; k < a->n; k++) {
		struct rc_fot_cand *c = &a->c[k];
		const struct spec_probe *sp = cand_probe(a, k);

		if (!spec_probe_reads_aws(sp->kind) || !c->observed ||
		    c->state != PROV_INSTANCE_RUNNING)
			continue;
		asks[n++] = (struct rc_aws_ask){ .kind = sp->kind,
						 .ref = sp->aws_ref,
						 .instance = c->instance,
						 .cand = k };
		free(c->probe_desc);
		c->probe_desc = rc_aws_describe(sp);
	}
	if (n)
		a->aws = rc_awsprober_submit(a->w->ap, asks, n, on_aws_probe,
					     a);
	free(asks);
}

static void fo_tick(void *ctx)
{
	struct rc_fot_addr *a = ctx;
	struct rc_watch *w = a->w;
	const struct spec_failover *f = fo_spec(a);

	if (w->stopping)
		return;
	rc_ev_timer_arm_in(a->tick, f->interval_ms);
	for (size_t k = 0; k < a->n; k++) {
		struct rc_fot_cand *c = &a->c[k];
		struct rc_probe_target t;
		struct util_err e = UTIL_ERR_INIT;
		char *owned = NULL;

		/*
		 * Only running instances whose address a failover cycle has
		 * looked up; a probe still in flight is not doubled (the
		 * spec keeps timeouts below the interval).
		 */
		if (c->probe || !c->observed ||
		    c->state != PROV_INSTANCE_RUNNING)
			continue;
		if (rc_probe_target_for(cand_probe(a, k), c->private_ip,
					f->timeout_ms, &t, &owned, &e) < 0)
			continue;
		free(c->probe_desc);
		c->probe_desc = rc_probe_describe(&t);
		if (rc_probe_start(w->pr, &t, on_probe, c, &c->probe, &e) < 0)
			util_log(UTIL_LOG_WARN, "probe_failed", a->label,
				 "cannot probe %s: %s", c->instance, e.msg);
		free(owned);
	}
	fo_aws_round(a);
}

/* --- failover decisions on the loop -------------------------------------- */

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
	rc_fo_input_init(in, fo_spec(a), fc, holder, a->bound, now,
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
	uint64_t now = util_mono_ms(), at = now;

	if (w->stopping)
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
	fo_start(w);
}

static void fo_evaluate(struct rc_fot_addr *a)
{
	struct rc_watch *w = a->w;
	struct rc_fo_cand *cands;
	struct rc_fo_input in;
	struct rc_fo_decision d;
	uint64_t now = util_mono_ms();

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

static void fo_recheck(void *ctx)
{
	struct rc_fot_addr *a = ctx;

	/* Never observed (its first cycle failed): try again. */
	if (!a->holder_known && !a->in_flight)
		fo_request(a, false);
	else
		fo_evaluate(a);
}

/* A failover cycle for every address asking for one. */
static void fo_start(struct rc_watch *w)
{
	struct rc_job *j;
	size_t n = 0, total = 0, h = 0;
	uint64_t now = util_mono_ms();

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
	j->ws = rc_spec_ref_take(w->cur);
	j->trigger = util_xstrdup("failover");
	j->now_ms = now;
	j->started_at = time(NULL);
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
}

/* Every failover address, for the resync and a new spec. */
static void fo_request_all(struct rc_watch *w)
{
	uint64_t now = util_mono_ms();

	for (size_t i = 0; i < w->n_fo; i++) {
		struct rc_fot_addr *a = w->fo[i];

		if (rc_backoff_ready(&w->bo, a->key, now))
			a->pending = true;
	}
	fo_start(w);
}

static void count_result(struct rc_watch *w, const struct rc_job *j)
{
	const struct rc_cycle_result *r = &j->res;

	switch (r->status) {
	case RC_CYCLE_OK:
		w->n_ok++;
		break;
	case RC_CYCLE_REFUSED:
		w->n_refused++;
		break;
	case RC_CYCLE_ERROR:
	case RC_CYCLE_CANCELED:
		w->n_error++;
		break;
	case RC_CYCLE_PREEMPTED: /* neither: the newer spec runs next */
		break;
	}
	w->n_drift += r->drift;
	w->last_reconcile_at = time(NULL);
	free(w->last_reconcile_trigger);
	w->last_reconcile_trigger = util_xstrdup(j->trigger);
	w->last_reconcile_result = rc_cycle_status_name(r->status);
	w->last_reconcile_changes = r->changes;
	w->last_reconcile_held_back = r->held_back;
	w->last_reconcile_ms = r->elapsed_ms;
	if (r->status != RC_CYCLE_OK && r->status != RC_CYCLE_CANCELED &&
	    r->status != RC_CYCLE_PREEMPTED)
		set_last_error(w, &r->err, r->err_resource);
}

/*
 * Back off what failed, forget what worked.  A job that ran on a spec
 * replaced since brings no failures back: the new spec gets a fresh try
 * (and a key it no longer names would wait forever).
 */
static void apply_outcomes(struct rc_watch *w, const struct rc_job *j)
{
	const struct rc_cycle_result *r = &j->res;
	uint64_t now = util_mono_ms();
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
		if (stale)
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

/*
 * Success: this cycle worked and nothing else is failing, so live state
 * is as the spec in force declares (even while a newer file is invalid:
 * that is reported by moor_spec_in_force).
 */

/* Members a guard holds back in the groups of the spec in force. */
static size_t held_back_now(struct rc_watch *w)
{
	const struct spec *s = cur_spec(w);
	size_t n = 0;

	for (size_t i = 0; i < s->n_lbs; i++) {
		const struct rc_snap_group *g =
			rc_snapshots_group(&w->seen, spec_lb_label(&s->lbs[i]));

		n += g ? g->g.held_back : 0;
	}
	return n;
}

/* Success: live state equals the spec; a guard holding back is not it. */
static void success_check(struct rc_watch *w, const struct rc_cycle_result *r)
{
	if (r->status == RC_CYCLE_OK && w->bo.n == 0 && !held_back_now(w))
		w->last_success_at = time(NULL);
}

static void fo_done(struct rc_watch *w, struct rc_job *j)
{
	uint64_t now = util_mono_ms();

	count_result(w, j);
	apply_outcomes(w, j);
	for (size_t i = 0; i < j->res.n_fo; i++) {
		const struct rc_cycle_fo_out *o = &j->res.fo[i];
		struct rc_fot_addr *a = o->addr.key ? fo_find(w, o->addr.key)
						    : NULL;
		const struct spec_failover *f;

		if (!a)
			continue; /* gone with a new spec */
		f = fo_spec(a);
		a->in_flight = false;
		a->not_before_ms = now + f->interval_ms;
		if (o->observed)
			rc_fot_observed(a, o);
		if (o->moved) {
			a->last_move_ms = now;
			a->last_move_at = time(NULL);
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
			fo_evaluate(w->fo[i]);
	success_check(w, &j->res);
	arm_retry(w);
	status_write(w);
}

/* --- full reconciles ---------------------------------------------------- */

static bool is_failover_key(const struct rc_watch *w, const char *key)
{
	return fo_find(w, key) != NULL;
}

/* The retry timer: when the earliest non-failover backoff ends. */
static void arm_retry(struct rc_watch *w)
{
	uint64_t now = util_mono_ms(), next = 0;

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

static void on_retry(void *ctx)
{
	full_request(ctx, "retry");
}

static void full_start(struct rc_watch *w)
{
	const struct spec *s = cur_spec(w);
	uint64_t now = util_mono_ms();
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
		arm_retry(w);
		return;
	}
	j->kind = RC_JOB_FULL;
	j->ws = rc_spec_ref_take(w->cur);
	j->trigger = util_xstrdup(w->full_trigger ? w->full_trigger : "?");
	j->now_ms = now;
	j->started_at = time(NULL);
	j->covers_all = n_sel == n_all;
	w->preempt = 0; /* the worker is idle: nothing reads it now */
	j->drift = w->applied_gen && w->applied_gen == j->ws->gen;
	util_log(UTIL_LOG_DEBUG, "reconcile_started", NULL,
		 "reconciling %zu of %zu resources (%s)", n_sel, n_all,
		 j->trigger);
	rc_worker_give(&w->full, j);
}

static void full_request(struct rc_watch *w, const char *trigger)
{
	if (w->stopping)
		return;
	w->full_pending = true;
	free(w->full_trigger);
	w->full_trigger = util_xstrdup(trigger);
	full_start(w);
}

static void full_done(struct rc_watch *w, struct rc_job *j)
{
	struct rc_cycle_result *r = &j->res;
	enum util_log_level lvl = UTIL_LOG_INFO;

	count_result(w, j);
	apply_outcomes(w, j);
	rc_snapshots_keep(&w->seen, r, time(NULL));
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
	success_check(w, r);
	arm_retry(w);
	status_write(w);
}

/* --- the spec file ------------------------------------------------------------ */

static void set_file(struct rc_watch *w, enum file_state f, const char *why)
{
	w->file = f;
	free(w->file_error);
	w->file_error = util_xstrdup_or_null(why);
}

static void log_diags(const struct spec_diags *d, enum spec_severity sev,
		      const char *event, enum util_log_level lvl)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].severity != sev)
			continue;
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		util_log(lvl, event, d->path, "%s", b.buf);
	}
	buf_release(&b);
}

/*
 * A newer spec makes the reconcile in progress moot: its waits end, the
 * steps it has not sent are skipped, and it is run again on the new spec
 * (full_request coalesces into that follow-up).  Failover is not touched.
 */
static void preempt_full(struct rc_watch *w)
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

/* The file cannot be read or declares nothing: the spec in force stays. */
static void reload_unusable(struct rc_watch *w, enum rc_spec_file f,
			    const struct util_err *e, const char *trigger,
			    bool force, bool again)
{
	static const char *const events[] = {
		[RC_SPEC_FILE_MISSING] = "spec_missing",
		[RC_SPEC_FILE_EMPTY] = "spec_empty",
		[RC_SPEC_FILE_UNREADABLE] = "spec_unreadable",
		[RC_SPEC_FILE_TOO_BIG] = "spec_unreadable",
	};
	const char *path = w->cfg.spec_path;
	const char *keep = w->cur->s->sha256;
	enum file_state fs = f == RC_SPEC_FILE_MISSING ? FILE_MISSING
			     : f == RC_SPEC_FILE_EMPTY ? FILE_EMPTY
						       : FILE_UNREADABLE;
	char *why = f == RC_SPEC_FILE_MISSING
			    ? util_xasprintf("'%s' does not exist", path)
		    : f == RC_SPEC_FILE_EMPTY
			    ? util_xasprintf("'%s' declares nothing", path)
			    : util_xstrdup(e->msg);

	if (fs != w->file || again || force)
		util_log(UTIL_LOG_WARN, events[f], path,
			 "%s; keeping the last good spec (sha256 "
			 "%.12s) in force",
			 why, keep);
	set_file(w, fs, why);
	free(why);
	w->seen_sha[0] = '\0';
	if (force)
		full_request(w, trigger);
}

/* The edit does not load: the spec in force stays. */
static void reload_invalid(struct rc_watch *w, const struct spec_diags *d,
			   const struct util_err *e, const char *trigger,
			   bool force)
{
	const char *path = w->cfg.spec_path;

	log_diags(d, SPEC_ERROR, "spec_invalid", UTIL_LOG_ERROR);
	if (!d->n_errors)
		util_log(UTIL_LOG_ERROR, "spec_invalid", path, "%s", e->msg);
	util_log(UTIL_LOG_WARN, "spec_invalid", path,
		 "ignoring the edit: %zu error%s; the last good spec "
		 "(sha256 %.12s) stays in force",
		 d->n_errors ? d->n_errors : 1, d->n_errors > 1 ? "s" : "",
		 w->cur->s->sha256);
	set_file(w, FILE_INVALID, e->msg);
	if (force)
		full_request(w, trigger);
}

/* A spec in another region is refused: one daemon, one region. */
static bool reload_region_changed(struct rc_watch *w, const struct spec *s)
{
	const char *path = w->cfg.spec_path;
	char *why;

	if (w->cfg.region_fixed || util_streq(s->region, w->initial_region))
		return false;
	why = util_xasprintf("%s: region changed from %s to %s; restart moor "
			     "watch to change regions",
			     path,
			     w->initial_region ? w->initial_region : "(none)",
			     s->region ? s->region : "(none)");
	util_log(UTIL_LOG_ERROR, "spec_invalid", path, "%s; ignoring the edit",
		 why);
	set_file(w, FILE_INVALID, why);
	free(why);
	return true;
}

/* The file declares the spec already in force. */
static void reload_same(struct rc_watch *w, const char *sha,
			const char *trigger, bool force)
{
	const char *path = w->cfg.spec_path;

	if (w->file != FILE_OK)
		util_log(UTIL_LOG_INFO, "spec_restored", path,
			 "'%s' is valid again and is the spec in "
			 "force",
			 path);
	else if (force)
		util_log(UTIL_LOG_INFO, "spec_unchanged", path,
			 "'%s' has not changed (sha256 %.12s)", path, sha);
	set_file(w, FILE_OK, NULL);
	if (force) {
		full_request(w, trigger);
		fo_request_all(w);
	}
}

/* Put s (taken) in force and reconcile everything on it. */
static void reload_install(struct rc_watch *w, struct spec *s,
			   const char *trigger)
{
	const char *path = w->cfg.spec_path;
	size_t lbs, members, eips;
	struct rc_spec_ref *old = w->cur;

	spec_counts(s, &lbs, &members, &eips);
	util_log(UTIL_LOG_INFO, "spec_reloaded", path,
		 "loaded '%s' (sha256 %.12s, was %.12s): %zu load "
		 "balancer%s, %zu member%s, %zu elastic IP%s",
		 path, s->sha256, old->s->sha256, lbs, lbs == 1 ? "" : "s",
		 members, members == 1 ? "" : "s", eips, eips == 1 ? "" : "s");
	w->cur = rc_spec_ref_new(s, old->gen + 1);
	rc_spec_ref_drop(old);
	w->spec_loaded_at = time(NULL);
	set_file(w, FILE_OK, NULL);
	/* A new spec deserves a fresh try everywhere. */
	rc_backoff_clear(&w->bo);
	rc_ev_timer_disarm(w->retry_t);
	fo_rebuild(w);
	preempt_full(w);
	full_request(w, trigger);
	fo_request_all(w);
}

/*
 * Look at the file: a new valid spec replaces the one in force; anything
 * else keeps it.  force (SIGHUP): reconcile even when nothing changed.
 * again (resync): repeat the warning for a file still not usable.
 */
static void reload(struct rc_watch *w, const char *trigger, bool force,
		   bool again)
{
	const char *path = w->cfg.spec_path;
	struct buf data = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;
	struct spec_diags d = { 0 };
	struct spec *s = NULL;
	char sha[UTIL_SHA256_HEX_SIZE];
	enum rc_spec_file f;

	f = rc_spec_file_read(path, SPEC_MAX_FILE_SIZE, &data, &e);
	if (f != RC_SPEC_FILE_OK) {
		reload_unusable(w, f, &e, trigger, force, again);
		goto out;
	}
	util_sha256_hex(data.buf, data.len, sha);
	if (!force && !strcmp(sha, w->seen_sha)) {
		if (again && w->file != FILE_OK)
			util_log(UTIL_LOG_WARN, "spec_invalid", path,
				 "%s; still keeping the last good spec "
				 "(sha256 %.12s) in force",
				 w->file_error ? w->file_error : "invalid",
				 w->cur->s->sha256);
		goto out;
	}
	memcpy(w->seen_sha, sha, sizeof(sha));
	if (spec_load_buffer(path, data.buf, data.len, &s, &d, &e) < 0 ||
	    rc_aws_budget_check(s, &w->cfg.read_budget, &e) < 0) {
		reload_invalid(w, &d, &e, trigger, force);
		goto out;
	}
	if (reload_region_changed(w, s))
		goto out;
	log_diags(&d, SPEC_WARNING, "spec_warning", UTIL_LOG_WARN);
	if (!strcmp(s->sha256, w->cur->s->sha256)) {
		reload_same(w, sha, trigger, force);
		goto out;
	}
	reload_install(w, s, trigger);
	s = NULL;
out:
	status_soon(w);
	spec_free(s);
	spec_diags_release(&d);
	buf_release(&data);
}

static void on_debounce(void *ctx)
{
	struct rc_watch *w = ctx;

	if (!rc_debounce_due(&w->deb, util_mono_ms()))
		return;
	rc_debounce_clear(&w->deb);
	if (!w->stopping)
		reload(w, "edit", false, false);
}

static void on_inotify(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;

	(void)fd;
	(void)events;
	if (rc_specwatch_read(w->sw) && !w->stopping)
		rc_ev_timer_arm(w->debounce_t,
				rc_debounce_event(&w->deb, util_mono_ms()));
}

static void arm_resync(struct rc_watch *w)
{
	rc_ev_timer_arm_in(w->resync_t,
			   rc_jitter_ms(w->cfg.resync_ms, 10, rnd(w)));
}

static void on_resync(void *ctx)
{
	struct rc_watch *w = ctx;

	if (w->stopping)
		return;
	arm_resync(w);
	if (rc_specwatch_refresh(w->sw))
		util_log(UTIL_LOG_INFO, "watch_restored",
			 rc_specwatch_path(w->sw),
			 "watching the spec's directory again");
	reload(w, "resync", false, true);
	full_request(w, "resync");
	fo_request_all(w);
	status_soon(w);
}

/* --- status ------------------------------------------------------------------- */

/*
 * Owns SIGUSR1's status lines: the daemon, each failover address, each
 * other address, each group (hence over 60 lines).
 */
static void status_log(struct rc_watch *w)
{
	const struct spec *s = cur_spec(w);
	struct buf b = BUF_INIT;
	char when[32];

	util_log(UTIL_LOG_INFO, "status", NULL,
		 "spec %.12s in force (file %s), last reconcile %s %s (%s), "
		 "%zu resource%s backing off, %llu ok / %llu failed / %llu "
		 "refused reconciles, %llu drift correction%s",
		 s->sha256, file_state_name(w->file),
		 w->last_reconcile_at ? util_time_iso8601(w->last_reconcile_at,
							  when, sizeof(when))
				      : "never",
		 w->last_reconcile_result ? w->last_reconcile_result : "-",
		 w->last_reconcile_trigger ? w->last_reconcile_trigger : "-",
		 w->bo.n, w->bo.n == 1 ? "" : "s", (unsigned long long)w->n_ok,
		 (unsigned long long)w->n_error,
		 (unsigned long long)w->n_refused,
		 (unsigned long long)w->n_drift, w->n_drift == 1 ? "" : "s");
	for (size_t i = 0; i < w->n_fo; i++) {
		const struct rc_fot_addr *a = w->fo[i];

		buf_reset(&b);
		for (size_t k = 0; k < a->n; k++)
			buf_addf(&b, "%s%s %s%s", k ? ", " : "",
				 a->c[k].instance,
				 rc_health_name(a->c[k].hc.state),
				 a->c[k].observed &&
						 a->c[k].state !=
							 PROV_INSTANCE_RUNNING
					 ? " (not running)"
					 : "");
		util_log(UTIL_LOG_INFO, "status_address", a->label,
			 "%s on %s (failover, %s, %llu move%s): %s", a->label,
			 a->holder	   ? a->holder
			 : a->holder_known ? "nothing"
					   : "(not observed yet)",
			 fo_spec(a)->failback == SPEC_FAILBACK_STAY
				 ? "stay"
				 : "prefer_first",
			 (unsigned long long)a->moves, a->moves == 1 ? "" : "s",
			 b.buf);
	}
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct rc_snap_addr *wa =
			rc_snapshots_addr(&w->seen, w->cur->eip_keys[i]);
		const char *label = rc_eip_label(&s->eips[i]);

		if (s->eips[i].bind == SPEC_BIND_FAILOVER)
			continue;
		util_log(UTIL_LOG_INFO, "status_address", label, "%s on %s",
			 label,
			 !wa		? "(not observed yet)"
			 : wa->a.holder ? wa->a.holder
					: "nothing");
	}
	for (size_t i = 0; i < s->n_lbs; i++) {
		const char *label = spec_lb_label(&s->lbs[i]);
		const struct rc_snap_group *g = rc_snapshots_group(&w->seen,
								   label);

		if (!g)
			util_log(UTIL_LOG_INFO, "status_group", label,
				 "%s: not observed yet", label);
		else
			util_log(UTIL_LOG_INFO, "status_group", label,
				 "%s: %zu member%s, %zu healthy%s", label,
				 g->g.total, g->g.total == 1 ? "" : "s",
				 g->g.healthy,
				 g->g.found ? "" : " (not found)");
	}
	buf_release(&b);
}

/* A file that cannot be written is reported once, not on every write. */
static void status_warn(struct rc_watch *w, const char *path,
			const struct util_err *e, bool *warned)
{
	(void)w;
	if (!*warned)
		util_log(UTIL_LOG_WARN, "status_write_failed", path,
			 "%s; retrying on every update", e->msg);
	*warned = true;
}

/* The daemon-wide fields of the status document. */
static void status_fill_head(const struct rc_watch *w, struct rc_status *st)
{
	st->moor_version = MOOR_VERSION;
	st->pid = (long)getpid();
	st->started_at = w->started_at;
	st->updated_at = time(NULL);
	st->spec_path = w->cfg.spec_path;
	st->spec_sha256 = cur_spec(w)->sha256;
	st->spec_loaded_at = w->spec_loaded_at;
	st->spec_file = file_state_name(w->file);
	st->spec_file_error = w->file_error;
	st->last_reconcile_at = w->last_reconcile_at;
	st->last_reconcile_trigger = w->last_reconcile_trigger;
	st->last_reconcile_result = w->last_reconcile_result;
	st->last_reconcile_changes = w->last_reconcile_changes;
	st->last_reconcile_held_back = w->last_reconcile_held_back;
	st->last_reconcile_ms = w->last_reconcile_ms;
	st->last_success_at = w->last_success_at;
	st->last_error_at = w->last_error_at;
	st->last_error = w->last_error;
	st->last_error_resource = w->last_error_resource;
	st->last_error_code = w->last_error_code;
	st->last_error_request_id = w->last_error_rid;
	st->reconcile_ok = w->n_ok;
	st->reconcile_error = w->n_error;
	st->reconcile_refused = w->n_refused;
	st->drift_corrections = w->n_drift;
	st->resources_backing_off = w->bo.n;
}

/* Every address of the spec in force; cands[i] as rc_status_fill_fo_addr. */
static void status_fill_addrs(struct rc_watch *w, struct rc_status *st,
			      struct rc_status_addr *addrs,
			      struct rc_status_cand **cands)
{
	const struct spec *s = cur_spec(w);

	for (size_t i = 0; i < s->n_eips; i++) {
		struct rc_status_addr *sa = &addrs[st->n_addrs];
		const struct rc_fot_addr *a = fo_find(w, w->cur->eip_keys[i]);

		sa->label = rc_eip_label(&s->eips[i]);
		if (a) {
			rc_status_fill_fo_addr(a, fo_spec(a)->failback,
					       util_mono_ms(), time(NULL), sa,
					       &cands[i]);
		} else {
			const struct rc_snap_addr *wa =
				rc_snapshots_addr(&w->seen,
						  w->cur->eip_keys[i]);

			if (wa) {
				sa->public_ip = wa->a.public_ip;
				sa->holder = wa->a.holder;
				sa->last_error = wa->last_error;
			}
		}
		st->n_addrs++;
	}
	st->addrs = addrs;
}

/* Write the status and metrics files asked for. */
static void status_emit(struct rc_watch *w, const struct rc_status *st)
{
	struct buf out = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;

	if (w->cfg.status_file) {
		buf_reset(&out);
		if (rc_status_to_json(st, &out, &e) < 0 ||
		    rc_status_write_file(w->cfg.status_file, out.buf, out.len,
					 &e) < 0)
			status_warn(w, w->cfg.status_file, &e,
				    &w->status_warned);
		else
			w->status_warned = false;
		util_err_clear(&e);
	}
	if (w->cfg.metrics_file) {
		buf_reset(&out);
		rc_status_to_metrics(st, &out);
		if (rc_status_write_file(w->cfg.metrics_file, out.buf, out.len,
					 &e) < 0)
			status_warn(w, w->cfg.metrics_file, &e,
				    &w->metrics_warned);
		else
			w->metrics_warned = false;
	}
	buf_release(&out);
}

static void status_write(struct rc_watch *w)
{
	const struct spec *s = cur_spec(w);
	struct rc_status st = { 0 };
	struct rc_status_addr *addrs;
	struct rc_status_group *groups;
	struct rc_status_member **members;
	struct rc_status_cand **cands;

	rc_ev_timer_disarm(w->status_t);
	w->last_status_ms = util_mono_ms();
	if (!w->cfg.status_file && !w->cfg.metrics_file && !w->cfg.httpd)
		return;
	addrs = util_xcalloc(s->n_eips + 1, sizeof(*addrs));
	groups = util_xcalloc(s->n_lbs + 1, sizeof(*groups));
	members = util_xcalloc(s->n_lbs + 1, sizeof(*members));
	cands = util_xcalloc(s->n_eips + 1, sizeof(*cands));
	status_fill_head(w, &st);
	status_fill_addrs(w, &st, addrs, cands);
	rc_status_fill_groups(cur_spec(w), &w->seen, &st, groups, members);
	status_emit(w, &st);
	rc_httpd_publish(w->cfg.httpd, &st);
	for (size_t i = 0; i < s->n_lbs; i++)
		free(members[i]);
	for (size_t i = 0; i < s->n_eips; i++)
		free(cands[i]);
	free(members);
	free(cands);
	free(addrs);
	free(groups);
}

static void on_status_timer(void *ctx)
{
	status_write(ctx);
}

/* A status write soon: now, or STATUS_MIN_INTERVAL_MS after the last. */
static void status_soon(struct rc_watch *w)
{
	uint64_t now = util_mono_ms();

	if (now >= w->last_status_ms + STATUS_MIN_INTERVAL_MS)
		status_write(w);
	else
		rc_ev_timer_arm_before(w->status_t,
				       w->last_status_ms +
					       STATUS_MIN_INTERVAL_MS);
}

/* --- workers done, signals, stopping ----------------------------------------- */

static void on_worker(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;
	uint64_t n;
	struct rc_job *j;

	(void)events;
	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	if ((j = rc_worker_collect(&w->full)) != NULL) {
		full_done(w, j);
		rc_job_free(j);
	}
	if ((j = rc_worker_collect(&w->fast)) != NULL) {
		fo_done(w, j);
		rc_job_free(j);
	}
	if (w->stopping) {
		maybe_finish(w);
		return;
	}
	full_start(w);
	fo_start(w);
}

static void maybe_finish(struct rc_watch *w)
{
	if (w->full.busy || w->fast.busy)
		return;
	rc_evloop_stop(w->l);
}

static void on_stop_timeout(void *ctx)
{
	struct rc_watch *w = ctx;
	char d[32];

	util_log(UTIL_LOG_ERROR, "stop_timeout", NULL,
		 "work in flight did not finish within %s; exiting anyway",
		 util_duration_format(w->cfg.stop_timeout_ms, d, sizeof(d)));
	w->abandoned = true;
	rc_evloop_stop(w->l);
}

static void begin_stop(struct rc_watch *w, const char *sig)
{
	if (w->stopping) {
		util_log(UTIL_LOG_INFO, "watch_stopping", NULL,
			 "%s: already stopping", sig);
		return;
	}
	w->stopping = true;
	util_log(UTIL_LOG_INFO, "watch_stopping", NULL,
		 "%s: finishing the step in flight, then exiting%s", sig,
		 w->full.busy || w->fast.busy ? "" : " (nothing in flight)");
	pthread_mutex_lock(&w->sleep_m);
	w->cancel = 1;
	pthread_cond_broadcast(&w->sleep_c);
	pthread_mutex_unlock(&w->sleep_m);
	for (size_t i = 0; i < w->n_fo; i++) {
		struct rc_fot_addr *a = w->fo[i];

		rc_ev_timer_disarm(a->tick);
		rc_ev_timer_disarm(a->recheck);
		for (size_t k = 0; k < a->n; k++) {
			rc_probe_cancel(a->c[k].probe);
			a->c[k].probe = NULL;
		}
	}
	rc_ev_timer_disarm(w->resync_t);
	rc_ev_timer_disarm(w->debounce_t);
	rc_ev_timer_disarm(w->retry_t);
	rc_ev_timer_arm_in(w->stop_t, w->cfg.stop_timeout_ms);
	maybe_finish(w);
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (w->stopping)
				break;
			util_log(UTIL_LOG_INFO, "signal", NULL,
				 "SIGHUP: re-reading the spec");
			reload(w, "sighup", true, false);
			break;
		case SIGUSR1:
			status_log(w);
			break;
		case SIGTERM:
			begin_stop(w, "SIGTERM");
			break;
		case SIGINT:
			begin_stop(w, "SIGINT");
			break;
		default:
			break;
		}
	}
}

/* --- set-up and tear-down ----------------------------------------------------- */

static void sig_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
}

void rc_watch_block_signals(void)
{
	sigset_t set;

	sig_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void watch_free(struct rc_watch *w)
{
	rc_worker_stop(&w->full);
	rc_worker_stop(&w->fast);
	for (size_t i = 0; i < w->n_fo; i++)
		rc_fot_addr_free(w->fo[i]);
	free(w->fo);
	rc_prober_free(w->pr);
	rc_awsprober_free(w->ap);
	rc_specwatch_free(w->sw);
	rc_evloop_free(w->l);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->evfd >= 0)
		close(w->evfd);
	rc_snapshots_release(&w->seen);
	rc_backoff_release(&w->bo);
	rc_spec_ref_drop(w->cur);
	free(w->full_trigger);
	free(w->file_error);
	free(w->initial_region);
	free(w->last_reconcile_trigger);
	free(w->last_error);
	free(w->last_error_resource);
	free(w->last_error_code);
	free(w->last_error_rid);
	pthread_mutex_destroy(&w->sleep_m);
	pthread_cond_destroy(&w->sleep_c);
	free(w);
}

static int watch_setup(struct rc_watch *w, struct util_err *err)
{
	sigset_t set;
	pthread_condattr_t ca;

	pthread_mutex_init(&w->sleep_m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->sleep_c, &ca);
	pthread_condattr_destroy(&ca);
	w->wclock.mono_ms = wc_mono;
	w->wclock.wall = wc_wall;
	w->wclock.sleep_ms = wc_sleep;
	w->wclock.ctx = w;
	w->fclock = w->wclock;
	w->fclock.sleep_ms = wc_sleep_full;

	sig_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sigfd < 0)
		return util_err_set(err, UTIL_EIO, "signalfd: %s",
				    strerror(errno));
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0)
		return util_err_set(err, UTIL_EIO, "eventfd: %s",
				    strerror(errno));
	if (rc_evloop_new(&w->l, err) < 0 ||
	    rc_prober_new(w->l, &w->pr, err) < 0 ||
	    rc_awsprober_new(w->l, w->p, &w->ap, err) < 0 ||
	    rc_specwatch_new(w->cfg.spec_path, &w->sw, err) < 0)
		return -1;
	if (rc_ev_io_add(w->l, w->sigfd, EPOLLIN, on_signal, w, NULL, err) <
		    0 ||
	    rc_ev_io_add(w->l, w->evfd, EPOLLIN, on_worker, w, NULL, err) < 0 ||
	    rc_ev_io_add(w->l, rc_specwatch_fd(w->sw), EPOLLIN, on_inotify, w,
			 NULL, err) < 0)
		return -1;
	w->debounce_t = rc_ev_timer_new(w->l, on_debounce, w);
	w->resync_t = rc_ev_timer_new(w->l, on_resync, w);
	w->retry_t = rc_ev_timer_new(w->l, on_retry, w);
	w->status_t = rc_ev_timer_new(w->l, on_status_timer, w);
	w->stop_t = rc_ev_timer_new(w->l, on_stop_timeout, w);
	if (w->cfg.httpd)
		rc_httpd_attach(w->cfg.httpd, w->l);
	rc_debounce_init(&w->deb, w->cfg.debounce_ms);
	rc_backoff_init(&w->bo,
			w->cfg.backoff_min_ms ? w->cfg.backoff_min_ms
					      : RC_WATCH_BACKOFF_MIN_MS,
			w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms
					      : RC_WATCH_BACKOFF_MAX_MS);
	if (rc_worker_start(&w->full, "full", run_job, w, w->evfd, err) < 0 ||
	    rc_worker_start(&w->fast, "failover", run_job, w, w->evfd, err) < 0)
		return -1;
	return 0;
}

/*
 * Owns the daemon's life: set-up, the first reconcile, the loop, the last
 * status write and tear-down (hence over 60 lines).
 */
int rc_watch_run(struct prov *p, struct spec *initial,
		 const struct rc_watch_config *cfg, bool *ret_abandoned,
		 struct util_err *err)
{
	struct rc_watch *w = util_xcalloc(1, sizeof(*w));
	const struct spec *s;
	char d1[32], d2[32];
	size_t lbs, members, eips;
	int r = -1;

	*ret_abandoned = false;
	w->cfg = *cfg;
	if (!w->cfg.resync_ms)
		w->cfg.resync_ms = RC_WATCH_DEFAULT_RESYNC_MS;
	if (!w->cfg.stop_timeout_ms)
		w->cfg.stop_timeout_ms = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS;
	w->p = p;
	w->sigfd = w->evfd = -1;
	w->rng = (uint64_t)util_mono_ms() * 0x9E3779B97F4A7C15ULL ^
		 (uint64_t)getpid() ^ (uint64_t)time(NULL) << 20;
	if (!w->rng)
		w->rng = 1;
	w->cur = rc_spec_ref_new(initial, 1);
	s = initial;
	w->initial_region = util_xstrdup_or_null(s->region);
	memcpy(w->seen_sha, s->sha256, sizeof(w->seen_sha));
	w->started_at = w->spec_loaded_at = time(NULL);
	if (watch_setup(w, err) < 0)
		goto out;
	fo_rebuild(w);

	spec_counts(s, &lbs, &members, &eips);
	util_log(UTIL_LOG_INFO, "watch_started", w->cfg.spec_path,
		 "watching '%s' (sha256 %.12s): %zu load balancer%s, %zu "
		 "member%s, %zu elastic IP%s (%zu with failover); resync "
		 "every %s, debounce %s",
		 w->cfg.spec_path, s->sha256, lbs, lbs == 1 ? "" : "s", members,
		 members == 1 ? "" : "s", eips, eips == 1 ? "" : "s", w->n_fo,
		 util_duration_format(w->cfg.resync_ms, d1, sizeof(d1)),
		 util_duration_format(w->cfg.debounce_ms, d2, sizeof(d2)));
	if (!rc_specwatch_complete(w->sw))
		util_log(UTIL_LOG_WARN, "watch_failed", w->cfg.spec_path,
			 "not every inotify watch is in place; edits are "
			 "picked up at the next resync");
	full_request(w, "startup");
	fo_request_all(w);
	arm_resync(w);
	status_write(w);

	if (rc_evloop_run(w->l, err) < 0)
		goto out;
	*ret_abandoned = w->abandoned;
	status_write(w);
	util_log(UTIL_LOG_INFO, "watch_stopped", NULL, "stopped%s",
		 w->abandoned ? " with work in flight" : "");
	r = 0;
out:
	if (w->abandoned)
		return r; /* a worker still uses w: the caller exits */
	watch_free(w);
	return r;
}
