#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/ops.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"

#define WEB_ARN                                                \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:" \
	"targetgroup/web-tg/73e2d6bc24d8a067"
#define WEB_ARN_FORM                                                     \
	"arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3A" \
	"targetgroup%2Fweb-tg%2F73e2d6bc24d8a067"

static void test_parse_target_groups(void **state)
{
	struct prov_target_group_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("elbv2_describe_target_groups.xml", &len);

	(void)state;
	assert_int_equal(awsp_elbv2_parse_target_groups(xml, len, &l, &next,
							&err),
			 0);
	free(xml);
	assert_string_equal(next, "djItbWFya2Vy");
	free(next);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].arn, WEB_ARN);
	assert_string_equal(l.v[0].name, "web-tg");
	assert_string_equal(l.v[0].protocol, "HTTP");
	assert_int_equal(l.v[0].port, 8080);
	assert_string_equal(l.v[0].vpc_id, "vpc-0bbbbbbbbbbbbbbb1");
	assert_int_equal(l.v[0].target_type, PROV_TARGET_INSTANCE);
	assert_int_equal(l.v[0].deregistration_delay_s, -1);
	assert_int_equal(l.v[0].n_lb_arns, 1);
	assert_non_null(strstr(l.v[0].lb_arns[0], "loadbalancer/app/web-alb"));
	assert_int_equal(l.v[1].target_type, PROV_TARGET_IP);
	assert_int_equal(l.v[1].port, 443);
	assert_int_equal(l.v[1].n_lb_arns, 0);

	xml = test_data_read("elbv2_describe_target_groups_last.xml", &len);
	assert_int_equal(awsp_elbv2_parse_target_groups(xml, len, &l, &next,
							&err),
			 0);
	free(xml);
	assert_null(next);
	assert_int_equal(l.n, 3);
	/* Lambda groups have no port, protocol or VPC. */
	assert_int_equal(l.v[2].target_type, PROV_TARGET_LAMBDA);
	assert_int_equal(l.v[2].port, 0);
	assert_null(l.v[2].vpc_id);
	assert_null(l.v[2].protocol);

	/* A page that fails leaves the list and *ret_next as they were. */
	{
		static char sentinel[] = "sentinel";

		xml = test_data_read("elbv2_describe_target_groups.xml", &len);
		next = sentinel;
		assert_int_equal(awsp_elbv2_parse_target_groups(xml, len - 30,
								&l, &next,
								&err),
				 UTIL_EINVAL);
		free(xml);
		assert_ptr_equal(next, sentinel);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.v[2].target_type, PROV_TARGET_LAMBDA);
		util_err_clear(&err);
	}
	prov_target_group_list_release(&l);

	/* An unknown target type or a bad port is an error. */
	{
		const char *bad =
			"<DescribeTargetGroupsResponse><DescribeTargetGroups"
			"Result><TargetGroups><member><TargetGroupArn>arn:x"
			"</TargetGroupArn><TargetGroupName>x</TargetGroupName>"
			"<TargetType>mystery</TargetType></member>"
			"</TargetGroups></DescribeTargetGroupsResult>"
			"</DescribeTargetGroupsResponse>";

		assert_int_equal(awsp_elbv2_parse_target_groups(bad,
								strlen(bad), &l,
								NULL, &err),
				 UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "mystery"));
		assert_int_equal(l.n, 0);
		prov_target_group_list_release(&l);
	}
}

