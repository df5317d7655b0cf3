#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/aws/creds.h"
#include "providers/aws/creds_internal.h"
#include "providers/aws/env.h"
#include "tests/unit/support/creds_testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * The metadata sources of creds_metadata.c: container credentials (ECS,
 * EKS Pod Identity) and IMDS (v2, the v1 fallback, refresh, the region).
 */

/* --- container ----------------------------------------------------------- */

static const char CONTAINER_JSON[] =
	"{\"AccessKeyId\":\"ASIACONT\",\"SecretAccessKey\":\"contsecret\","
	"\"Token\":\"conttoken\",\"Expiration\":\"2026-01-01T06:00:00Z\","
	"\"AccountId\":\"444455556666\"}";

static void test_container(void **state)
{
	const struct exch script[] = {
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 0, NULL },
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 500, "" },
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 200,
		  CONTAINER_JSON },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 3);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/"
		       "credentials/abc");
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://ignored/");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIACONT");
	assert_string_equal(cr.session_token, "conttoken");
	assert_string_equal(cr.account_id, "444455556666");
	assert_int_equal(cr.expiration, T0 + 6 * 3600);
	assert_string_equal(awsp_creds_source(c), "container");
	/* Three attempts, a second apart, as botocore. */
	assert_int_equal(fx.clock.slept_ms, 2000);
	assert_string_equal(seen_header(&fx.net.seen[0], "Accept"),
			    "application/json");
	assert_null(seen_header(&fx.net.seen[0], "Authorization"));
	assert_int_equal(fx.net.seen[0].timeout_ms, 2000);
	awsp_credentials_release(&cr);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_container_full_uri_and_token(void **state)
{
	const struct exch script[] = {
		{ "GET", "http://127.0.0.1:4566/_fakeaws/container-credentials",
		  200, CONTAINER_JSON },
		{ "GET", "http://localhost:9/creds", 200, CONTAINER_JSON },
		{ "GET", "https://creds.example/x", 401, "{}" },
		{ "GET", "https://creds.example/x", 401, "{}" },
		{ "GET", "https://creds.example/x", 401, "{}" },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v, *tokfile2, *v2;
	const char *files[] = { "token", "badtoken", NULL };

	(void)state;
	fx_init(&fx, script, 5);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"
		       "4566/_fakeaws/container-credentials");
	fx_setenv(&fx, "AWS_CONTAINER_AUTHORIZATION_TOKEN=envtoken");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIACONT", &err), 0);
	assert_string_equal(seen_header(&fx.net.seen[0], "Authorization"),
			    "envtoken");
	awsp_creds_free(c);

	/* The token file wins over the variable. */
	tokfile = fx_write(&fx, "token", "filetoken");
	v = util_xasprintf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
			   tokfile);
	fx_setenv(&fx, v);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://localhost:"
		       "9/creds");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIACONT", &err), 0);
	assert_string_equal(seen_header(&fx.net.seen[1], "Authorization"),
			    "filetoken");
	awsp_creds_free(c);

	/* https is always allowed; a 401 three times is an error. */
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=https://"
		       "creds.example/x");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EAWS);
	assert_non_null(strstr(err.msg, "credentials from container: "
					"container credentials from "
					"creds.example: HTTP 401"));
	no_secret(&err, "filetoken");
	util_err_clear(&err);
	awsp_creds_free(c);

	/* Plain http to anything but loopback or the ECS/EKS addresses. */
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://10.0.0.1/x");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "must be https"));
	util_err_clear(&err);
	awsp_creds_free(c);
	for (const char *const *ok =
		     (const char *const[]){ "http://127.1.2.3:80/",
					    "http://[::1]:8080/x",
					    "http://169.254.170.23/v1",
					    "http://[fd00:ec2::23]/",
					    "http://LOCALHOST/", NULL };
	     *ok; ok++) {
		struct buf why = BUF_INIT;
		struct awsp_credentials cr = { 0 };
		const char *vars[] = { NULL, NULL };
		struct awsp_env env = { awsp_env_table_get, vars };
		struct awsp_creds_config cfg = fx.cfg;
		char *assign =
			util_xasprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI=%s",
				       *ok);

		/* Allowed: it gets as far as the (unscripted) request. */
		vars[0] = assign;
		cfg.env = &env;
		assert_int_equal(awsp_credsrc_container(&cfg, &cr, &why, &err),
				 UTIL_ETRANSPORT);
		util_err_clear(&err);
		buf_release(&why);
		free(assign);
	}
	fx.net.problem[0] = '\0';
	fx.net.next = fx.net.n;

	/* A header value may not break the line. */
	tokfile2 = fx_write(&fx, "badtoken", "line1\nline2");
	v2 = util_xasprintf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
			    tokfile2);
	fx_setenv(&fx, v2);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=https://x/");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "line break"));
	no_secret(&err, "line1");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(v);
	free(tokfile);
	free(v2);
	free(tokfile2);
}

/* --- IMDS ---------------------------------------------------------------- */

#define IMDS	  "http://169.254.169.254"
#define ROLE_PATH IMDS "/latest/meta-data/iam/security-credentials/"

static char *imds_json(const char *akid, time_t exp)
{
	char when[32];

	util_time_iso8601(exp, when, sizeof(when));
	return util_xasprintf(
		"{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-01T00:00:"
		"00Z\","
		"\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
		"\"SecretAccessKey\":\"imdssecret\",\"Token\":\"imdstoken\","
		"\"Expiration\":\"%s\"}",
		akid, when);
}

