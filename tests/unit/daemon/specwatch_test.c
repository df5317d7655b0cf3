#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconciler/daemon/specwatch.h"
#include "spec/spec.h"
#include "util/buf.h"

struct fx {
	char root[64];
	char dir[128];
	char spec[160];
	struct rc_specwatch *sw;
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/moor-specwatch-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/conf", f->root);
	snprintf(f->spec, sizeof(f->spec), "%s/spec.yaml", f->dir);
	assert_int_equal(mkdir(f->dir, 0755), 0);
	put(f->spec, "version: 1\n");
	assert_int_equal(rc_specwatch_new(f->spec, &f->sw, NULL), 0);
	assert_true(rc_specwatch_complete(f->sw));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rc_specwatch_free(f->sw);
	sh("rm -rf '%s'", f->root);
	free(f);
	return 0;
}

/*
 * Wait (up to a generous deadline) for events; return whether any that
 * arrived concerned the spec.  Returns false after a short quiet period
 * when nothing relevant came.
 */
static bool saw_change(struct fx *f, int quiet_ms)
{
	struct pollfd p = { rc_specwatch_fd(f->sw), POLLIN, 0 };
	bool hit = false;

	while (poll(&p, 1, quiet_ms) > 0)
		hit |= rc_specwatch_read(f->sw);
	return hit;
}

static void test_ways_to_save(void **state)
{
	struct fx *f = *state;
	char tmp[200], other[200];

	/* In place. */
	put(f->spec, "version: 1 # edited\n");
	assert_true(saw_change(f, 200));
	/* Atomic rename (editors, git). */
	snprintf(tmp, sizeof(tmp), "%s/.spec.yaml.swp", f->dir);
	put(tmp, "version: 1 # renamed\n");
	assert_false(saw_change(f, 200)); /* another name: not ours */
	assert_int_equal(rename(tmp, f->spec), 0);
	assert_true(saw_change(f, 200));
	/* Delete, then re-create. */
	assert_int_equal(unlink(f->spec), 0);
	assert_true(saw_change(f, 200));
	put(f->spec, "version: 1 # again\n");
	assert_true(saw_change(f, 200));
	/* Other files in the directory do not count. */
	snprintf(other, sizeof(other), "%s/README", f->dir);
	put(other, "hello\n");
	assert_false(saw_change(f, 200));
	/* chmod / touch counts (the file may have become unreadable). */
	assert_int_equal(chmod(f->spec, 0600), 0);
	assert_true(saw_change(f, 200));
}

static void test_directory_replaced(void **state)
{
	struct fx *f = *state;
	char old[200], fresh[200], fresh_spec[220], old_spec[220];

	/* rm -r + mv: the new directory is watched, the old one is not. */
	snprintf(old, sizeof(old), "%s/conf.old", f->root);
	snprintf(fresh, sizeof(fresh), "%s/conf.new", f->root);
	snprintf(fresh_spec, sizeof(fresh_spec), "%s/spec.yaml", fresh);
	snprintf(old_spec, sizeof(old_spec), "%s/spec.yaml", old);
	assert_int_equal(mkdir(fresh, 0755), 0);
	put(fresh_spec, "version: 1 # new dir\n");
	assert_false(saw_change(f, 200));
	assert_int_equal(rename(f->dir, old), 0);
	assert_true(saw_change(f, 200));
	assert_false(rc_specwatch_complete(f->sw));
	assert_int_equal(rename(fresh, f->dir), 0);
	assert_true(saw_change(f, 200));
	assert_true(rc_specwatch_complete(f->sw));
	put(f->spec, "version: 1 # edited in the new dir\n");
	assert_true(saw_change(f, 200));
	put(old_spec, "version: 1 # edited in the old dir\n");
	assert_false(saw_change(f, 200));

	/* rm -rf, then mkdir + write. */
	sh("rm -rf '%s'", f->dir);
	assert_true(saw_change(f, 200));
	assert_false(rc_specwatch_complete(f->sw));
	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_true(saw_change(f, 200));
	put(f->spec, "version: 1\n");
	assert_true(saw_change(f, 200));

	/* A symlinked directory swapped by rename. */
	sh("rm -rf '%s' && mkdir '%s'.a", f->dir, f->dir);
	saw_change(f, 200);
	sh("echo 'version: 1' > '%s'.a/spec.yaml && ln -s conf.a '%s'", f->dir,
	   f->dir);
	assert_true(saw_change(f, 200));
	put(f->spec, "version: 1 # through the link\n");
	assert_true(saw_change(f, 200));
	sh("mkdir '%s'.b && echo 'version: 1' > '%s'.b/spec.yaml", f->dir,
	   f->dir);
	assert_false(saw_change(f, 200));
	sh("ln -s conf.b '%s'.tmp", f->dir);
	saw_change(f, 200);
	sh("mv -T '%s'.tmp '%s'", f->dir, f->dir);
	assert_true(saw_change(f, 200));
	sh("echo '# b' >> '%s'.b/spec.yaml", f->dir);
	assert_true(saw_change(f, 200));
}

