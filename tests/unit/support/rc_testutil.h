#ifndef TESTS_UNIT_RC_TESTUTIL_H
#define TESTS_UNIT_RC_TESTUTIL_H

#include "providers/provider.h"
#include "reconciler/engine/plan.h"
#include "spec/spec.h"

/*
 * Helpers for the engine's unit tests: specs from YAML text, a standard
 * world in the in-memory provider, and compact renderings of plans that
 * tests compare with exact expected text.
 */

/* Parse yaml (path "spec.yaml"); fails the test on any error. */
struct spec *t_spec(const char *yaml);

/*
 * The standard world: vpc-1 (us-east-1a, us-east-1b) and vpc-2, instances
 * i-0000000a..i-0000000f running in vpc-1 (a, b alternating; 10.0.0.10+),
 * i-00000001 stopped, i-00000002 in vpc-2, i-00000003 in us-east-1c, all
 * tagged role=web except i-0000000e/f (role=db); a Classic ELB web-classic
 * (a, b), target groups web-tg (instance, 8080, vpc-1, delay 30) and ip-tg
 * (ip, 80), both attached to the ALB web-alb (a, b); addresses eipalloc-0000000a (203.0.113.10, Name vip-web),
 * eipalloc-0000000b (203.0.113.11), eipalloc-0000000c (203.0.113.12,
 * domain standard); a standalone ENI eni-0000000e (10.0.9.9).
 */
struct prov *t_world(void);

/*
 * Observe and plan.  Returns the plan, or NULL with the errors rendered
 * into *ret_errors (caller frees) when planning fails.
 */
struct rc_plan *t_plan(struct prov *p, const struct spec *s,
		       const struct rc_plan_opts *o, char **ret_errors);

/*
 * One line per step: "ID ACTION LABEL DETAIL [<- DEPS]", e.g.
 *   "1 register web-tg i-0000000a:8080,i-0000000b:8080"
 *   "2 wait web-tg healthy i-0000000a:8080 <- 1"
 *   "3 move vip-web i-0000000a -> i-0000000b"
 *   "1 enable-zones web-classic us-east-1c,us-east-1d"
 * (caller frees).
 */
char *t_steps(const struct rc_plan *p);
/* Warnings and infos, one per line: "warning: ..." / "info: ..." */
char *t_notes(const struct rc_plan *p);

/*
 * The plan fixture the render and planfile suites share: t_world() with
 * web-tg members A (healthy, declared) and C (healthy, undeclared), an
 * undeclared Classic member and eipalloc-0000000a on A; t_fx_yaml is its
 * spec and plan its plan.  t_fx_setup fails the test when planning fails;
 * t_fx_teardown frees all of it.
 */
struct memprov;
extern const char t_fx_yaml[];
struct t_fx {
	struct prov *p;
	struct memprov *m;
	struct spec *s;
	struct rc_plan *plan;
	char *errors;
};
int t_fx_setup(void **state);
int t_fx_teardown(void **state);

/*
 * Issue 10: min_healthy holds back the only difference (C healthy and
 * undeclared, B declared and down).  Returns that plan (caller frees) and
 * its spec in *s (caller frees).
 */
struct rc_plan *t_held_plan(struct t_fx *f, struct spec **s);

#endif
