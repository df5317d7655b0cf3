#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "spec/spec.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

/* Decoding of the probes that read AWS (target_health, instance_health,
 * instance_status): the kinds, where they may appear, their errors. */

#define HEAD                                              \
	"version: 1\n"                                    \
	"region: us-east-1\n"                             \
	"elastic_ips:\n"                                  \
	"  - allocation_id: eipalloc-0123456789abcdef0\n" \
	"    failover:\n"
#define ID_A "i-0aaaaaaaaaaaaaaaa"
#define ID_B "i-0bbbbbbbbbbbbbbbb"
#define TG_ARN                                                             \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" \
	"web-tg/0123456789abcdef"

static int load(const char *yaml, struct spec **ret, struct spec_diags *d)
{
	struct util_err err = UTIL_ERR_INIT;

	return spec_load_buffer("t.yaml", yaml, strlen(yaml), ret, d, &err);
}

static void dump(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		print_message("  %s\n", b.buf);
	}
	buf_release(&b);
}

static struct spec *load_ok(const char *yaml, struct spec_diags *d)
{
	struct spec *s = NULL;

	if (load(yaml, &s, d) != 0) {
		dump(d);
		fail_msg("expected a valid spec");
	}
	return s;
}

static void test_block_kinds(void **state)
{
	static const struct {
		const char *probe;
		enum spec_probe_kind kind;
		const char *ref;
	} cases[] = {
		{ "{target_health: web-tg}", SPEC_PROBE_TARGET_HEALTH,
		  "web-tg" },
		{ "{target_health: " TG_ARN "}", SPEC_PROBE_TARGET_HEALTH,
		  TG_ARN },
		{ "{instance_health: web-elb}", SPEC_PROBE_INSTANCE_HEALTH,
		  "web-elb" },
		{ "{instance_status: ok}", SPEC_PROBE_INSTANCE_STATUS, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[1024];
		struct spec_diags d = { 0 };
		struct spec *s;
		const struct spec_probe *p;

		snprintf(yaml, sizeof(yaml),
			 HEAD "      candidates: [" ID_A ", " ID_B "]\n"
			      "      probe: %s\n",
			 cases[i].probe);
		s = load_ok(yaml, &d);
		p = &s->eips[0].failover.probe;
		assert_int_equal(p->kind, cases[i].kind);
		assert_true(spec_probe_reads_aws(p->kind));
		if (cases[i].ref)
			assert_string_equal(p->aws_ref, cases[i].ref);
		else
			assert_null(p->aws_ref);
		assert_int_equal(p->loc.line, 7);
		spec_free(s);
		spec_diags_release(&d);
	}
	assert_false(spec_probe_reads_aws(SPEC_PROBE_HTTP));
	assert_false(spec_probe_reads_aws(SPEC_PROBE_TCP));
	assert_false(spec_probe_reads_aws(SPEC_PROBE_NONE));
}

/* Per candidate, mixed with a network probe of the block. */
static void test_per_candidate(void **state)
{
	struct spec_diags d = { 0 };
	struct spec *s;
	const struct spec_failover *f;

	(void)state;
	s = load_ok(HEAD "      candidates:\n"
			 "        - {instance: " ID_A
			 ", probe: {instance_status: ok}}\n"
			 "        - instance: " ID_B "\n"
			 "          probe: {instance_health: web-elb}\n"
			 "      probe: {tcp: 22}\n",
		    &d);
	f = &s->eips[0].failover;
	assert_int_equal(f->probe.kind, SPEC_PROBE_TCP);
	assert_int_equal(f->candidates[0].probe.kind,
			 SPEC_PROBE_INSTANCE_STATUS);
	assert_int_equal(f->candidates[1].probe.kind,
			 SPEC_PROBE_INSTANCE_HEALTH);
	assert_string_equal(f->candidates[1].probe.aws_ref, "web-elb");
	spec_free(s);
	spec_diags_release(&d);
}

struct bad {
	const char *probe;
	unsigned line, col;
	const char *frag;
};

static void test_errors(void **state)
{
	static const struct bad cases[] = {
		{ "{target_health: -web}", 7, 30,
		  "invalid target group name '-web' in 'target_health'" },
		{ "{target_health: \"arn:aws:elasticloadbalancing:x\"}", 7, 30,
		  "invalid target group ARN" },
		{ "{target_health: \"arn:aws:elasticloadbalancing:eu-west-1:"
		  "123456789012:targetgroup/web-tg/0123456789abcdef\"}",
		  7, 30, "is in region 'eu-west-1', not the spec's" },
		{ "{target_health: 12}", 7, 30,
		  "'target_health' must be a string" },
		{ "{instance_health: web_elb}", 7, 32,
		  "invalid classic ELB name 'web_elb' in 'instance_health'" },
		{ "{instance_health: \"\"}", 7, 32,
		  "'instance_health' is an empty string" },
		{ "{instance_status: impaired}", 7, 32,
		  "invalid 'instance_status' 'impaired' (expected ok)" },
		{ "{instance_status: ok, target_health: web-tg}", 7, 36,
		  "'target_health' cannot be combined with 'instance_status'" },
		{ "{http: \"http://{private_ip}/\", instance_status: ok}", 7,
		  45, "'instance_status' cannot be combined with 'http'" },
		{ "{instance_status: ok, host: db}", 7, 36,
		  "'host' is only for tcp probes" },
		{ "{instance_stat: ok}", 7, 15,
		  "unknown key 'instance_stat', did you mean "
		  "'instance_status'?" },
		{ "{}", 7, 14,
		  "a probe needs 'http: URL' or 'tcp: PORT' (or, read from "
		  "AWS, 'target_health: GROUP'" },
	};
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char yaml[1024];
		struct spec_diags d = { 0 };
		struct spec *s = NULL;
		const struct spec_diag *g = NULL;
		int r;

		snprintf(yaml, sizeof(yaml),
			 HEAD "      candidates: [" ID_A ", " ID_B "]\n"
			      "      probe: %s\n",
			 cases[i].probe);
		r = load(yaml, &s, &d);
		/* The error this probe causes, wherever it sorts. */
		for (size_t k = 0; k < d.n && !g; k++)
			if (d.v[k].severity == SPEC_ERROR &&
			    d.v[k].line == cases[i].line &&
			    d.v[k].col == cases[i].col &&
			    strstr(d.v[k].msg, cases[i].frag))
				g = &d.v[k];
		if (r != UTIL_EINVAL || s || !g) {
			print_message("case '%s': want %u:%u '%s':\n",
				      cases[i].probe, cases[i].line,
				      cases[i].col, cases[i].frag);
			dump(&d);
			failed++;
		}
		spec_free(s);
		spec_diags_release(&d);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_kinds),
		cmocka_unit_test(test_per_candidate),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
