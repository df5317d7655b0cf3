#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/aws.h"
#include "providers/aws/aws_internal.h"
#include "providers/aws/env.h"
#include "providers/aws/ops.h"
#include "providers/fenced.h"
#include "providers/provider.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/err.h"
#include "util/fence.h"

static const char *base_env[] = {
	"AWS_REGION=eu-central-1",
	"AWS_ACCESS_KEY_ID=" TEST_AKID,
	"AWS_SECRET_ACCESS_KEY=" TEST_SECRET,
	"AWS_CONFIG_FILE=/nonexistent/moor-test/config",
	"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/moor-test/credentials",
	"AWS_EC2_METADATA_DISABLED=true",
	"AWS_ENDPOINT_URL_EC2=http://127.0.0.1:4566",
	"HOME=/nonexistent/moor-test",
	NULL,
};

struct env {
	struct script s;
	struct fake_clock fc;
	const char *vars[32];
	struct awsp_env env;
	struct prov_aws_config cfg;
	struct prov_aws_hooks hooks;
};

static int setup(void **state)
{
	struct env *e = util_xcalloc(1, sizeof(*e));
	size_t n = 0;

	script_init(&e->s);
	fake_clock_init(&e->fc, 0, 1700000000);
	for (; base_env[n]; n++)
		e->vars[n] = base_env[n];
	e->vars[n] = NULL;
	e->env.get = awsp_env_table_get;
	e->env.ctx = e->vars;
	e->hooks.env = &e->env;
	e->hooks.transport = &e->s.t;
	e->hooks.clock = &e->fc.clock;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	assert_int_equal(script_left(&e->s), 0);
	script_release(&e->s);
	fake_clock_destroy(&e->fc);
	free(e);
	return 0;
}

static void add_var(struct env *e, const char *kv)
{
	size_t n = 0;

	while (e->vars[n])
		n++;
	assert_true(n + 1 < ARRAY_SIZE(e->vars));
	e->vars[n] = kv;
	e->vars[n + 1] = NULL;
}

static void test_resolution(void **state)
{
	struct env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = NULL;
	const char *src = NULL;

	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_true(prov_is_aws(p));
	assert_string_equal(prov_aws_region(p, &src), "eu-central-1");
	assert_string_equal(src, "AWS_REGION");
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_EC2, &src),
			    "http://127.0.0.1:4566");
	assert_string_equal(src, "AWS_ENDPOINT_URL_EC2");
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_ELBV2, &src),
			    "https://elasticloadbalancing.eu-central-1."
			    "amazonaws.com");
	assert_string_equal(src, "default");
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_STS, NULL),
			    "https://sts.eu-central-1.amazonaws.com");
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_DYNAMODB, &src),
			    "https://dynamodb.eu-central-1.amazonaws.com");
	assert_string_equal(src, "default");
	assert_string_equal(prov_aws_profile(p), "default");
	assert_int_equal(prov_aws_max_attempts(p), 3);
	/* No call yet: no credential source. */
	assert_null(prov_aws_creds_source(p));
	prov_free(p);

	/* --region beats the spec, which beats AWS_REGION. */
	e->cfg.spec_region = "us-west-2";
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_string_equal(prov_aws_region(p, &src), "us-west-2");
	assert_string_equal(src, "spec");
	prov_free(p);
	e->cfg.region = "ap-south-1";
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_string_equal(prov_aws_region(p, &src), "ap-south-1");
	assert_string_equal(src, "--region");
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_ELB, NULL),
			    "https://elasticloadbalancing.ap-south-1."
			    "amazonaws.com");
	prov_free(p);

	/* DynamoDB's own override (the lease table on a fake or local). */
	add_var(e, "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000/");
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_string_equal(prov_aws_endpoint(p, PROV_AWS_SVC_DYNAMODB, &src),
			    "http://127.0.0.1:8000");
	assert_string_equal(src, "AWS_ENDPOINT_URL_DYNAMODB");
	prov_free(p);
}

static void test_errors(void **state)
{
	struct env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = NULL;

	/* No region anywhere (and IMDS disabled). */
	e->vars[0] = "AWS_REGION=";
	assert_true(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err) < 0);
	assert_null(p);
	assert_non_null(strstr(err.msg, "region"));
	e->vars[0] = base_env[0];

	/* A profile that exists nowhere. */
	util_err_clear(&err);
	e->cfg.profile = "nope";
	assert_true(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "nope"));
	e->cfg.profile = NULL;

	/* A malformed region or endpoint. */
	util_err_clear(&err);
	e->cfg.region = "not a region";
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err),
			 UTIL_EINVAL);
	e->cfg.region = NULL;
	util_err_clear(&err);
	add_var(e, "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING=ftp://x");
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err),
			 UTIL_EINVAL);
	assert_null(p);
}

static void test_max_attempts(void **state)
{
	struct env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = NULL;

	/* Nothing sets it: the caller's default, else 3. */
	e->cfg.default_max_attempts = 9;
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_int_equal(prov_aws_max_attempts(p), 9);
	prov_free(p);
	e->cfg.default_max_attempts = 0;
	add_var(e, "AWS_MAX_ATTEMPTS=7");
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_int_equal(prov_aws_max_attempts(p), 7);
	prov_free(p);
	/* The caller's default yields to AWS_MAX_ATTEMPTS ... */
	e->cfg.default_max_attempts = 9;
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_int_equal(prov_aws_max_attempts(p), 7);
	prov_free(p);
	e->cfg.max_attempts = 2;
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	assert_int_equal(prov_aws_max_attempts(p), 2);
	prov_free(p);
	e->cfg.max_attempts = 0;
	add_var(e, "AWS_MAX_ATTEMPTS=zero");
	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "AWS_MAX_ATTEMPTS"));
}