static void test_parse_health_and_attributes(void **state)
{
	struct prov_target_group tg = { .deregistration_delay_s = -1 };
	struct util_err err = UTIL_ERR_INIT;
	size_t len;
	char *xml = test_data_read("elbv2_describe_target_health.xml", &len);

	(void)state;
	assert_int_equal(awsp_elbv2_parse_target_health(xml, len, &tg, &err),
			 0);
	free(xml);
	assert_int_equal(tg.n_targets, 4);
	assert_string_equal(tg.targets[0].id, "i-0123456789abcdef0");
	assert_int_equal(tg.targets[0].port, 8080);
	assert_int_equal(tg.targets[0].health, PROV_HEALTH_HEALTHY);
	assert_null(tg.targets[0].reason);
	/* The same instance on another port is another target. */
	assert_string_equal(tg.targets[1].id, "i-0123456789abcdef0");
	assert_int_equal(tg.targets[1].port, 9090);
	assert_int_equal(tg.targets[1].health, PROV_HEALTH_INITIAL);
	assert_string_equal(tg.targets[1].reason, "Elb.RegistrationInProgress");
	assert_int_equal(tg.targets[2].health, PROV_HEALTH_DRAINING);
	assert_string_equal(tg.targets[3].id, "10.0.3.7");
	assert_string_equal(tg.targets[3].az, "all");
	assert_int_equal(tg.targets[3].health, PROV_HEALTH_UNHEALTHY);
	assert_string_equal(tg.targets[3].description, "Request timed out");

	xml = test_data_read("elbv2_describe_target_group_attributes.xml",
			     &len);
	assert_int_equal(awsp_elbv2_parse_attributes(xml, len, &tg, &err), 0);
	free(xml);
	assert_int_equal(tg.deregistration_delay_s, 120);
	prov_target_group_release(&tg);

	/* Out of range: an error, the value untouched. */
	{
		const char *bad =
			"<DescribeTargetGroupAttributesResponse>"
			"<DescribeTargetGroupAttributesResult><Attributes>"
			"<member><Key>deregistration_delay.timeout_seconds"
			"</Key><Value>99999</Value></member></Attributes>"
			"</DescribeTargetGroupAttributesResult>"
			"</DescribeTargetGroupAttributesResponse>";

		tg.deregistration_delay_s = 7;
		assert_int_equal(awsp_elbv2_parse_attributes(bad, strlen(bad),
							     &tg, &err),
				 UTIL_EINVAL);
		assert_int_equal(tg.deregistration_delay_s, 7);
	}
}

static const char one_tg[] =
	"<DescribeTargetGroupsResponse><DescribeTargetGroupsResult>"
	"<TargetGroups><member><TargetGroupArn>" WEB_ARN "</TargetGroupArn>"
	"<TargetGroupName>web-tg</TargetGroupName><Port>8080</Port>"
	"<TargetType>instance</TargetType></member></TargetGroups>"
	"</DescribeTargetGroupsResult></DescribeTargetGroupsResponse>";

static void test_target_groups_names_and_arns(void **state)
{
	struct test_env *e = *state;
	const char *in[] = { "web-tg", WEB_ARN };
	struct prov_target_group_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* Names and ARNs go in separate requests... */
	script_push(&e->s, 200, one_tg);
	script_push(&e->s, 200, one_tg);
	/* ...the same group found both ways is kept once... */
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	script_push_file(&e->s, 200,
			 "elbv2_describe_target_group_attributes.xml");
	assert_int_equal(awsp_elbv2_target_groups(e->c, in, 2, 1, true, NULL,
						  &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].n_targets, 4);
	assert_int_equal(l.v[0].deregistration_delay_s, 120);
	assert_int_equal(e->s.n_reqs, 4);
	assert_true(body_has(e->s.reqs[0].body, "Names.member.1=web-tg"));
	assert_null(strstr(e->s.reqs[0].body, "TargetGroupArns"));
	assert_true(body_has(e->s.reqs[0].body, "Version=2015-12-01"));
	assert_true(body_has(e->s.reqs[1].body,
			     "TargetGroupArns.member.1=" WEB_ARN_FORM));
	assert_null(strstr(e->s.reqs[1].body, "Names."));
	/* ...and its details: health, then attributes. */
	assert_true(body_has(e->s.reqs[2].body, "Action=DescribeTargetHealth"));
	assert_true(
		body_has(e->s.reqs[2].body, "TargetGroupArn=" WEB_ARN_FORM));
	assert_true(body_has(e->s.reqs[3].body,
			     "Action=DescribeTargetGroupAttributes"));
	prov_target_group_list_release(&l);
}

