/*
 * moor watch's failover table: on a reload an address keeps its holder,
 * moves and damping, and a candidate keeps its health only while it is
 * probed the same way; what a failover cycle observes resets the health
 * of a candidate that stopped or changed address, and of no other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/daemon/fotable.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/alloc.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"

static const char yaml_1[] = V1 "elastic_ips:\n"
				"  - allocation_id: eipalloc-0000000a\n"
				"    failover:\n"
				"      candidates: [" A ", " B "]\n"
				"      probe: {tcp: 22}\n";

/* A's probe changes, C joins, B stays as it was. */
static const char yaml_2[] = V1 "elastic_ips:\n"
				"  - allocation_id: eipalloc-0000000a\n"
				"    failover:\n"
				"      candidates:\n"
				"        - {instance: " A
				", probe: {tcp: 23}}\n"
				"        - " B "\n"
				"        - " C "\n"
				"      probe: {tcp: 22}\n";

static void seen_up(struct rc_fot_cand *c, const char *ip)
{
	c->observed = c->found = true;
	c->state = PROV_INSTANCE_RUNNING;
	c->private_ip = util_xstrdup(ip);
	c->hc.state = RC_HEALTH_UP;
	c->hc.ok_streak = 2;
}

static void test_reload_keeps_or_resets_health(void **state)
{
	struct rc_spec_ref *ws1 = rc_spec_ref_new(t_spec(yaml_1), 1);
	struct rc_spec_ref *ws2 = rc_spec_ref_new(t_spec(yaml_2), 2);
	struct rc_fot_addr *a1 = rc_fot_addr_new(ws1, 0, NULL);
	struct rc_fot_addr *a2;
	struct rc_fot_addr *v[1];

	(void)state;
	assert_int_equal(a1->n, 2);
	assert_false(a1->holder_known);
	v[0] = a1;
	assert_ptr_equal(rc_fot_find(v, 1, ws1->eip_keys[0]), a1);
	assert_null(rc_fot_find(v, 1, "eip:none"));
	seen_up(&a1->c[0], "10.0.0.10");
	seen_up(&a1->c[1], "10.0.0.11");
	a1->holder_known = a1->bound = true;
	a1->holder = util_xstrdup(A);
	a1->moves = 3;
	a1->last_move_ms = 5000;

	a2 = rc_fot_addr_new(ws2, 0, a1);
	assert_int_equal(a2->n, 3);
	assert_true(a2->holder_known);
	assert_string_equal(a2->holder, A);
	assert_int_equal(a2->moves, 3);
	assert_int_equal(a2->last_move_ms, 5000);
	/* Probed another way: what it knew of A's health says nothing. */
	assert_int_equal(a2->c[0].hc.state, RC_HEALTH_UNKNOWN);
	assert_true(a2->c[0].observed);
	assert_string_equal(a2->c[0].private_ip, "10.0.0.10");
	assert_int_equal(a2->c[1].hc.state, RC_HEALTH_UP);
	assert_int_equal(a2->c[1].hc.ok_streak, 2);
	assert_false(a2->c[2].observed);
	assert_int_equal(a2->c[2].hc.state, RC_HEALTH_UNKNOWN);
	assert_ptr_equal(a2->c[2].a, a2);
	rc_fot_addr_free(a1);
	rc_fot_addr_free(a2);
	rc_spec_ref_drop(ws1);
	rc_spec_ref_drop(ws2);
}

static void test_observed_resets_stopped_and_moved(void **state)
{
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec(yaml_2), 1);
	struct rc_fot_addr *a = rc_fot_addr_new(ws, 0, NULL);
	char ia[] = A, ib[] = B, ic[] = C, pa[] = "10.0.0.10",
	     pb[] = "10.0.0.11", pc[] = "10.0.0.99", eip[] = "203.0.113.10";
	struct rc_cycle_fo_cand oc[3] = {
		{ ia, true, PROV_INSTANCE_RUNNING, pa },
		{ ib, true, PROV_INSTANCE_STOPPED, pb },
		{ ic, true, PROV_INSTANCE_RUNNING, pc },
	};
	struct rc_cycle_fo_out o = { 0 };

	(void)state;
	seen_up(&a->c[0], "10.0.0.10");
	seen_up(&a->c[1], "10.0.0.11");
	seen_up(&a->c[2], "10.0.0.12");
	o.observed = true;
	o.addr.found = o.addr.bound = true;
	o.addr.holder = ib;
	o.addr.public_ip = eip;
	o.cands = oc;
	o.n_cands = 3;
	rc_fot_observed(a, &o);
	assert_true(a->holder_known);
	assert_string_equal(a->holder, B);
	assert_string_equal(a->public_ip, "203.0.113.10");
	assert_int_equal(a->c[0].hc.state, RC_HEALTH_UP);      /* unchanged */
	assert_int_equal(a->c[1].hc.state, RC_HEALTH_UNKNOWN); /* stopped */
	assert_int_equal(a->c[1].state, PROV_INSTANCE_STOPPED);
	assert_int_equal(a->c[2].hc.state, RC_HEALTH_UNKNOWN); /* moved */
	assert_string_equal(a->c[2].private_ip, "10.0.0.99");
	rc_fot_addr_free(a);
	rc_spec_ref_drop(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload_keeps_or_resets_health),
		cmocka_unit_test(test_observed_resets_stopped_and_moved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
