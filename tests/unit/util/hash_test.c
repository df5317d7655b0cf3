#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/hash.h"

/* FIPS 180-2 test vectors. */
static void test_known_vectors(void **state)
{
	char out[UTIL_SHA256_HEX_SIZE];

	(void)state;
	util_sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
				 "934ca495991b7852b855");
	util_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a39617"
				 "7a9cb410ff61f20015ad");
}

static void test_incremental_matches_oneshot(void **state)
{
	struct util_sha256 h;
	char a[UTIL_SHA256_HEX_SIZE], b[UTIL_SHA256_HEX_SIZE];

	(void)state;
	util_sha256_init(&h);
	util_sha256_update(&h, "ab", 2);
	util_sha256_update(&h, "", 0);
	util_sha256_update(&h, "c", 1);
	util_sha256_final_hex(&h, a);
	util_sha256_hex("abc", 3, b);
	assert_string_equal(a, b);
}

static void test_fields_are_delimited(void **state)
{
	struct util_sha256 h;
	char a[UTIL_SHA256_HEX_SIZE], b[UTIL_SHA256_HEX_SIZE];

	(void)state;
	util_sha256_init(&h);
	util_sha256_field(&h, "ab");
	util_sha256_field(&h, "c");
	util_sha256_final_hex(&h, a);
	util_sha256_init(&h);
	util_sha256_field(&h, "a");
	util_sha256_field(&h, "bc");
	util_sha256_final_hex(&h, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_incremental_matches_oneshot),
		cmocka_unit_test(test_fields_are_delimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
