#include "reconciler/engine/apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/key.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/pool.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/banned.h"

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_POLL_MIN_MS 1000
#define DEFAULT_POLL_MAX_MS 15000

struct applier {
	struct prov *p;
	const struct rc_plan *plan;
	const struct rc_apply_opts *o;
	const struct util_clock *clock;
	struct rc_report *rep;
	unsigned conc;
	uint64_t poll_min, poll_max;
	const struct rc_world *fresh; /* consumed by the first round */
	struct rc_world stale_w;      /* what check_stale read */
	/* Scheduling (indexed like plan->steps). */
	bool *after; /* after[i * n + k]: step i starts once step k finished */
	bool *waiting;
	/*
	 * verified[i]: step i's call was made after its preconditions were
	 * checked against a re-read, and succeeded: its group is as the plan
	 * says that call leaves it.
	 */
	bool *verified;
	uint64_t *wait_start, *wait_next, *wait_delay;
	unsigned *wait_polls;
	bool announced[RC_N_PHASES + 1];
	size_t phase_total[RC_N_PHASES + 1];
};

const char *rc_outcome_name(enum rc_outcome o)
{
	switch (o) {
	case RC_OUT_PENDING:
		return "pending";
	case RC_OUT_DONE:
		return "done";
	case RC_OUT_ALREADY:
		return "already";
	case RC_OUT_SKIPPED:
		return "skipped";
	case RC_OUT_FAILED:
		return "failed";
	}
	return "?";
}

void rc_report_release(struct rc_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->results[i].detail);
		free(r->results[i].allocation_id);
		free(r->results[i].public_ip);
	}
	free(r->results);
	util_strv_free(r->stale, r->n_stale);
	memset(r, 0, sizeof(*r));
}

static bool canceled(const struct applier *a)
{
	return a->o->cancel && *a->o->cancel;
}

static bool preempted(const struct applier *a)
{
	return a->o->preempt && *a->o->preempt;
}

/* Why steps not yet sent must not be sent, or NULL. */
static const char *stop_reason(const struct applier *a)
{
	if (canceled(a))
		return "canceled";
	if (preempted(a))
		return "preempted: a newer spec is in force";
	return NULL;
}

static size_t step_index(const struct applier *a, const struct rc_step *s)
{
	return (size_t)(s - a->plan->steps);
}

static struct rc_step_result *result(struct applier *a, const struct rc_step *s)
{
	return &a->rep->results[step_index(a, s)];
}

static void announce(struct applier *a, const struct rc_step *s)
{
	int ph = (int)s->phase;

	if (ph < 1 || ph > RC_N_PHASES || a->announced[ph])
		return;
	a->announced[ph] = true;
	if (a->o->progress && a->o->progress->phase)
		a->o->progress->phase(a->o->progress->ctx, s->phase,
				      a->phase_total[ph]);
}

