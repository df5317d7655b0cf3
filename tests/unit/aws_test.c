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
#include "tests/unit/awsp_testutil.h"
#include "util/alloc.h"
#include "util/array.h"

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
		cmocka_unit_test(test_not_aws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
