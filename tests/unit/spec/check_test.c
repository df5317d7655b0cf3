/*
 * spec/check.c: rules across entries (duplicates, conflicting
 * bindings, min_healthy against the members declared).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "spec/spec.h"
#include "tests/unit/support/spec_testutil.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

static const struct tspec_bad bad_cases[] = {
	/* load balancers */
	{ "member twice",
	  CLASSIC "      - " ID_A "\n      - " ID_B "\n      - " ID_A "\n", 7,
	  9, "member '" ID_A "' is listed twice in 'web' (first at line 5)" },
	{ "member twice as map",
	  CLASSIC "      - " ID_A "\n      - id: " ID_A "\n", 6, 9,
	  "is listed twice in 'web'" },
	{ "member twice with port",
	  TG "      - {id: " ID_A ", port: 80}\n      - {id: " ID_A
	     ", port: 81}\n      - {id: " ID_A ", port: 80}\n",
	  7, 9, "member '" ID_A "' port 80 is listed twice" },
	{ "selector twice",
	  TG "      - selector: {tags: {role: web, env: prod}}\n"
	     "      - selector: {tags: {env: prod, role: web}, states: "
	     "[running]}\n",
	  6, 9, "member selector env=prod,role=web is listed twice" },
	{ "ip member twice", TG "      - ip: 10.0.3.7\n      - ip: 10.0.3.7\n",
	  6, 9, "member '10.0.3.7' is listed twice" },
	{ "mixed target types", TG "      - " ID_A "\n      - ip: 10.0.0.1\n",
	  6, 9, "target group 'web-tg' mixes instance and ip members" },
	{ "min_healthy above members",
	  CLASSIC "      - " ID_A "\n      - " ID_B "\n    min_healthy: 3\n", 7,
	  18, "'min_healthy' is 3, but 'web' declares only 2 members" },
	{ "group twice",
	  V1 "load_balancers:\n  - classic: web\n    members: [" ID_A "]\n"
	     "  - classic: web\n    members: [" ID_B "]\n",
	  5, 5, "classic ELB 'web' is declared twice (first at line 3)" },
	{ "target group by name and by arn",
	  V1 "load_balancers:\n  - target_group: web\n    members: [" ID_A "]\n"
	     "  - target_group: arn:aws:elasticloadbalancing:us-east-1:"
	     "123456789012:targetgroup/web/0123456789abcdef\n"
	     "    members: [" ID_B "]\n",
	  5, 5, "target group 'arn:aws:elasticloadbalancing:us-east-1" },

	/* elastic IPs */
	{ "address twice by allocation id",
	  EIPS "  - allocation_id: eipalloc-0123456789abcdef0\n    none: true\n"
	       "  - allocation_id: eipalloc-0123456789abcdef0\n"
	       "    none: true\n",
	  5, 5,
	  "elastic IP 'eipalloc-0123456789abcdef0' is declared twice (first "
	  "at line 3)" },
	{ "address twice by public ip",
	  EIPS "  - public_ip: 203.0.113.10\n    none: true\n"
	       "  - public_ip: 203.0.113.10\n    none: true\n",
	  5, 5, "elastic IP '203.0.113.10' is declared twice" },
	{ "address twice by name",
	  EIPS "  - {name: vip, none: true}\n  - {name: vip, none: true}\n", 4,
	  5, "elastic IP 'vip' is declared twice (first at line 3)" },
	{ "same instance primary ip",
	  EIPS "  - name: a\n    instance: " ID_A
	       "\n  - name: b\n    instance: " ID_A "\n",
	  5, 5,
	  "elastic IP 'b' is bound to the primary private IP of instance '" ID_A
	  "', and so is 'a' (line 3)" },
	{ "same eni private ip",
	  EIPS "  - name: a\n    network_interface: eni-0123456789abcdef0\n"
	       "    private_ip: 10.0.1.20\n"
	       "  - name: b\n    network_interface: eni-0123456789abcdef0\n"
	       "    private_ip: 10.0.1.20\n",
	  6, 5,
	  "is bound to private IP 10.0.1.20 of network interface "
	  "'eni-0123456789abcdef0'" },
	{ "failover candidate holds another address",
	  EIPS "  - name: web\n    instance: " ID_C "\n"
	       "  - name: db\n    failover:\n      candidates: [" ID_D ", " ID_C
	       "]\n      probe: {tcp: 5432}\n",
	  7, 41,
	  "failover candidate '" ID_C "' holds elastic IP 'web' (line 3): "
	  "moving 'db' there would silently detach 'web'" },
	{ "address bound to a failover candidate",
	  EIPS "  - name: db\n    failover:\n      candidates: [" ID_D ", " ID_C
	       "]\n      probe: {tcp: 5432}\n  - name: web\n    instance: " ID_C
	       "\n",
	  7, 5,
	  "elastic IP 'web' is bound to instance '" ID_C "', a failover "
	  "candidate of 'db' (line 5): a failover there would "
	  "silently detach 'web'" },
	{ "candidates shared",
	  EIPS "  - name: a\n    failover: {candidates: [" ID_C ", " ID_D
	       "], probe: {tcp: 22}}\n  - name: b\n    failover: {candidates: "
	       "[" ID_D ", " ID_A "], probe: {tcp: 22}}\n",
	  6, 29,
	  "failover candidate '" ID_D "' is also a candidate of elastic IP "
	  "'a' (line 4): one re-association would silently detach the other "
	  "address" },
	{ "candidate twice",
	  EIPS "  - name: a\n    failover:\n      candidates: [" ID_C ", " ID_D
	       ", " ID_C "]\n      probe: {tcp: 22}\n",
	  5, 62, "candidate '" ID_C "' is listed twice (first at line 5" },
};