static void finish(struct applier *a, const struct rc_step *s,
		   enum rc_outcome out, const struct util_err *e,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finish(struct applier *a, const struct rc_step *s,
		   enum rc_outcome out, const struct util_err *e,
		   const char *fmt, ...)
{
	struct rc_step_result *r = result(a, s);
	struct buf b = BUF_INIT;
	va_list ap;

	/* Only the scheduling thread announces (a batch is announced first). */
	announce(a, s);
	r->outcome = out;
	if (fmt) {
		va_start(ap, fmt);
		buf_vaddf(&b, fmt, ap);
		va_end(ap);
		free(r->detail);
		r->detail = buf_detach(&b, NULL);
	}
	if (e && e->code)
		util_err_copy(&r->err, e);
	util_log(out == RC_OUT_FAILED ? UTIL_LOG_WARN : UTIL_LOG_INFO,
		 "apply_step", s->label, "step %u %s %s: %s%s%s", s->id,
		 rc_action_name(s->action), s->label, rc_outcome_name(out),
		 r->detail ? ": " : "", r->detail ? r->detail : "");
	if (a->o->progress && a->o->progress->step_done)
		a->o->progress->step_done(a->o->progress->ctx, s, r);
}

static void sleep_ms(const struct applier *a, uint64_t ms)
{
	if (ms)
		a->clock->sleep_ms(a->clock->ctx, ms);
}

/* --- reading --------------------------------------------------------- */

static void keys_of(const struct rc_step *s, struct rc_reads *r)
{
	rc_reads_add_key(r, s->key, NULL);
	for (size_t i = 0; i < s->n_pre; i++)
		rc_reads_add_key(r, s->pre[i].key, NULL);
}

/* Observe, once: retrying a read is the AWS client's job. */
static int observe(struct applier *a, struct rc_reads *r, struct rc_world *w,
		   struct util_err *err)
{
	struct rc_observe_opts oo = { .concurrency = a->conc };

	return rc_observe(a->p, r, &oo, w, err);
}

/*
 * Whether step s needs Classic member health: a wait, or a
 * deregistration checked against min_healthy.  A registration, zones or
 * an address step needs only who is registered (fingerprints have no
 * health), so their re-read makes no DescribeInstanceHealth call.
 */
static bool checks_classic_floor(const struct rc_step *s)
{
	return s->group_kind == SPEC_LB_CLASSIC &&
	       s->action == RC_ACT_DEREGISTER && s->min_healthy;
}

static bool needs_classic_health(const struct rc_step *s)
{
	return checks_classic_floor(s) ||
	       (s->group_kind == SPEC_LB_CLASSIC && s->action == RC_ACT_WAIT);
}

static int observe_steps(struct applier *a, const struct rc_step *const *v,
			 size_t n, struct rc_world *w, struct util_err *err)
{
	struct rc_reads r = RC_READS_INIT;
	int rv;

	for (size_t i = 0; i < n; i++)
		keys_of(v[i], &r);
	r.no_classic_health = true;
	for (size_t i = 0; i < n; i++)
		if (needs_classic_health(v[i]))
			r.no_classic_health = false;
	rv = observe(a, &r, w, err);
	rc_reads_release(&r);
	return rv;
}

/* --- what the world says ------------------------------------------------ */

static const struct rc_obs_group *step_group(const struct rc_world *w,
					     const struct rc_step *s)
{
	struct rc_key k;

	/* A step's key was parsed when the plan was built or read. */
	if (rc_key_parse(s->key, &k, NULL) < 0)
		return NULL;
	return rc_world_group(w, s->group_kind, k.value);
}

struct member_state {
	bool listed;  /* reported at all (even draining) */
	bool present; /* counts as a member */
	enum prov_health health;
};

static struct member_state member_state(const struct rc_obs_group *g,
					const struct rc_member *m)
{
	struct member_state st = { false, false, PROV_HEALTH_UNKNOWN };

	if (g && g->classic) {
		for (size_t i = 0; i < g->classic->n_members; i++) {
			const struct prov_classic_member *cm =
				&g->classic->members[i];

			if (!util_streq(cm->instance_id, m->id))
				continue;
			st.listed = true;
			st.present = rc_classic_member_present(cm);
			st.health = cm->health;
		}
	} else if (g && g->tg) {
		for (size_t i = 0; i < g->tg->n_targets; i++) {
			const struct prov_target *t = &g->tg->targets[i];

			if (!util_streq(t->id, m->id) || t->port != m->port)
				continue;
			st.present = rc_target_present(t);
			/* unused/NotRegistered is AWS saying "not here". */
			st.listed = st.present ||
				    t->health == PROV_HEALTH_DRAINING;
			st.health = t->health;
		}
	}
	return st;
}

/* The allocation id an address step acts on, if known. */
static const char *step_alloc_id(struct applier *a, const struct rc_step *s)
{
	if (s->allocation_id)
		return s->allocation_id;
	for (size_t i = 0; i < s->n_deps; i++) {
		const struct rc_step *d = rc_plan_step(a->plan, s->deps[i]);

		if (d && d->action == RC_ACT_ALLOCATE &&
		    result(a, d)->allocation_id)
			return result(a, d)->allocation_id;
	}
	return NULL;
}

static const struct prov_address *step_address(struct applier *a,
					       const struct rc_world *w,
					       const struct rc_step *s,
					       size_t *ret_n)
{
	const char *alloc = s->action == RC_ACT_ALLOCATE ? NULL
							 : step_alloc_id(a, s);
	struct rc_key k;

	if (alloc)
		return rc_world_address(w, SPEC_EIP_BY_ALLOCATION_ID, alloc,
					ret_n);
	if (rc_key_parse(s->key, &k, NULL) < 0 ||
	    !rc_key_kind_is_address(k.kind)) {
		if (ret_n)
			*ret_n = 0;
		return NULL;
	}
	return rc_world_address(w, rc_key_eip_ref(k.kind), k.value, ret_n);
}

static bool bound_as_planned(const struct prov_address *ad,
			     const struct rc_step *s)
{
	if (!ad)
		return false;
	if (s->to.instance) {
		if (!util_streq(ad->instance_id, s->to.instance))
			return false;
	} else if (!s->to.eni || !util_streq(ad->eni_id, s->to.eni)) {
		return false;
	}
	return !s->to.private_ip ||
	       util_streq(ad->private_ip, s->to.private_ip);
}

static bool zones_enabled(const struct rc_obs_group *g, const struct rc_step *s)
{
	if (!g || !g->classic)
		return false;
	for (size_t i = 0; i < s->n_zones; i++) {
		bool on = false;

		for (size_t k = 0; k < g->classic->n_azs && !on; k++)
			on = util_streq(g->classic->azs[k], s->zones[i]);
		if (!on)
			return false;
	}
	return true;
}

/* Whether the world already looks as s would leave it. */
static bool already(struct applier *a, const struct rc_world *w,
		    const struct rc_step *s)
{
	const struct prov_address *ad;
	size_t n = 0;

	switch (s->action) {
	case RC_ACT_REGISTER:
	case RC_ACT_DEREGISTER: {
		const struct rc_obs_group *g = step_group(w, s);

		if (!g || (!g->classic && !g->tg))
			return false;
		for (size_t i = 0; i < s->n_members; i++) {
			struct member_state ms = member_state(g,
							      &s->members[i]);

			if (ms.present != (s->action == RC_ACT_REGISTER))
				return false;
		}
		return true;
	}
	case RC_ACT_ALLOCATE:
		ad = step_address(a, w, s, &n);
		if (n != 1)
			return false;
		free(result(a, s)->allocation_id);
		free(result(a, s)->public_ip);
		result(a, s)->allocation_id = util_xstrdup(ad->allocation_id);
		result(a, s)->public_ip = util_xstrdup(ad->public_ip);
		return true;
	case RC_ACT_ASSOCIATE:
	case RC_ACT_MOVE:
		return bound_as_planned(step_address(a, w, s, &n), s);
	case RC_ACT_DISASSOCIATE:
		ad = step_address(a, w, s, &n);
		return ad && !ad->association_id && !ad->instance_id &&
		       !ad->eni_id;
	case RC_ACT_ENABLE_ZONES:
		return zones_enabled(step_group(w, s), s);
	case RC_ACT_WAIT:
		break;
	}
	return false;
}

/* The first precondition that does not hold in w, or NULL. */
static const char *changed(const struct rc_world *w, const struct rc_step *s)
{
	char fp[UTIL_SHA256_HEX_SIZE];

	for (size_t i = 0; i < s->n_pre; i++) {
		if (rc_fingerprint(w, s->pre[i].key, fp, NULL) < 0 ||
		    strcmp(fp, s->pre[i].fp))
			return s->pre[i].key;
	}
	return NULL;
}

/*
 * min_healthy, against live health: a deregistration that removes a
 * healthy member must leave at least the floor of healthy members.
 */
static bool breaks_floor(const struct rc_world *w, const struct rc_step *s,
			 size_t *ret_left)
{
	const struct rc_obs_group *g = step_group(w, s);
	size_t left = 0;
	bool removes_healthy = false;

	*ret_left = 0;
	if (!s->min_healthy || !g)
		return false;
	for (size_t i = 0; i < s->n_members; i++) {
		struct member_state ms = member_state(g, &s->members[i]);

		if (ms.present && rc_health_counts(ms.health))
			removes_healthy = true;
	}
	if (g->classic) {
		for (size_t i = 0; i < g->classic->n_members; i++) {
			const struct prov_classic_member *cm =
				&g->classic->members[i];
			bool going = false;

			for (size_t k = 0; k < s->n_members && !going; k++)
				going = util_streq(s->members[k].id,
						   cm->instance_id);
			if (!going && rc_classic_member_present(cm) &&
			    rc_health_counts(cm->health))
				left++;
		}
	} else if (g->tg) {
		for (size_t i = 0; i < g->tg->n_targets; i++) {
			const struct prov_target *t = &g->tg->targets[i];
			bool going = false;

			for (size_t k = 0; k < s->n_members && !going; k++)
				going = util_streq(s->members[k].id, t->id) &&
					s->members[k].port == t->port;
			if (!going && rc_target_present(t) &&
			    rc_health_counts(t->health))
				left++;
		}
	}
	*ret_left = left;
	return removes_healthy && left < s->min_healthy;
}

/* --- calls ---------------------------------------------------------------- */

/* An AWS call's error names the step it was made for. */
static int prefixed(int r, const struct rc_step *s, struct util_err *err)
{
	if (r < 0)
		util_err_prefix(err, "%s %s", rc_action_name(s->action),
				s->label);
	return r;
}

/* A register or deregister call: one batched call for the group. */
static int call_members(struct prov *p, const struct rc_step *s,
			struct util_err *err)
{
	bool reg = s->action == RC_ACT_REGISTER;
	int r;

	if (s->group_kind == SPEC_LB_CLASSIC) {
		const char **ids = util_xcalloc(s->n_members + 1, sizeof(*ids));

		for (size_t i = 0; i < s->n_members; i++)
			ids[i] = s->members[i].id;
		r = (reg ? p->ops->classic_register
			 : p->ops->classic_deregister)(p, s->label, ids,
						       s->n_members, err);
		free(ids);
		return r;
	}
	struct prov_target_ref *t = util_xcalloc(s->n_members + 1, sizeof(*t));

	for (size_t i = 0; i < s->n_members; i++) {
		t[i].id = s->members[i].id;
		t[i].port = s->members[i].port;
		t[i].az = s->members[i].az;
	}
	r = (reg ? p->ops->tg_register
		 : p->ops->tg_deregister)(p, s->tg_arn, t, s->n_members, err);
	free(t);
	return r;
}

static int call_allocate(struct applier *a, const struct rc_step *s,
			 struct util_err *err)
{
	struct prov_tag tag = { .key = (char *)(uintptr_t) "Name",
				.value = s->name };
	struct prov_address ad = { 0 };
	struct prov *p = a->p;
	int r = p->ops->allocate(p, &tag, 1, &ad, err);

	if (r == 0) {
		free(result(a, s)->allocation_id);
		free(result(a, s)->public_ip);
		result(a, s)->allocation_id = util_xstrdup(ad.allocation_id);
		result(a, s)->public_ip = ad.public_ip
						  ? util_xstrdup(ad.public_ip)
						  : NULL;
	}
	prov_address_release(&ad);
	return r;
}

static int call_associate(struct applier *a, const struct rc_world *w,
			  const struct rc_step *s, struct util_err *err)
{
	struct prov_associate req = { 0 };
	size_t n = 0;
	const struct prov_address *ad = step_address(a, w, s, &n);

	req.allocation_id = step_alloc_id(a, s);
	if (!req.allocation_id && ad)
		req.allocation_id = ad->allocation_id;
	if (!req.allocation_id)
		return util_err_set(err, UTIL_ENOTFOUND, "address %s not found",
				    s->label);
	if (s->to.eni)
		req.eni_id = s->to.eni;
	else
		req.instance_id = s->to.instance;
	req.private_ip = s->to.private_ip;
	/*
	 * A move is one call with reassociation, so the address is never
	 * unattached; a plain associate refuses to take an address someone
	 * bound since the plan.
	 */
	req.allow_reassociation = s->action == RC_ACT_MOVE;
	return prefixed(a->p->ops->associate(a->p, &req, NULL, err), s, err);
}

static int call_disassociate(struct applier *a, const struct rc_world *w,
			     const struct rc_step *s, struct util_err *err)
{
	size_t n = 0;
	const struct prov_address *ad = step_address(a, w, s, &n);

	if (!ad || !ad->association_id)
		return util_err_set(err, UTIL_ENOTFOUND,
				    "address %s has no association", s->label);
	return prefixed(a->p->ops->disassociate(a->p, ad->association_id, err),
			s, err);
}

static int call(struct applier *a, const struct rc_world *w,
		const struct rc_step *s, struct util_err *err)
{
	struct prov *p = a->p;
	int r = UTIL_EFAIL;

	switch (s->action) {
	case RC_ACT_REGISTER:
	case RC_ACT_DEREGISTER:
		r = call_members(p, s, err);
		break;
	case RC_ACT_ALLOCATE:
		r = call_allocate(a, s, err);
		break;
	case RC_ACT_ASSOCIATE:
	case RC_ACT_MOVE:
		return call_associate(a, w, s, err);
	case RC_ACT_DISASSOCIATE:
		return call_disassociate(a, w, s, err);
	case RC_ACT_ENABLE_ZONES:
		r = p->ops->classic_enable_zones(p, s->label,
						 (const char *const *)s->zones,
						 s->n_zones, err);
		break;
	case RC_ACT_WAIT:
		break;
	}
	return prefixed(r, s, err);
}

/* --- mutating phases --------------------------------------------------------- */

struct phase_ctx {
	struct applier *a;
	const struct rc_step **steps;
	const struct rc_world *w;
};

/*
 * After a call failed in a way that leaves doubt (the client gave up on a
 * retryable error, or the answer was lost): one documented re-read of
 * what the step depends on, to report whether the change landed.  This
 * is not a retry -- retrying is the AWS client's job -- and a step that
 * did not land fails; the next apply starts from what is live.
 */
static void confirm_after_failure(struct applier *a, const struct rc_step *s,
				  const struct util_err *e)
{
	const struct rc_step *one[1] = { s };
	struct rc_world w = { 0 };
	struct util_err oe = UTIL_ERR_INIT;

	if (observe_steps(a, one, 1, &w, &oe) == 0 && already(a, &w, s))
		finish(a, s, RC_OUT_DONE, NULL,
		       "confirmed by reading back after: %s", e->msg);
	else
		finish(a, s, RC_OUT_FAILED, e, NULL);
	rc_world_release(&w);
}

/*
 * Whether a failed call leaves doubt about the change: the client gave up
 * on a retryable error or lost an answer, or a disassociation found its
 * association gone -- an earlier attempt whose answer was lost may have
 * removed it (or someone did): reading back tells.
 */
static bool doubtful(const struct rc_step *s, const struct util_err *e)
{
	if (e->flags & (UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN))
		return true;
	return s->action == RC_ACT_DISASSOCIATE &&
	       !strcmp(e->aws_code, "InvalidAssociationID.NotFound");
}

static void run_step(struct applier *a, const struct rc_step *s,
		     const struct rc_world *w)
{
	struct util_err e = UTIL_ERR_INIT;
	const char *key;
	size_t left;

	if ((key = stop_reason(a)) != NULL) {
		finish(a, s, RC_OUT_SKIPPED, NULL, "%s", key);
		return;
	}
	if (already(a, w, s)) {
		finish(a, s, RC_OUT_ALREADY, NULL, "already in place");
		return;
	}
	if ((key = changed(w, s)) != NULL) {
		finish(a, s, RC_OUT_SKIPPED, NULL,
		       "the world changed since the plan: %s is not as "
		       "planned",
		       key);
		return;
	}
	if (s->action == RC_ACT_DEREGISTER && breaks_floor(w, s, &left)) {
		finish(a, s, RC_OUT_SKIPPED, NULL,
		       "min_healthy: only %zu healthy member%s would remain, "
		       "%u needed",
		       left, left == 1 ? "" : "s", s->min_healthy);
		return;
	}
	result(a, s)->attempts = 1;
	if (call(a, w, s, &e) == 0) {
		/* Each task writes only its own step's flag. */
		a->verified[step_index(a, s)] = true;
		finish(a, s, RC_OUT_DONE, NULL, NULL);
	} else if (doubtful(s, &e))
		confirm_after_failure(a, s, &e);
	else
		finish(a, s, RC_OUT_FAILED, &e, NULL);
}

static void run_step_task(void *arg, size_t i)
{
	struct phase_ctx *c = arg;

	run_step(c->a, c->steps[i], c->w);
}

/* Run steps whose turn has come, concurrently, after re-reading their
 * preconditions (or using the world the plan was just made from). */
static void run_batch(struct applier *a, const struct rc_step **v, size_t n)
{
	struct rc_world w = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	struct phase_ctx c = { .a = a, .steps = v };

	for (size_t i = 0; i < n; i++)
		announce(a, v[i]);
	if (a->fresh) {
		c.w = a->fresh;
	} else if (observe_steps(a, v, n, &w, &e) < 0) {
		for (size_t i = 0; i < n; i++)
			finish(a, v[i], RC_OUT_FAILED, &e,
			       "could not read the state it depends on");
		return;
	} else {
		c.w = &w;
	}
	a->fresh = NULL;
	util_parallel(n, a->conc, run_step_task, &c);
	rc_world_release(&w);
}

/* --- waits ------------------------------------------------------------------ */

/* Ready members of a wait step, and whether one has left the group. */
static size_t wait_ready(const struct rc_obs_group *g, const struct rc_step *s,
			 const char **ret_gone)
{
	size_t ready = 0;

	*ret_gone = NULL;
	for (size_t i = 0; i < s->n_members; i++) {
		struct member_state ms = member_state(g, &s->members[i]);

		switch (s->until) {
		case RC_UNTIL_HEALTHY:
			if (!ms.present && !*ret_gone)
				*ret_gone = s->members[i].id;
			ready += ms.present && rc_health_counts(ms.health);
			break;
		case RC_UNTIL_REGISTERED:
			ready += ms.present;
			break;
		case RC_UNTIL_DRAINED:
			ready += !ms.listed;
			break;
		case RC_UNTIL_NONE:
			ready++;
			break;
		}
	}
	return ready;
}

/*
 * One poll of wait step i against its group g; true when the wait is
 * over.  The first poll has the whole re-read world w, to check the
 * step's precondition; later ones only g's health (w NULL).
 */
static bool wait_eval(struct applier *a, size_t i, const struct rc_world *w,
		      const struct rc_obs_group *g, uint64_t now)
{
	const struct rc_step *s = &a->plan->steps[i];
	struct rc_step_result *res = result(a, s);
	struct util_err e = UTIL_ERR_INIT;
	const char *gone, *key;
	size_t ready = wait_ready(g, s, &gone);
	uint64_t elapsed = now - a->wait_start[i];
	char d[32];

	res->elapsed_ms = elapsed;
	if (!a->wait_polls[i]++ && w && (key = changed(w, s)) != NULL) {
		finish(a, s, RC_OUT_SKIPPED, NULL,
		       "the world changed since the plan: %s is not as planned",
		       key);
		return true;
	}
	if (a->o->progress && a->o->progress->waiting)
		a->o->progress->waiting(a->o->progress->ctx, s, elapsed, ready,
					s->n_members);
	if (ready == s->n_members) {
		finish(a, s, RC_OUT_DONE, NULL, "%zu of %zu %s", ready,
		       s->n_members, rc_until_name(s->until));
		return true;
	}
	if (gone) {
		util_err_set(&e, UTIL_ECONFLICT,
			     "%s left %s while waiting for it to be healthy",
			     gone, s->label);
	} else if (elapsed >= s->timeout_ms) {
		util_err_set(&e, UTIL_ETIMEOUT,
			     "timed out after %s waiting for %s: %zu of %zu %s",
			     util_duration_format(s->timeout_ms, d, sizeof(d)),
			     s->label, ready, s->n_members,
			     rc_until_name(s->until));
	} else {
		return false;
	}
	finish(a, s, RC_OUT_FAILED, &e, NULL);
	util_err_clear(&e);
	return true;
}

/* When wait step i polls next: backing off, never past its deadline. */
static void wait_schedule(struct applier *a, size_t i, uint64_t now)
{
	uint64_t deadline = a->wait_start[i] + a->plan->steps[i].timeout_ms;
	uint64_t delay = a->wait_delay[i];

	a->wait_next[i] = deadline > now && deadline - now < delay
				  ? deadline
				  : now + delay;
	a->wait_delay[i] = delay * 2 > a->poll_max ? a->poll_max : delay * 2;
}

/*
 * A later poll of wait step s reads only its members' health -- one
 * DescribeTargetHealth or DescribeInstanceHealth, no re-read of the
 * group -- and evaluates it; false when the step needs the whole group
 * read instead (no ARN known).
 */
static bool poll_health(struct applier *a, const struct rc_step *s)
{
	size_t i = step_index(a, s);
	struct prov_classic_lb cl = { 0 };
	struct prov_target_group tg = { 0 };
	struct rc_obs_group g = { .kind = s->group_kind };
	struct util_err e = UTIL_ERR_INIT;
	struct rc_key k;
	int r;

	if (s->group_kind == SPEC_LB_CLASSIC) {
		if (rc_key_parse(s->key, &k, NULL) < 0)
			return false;
		g.classic = &cl;
		r = a->p->ops->classic_health(a->p, k.value, &cl, &e);
	} else {
		if (!s->tg_arn)
			return false;
		g.tg = &tg;
		r = a->p->ops->target_health(a->p, s->tg_arn, &tg, &e);
	}
	if (r < 0) {
		a->waiting[i] = false;
		finish(a, s, RC_OUT_FAILED, &e, "could not read the group");
	} else if (wait_eval(a, i, NULL, &g,
			     a->clock->mono_ms(a->clock->ctx))) {
		a->waiting[i] = false;
	} else {
		wait_schedule(a, i, a->clock->mono_ms(a->clock->ctx));
	}
	prov_classic_lb_release(&cl);
	prov_target_group_release(&tg);
	return true;
}

/* Whether a dependency of s on key made its call after verifying it. */
static bool verified_by_dep(const struct applier *a, const struct rc_step *s,
			    const char *key)
{
	for (size_t i = 0; i < s->n_deps; i++) {
		const struct rc_step *d = rc_plan_step(a->plan, s->deps[i]);

		if (d && a->verified[step_index(a, d)] && !strcmp(d->key, key))
			return true;
	}
	return false;
}

/*
 * Whether wait step s's preconditions are known to hold without reading
 * its group whole: each is on the group of a dependency that just made
 * its call after checking its own (the wait's fingerprint is the group
 * as that call leaves it), or the world the plan was just built from
 * shows it as planned.  Otherwise its first poll re-reads the group.
 */
static bool wait_pre_known(const struct applier *a, const struct rc_step *s)
{
	char fp[UTIL_SHA256_HEX_SIZE];

	for (size_t i = 0; i < s->n_pre; i++) {
		if (verified_by_dep(a, s, s->pre[i].key))
			continue;
		if (!a->fresh ||
		    rc_fingerprint(a->fresh, s->pre[i].key, fp, NULL) < 0 ||
		    strcmp(fp, s->pre[i].fp))
			return false;
	}
	return true;
}

struct wait_round {
	const struct rc_step **due; /* polls that read the group whole */
	size_t n_due, n_live, n_health;
	uint64_t now, next;
};

/* Poll the waits due by health, collect those that need a whole read. */
static void waits_due(struct applier *a, struct wait_round *r, const char *why)
{
	for (size_t i = 0; i < a->plan->n_steps; i++) {
		const struct rc_step *s = &a->plan->steps[i];

		if (!a->waiting[i])
			continue;
		r->n_live++;
		if (why) {
			a->waiting[i] = false;
			finish(a, s, RC_OUT_SKIPPED, NULL, "%s while waiting",
			       why);
		} else if (a->wait_next[i] <= r->now) {
			if ((a->wait_polls[i] || wait_pre_known(a, s)) &&
			    poll_health(a, s))
				r->n_health++;
			else
				r->due[r->n_due++] = s;
		} else if (a->wait_next[i] < r->next) {
			r->next = a->wait_next[i];
		}
	}
}

/* The first poll of the waits in due: their groups re-read whole. */
static void poll_whole(struct applier *a, const struct rc_step **due,
		       size_t n_due)
{
	struct rc_world w = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	uint64_t now;

	if (observe_steps(a, due, n_due, &w, &e) < 0) {
		for (size_t k = 0; k < n_due; k++) {
			a->waiting[step_index(a, due[k])] = false;
			finish(a, due[k], RC_OUT_FAILED, &e,
			       "could not read the group");
		}
		rc_world_release(&w);
		return;
	}
	now = a->clock->mono_ms(a->clock->ctx);
	for (size_t k = 0; k < n_due; k++) {
		size_t i = step_index(a, due[k]);

		if (wait_eval(a, i, &w, step_group(&w, due[k]), now))
			a->waiting[i] = false;
		else
			wait_schedule(a, i, now);
	}
	rc_world_release(&w);
}

/*
 * One round of the waits in progress: poll those due, or sleep until the
 * next one is.  Polls read health only; a wait's first poll re-reads its
 * group whole (those due together, one read) only when its precondition
 * is not known to hold already (wait_pre_known).  False when none is
 * waiting.
 */
static bool poll_waits(struct applier *a)
{
	const char *why = stop_reason(a);
	struct wait_round r = {
		.due = util_xcalloc(a->plan->n_steps + 1, sizeof(*r.due)),
		.now = a->clock->mono_ms(a->clock->ctx),
		.next = UINT64_MAX,
	};

	waits_due(a, &r, why);
	a->fresh = NULL; /* what comes after a wait reads afresh */
	if (r.n_due) {
		poll_whole(a, r.due, r.n_due);
	} else if (!why && !r.n_health && r.next != UINT64_MAX) {
		/* After a health poll, the next round finds who is due. */
		sleep_ms(a, r.next - r.now);
	}
	free(r.due);
	return r.n_live != 0;
}

/* --- scheduling --------------------------------------------------------- */

static bool is_address_step(const struct rc_step *s)
{
	return s->action == RC_ACT_ALLOCATE || s->action == RC_ACT_ASSOCIATE ||
	       s->action == RC_ACT_MOVE || s->action == RC_ACT_DISASSOCIATE;
}

/* Whether the group step g names an instance the address step ad binds. */
static bool share_instance(const struct rc_step *g, const struct rc_step *ad)
{
	for (size_t i = 0; i < g->n_members; i++) {
		const char *id = g->members[i].id;

		if ((ad->from.instance && util_streq(id, ad->from.instance)) ||
		    (ad->to.instance && util_streq(id, ad->to.instance)))
			return true;
	}
	return false;
}

/*
 * Steps whose relative order the phases fix: the same resource, or an
 * address and a group naming the same instance (an address moves to an
 * instance once its registration and wait are over, and an instance
 * losing an address leaves its groups after the move).  Steps on
 * different groups are never related, so a wait on one group holds up
 * nothing on another.
 */
static bool related(const struct rc_step *s, const struct rc_step *t)
{
	if (!strcmp(s->key, t->key))
		return true;
	if (is_address_step(s) == is_address_step(t))
		return false;
	return is_address_step(s) ? share_instance(t, s) : share_instance(s, t);
}

static void schedule_init(struct applier *a)
{
	size_t n = a->plan->n_steps;

	a->after = util_xcalloc(n * n + 1, sizeof(*a->after));
	a->waiting = util_xcalloc(n + 1, sizeof(*a->waiting));
	a->verified = util_xcalloc(n + 1, sizeof(*a->verified));
	a->wait_start = util_xcalloc(n + 1, sizeof(*a->wait_start));
	a->wait_next = util_xcalloc(n + 1, sizeof(*a->wait_next));
	a->wait_delay = util_xcalloc(n + 1, sizeof(*a->wait_delay));
	a->wait_polls = util_xcalloc(n + 1, sizeof(*a->wait_polls));
	for (size_t i = 0; i < n; i++) {
		const struct rc_step *s = &a->plan->steps[i];

		if ((int)s->phase >= 1 && (int)s->phase <= RC_N_PHASES)
			a->phase_total[s->phase]++;
		for (size_t k = 0; k < n; k++) {
			const struct rc_step *t = &a->plan->steps[k];

			a->after[i * n + k] = t->phase < s->phase &&
					      related(s, t);
		}
		for (size_t k = 0; k < s->n_deps; k++) {
			const struct rc_step *d = rc_plan_step(a->plan,
							       s->deps[k]);

			if (d)
				a->after[i * n + step_index(a, d)] = true;
		}
	}
}

static void schedule_release(struct applier *a)
{
	free(a->after);
	free(a->waiting);
	free(a->verified);
	free(a->wait_start);
	free(a->wait_next);
	free(a->wait_delay);
	free(a->wait_polls);
}

/* --- the whole plan -------------------------------------------------------- */

int rc_report_stale_err(const struct rc_report *rep, struct util_err *err)
{
	struct buf b = BUF_INIT;
	int rv;

	for (size_t i = 0; i < rep->n_stale && i < 5; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", rep->stale[i]);
	if (rep->n_stale > 5)
		buf_addf(&b, " and %zu more", rep->n_stale - 5);
	rv = util_err_set(err, UTIL_ECONFLICT,
			  "stale plan: %s changed since the plan was "
			  "made; nothing was done (run moor plan again)",
			  b.buf);
	buf_release(&b);
	return rv;
}

/*
 * Refuse a stale plan: re-read what every step names and compare it with
 * what the plan observed.  What it read (a->stale_w) is then as fresh as
 * the first round's re-read would be: the first round uses it instead.
 */
static int check_stale(struct applier *a, struct util_err *err)
{
	struct rc_reads r = RC_READS_INIT;
	struct rc_world *w = &a->stale_w;
	struct rc_report *rep = a->rep;
	char fp[UTIL_SHA256_HEX_SIZE];
	char **keys = NULL;
	size_t n = 0;
	int rv;

	r.no_classic_health = true;
	for (size_t i = 0; i < a->plan->n_steps; i++) {
		const struct rc_step *s = &a->plan->steps[i];

		keys = util_xrealloc(keys, (n + s->n_pre + 1) * sizeof(*keys));
		keys[n++] = util_xstrdup(s->key);
		for (size_t k = 0; k < s->n_pre; k++)
			keys[n++] = util_xstrdup(s->pre[k].key);
		/* A wait reads health itself; its precondition needs none. */
		if (checks_classic_floor(s))
			r.no_classic_health = false;
	}
	util_strv_sort_uniq(keys, &n);
	for (size_t i = 0; i < n; i++)
		rc_reads_add_key(&r, keys[i], NULL);
	rv = n ? observe(a, &r, w, err) : 0;
	if (rv < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *want = rc_plan_observed(a->plan, keys[i]);

		if (!want || rc_fingerprint(w, keys[i], fp, NULL) < 0 ||
		    !strcmp(fp, want))
			continue;
		rep->stale = util_xrealloc(rep->stale,
					   (rep->n_stale + 1) * sizeof(char *));
		rep->stale[rep->n_stale++] = util_xstrdup(keys[i]);
	}
	if (rep->n_stale)
		rv = rc_report_stale_err(rep, err);
	else if (n && !a->fresh)
		a->fresh = w;
out:
	util_strv_free(keys, n);
	rc_reads_release(&r);
	return rv;
}

static const char *dep_failure(struct applier *a, const struct rc_step *s,
			       const struct rc_step **ret_dep)
{
	for (size_t i = 0; i < s->n_deps; i++) {
		const struct rc_step *d = rc_plan_step(a->plan, s->deps[i]);
		enum rc_outcome o = d ? result(a, d)->outcome : RC_OUT_FAILED;

		if (o != RC_OUT_DONE && o != RC_OUT_ALREADY) {
			*ret_dep = d;
			return o == RC_OUT_FAILED ? "failed" : "was skipped";
		}
	}
	return NULL;
}

/* Skip what can no longer run: stopped, or a dependency did not succeed. */
static void skip_doomed(struct applier *a)
{
	const char *stop = stop_reason(a);
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; i < a->plan->n_steps; i++) {
			const struct rc_step *s = &a->plan->steps[i];
			const struct rc_step *d = NULL;
			const char *why;

			if (result(a, s)->outcome != RC_OUT_PENDING ||
			    a->waiting[i])
				continue;
			if (stop) {
				finish(a, s, RC_OUT_SKIPPED, NULL, "%s", stop);
				continue;
			}
			why = dep_failure(a, s, &d);
			if (!why || !d ||
			    result(a, d)->outcome == RC_OUT_PENDING)
				continue;
			finish(a, s, RC_OUT_SKIPPED, NULL, "step %u (%s %s) %s",
			       d->id, rc_action_name(d->action), d->label, why);
			again = true;
		}
	}
}

