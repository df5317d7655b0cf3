#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "providers/aws/awsconfig.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

/*
 * Expected values below were produced by Debian's botocore 1.29.27
 * (botocore.configloader.raw_config_parse / load_config) on the same text.
 */

static struct awsp_ini *parse_ok(const char *text)
{
	struct awsp_ini *ini = NULL;
	struct util_err err = UTIL_ERR_INIT;

	if (awsp_ini_parse(text, strlen(text), "t.ini", &ini, &err) < 0)
		fail_msg("parse failed: %s", err.msg);
	return ini;
}

static void test_botocore_parity(void **state)
{
	static const char text[] = "# c\n"
				   "[default]\n"
				   "Region = us-east-1 # inline\n"
				   "x: y ; z\n"
				   "endpoint_url=http://a\n"
				   "[profile   dev]\n"
				   "region = eu-west-1\n"
				   "services = loc\n"
				   "[profile \"my dev\"]\n"
				   "a=b\n"
				   "[services loc]\n"
				   "ec2 =\n"
				   "  endpoint_url = http://127.0.0.1:4566\n"
				   "  ; indented comment\n"
				   "  other = x\n"
				   "\n"
				   "sts=\n"
				   "   endpoint_url = http://s\n"
				   "[profile default]\n"
				   "region = zz\n";
	struct awsp_ini *ini = parse_ok(text);

	(void)state;
	/* No inline comments; keys lowercased. */
	assert_string_equal(awsp_ini_get(ini, "default", "region"),
			    "us-east-1 # inline");
	assert_string_equal(awsp_ini_get(ini, "default", "x"), "y ; z");
	assert_string_equal(awsp_ini_get(ini, "default", "endpoint_url"),
			    "http://a");
	assert_null(awsp_ini_get(ini, "default", "Region"));
	assert_true(awsp_ini_has_section(ini, "profile   dev"));
	assert_false(awsp_ini_has_section(ini, "profile dev"));
	assert_string_equal(awsp_ini_get(ini, "profile \"my dev\"", "a"), "b");
	assert_string_equal(awsp_ini_get_nested(ini, "services loc", "ec2",
						"endpoint_url"),
			    "http://127.0.0.1:4566");
	assert_string_equal(awsp_ini_get_nested(ini, "services loc", "ec2",
						"other"),
			    "x");
	assert_string_equal(awsp_ini_get_nested(ini, "services loc", "sts",
						"endpoint_url"),
			    "http://s");
	/* A nested value is not a plain one. */
	assert_null(awsp_ini_get(ini, "services loc", "ec2"));
	assert_null(awsp_ini_get_nested(ini, "default", "region", "x"));
	assert_null(awsp_ini_get(ini, "nope", "region"));
	awsp_ini_free(ini);
}

static void test_continuations_and_newlines(void **state)
{
	static const char text[] = "[default]\r\n"
				   "region = a\r\n"
				   "[profile  \"x y\"]\r\n"
				   "k = 1\r\n"
				   "  continued\r\n"
				   "\r\n"
				   "  more\r\n"
				   "[profile 'q']\r"
				   "k=2\n"
				   "[services s]\n"
				   "EC2 =\n"
				   "  Endpoint_URL = http://e\n"
				   "  endpoint_url = http://f\n"
				   "  endpoint_url = http://g\n"
				   "Key:val=ue\n"
				   "empty =\n"
				   "\n"
				   "last = 1\n";
	struct awsp_ini *ini = parse_ok(text);

	(void)state;
	assert_string_equal(awsp_ini_get(ini, "default", "region"), "a");
	assert_string_equal(awsp_ini_get(ini, "profile  \"x y\"", "k"),
			    "1\ncontinued\n\nmore");
	assert_string_equal(awsp_ini_get(ini, "profile 'q'", "k"), "2");
	/* Sub-keys keep their case; a repeated one: the last wins. */
	assert_string_equal(awsp_ini_get_nested(ini, "services s", "ec2",
						"Endpoint_URL"),
			    "http://e");
	assert_string_equal(awsp_ini_get_nested(ini, "services s", "ec2",
						"endpoint_url"),
			    "http://g");
	assert_string_equal(awsp_ini_get(ini, "services s", "key"), "val=ue");
	assert_string_equal(awsp_ini_get(ini, "services s", "empty"), "");
	assert_string_equal(awsp_ini_get(ini, "services s", "last"), "1");
	awsp_ini_free(ini);
}

static void expect_parse_error_len(const char *text, size_t len, unsigned line,
				   const char *needle)
{
	struct awsp_ini *ini = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct buf msg = BUF_INIT;

	assert_int_equal(awsp_ini_parse(text, len, "cfg", &ini, &err),
			 UTIL_EINVAL);
	assert_null(ini);
	assert_string_equal(err.path, "cfg");
	assert_int_equal(err.line, line);
	util_err_format(&err, &msg);
	if (!strstr(msg.buf, needle))
		fail_msg("'%s' lacks '%s'", msg.buf, needle);
	/* Lines are never quoted: they may hold a secret. */
	assert_null(strstr(msg.buf, "SECRET"));
	buf_release(&msg);
}