static void test_invalid_table(void **state)
{
	(void)state;
	assert_int_equal(tspec_check_bad(bad_cases, ARRAY_SIZE(bad_cases)), 0);
	assert_true(ARRAY_SIZE(bad_cases) >= 18);
}

/* min_healthy may exceed the listed members when a selector may add more. */
static void test_min_healthy_with_selector(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = tspec_load_ok(CLASSIC "      - " ID_A
				  "\n      - selector: {tags: {a: b}}\n"
				  "    min_healthy: 5\n",
			  &d);
	assert_int_equal(s->lbs[0].min_healthy.value, 5);
	spec_free(s);
	spec_diags_release(&d);
	s = tspec_load_ok(CLASSIC "      - " ID_A "\n    min_healthy: 1\n", &d);
	spec_free(s);
	spec_diags_release(&d);
}

/* A distinct private_ip is a different claim; ENI and instance differ. */
static void test_bindings_distinct(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = tspec_load_ok(EIPS
			  "  - name: a\n    instance: " ID_A "\n"
			  "  - name: b\n    instance: " ID_A "\n"
			  "    private_ip: 10.0.0.9\n"
			  "  - name: c\n    failover:\n      candidates: [" ID_B
			  ", " ID_C "]\n      probe: {tcp: 1}\n"
			  "  - name: d\n    network_interface: "
			  "eni-0123456789abcdef0\n"
			  "  - name: e\n    network_interface: "
			  "eni-0123456789abcdef0\n    private_ip: 10.0.0.7\n",
			  &d);
	assert_int_equal(s->n_eips, 5);
	assert_int_equal(d.n, 0);
	spec_free(s);
	spec_diags_release(&d);
}

/* 10,000 members, a few duplicates among them: found without O(n^2). */
static void test_many_members(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, TG);
	for (int i = 0; i < 10000; i++)
		buf_addf(&y, "      - {id: i-%017x, port: %d}\n", i,
			 8000 + i % 7);
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 0);
	assert_int_equal(s->lbs[0].n_members, 10000);
	spec_free(s);
	s = NULL;
	spec_diags_release(&d);
	buf_addf(&y, "      - {id: i-%017x, port: %d}\n", 4242,
		 8000 + 4242 % 7);
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.v[0].line, 10005);
	assert_non_null(strstr(d.v[0].msg, "(first at line 4247)"));
	buf_release(&y);
	spec_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_min_healthy_with_selector),
		cmocka_unit_test(test_bindings_distinct),
		cmocka_unit_test(test_many_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
