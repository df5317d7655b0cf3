#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "providers/aws/endpoint.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/err.h"
#include "util/banned.h"

static const char CONFIG[] = "[default]\n"
			     "region = eu-central-1\n"
			     "services = local\n"
			     "endpoint_url = http://profile.example:1/\n"
			     "[profile bare]\n"
			     "[profile ignoring]\n"
			     "ignore_configured_endpoint_urls = true\n"
			     "endpoint_url = http://never.example\n"
			     "region = bad_region\n"
			     "[services local]\n"
			     "ec2 =\n"
			     "  endpoint_url = http://127.0.0.1:4566//\n"
			     "elastic_load_balancing =\n"
			     "  endpoint_url = http://elb.local\n";

/* A config with only the config file and the given profile. */
static struct awsp_config *make_config(const char *profile)
{
	struct awsp_config *c = util_xcalloc(1, sizeof(*c));
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(awsp_ini_parse(CONFIG, strlen(CONFIG), "config",
					&c->config, &err),
			 0);
	assert_int_equal(awsp_ini_parse("", 0, "credentials", &c->credentials,
					&err),
			 0);
	c->profile = util_xstrdup(profile);
	return c;
}

static void expect_endpoint(enum awsp_service svc, const char *region,
			    const char **vars, const struct awsp_config *cfg,
			    const char *url, const char *source)
{
	struct awsp_env env = { awsp_env_table_get, vars };
	struct util_err err = UTIL_ERR_INIT;
	char *got = NULL;
	const char *src = NULL;

	if (awsp_endpoint_resolve(svc, region, &env, cfg, &got, &src, &err) < 0)
		fail_msg("resolve failed: %s", err.msg);
	assert_string_equal(got, url);
	assert_string_equal(src, source);
	free(got);
}

static void test_service_table(void **state)
{
	const struct awsp_service_info *s;

	(void)state;
	s = awsp_service(AWSP_SVC_EC2);
	assert_string_equal(s->api_version, "2016-11-15");
	assert_string_equal(s->signing_name, "ec2");
	s = awsp_service(AWSP_SVC_ELB);
	assert_string_equal(s->api_version, "2012-06-01");
	assert_string_equal(s->endpoint_prefix, "elasticloadbalancing");
	assert_string_equal(s->signing_name, "elasticloadbalancing");
	assert_string_equal(s->env_suffix, "ELASTIC_LOAD_BALANCING");
	s = awsp_service(AWSP_SVC_ELBV2);
	assert_string_equal(s->api_version, "2015-12-01");
	assert_string_equal(s->endpoint_prefix, "elasticloadbalancing");
	assert_string_equal(s->services_key, "elastic_load_balancing_v2");
	assert_string_equal(s->endpoint_env,
			    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
	s = awsp_service(AWSP_SVC_STS);
	assert_string_equal(s->api_version, "2011-06-15");
	s = awsp_service(AWSP_SVC_DYNAMODB);
	assert_string_equal(s->api_version, "2012-08-10");
	assert_string_equal(s->env_suffix, "DYNAMODB");
	assert_null(awsp_service(AWSP_SVC_COUNT));
}

static void test_default_endpoints(void **state)
{
	const char *none[] = { NULL };

	(void)state;
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", none, NULL,
			"https://ec2.us-east-1.amazonaws.com", "default");
	expect_endpoint(AWSP_SVC_ELB, "eu-west-1", none, NULL,
			"https://elasticloadbalancing.eu-west-1.amazonaws.com",
			"default");
	expect_endpoint(AWSP_SVC_ELBV2, "cn-north-1", none, NULL,
			"https://elasticloadbalancing.cn-north-1."
			"amazonaws.com.cn",
			"default");
	expect_endpoint(AWSP_SVC_STS, "ap-south-1", none, NULL,
			"https://sts.ap-south-1.amazonaws.com", "default");
	expect_endpoint(AWSP_SVC_STS, NULL, none, NULL,
			"https://sts.amazonaws.com", "default");
	expect_endpoint(AWSP_SVC_DYNAMODB, "cn-northwest-1", none, NULL,
			"https://dynamodb.cn-northwest-1.amazonaws.com.cn",
			"default");
}

