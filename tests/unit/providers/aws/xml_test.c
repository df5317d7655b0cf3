#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"

/* Records every event as one line: "S path", "T path=text", "E path". */
struct rec {
	struct buf log;
	const char *fail_at; /* text path whose callback fails */
	char root[64];
};

static int rec_root(void *ctx, const char *name, struct util_err *err)
{
	struct rec *r = ctx;

	(void)err;
	snprintf(r->root, sizeof(r->root), "%s", name);
	return 0;
}

static int rec_start(void *ctx, const char *path, struct util_err *err)
{
	struct rec *r = ctx;

	(void)err;
	buf_addf(&r->log, "S %s\n", path);
	return 0;
}

static int rec_text(void *ctx, const char *path, const char *text, size_t len,
		    struct util_err *err)
{
	struct rec *r = ctx;

	assert_int_equal(strlen(text), len);
	if (r->fail_at && !strcmp(path, r->fail_at))
		return util_err_set(err, UTIL_EINVAL, "bad %s", path);
	buf_addf(&r->log, "T %s=%s\n", path, text);
	return 0;
}

static int rec_end(void *ctx, const char *path, struct util_err *err)
{
	struct rec *r = ctx;

	(void)err;
	buf_addf(&r->log, "E %s\n", path);
	return 0;
}

static const struct awsp_xml_handler rec_handler = {
	.root = rec_root, .start = rec_start, .text = rec_text, .end = rec_end
};

static int parse(struct rec *r, const char *xml, const char *root,
		 struct util_err *err)
{
	buf_init(&r->log, 0);
	return awsp_xml_parse(xml, strlen(xml), root, &rec_handler, r, err);
}

static void test_paths_and_text(void **state)
{
	struct rec r = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<DescribeInstancesResponse "
		"xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
		"  <requestId>r-1</requestId>\n"
		"  <reservationSet>\n"
		"    <item><instancesSet><item>\n"
		"      <instanceId>i-1</instanceId>\n"
		"      <x:tag xmlns:x=\"urn:x\">a &amp; b &lt;c&gt;</x:tag>\n"
		"      <empty/>\n"
		"      <cdata><![CDATA[<raw>]]></cdata>\n"
		"    </item></instancesSet></item>\n"
		"  </reservationSet>\n"
		"</DescribeInstancesResponse>\n";

	(void)state;
	assert_int_equal(parse(&r, xml, "DescribeInstancesResponse", &err), 0);
	assert_string_equal(r.root, "DescribeInstancesResponse");
	assert_string_equal(
		r.log.buf,
		"S requestId\nT requestId=r-1\nE requestId\n"
		"S reservationSet\nS reservationSet/item\n"
		"S reservationSet/item/instancesSet\n"
		"S reservationSet/item/instancesSet/item\n"
		"S reservationSet/item/instancesSet/item/instanceId\n"
		"T reservationSet/item/instancesSet/item/instanceId=i-1\n"
		"E reservationSet/item/instancesSet/item/instanceId\n"
		"S reservationSet/item/instancesSet/item/tag\n"
		"T reservationSet/item/instancesSet/item/tag=a & b <c>\n"
		"E reservationSet/item/instancesSet/item/tag\n"
		"S reservationSet/item/instancesSet/item/empty\n"
		"T reservationSet/item/instancesSet/item/empty=\n"
		"E reservationSet/item/instancesSet/item/empty\n"
		"S reservationSet/item/instancesSet/item/cdata\n"
		"T reservationSet/item/instancesSet/item/cdata=<raw>\n"
		"E reservationSet/item/instancesSet/item/cdata\n"
		"E reservationSet/item/instancesSet/item\n"
		"E reservationSet/item/instancesSet\n"
		"E reservationSet/item\nE reservationSet\n");
	assert_false(util_err_isset(&err));
	buf_release(&r.log);
}

