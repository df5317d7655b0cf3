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

static void test_parse_load_balancers(void **state)
{
	struct prov_classic_lb_list l = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;
	size_t len;
	char *xml = test_data_read("elb_describe_load_balancers_page1.xml",
				   &len);

	(void)state;
	assert_int_equal(awsp_elb_parse_load_balancers(xml, len, &l, &next,
						       &err),
			 0);
	free(xml);
	assert_string_equal(next, "bWFya2VyLXBhZ2UtMg==");
	free(next);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "web-classic");
	assert_string_equal(
		l.v[0].dns_name,
		"web-classic-1234567890.us-east-1.elb.amazonaws.com");
	assert_string_equal(l.v[0].vpc_id, "vpc-0bbbbbbbbbbbbbbb1");
	assert_int_equal(l.v[0].n_azs, 2);
	assert_string_equal(l.v[0].azs[0], "us-east-1a");
	assert_string_equal(l.v[0].azs[1], "us-east-1b");
	/*
	 * Members are listed here too, their health unknown until
	 * DescribeInstanceHealth is read (only when a step needs it).
	 */
	assert_int_equal(l.v[0].n_members, 2);
	assert_string_equal(l.v[0].members[0].instance_id,
			    "i-0123456789abcdef0");
	assert_string_equal(l.v[0].members[1].instance_id,
			    "i-0fedcba9876543210");
	assert_int_equal(l.v[0].members[0].health, PROV_HEALTH_UNKNOWN);

	xml = test_data_read("elb_describe_load_balancers_page2.xml", &len);
	assert_int_equal(awsp_elb_parse_load_balancers(xml, len, &l, &next,
						       &err),
			 0);
	free(xml);
	/* An empty NextMarker is the last page. */
	assert_null(next);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].name, "api-classic");
	assert_int_equal(l.v[1].n_azs, 1);

	/* A page that fails leaves the list and *ret_next as they were. */
	{
		static char sentinel[] = "sentinel";

		xml = test_data_read("elb_describe_load_balancers_page1.xml",
				     &len);
		next = sentinel;
		assert_int_equal(awsp_elb_parse_load_balancers(xml, len - 30,
							       &l, &next, &err),
				 UTIL_EINVAL);
		free(xml);
		assert_ptr_equal(next, sentinel);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.v[1].name, "api-classic");
	}
	prov_classic_lb_list_release(&l);
}

static void test_parse_instance_health(void **state)
{
	struct prov_classic_lb lb = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	size_t len;
	char *xml = test_data_read("elb_describe_instance_health.xml", &len);

	(void)state;
	assert_int_equal(awsp_elb_parse_instance_health(xml, len, &lb, &err),
			 0);
	assert_int_equal(lb.n_members, 4);
	assert_string_equal(lb.members[0].instance_id, "i-0123456789abcdef0");
	assert_int_equal(lb.members[0].health, PROV_HEALTH_HEALTHY);
	assert_string_equal(lb.members[0].state, "InService");
	assert_string_equal(lb.members[0].reason_code, "N/A");
	assert_int_equal(lb.members[1].health, PROV_HEALTH_INITIAL);
	assert_string_equal(lb.members[1].reason_code, "ELB");
	assert_int_equal(lb.members[2].health, PROV_HEALTH_UNHEALTHY);
	assert_int_equal(lb.members[3].health, PROV_HEALTH_DRAINING);
	/* Parsing again replaces, not appends. */
	assert_int_equal(awsp_elb_parse_instance_health(xml, len, &lb, &err),
			 0);
	assert_int_equal(lb.n_members, 4);
	/* A broken answer leaves the members as they were. */
	assert_int_equal(awsp_elb_parse_instance_health(xml, len - 40, &lb,
							&err),
			 UTIL_EINVAL);
	assert_int_equal(lb.n_members, 4);
	free(xml);
	prov_classic_lb_release(&lb);
}

static void test_parse_register_answers(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	size_t len, n = 0;
	char *xml = test_data_read("elb_register_instances.xml", &len);

	(void)state;
	assert_int_equal(awsp_elb_parse_instances(
				 xml, len,
				 "RegisterInstancesWithLoadBalancerResponse",
				 &n, &err),
			 0);
	assert_int_equal(n, 2);
	/* The other action's root is refused. */
	assert_int_equal(awsp_elb_parse_instances(
				 xml, len,
				 "DeregisterInstancesFromLoadBalancerResponse",
				 &n, &err),
			 UTIL_EINVAL);
	free(xml);
	xml = test_data_read("elb_deregister_instances.xml", &len);
	util_err_clear(&err);
	assert_int_equal(awsp_elb_parse_instances(
				 xml, len,
				 "DeregisterInstancesFromLoadBalancerResponse",
				 &n, &err),
			 0);
	assert_int_equal(n, 1);
	free(xml);
}