/* Whether step i may start: everything it comes after has finished. */
static bool may_start(const struct applier *a, size_t i)
{
	size_t n = a->plan->n_steps;

	if (a->rep->results[i].outcome != RC_OUT_PENDING || a->waiting[i])
		return false;
	for (size_t k = 0; k < n; k++)
		if (a->after[i * n + k] &&
		    (a->rep->results[k].outcome == RC_OUT_PENDING ||
		     a->waiting[k]))
			return false;
	return true;
}

/*
 * Start wait step i.  A health wait right after its members'
 * registration in this apply polls first after poll_min, not at once:
 * AWS marks a target or instance just registered healthy only once it
 * passed HealthyThreshold checks (at least 2, 5 s apart), so a poll at
 * once would be a read for nothing.  Other waits (registered, drained,
 * members registered before) poll at once.  Never past the deadline.
 */
static void wait_begin(struct applier *a, size_t i, uint64_t now)
{
	const struct rc_step *s = &a->plan->steps[i];
	bool just_registered = false;
	uint64_t first = 0;

	for (size_t k = 0; k < s->n_deps; k++) {
		const struct rc_step *d = rc_plan_step(a->plan, s->deps[k]);

		if (d && d->action == RC_ACT_REGISTER &&
		    result(a, d)->outcome == RC_OUT_DONE)
			just_registered = true;
	}
	if (s->until == RC_UNTIL_HEALTHY && just_registered)
		first = s->timeout_ms < a->poll_min ? s->timeout_ms
						    : a->poll_min;
	announce(a, s);
	a->waiting[i] = true;
	a->wait_start[i] = now;
	a->wait_next[i] = now + first;
	a->wait_delay[i] = a->poll_min;
}

