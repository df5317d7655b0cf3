#include "reconciler/daemon/cycle.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/engine.h"
#include "reconciler/engine/key.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "reconciler/engine/render.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/banned.h"

const char *rc_cycle_status_name(enum rc_cycle_status s)
{
	switch (s) {
	case RC_CYCLE_OK:
		return "ok";
	case RC_CYCLE_ERROR:
		return "error";
	case RC_CYCLE_REFUSED:
		return "refused";
	case RC_CYCLE_CANCELED:
		return "canceled";
	case RC_CYCLE_PREEMPTED:
		return "preempted";
	}
	return "?";
}

char *rc_cycle_lb_key(const struct spec_lb *lb)
{
	return rc_key_group(lb->kind, lb->name);
}

char *rc_cycle_eip_key(const struct spec_eip *e)
{
	return rc_key_address(e->ref, rc_eip_label(e));
}

static void addr_release(struct rc_cycle_addr *a)
{
	free(a->key);
	free(a->label);
	free(a->public_ip);
	free(a->holder);
}

void rc_cycle_result_release(struct rc_cycle_result *r)
{
	if (!r)
		return;
	free(r->err_resource);
	for (size_t i = 0; i < r->n_outcomes; i++) {
		free(r->outcomes[i].key);
		free(r->outcomes[i].label);
	}
	free(r->outcomes);
	for (size_t i = 0; i < r->n_groups; i++) {
		struct rc_cycle_group *g = &r->groups[i];

		for (size_t k = 0; k < g->n_members; k++)
			free(g->members[k].id);
		free(g->members);
		free(g->label);
	}
	free(r->groups);
	for (size_t i = 0; i < r->n_addrs; i++)
		addr_release(&r->addrs[i]);
	free(r->addrs);
	for (size_t i = 0; i < r->n_fo; i++) {
		struct rc_cycle_fo_out *f = &r->fo[i];

		addr_release(&f->addr);
		for (size_t k = 0; k < f->n_cands; k++) {
			free(f->cands[k].instance);
			free(f->cands[k].private_ip);
		}
		free(f->cands);
		free(f->from);
		free(f->to);
	}
	free(r->fo);
	memset(r, 0, sizeof(*r));
}

/* --- shared helpers ------------------------------------------------------- */

static void first_error(struct rc_cycle_result *r, const struct util_err *e,
			const char *resource)
{
	if (util_err_isset(&r->err) || !util_err_isset(e))
		return;
	util_err_copy(&r->err, e);
	free(r->err_resource);
	r->err_resource = util_xstrdup_or_null(resource);
}

static struct rc_cycle_outcome *outcome(struct rc_cycle_result *r,
					const char *key, const char *label)
{
	for (size_t i = 0; i < r->n_outcomes; i++)
		if (!strcmp(r->outcomes[i].key, key))
			return &r->outcomes[i];
	r->outcomes = util_xrealloc(r->outcomes,
				    (r->n_outcomes + 1) * sizeof(*r->outcomes));
	memset(&r->outcomes[r->n_outcomes], 0, sizeof(*r->outcomes));
	r->outcomes[r->n_outcomes].key = util_xstrdup(key);
	r->outcomes[r->n_outcomes].label = util_xstrdup(label);
	return &r->outcomes[r->n_outcomes++];
}

static void fail(struct rc_cycle_result *r, const char *key, const char *label,
		 const struct util_err *e, bool refused)
{
	struct rc_cycle_outcome *o = outcome(r, key, label);

	o->failed = true;
	o->refused |= refused;
	if (e)
		util_err_copy(&o->err, e);
	first_error(r, e, label);
}