static void test_load_balancers_paginated(void **state)
{
	struct test_env *e = *state;
	const char *names[] = { "web-classic", "api-classic", "web-classic" };
	struct prov_classic_lb_list l;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "elb_describe_load_balancers_page1.xml");
	script_push_file(&e->s, 200, "elb_describe_load_balancers_page2.xml");
	script_push_file(&e->s, 200, "elb_describe_instance_health.xml");
	script_push(&e->s, 200,
		    "<DescribeInstanceHealthResponse><DescribeInstanceHealth"
		    "Result><InstanceStates/></DescribeInstanceHealthResult>"
		    "</DescribeInstanceHealthResponse>");
	assert_int_equal(awsp_elb_load_balancers(e->c, names, 3, 1, true, &l,
						 &err),
			 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].n_members, 4);
	assert_int_equal(l.v[1].n_members, 0);
	const char *b0 = e->s.reqs[0].body;
	assert_true(body_has(b0, "Action=DescribeLoadBalancers"));
	assert_true(body_has(b0, "Version=2012-06-01"));
	assert_true(body_has(b0, "LoadBalancerNames.member.1=web-classic"));
	assert_true(body_has(b0, "LoadBalancerNames.member.2=api-classic"));
	assert_null(strstr(b0, "LoadBalancerNames.member.3"));
	assert_true(body_has(b0, "PageSize=400"));
	assert_true(
		body_has(e->s.reqs[1].body, "Marker=bWFya2VyLXBhZ2UtMg%3D%3D"));
	assert_true(
		body_has(e->s.reqs[2].body, "Action=DescribeInstanceHealth"));
	assert_true(
		body_has(e->s.reqs[2].body, "LoadBalancerName=web-classic"));
	assert_true(
		body_has(e->s.reqs[3].body, "LoadBalancerName=api-classic"));
	assert_string_equal(
		e->s.reqs[0].url,
		"https://elasticloadbalancing.us-east-1.amazonaws.com/");
	prov_classic_lb_list_release(&l);
}

/* Without health: DescribeLoadBalancers only, members as it lists them. */
static void test_load_balancers_without_health(void **state)
{
	struct test_env *e = *state;
	const char *names[] = { "web-classic", "api-classic" };
	struct prov_classic_lb_list l;
	struct prov_classic_lb h;
	struct util_err err = UTIL_ERR_INIT;

	script_push_file(&e->s, 200, "elb_describe_load_balancers_page1.xml");
	script_push_file(&e->s, 200, "elb_describe_load_balancers_page2.xml");
	assert_int_equal(awsp_elb_load_balancers(e->c, names, 2, 1, false, &l,
						 &err),
			 0);
	assert_int_equal(e->s.n_reqs, 2);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].n_members, 2);
	assert_int_equal(l.v[0].members[0].health, PROV_HEALTH_UNKNOWN);
	/* Then the health of one of them, when a step needs it. */
	script_push_file(&e->s, 200, "elb_describe_instance_health.xml");
	assert_int_equal(awsp_elb_instance_health(e->c, l.v[0].name, &h, &err),
			 0);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(
		body_has(e->s.reqs[2].body, "Action=DescribeInstanceHealth"));
	assert_int_equal(h.n_members, 4);
	prov_classic_lb_release(&h);
	prov_classic_lb_list_release(&l);
}

