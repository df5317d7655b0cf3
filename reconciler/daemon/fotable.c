#include "reconciler/daemon/fotable.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/plan.h"
#include "util/alloc.h"
#include "util/str.h"
#include "util/banned.h"

static void cand_release(struct rc_fot_cand *c)
{
	rc_probe_cancel(c->probe);
	c->probe = NULL;
	free(c->instance);
	free(c->probe_key);
	free(c->private_ip);
	free(c->probe_desc);
	free(c->last_result);
}

void rc_fot_addr_free(struct rc_fot_addr *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		cand_release(&a->c[i]);
	free(a->c);
	rc_aws_sub_cancel(a->aws);
	rc_ev_timer_free(a->tick);
	rc_ev_timer_free(a->recheck);
	free(a->key);
	free(a->label);
	free(a->holder);
	free(a->public_ip);
	free(a->last_error);
	free(a);
}

struct rc_fot_addr *rc_fot_find(struct rc_fot_addr *const *v, size_t n,
				const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->key, key))
			return v[i];
	return NULL;
}

/* What candidate k is probed with, and how often, as one string. */
static char *probe_key(const struct spec_failover *f, size_t k)
{
	const struct spec_probe *p = f->candidates[k].probe.kind !=
						     SPEC_PROBE_NONE
					     ? &f->candidates[k].probe
					     : &f->probe;

	return util_xasprintf("%d %s %s %s %d %llu %llu %u %u", (int)p->kind,
			      p->aws_ref ? p->aws_ref : "-",
			      p->http_url ? p->http_url : "-",
			      p->tcp_host ? p->tcp_host : "-", p->tcp_port,
			      (unsigned long long)f->interval_ms,
			      (unsigned long long)f->timeout_ms, f->fall,
			      f->rise);
}

/* What candidate c knew as oc under the spec before. */
static void cand_carry(struct rc_fot_cand *c, const struct rc_fot_cand *oc)
{
	/* A verdict on another probe says nothing. */
	if (!strcmp(oc->probe_key, c->probe_key))
		c->hc = oc->hc;
	c->observed = oc->observed;
	c->found = oc->found;
	c->state = oc->state;
	c->private_ip = util_xstrdup_or_null(oc->private_ip);
	c->last_result = util_xstrdup_or_null(oc->last_result);
	c->last_probe_at = oc->last_probe_at;
}

struct rc_fot_addr *rc_fot_addr_new(const struct rc_spec_ref *ws, size_t i,
				    const struct rc_fot_addr *o)
{
	const struct spec_eip *e = &ws->s->eips[i];
	const struct spec_failover *f = &e->failover;
	struct rc_fot_addr *a = util_xcalloc(1, sizeof(*a));

	a->eip = i;
	a->key = util_xstrdup(ws->eip_keys[i]);
	a->label = util_xstrdup(rc_eip_label(e));
	if (o) {
		a->holder_known = o->holder_known;
		a->found = o->found;
		a->bound = o->bound;
		a->holder = util_xstrdup_or_null(o->holder);
		a->public_ip = util_xstrdup_or_null(o->public_ip);
		a->last_move_ms = o->last_move_ms;
		a->moves = o->moves;
		a->last_move_at = o->last_move_at;
		a->last_alert_ms = o->last_alert_ms;
	}
	a->c = util_xcalloc(f->n_candidates + 1, sizeof(*a->c));
	a->n = f->n_candidates;
	for (size_t k = 0; k < a->n; k++) {
		struct rc_fot_cand *c = &a->c[k];

		c->a = a;
		c->instance = util_xstrdup(f->candidates[k].instance);
		c->probe_key = probe_key(f, k);
		for (size_t m = 0; o && m < o->n; m++)
			if (!strcmp(o->c[m].instance, c->instance))
				cand_carry(c, &o->c[m]);
	}
	return a;
}

static void cand_observed(struct rc_fot_cand *c,
			  const struct rc_cycle_fo_cand *oc)
{
	bool moved_ip = c->observed &&
			!util_streq(c->private_ip, oc->private_ip);

	/* A stopped or re-addressed instance proves itself again from scratch. */
	if (oc->state != PROV_INSTANCE_RUNNING || moved_ip)
		rc_hc_reset(&c->hc);
	c->observed = true;
	c->found = oc->found;
	c->state = oc->state;
	free(c->private_ip);
	c->private_ip = util_xstrdup_or_null(oc->private_ip);
}

void rc_fot_observed(struct rc_fot_addr *a, const struct rc_cycle_fo_out *o)
{
	a->holder_known = true;
	a->found = o->addr.found;
	a->bound = o->addr.bound;
	free(a->holder);
	a->holder = util_xstrdup_or_null(o->addr.holder);
	free(a->public_ip);
	a->public_ip = util_xstrdup_or_null(o->addr.public_ip);
	for (size_t k = 0; k < o->n_cands; k++)
		for (size_t m = 0; m < a->n; m++)
			if (!strcmp(a->c[m].instance, o->cands[k].instance))
				cand_observed(&a->c[m], &o->cands[k]);
}
