/*
 * spec/spec.c: loading a buffer or a file, and the size limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec/spec.h"
#include "tests/unit/support/spec_testutil.h"
#include "util/alloc.h"
#include "util/err.h"

static void test_size_limit_buffer(void **state)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	size_t n = SPEC_MAX_FILE_SIZE + 1;
	char *data = util_xmalloc(n);

	(void)state;
	/* Invalid UTF-8 throughout: had it been read, that would show. */
	memset(data, 0xff, n);
	assert_int_equal(spec_load_buffer("big.yaml", data, n, &s, &d, &err),
			 UTIL_EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].col, 1);
	assert_non_null(strstr(d.v[0].msg, "larger than 16 MiB"));
	spec_diags_release(&d);

	/* Exactly the limit is fine. */
	memset(data, '#', n);
	memcpy(data, EIPS "  - {name: a, none: true}\n",
	       strlen(EIPS "  - {name: a, none: true}\n"));
	data[SPEC_MAX_FILE_SIZE - 1] = '\n';
	util_err_clear(&err);
	assert_int_equal(spec_load_buffer("big.yaml", data, SPEC_MAX_FILE_SIZE,
					  &s, &d, &err),
			 0);
	assert_non_null(s);
	spec_free(s);
	spec_diags_release(&d);
	free(data);
}

static void test_files(void **state)
{
	char path[] = "/tmp/spec_test_XXXXXX";
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	static const char yaml[] = EIPS "  - {name: a, none: true}\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	assert_int_equal(spec_load_file(path, &s, &d, &err), 0);
	assert_string_equal(s->path, path);
	assert_string_equal(s->eips[0].name, "a");
	spec_free(s);
	s = NULL;
	spec_diags_release(&d);

	/* One byte over the limit: refused from its size, unread. */
	assert_int_equal(ftruncate(fd, SPEC_MAX_FILE_SIZE + 1), 0);
	assert_int_equal(spec_load_file(path, &s, &d, &err), UTIL_EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "larger than 16 MiB (16777217 "
					   "bytes)"));
	assert_string_equal(err.path, path);
	spec_diags_release(&d);
	close(fd);
	unlink(path);

	util_err_clear(&err);
	assert_int_equal(spec_load_file(path, &s, &d, &err), UTIL_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "cannot read spec"));
	assert_non_null(strstr(err.msg, "No such file"));
	spec_diags_release(&d);

	util_err_clear(&err);
	assert_int_equal(spec_load_file("/tmp", &s, &d, &err), UTIL_EIO);
	assert_non_null(strstr(err.msg, "Is a directory"));
	spec_diags_release(&d);
}

/* Loads yaml as path; returns the spec (caller frees) or NULL. */
static struct spec *load_as(const char *path, const char *yaml,
			    struct spec_diags *d)
{
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	spec_load_buffer(path, yaml, strlen(yaml), &s, d, &err);
	return s;
}

static void test_name(void **state)
{
	static const char body[] = EIPS "  - {name: a, none: true}\n";
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	/* Default: the base name without .yaml / .yml. */
	s = load_as("/etc/moor/web.yaml", body, &d);
	assert_string_equal(s->name, "web");
	spec_free(s);
	spec_diags_release(&d);
	s = load_as("dir/db.prod.yml", body, &d);
	assert_string_equal(s->name, "db.prod");
	spec_free(s);
	spec_diags_release(&d);
	s = load_as("plain", body, &d);
	assert_string_equal(s->name, "plain");
	spec_free(s);
	spec_diags_release(&d);

	/* Given: it wins over the file name, 64 characters are fine. */
	s = load_as("web.yaml",
		    "name: Edge_1.b-2\n" EIPS "  - {name: a, none: true}\n",
		    &d);
	assert_string_equal(s->name, "Edge_1.b-2");
	spec_free(s);
	spec_diags_release(&d);
	s = load_as("web.yaml",
		    "name: "
		    "x123456789012345678901234567890123456789"
		    "012345678901234567890123\n" EIPS
		    "  - {name: a, none: true}\n",
		    &d);
	assert_non_null(s);
	assert_int_equal(strlen(s->name), 64);
	spec_free(s);
	spec_diags_release(&d);
}

static void test_name_invalid(void **state)
{
	static const char *const bad[] = {
		"name: 'a b'\n",
		"name: ''\n",
		"name: a/b\n",
		"name: [a]\n",
		"name: x1234567890123456789012345678901234567890123456789"
		"0123456789abcde\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct spec_diags d = { 0 };
		char yaml[512];

		snprintf(yaml, sizeof(yaml), "%s%s  - {name: a, none: true}\n",
			 bad[i], EIPS);
		assert_null(load_as("web.yaml", yaml, &d));
		assert_int_equal(d.n_errors, 1);
		/* The value's own position: line 1, after "name: ". */
		assert_int_equal(d.v[0].line, 1);
		assert_int_equal(d.v[0].col, 7);
		assert_non_null(strstr(d.v[0].msg, "name"));
		spec_diags_release(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_limit_buffer),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