/* What a health wait polls: DescribeTargetHealth alone, by ARN. */
static void test_target_health_alone(void **state)
{
	struct test_env *e = *state;
	struct prov_target_group tg;
	struct util_err err = UTIL_ERR_INIT;

	/* By ARN: no cache needed, no DescribeTargetGroups. */
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	assert_int_equal(awsp_elbv2_target_health(e->c, NULL, WEB_ARN, &tg,
						  &err),
			 0);
	assert_int_equal(e->s.n_reqs, 1);
	assert_true(body_has(e->s.reqs[0].body, "Action=DescribeTargetHealth"));
	assert_true(
		body_has(e->s.reqs[0].body, "TargetGroupArn=" WEB_ARN_FORM));
	assert_int_equal(tg.n_targets, 4);
	prov_target_group_release(&tg);
}

/* Without delay: no DescribeTargetGroupAttributes (no step uses it). */
static void test_target_groups_without_delay(void **state)
{
	struct test_env *e = *state;
	const char *in[] = { "web-tg" };
	struct prov_target_group_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 200, one_tg);
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	assert_int_equal(awsp_elbv2_target_groups(e->c, in, 1, 1, false, NULL,
						  &l, &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
	assert_int_equal(l.v[0].n_targets, 4);
	assert_int_equal(l.v[0].deregistration_delay_s, -1);
	prov_target_group_list_release(&l);
}

static void test_target_groups_missing(void **state)
{
	struct test_env *e = *state;
	const char *in[] = { "web-tg", "nope-tg" };
	struct prov_target_group_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 400, "elbv2_error_target_group_not_found.xml");
	script_push(&e->s, 200, one_tg);
	script_push_file(&e->s, 400, "elbv2_error_target_group_not_found.xml");
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	script_push_file(&e->s, 200,
			 "elbv2_describe_target_group_attributes.xml");
	assert_int_equal(awsp_elbv2_target_groups(e->c, in, 2, 1, true, NULL,
						  &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "web-tg");
	assert_true(body_has(e->s.reqs[2].body, "Names.member.1=nope-tg"));
	prov_target_group_list_release(&l);

	/* Other errors are errors. */
	script_push(&e->s, 403,
		    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>"
		    "not allowed</Message></Error><RequestId>rq</RequestId>"
		    "</ErrorResponse>");
	assert_int_equal(awsp_elbv2_target_groups(e->c, in, 1, 1, true, NULL,
						  &l, &err),
			 UTIL_EAWS);
	assert_string_equal(err.aws_code, "AccessDenied");
	assert_int_equal(err.http_status, 403);
	assert_string_equal(err.request_id, "rq");
	assert_int_equal(l.n, 0);
}

/* Count the requests of one action. */
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

/* A DescribeTargetGroupAttributes answer with this delay. */
#define ATTRS(delay)                                                         \
	"<DescribeTargetGroupAttributesResponse>"                            \
	"<DescribeTargetGroupAttributesResult><Attributes><member><Key>"     \
	"deregistration_delay.timeout_seconds</Key><Value>" delay "</Value>" \
	"</member></Attributes></DescribeTargetGroupAttributesResult>"       \
	"</DescribeTargetGroupAttributesResponse>"

/* Read web-tg; attrs: the attributes answer to queue, NULL = none. */
static void read_web_tg(struct test_env *e, struct awsp_tg_cache *tc,
			const char *attrs, int want_delay)
{
	const char *in[] = { "web-tg" };
	struct prov_target_group_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 200, one_tg);
	script_push_file(&e->s, 200, "elbv2_describe_target_health.xml");
	if (attrs)
		script_push(&e->s, 200, attrs);
	assert_int_equal(awsp_elbv2_target_groups(e->c, in, 1, 1, true, tc, &l,
						  &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].n_targets, 4);
	assert_int_equal(l.v[0].deregistration_delay_s, want_delay);
	prov_target_group_list_release(&l);
}