/* Log an error with its AWS details as fields. */
static void log_err(enum util_log_level level, const char *event,
		    const char *resource, const struct util_err *e,
		    const char *action)
{
	struct buf msg = BUF_INIT;
	char status[24];
	const char *f[12];
	size_t n = 0;

	util_err_format(e, &msg);
	if (action) {
		f[n++] = "action";
		f[n++] = action;
	}
	f[n++] = "error";
	f[n++] = util_err_code_name(e->code);
	if (e->aws_code[0]) {
		f[n++] = "aws_code";
		f[n++] = e->aws_code;
	}
	if (e->http_status > 0 &&
	    snprintf(status, sizeof(status), "%ld", e->http_status) > 0) {
		f[n++] = "http_status";
		f[n++] = status;
	}
	if (e->request_id[0]) {
		f[n++] = "request_id";
		f[n++] = e->request_id;
	}
	f[n] = NULL;
	util_log_fields(level, event, resource, f, "%s", msg.buf);
	buf_release(&msg);
}

static void log_phase(void *ctx, enum rc_phase ph, size_t n)
{
	(void)ctx;
	util_log(UTIL_LOG_INFO, "apply_phase", NULL,
		 "phase %d/%d %s: %zu step%s", (int)ph, RC_N_PHASES,
		 rc_phase_name(ph), n, n == 1 ? "" : "s");
}

static const struct rc_apply_progress s_progress = {
	.phase = log_phase,
};

static void apply_opts(const struct rc_cycle_opts *o,
		       const struct rc_world *fresh, struct rc_apply_opts *ao)
{
	memset(ao, 0, sizeof(*ao));
	ao->concurrency = o->concurrency;
	ao->clock = o->clock;
	ao->cancel = o->cancel;
	ao->preempt = o->preempt;
	ao->progress = &s_progress;
	ao->poll_min_ms = o->poll_min_ms;
	ao->poll_max_ms = o->poll_max_ms;
	ao->fresh = fresh;
}

static bool canceled(const struct rc_cycle_opts *o)
{
	return o->cancel && *o->cancel;
}

/* --- full ----------------------------------------------------------------- */

static bool any(const bool *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return true;
	return false;
}

/*
 * Set aside every resource a refusal names (by label); false when one
 * of them concerns no resource in particular (max_changes), or names
 * nothing selected.
 */
static bool set_aside(const struct spec *s, const struct rc_notes *errors,
		      bool *use_lb, bool *use_eip, struct rc_cycle_result *r)
{
	bool ok = true, hit = false;

	for (size_t i = 0; i < errors->n; i++) {
		const struct rc_note *n = &errors->v[i];
		struct buf line = BUF_INIT;
		struct util_err e = UTIL_ERR_INIT;
		bool found = false;

		if (n->level != RC_NOTE_ERROR)
			continue;
		rc_note_format(errors, i, &line);
		util_err_set(&e, UTIL_EINVAL, "%s", line.buf);
		util_log(UTIL_LOG_ERROR, "plan_refused", n->resource, "%s",
			 line.buf);
		buf_release(&line);
		for (size_t k = 0; n->resource && k < s->n_lbs; k++) {
			if (!use_lb[k] ||
			    strcmp(spec_lb_label(&s->lbs[k]), n->resource))
				continue;
			char *key = rc_cycle_lb_key(&s->lbs[k]);

			fail(r, key, n->resource, &e, true);
			free(key);
			use_lb[k] = false;
			found = hit = true;
		}
		for (size_t k = 0; n->resource && k < s->n_eips; k++) {
			if (!use_eip[k] ||
			    strcmp(rc_eip_label(&s->eips[k]), n->resource))
				continue;
			char *key = rc_cycle_eip_key(&s->eips[k]);

			fail(r, key, n->resource, &e, true);
			free(key);
			use_eip[k] = false;
			found = hit = true;
		}
		if (!found) {
			fail(r, "*", n->resource ? n->resource : "spec", &e,
			     true);
			ok = false;
		}
	}
	return ok && hit;
}

/*
 * A guard held back part of the plan: live state still differs from the
 * spec, though nothing failed.  Count it per group (the status file and
 * metrics) and say why.
 */
static void note_held_back(const struct spec *s, const bool *use_lb,
			   const struct rc_plan *plan,
			   struct rc_cycle_result *r)
{
	struct buf b = BUF_INIT;
	size_t g = 0;