static void test_ops_through_vtable(void **state)
{
	struct env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = NULL;
	struct prov_identity id;
	struct prov_instance_list il;
	struct prov_aws_stats st;
	const char *ids[] = { "i-0123456789abcdef0" };
	char *assoc = NULL;
	struct prov_associate as = { .allocation_id = "eipalloc-1",
				     .instance_id = "i-1",
				     .allow_reassociation = true };

	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	script_push_file(&e->s, 200, "sts_get_caller_identity.xml");
	assert_int_equal(p->ops->identity(p, &id, &err), 0);
	assert_string_equal(id.account, "123456789012");
	prov_identity_release(&id);
	assert_string_equal(e->s.reqs[0].url,
			    "https://sts.eu-central-1.amazonaws.com/");
	assert_string_equal(prov_aws_creds_source(p), "env");

	script_push_file(&e->s, 200, "ec2_describe_instances_page2.xml");
	assert_int_equal(p->ops->instances_by_id(p, ids, 1, &il, &err), 0);
	assert_int_equal(il.n, 1);
	prov_instance_list_release(&il);
	assert_string_equal(e->s.reqs[1].url, "http://127.0.0.1:4566/");
	assert_non_null(
		strstr(e->s.reqs[1].headers, "/eu-central-1/ec2/aws4_request"));

	script_push_file(&e->s, 200, "ec2_associate_address.xml");
	assert_int_equal(p->ops->associate(p, &as, &assoc, &err), 0);
	assert_string_equal(assoc, "eipassoc-fc5ca095");
	free(assoc);

	prov_aws_get_stats(p, &st);
	assert_int_equal(st.client.calls, 3);
	assert_int_equal(st.client.attempts, 3);
	assert_int_equal(st.client.limits.taken[AWSP_RL_EC2_READ], 1);
	assert_int_equal(st.client.limits.taken[AWSP_RL_EC2_MUTATE], 1);
	/* An injected transport: no libcurl counters. */
	assert_int_equal(st.http.connections, 0);
	prov_free(p);
}

static void test_not_aws(void **state)
{
	struct prov other = { 0 };
	struct prov_aws_stats st;

	(void)state;
	assert_false(prov_is_aws(&other));
	assert_false(prov_is_aws(NULL));
	assert_null(prov_aws_region(&other, NULL));
	assert_null(prov_aws_endpoint(&other, PROV_AWS_SVC_EC2, NULL));
	assert_null(prov_aws_creds_source(&other));
	prov_aws_get_stats(&other, &st);
	assert_int_equal(st.client.calls, 0);
}

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

/* A fence the test opens and closes, counting how often it is asked. */
struct gate {
	bool open;
	uint64_t budget_ms;
	unsigned checks;
};

static int gate_check(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	struct gate *g = ctx;

	g->checks++;
	if (!g->open)
		return util_err_set(err, UTIL_EFENCED, "not the holder");
	*ret_budget_ms = g->budget_ms;
	return 0;
}

/*
 * The whole chain: the fenced provider over the AWS provider asks the
 * fence, the client asks again before the attempt and bounds it by the
 * budget; closed, nothing is sent; the lease ops go out regardless.
 */
static void test_fenced_chain(void **state)
{
	struct env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = NULL, *f;
	struct gate g = { .open = true, .budget_ms = 2500 };
	struct util_fence fence = { gate_check, &g };
	const struct prov_lease_write w = {
		.name = "web", .holder = "a", .rvn = "r2", .duration_ms = 10000
	};

	assert_int_equal(prov_aws_new_hooked(&e->cfg, &e->hooks, &p, &err), 0);
	f = prov_fenced_new(p, &fence);
	script_push(&e->s, 200,
		    "<DisassociateAddressResponse><return>true</return>"
		    "</DisassociateAddressResponse>");
	assert_int_equal(f->ops->disassociate(f, "eipassoc-1", &err), 0);
	assert_int_equal(g.checks, 2); /* the wrapper, then the attempt */
	assert_int_equal(e->s.reqs[0].budget_ms, 2500);

	g.open = false;
	assert_int_equal(f->ops->disassociate(f, "eipassoc-1", &err),
			 UTIL_EFENCED);
	assert_int_equal(e->s.n_reqs, 1);

	/* A renewal goes out with the fence closed, unbounded. */
	g.checks = 0;
	script_push(&e->s, 200, "{}");
	assert_int_equal(f->ops->lease_renew(f, "leases", &w, "r1", &err), 0);
	assert_int_equal(e->s.n_reqs, 2);
	assert_int_equal(g.checks, 0);
	assert_int_equal(e->s.reqs[1].budget_ms, 0);
	assert_string_equal(e->s.reqs[1].url,
			    "https://dynamodb.eu-central-1.amazonaws.com/");
	prov_free(f);
	prov_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolution, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_attempts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ops_through_vtable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fenced_chain, setup,
						teardown),
		cmocka_unit_test(test_not_aws),
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