/* The delay is read once per AWSP_TG_DELAY_TTL_MS, health every time. */
static void test_target_groups_delay_cached(void **state)
{
	struct test_env *e = *state;
	struct awsp_tg_cache *tc = awsp_tg_cache_new(&e->fc.clock,
						     AWSP_TG_DELAY_TTL_MS);

	read_web_tg(e, tc, ATTRS("120"), 120);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroupAttributes"),
			 1);
	fake_clock_advance(&e->fc, AWSP_TG_DELAY_TTL_MS - 1);
	read_web_tg(e, tc, NULL, 120);
	read_web_tg(e, tc, NULL, 120);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroups"), 3);
	assert_int_equal(count_action(&e->s, "DescribeTargetHealth"), 3);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroupAttributes"),
			 1);
	/* Past its time the delay is read again (a change shows), then kept. */
	fake_clock_advance(&e->fc, 1);
	read_web_tg(e, tc, ATTRS("45"), 45);
	read_web_tg(e, tc, NULL, 45);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroupAttributes"),
			 2);
	assert_int_equal(e->s.n_reqs, 12);
	awsp_tg_cache_free(tc);

	/* Without a cache every read asks; a new cache starts empty. */
	read_web_tg(e, NULL, ATTRS("45"), 45);
	read_web_tg(e, NULL, ATTRS("30"), 30);
	assert_int_equal(count_action(&e->s, "DescribeTargetGroupAttributes"),
			 4);
	tc = awsp_tg_cache_new(&e->fc.clock, AWSP_TG_DELAY_TTL_MS);
	read_web_tg(e, tc, ATTRS("30"), 30);
	awsp_tg_cache_free(tc);
	awsp_tg_cache_free(NULL);
}

