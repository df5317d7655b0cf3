/*
 * What the last full reconciles saw: groups and addresses moved out of
 * cycle results (a later result for the same resource replaces it, others
 * stay), and the error each resource last failed with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/snapshots.h"
#include "util/alloc.h"

static void add_group(struct rc_cycle_result *r, const char *label,
		      size_t total)
{
	struct rc_cycle_group *g;

	r->groups = util_xrealloc(r->groups,
				  (r->n_groups + 1) * sizeof(*r->groups));
	g = &r->groups[r->n_groups++];
	memset(g, 0, sizeof(*g));
	g->label = util_xstrdup(label);
	g->found = true;
	g->total = total;
	g->members = util_xcalloc(1, sizeof(*g->members));
	g->n_members = 1;
	g->members[0].id = util_xstrdup("i-0000000a");
}

static void add_addr(struct rc_cycle_result *r, const char *key,
		     const char *holder)
{
	struct rc_cycle_addr *a;

	r->addrs = util_xrealloc(r->addrs,
				 (r->n_addrs + 1) * sizeof(*r->addrs));
	a = &r->addrs[r->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->key = util_xstrdup(key);
	a->label = util_xstrdup(key);
	a->public_ip = util_xstrdup("203.0.113.10");
	a->holder = util_xstrdup_or_null(holder);
	a->found = true;
	a->bound = holder != NULL;
}

static void add_outcome(struct rc_cycle_result *r, const char *key,
			const char *label, bool failed, const char *msg)
{
	struct rc_cycle_outcome *o;

	r->outcomes = util_xrealloc(r->outcomes,
				    (r->n_outcomes + 1) * sizeof(*r->outcomes));
	o = &r->outcomes[r->n_outcomes++];
	memset(o, 0, sizeof(*o));
	o->key = util_xstrdup(key);
	o->label = util_xstrdup(label);
	o->failed = failed;
	util_err_clear(&o->err);
	if (msg)
		util_err_set(&o->err, UTIL_EAWS, "%s", msg);
}

static void test_keep_moves_and_finds(void **state)
{
	struct rc_snapshots sn = { 0 };
	struct rc_cycle_result r = { 0 };
	struct rc_snap_group *g;
	struct rc_snap_addr *a;

	(void)state;
	add_group(&r, "web-tg", 3);
	add_group(&r, "web-classic", 2);
	add_addr(&r, "eip:alloc:eipalloc-0000000a", "i-0000000a");
	rc_snapshots_keep(&sn, &r, 1000);
	/* Moved: the result no longer owns them. */
	assert_null(r.groups[0].label);
	assert_null(r.groups[1].members);
	assert_null(r.addrs[0].key);
	rc_cycle_result_release(&r);

	assert_int_equal(sn.n_groups, 2);
	g = rc_snapshots_group(&sn, "web-classic");
	assert_non_null(g);
	assert_int_equal(g->g.total, 2);
	assert_int_equal(g->at, 1000);
	assert_string_equal(g->g.members[0].id, "i-0000000a");
	assert_null(g->last_error);
	a = rc_snapshots_addr(&sn, "eip:alloc:eipalloc-0000000a");
	assert_non_null(a);
	assert_string_equal(a->a.holder, "i-0000000a");
	assert_null(rc_snapshots_group(&sn, "nope"));
	assert_null(rc_snapshots_addr(&sn, "eip:alloc:nope"));
	rc_snapshots_release(&sn);
	assert_int_equal(sn.n_groups, 0);
	assert_null(sn.groups);
	assert_null(sn.addrs);
}

static void test_later_result_replaces(void **state)
{
	struct rc_snapshots sn = { 0 };
	struct rc_cycle_result r = { 0 };
	struct rc_snap_group *g;

	(void)state;
	add_group(&r, "web-tg", 3);
	add_group(&r, "web-classic", 2);
	add_addr(&r, "eip:alloc:eipalloc-0000000a", "i-0000000a");
	rc_snapshots_keep(&sn, &r, 1000);
	rc_cycle_result_release(&r);

	/* A reconcile of web-tg alone (e.g. the others backing off). */
	memset(&r, 0, sizeof(r));
	add_group(&r, "web-tg", 5);
	add_group(&r, "api-tg", 1);
	add_addr(&r, "eip:alloc:eipalloc-0000000a", NULL);
	rc_snapshots_keep(&sn, &r, 2000);
	rc_cycle_result_release(&r);

	assert_int_equal(sn.n_groups, 3);
	assert_int_equal(sn.n_addrs, 1);
	g = rc_snapshots_group(&sn, "web-tg");
	assert_int_equal(g->g.total, 5);
	assert_int_equal(g->at, 2000);
	g = rc_snapshots_group(&sn, "web-classic");
	assert_int_equal(g->g.total, 2);
	assert_int_equal(g->at, 1000);
	assert_int_equal(rc_snapshots_group(&sn, "api-tg")->at, 2000);
	assert_null(
		rc_snapshots_addr(&sn, "eip:alloc:eipalloc-0000000a")->a.holder);
	rc_snapshots_release(&sn);
}

static void test_errors_per_resource(void **state)
{
	struct rc_snapshots sn = { 0 };
	struct rc_cycle_result r = { 0 };
	const char *e;

	(void)state;
	add_group(&r, "web-tg", 3);
	add_group(&r, "web-classic", 2);
	add_addr(&r, "eip:alloc:eipalloc-0000000a", "i-0000000a");
	add_outcome(&r, "tg:web-tg", "web-tg", true, "register failed");
	add_outcome(&r, "classic:web-classic", "web-classic", false, NULL);
	add_outcome(&r, "eip:alloc:eipalloc-0000000a", "eipalloc-0000000a",
		    true, "associate failed");
	rc_snapshots_keep(&sn, &r, 1000);
	rc_cycle_result_release(&r);
	e = rc_snapshots_group(&sn, "web-tg")->last_error;
	assert_non_null(e);
	assert_non_null(strstr(e, "register failed"));
	assert_null(rc_snapshots_group(&sn, "web-classic")->last_error);
	e = rc_snapshots_addr(&sn, "eip:alloc:eipalloc-0000000a")->last_error;
	assert_non_null(e);
	assert_non_null(strstr(e, "associate failed"));

	/* The next reconcile succeeds: no error is left over. */
	memset(&r, 0, sizeof(r));
	add_group(&r, "web-tg", 3);
	add_outcome(&r, "tg:web-tg", "web-tg", false, NULL);
	rc_snapshots_keep(&sn, &r, 2000);
	rc_cycle_result_release(&r);
	assert_null(rc_snapshots_group(&sn, "web-tg")->last_error);
	assert_null(rc_snapshots_addr(&sn, "eip:alloc:eipalloc-0000000a")
			    ->last_error);
	rc_snapshots_release(&sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_moves_and_finds),
		cmocka_unit_test(test_later_result_replaces),
		cmocka_unit_test(test_errors_per_resource),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
