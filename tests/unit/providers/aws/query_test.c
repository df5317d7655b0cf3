#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
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

/* The encoding byte by byte, as the rules in query.h state it. */
static void reference_encode(const unsigned char *s, size_t len, bool form,
			     bool keep_slash, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (keep_slash && c == '/'))
			buf_addch(out, (char)c);
		else if (form && c == ' ')
			buf_addch(out, '+');
		else
			buf_addf(out, "%%%02X", c);
	}
}

static void test_encode_runs(void **state)
{
	unsigned char s[4096];
	struct buf got = BUF_INIT, want = BUF_INIT;
	unsigned x = 12345;

	(void)state;
	/* Every byte value, in runs of every length, at both ends. */
	for (size_t i = 0; i < sizeof(s); i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (x >> 16) % 4 ? (unsigned char)('a' + (x >> 8) % 26)
				     : (unsigned char)(x >> 20);
	}
	for (size_t len = 0; len < 64; len++) {
		for (int mode = 0; mode < 3; mode++) {
			buf_reset(&got);
			buf_reset(&want);
			if (mode == 0)
				awsp_form_encode((const char *)s + len, len,
						 &got);
			else
				awsp_uri_encode((const char *)s + len, len,
						mode == 2, &got);
			reference_encode(s + len, len, mode == 0, mode == 2,
					 &want);
			assert_int_equal(got.len, want.len);
			assert_memory_equal(got.buf, want.buf, want.len);
		}
	}
	buf_reset(&got);
	buf_reset(&want);
	awsp_form_encode((const char *)s, sizeof(s), &got);
	reference_encode(s, sizeof(s), true, false, &want);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.buf, want.buf, want.len);
	buf_release(&got);
	buf_release(&want);
}

static void test_long_lists_and_names(void **state)
{
	struct awsp_query q;
	const char *v[12] = { "a", "b", "c", "d", "e", "f",
			      "g", "h", "i", "j", "k", "l m" };
	char name[300];

	(void)state;
	awsp_query_init(&q, "X", "1");
	awsp_query_add_ec2_list(&q, "InstanceId", v, 12);
	awsp_query_add_ec2_filter(&q, 10, "tag:a b", v + 10, 2);
	awsp_query_add_member_list(&q, "Names", v, 0);
	assert_string_equal(q.body.buf,
			    "Action=X&Version=1&InstanceId.1=a&InstanceId.2=b"
			    "&InstanceId.3=c&InstanceId.4=d&InstanceId.5=e"
			    "&InstanceId.6=f&InstanceId.7=g&InstanceId.8=h"
			    "&InstanceId.9=i&InstanceId.10=j&InstanceId.11=k"
			    "&InstanceId.12=l+m&Filter.10.Name=tag%3Aa+b"
			    "&Filter.10.Value.1=k&Filter.10.Value.2=l+m");
	awsp_query_release(&q);

	/* A name longer than the stack buffer of awsp_query_addf. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	awsp_query_init(&q, "X", "1");
	awsp_query_addf(&q, "v", "%s/%d", name, 7);
	assert_int_equal(q.body.len, strlen("Action=X&Version=1&") + 299 +
					     strlen("%2F7=v"));
	assert_non_null(strstr(q.body.buf, "nnn%2F7=v"));
	awsp_query_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encode_matches_urlencode),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_ec2_flattening),
		cmocka_unit_test(test_member_lists),
		cmocka_unit_test(test_encode_runs),
		cmocka_unit_test(test_long_lists_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
