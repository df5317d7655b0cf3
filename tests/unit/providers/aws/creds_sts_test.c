#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "providers/aws/creds.h"
#include "providers/aws/creds_internal.h"
#include "tests/unit/support/creds_testutil.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * The STS sources of creds_sts.c through the credential chain: web
 * identity and assume role (requests, signatures, refresh), and the
 * parser of STS responses.
 */

static const char STS_ERROR[] =
	"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	"<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
	"<Message>token rejected</Message></Error>"
	"<RequestId>rid-err</RequestId></ErrorResponse>";

/* --- web identity -------------------------------------------------------- */

static void test_web_identity_and_refresh(void **state)
{
	time_t exp1 = T0 + 3600, exp2 = T0 + 7200;
	char *ok1 = sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB1",
			   "websecret1", "webtoken1", exp1);
	char *ok2 = sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB2",
			   "websecret2", "webtoken2", exp2);
	const struct exch script[] = {
		{ "POST", "http://sts.local:4566/", 200, ok1 },
		/* advisory: fails, the current keys stay */
		{ "POST", "http://sts.local:4566/", 400, STS_ERROR },
		/* mandatory: fails, the caller gets the error */
		{ "POST", "http://sts.local:4566/", 0, NULL },
		{ "POST", "http://sts.local:4566/", 200, ok2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v;
	const char *files[] = { "token", NULL };

	(void)state;
	fx_init(&fx, script, 4);
	tokfile = fx_write(&fx, "token", "oidc-token-1");
	v = util_xasprintf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", tokfile);
	fx_setenv(&fx, v);
	fx_setenv(&fx, "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/ci");
	fx_setenv(&fx, "AWS_ROLE_SESSION_NAME=gha run");
	fx_setenv(&fx, "AWS_ENDPOINT_URL_STS=http://sts.local:4566/");
	fx_setenv(&fx, "AWS_ENDPOINT_URL_EC2=http://wrong.local");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIAWEB1");
	assert_string_equal(cr.secret_access_key, "websecret1");
	assert_string_equal(cr.session_token, "webtoken1");
	assert_string_equal(cr.account_id, "111122223333");
	assert_int_equal(cr.expiration, exp1);
	awsp_credentials_release(&cr);
	assert_string_equal(awsp_creds_source(c), "web-identity");
	/* Unsigned, form-encoded, marked sensitive. */
	assert_null(seen_header(&fx.net.seen[0], "Authorization"));
	assert_string_equal(seen_header(&fx.net.seen[0], "Host"),
			    "sts.local:4566");
	assert_true(fx.net.seen[0].sensitive);
	assert_string_equal(
		fx.net.seen[0].body.buf,
		"Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fci"
		"&RoleSessionName=gha+run"
		"&WebIdentityToken=oidc-token-1");

	/* 16 minutes left: still fresh, nothing sent. */
	tclock_set(&fx.clock, exp1 - 960);
	assert_int_equal(get_akid(c, "ASIAWEB1", &err), 0);
	assert_int_equal(fx.net.n_seen, 1);

	/* The token file is re-read on refresh. */
	unlink(tokfile);
	free(fx_write(&fx, "token", "oidc-token-2"));

	/* Advisory window (14 min left): a failed refresh keeps the keys. */
	tclock_set(&fx.clock, exp1 - 840);
	assert_int_equal(get_akid(c, "ASIAWEB1", &err), 0);
	assert_false(util_err_isset(&err));
	assert_int_equal(fx.net.n_seen, 2);
	assert_non_null(strstr(fx.net.seen[1].body.buf,
			       "WebIdentityToken=oidc-token-2"));

	/* Mandatory window (9 min left): it must succeed. */
	tclock_set(&fx.clock, exp1 - 540);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ETRANSPORT);
	assert_non_null(
		strstr(err.msg, "refresh credentials from web-identity"));
	no_secret(&err, "oidc-token");
	util_err_clear(&err);
	assert_int_equal(get_akid(c, "ASIAWEB2", &err), 0);
	assert_int_equal(fx.net.n_seen, 4);
	/* And the new ones are fresh again. */
	assert_int_equal(get_akid(c, "ASIAWEB2", &err), 0);
	assert_int_equal(fx.net.n_seen, 4);
	assert_string_equal(awsp_creds_source(c), "web-identity");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(tokfile);
	free(v);
	free(ok1);
	free(ok2);
}