static void test_wrong_root(void **state)
{
	struct rec r = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(parse(&r, "<FooResponse><a>1</a></FooResponse>",
			       "BarResponse", &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "FooResponse"));
	/* Nothing below a wrong root is reported. */
	assert_string_equal(r.log.buf, "");
	buf_release(&r.log);
}

static void test_malformed_and_truncated(void **state)
{
	static const char *const bad[] = {
		"<a><b>1</a>",
		"<a><b>1</b>",			 /* truncated */
		"<a><b>1</b></a><c/>",		 /* two roots */
		"",				 /* empty body */
		"<a>\xff\xfe</a>",		 /* not UTF-8 */
		"<a><b x='1' x='2'/></a>",	 /* duplicate attribute */
		"not xml at all",		 /* text */
		"<a><b>&undefined;</b></a>",	 /* unknown entity */
		"<?xml version=\"1.0\"?><a><b>", /* truncated */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct rec r = { 0 };
		struct util_err err = UTIL_ERR_INIT;

		assert_int_equal(parse(&r, bad[i], NULL, &err), UTIL_EINVAL);
		assert_int_equal(err.code, UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "XML"));
		buf_release(&r.log);
	}
}

static void test_doctype_refused(void **state)
{
	struct rec r = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const char *lol = "<?xml version=\"1.0\"?>\n"
			  "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
			  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n"
			  "<lolz><a>&lol2;</a></lolz>";

	(void)state;
	assert_int_equal(parse(&r, lol, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "DOCTYPE"));
	assert_string_equal(r.log.buf, "");
	buf_release(&r.log);
}

static void test_depth_limit(void **state)
{
	struct buf x = BUF_INIT;
	struct rec r = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	for (int i = 0; i < AWSP_XML_MAX_DEPTH + 1; i++)
		buf_addstr(&x, "<a>");
	for (int i = 0; i < AWSP_XML_MAX_DEPTH + 1; i++)
		buf_addstr(&x, "</a>");
	assert_int_equal(parse(&r, x.buf, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "deep"));
	buf_release(&r.log);

	/* Exactly at the limit is fine. */
	buf_reset(&x);
	for (int i = 0; i < AWSP_XML_MAX_DEPTH; i++)
		buf_addstr(&x, "<a>");
	for (int i = 0; i < AWSP_XML_MAX_DEPTH; i++)
		buf_addstr(&x, "</a>");
	util_err_clear(&err);
	assert_int_equal(parse(&r, x.buf, NULL, &err), 0);
	buf_release(&r.log);
	buf_release(&x);
}

static void test_callback_failure_stops(void **state)
{
	struct rec r = { .fail_at = "b" };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(parse(&r, "<a><b>1</b><c>2</c></a>", NULL, &err),
			 UTIL_EINVAL);
	assert_string_equal(err.msg, "bad b");
	/* Nothing after the failing element is reported. */
	assert_null(strstr(r.log.buf, "c"));
	buf_release(&r.log);
}

static void test_text_only_for_leaves(void **state)
{
	struct rec r = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(parse(&r,
			       "<r><p>junk<c>v</c>more</p><q>  sp  </q></r>",
			       NULL, &err),
			 0);
	assert_string_equal(r.log.buf, "S p\nS p/c\nT p/c=v\nE p/c\nE p\n"
				       "S q\nT q=  sp  \nE q\n");
	buf_release(&r.log);
}

static void test_path_helpers(void **state)
{
	(void)state;
	assert_string_equal(awsp_xml_under("a/b/c", "a/b"), "c");
	assert_string_equal(awsp_xml_under("a/b/c/d", "a"), "b/c/d");
	assert_null(awsp_xml_under("a/bc", "a/b"));
	assert_null(awsp_xml_under("a/b", "a/b"));
	assert_null(awsp_xml_under("x/a/b", "a"));
	assert_true(awsp_xml_is("a/b", "a/b"));
	assert_false(awsp_xml_is("a/b", "a"));
}