/*
 * Run the plan by dependency rather than phase by phase: a step starts
 * as soon as the steps it depends on succeeded and every step it must
 * follow (related(), earlier phase) finished.  Calls whose turn has come
 * run before any wait sleeps; waits poll between them.
 */
static void run_plan(struct applier *a)
{
	size_t n = a->plan->n_steps;
	const struct rc_step **v = util_xcalloc(n + 1, sizeof(*v));

	schedule_init(a);
	for (;;) {
		size_t nv = 0;
		uint64_t now;

		skip_doomed(a);
		for (size_t i = 0; i < n; i++)
			if (a->plan->steps[i].action != RC_ACT_WAIT &&
			    may_start(a, i))
				v[nv++] = &a->plan->steps[i];
		if (nv) {
			run_batch(a, v, nv);
			continue;
		}
		now = a->clock->mono_ms(a->clock->ctx);
		for (size_t i = 0; i < n; i++) {
			if (a->plan->steps[i].action != RC_ACT_WAIT ||
			    !may_start(a, i))
				continue;
			wait_begin(a, i, now);
		}
		if (!poll_waits(a))
			break;
	}
	/* Nothing can start: only a dependency cycle would leave steps. */
	for (size_t i = 0; i < n; i++)
		if (a->rep->results[i].outcome == RC_OUT_PENDING)
			finish(a, &a->plan->steps[i], RC_OUT_SKIPPED, NULL,
			       "its dependencies never finished");
	schedule_release(a);
	free(v);
}

