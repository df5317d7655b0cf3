#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

static void test_empty_is_valid_string(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_string_equal(b.buf, "");
}

static void test_append_and_format(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_addstr(&b, "hello"), 0);
	assert_int_equal(buf_addch(&b, ' '), 0);
	assert_int_equal(buf_addf(&b, "%s %d", "world", 42), 0);
	assert_string_equal(b.buf, "hello world 42");
	assert_int_equal(b.len, 14);
	buf_setlen(&b, 5);
	assert_string_equal(b.buf, "hello");
	buf_release(&b);
}

static void test_grows_past_initial_allocation(void **state)
{
	struct buf b = BUF_INIT;
	char chunk[1000];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.buf[b.len], '\0');
	assert_true(b.alloc > b.len);
	buf_release(&b);
}

static void test_cap_rejects_and_sticks(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), 0);
	assert_int_equal(buf_addch(&b, '9'), UTIL_ELIMIT);
	assert_true(buf_failed(&b));
	/* Nothing was appended by the failing call... */
	assert_string_equal(b.buf, "12345678");
	/* ...and later appends fail too, even small ones that would fit. */
	buf_setlen(&b, 0);
	assert_int_equal(buf_addch(&b, 'a'), UTIL_ELIMIT);
	buf_reset(&b);
	assert_false(buf_failed(&b));
	assert_int_equal(buf_addf(&b, "%d", 1234567), 0);
	assert_int_equal(buf_addf(&b, "%d", 12), UTIL_ELIMIT);
	assert_string_equal(b.buf, "1234567");
	buf_release(&b);
}

static void test_detach_transfers_ownership(void **state)
{
	struct buf b = BUF_INIT;
	size_t len = 0;
	char *s;

	(void)state;
	buf_addstr(&b, "abc");
	s = buf_detach(&b, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.alloc, 0);
	free(s);
	/* Detaching an empty buffer still gives an owned string. */
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_rtrim_and_binary(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_add(&b, "a\0b \n\t", 6);
	assert_int_equal(b.len, 6);
	buf_rtrim(&b);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.buf, "a\0b", 4);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_valid_string),
		cmocka_unit_test(test_append_and_format),
		cmocka_unit_test(test_grows_past_initial_allocation),
		cmocka_unit_test(test_cap_rejects_and_sticks),
		cmocka_unit_test(test_detach_transfers_ownership),
		cmocka_unit_test(test_rtrim_and_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