static void test_conversions(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	long v = 7;
	bool b = false;

	(void)state;
	assert_int_equal(awsp_xml_int("p", "8080", 0, 65535, &v, &err), 0);
	assert_int_equal(v, 8080);
	assert_int_equal(awsp_xml_int("p", "-1", -1, 5, &v, &err), 0);
	assert_int_equal(v, -1);
	static const char *const bad[] = {
		"", "x", "1x", " 1", "+1", "65536", "99999999999999999999"
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		util_err_clear(&err);
		v = 7;
		assert_int_equal(awsp_xml_int("port", bad[i], 0, 65535, &v,
					      &err),
				 UTIL_EINVAL);
		assert_int_equal(v, 7);
		assert_non_null(strstr(err.msg, "<port>"));
	}
	assert_int_equal(awsp_xml_bool("p", "true", &b, &err), 0);
	assert_true(b);
	assert_int_equal(awsp_xml_bool("p", "false", &b, &err), 0);
	assert_false(b);
	util_err_clear(&err);
	assert_int_equal(awsp_xml_bool("p", "TRUE", &b, &err), UTIL_EINVAL);
}

static void test_error_envelopes(void **state)
{
	struct awsp_aws_error e;
	const char *ec2 =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Response><Errors><Error><Code>InvalidInstanceID.NotFound"
		"</Code><Message>The instance ID 'i-1' does not exist</Message>"
		"</Error><Error><Code>Second</Code></Error></Errors>"
		"<RequestID>ea966190-f9aa-478e-9ede-example</RequestID>"
		"</Response>";
	const char *query =
		"<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws"
		".com/doc/2015-12-01/\"><Error><Type>Sender</Type>"
		"<Code>Throttling</Code><Message>Rate exceeded</Message>"
		"</Error><RequestId>a1b2</RequestId></ErrorResponse>";
	const char *bare = "<Error><Code>AccessDenied</Code><Message>no"
			   "</Message><RequestId>x9</RequestId></Error>";

	(void)state;
	assert_int_equal(awsp_xml_parse_error(ec2, strlen(ec2), &e), 0);
	assert_string_equal(e.code, "InvalidInstanceID.NotFound");
	assert_string_equal(e.message, "The instance ID 'i-1' does not exist");
	assert_string_equal(e.request_id, "ea966190-f9aa-478e-9ede-example");
	assert_null(e.type);
	awsp_aws_error_release(&e);

	assert_int_equal(awsp_xml_parse_error(query, strlen(query), &e), 0);
	assert_string_equal(e.code, "Throttling");
	assert_string_equal(e.message, "Rate exceeded");
	assert_string_equal(e.type, "Sender");
	assert_string_equal(e.request_id, "a1b2");
	awsp_aws_error_release(&e);

	assert_int_equal(awsp_xml_parse_error(bare, strlen(bare), &e), 0);
	assert_string_equal(e.code, "AccessDenied");
	assert_string_equal(e.request_id, "x9");
	awsp_aws_error_release(&e);
	awsp_aws_error_release(&e); /* twice is fine */
}

static void test_not_error_envelopes(void **state)
{
	static const char *const docs[] = {
		"<DescribeInstancesResponse><Code>x</Code>"
		"</DescribeInstancesResponse>",
		"<Response><Errors><Error><Message>m</Message></Error></Errors>"
		"</Response>",				/* no code */
		"<ErrorResponse><Error><Code>X</Code>", /* truncated */
		"<html><body>502 Bad Gateway</body></html>",
		"",
	};
	struct awsp_aws_error e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		assert_int_equal(awsp_xml_parse_error(docs[i], strlen(docs[i]),
						      &e),
				 UTIL_EINVAL);
		assert_null(e.code);
		assert_null(e.message);
		assert_null(e.request_id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_and_text),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_doctype_refused),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_callback_failure_stops),
		cmocka_unit_test(test_text_only_for_leaves),
		cmocka_unit_test(test_path_helpers),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_error_envelopes),
		cmocka_unit_test(test_not_error_envelopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