/* Count the outcomes; the error of the last failed step into err. */
static void tally(struct rc_report *rep, struct util_err *err)
{
	for (size_t i = 0; i < rep->n; i++) {
		switch (rep->results[i].outcome) {
		case RC_OUT_DONE:
			rep->done++;
			break;
		case RC_OUT_ALREADY:
			rep->already++;
			break;
		case RC_OUT_SKIPPED:
		case RC_OUT_PENDING:
			rep->skipped++;
			break;
		case RC_OUT_FAILED:
			rep->failed++;
			util_err_copy(err, &rep->results[i].err);
			break;
		}
	}
}

int rc_apply(struct prov *p, const struct rc_plan *plan,
	     const struct rc_apply_opts *opts, struct rc_report *ret,
	     struct util_err *err)
{
	static const struct rc_apply_opts no_opts;
	struct applier a = { .p = p, .plan = plan };
	struct rc_report *rep = ret;
	int rv = 0;

	memset(rep, 0, sizeof(*rep));
	a.o = opts ? opts : &no_opts;
	a.rep = rep;
	a.clock = a.o->clock ? a.o->clock : &util_clock_system;
	a.conc = a.o->concurrency ? a.o->concurrency : DEFAULT_CONCURRENCY;
	a.poll_min = a.o->poll_min_ms ? a.o->poll_min_ms : DEFAULT_POLL_MIN_MS;
	a.poll_max = a.o->poll_max_ms ? a.o->poll_max_ms : DEFAULT_POLL_MAX_MS;
	if (a.poll_max < a.poll_min)
		a.poll_max = a.poll_min;
	a.fresh = a.o->fresh;
	rep->n = plan->n_steps;
	rep->results = util_xcalloc(plan->n_steps + 1, sizeof(*rep->results));

	if (a.o->check_stale)
		rv = check_stale(&a, err);
	if (rv == 0)
		run_plan(&a);
	rc_world_release(&a.stale_w);
	if (rv < 0)
		return rv;
	tally(rep, err);
	rep->canceled = canceled(&a);
	rep->preempted = !rep->canceled && preempted(&a);
	if (rep->canceled || rep->preempted)
		return util_err_set(err, UTIL_ECANCELED,
				    "%s: %zu step%s not run",
				    rep->canceled ? "canceled"
						  : "preempted by a newer spec",
				    rep->skipped, rep->skipped == 1 ? "" : "s");
	if (rep->failed)
		return util_err_set(err, UTIL_EFAIL, "%zu step%s failed",
				    rep->failed, rep->failed == 1 ? "" : "s");
	if (rep->skipped)
		return util_err_set(err, UTIL_EFAIL, "%zu step%s skipped",
				    rep->skipped, rep->skipped == 1 ? "" : "s");
	return 0;
}