static void expect_parse_error(const char *text, unsigned line,
			       const char *needle)
{
	expect_parse_error_len(text, strlen(text), line, needle);
}

static void test_errors_like_botocore(void **state)
{
	(void)state;
	expect_parse_error("[a]\nk=1\n[a]\n", 3, "section [a] appears twice");
	expect_parse_error("[a]\nk=1\nK=2\n", 3, "'k' set twice");
	expect_parse_error("k=1\n", 1, "outside of any [section]");
	expect_parse_error("[a]\nx=1\naws_secret_access_key SECRET\n", 3,
			   "not 'name = value'");
	expect_parse_error("[a]\n= SECRET\n", 2, "without a name");
	expect_parse_error("[a]\nec2 =\n  SECRET\n", 2,
			   "nested value of 'ec2'");
	expect_parse_error("[a]\n[]\n", 2, "not 'name = value'");
	expect_parse_error_len("[a]\nk=1\0\n", 8, 2, "NUL");
}

static char *write_temp(const char *dir, const char *name, const char *text)
{
	char *path = util_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *t)
{
	assert_true(snprintf(t->path, sizeof(t->path),
			     "/tmp/moor-awsconfig-XXXXXX") > 0);
	assert_non_null(mkdtemp(t->path));
}

static void tmpdir_rm(struct tmpdir *t, const char *const *files)
{
	for (; *files; files++) {
		char *p = util_xasprintf("%s/%s", t->path, *files);

		if (unlink(p) < 0)
			assert_int_equal(rmdir(p), 0);
		free(p);
	}
	assert_int_equal(rmdir(t->path), 0);
}

static const char CONFIG[] = "[default]\n"
			     "region = us-west-2\n"
			     "[profile dev]\n"
			     "region = eu-west-1\n"
			     "aws_access_key_id = AKIDCONFIG\n"
			     "output = json\n"
			     "services = local\n"
			     "[profile \"other one\"]\n"
			     "region = ap-south-1\n"
			     "[services local]\n"
			     "ec2 =\n"
			     "  endpoint_url = http://127.0.0.1:4566\n"
			     "elastic_load_balancing_v2 =\n"
			     "  endpoint_url = http://127.0.0.1:4567\n"
			     "[sso-session dev]\n"
			     "region = nope\n";

static const char CREDENTIALS[] = "[dev]\n"
				  "aws_access_key_id = AKIDCREDS\n"
				  "aws_secret_access_key = s3cret\n"
				  "[profile dev]\n"
				  "region = never\n"
				  "[creds-only]\n"
				  "aws_access_key_id = AKIDONLY\n";

static void test_config_load_profiles(void **state)
{
	struct tmpdir t;
	char *cfg, *creds, *v1, *v2;
	const char *vars[4] = { NULL, NULL, "AWS_PROFILE=dev", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };
	struct awsp_config *c = NULL;
	struct util_err err = UTIL_ERR_INIT;
	const char *files[] = { "config", "credentials", NULL };

	(void)state;
	tmpdir_make(&t);
	cfg = write_temp(t.path, "config", CONFIG);
	creds = write_temp(t.path, "credentials", CREDENTIALS);
	vars[0] = v1 = util_xasprintf("AWS_CONFIG_FILE=%s", cfg);
	vars[1] = v2 = util_xasprintf("AWS_SHARED_CREDENTIALS_FILE=%s", creds);

	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), 0);
	assert_string_equal(c->profile, "dev");
	assert_true(c->profile_explicit);
	assert_false(c->profile_from_cli);
	assert_string_equal(c->config_path, cfg);
	/* The credentials file wins for the same profile. */
	assert_string_equal(awsp_profile_get(c, NULL, "aws_access_key_id"),
			    "AKIDCREDS");
	assert_string_equal(awsp_profile_get(c, NULL, "aws_secret_access_key"),
			    "s3cret");
	/* Keys only in config still come from config; and [profile dev] in
	 * the credentials file is a profile named "profile dev". */
	assert_string_equal(awsp_profile_get(c, NULL, "region"), "eu-west-1");
	assert_string_equal(awsp_profile_get(c, "profile dev", "region"),
			    "never");
	assert_string_equal(awsp_profile_get(c, "default", "region"),
			    "us-west-2");
	assert_string_equal(awsp_profile_get(c, "other one", "region"),
			    "ap-south-1");
	assert_null(awsp_profile_get(c, "default", "aws_access_key_id"));
	assert_true(awsp_profile_exists(c, "creds-only"));
	assert_true(awsp_profile_exists(c, "other one"));
	assert_false(awsp_profile_exists(c, "local"));
	assert_false(awsp_profile_exists(c, "sso-session dev"));
	assert_string_equal(awsp_profile_service_endpoint(c, NULL, "ec2"),
			    "http://127.0.0.1:4566");
	assert_string_equal(awsp_profile_service_endpoint(
				    c, "dev", "elastic_load_balancing_v2"),
			    "http://127.0.0.1:4567");
	assert_null(awsp_profile_service_endpoint(c, NULL, "sts"));
	assert_null(awsp_profile_service_endpoint(c, "default", "ec2"));
	awsp_config_free(c);
	c = NULL;

	/* The explicit argument beats AWS_PROFILE. */
	assert_int_equal(awsp_config_load(&env, "creds-only", &c, &err), 0);
	assert_true(c->profile_from_cli);
	assert_string_equal(awsp_profile_get(c, NULL, "aws_access_key_id"),
			    "AKIDONLY");
	assert_null(awsp_profile_get(c, NULL, "region"));
	awsp_config_free(c);
	c = NULL;

	/* A named profile that exists nowhere: botocore's ProfileNotFound. */
	assert_int_equal(awsp_config_load(&env, "ghost", &c, &err),
			 UTIL_ENOTFOUND);
	assert_null(c);
	assert_non_null(strstr(err.msg, "profile 'ghost' not found"));
	util_err_clear(&err);

	/* No profile named: "default", not explicit. */
	vars[2] = NULL;
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), 0);
	assert_string_equal(c->profile, "default");
	assert_false(c->profile_explicit);
	assert_string_equal(awsp_profile_get(c, NULL, "region"), "us-west-2");
	awsp_config_free(c);
	awsp_config_free(NULL);

	tmpdir_rm(&t, files);
	free(cfg);
	free(creds);
	free(v1);
	free(v2);
}

