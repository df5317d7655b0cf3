#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/creds.h"
#include "tests/unit/support/creds_testutil.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/pool.h"
#include "util/banned.h"

/*
 * The credential chain of creds.c against a scripted transport and a
 * manual clock: the order of the sources, environment and static profile
 * keys, role profiles' configuration, the refresh windows shared by many
 * threads, and that no secret reaches an error message.  Each source has
 * its own suite: creds_sts_test, creds_metadata_test, creds_process_test.
 */

/* --- environment ------------------------------------------------------ */

static void test_env(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_SECURITY_TOKEN=legacytoken");
	fx_setenv(&fx, "AWS_ACCOUNT_ID=999988887777");
	c = fx_creds(&fx);
	assert_null(awsp_creds_source(c));
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "AKIDENV");
	assert_string_equal(cr.secret_access_key, "envsecret");
	assert_string_equal(cr.session_token, "legacytoken");
	assert_string_equal(cr.account_id, "999988887777");
	assert_int_equal(cr.expiration, 0);
	assert_string_equal(awsp_creds_source(c), "env");
	awsp_credentials_release(&cr);
	awsp_credentials_release(&cr);
	/* Long-term keys never refresh, whatever the time. */
	tclock_set(&fx.clock, T0 + 10 * 365 * 86400);
	assert_int_equal(get_akid(c, "AKIDENV", &err), 0);
	awsp_creds_free(c);

	/* AWS_SESSION_TOKEN wins over the legacy name. */
	fx_setenv(&fx, "AWS_SESSION_TOKEN=newtoken");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.session_token, "newtoken");
	awsp_credentials_release(&cr);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_env_partial_is_an_error(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
	assert_null(awsp_creds_source(c));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_env_expiring_refresh(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV1");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=2026-01-01T01:00:00Z");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDENV1", &err), 0);
	/* The environment changed (a wrapper rotated it): re-read when due. */
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV2");
	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=2026-01-01T02:00:00Z");
	tclock_set(&fx.clock, T0 + 2000);
	assert_int_equal(get_akid(c, "AKIDENV1", &err), 0);
	tclock_set(&fx.clock, T0 + 3000);
	assert_int_equal(get_akid(c, "AKIDENV2", &err), 0);
	/* Expired and not renewed: an error, never stale keys. */
	tclock_set(&fx.clock, T0 + 7200);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(strstr(err.msg, "expired"));
	util_err_clear(&err);
	awsp_creds_free(c);

	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=tomorrow");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_nothing_anywhere(void **state)
{
	const struct exch script[] = {
		{ "PUT", "http://169.254.169.254/latest/api/token", 0, NULL },
		{ "GET",
		  "http://169.254.169.254/latest/meta-data/iam/"
		  "security-credentials/",
		  0, NULL },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const char *want[] = { "env: AWS_ACCESS_KEY_ID not set",
			       "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not "
			       "set",
			       "profile: profile 'default' not in "
			       "'/home/u/.aws/config' or "
			       "'/home/u/.aws/credentials'",
			       "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_"
			       "URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not "
			       "set",
			       "imds: no answer from http://169.254.169.254",
			       NULL };

	(void)state;
	fx_init(&fx, script, 2);
	fx_files(&fx, "", "", "default");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	for (const char **w = want; *w; w++)
		if (!strstr(err.msg, *w))
			fail_msg("'%s' lacks '%s'", err.msg, *w);
	/* botocore falls back to IMDSv1 when the token PUT gets no answer. */
	assert_int_equal(fx.net.n_seen, 2);
	assert_null(seen_header(&fx.net.seen[1], "x-aws-ec2-metadata-token"));
	assert_int_equal(fx.net.seen[0].timeout_ms, 1000);
	awsp_creds_free(c);
	net_done(&fx.net);

	/* IMDS disabled: nothing is sent. */
	util_err_clear(&err);
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=True");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(
		strstr(err.msg, "imds: disabled by AWS_EC2_METADATA_DISABLED"));
	assert_int_equal(fx.net.n_seen, 2);
	awsp_creds_free(c);
	fx_release(&fx, NULL);
}

static void expect_profile_error(struct fixture *fx, const char *profile,
				 int code, const char *needle)
{
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	free(fx->config->profile);
	fx->config->profile = util_xstrdup(profile);
	c = fx_creds(fx);
	assert_int_equal(get_akid(c, NULL, &err), code);
	if (!strstr(err.msg, needle))
		fail_msg("profile %s: '%s' lacks '%s'", profile, err.msg,
			 needle);
	no_secret(&err, "basesecret");
	awsp_creds_free(c);
}

static void test_assume_role_misconfigured(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	expect_profile_error(&fx, "loop1", UTIL_EINVAL, "(a loop?)");
	expect_profile_error(&fx, "both", UTIL_EINVAL,
			     "both source_profile and credential_source");
	expect_profile_error(&fx, "badsource", UTIL_EINVAL,
			     "unsupported credential_source 'Laptop'");
	expect_profile_error(&fx, "missing", UTIL_EINVAL,
			     "source_profile 'nowhere' does not exist");
	expect_profile_error(&fx, "mfa", UTIL_EINVAL, "mfa_serial");
	expect_profile_error(&fx, "longdur", UTIL_EINVAL, "duration_seconds");
	/* credential_source = Environment with nothing in it. */
	expect_profile_error(&fx, "fromenv", UTIL_ECREDS,
			     "credential_source Environment has no "
			     "credentials: AWS_ACCESS_KEY_ID not set");
	/* A profile with no credentials at all: next sources, then none. */
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=true");
	expect_profile_error(&fx, "empty", UTIL_ECREDS,
			     "profile: profile 'empty' has no credentials");
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_assume_role_credential_source_env(void **state)
{
	char *ok = sts_ok("AssumeRole", "ASIAFROMENV", "s", "t", T0 + 3600);
	const struct exch script[] = {
		{ "POST", "http://127.0.0.1:4566/", 200, ok },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const struct seen *s;

	(void)state;
	fx_init(&fx, script, 1);
	fx.cfg.region = NULL; /* the global endpoint signs for us-east-1 */
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "fromenv");
	fx_setenv(&fx, "AWS_ENDPOINT_URL=http://127.0.0.1:4566");
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_SESSION_TOKEN=envtoken");
	/* Chosen by AWS_PROFILE: the environment's keys win outright. */
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDENV", &err), 0);
	assert_string_equal(awsp_creds_source(c), "env");
	awsp_creds_free(c);
	assert_int_equal(fx.net.n_seen, 0);

	/* Named by --profile: env drops out and becomes the role's source. */
	fx.config->profile_from_cli = true;
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAFROMENV", &err), 0);
	assert_string_equal(awsp_creds_source(c),
			    "profile:fromenv (assume-role)");
	s = &fx.net.seen[0];
	assert_string_equal(seen_header(s, "Host"), "127.0.0.1:4566");
	assert_string_equal(seen_header(s, "X-Amz-Security-Token"), "envtoken");
	assert_non_null(strstr(seen_header(s, "Authorization"),
			       "/us-east-1/sts/aws4_request"));
	check_signed(s, "AKIDENV", "envsecret", "us-east-1");
	awsp_creds_free(c);

	/* With nothing in the environment the chain says why env was
	 * skipped, and the role's source fails. */
	fx.vars[1] = NULL;
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(strstr(err.msg, "credential_source Environment"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok);
}

/* --- static profiles ---------------------------------------------------- */

static void test_static_profiles(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_files(&fx,
		 "[profile dev]\n"
		 "aws_access_key_id = AKIDCONFIG\n"
		 "aws_secret_access_key = configsecret\n"
		 "[profile half]\n"
		 "aws_access_key_id = AKIDHALF\n"
		 "[profile proc]\n"
		 "credential_process = printf '{\"Version\": 1, "
		 "\"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": "
		 "\"procsecret\"}'\n"
		 "aws_access_key_id = AKIDCONFIGPROC\n"
		 "aws_secret_access_key = configsecret\n",
		 "[dev]\n"
		 "aws_access_key_id = AKIDCREDS\n"
		 "aws_secret_access_key = credssecret\n"
		 "aws_session_token = credstoken\n",
		 "dev");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	/* The credentials file wins over the config file. */
	assert_string_equal(cr.access_key_id, "AKIDCREDS");
	assert_string_equal(cr.secret_access_key, "credssecret");
	assert_string_equal(cr.session_token, "credstoken");
	assert_string_equal(awsp_creds_source(c), "profile:dev");
	awsp_credentials_release(&cr);
	awsp_creds_free(c);

	/* botocore: credential_process comes before the config file's keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("proc");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDPROC", &err), 0);
	assert_string_equal(awsp_creds_source(c), "credential-process");
	awsp_creds_free(c);

	free(fx.config->profile);
	fx.config->profile = util_xstrdup("half");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "no aws_secret_access_key"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

/* --- concurrency ----------------------------------------------------------- */

struct race {
	struct awsp_creds *c;
	const char *want;
	int failures;
	pthread_mutex_t lock;
};

static void race_get(void *ctx, size_t i)
{
	struct race *r = ctx;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)i;
	if (awsp_creds_get(r->c, &cr, &err) < 0 ||
	    strcmp(cr.access_key_id, r->want)) {
		pthread_mutex_lock(&r->lock);
		r->failures++;
		pthread_mutex_unlock(&r->lock);
	}
	awsp_credentials_release(&cr);
}

static void test_one_refresh_for_many_threads(void **state)
{
	char *ok1 = sts_ok("AssumeRole", "ASIAR1", "s1", "t1", T0 + 3600);
	char *ok2 = sts_ok("AssumeRole", "ASIAR2", "s2", "t2", T0 + 7200);
	char *ok3 = sts_ok("AssumeRole", "ASIAR3", "s3", "t3", T0 + 10800);
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok3 },
	};
	struct fixture fx;
	struct race r = { .failures = 0 };

	(void)state;
	fx_init(&fx, script, 3);
	fx.cfg.region = "eu-west-1";
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	r.c = fx_creds(&fx);
	fx.net.delay_ms = 50;
	pthread_mutex_init(&r.lock, NULL);
	/* First use from 8 threads at once: one STS call. */
	r.want = "ASIAR1";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(r.failures, 0);
	assert_int_equal(fx.net.n_seen, 1);
	/* Mandatory window: everyone waits for the one refresh. */
	tclock_set(&fx.clock, T0 + 3600 - 300);
	r.want = "ASIAR2";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(r.failures, 0);
	assert_int_equal(fx.net.n_seen, 2);
	/* Advisory window: at most one refresh, nobody fails. */
	tclock_set(&fx.clock, T0 + 7200 - 800);
	r.want = "ASIAR3";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(fx.net.n_seen, 3);
	/* Threads that did not wait may have seen ASIAR2 (still valid). */
	assert_true(r.failures < 64);
	awsp_creds_free(r.c);
	pthread_mutex_destroy(&r.lock);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok1);
	free(ok2);
	free(ok3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_partial_is_an_error),
		cmocka_unit_test(test_env_expiring_refresh),
		cmocka_unit_test(test_nothing_anywhere),
		cmocka_unit_test(test_assume_role_misconfigured),
		cmocka_unit_test(test_assume_role_credential_source_env),
		cmocka_unit_test(test_static_profiles),
		cmocka_unit_test(test_one_refresh_for_many_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