	for (size_t i = 0; i < s->n_lbs; i++) {
		char *key;

		if (!use_lb[i])
			continue;
		key = rc_cycle_lb_key(&s->lbs[i]);
		for (size_t k = 0; k < plan->n_held; k++) {
			const struct rc_held *h = &plan->held[k];

			if (strcmp(h->key, key))
				continue;
			r->groups[g].held_back += h->n_members;
			r->held_back += h->n_members;
			buf_reset(&b);
			rc_render_held(h, 0, &b);
			util_log(UTIL_LOG_INFO, "held_back", h->label, "%s",
				 b.buf + 2);
		}
		free(key);
		g++;
	}
	buf_release(&b);
}

static void snapshot_groups(const struct spec *s, const bool *use_lb,
			    const struct rc_world *w, struct rc_cycle_result *r)
{
	r->groups = util_xcalloc(s->n_lbs + 1, sizeof(*r->groups));
	for (size_t i = 0; i < s->n_lbs; i++) {
		const struct spec_lb *lb = &s->lbs[i];
		const struct rc_obs_group *g;
		struct rc_cycle_group *out;

		if (!use_lb[i])
			continue;
		g = rc_world_group(w, lb->kind, lb->name);
		out = &r->groups[r->n_groups++];
		out->label = util_xstrdup(spec_lb_label(lb));
		out->kind = lb->kind;
		out->found = g && (g->classic || g->tg);
		if (!out->found)
			continue;
		out->members = util_xcalloc(RC_CYCLE_MAX_MEMBERS + 1,
					    sizeof(*out->members));
		if (g->classic) {
			for (size_t k = 0; k < g->classic->n_members; k++) {
				const struct prov_classic_member *m =
					&g->classic->members[k];

				if (!rc_classic_member_present(m))
					continue;
				out->total++;
				out->healthy += rc_health_counts(m->health);
				if (out->n_members < RC_CYCLE_MAX_MEMBERS) {
					struct rc_cycle_member *cm =
						&out->members[out->n_members++];

					cm->id = util_xstrdup(m->instance_id);
					cm->health = m->health;
				}
			}
		} else {
			for (size_t k = 0; k < g->tg->n_targets; k++) {
				const struct prov_target *t = &g->tg->targets[k];

				if (!rc_target_present(t))
					continue;
				out->total++;
				out->healthy += rc_health_counts(t->health);
				if (out->n_members < RC_CYCLE_MAX_MEMBERS) {
					struct rc_cycle_member *cm =
						&out->members[out->n_members++];

					cm->id = util_xstrdup(t->id);
					cm->port = t->port;
					cm->health = t->health;
				}
			}
		}
	}
}

static void observe_addr(const struct spec_eip *e, const struct rc_world *w,
			 struct rc_cycle_addr *out)
{
	size_t n = 0;
	const struct prov_address *a = rc_world_address(w, e->ref,
							rc_eip_label(e), &n);

	out->key = rc_cycle_eip_key(e);
	out->label = util_xstrdup(rc_eip_label(e));
	out->found = a != NULL;
	if (!a)
		return;
	out->public_ip = util_xstrdup_or_null(a->public_ip);
	out->bound = a->association_id || a->instance_id || a->eni_id;
	out->holder = util_xstrdup_or_null(a->instance_id ? a->instance_id
							  : a->eni_id);
}

static void snapshot_addrs(const struct spec *s, const bool *use_eip,
			   const struct rc_world *w, struct rc_cycle_result *r)
{
	r->addrs = util_xcalloc(s->n_eips + 1, sizeof(*r->addrs));
	for (size_t i = 0; i < s->n_eips; i++)
		if (use_eip[i])
			observe_addr(&s->eips[i], w, &r->addrs[r->n_addrs++]);
}