static void test_load_balancers_missing_name(void **state)
{
	struct test_env *e = *state;
	const char *names[] = { "web-classic", "gone-classic" };
	struct prov_classic_lb_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* The batch fails; each name is then asked alone. */
	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	script_push(&e->s, 200,
		    "<DescribeLoadBalancersResponse><DescribeLoadBalancers"
		    "Result><LoadBalancerDescriptions><member>"
		    "<LoadBalancerName>web-classic</LoadBalancerName>"
		    "</member></LoadBalancerDescriptions>"
		    "</DescribeLoadBalancersResult>"
		    "</DescribeLoadBalancersResponse>");
	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	/* Health: deleted meanwhile, so it is dropped too. */
	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	assert_int_equal(awsp_elb_load_balancers(e->c, names, 2, 1, true, &l,
						 &err),
			 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(e->s.n_reqs, 4);
	assert_true(body_has(e->s.reqs[1].body,
			     "LoadBalancerNames.member.1=web-classic"));
	assert_null(strstr(e->s.reqs[1].body, "member.2"));
	assert_true(body_has(e->s.reqs[2].body,
			     "LoadBalancerNames.member.1=gone-classic"));
	prov_classic_lb_list_release(&l);
	assert_false(util_err_isset(&err));
}

static void test_load_balancers_throttled_then_error(void **state)
{
	struct test_env *e = *state;
	const char *names[] = { "web-classic" };
	struct prov_classic_lb_list l;
	struct util_err err = UTIL_ERR_INIT;

	/* Throttling (HTTP 400 with code Throttling) is retried... */
	script_push_file(&e->s, 400, "elb_error_throttling.xml");
	script_push_file(&e->s, 400, "elb_error_throttling.xml");
	script_push_file(&e->s, 400, "elb_error_throttling.xml");
	/* ...until attempts run out: retryable, with AWS's details. */
	assert_int_equal(awsp_elb_load_balancers(e->c, names, 1, 1, true, &l,
						 &err),
			 UTIL_EAWS);
	assert_int_equal(e->s.n_reqs, 3);
	assert_string_equal(err.aws_code, "Throttling");
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_non_null(strstr(err.msg, "gave up after 3 attempts"));
	assert_non_null(strstr(err.msg, "elb DescribeLoadBalancers"));
	assert_int_equal(l.n, 0);
	/* 0.5 * 1 s + 0.5 * 2 s of backoff. */
	assert_int_equal(e->fc.slept_ms, 1500);
}

static void test_register_batches(void **state)
{
	struct test_env *e = *state;
	const char **ids = util_xcalloc(450, sizeof(*ids));
	char **store = util_xcalloc(450, sizeof(*store));
	struct util_err err = UTIL_ERR_INIT;

	for (int i = 0; i < 450; i++) {
		store[i] = util_xasprintf("i-%017x", i);
		ids[i] = store[i];
	}
	for (int i = 0; i < 3; i++)
		script_push_file(&e->s, 200, "elb_register_instances.xml");
	assert_int_equal(awsp_elb_register(e->c, "web-classic", ids, 450, false,
					   &err),
			 0);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(body_has(e->s.reqs[0].body,
			     "Action=RegisterInstancesWithLoadBalancer"));
	assert_true(
		body_has(e->s.reqs[0].body, "LoadBalancerName=web-classic"));
	assert_true(
		body_has(e->s.reqs[0].body,
			 "Instances.member.1.InstanceId=i-00000000000000000"));
	assert_non_null(
		strstr(e->s.reqs[0].body, "Instances.member.200.InstanceId="));
	assert_null(
		strstr(e->s.reqs[0].body, "Instances.member.201.InstanceId="));
	assert_non_null(
		strstr(e->s.reqs[2].body, "Instances.member.50.InstanceId="));

	/* Deregister: lost once, retried (idempotent). */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push_file(&e->s, 200, "elb_deregister_instances.xml");
	assert_int_equal(awsp_elb_register(e->c, "web-classic", ids, 2, true,
					   &err),
			 0);
	assert_int_equal(e->s.n_reqs, 5);
	assert_true(body_has(e->s.reqs[4].body,
			     "Action=DeregisterInstancesFromLoadBalancer"));

	/* A failing batch stops the rest. */
	script_push_file(&e->s, 200, "elb_register_instances.xml");
	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	assert_int_equal(awsp_elb_register(e->c, "web-classic", ids, 450, false,
					   &err),
			 UTIL_EAWS);
	assert_int_equal(e->s.n_reqs, 7);
	assert_string_equal(err.aws_code, "LoadBalancerNotFound");
	for (int i = 0; i < 450; i++)
		free(store[i]);
	free(store);
	free(ids);
}

static void test_enable_zones(void **state)
{
	struct test_env *e = *state;
	const char *zones[] = { "us-east-1c", "us-east-1d" };
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 200,
		    "<EnableAvailabilityZonesForLoadBalancerResponse>"
		    "<EnableAvailabilityZonesForLoadBalancerResult>"
		    "<AvailabilityZones><member>us-east-1a</member>"
		    "<member>us-east-1c</member><member>us-east-1d</member>"
		    "</AvailabilityZones>"
		    "</EnableAvailabilityZonesForLoadBalancerResult>"
		    "</EnableAvailabilityZonesForLoadBalancerResponse>");
	assert_int_equal(awsp_elb_enable_zones(e->c, "web-classic", zones, 2,
					       &err),
			 0);
	assert_int_equal(e->s.n_reqs, 1);
	assert_true(body_has(e->s.reqs[0].body,
			     "Action=EnableAvailabilityZonesForLoadBalancer"));
	assert_true(
		body_has(e->s.reqs[0].body, "LoadBalancerName=web-classic"));
	assert_true(body_has(e->s.reqs[0].body,
			     "AvailabilityZones.member.1=us-east-1c"));
	assert_true(body_has(e->s.reqs[0].body,
			     "AvailabilityZones.member.2=us-east-1d"));
	assert_true(body_has(e->s.reqs[0].body, "Version=2012-06-01"));

	/* A lost answer is retried: enabling is idempotent. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 200,
		    "<EnableAvailabilityZonesForLoadBalancerResponse>"
		    "</EnableAvailabilityZonesForLoadBalancerResponse>");
	assert_int_equal(awsp_elb_enable_zones(e->c, "web-classic", zones, 1,
					       &err),
			 0);
	assert_int_equal(e->s.n_reqs, 3);

	script_push_file(&e->s, 400, "elb_error_not_found.xml");
	assert_int_equal(awsp_elb_enable_zones(e->c, "gone", zones, 1, &err),
			 UTIL_EAWS);
	assert_string_equal(err.aws_code, "LoadBalancerNotFound");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_load_balancers),
		cmocka_unit_test(test_parse_instance_health),
		cmocka_unit_test(test_parse_register_answers),
		cmocka_unit_test_setup_teardown(test_load_balancers_paginated,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_balancers_without_health, test_env_setup,
			test_env_teardown),
		cmocka_unit_test_setup_teardown(test_load_balancers_missing_name,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(
			test_load_balancers_throttled_then_error,
			test_env_setup, test_env_teardown),
		cmocka_unit_test_setup_teardown(test_register_batches,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_enable_zones,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
