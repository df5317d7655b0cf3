/*
 * spec/node.c: YAML itself (syntax, indentation, encoding, keys,
 * anchors, tags, limits), through spec_load_buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "spec/spec.h"
#include "tests/unit/support/spec_testutil.h"
#include "util/array.h"

static const struct tspec_bad bad_cases[] = {
	/* YAML itself */
	{ "syntax error", V1 "load_balancers: [\n", 3, 1,
	  "syntax error: did not find expected node content" },
	{ "syntax error mapping", V1 "region: a: b\n", 2, 10,
	  "syntax error: mapping values are not allowed" },
	{ "tab indentation", V1 "load_balancers:\n\t- classic: web\n", 3, 1,
	  "tab character in indentation" },
	{ "tab after spaces",
	  CLASSIC "      - " ID_A "\n    \townership: additive\n", 6, 5,
	  "tab character in indentation" },
	{ "invalid utf-8", V1 "region: \"us-east-1\xff\"\n", 2, 19,
	  "invalid UTF-8 (byte 0xff)" },
	{ "overlong utf-8", V1 "# \xc0\xaf\n", 2, 3, "invalid UTF-8" },
	{ "control character", V1 "region: \"a\x07\"\n", 2, 11,
	  "control character U+0007" },
	{ "second document", V1 "elastic_ips: []\n---\n" V1, 3, 1,
	  "a second YAML document" },
	{ "duplicate key", V1 "version: 1\nelastic_ips: []\n", 2, 1,
	  "duplicate key 'version' (first at line 1)" },
	{ "duplicate key in flow map",
	  EIPS "  - {name: a, name: b, none: true}\n", 3, 15,
	  "duplicate key 'name' (first at line 3, column 6)" },
	{ "non-scalar key", V1 "[a]: 1\nelastic_ips: []\n", 2, 1,
	  "a key must be a plain string, not a list" },
	{ "unknown anchor", V1 "elastic_ips: *nope\n", 2, 14,
	  "unknown anchor 'nope'" },
	{ "unsupported tag", V1 "elastic_ips: !foo []\n", 2, 14,
	  "unsupported YAML tag '!foo'" },
	{ "alias bomb",
	  V1 "x-a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	     "x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	     "x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	     "x-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	     "x-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	     "x-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	     "x-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	     "x-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	     "x-i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
	  7, 31, "aliases expand to more than 1000000 nodes" },
	{ "too deep",
	  V1 "x-deep: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]"
	     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	     "]]]]]]]]]]]]\n",
	  2, 72, "nesting is deeper than 64 levels" },
};

static void test_invalid_table(void **state)
{
	(void)state;
	assert_int_equal(tspec_check_bad(bad_cases, ARRAY_SIZE(bad_cases)), 0);
	assert_true(ARRAY_SIZE(bad_cases) >= 15);
}

/* Anchors, x- keys, a BOM, CRLF line ends, quoted and tagged scalars. */
static void test_valid_yaml_features(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;

	(void)state;
	s = tspec_load_ok(
		"\xef\xbb\xbfversion: 1\r\n"
		"x-probe: &probe {tcp: 5432}\r\n"
		"x-web: &web {tags: {role: web, \"tier\": !!str 1}}\r\n"
		"load_balancers:\r\n"
		"  - target_group: 'web-tg'\r\n"
		"    members: [{selector: *web, port: !!int 80}]\r\n"
		"elastic_ips:\r\n"
		"  - name: \"vip \\u00e9\"\r\n"
		"    failover:\r\n"
		"      candidates: [" ID_C ", {instance: " ID_D
		", probe: *probe}]\r\n"
		"      probe: *probe\r\n",
		&d);
	assert_string_equal(s->lbs[0].name, "web-tg");
	assert_int_equal(s->lbs[0].members[0].port, 80);
	assert_int_equal(s->lbs[0].members[0].n_tags, 2);
	assert_string_equal(s->lbs[0].members[0].tags[1].key, "tier");
	assert_string_equal(s->lbs[0].members[0].tags[1].value, "1");
	assert_string_equal(s->eips[0].name, "vip \xc3\xa9");
	assert_int_equal(s->eips[0].failover.candidates[1].probe.kind,
			 SPEC_PROBE_TCP);
	assert_int_equal(s->eips[0].failover.probe.tcp_port, 5432);
	/* Locations count lines across CRLF and skip the BOM. */
	assert_int_equal(s->eips[0].loc.line, 8);
	assert_int_equal(s->eips[0].loc.col, 5);
	spec_free(s);
	spec_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_table),
		cmocka_unit_test(test_valid_yaml_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