/* Record the outcome of every step; log failures and drift. */
static void report_steps(const struct rc_plan *plan,
			 const struct rc_report *rep, bool drift,
			 struct rc_cycle_result *r)
{
	for (size_t i = 0; i < plan->n_steps && i < rep->n; i++) {
		const struct rc_step *st = &plan->steps[i];
		const struct rc_step_result *sr = &rep->results[i];
		struct util_err e = UTIL_ERR_INIT;

		switch (sr->outcome) {
		case RC_OUT_DONE:
			if (rc_step_is_change(st)) {
				r->changes++;
				if (drift) {
					struct buf b = BUF_INIT;

					rc_render_step(st, 0, 5, &b);
					r->drift++;
					util_log(UTIL_LOG_INFO,
						 "drift_corrected", st->label,
						 "%s", b.buf);
					buf_release(&b);
				}
			}
			outcome(r, st->key, st->label);
			break;
		case RC_OUT_ALREADY:
			outcome(r, st->key, st->label);
			break;
		case RC_OUT_FAILED:
			log_err(UTIL_LOG_ERROR, "apply_failed", st->label,
				&sr->err, rc_action_name(st->action));
			fail(r, st->key, st->label, &sr->err, false);
			break;
		case RC_OUT_SKIPPED:
		case RC_OUT_PENDING:
			if (rep->canceled || rep->preempted)
				break;
			util_err_set(&e, UTIL_ECONFLICT, "%s %s skipped: %s",
				     rc_action_name(st->action), st->label,
				     sr->detail ? sr->detail : "not run");
			util_log(UTIL_LOG_WARN, "apply_skipped", st->label,
				 "%s", e.msg);
			fail(r, st->key, st->label, &e, false);
			break;
		}
	}
}

/*
 * Apply plan (made from fresh): the report into rep, each step's outcome
 * into r; a canceled apply cancels r.
 */
static void apply_plan(struct prov *p, const struct rc_plan *plan,
		       const struct rc_cycle_opts *o,
		       const struct rc_world *fresh, bool drift,
		       struct rc_report *rep, struct rc_cycle_result *r)
{
	struct rc_apply_opts ao;
	struct util_err e = UTIL_ERR_INIT;

	apply_opts(o, fresh, &ao);
	rc_apply(p, plan, &ao, rep, &e);
	report_steps(plan, rep, drift, r);
	if (rep->canceled || rep->preempted) {
		r->status = rep->canceled ? RC_CYCLE_CANCELED
					  : RC_CYCLE_PREEMPTED;
		first_error(r, &e, NULL);
	}
}

/*
 * The status from the outcomes, unless canceled: error when one failed
 * other than by refusal, else refused when one was refused.
 */
static void settle_status(struct rc_cycle_result *r)
{
	if (r->status == RC_CYCLE_CANCELED || r->status == RC_CYCLE_PREEMPTED)
		return;
	r->status = RC_CYCLE_OK;
	for (size_t i = 0; i < r->n_outcomes; i++) {
		if (!r->outcomes[i].failed)
			continue;
		if (r->outcomes[i].refused && r->status == RC_CYCLE_OK)
			r->status = RC_CYCLE_REFUSED;
		else if (!r->outcomes[i].refused)
			r->status = RC_CYCLE_ERROR;
	}
}

/* What a cycle returns for its status (see cycle.h). */
static int status_code(const struct rc_cycle_result *r)
{
	if (r->status == RC_CYCLE_OK)
		return 0;
	return r->err.code ? r->err.code : UTIL_EFAIL;
}

/* The plan's warnings, for --debug (the daemon has no terminal). */
static void log_plan_warnings(const struct rc_plan *plan)
{
	for (size_t i = 0; i < plan->notes.n; i++) {
		struct buf b = BUF_INIT;
		const struct rc_note *n = &plan->notes.v[i];

		if (n->level != RC_NOTE_WARNING)
			continue;
		rc_note_format(&plan->notes, i, &b);
		util_log(UTIL_LOG_DEBUG, "plan_warning", n->resource, "%s",
			 b.buf);
		buf_release(&b);
	}
}

static size_t n_changes(const struct rc_plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n_steps; i++)
		n += rc_step_is_change(&plan->steps[i]);
	return n;
}

/*
 * Plan the selection with the engine; when a guard refuses, set aside
 * what the refusal names and plan the rest once more from the same
 * observation.  0 with er->plan set, else -1 (failures recorded in r).
 */