static void test_override_order(void **state)
{
	struct awsp_config *cfg = make_config("default");
	struct awsp_config *bare = make_config("bare");
	const char *all[] = { "AWS_ENDPOINT_URL_EC2=http://svc.env:1/",
			      "AWS_ENDPOINT_URL=http://global.env:2", NULL };
	const char *global[] = { "AWS_ENDPOINT_URL=http://global.env:2",
				 "AWS_ENDPOINT_URL_EC2=", NULL };
	const char *none[] = { NULL };

	(void)state;
	/* 1. AWS_ENDPOINT_URL_<SERVICE>, trailing slash dropped. */
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", all, cfg, "http://svc.env:1",
			"AWS_ENDPOINT_URL_EC2");
	/* 2. AWS_ENDPOINT_URL (the EC2 variable is another service's). */
	expect_endpoint(AWSP_SVC_STS, "us-east-1", all, cfg,
			"http://global.env:2", "AWS_ENDPOINT_URL");
	/* An empty service variable counts as unset. */
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", global, cfg,
			"http://global.env:2", "AWS_ENDPOINT_URL");
	/* 3. the [services] section the profile names. */
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", none, cfg,
			"http://127.0.0.1:4566", "profile services");
	expect_endpoint(AWSP_SVC_ELB, "us-east-1", none, cfg,
			"http://elb.local", "profile services");
	/* 4. the profile's endpoint_url, for services the section lacks. */
	expect_endpoint(AWSP_SVC_ELBV2, "us-east-1", none, cfg,
			"http://profile.example:1", "profile endpoint_url");
	/* A profile with neither: the default. */
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", none, bare,
			"https://ec2.us-east-1.amazonaws.com", "default");
	awsp_config_free(cfg);
	awsp_config_free(bare);
}

static void test_ignore_configured(void **state)
{
	struct awsp_config *cfg = make_config("default");
	struct awsp_config *ign = make_config("ignoring");
	const char *env_true[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=TRUE",
				   "AWS_ENDPOINT_URL=http://global.env:2",
				   NULL };
	const char *env_false[] = { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false",
				    NULL };
	const char *none[] = { NULL };

	(void)state;
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", env_true, cfg,
			"https://ec2.us-east-1.amazonaws.com", "default");
	/* The profile key, unless the variable says otherwise. */
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", none, ign,
			"https://ec2.us-east-1.amazonaws.com", "default");
	expect_endpoint(AWSP_SVC_EC2, "us-east-1", env_false, ign,
			"http://never.example", "profile endpoint_url");
	awsp_config_free(cfg);
	awsp_config_free(ign);
}

static void test_endpoint_errors(void **state)
{
	const char *bad[] = { "AWS_ENDPOINT_URL=localhost:4566", NULL };
	const char *nohost[] = { "AWS_ENDPOINT_URL=http:///x", NULL };
	const char *none[] = { NULL };
	struct awsp_env env = { awsp_env_table_get, bad };
	struct util_err err = UTIL_ERR_INIT;
	char *url = NULL;

	(void)state;
	assert_int_equal(awsp_endpoint_resolve(AWSP_SVC_EC2, "us-east-1", &env,
					       NULL, &url, NULL, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "'localhost:4566' from "
					"AWS_ENDPOINT_URL"));
	util_err_clear(&err);
	env.ctx = nohost;
	assert_int_equal(awsp_endpoint_resolve(AWSP_SVC_EC2, "us-east-1", &env,
					       NULL, &url, NULL, &err),
			 UTIL_EINVAL);
	util_err_clear(&err);
	env.ctx = none;
	assert_int_equal(awsp_endpoint_resolve(AWSP_SVC_EC2, "us-east-1.evil",
					       &env, NULL, &url, NULL, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "invalid region name"));
	util_err_clear(&err);
	assert_int_equal(awsp_endpoint_resolve(AWSP_SVC_EC2, NULL, &env, NULL,
					       &url, NULL, &err),
			 UTIL_ENOTFOUND);
	assert_non_null(strstr(err.msg, "AWS_REGION"));
	assert_null(url);
}

