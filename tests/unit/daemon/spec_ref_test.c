/*
 * The spec in force, shared by the event loop and the workers: the keys
 * it computes once, its generation, and its reference count (the last
 * drop frees everything; LeakSanitizer checks it under SANITIZE).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "reconciler/daemon/spec_ref.h"
#include "tests/unit/support/rc_testutil.h"

static const char yaml[] = "version: 1\n"
			   "load_balancers:\n"
			   "  - target_group: web-tg\n"
			   "    members: [i-0000000a]\n"
			   "  - classic: web-classic\n"
			   "    members: [i-0000000b]\n"
			   "elastic_ips:\n"
			   "  - allocation_id: eipalloc-0000000a\n"
			   "    instance: i-0000000a\n"
			   "  - public_ip: 203.0.113.11\n"
			   "    none: true\n"
			   "  - name: vip-db\n"
			   "    none: true\n";

static void test_keys_computed_once(void **state)
{
	struct spec *s = t_spec(yaml);
	struct rc_spec_ref *ws = rc_spec_ref_new(s, 7);

	(void)state;
	assert_ptr_equal(ws->s, s);
	assert_int_equal(ws->gen, 7);
	/* One key per group and address, in spec order, NULL-terminated. */
	assert_string_equal(ws->lb_keys[0], "tg:web-tg");
	assert_string_equal(ws->lb_keys[1], "classic:web-classic");
	assert_null(ws->lb_keys[2]);
	assert_string_equal(ws->eip_keys[0], "eip:alloc:eipalloc-0000000a");
	assert_string_equal(ws->eip_keys[1], "eip:ip:203.0.113.11");
	assert_string_equal(ws->eip_keys[2], "eip:name:vip-db");
	assert_null(ws->eip_keys[3]);
	rc_spec_ref_drop(ws);
}

static void test_no_groups(void **state)
{
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec("version: 1\n"
							"elastic_ips:\n"
							"  - name: vip\n"
							"    none: true\n"),
						 1);

	(void)state;
	assert_non_null(ws->lb_keys);
	assert_null(ws->lb_keys[0]);
	assert_string_equal(ws->eip_keys[0], "eip:name:vip");
	rc_spec_ref_drop(ws);
}

static void test_references(void **state)
{
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec(yaml), 1);
	struct rc_spec_ref *other;

	(void)state;
	assert_int_equal(atomic_load(&ws->refs), 1);
	other = rc_spec_ref_take(ws);
	assert_ptr_equal(other, ws);
	assert_int_equal(atomic_load(&ws->refs), 2);
	/* Not the last reference: everything stays readable. */
	rc_spec_ref_drop(other);
	assert_int_equal(atomic_load(&ws->refs), 1);
	assert_int_equal(ws->s->n_lbs, 2);
	assert_string_equal(ws->lb_keys[0], "tg:web-tg");
	rc_spec_ref_drop(ws);
	rc_spec_ref_drop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_computed_once),
		cmocka_unit_test(test_no_groups),
		cmocka_unit_test(test_references),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
