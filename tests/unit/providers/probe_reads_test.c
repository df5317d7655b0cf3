#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "providers/aws/ops.h"
#include "providers/provider.h"
#include "tests/unit/awsp_testutil.h"
#include "util/err.h"

/*
 * The reads `moor watch`'s AWS probes make: one DescribeTargetHealth per
 * group (a name's ARN looked up once), one DescribeInstanceHealth per
 * Classic ELB, and a group or ELB that is gone as UTIL_ENOTFOUND.
 */

#define WEB_ARN                                                \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:" \
	"targetgroup/web-tg/73e2d6bc24d8a067"
#define WEB_ARN_FORM                                                     \
	"arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3A" \
	"targetgroup%2Fweb-tg%2F73e2d6bc24d8a067"

static const char one_tg[] =
	"<DescribeTargetGroupsResponse><DescribeTargetGroupsResult>"
	"<TargetGroups><member><TargetGroupArn>" WEB_ARN "</TargetGroupArn>"
	"<TargetGroupName>web-tg</TargetGroupName><Port>8080</Port>"
	"<TargetType>instance</TargetType></member></TargetGroups>"
	"</DescribeTargetGroupsResult></DescribeTargetGroupsResponse>";

static size_t count_action(const struct script *s, const char *action)
{
	char want[96];
	size_t n = 0;

	assert_true(snprintf(want, sizeof(want), "Action=%s", action) <
		    (int)sizeof(want));
	for (size_t i = 0; i < s->n_reqs; i++)
		n += body_has(s->reqs[i].body, want) ? 1 : 0;
	return n;
}

static void test_target_health_by_name(void **state)
{
	struct test_env *e = *state;
	struct awsp_tg_cache *tc = awsp_tg_cache_new(&e->fc.clock, 1000);
	struct prov_target_group tg;
	struct util_err err = UTIL_ERR_INIT;

	/* First read: the ARN, then the health. */
	script_push(&e->s, 200, one_tg);
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	assert_int_equal(awsp_elbv2_target_health(e->c, tc, "web-tg", &tg,
						  &err),
			 0);
	assert_string_equal(tg.arn, WEB_ARN);
	assert_string_equal(tg.name, "web-tg");
	assert_int_equal(tg.n_targets, 4);
	assert_true(body_has(e->s.reqs[0].body, "Names.member.1=web-tg"));
	assert_true(
		body_has(e->s.reqs[1].body, "TargetGroupArn=" WEB_ARN_FORM));
	prov_target_group_release(&tg);

	/* Every later read is the health alone, long after any TTL. */
	fake_clock_advance(&e->fc, 3600 * 1000);
	for (int i = 0; i < 3; i++) {
		script_push_file(&e->s, 200,
				 "elbv2_describe_target_health.xml");
		assert_int_equal(awsp_elbv2_target_health(e->c, tc, "web-tg",
							  &tg, &err),
				 0);
		prov_target_group_release(&tg);
	}
	assert_int_equal(count_action(&e->s, "DescribeTargetGroups"), 1);
	assert_int_equal(count_action(&e->s, "DescribeTargetHealth"), 4);

	/* Gone: not found, and the name is asked again next time. */
	script_push_file(&e->s, 400, "elbv2_error_target_group_not_found.xml");
	assert_int_equal(awsp_elbv2_target_health(e->c, tc, "web-tg", &tg,
						  &err),
			 UTIL_ENOTFOUND);
	assert_non_null(strstr(err.msg, "web-tg"));
	assert_null(tg.arn);
	util_err_clear(&err);
	script_push_file(&e->s, 400, "elbv2_error_target_group_not_found.xml");
	assert_int_equal(awsp_elbv2_target_health(e->c, tc, "web-tg", &tg,
						  &err),
			 UTIL_ENOTFOUND);
	util_err_clear(&err);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroups"), 2);
	awsp_tg_cache_free(tc);
}

static void test_target_health_by_arn(void **state)
{
	struct test_env *e = *state;
	struct awsp_tg_cache *tc = awsp_tg_cache_new(&e->fc.clock, 1000);
	struct prov_target_group tg;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	assert_int_equal(awsp_elbv2_target_health(e->c, tc, WEB_ARN, &tg, &err),
			 0);
	assert_int_equal(e->s.n_reqs, 1);
	assert_string_equal(tg.arn, WEB_ARN);
	prov_target_group_release(&tg);
	/* Other errors are errors. */
	script_push(&e->s, 403,
		    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>"
		    "no</Message></Error><RequestId>rq</RequestId>"
		    "</ErrorResponse>");
	assert_int_equal(awsp_elbv2_target_health(e->c, tc, WEB_ARN, &tg, &err),
			 UTIL_EAWS);
	assert_string_equal(err.aws_code, "AccessDenied");
	awsp_tg_cache_free(tc);
}

static void test_instance_health(void **state)
{
	struct test_env *e = *state;
	struct prov_classic_lb lb;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "elb_describe_instance_health.xml");
	assert_int_equal(awsp_elb_instance_health(e->c, "web", &lb, &err), 0);
	assert_string_equal(lb.name, "web");
	assert_true(lb.n_members > 0);
	assert_non_null(lb.members[0].state);
	assert_true(
		body_has(e->s.reqs[0].body, "Action=DescribeInstanceHealth"));
	assert_true(body_has(e->s.reqs[0].body, "LoadBalancerName=web"));
	prov_classic_lb_release(&lb);
	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	assert_int_equal(awsp_elb_instance_health(e->c, "web", &lb, &err),
			 UTIL_ENOTFOUND);
	assert_null(lb.name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_target_health_by_name,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_target_health_by_arn,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_instance_health,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