static void test_region_order(void **state)
{
	struct awsp_config *cfg = make_config("default");
	struct awsp_config *ign = make_config("ignoring");
	const char *both[] = { "AWS_REGION=us-west-1",
			       "AWS_DEFAULT_REGION=us-west-2", NULL };
	const char *dflt[] = { "AWS_REGION=", "AWS_DEFAULT_REGION=us-west-2",
			       NULL };
	const char *none[] = { NULL };
	struct awsp_env env = { awsp_env_table_get, both };
	struct util_err err = UTIL_ERR_INIT;
	char *r = NULL;
	const char *src = NULL;

	(void)state;
	assert_int_equal(awsp_region_resolve("ca-central-1", "sa-east-1", &env,
					     cfg, &r, &src, &err),
			 0);
	assert_string_equal(r, "ca-central-1");
	assert_string_equal(src, "--region");
	free(r);
	assert_int_equal(awsp_region_resolve(NULL, "sa-east-1", &env, cfg, &r,
					     &src, &err),
			 0);
	assert_string_equal(r, "sa-east-1");
	assert_string_equal(src, "spec");
	free(r);
	assert_int_equal(awsp_region_resolve(NULL, NULL, &env, cfg, &r, &src,
					     &err),
			 0);
	assert_string_equal(r, "us-west-1");
	assert_string_equal(src, "AWS_REGION");
	free(r);
	env.ctx = dflt;
	assert_int_equal(awsp_region_resolve(NULL, "", &env, cfg, &r, &src,
					     &err),
			 0);
	assert_string_equal(r, "us-west-2");
	assert_string_equal(src, "AWS_DEFAULT_REGION");
	free(r);
	env.ctx = none;
	assert_int_equal(awsp_region_resolve(NULL, NULL, &env, cfg, &r, &src,
					     &err),
			 0);
	assert_string_equal(r, "eu-central-1");
	assert_string_equal(src, "profile");
	free(r);

	/* Nowhere: ENOTFOUND with err untouched, so IMDS can be tried. */
	r = NULL;
	assert_int_equal(awsp_region_resolve(NULL, NULL, &env, NULL, &r, &src,
					     &err),
			 UTIL_ENOTFOUND);
	assert_false(util_err_isset(&err));
	assert_null(r);
	assert_int_equal(awsp_region_missing_error(&err), UTIL_ENOTFOUND);
	for (const char *const *w =
		     (const char *const[]){ "--region", "spec", "AWS_REGION",
					    "AWS_DEFAULT_REGION", "profile",
					    "metadata", NULL };
	     *w; w++)
		if (!strstr(err.msg, *w))
			fail_msg("'%s' does not name %s", err.msg, *w);
	util_err_clear(&err);

	/* A malformed name is an error naming its source. */
	assert_int_equal(awsp_region_resolve(NULL, NULL, &env, ign, &r, &src,
					     &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "'bad_region' (from profile)"));
	util_err_clear(&err);
	assert_int_equal(awsp_region_resolve("", NULL, &env, cfg, &r, &src,
					     &err),
			 UTIL_EINVAL);
	assert_false(awsp_region_valid("-us"));
	assert_false(awsp_region_valid("us/east"));
	assert_true(awsp_region_valid("us-gov-west-1"));
	awsp_config_free(cfg);
	awsp_config_free(ign);
}

static void test_url_authority(void **state)
{
	static const char *const cases[][2] = {
		{ "https://sts.amazonaws.com/", "sts.amazonaws.com" },
		{ "https://sts.amazonaws.com:443/x", "sts.amazonaws.com" },
		{ "http://127.0.0.1:4566/", "127.0.0.1:4566" },
		{ "http://127.0.0.1:80", "127.0.0.1" },
		{ "https://h:80/", "h:80" },
		{ "http://u:p@h:8443?q", "h:8443" },
		{ "HTTP://[::1]:80/", "[::1]" },
		{ "http://[fd00:ec2::254]/latest", "[fd00:ec2::254]" },
	};
	struct util_err err = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&b);
		assert_int_equal(awsp_url_authority(cases[i][0], &b, &err), 0);
		assert_string_equal(b.buf, cases[i][1]);
	}
	assert_int_equal(awsp_url_authority("ftp://h/", &b, &err), UTIL_EINVAL);
	util_err_clear(&err);
	assert_int_equal(awsp_url_authority("http:///x", &b, &err),
			 UTIL_EINVAL);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_table),
		cmocka_unit_test(test_default_endpoints),
		cmocka_unit_test(test_override_order),
		cmocka_unit_test(test_ignore_configured),
		cmocka_unit_test(test_endpoint_errors),
		cmocka_unit_test(test_region_order),
		cmocka_unit_test(test_url_authority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
