#ifndef RECONCILER_ENGINE_ENGINE_H
#define RECONCILER_ENGINE_ENGINE_H

#include <stdbool.h>

#include "providers/provider.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "spec/spec.h"
#include "util/err.h"

/*
 * The engine's one entry point from a loaded spec to a plan: what the
 * spec names is read (rc_reads_from_spec), observed (rc_observe) and
 * diffed (rc_plan_build).  moor plan, moor apply and the daemon's full
 * cycle all plan through it; loading the spec stays with them (the
 * command line prints diagnostics, the daemon's watcher logs them).
 */

struct rc_engine_opts {
	/*
	 * Required.  Its use_lb / use_eip (NULL = all) select what is read
	 * as well as what is planned.
	 */
	const struct rc_plan_opts *plan;
	const struct rc_observe_opts *observe; /* NULL = defaults */
	bool identity; /* also read the caller identity (plans record it) */
	/* rc_reads.health_as_needed: the output does not show health. */
	bool health_as_needed;
};

/*
 * What a plan was made from.  Zero it before rc_engine_plan(); free with
 * rc_engine_result_release() whatever rc_engine_plan() returned.
 */
struct rc_engine_result {
	struct rc_reads reads; /* what was read, to observe again later */
	struct rc_world world; /* valid when observed */
	bool observed;
	struct rc_plan *plan; /* NULL unless rc_engine_plan() returned 0 */
};

#define RC_ENGINE_RESULT_INIT          \
	{                              \
		.reads = RC_READS_INIT \
	}

/*
 * Read, observe and plan s on p.  0 with ret->plan set; otherwise a
 * negative UTIL_E* code with err filled and ret->observed telling which
 * step failed: false, reading or observing; true, planning (a guard or
 * precondition refused: every problem is in errors, as rc_plan_build()
 * says, and ret->world stays for planning again).
 */
int rc_engine_plan(struct prov *p, const struct spec *s,
		   const struct rc_engine_opts *o, struct rc_engine_result *ret,
		   struct rc_notes *errors, struct util_err *err);

void rc_engine_result_release(struct rc_engine_result *r);

#endif