static void test_config_default_paths_and_errors(void **state)
{
	struct tmpdir t;
	char *home, *aws, *cfg;
	const char *vars[4] = { NULL, "AWS_DEFAULT_PROFILE=dev", NULL, NULL };
	struct awsp_env env = { awsp_env_table_get, vars };
	struct awsp_config *c = NULL;
	struct util_err err = UTIL_ERR_INIT;
	const char *files[] = { ".aws/config", ".aws", NULL };

	(void)state;
	tmpdir_make(&t);
	home = util_xasprintf("HOME=%s", t.path);
	aws = util_xasprintf("%s/.aws", t.path);
	assert_int_equal(mkdir(aws, 0700), 0);
	cfg = write_temp(aws, "config", "[profile dev]\nregion = x\n");
	vars[0] = home;

	/* ~/.aws/config under HOME; no credentials file is fine. */
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), 0);
	assert_string_equal(c->profile, "dev");
	assert_string_equal(awsp_profile_get(c, NULL, "region"), "x");
	assert_string_equal(c->config_path, cfg);
	awsp_config_free(c);
	c = NULL;

	/* $VAR expansion in AWS_CONFIG_FILE, as os.path.expandvars. */
	vars[2] = "AWS_CONFIG_FILE=${HOME}/.aws/$NOPE/../config";
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err),
			 UTIL_ENOTFOUND);
	util_err_clear(&err);
	vars[2] = "AWS_CONFIG_FILE=$HOME/.aws/config";
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), 0);
	awsp_config_free(c);
	c = NULL;

	/* A broken file is an error naming the file and line. */
	vars[2] = "AWS_CONFIG_FILE=~/.aws/config";
	assert_int_equal(unlink(cfg), 0);
	free(cfg);
	cfg = write_temp(aws, "config", "[profile dev]\nregion = x\nbroken\n");
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), UTIL_EINVAL);
	assert_string_equal(err.path, cfg);
	assert_int_equal(err.line, 3);
	util_err_clear(&err);
	/* A directory where the file should be. */
	vars[2] = "AWS_CONFIG_FILE=~/.aws";
	assert_int_equal(awsp_config_load(&env, NULL, &c, &err), UTIL_EIO);
	util_err_clear(&err);

	tmpdir_rm(&t, files);
	free(home);
	free(aws);
	free(cfg);
}

static void test_expand_path(void **state)
{
	const char *vars[] = { "HOME=/home/u", "A=x", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };
	char *p;

	(void)state;
	p = awsp_expand_path(&env, "~/.aws/$A/${A}/$B/${B}/$/${A");
	assert_string_equal(p, "/home/u/.aws/x/x/$B/${B}/$/${A");
	free(p);
	p = awsp_expand_path(&env, "~");
	assert_string_equal(p, "/home/u");
	free(p);
	p = awsp_expand_path(&env, "~other/x");
	assert_string_equal(p, "~other/x");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_botocore_parity),
		cmocka_unit_test(test_continuations_and_newlines),
		cmocka_unit_test(test_errors_like_botocore),
		cmocka_unit_test(test_config_load_profiles),
		cmocka_unit_test(test_config_default_paths_and_errors),
		cmocka_unit_test(test_expand_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