static void test_imds_v2_and_refresh(void **state)
{
	char *j1 = imds_json("ASIAIMDS1", T0 + 6 * 3600);
	char *j2 = imds_json("ASIAIMDS2", T0 + 12 * 3600);
	const struct exch script[] = {
		{ "PUT", IMDS "/latest/api/token", 200, "imds-session-token" },
		{ "GET", ROLE_PATH, 200, "moor-instance-role\n" },
		{ "GET", ROLE_PATH "moor-instance-role", 200, j1 },
		/* advisory refresh */
		{ "PUT", IMDS "/latest/api/token", 200, "imds-session-token2" },
		{ "GET", ROLE_PATH, 200, "moor-instance-role" },
		{ "GET", ROLE_PATH "moor-instance-role", 200, j2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 6);
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAIMDS1", &err), 0);
	assert_string_equal(awsp_creds_source(c), "imds");
	assert_string_equal(seen_header(&fx.net.seen[0],
					"x-aws-ec2-metadata-token-ttl-seconds"),
			    "21600");
	assert_string_equal(seen_header(&fx.net.seen[1],
					"x-aws-ec2-metadata-token"),
			    "imds-session-token");
	assert_string_equal(seen_header(&fx.net.seen[2],
					"x-aws-ec2-metadata-token"),
			    "imds-session-token");
	assert_int_equal(fx.net.seen[2].timeout_ms, 1000);
	/* Weeks of a daemon: the keys roll over as they near expiry. */
	tclock_set(&fx.clock, T0 + 6 * 3600 - 800);
	assert_int_equal(get_akid(c, "ASIAIMDS2", &err), 0);
	tclock_set(&fx.clock, T0 + 12 * 3600 - 1000);
	assert_int_equal(get_akid(c, "ASIAIMDS2", &err), 0);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(j1);
	free(j2);
}

static void test_imds_fallbacks(void **state)
{
	char *j = imds_json("ASIAV1", T0 + 6 * 3600);
	char *stale = imds_json("ASIASTALE", T0 + 60);
	const struct exch script[] = {
		/* 1. IMDSv1: the token PUT answers 405 */
		{ "PUT", "http://[fd00:ec2::254]/latest/api/token", 405, "" },
		{ "GET",
		  "http://[fd00:ec2::254]/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://[fd00:ec2::254]/latest/meta-data/iam/"
		  "security-credentials/r",
		  200, j },
		/* 2. v1 disabled and 403 for the token: no credentials */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 403, "" },
		/* 3. 400 for the token: no credentials */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 400, "" },
		/* 4. the role does not trust EC2 */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/r",
		  200,
		  "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":"
		  "\"EC2 cannot assume the role\"}" },
		/* 5. no role attached */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  404, "" },
		/* 6. stale credentials are extended, as botocore does */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/r",
		  200, stale },
	};
	struct fixture fx;
	struct awsp_credentials cr = { 0 };
	struct buf why = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 13);
	fx_setenv(&fx, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIAV1");
	assert_null(seen_header(&fx.net.seen[1], "x-aws-ec2-metadata-token"));
	awsp_credentials_release(&cr);

	fx_setenv(&fx, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/");
	fx_setenv(&fx, "AWS_EC2_METADATA_V1_DISABLED=true");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "no IMDSv2 token and IMDSv1 is disabled");
	buf_reset(&why);
	fx_setenv(&fx, "AWS_EC2_METADATA_V1_DISABLED=false");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "token request rejected (HTTP 400)");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "role 'r': AssumeRoleUnauthorizedAccess");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "instance role: HTTP 404");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIASTALE");
	assert_true(cr.expiration >= T0 + 600 + 120);
	assert_true(cr.expiration <= T0 + 600 + 600);
	awsp_credentials_release(&cr);
	assert_false(util_err_isset(&err));

	/* A bad timeout setting is an error, not "no credentials". */
	fx_setenv(&fx, "AWS_METADATA_SERVICE_TIMEOUT=soon");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_EINVAL);
	buf_release(&why);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(j);
	free(stale);
}

static void test_imds_region(void **state)
{
	const struct exch script[] = {
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET", "http://127.0.0.1:9/latest/meta-data/placement/region",
		  200, "eu-north-1" },
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 0, NULL },
		{ "GET", "http://127.0.0.1:9/latest/meta-data/placement/region",
		  0, NULL },
	};
	struct fixture fx;
	struct util_err err = UTIL_ERR_INIT;
	char *region = NULL;

	(void)state;
	fx_init(&fx, script, 4);
	fx_files(&fx,
		 "[default]\nec2_metadata_service_endpoint = "
		 "http://127.0.0.1:9\n",
		 "", "default");
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err), 0);
	assert_string_equal(region, "eu-north-1");
	free(region);
	region = NULL;
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err),
			 UTIL_ENOTFOUND);
	assert_null(region);
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=true");
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err),
			 UTIL_ENOTFOUND);
	assert_false(util_err_isset(&err));
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_container_full_uri_and_token),
		cmocka_unit_test(test_imds_v2_and_refresh),
		cmocka_unit_test(test_imds_fallbacks),
		cmocka_unit_test(test_imds_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