static int plan_selection(struct prov *p, const struct spec *s, bool *use_lb,
			  bool *use_eip, const struct rc_cycle_opts *o,
			  const struct rc_observe_opts *oo,
			  struct rc_engine_result *er,
			  struct rc_cycle_result *r)
{
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts eo = { .plan = &po, .observe = oo };
	struct util_err e = UTIL_ERR_INIT;
	struct rc_notes errors = { 0 };
	int rc;

	po.use_lb = use_lb;
	po.use_eip = use_eip;
	po.allow_mass_deregister = false;
	po.has_max_changes = o->has_max_changes;
	po.max_changes = o->max_changes;
	po.region = o->region;
	po.moor_version = MOOR_VERSION;
	rc = rc_engine_plan(p, s, &eo, er, &errors, &e);
	if (!er->observed) {
		log_err(UTIL_LOG_ERROR, "observe_failed", NULL, &e, NULL);
		fail(r, "*", "observe", &e, false);
		return -1;
	}
	r->observed = true;
	for (int attempt = 0; rc < 0; attempt++) {
		bool more = set_aside(s, &errors, use_lb, use_eip, r) &&
			    (any(use_lb, s->n_lbs) || any(use_eip, s->n_eips));

		rc_notes_release(&errors);
		if (!more || attempt == 1)
			return -1;
		util_err_clear(&e);
		rc = rc_plan_build(s, &er->world, &po, &er->plan, &errors, &e);
	}
	rc_notes_release(&errors);
	log_plan_warnings(er->plan);
	return 0;
}

/*
 * Owns one full reconcile (cycle.h): the selection, the plan
 * (plan_selection), apply, each resource's outcome and the status
 * snapshot.
 */
int rc_cycle_full(struct prov *p, const struct spec *s, const bool *use_lb_in,
		  const bool *use_eip_in, bool drift,
		  const struct rc_cycle_opts *o, struct rc_cycle_result *ret)
{
	struct rc_observe_opts oo = { .concurrency = o->concurrency };
	bool *use_lb = util_xcalloc(s->n_lbs + 1, sizeof(bool));
	bool *use_eip = util_xcalloc(s->n_eips + 1, sizeof(bool));
	struct rc_engine_result er = RC_ENGINE_RESULT_INIT;
	struct rc_world after = { 0 };
	struct rc_report rep = { 0 };
	uint64_t start = util_mono_ms();

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < s->n_lbs; i++)
		use_lb[i] = use_lb_in[i];
	for (size_t i = 0; i < s->n_eips; i++)
		use_eip[i] = use_eip_in[i] &&
			     s->eips[i].bind != SPEC_BIND_FAILOVER;
	if (!any(use_lb, s->n_lbs) && !any(use_eip, s->n_eips)) {
		ret->observed = true;
		goto out;
	}
	if (plan_selection(p, s, use_lb, use_eip, o, &oo, &er, ret) < 0)
		goto out;

	if (o->observe_only)
		ret->planned = n_changes(er.plan);
	else if (rc_plan_has_changes(er.plan) && !canceled(o))
		apply_plan(p, er.plan, o, &er.world, drift, &rep, ret);
	/* Everything planned that had no failing step is as declared. */
	for (size_t i = 0; i < s->n_lbs; i++) {
		if (use_lb[i]) {
			char *key = rc_cycle_lb_key(&s->lbs[i]);

			outcome(ret, key, spec_lb_label(&s->lbs[i]));
			free(key);
		}
	}
	for (size_t i = 0; i < s->n_eips; i++) {
		if (use_eip[i]) {
			char *key = rc_cycle_eip_key(&s->eips[i]);

			outcome(ret, key, rc_eip_label(&s->eips[i]));
			free(key);
		}
	}
	/* The status shows the groups as they are now. */
	if (ret->changes && !rep.canceled && !rep.preempted &&
	    rc_observe(p, &er.reads, &oo, &after, NULL) == 0) {
		snapshot_groups(s, use_lb, &after, ret);
		snapshot_addrs(s, use_eip, &after, ret);
	} else {
		snapshot_groups(s, use_lb, &er.world, ret);
		snapshot_addrs(s, use_eip, &er.world, ret);
	}
	note_held_back(s, use_lb, er.plan, ret);