static void test_register_targets(void **state)
{
	struct test_env *e = *state;
	struct prov_target_ref *t = util_xcalloc(250, sizeof(*t));
	char **store = util_xcalloc(250, sizeof(*store));
	struct util_err err = UTIL_ERR_INIT;

	for (int i = 0; i < 250; i++) {
		store[i] = util_xasprintf("10.0.%d.%d", i / 200, i % 200);
		t[i].id = store[i];
		t[i].port = i == 0 ? 8080 : 0;
		t[i].az = i == 1 ? "all" : NULL;
	}
	script_push_file(&e->s, 200, "elbv2_register_targets.xml");
	script_push_file(&e->s, 200, "elbv2_register_targets.xml");
	assert_int_equal(awsp_elbv2_register(e->c, WEB_ARN, t, 250, false,
					     &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
	const char *b = e->s.reqs[0].body;
	assert_true(body_has(b, "Action=RegisterTargets"));
	assert_true(body_has(b, "TargetGroupArn=" WEB_ARN_FORM));
	assert_true(body_has(b, "Targets.member.1.Id=10.0.0.0"));
	assert_true(body_has(b, "Targets.member.1.Port=8080"));
	assert_null(strstr(b, "Targets.member.2.Port"));
	assert_true(body_has(b, "Targets.member.2.AvailabilityZone=all"));
	assert_non_null(strstr(b, "Targets.member.200.Id="));
	assert_null(strstr(b, "Targets.member.201.Id="));
	assert_non_null(strstr(e->s.reqs[1].body, "Targets.member.50.Id="));

	/* Deregister answers with its own root; a register root is refused. */
	script_push_file(&e->s, 200, "elbv2_register_targets.xml");
	assert_int_equal(awsp_elbv2_register(e->c, WEB_ARN, t, 1, true, &err),
			 UTIL_EINVAL);
	util_err_clear(&err);
	script_push_file(&e->s, 200, "elbv2_deregister_targets.xml");
	assert_int_equal(awsp_elbv2_register(e->c, WEB_ARN, t, 1, true, &err),
			 0);
	assert_true(body_has(e->s.reqs[3].body, "Action=DeregisterTargets"));
	for (int i = 0; i < 250; i++)
		free(store[i]);
	free(store);
	free(t);
}

static void test_is_arn(void **state)
{
	(void)state;
	assert_true(awsp_elbv2_is_arn(WEB_ARN));
	assert_true(awsp_elbv2_is_arn("arn:aws-cn:elasticloadbalancing:x"));
	assert_false(awsp_elbv2_is_arn("web-tg"));
	assert_false(awsp_elbv2_is_arn("arnold-tg"));
}

#define ALB_ARN                                                \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:" \
	"loadbalancer/app/web-alb/50dc6c495c0c9188"
#define ALB_ARN_FORM                                                     \
	"arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3A" \
	"loadbalancer%2Fapp%2Fweb-alb%2F50dc6c495c0c9188"

static const char lb_answer[] =
	"<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing."
	"amazonaws.com/doc/2015-12-01/\"><DescribeLoadBalancersResult>"
	"<LoadBalancers><member><LoadBalancerArn>" ALB_ARN
	"</LoadBalancerArn><LoadBalancerName>web-alb</LoadBalancerName>"
	"<Type>application</Type><AvailabilityZones>"
	"<member><ZoneName>us-east-1a</ZoneName><SubnetId>subnet-1</SubnetId>"
	"<LoadBalancerAddresses/></member>"
	"<member><ZoneName>us-east-1b</ZoneName><SubnetId>subnet-2</SubnetId>"
	"</member></AvailabilityZones></member></LoadBalancers>"
	"</DescribeLoadBalancersResult></DescribeLoadBalancersResponse>";

static const char lb_not_found[] =
	"<ErrorResponse><Error><Type>Sender</Type>"
	"<Code>LoadBalancerNotFound</Code>"
	"<Message>One or more load balancers not found</Message></Error>"
	"<RequestId>r-1</RequestId></ErrorResponse>";

/* By ARN, with the zones; an unknown ARN is absent, not an error. */
static void test_load_balancers_by_arn(void **state)
{
	struct test_env *e = *state;
	const char *arns[] = { ALB_ARN, ALB_ARN "0", ALB_ARN };
	struct prov_lb_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 400, lb_not_found);
	script_push(&e->s, 200, lb_answer);
	script_push(&e->s, 400, lb_not_found);
	assert_int_equal(awsp_elbv2_load_balancers(e->c, arns, 3, 1, &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].arn, ALB_ARN);
	assert_string_equal(l.v[0].name, "web-alb");
	assert_int_equal(l.v[0].n_azs, 2);
	assert_string_equal(l.v[0].azs[0], "us-east-1a");
	assert_string_equal(l.v[0].azs[1], "us-east-1b");
	/* One batch of the two distinct ARNs, then each alone. */
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(
		body_has(e->s.reqs[0].body, "Action=DescribeLoadBalancers"));
	assert_true(body_has(e->s.reqs[0].body, "Version=2015-12-01"));
	assert_true(body_has(e->s.reqs[0].body,
			     "LoadBalancerArns.member.1=" ALB_ARN_FORM));
	assert_true(body_has(e->s.reqs[0].body,
			     "LoadBalancerArns.member.2=" ALB_ARN_FORM "0"));
	assert_null(strstr(e->s.reqs[0].body, "member.3"));
	assert_null(strstr(e->s.reqs[1].body, "member.2"));
	prov_lb_list_release(&l);
	assert_false(util_err_isset(&err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_target_groups),
		cmocka_unit_test(test_parse_health_and_attributes),
		cmocka_unit_test(test_is_arn),
		cmocka_unit_test_setup_teardown(
			test_target_groups_names_and_arns, test_env_setup,
			test_env_teardown),
		cmocka_unit_test_setup_teardown(test_target_groups_without_delay,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_target_health_alone,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_target_groups_missing,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_target_groups_delay_cached,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_register_targets,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_load_balancers_by_arn,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
