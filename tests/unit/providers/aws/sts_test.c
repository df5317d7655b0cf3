/*
 * STS GetCallerIdentity (sts.c): the answer parsed into the identity, an
 * answer without Account or Arn refused with the caller's identity left
 * as it was, and the call: its request, and its failures leaving nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "providers/aws/ops.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"

#define ANSWER(result)                                                      \
	"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/" \
	"2011-06-15/\"><GetCallerIdentityResult>" result                    \
	"</GetCallerIdentityResult></GetCallerIdentityResponse>"

#define ARN "arn:aws:iam::111122223333:user/ci"

static int parse(const char *xml, struct prov_identity *id,
		 struct util_err *err)
{
	return awsp_sts_parse_caller_identity(xml, strlen(xml), id, err);
}

static void test_parse_replaces(void **state)
{
	struct prov_identity id = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	id.account = util_xstrdup("old");
	id.user_id = util_xstrdup("old-user");
	/* UserId is optional; what was in id goes (LeakSanitizer). */
	assert_int_equal(parse(ANSWER("<Account>111122223333</Account>"
				      "<Arn>" ARN "</Arn>"),
			       &id, &err),
			 0);
	assert_string_equal(id.account, "111122223333");
	assert_string_equal(id.arn, ARN);
	assert_null(id.user_id);
	prov_identity_release(&id);
}

static void expect_refused(const char *xml, int code)
{
	struct prov_identity id = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	id.account = util_xstrdup("keep");
	assert_int_equal(parse(xml, &id, &err), code);
	assert_string_equal(id.account, "keep");
	assert_null(id.arn);
	prov_identity_release(&id);
}

static void test_parse_refuses(void **state)
{
	(void)state;
	expect_refused(ANSWER("<Arn>" ARN "</Arn>"), UTIL_EINVAL);
	expect_refused(ANSWER("<Account>111122223333</Account>"), UTIL_EINVAL);
	expect_refused(ANSWER("<Account></Account><Arn>" ARN "</Arn>"),
		       UTIL_EINVAL);
	/* Another answer's root, and no XML at all. */
	expect_refused("<AssumeRoleResponse><GetCallerIdentityResult>"
		       "<Account>1</Account><Arn>a</Arn>"
		       "</GetCallerIdentityResult></AssumeRoleResponse>",
		       UTIL_EINVAL);
	expect_refused("not xml", UTIL_EINVAL);
}

static void test_parse_message(void **state)
{
	struct prov_identity id = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(parse(ANSWER("<UserId>u</UserId>"), &id, &err),
			 UTIL_EINVAL);
	assert_string_equal(
		err.msg, "GetCallerIdentity response without Account or Arn");
	/* Elements outside the result are not the identity. */
	util_err_clear(&err);
	assert_int_equal(parse("<GetCallerIdentityResponse><Account>1</Account>"
			       "<Arn>a</Arn></GetCallerIdentityResponse>",
			       &id, &err),
			 UTIL_EINVAL);
	assert_null(id.account);
}

static void test_call(void **state)
{
	struct test_env *e = *state;
	struct prov_identity id;
	struct util_err err = UTIL_ERR_INIT;

	script_push(&e->s, 200,
		    ANSWER("<Account>111122223333</Account><Arn>" ARN "</Arn>"
			   "<UserId>AIDAEXAMPLE</UserId>"));
	assert_int_equal(awsp_sts_caller_identity(e->c, &id, &err), 0);
	assert_string_equal(id.account, "111122223333");
	assert_string_equal(id.arn, ARN);
	assert_string_equal(id.user_id, "AIDAEXAMPLE");
	prov_identity_release(&id);
	assert_string_equal(e->s.reqs[0].url,
			    "https://sts.us-east-1.amazonaws.com/");
	assert_string_equal(e->s.reqs[0].body,
			    "Action=GetCallerIdentity&Version=2011-06-15");
	/* Signed for STS. */
	assert_non_null(strstr(e->s.reqs[0].headers, "/sts/aws4_request"));
}

static void test_call_bad_answer(void **state)
{
	struct test_env *e = *state;
	struct prov_identity id;
	struct util_err err = UTIL_ERR_INIT;

	/* A 200 that says nothing: an error, named, and id left empty. */
	script_push(&e->s, 200, ANSWER("<Arn>" ARN "</Arn>"));
	assert_int_equal(awsp_sts_caller_identity(e->c, &id, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "sts GetCallerIdentity"));
	assert_null(id.account);
	assert_null(id.arn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_replaces),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_message),
		cmocka_unit_test_setup_teardown(test_call, test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_call_bad_answer,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