out:
	settle_status(ret);
	ret->elapsed_ms = util_mono_ms() - start;
	rc_report_release(&rep);
	rc_engine_result_release(&er);
	rc_world_release(&after);
	free(use_lb);
	free(use_eip);
	return status_code(ret);
}

/* --- failover ------------------------------------------------------------- */

struct fo_ctx {
	const struct spec *s;
	const int *want; /* per eip: the only candidate that may hold it */
};

static bool only_chosen(void *ctx, const struct spec_eip *e, size_t i,
			const struct prov_instance *in)
{
	const struct fo_ctx *c = ctx;

	(void)in;
	return c->want[e - c->s->eips] == (int)i;
}

static void fo_observe(const struct spec_eip *e,
		       const struct rc_cycle_fo_in *in,
		       const struct rc_world *w, uint64_t now_ms,
		       struct rc_cycle_fo_out *out)
{
	const struct spec_failover *f = &e->failover;
	struct rc_fo_cand *fc = util_xcalloc(f->n_candidates + 1, sizeof(*fc));
	struct rc_fo_input fi;

	observe_addr(e, w, &out->addr);
	out->observed = true;
	out->holder_idx = -1;
	out->cands = util_xcalloc(f->n_candidates + 1, sizeof(*out->cands));
	out->n_cands = f->n_candidates;
	for (size_t k = 0; k < f->n_candidates; k++) {
		const char *id = f->candidates[k].instance;
		const struct prov_instance *pi = rc_world_instance(w, id);
		struct rc_cycle_fo_cand *c = &out->cands[k];

		c->instance = util_xstrdup(id);
		c->found = pi != NULL;
		c->state = pi ? pi->state : PROV_INSTANCE_UNKNOWN;
		c->private_ip = pi ? util_xstrdup_or_null(pi->private_ip)
				   : NULL;
		fc[k].health = in->health ? in->health[k] : RC_HEALTH_UNKNOWN;
		fc[k].running = rc_fo_running(true, c->state);
		if (out->addr.holder && !strcmp(out->addr.holder, id))
			out->holder_idx = (int)k;
	}
	out->drift = in->holder_known &&
		     !util_streq(in->holder, out->addr.holder);
	rc_fo_input_init(&fi, f, fc, out->holder_idx, out->addr.bound, now_ms,
			 in->last_move_ms);
	rc_fo_decide(&fi, &out->decision);
	free(fc);
}

static void fo_log_move(const struct rc_cycle_fo_out *f)
{
	const char *event = "failover";
	const char *fields[] = {
		"from",	  f->from ? f->from : "none",
		"to",	  f->to ? f->to : "?",
		"reason", rc_fo_reason_name(f->decision.reason),
		NULL
	};

	switch (f->decision.reason) {
	case RC_FO_WHY_FAILBACK:
		event = "failback";
		break;
	case RC_FO_WHY_NOT_CANDIDATE:
		event = "drift_corrected";
		break;
	case RC_FO_WHY_UNBOUND:
		event = f->drift ? "drift_corrected" : "associated";
		break;
	default:
		break;
	}
	util_log_fields(UTIL_LOG_WARN, event, f->addr.label, fields,
			"%s moved from %s to %s (%s)", f->addr.label,
			f->from ? f->from : "nothing", f->to ? f->to : "?",
			rc_fo_reason_name(f->decision.reason));
}

/* The addresses asked about, named in ret; use_eip marks the failover ones. */
static void fo_prepare(const struct spec *s, const struct rc_cycle_fo_in *in,
		       size_t n, bool *use_eip, int *want,
		       struct rc_cycle_result *ret)
{
	ret->fo = util_xcalloc(n + 1, sizeof(*ret->fo));
	ret->n_fo = n;
	for (size_t i = 0; i < s->n_eips; i++)
		want[i] = -1;
	for (size_t i = 0; i < n; i++) {
		ret->fo[i].holder_idx = -1;
		ret->fo[i].addr.key = rc_cycle_eip_key(&s->eips[in[i].eip]);
		ret->fo[i].addr.label = util_xstrdup(
			rc_eip_label(&s->eips[in[i].eip]));
		if (s->eips[in[i].eip].bind == SPEC_BIND_FAILOVER)
			use_eip[in[i].eip] = true;
	}
}

