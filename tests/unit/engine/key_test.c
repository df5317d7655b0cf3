#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconciler/engine/key.h"
#include "spec/spec.h"
#include "util/array.h"
#include "util/err.h"

/* The string forms docs/plan-json.md documents, one per kind. */
static const struct {
	enum rc_key_kind kind;
	const char *value;
	const char *text;
} kinds[] = {
	{ RC_KEY_CLASSIC, "web-classic", "classic:web-classic" },
	{ RC_KEY_TARGET_GROUP, "web-tg", "tg:web-tg" },
	{ RC_KEY_INSTANCE, "i-0a1b2c3d4e5f60002",
	  "instance:i-0a1b2c3d4e5f60002" },
	{ RC_KEY_ENI, "eni-0000000e", "eni:eni-0000000e" },
	{ RC_KEY_EIP_ALLOC, "eipalloc-0000000a",
	  "eip:alloc:eipalloc-0000000a" },
	{ RC_KEY_EIP_IP, "203.0.113.10", "eip:ip:203.0.113.10" },
	{ RC_KEY_EIP_NAME, "vip-app", "eip:name:vip-app" },
};

static void test_round_trip_every_kind(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct rc_key k = { .kind = kinds[i].kind,
				    .value = kinds[i].value };
		char *s = rc_key_format(k);
		struct rc_key back;

		assert_string_equal(s, kinds[i].text);
		assert_int_equal(rc_key_parse(s, &back, NULL), 0);
		assert_int_equal(back.kind, kinds[i].kind);
		assert_string_equal(back.value, kinds[i].value);
		/* The value is borrowed from the string parsed. */
		assert_true(back.value > s && back.value < s + strlen(s));
		free(s);
	}
}

static void test_builders_match_formatter(void **state)
{
	char *s;

	(void)state;
	s = rc_key_group(SPEC_LB_CLASSIC, "web");
	assert_string_equal(s, "classic:web");
	free(s);
	s = rc_key_group(SPEC_LB_TARGET_GROUP, "web");
	assert_string_equal(s, "tg:web");
	free(s);
	s = rc_key_address(SPEC_EIP_BY_ALLOCATION_ID, "eipalloc-1");
	assert_string_equal(s, "eip:alloc:eipalloc-1");
	free(s);
	s = rc_key_address(SPEC_EIP_BY_PUBLIC_IP, "192.0.2.1");
	assert_string_equal(s, "eip:ip:192.0.2.1");
	free(s);
	s = rc_key_address(SPEC_EIP_BY_NAME, "vip");
	assert_string_equal(s, "eip:name:vip");
	free(s);
	s = rc_key_instance("i-1");
	assert_string_equal(s, "instance:i-1");
	free(s);
	s = rc_key_eni("eni-1");
	assert_string_equal(s, "eni:eni-1");
	free(s);
}

static void test_value_with_colons(void **state)
{
	static const char arn[] =
		"arn:aws:elasticloadbalancing:eu-west-1:"
		"123456789012:targetgroup/web/0123456789abcdef";
	char *s = rc_key_group(SPEC_LB_TARGET_GROUP, arn);
	struct rc_key k;

	(void)state;
	assert_int_equal(rc_key_parse(s, &k, NULL), 0);
	assert_int_equal(k.kind, RC_KEY_TARGET_GROUP);
	assert_string_equal(k.value, arn);
	assert_int_equal(rc_key_lb_kind(k.kind), SPEC_LB_TARGET_GROUP);
	assert_true(rc_key_is_group(s));
	assert_false(rc_key_is_address(s));
	free(s);
	/* A Name tag may hold ':' too; it is not a fourth address kind. */
	assert_int_equal(rc_key_parse("eip:name:a:b", &k, NULL), 0);
	assert_int_equal(k.kind, RC_KEY_EIP_NAME);
	assert_string_equal(k.value, "a:b");
}

static void test_unknown_and_empty_rejected(void **state)
{
	static const char *const bad[] = {
		"",	 "tg",		"tg:",	     "classic:",  "instance:",
		"eni:",	 "eip:alloc:",	"eip:ip:",   "eip:name:", "eip:",
		"eip:x", "eip:bogus:v", "eip:alloc", "lb:web",	  "TG:web",
		":web",	 " tg:web",	"*",
	};
	struct rc_key k = { .kind = RC_KEY_ENI, .value = "untouched" };
	struct util_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rc_key_parse(bad[i], &k, NULL), UTIL_EINVAL);
		assert_false(rc_key_is_group(bad[i]));
		assert_false(rc_key_is_address(bad[i]));
	}
	assert_int_equal(k.kind, RC_KEY_ENI);
	assert_string_equal(k.value, "untouched");
	assert_int_equal(rc_key_parse("lb:web", &k, &err), UTIL_EINVAL);
	assert_int_equal(err.code, UTIL_EINVAL);
	assert_string_equal(err.msg, "malformed resource key 'lb:web'");
}

static void test_kind_predicates(void **state)
{
	(void)state;
	assert_true(rc_key_kind_is_group(RC_KEY_CLASSIC));
	assert_true(rc_key_kind_is_group(RC_KEY_TARGET_GROUP));
	assert_false(rc_key_kind_is_group(RC_KEY_INSTANCE));
	assert_false(rc_key_kind_is_group(RC_KEY_EIP_NAME));
	assert_true(rc_key_kind_is_address(RC_KEY_EIP_ALLOC));
	assert_true(rc_key_kind_is_address(RC_KEY_EIP_IP));
	assert_true(rc_key_kind_is_address(RC_KEY_EIP_NAME));
	assert_false(rc_key_kind_is_address(RC_KEY_ENI));
	assert_false(rc_key_kind_is_address(RC_KEY_CLASSIC));
	assert_int_equal(rc_key_lb_kind(RC_KEY_CLASSIC), SPEC_LB_CLASSIC);
	assert_int_equal(rc_key_eip_ref(RC_KEY_EIP_ALLOC),
			 SPEC_EIP_BY_ALLOCATION_ID);
	assert_int_equal(rc_key_eip_ref(RC_KEY_EIP_IP), SPEC_EIP_BY_PUBLIC_IP);
	assert_int_equal(rc_key_eip_ref(RC_KEY_EIP_NAME), SPEC_EIP_BY_NAME);
	assert_true(rc_key_is_group("classic:web"));
	assert_true(rc_key_is_address("eip:ip:192.0.2.1"));
	assert_false(rc_key_is_group("instance:i-1"));
	assert_false(rc_key_is_address("eni:eni-1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_builders_match_formatter),
		cmocka_unit_test(test_value_with_colons),
		cmocka_unit_test(test_unknown_and_empty_rejected),
		cmocka_unit_test(test_kind_predicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
