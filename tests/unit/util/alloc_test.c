/*
 * Checked allocation: what each function returns, and that a size whose
 * arithmetic would overflow ends in the out-of-memory abort instead of a
 * short buffer.  A real malloc failure is not provoked (the sanitizers
 * refuse huge requests on their own); the abort is seen in a child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/alloc.h"

static void test_zero_sizes_are_usable(void **state)
{
	char *a = util_xmalloc(0);
	char *b = util_xcalloc(0, 8);
	char *c = util_xcalloc(8, 0);
	char *d = util_xrealloc(NULL, 0);
	char *e = util_xmemdup("x", 0);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(d);
	assert_non_null(e);
	/* Each is at least one byte (malloc(0) may return NULL elsewhere). */
	a[0] = b[0] = c[0] = d[0] = e[0] = 'z';
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
}

static void test_calloc_zeroes_and_realloc_keeps(void **state)
{
	unsigned char *p = util_xcalloc(64, 4);

	(void)state;
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xab, 256);
	p = util_xrealloc(p, 4096);
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(p[i], 0xab);
	free(p);
}

static void test_grow_doubles_from_eight(void **state)
{
	int *v = NULL;
	size_t alloc = 0;
	int *before;

	(void)state;
	UTIL_GROW(v, alloc, 1);
	assert_non_null(v);
	assert_int_equal(alloc, 8);
	/* Enough room already: nothing moves. */
	v[7] = 7;
	before = v;
	UTIL_GROW(v, alloc, 8);
	assert_ptr_equal(v, before);
	assert_int_equal(alloc, 8);
	/* Doubling until need fits; contents kept. */
	UTIL_GROW(v, alloc, 33);
	assert_int_equal(alloc, 64);
	assert_int_equal(v[7], 7);
	v[63] = 63; /* the whole of alloc is usable (ASan checks) */
	free(v);
}

/* Run fn in a child; whether it died of SIGABRT having said "out of memory". */
static int aborts_oom(void (*fn)(void))
{
	int pfd[2], status;
	char msg[64] = { 0 };
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		fn();
		_exit(0); /* returned: no abort */
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		return 0;
	return n > 0 && !strcmp(msg, "moor: out of memory\n");
}

static void grow_elem_overflow(void)
{
	void *p = NULL;
	size_t alloc = 0;

	/* 2^61 elements of 16 bytes: the byte count wraps past SIZE_MAX. */
	util_xgrow(&p, &alloc, SIZE_MAX / 8 + 1, 16);
	free(p);
}

static void grow_count_overflow(void)
{
	void *p = NULL;
	size_t alloc = 0;

	/* Doubling cannot reach SIZE_MAX elements without wrapping. */
	util_xgrow(&p, &alloc, SIZE_MAX, 1);
	free(p);
}

static void grow_fits(void)
{
	void *p = NULL;
	size_t alloc = 0;

	util_xgrow(&p, &alloc, 100, 16);
	free(p);
}

static void test_grow_overflow_aborts(void **state)
{
	(void)state;
	assert_true(aborts_oom(grow_elem_overflow));
	assert_true(aborts_oom(grow_count_overflow));
	/* The harness itself: a size that fits returns normally. */
	assert_false(aborts_oom(grow_fits));
}

static void test_strdup_family(void **state)
{
	const char abc[3] = { 'a', 'b', 'c' }; /* not NUL-terminated */
	char *s;

	(void)state;
	s = util_xstrdup("hello");
	assert_string_equal(s, "hello");
	free(s);
	assert_null(util_xstrdup_or_null(NULL));
	s = util_xstrdup_or_null("x");
	assert_string_equal(s, "x");
	free(s);
	/* At most n bytes, always terminated, never read past n. */
	s = util_xstrndup("hello", 3);
	assert_string_equal(s, "hel");
	free(s);
	s = util_xstrndup("hi", 10);
	assert_string_equal(s, "hi");
	free(s);
	s = util_xstrndup(abc, sizeof(abc));
	assert_string_equal(s, "abc");
	free(s);
	s = util_xstrndup("hello", 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_memdup_copies(void **state)
{
	const unsigned char src[5] = { 1, 0, 2, 0, 3 };
	unsigned char *d = util_xmemdup(src, sizeof(src));

	(void)state;
	assert_ptr_not_equal(d, src);
	assert_memory_equal(d, src, sizeof(src));
	free(d);
}

static void test_asprintf(void **state)
{
	char big[1001];
	char *s;

	(void)state;
	s = util_xasprintf("%s=%d", "n", 42);
	assert_string_equal(s, "n=42");
	free(s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = util_xasprintf("[%s]", big);
	assert_int_equal(strlen(s), 1002);
	assert_int_equal(s[0], '[');
	assert_int_equal(s[1001], ']');
	free(s);
	s = util_xasprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
}

static void test_wipe(void **state)
{
	char b[8] = "secret!";

	(void)state;
	util_wipe(b, 6);
	assert_memory_equal(b, "\0\0\0\0\0\0!", 8);
	/* Nothing to wipe: no crash. */
	util_wipe(NULL, 5);
	util_wipe(b, 0);
	util_free_secret(NULL);
	util_free_secret(util_xstrdup("token"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_sizes_are_usable),
		cmocka_unit_test(test_calloc_zeroes_and_realloc_keeps),
		cmocka_unit_test(test_grow_doubles_from_eight),
		cmocka_unit_test(test_grow_overflow_aborts),
		cmocka_unit_test(test_strdup_family),
		cmocka_unit_test(test_memdup_copies),
		cmocka_unit_test(test_asprintf),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