static void fo_fail_all(struct rc_cycle_result *ret, size_t n,
			const struct util_err *e)
{
	for (size_t i = 0; i < n; i++) {
		ret->fo[i].failed = true;
		util_err_copy(&ret->fo[i].err, e);
		fail(ret, ret->fo[i].addr.key, ret->fo[i].addr.label, e, false);
	}
}

/* Decide every address on what was observed; want[] is who may hold it. */
static void fo_decide_all(const struct spec *s, const struct rc_cycle_fo_in *in,
			  size_t n, const struct rc_world *w, uint64_t now_ms,
			  const bool *use_eip, int *want,
			  struct rc_cycle_result *ret)
{
	for (size_t i = 0; i < n; i++) {
		const struct spec_eip *ei = &s->eips[in[i].eip];
		struct rc_cycle_fo_out *f = &ret->fo[i];

		if (!use_eip[in[i].eip])
			continue;
		free(f->addr.key);
		free(f->addr.label);
		f->addr.key = f->addr.label = NULL;
		fo_observe(ei, &in[i], w, now_ms, f);
		switch (f->decision.verdict) {
		case RC_FO_MOVE:
		case RC_FO_KEEP:
			want[in[i].eip] = f->decision.target;
			break;
		default:
			/* Nobody may take it: the plan leaves it alone. */
			want[in[i].eip] = -1;
			break;
		}
		if (f->drift && f->decision.verdict == RC_FO_KEEP)
			util_log(UTIL_LOG_INFO, "holder_changed", f->addr.label,
				 "%s was moved to %s outside moor; it is a "
				 "healthy candidate, so it stays",
				 f->addr.label,
				 f->addr.holder ? f->addr.holder : "nothing");
	}
}

/* The plan could not be built: each address takes its set-aside error. */
static void fo_plan_failed(const struct spec *s, const struct rc_notes *errors,
			   bool *use_eip, size_t n, struct rc_cycle_result *ret)
{
	bool *lb_copy = util_xcalloc(s->n_lbs + 1, sizeof(bool));

	set_aside(s, errors, lb_copy, use_eip, ret);
	free(lb_copy);
	for (size_t i = 0; i < n; i++) {
		struct rc_cycle_outcome *oc = NULL;

		for (size_t k = 0; k < ret->n_outcomes; k++)
			if (!strcmp(ret->outcomes[k].key,
				    ret->fo[i].addr.key) ||
			    !strcmp(ret->outcomes[k].key, "*"))
				oc = &ret->outcomes[k];
		if (oc) {
			ret->fo[i].failed = true;
			util_err_copy(&ret->fo[i].err, &oc->err);
		}
	}
}

/* What one applied step did to the address f. */
static void fo_step_result(const struct rc_step *st,
			   const struct rc_step_result *sr,
			   struct rc_cycle_fo_out *f,
			   struct rc_cycle_result *ret)
{
	if (sr->outcome == RC_OUT_FAILED || sr->outcome == RC_OUT_SKIPPED ||
	    sr->outcome == RC_OUT_PENDING) {
		f->failed = true;
		util_err_copy(&f->err, &sr->err);
		if (!f->err.code)
			util_err_set(&f->err, UTIL_ECONFLICT, "%s",
				     sr->detail ? sr->detail : "skipped");
		return;
	}
	if (sr->outcome != RC_OUT_DONE ||
	    (st->action != RC_ACT_MOVE && st->action != RC_ACT_ASSOCIATE))
		return;
	f->moved = true;
	free(f->from);
	free(f->to);
	f->from = util_xstrdup_or_null(st->from.instance ? st->from.instance
							 : st->from.eni);
	f->to = util_xstrdup_or_null(st->to.instance ? st->to.instance
						     : st->to.eni);
	free(f->addr.holder);
	f->addr.holder = util_xstrdup_or_null(f->to);
	f->addr.bound = true;
	f->holder_idx = -1;
	for (size_t c = 0; c < f->n_cands; c++)
		if (util_streq(f->cands[c].instance, f->to))
			f->holder_idx = (int)c;
	if (f->drift || f->decision.reason == RC_FO_WHY_NOT_CANDIDATE)
		ret->drift++;
	fo_log_move(f);
}

