#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = util_xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/moor-file-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/f", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void test_at_cap_and_empty(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	put(f->path, "0123456789");
	assert_int_equal(util_read_file(f->path, 10, &b, NULL, &err), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.buf, "0123456789");
	assert_int_equal(err.code, 0);

	/* The buffer is emptied first. */
	put(f->path, "");
	assert_int_equal(util_read_file(f->path, 10, &b, NULL, &err), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	buf_release(&b);
}

static void test_over_cap_refused_before_reading(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct util_read_fail why;
	char want[200];

	put(f->path, "0123456789A");
	assert_int_equal(util_read_file(f->path, 10, &b, &why, &err),
			 UTIL_ELIMIT);
	assert_int_equal(err.code, UTIL_ELIMIT);
	snprintf(want, sizeof(want), "'%s' is larger than 10 bytes", f->path);
	assert_string_equal(err.msg, want);
	assert_true(why.opened);
	assert_int_equal(why.size, 11);
	/* fstat said too big: not a byte was read. */
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_stream_over_cap(void **state)
{
	struct buf b = BUF_INIT;
	struct util_read_fail why;

	(void)state;
	/* No size to check first: refused once a byte past the cap arrives. */
	assert_int_equal(util_read_file("/dev/zero", 100, &b, &why, NULL),
			 UTIL_ELIMIT);
	assert_int_equal(why.size, 101);
	assert_int_equal(b.len, 100);
	assert_int_equal(util_read_file("/dev/null", 100, &b, &why, NULL), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_pipe_under_cap(void **state)
{
	struct buf b = BUF_INIT;
	char path[64];
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	assert_int_equal(util_read_file(path, 5, &b, NULL, NULL), 0);
	assert_string_equal(b.buf, "hello");
	close(p[0]);
	buf_release(&b);
}

static void test_callers_cap_below_max(void **state)
{
	struct fx *f = *state;
	struct buf b;

	buf_init(&b, 4);
	put(f->path, "0123456789");
	assert_int_equal(util_read_file(f->path, 100, &b, NULL, NULL),
			 UTIL_ELIMIT);
	buf_release(&b);
}

static void test_missing(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct util_read_fail why;
	char path[200], want[300];

	snprintf(path, sizeof(path), "%s/nope", f->dir);
	assert_int_equal(util_read_file(path, 10, &b, &why, &err),
			 UTIL_ENOTFOUND);
	assert_false(why.opened);
	assert_int_equal(why.errnum, ENOENT);
	snprintf(want, sizeof(want), "cannot read '%s': %s", path,
		 strerror(ENOENT));
	assert_string_equal(err.msg, want);

	/* A regular file where a directory should be: not found either. */
	put(f->path, "x");
	snprintf(path, sizeof(path), "%s/f/nope", f->dir);
	assert_int_equal(util_read_file(path, 10, &b, &why, NULL),
			 UTIL_ENOTFOUND);
	assert_int_equal(why.errnum, ENOTDIR);
	buf_release(&b);
}

static void test_directory(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct util_read_fail why;
	char want[300];

	assert_int_equal(util_read_file(f->dir, 10, &b, &why, &err), UTIL_EIO);
	assert_true(why.opened);
	assert_int_equal(why.errnum, EISDIR);
	snprintf(want, sizeof(want), "cannot read '%s': %s", f->dir,
		 strerror(EISDIR));
	assert_string_equal(err.msg, want);
	buf_release(&b);
}

static void tmp_name(const char *path, char *out, size_t size)
{
	assert_true(snprintf(out, size, "%s.tmp.%ld", path, (long)getpid()) <
		    (int)size);
}

/* The new bytes replace the old, with the mode asked; no temporary left. */
static void test_write_atomic_replaces(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct stat st;
	char tmp[200];

	put(f->path, "the old contents, longer than the new");
	assert_int_equal(util_write_file_atomic(f->path, "new\n", 4, 0600,
						&err),
			 0);
	assert_int_equal(util_read_file(f->path, 100, &b, NULL, NULL), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.buf, "new\n", 4);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tmp_name(f->path, tmp, sizeof(tmp));
	assert_int_equal(access(tmp, F_OK), -1);
	/* Nothing to write makes an empty file. */
	assert_int_equal(util_write_file_atomic(f->path, "", 0, 0644, &err), 0);
	assert_int_equal(util_read_file(f->path, 100, &b, NULL, NULL), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

/* A failure says which file and why, and leaves no temporary behind. */
static void test_write_atomic_failures(void **state)
{
	struct fx *f = *state;
	struct util_err err = UTIL_ERR_INIT;
	char path[200], tmp[200], want[600];

	/* The directory is missing: the temporary file cannot be made. */
	assert_true(snprintf(path, sizeof(path), "%s/none/f", f->dir) <
		    (int)sizeof(path));
	tmp_name(path, tmp, sizeof(tmp));
	assert_int_equal(util_write_file_atomic(path, "x", 1, 0600, &err),
			 UTIL_EIO);
	snprintf(want, sizeof(want), "cannot write '%s': %s", tmp,
		 strerror(ENOENT));
	assert_string_equal(err.msg, want);
	util_err_clear(&err);

	/* A directory where the file goes: written, not renamed, removed. */
	assert_true(snprintf(path, sizeof(path), "%s/sub", f->dir) <
		    (int)sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	tmp_name(path, tmp, sizeof(tmp));
	assert_int_equal(util_write_file_atomic(path, "x", 1, 0600, &err),
			 UTIL_EIO);
	snprintf(want, sizeof(want), "cannot rename '%s' to '%s': %s", tmp,
		 path, strerror(EISDIR));
	assert_string_equal(err.msg, want);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(rmdir(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_at_cap_and_empty, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_over_cap_refused_before_reading, setup, teardown),
		cmocka_unit_test(test_stream_over_cap),
		cmocka_unit_test(test_pipe_under_cap),
		cmocka_unit_test_setup_teardown(test_callers_cap_below_max,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_replaces,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_failures,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
