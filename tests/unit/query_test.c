#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "providers/aws/query.h"
#include "util/buf.h"
#include "util/banned.h"

static void test_form_encode_matches_urlencode(void **state)
{
	/*
	 * Expected strings are Python's urllib.parse.urlencode output (what
	 * botocore sends), e.g. urlencode({'k': 'a b+c/d~e%f=g&h'}).
	 */
	struct buf b = BUF_INIT;
	const char all[] = " !\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~";

	(void)state;
	awsp_form_encode("a b+c/d~e%f=g&h", 15, &b);
	assert_string_equal(b.buf, "a+b%2Bc%2Fd~e%25f%3Dg%26h");
	buf_reset(&b);
	awsp_form_encode(all, strlen(all), &b);
	assert_string_equal(
		b.buf, "+%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F0123456789"
		       "%3A%3B%3C%3D%3E%3F%40AZ%5B%5C%5D%5E_%60az%7B%7C%7D~");
	buf_reset(&b);
	/* UTF-8 bytes, uppercase hex; an embedded NUL is encoded too. */
	awsp_form_encode("\xc3\xa9\xe2\x82\xac\x00x", 7, &b);
	assert_string_equal(b.buf, "%C3%A9%E2%82%AC%00x");
	buf_reset(&b);
	awsp_form_encode("", 0, &b);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_uri_encode(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	awsp_uri_encode("a b/c~d+e", 9, false, &b);
	assert_string_equal(b.buf, "a%20b%2Fc~d%2Be");
	buf_reset(&b);
	awsp_uri_encode("/a b/c", 6, true, &b);
	assert_string_equal(b.buf, "/a%20b/c");
	buf_release(&b);
}

static void test_ec2_flattening(void **state)
{
	/* AWS-PROTOCOL.md section 3: the bodies botocore builds. */
	struct awsp_query q;
	const char *ids[] = { "i-1", "i-2" };
	const char *role[] = { "web" };
	const char *states[] = { "running", "pending" };

	(void)state;
	awsp_query_init(&q, "DescribeInstances", "2016-11-15");
	awsp_query_add_ec2_filter(&q, 1, "tag:role", role, 1);
	awsp_query_add_ec2_filter(&q, 2, "instance-state-name", states, 2);
	awsp_query_add_int(&q, "MaxResults", 1000);
	assert_string_equal(q.body.buf,
			    "Action=DescribeInstances&Version=2016-11-15"
			    "&Filter.1.Name=tag%3Arole&Filter.1.Value.1=web"
			    "&Filter.2.Name=instance-state-name"
			    "&Filter.2.Value.1=running&Filter.2.Value.2=pending"
			    "&MaxResults=1000");
	awsp_query_release(&q);

	awsp_query_init(&q, "DescribeInstanceStatus", "2016-11-15");
	awsp_query_add_ec2_list(&q, "InstanceId", ids, 2);
	awsp_query_add_bool(&q, "IncludeAllInstances", false);
	awsp_query_add_bool(&q, "DryRun", true);
	assert_string_equal(q.body.buf,
			    "Action=DescribeInstanceStatus&Version=2016-11-15"
			    "&InstanceId.1=i-1&InstanceId.2=i-2"
			    "&IncludeAllInstances=false&DryRun=true");
	awsp_query_release(&q);

	awsp_query_init(&q, "AllocateAddress", "2016-11-15");
	awsp_query_add(&q, "Domain", "vpc");
	awsp_query_addf(&q, "elastic-ip", "TagSpecification.%d.ResourceType",
			1);
	awsp_query_addf(&q, "Name", "TagSpecification.%d.Tag.%d.Key", 1, 1);
	awsp_query_addf(&q, "vip db", "TagSpecification.%d.Tag.%d.Value", 1, 1);
	assert_string_equal(q.body.buf,
			    "Action=AllocateAddress&Version=2016-11-15"
			    "&Domain=vpc"
			    "&TagSpecification.1.ResourceType=elastic-ip"
			    "&TagSpecification.1.Tag.1.Key=Name"
			    "&TagSpecification.1.Tag.1.Value=vip+db");
	awsp_query_release(&q);
}

static void test_member_lists(void **state)
{
	struct awsp_query q;
	const char *names[] = { "web", "db/1" };

	(void)state;
	awsp_query_init(&q, "RegisterTargets", "2015-12-01");
	awsp_query_add(&q, "TargetGroupArn",
		       "arn:aws:elasticloadbalancing:us-east-1:1:tg/w/1");
	awsp_query_addf(&q, "i-1", "Targets.member.%d.Id", 1);
	awsp_query_add_int(&q, "Targets.member.1.Port", 8080);
	awsp_query_addf(&q, "all", "Targets.member.%d.AvailabilityZone", 2);
	assert_string_equal(
		q.body.buf,
		"Action=RegisterTargets&Version=2015-12-01"
		"&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1"
		"%3A1%3Atg%2Fw%2F1"
		"&Targets.member.1.Id=i-1&Targets.member.1.Port=8080"
		"&Targets.member.2.AvailabilityZone=all");
	awsp_query_release(&q);

	awsp_query_init(&q, "DescribeTargetGroups", "2015-12-01");
	awsp_query_add_member_list(&q, "Names", names, 2);
	awsp_query_add_int(&q, "PageSize", -1);
	awsp_query_add(&q, "Marker", "");
	awsp_query_add(&q, "Marker", NULL);
	assert_string_equal(q.body.buf,
			    "Action=DescribeTargetGroups&Version=2015-12-01"
			    "&Names.member.1=web&Names.member.2=db%2F1"
			    "&PageSize=-1&Marker=&Marker=");
	awsp_query_release(&q);
	awsp_query_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encode_matches_urlencode),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_ec2_flattening),
		cmocka_unit_test(test_member_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