static void test_refresh(void **state)
{
	struct fx *f = *state;

	sh("rm -rf '%s'", f->dir);
	saw_change(f, 200);
	assert_false(rc_specwatch_complete(f->sw));
	/* Nothing to re-add while it is missing. */
	assert_false(rc_specwatch_refresh(f->sw));
	assert_int_equal(mkdir(f->dir, 0755), 0);
	/* The parent's watch re-added it already... */
	saw_change(f, 200);
	assert_true(rc_specwatch_complete(f->sw));
	/* ...and refresh has nothing left to do. */
	assert_false(rc_specwatch_refresh(f->sw));
	assert_non_null(strstr(rc_specwatch_path(f->sw), "/conf/spec.yaml"));
}

static void test_relative_path(void **state)
{
	struct rc_specwatch *sw;
	char cwd[4096];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(rc_specwatch_new("some/spec.yaml", &sw, NULL), 0);
	assert_int_equal(strncmp(rc_specwatch_path(sw), cwd, strlen(cwd)), 0);
	/* The directory does not exist: watched for, not an error. */
	assert_false(rc_specwatch_complete(sw));
	rc_specwatch_free(sw);
	rc_specwatch_free(NULL);
}

static void test_debounce(void **state)
{
	struct rc_debounce d;

	(void)state;
	rc_debounce_init(&d, 200);
	assert_false(rc_debounce_due(&d, 0));
	assert_int_equal(rc_debounce_event(&d, 1000), 1200);
	assert_false(rc_debounce_due(&d, 1199));
	/* Another event pushes the deadline back. */
	assert_int_equal(rc_debounce_event(&d, 1150), 1350);
	assert_false(rc_debounce_due(&d, 1200));
	assert_true(rc_debounce_due(&d, 1350));
	rc_debounce_clear(&d);
	assert_false(rc_debounce_due(&d, 5000));
	/* Zero quiet time: due at once. */
	rc_debounce_init(&d, 0);
	rc_debounce_event(&d, 7);
	assert_true(rc_debounce_due(&d, 7));
}

static void test_read_and_classify(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	char missing[200];

	assert_int_equal(rc_spec_file_read(f->spec, 1000, &b, &err),
			 RC_SPEC_FILE_OK);
	assert_string_equal(b.buf, "version: 1\n");
	put(f->spec, "");
	assert_int_equal(rc_spec_file_read(f->spec, 1000, &b, &err),
			 RC_SPEC_FILE_EMPTY);
	put(f->spec, "# just a comment\n---\n  \n... # end\n");
	assert_int_equal(rc_spec_file_read(f->spec, 1000, &b, &err),
			 RC_SPEC_FILE_EMPTY);
	put(f->spec, "version: 1\nload_balancers: [x, y, z]\n");
	assert_int_equal(rc_spec_file_read(f->spec, 10, &b, &err),
			 RC_SPEC_FILE_TOO_BIG);
	assert_int_equal(err.code, UTIL_ELIMIT);
	snprintf(missing, sizeof(missing), "%s/nope.yaml", f->dir);
	assert_int_equal(rc_spec_file_read(missing, 1000, &b, NULL),
			 RC_SPEC_FILE_MISSING);
	assert_int_equal(rc_spec_file_read(f->dir, 1000, &b, NULL),
			 RC_SPEC_FILE_UNREADABLE);
	assert_string_equal(rc_spec_file_name(RC_SPEC_FILE_EMPTY), "empty");
	buf_release(&b);

	assert_true(spec_text_is_empty("", 0));
	assert_true(spec_text_is_empty("\n\r\n\t \n", 6));
	assert_true(spec_text_is_empty("--- # doc\n", 10));
	assert_false(spec_text_is_empty("---x\n", 5));
	assert_false(spec_text_is_empty("a", 1));
	assert_false(spec_text_is_empty("  # c\n  k: v", 12));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ways_to_save, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_directory_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_debounce),
		cmocka_unit_test_setup_teardown(test_read_and_classify, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
