/*
 * spec/diag.c: several errors in one run, sorted and without
 * repeats, the error cap, and clipped values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "spec/spec.h"
#include "tests/unit/support/spec_testutil.h"
#include "util/buf.h"
#include "util/err.h"

static void test_all_errors_sorted(void **state)
{
	static const char yaml[] = "version: 1\n"
				   "elastic_ips:\n"
				   "  - name: a\n"
				   "    instance: " ID_A "\n"
				   "  - name: a\n" /* 5: declared twice */
				   "    instance: i-bad\n" /* 6: malformed id */
				   "load_balancers:\n"
				   "  - classic: web\n"
				   "    memebrs: [" ID_A
				   "]\n" /* 9: unknown key */
				   "    members: [" ID_A "]\n"
				   "    wait: forever\n" /* 11: bad enum */
				   "region: mars-1\n";	 /* 12: bad region */
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;
	struct spec *s = NULL;
	static const unsigned lines[] = { 5, 6, 9, 11, 12 };

	(void)state;
	assert_int_equal(tspec_load(yaml, &s, &d, &err), UTIL_EINVAL);
	assert_null(s);
	if (d.n != 5)
		tspec_dump(&d);
	assert_int_equal(d.n, 5);
	assert_int_equal(d.n_errors, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(d.v[i].line, lines[i]);
	spec_diag_format(&d, 0, &b);
	assert_string_equal(b.buf, "t.yaml:5:5: elastic IP 'a' is declared "
				   "twice (first at line 3)");
	buf_reset(&b);
	spec_diag_format(&d, 2, &b);
	assert_string_equal(
		b.buf,
		"t.yaml:9:5: unknown key 'memebrs', did you mean 'members'?");
	/* err holds the first error and the count of the others. */
	assert_int_equal(err.code, UTIL_EINVAL);
	assert_string_equal(err.path, "t.yaml");
	assert_int_equal(err.line, 5);
	assert_int_equal(err.col, 5);
	assert_non_null(strstr(err.msg, "(and 4 more errors)"));
	buf_release(&b);
	spec_diags_release(&d);
}

/* An error under an anchor is reported once, however often it is used. */
static void test_alias_error_once(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	(void)state;
	assert_int_equal(tspec_load(TG "      - &m {id: " ID_A
				       ", port: 99999}\n"
				       "      - {id: " ID_B
				       ", port: 1}\n      - *m\n",
				    &s, &d, &err),
			 UTIL_EINVAL);
	/* The bad port (once, at the anchor) and the alias's duplicate. */
	assert_int_equal(d.n_errors, 2);
	assert_int_equal(d.v[0].line, 5);
	assert_int_equal(d.v[0].col, 44);
	assert_non_null(strstr(d.v[0].msg, "'port' must be between"));
	assert_int_equal(d.v[1].line, 7);
	assert_non_null(strstr(d.v[1].msg, "is listed twice"));
	spec_diags_release(&d);
}

static void test_error_cap(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, CLASSIC);
	for (int i = 0; i < 500; i++)
		buf_addstr(&y, "      - i-bad\n");
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	/* 200 errors and the "too many" line; repeats of i-bad are errors
	 * of their own (each is malformed), so the cap is what stops them. */
	assert_int_equal(d.n_errors, 201);
	assert_non_null(strstr(d.v[200].msg, "too many errors"));
	buf_release(&y);
	spec_diags_release(&d);
}

/* Huge or odd values are quoted clipped, on one line. */
static void test_long_values(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf y = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	buf_addstr(&y, CLASSIC "      - i-");
	for (int i = 0; i < 100000; i++)
		buf_addch(&y, 'f');
	buf_addstr(&y, "\n      - selector: {tags: {\"a\\tb\": c}}\n");
	assert_int_equal(spec_load_buffer("t.yaml", y.buf, y.len, &s, &d, &err),
			 UTIL_EINVAL);
	assert_int_equal(d.n_errors, 2);
	assert_true(strlen(d.v[0].msg) < 160);
	assert_non_null(strstr(d.v[0].msg, "'i-ffffffffff"));
	assert_non_null(strstr(d.v[0].msg, "...'"));
	assert_int_equal(d.v[1].line, 6);
	assert_non_null(strstr(d.v[1].msg, "without control characters"));
	assert_null(strchr(d.v[1].msg, '\t'));
	buf_release(&y);
	spec_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_errors_sorted),
		cmocka_unit_test(test_alias_error_once),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_long_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