static void test_web_identity_errors(void **state)
{
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 400,
		  STS_ERROR },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v;
	const char *files[] = { "token", NULL };

	(void)state;
	fx_init(&fx, script, 1);
	fx.cfg.region = "eu-west-1";
	tokfile = fx_write(&fx, "token", "secret-oidc-token");
	v = util_xasprintf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", tokfile);
	fx_setenv(&fx, v);
	/* A token without a role. */
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "AWS_ROLE_ARN"));
	util_err_clear(&err);
	awsp_creds_free(c);
	/* STS says no: the chain stops there, with STS's code. */
	fx_setenv(&fx, "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/ci");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EAWS);
	assert_string_equal(err.aws_code, "InvalidIdentityToken");
	assert_string_equal(err.request_id, "rid-err");
	assert_int_equal(err.http_status, 400);
	assert_non_null(strstr(err.msg, "credentials from web-identity"));
	no_secret(&err, "secret-oidc-token");
	util_err_clear(&err);
	/* The session name defaults to moor-session-<epoch>. */
	assert_non_null(strstr(fx.net.seen[0].body.buf,
			       "RoleSessionName=moor-session-1767225600&"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(tokfile);
	free(v);
}

/* --- assume role --------------------------------------------------------- */

static void test_assume_role_source_profile(void **state)
{
	char *ok1 = sts_ok("AssumeRole", "ASIAROLE1", "rolesecret1",
			   "roletoken1", T0 + 1800);
	char *ok2 = sts_ok("AssumeRole", "ASIAROLE2", "rolesecret2",
			   "roletoken2", T0 + 3600);
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		/* chained: dev first, then chained with dev's keys */
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
		/* self-sourced */
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const struct seen *s;

	(void)state;
	fx_init(&fx, script, 4);
	fx.cfg.region = "eu-west-1";
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE1", &err), 0);
	assert_string_equal(awsp_creds_source(c), "profile:dev (assume-role)");
	s = &fx.net.seen[0];
	assert_string_equal(s->body.buf,
			    "Action=AssumeRole&Version=2011-06-15"
			    "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole"
			    "%2Fdeploy&RoleSessionName=moor-ci"
			    "&ExternalId=ext-42&DurationSeconds=1800");
	assert_string_equal(seen_header(s, "X-Amz-Date"), "20260101T000000Z");
	assert_string_equal(seen_header(s, "Host"),
			    "sts.eu-west-1.amazonaws.com");
	assert_null(seen_header(s, "X-Amz-Security-Token"));
	assert_true(s->sensitive);
	assert_non_null(strstr(seen_header(s, "Authorization"),
			       "Credential=AKIDBASE/20260101/eu-west-1/sts/"
			       "aws4_request, SignedHeaders=content-type;host;"
			       "x-amz-date, Signature="));
	check_signed(s, "AKIDBASE", "basesecret", "eu-west-1");
	awsp_creds_free(c);

	/* A role whose source is another role: signed with the temp keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("chained");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE2", &err), 0);
	assert_string_equal(awsp_creds_source(c),
			    "profile:chained (assume-role)");
	s = &fx.net.seen[2];
	assert_string_equal(seen_header(s, "X-Amz-Security-Token"),
			    "roletoken1");
	assert_non_null(strstr(s->body.buf, "role%2Fsecond"));
	assert_non_null(strstr(s->body.buf, "RoleSessionName=moor-session-"));
	check_signed(s, "ASIAROLE1", "rolesecret1", "eu-west-1");
	awsp_creds_free(c);

	/* A profile that is its own source uses its static keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("self");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE2", &err), 0);
	check_signed(&fx.net.seen[3], "AKIDSELF", "selfsecret", "eu-west-1");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok1);
	free(ok2);
}

/* --- the response ------------------------------------------------------- */

static void test_sts_parse(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	static const char doctype[] =
		"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
	static const char incomplete[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult>"
		"</AssumeRoleResponse>";

	(void)state;
	assert_int_equal(awsp_credsrc_parse_sts(200, doctype,
						sizeof(doctype) - 1, NULL, &cr,
						&err),
			 UTIL_EAWS);
	util_err_clear(&err);
	assert_int_equal(awsp_credsrc_parse_sts(200, incomplete,
						sizeof(incomplete) - 1, NULL,
						&cr, &err),
			 UTIL_EAWS);
	util_err_clear(&err);
	/* An error body we cannot read still gives the status. */
	assert_int_equal(awsp_credsrc_parse_sts(503, "oops", 4, "hdr-rid", &cr,
						&err),
			 UTIL_EAWS);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.request_id, "hdr-rid");
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	util_err_clear(&err);
	assert_int_equal(awsp_credsrc_parse_sts(400, STS_ERROR,
						sizeof(STS_ERROR) - 1, NULL,
						&cr, &err),
			 UTIL_EAWS);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_string_equal(err.msg, "token rejected");
	assert_null(cr.access_key_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_web_identity_and_refresh),
		cmocka_unit_test(test_web_identity_errors),
		cmocka_unit_test(test_assume_role_source_profile),
		cmocka_unit_test(test_sts_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
