#include "reconciler/engine/planverify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/observe.h"
#include "reconciler/engine/planfile.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/banned.h"

struct verifier {
	const struct rc_plan *saved;
	const struct rc_verify_opts *o;
	struct rc_report *rep;
	struct spec *s;
	bool *use_lb, *use_eip; /* the plan's --only, NULL = all */
	struct rc_world w;
};

/* The spec the plan carries, and its selection. */
static int load_spec(struct verifier *v, struct util_err *err)
{
	const struct rc_plan *sp = v->saved;
	struct spec_diags d = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;
	int r;

	if (!sp->spec_content)
		return util_err_set(err, UTIL_EINVAL,
				    "%s: the plan does not carry its spec; run "
				    "moor plan -o again",
				    v->o->path);
	r = spec_load_buffer(sp->spec_path, sp->spec_content,
			     sp->spec_content_len, &v->s, &d, &e);
	if (r == 0 && sp->n_only)
		r = rc_select_only(v->s, (const char *const *)sp->only,
				   sp->n_only, &v->use_lb, &v->use_eip, &e);
	if (r < 0) {
		util_err_format(&e, &b);
		r = util_err_set(err, UTIL_EINVAL,
				 "%s: the spec it carries does not load: %s",
				 v->o->path, b.buf);
	}
	buf_release(&b);
	spec_diags_release(&d);
	return r;
}

static int observe(struct prov *p, struct verifier *v, struct util_err *err)
{
	struct rc_reads r = RC_READS_INIT;
	int rv = rc_reads_from_spec(&r, v->s, v->use_lb, v->use_eip, err);

	if (rv == 0)
		rv = rc_observe(p, &r, NULL, &v->w, err);
	rc_reads_release(&r);
	return rv;
}

static void add_stale(struct rc_report *rep, const char *key)
{
	for (size_t i = 0; i < rep->n_stale; i++)
		if (!strcmp(rep->stale[i], key))
			return;
	rep->stale = util_xrealloc(rep->stale,
				   (rep->n_stale + 1) * sizeof(char *));
	rep->stale[rep->n_stale++] = util_xstrdup(key);
}

/*
 * The recorded fingerprints against the live state, before planning:
 * a plan made against another world is stale, whatever a guard says.
 */
static int check_recorded(struct verifier *v, struct util_err *err)
{
	char fp[UTIL_SHA256_HEX_SIZE];

	for (size_t i = 0; i < v->saved->n_observed; i++) {
		const struct rc_precond *o = &v->saved->observed[i];

		if (rc_fingerprint(&v->w, o->key, fp, NULL) < 0 ||
		    strcmp(fp, o->fp))
			add_stale(v->rep, o->key);
	}
	return v->rep->n_stale ? rc_report_stale_err(v->rep, err) : 0;
}

/* The same resources observed: one the plan did not read is stale too. */
static int check_observed_set(struct verifier *v, const struct rc_plan *fresh,
			      struct util_err *err)
{
	const struct rc_plan *sp = v->saved;

	for (size_t i = 0; i < fresh->n_observed; i++) {
		const char *want = rc_plan_observed(sp, fresh->observed[i].key);

		if (!want || strcmp(want, fresh->observed[i].fp))
			add_stale(v->rep, fresh->observed[i].key);
	}
	for (size_t i = 0; i < sp->n_observed; i++)
		if (!rc_plan_observed(fresh, sp->observed[i].key))
			add_stale(v->rep, sp->observed[i].key);
	return v->rep->n_stale ? rc_report_stale_err(v->rep, err) : 0;
}

static int compare_steps(struct verifier *v, const struct rc_plan *fresh,
			 struct util_err *err)
{
	const struct rc_plan *sp = v->saved;
	size_t n = sp->n_steps > fresh->n_steps ? sp->n_steps : fresh->n_steps;
	struct buf what = BUF_INIT;
	int rv = 0;

	for (size_t i = 0; i < n && !rv; i++) {
		const struct rc_step *a = i < sp->n_steps ? &sp->steps[i]
							  : NULL;
		const struct rc_step *b = i < fresh->n_steps ? &fresh->steps[i]
							     : NULL;

		if (!b)
			rv = util_err_set(
				err, UTIL_EINVAL,
				"%s: step %u (%s %s) is not one moor plans "
				"from its spec and the live state; run moor "
				"plan again",
				v->o->path, a->id, rc_action_name(a->action),
				a->label);
		else if (!a)
			rv = util_err_set(
				err, UTIL_EINVAL,
				"%s: the plan lacks step %u (%s %s), which "
				"moor "
				"plans from its spec and the live state; run "
				"moor plan again",
				v->o->path, b->id, rc_action_name(b->action),
				b->label);
		else if (rc_step_diff(a, b, &what))
			rv = util_err_set(
				err, UTIL_EINVAL,
				"%s: step %u (%s %s) is not what moor plans "
				"from its spec and the live state: %s; run "
				"moor plan again",
				v->o->path, a->id, rc_action_name(a->action),
				a->label, what.buf);
	}
	buf_release(&what);
	return rv;
}

static int check_summary(struct verifier *v, struct util_err *err)
{
	struct buf what = BUF_INIT;
	int rv = 0;

	if (rc_plan_summary_diff(v->saved, &what))
		rv = util_err_set(err, UTIL_EINVAL,
				  "%s: %s; run moor plan again", v->o->path,
				  what.buf);
	buf_release(&what);
	return rv;
}

/* Plan again, with the caller's guards (never the file's). */
static int plan_again(struct verifier *v, struct rc_plan **fresh,
		      struct rc_notes *errors, struct util_err *err)
{
	struct rc_plan_opts po = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	int rv;

	po.use_lb = v->use_lb;
	po.use_eip = v->use_eip;
	po.allow_mass_deregister = v->o->allow_mass_deregister;
	po.has_max_changes = v->o->has_max_changes;
	po.max_changes = v->o->max_changes;
	po.region = v->o->region;
	po.moor_version = v->o->moor_version;
	rv = rc_plan_build(v->s, &v->w, &po, fresh, errors, &e);
	if (rv < 0)
		util_err_set(err, rv,
			     "%s: moor would not make this plan now: %s",
			     v->o->path, e.msg);
	return rv;
}

int rc_plan_verify(struct prov *p, const struct rc_plan *saved,
		   const struct rc_verify_opts *o, struct rc_report *rep,
		   struct rc_notes *errors, struct util_err *err)
{
	struct verifier v = { .saved = saved, .o = o, .rep = rep };
	struct rc_plan *fresh = NULL;
	int rv;

	rv = load_spec(&v, err);
	if (rv == 0)
		rv = observe(p, &v, err);
	if (rv == 0)
		rv = check_recorded(&v, err);
	if (rv == 0)
		rv = plan_again(&v, &fresh, errors, err);
	if (rv == 0)
		rv = check_observed_set(&v, fresh, err);
	if (rv == 0)
		rv = compare_steps(&v, fresh, err);
	if (rv == 0)
		rv = check_summary(&v, err);
	rc_plan_free(fresh);
	rc_world_release(&v.w);
	free(v.use_lb);
	free(v.use_eip);
	spec_free(v.s);
	return rv;
}
