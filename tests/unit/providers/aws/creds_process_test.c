#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/creds.h"
#include "providers/aws/creds_internal.h"
#include "tests/unit/support/creds_testutil.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * credential_process (creds_process.c): the helper's output, failures,
 * inherited descriptors, and refresh through the credential chain.
 */

static int run_process(const char *cmd, long timeout_ms,
		       struct awsp_credentials *out, struct util_err *err)
{
	util_err_clear(err);
	awsp_credentials_release(out);
	return awsp_credsrc_process(cmd, timeout_ms, out, err);
}

static void test_credential_process(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(
		run_process("echo '{\"Version\":1,\"AccessKeyId\":\"AKIDP\","
			    "\"SecretAccessKey\":\"psecret\",\"SessionToken\":"
			    "\"ptoken\",\"Expiration\":\"2026-01-01T01:00:00Z"
			    "\",\"AccountId\":\"123\"}'; echo '(expected) "
			    "helper stderr is not parsed' >&2",
			    0, &cr, &err),
		0);
	assert_string_equal(cr.access_key_id, "AKIDP");
	assert_string_equal(cr.secret_access_key, "psecret");
	assert_string_equal(cr.session_token, "ptoken");
	assert_string_equal(cr.account_id, "123");
	assert_int_equal(cr.expiration, T0 + 3600);

	/* Failures: status, signal, JSON, Version, missing keys, timeout,
	 * size; none quotes the command or its output. */
	assert_int_equal(run_process("echo '{\"SecretAccessKey\":\"leaked\"}'; "
				     "exit 3",
				     0, &cr, &err),
			 UTIL_EFAIL);
	assert_non_null(strstr(err.msg, "exited with status 3"));
	no_secret(&err, "leaked");
	assert_int_equal(run_process("kill -9 $$", 0, &cr, &err), UTIL_EFAIL);
	assert_non_null(strstr(err.msg, "killed by signal 9"));
	assert_int_equal(run_process("echo not json", 0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("echo '{\"Version\":2,\"AccessKeyId\":"
				     "\"A\",\"SecretAccessKey\":\"leaked\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "Version"));
	no_secret(&err, "leaked");
	assert_int_equal(run_process("echo '{\"Version\":1,\"AccessKeyId\":"
				     "\"A\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("echo '{\"Version\":1,\"AccessKeyId\":"
				     "\"A\",\"SecretAccessKey\":\"S\","
				     "\"Expiration\":\"soon\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("exec sleep 30", 200, &cr, &err),
			 UTIL_ETIMEOUT);
	assert_int_equal(run_process("head -c 100000 /dev/zero", 0, &cr, &err),
			 UTIL_ELIMIT);
	assert_int_equal(run_process("exec 2>/dev/null; /nonexistent/helper "
				     "--secret-arg",
				     0, &cr, &err),
			 UTIL_EFAIL);
	no_secret(&err, "--secret-arg");
	awsp_credentials_release(&cr);
}

/* The helper inherits stdin, stdout (the pipe) and stderr, nothing else. */
static void test_credential_process_inherits_no_fds(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	/* Deliberately without O_CLOEXEC, as a careless library would. */
	int leaky = open("/dev/null", O_RDONLY);
	char *cmd;

	(void)state;
	assert_true(leaky > STDERR_FILENO);
	cmd = util_xasprintf("[ -e /proc/$$/fd/%d ] && exit 7; "
			     "echo '{\"Version\":1,\"AccessKeyId\":\"A\","
			     "\"SecretAccessKey\":\"S\"}'",
			     leaky);
	assert_int_equal(run_process(cmd, 0, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "A");
	free(cmd);
	close(leaky);
	awsp_credentials_release(&cr);
}

static void test_credential_process_refresh(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *script_path, *config;
	const char *files[] = { "helper.sh", "n", NULL };

	(void)state;
	fx_init(&fx, NULL, 0);
	/* Each run prints the next key; the first expires in an hour. */
	script_path = fx_write(
		&fx, "helper.sh",
		"n=$(cat \"$(dirname \"$0\")/n\" 2>/dev/null || echo 0)\n"
		"n=$((n + 1)); echo $n > \"$(dirname \"$0\")/n\"\n"
		"printf '{\"Version\":1,\"AccessKeyId\":\"AKIDRUN%s\","
		"\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\","
		"\"Expiration\":\"2026-01-01T0%s:00:00Z\"}' $n $n\n");
	config = util_xasprintf("[default]\ncredential_process = sh %s\n",
				script_path);
	fx_files(&fx, config, "", "default");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDRUN1", &err), 0);
	assert_int_equal(get_akid(c, "AKIDRUN1", &err), 0);
	tclock_set(&fx.clock, T0 + 3600 - 300);
	assert_int_equal(get_akid(c, "AKIDRUN2", &err), 0);
	assert_string_equal(awsp_creds_source(c), "credential-process");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(script_path);
	free(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credential_process),
		cmocka_unit_test(test_credential_process_inherits_no_fds),
		cmocka_unit_test(test_credential_process_refresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
