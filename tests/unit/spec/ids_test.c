/* spec/ids.c: the identifier and name checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "spec/ids.h"
#include "tests/unit/support/spec_testutil.h"

static void test_ids(void **state)
{
	struct spec_arn arn;
	char region[32];

	(void)state;
	assert_true(spec_is_instance_id("i-01234567"));
	assert_true(spec_is_instance_id(ID_A));
	assert_false(spec_is_instance_id("i-0123456"));
	assert_false(spec_is_instance_id("i-012345678"));
	assert_false(spec_is_instance_id("i-0123456789ABCDEF0"));
	assert_false(spec_is_instance_id("x-01234567"));
	assert_true(spec_is_allocation_id("eipalloc-0123456789abcdef0"));
	assert_false(spec_is_allocation_id("eipalloc-0123"));
	assert_true(spec_is_eni_id("eni-01234567"));
	assert_false(spec_is_eni_id("eni-0123456g"));
	assert_true(spec_is_ipv4("0.0.0.0"));
	assert_true(spec_is_ipv4("255.255.255.255"));
	assert_false(spec_is_ipv4("256.0.0.0"));
	assert_false(spec_is_ipv4("01.0.0.0"));
	assert_false(spec_is_ipv4("1.2.3"));
	assert_false(spec_is_ipv4("1.2.3.4.5"));
	assert_false(spec_is_ipv4("1.2.3.4 "));
	assert_false(spec_is_ipv4("1.2.3.0004"));
	assert_true(spec_is_lb_name("a"));
	assert_true(spec_is_lb_name("Web-01"));
	assert_false(spec_is_lb_name(""));
	assert_false(spec_is_lb_name("-a"));
	assert_false(spec_is_lb_name("a_b"));
	assert_false(spec_is_lb_name("abcdefghijabcdefghijabcdefghijabc"));
	assert_true(spec_is_region("us-east-1"));
	assert_true(spec_is_region("eu-central-1"));
	assert_true(spec_is_region("cn-north-1"));
	assert_true(spec_is_region("us-gov-west-1"));
	assert_true(spec_is_region("us-isob-east-1"));
	assert_false(spec_is_region("us-east"));
	assert_false(spec_is_region("US-EAST-1"));
	assert_false(spec_is_region("us-east-1a"));
	assert_true(spec_is_az("us-east-1a", region, sizeof(region)));
	assert_string_equal(region, "us-east-1");
	assert_true(spec_is_az("us-west-2-lax-1a", region, sizeof(region)));
	assert_string_equal(region, "us-west-2");
	assert_true(spec_is_az("all", region, sizeof(region)));
	assert_string_equal(region, "");
	assert_false(spec_is_az("us-east-1", NULL, 0));
	assert_false(spec_is_az("us-east-1ab", NULL, 0));
	assert_true(spec_is_host("db1.example.com"));
	assert_true(spec_is_host("10.0.0.1"));
	assert_false(spec_is_host("a..b"));
	assert_false(spec_is_host("-a.b"));
	assert_false(spec_is_host("a b"));
	assert_true(spec_parse_target_group_arn(
		"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:"
		"123456789012:targetgroup/my-tg/0123456789abcdef",
		&arn));
	assert_string_equal(arn.region, "us-gov-west-1");
	assert_string_equal(arn.account, "123456789012");
	assert_string_equal(arn.name, "my-tg");
	assert_false(spec_parse_target_group_arn(
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:"
		"loadbalancer/app/my-lb/0123456789abcdef",
		NULL));
	assert_false(spec_parse_target_group_arn(
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:"
		"targetgroup/my-tg/0123456789abcdeF",
		NULL));
	assert_false(spec_parse_target_group_arn(
		"arn:aws:ec2:us-east-1:123456789012:"
		"targetgroup/my-tg/0123456789abcdef",
		NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
