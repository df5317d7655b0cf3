#include "reconciler/daemon/watch_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/failover.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/probe.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

/*
 * The failover table's probe rounds: each address probes its running
 * candidates every interval, and each result goes to the health
 * counters (fall/rise) and, once the round is complete, to the
 * decision (fosched.c).
 */

const struct spec_failover *rcw_fo_spec(const struct rc_fot_addr *a)
{
	return &rcw_spec(a->w)->eips[a->eip].failover;
}

static const struct spec_probe *cand_probe(const struct rc_fot_addr *a,
					   size_t k)
{
	const struct spec_failover *f = rcw_fo_spec(a);

	if (f->candidates[k].probe.kind != SPEC_PROBE_NONE)
		return &f->candidates[k].probe;
	return &f->probe;
}

struct rc_fot_addr *rcw_fo_find(const struct rc_watch *w, const char *key)
{
	return rc_fot_find(w->fo, w->n_fo, key);
}

static void fo_tick(void *ctx);

/*
 * The failover table for the spec in force, keeping what is known (health,
 * holder, damping) of addresses and candidates that stay.
 */
void rcw_fo_rebuild(struct rc_watch *w)
{
	const struct spec *s = rcw_spec(w);
	struct rc_fot_addr **old = w->fo;
	size_t n_old = w->fo ? w->n_fo : 0;
	uint64_t now = rcw_mono(w);

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
		a->recheck = rc_ev_timer_new(w->l, rcw_fo_recheck, a);
		/* Spread the first rounds a little over the interval. */
		rc_ev_timer_arm(a->tick, now + (uint64_t)(rcw_rnd(w) *
							  (double)e->failover
								  .interval_ms /
							  4));
		w->fo[w->n_fo++] = a;
	}
	for (size_t k = 0; k < n_old; k++)
		rc_fot_addr_free(old[k]);
	free(old);
}

static void on_probe(void *ctx, const struct rc_probe_result *r)
{
	struct rc_fot_cand *c = ctx;
	struct rc_fot_addr *a = c->a;
	struct rc_watch *w = a->w;
	const struct spec_failover *f = rcw_fo_spec(a);
	char streak[16];

	c->probe = NULL;
	free(c->last_result);
	c->last_result = util_xstrdup(r->detail);
	c->last_probe_at = rcw_wall(w);
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
		rcw_status_soon(w);
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
	rcw_fo_evaluate(a);
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
		c->last_probe_at = rcw_wall(a->w);
	}
	a->aws = NULL;
	for (size_t k = 0; k < a->n; k++)
		if (a->c[k].probe)
			return;
	rcw_fo_evaluate(a);
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
	const struct spec_failover *f = rcw_fo_spec(a);

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
