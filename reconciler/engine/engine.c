/*
 * The engine's entry point (engine.h): spec -> reads -> observe -> plan.
 */
#include "reconciler/engine/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "providers/provider.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/banned.h"

int rc_engine_plan(struct prov *p, const struct spec *s,
		   const struct rc_engine_opts *o, struct rc_engine_result *ret,
		   struct rc_notes *errors, struct util_err *err)
{
	const struct rc_plan_opts *po = o->plan;
	int r;

	r = rc_reads_from_spec(&ret->reads, s, po->use_lb, po->use_eip, err);
	if (r < 0)
		return r;
	ret->reads.identity = o->identity;
	ret->reads.health_as_needed = o->health_as_needed;
	r = rc_observe(p, &ret->reads, o->observe, &ret->world, err);
	if (r < 0)
		return r;
	ret->observed = true;
	return rc_plan_build(s, &ret->world, po, &ret->plan, errors, err);
}

void rc_engine_result_release(struct rc_engine_result *r)
{
	rc_plan_free(r->plan);
	rc_world_release(&r->world);
	rc_reads_release(&r->reads);
	memset(r, 0, sizeof(*r));
}
