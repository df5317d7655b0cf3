#ifndef RECONCILER_ENGINE_PLANVERIFY_H
#define RECONCILER_ENGINE_PLANVERIFY_H

#include <stdbool.h>

#include "providers/provider.h"
#include "reconciler/engine/apply.h"
#include "reconciler/engine/plan.h"
#include "util/err.h"

/*
 * A saved plan is input like any other: before `moor apply PLAN` makes a
 * call, the plan must be one moor would make now.  rc_plan_verify() loads
 * the spec the plan carries, observes the live state with the plan's
 * selection, plans again with the caller's guards, and compares:
 *
 *  1. every observed fingerprint the plan records against the live state
 *     (a difference is a stale plan, as rc_apply() reports it);
 *  2. the guards (min_healthy, mass deregistration, max_changes) against
 *     the live state, with apply's own flags: a file cannot grant itself
 *     --allow-mass-deregister or lift --max-changes;
 *  3. every step, field by field (rc_step_diff()), and the number of
 *     steps.  Health is not in a fingerprint, so a health change since the
 *     plan can change the steps: that is a refusal too;
 *  4. the summary the file says against the one its steps make.
 *
 * The shape of each step was checked when the plan was read
 * (rc_plan_from_json()).  Notes and per-group summaries only inform and
 * are not compared.
 */

struct rc_verify_opts {
	const char *path; /* the plan file, for messages */
	bool allow_mass_deregister;
	/* --max-changes given to apply: a cap only when has_max_changes. */
	bool has_max_changes;
	unsigned max_changes;
	const char *region; /* as for rc_plan_build(); may be NULL */
	const char *moor_version;
};

/*
 * 0 when saved is what moor plans now.  UTIL_ECONFLICT for a stale plan,
 * its keys in rep->stale (rep zeroed by the caller, released with
 * rc_report_release()).  UTIL_EINVAL when a guard fails (each problem in
 * errors, as rc_plan_build() gives them; caller zeroes and releases) or
 * a step differs (err names the step).  Other codes: the observation
 * failed.  Only reads are made.
 */
int rc_plan_verify(struct prov *p, const struct rc_plan *saved,
		   const struct rc_verify_opts *o, struct rc_report *rep,
		   struct rc_notes *errors, struct util_err *err);

#endif