static void fo_apply(struct prov *p, const struct rc_plan *plan,
		     const struct rc_cycle_opts *o, const struct rc_world *w,
		     size_t n, struct rc_report *rep,
		     struct rc_cycle_result *ret)
{
	apply_plan(p, plan, o, w, false, rep, ret);
	for (size_t i = 0; i < plan->n_steps && i < rep->n; i++) {
		const struct rc_step *st = &plan->steps[i];

		for (size_t k = 0; k < n; k++) {
			struct rc_cycle_fo_out *f = &ret->fo[k];

			if (!f->addr.key || strcmp(f->addr.key, st->key))
				continue;
			fo_step_result(st, &rep->results[i], f, ret);
		}
	}
}

/*
 * Owns one failover cycle end to end: observe the addresses asked about,
 * decide each, plan only the chosen moves and apply them, with every
 * buffer it needs on one exit path (hence over 60 lines).
 */
int rc_cycle_failover(struct prov *p, const struct spec *s,
		      const struct rc_cycle_fo_in *in, size_t n,
		      uint64_t now_ms, const struct rc_cycle_opts *o,
		      struct rc_cycle_result *ret)
{
	struct rc_observe_opts oo = { .concurrency = o->concurrency };
	bool *use_lb = util_xcalloc(s->n_lbs + 1, sizeof(bool));
	bool *use_eip = util_xcalloc(s->n_eips + 1, sizeof(bool));
	int *want = util_xcalloc(s->n_eips + 1, sizeof(int));
	struct fo_ctx ctx = { s, want };
	struct rc_reads reads = RC_READS_INIT;
	struct rc_world w = { 0 };
	struct rc_plan *plan = NULL;
	struct rc_report rep = { 0 };
	struct rc_plan_opts po = { 0 };
	struct rc_notes errors = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	uint64_t start = util_mono_ms();

	memset(ret, 0, sizeof(*ret));
	fo_prepare(s, in, n, use_eip, want, ret);
	if (!any(use_eip, s->n_eips))
		goto out;
	if (rc_reads_from_spec(&reads, s, use_lb, use_eip, &e) < 0 ||
	    rc_observe(p, &reads, &oo, &w, &e) < 0) {
		log_err(UTIL_LOG_ERROR, "observe_failed", NULL, &e, NULL);
		fo_fail_all(ret, n, &e);
		goto out;
	}
	ret->observed = true;
	fo_decide_all(s, in, n, &w, now_ms, use_eip, want, ret);

	po.use_lb = use_lb;
	po.use_eip = use_eip;
	po.has_max_changes = o->has_max_changes;
	po.max_changes = o->max_changes;
	po.region = o->region;
	po.moor_version = MOOR_VERSION;
	po.candidate_ok = only_chosen;
	po.candidate_ctx = &ctx;
	if (rc_plan_build(s, &w, &po, &plan, &errors, &e) < 0) {
		fo_plan_failed(s, &errors, use_eip, n, ret);
		goto out;
	}
	if (o->observe_only)
		ret->planned = n_changes(plan);
	else if (rc_plan_has_changes(plan) && !canceled(o))
		fo_apply(p, plan, o, &w, n, &rep, ret);
	for (size_t i = 0; i < n; i++)
		if (!ret->fo[i].failed && ret->fo[i].addr.key)
			outcome(ret, ret->fo[i].addr.key,
				ret->fo[i].addr.label);
out:
	settle_status(ret);
	ret->elapsed_ms = util_mono_ms() - start;
	rc_notes_release(&errors);
	rc_report_release(&rep);
	rc_plan_free(plan);
	rc_world_release(&w);
	rc_reads_release(&reads);
	free(use_lb);
	free(use_eip);
	free(want);
	return status_code(ret);
}
