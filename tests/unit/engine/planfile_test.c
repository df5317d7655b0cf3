/*
 * Saved plans: the JSON round trip, its fields, malformed files, and a
 * saved plan that applies and goes stale.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconciler/engine/apply.h"
#include "reconciler/engine/planfile.h"
#include "reconciler/engine/render.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/buf.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"

static void test_held_back_json_round_trip(void **state)
{
	struct t_fx *f = *state;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s;
	struct rc_plan *p = t_held_plan(f, &s), *q = NULL;

	assert_int_equal(rc_plan_to_json(p, &a, &err), 0);
	assert_non_null(strstr(a.buf, "\"has_changes\":\ttrue"));
	assert_non_null(strstr(a.buf, "\"changes\":\t0"));
	assert_non_null(strstr(a.buf, "\"held_back\":\t1"));
	assert_non_null(strstr(a.buf, "\"guard\":\t\"min_healthy\""));
	assert_int_equal(rc_plan_from_json("p.json", a.buf, a.len, &q, &err),
			 0);
	assert_int_equal(q->n_held, 1);
	assert_string_equal(q->held[0].key, "tg:web-tg");
	assert_string_equal(q->held[0].members[0].id, C);
	assert_int_equal(q->held[0].members[0].port, 8080);
	assert_int_equal(q->held[0].floor, 2);
	assert_int_equal(q->held[0].healthy, 1);
	assert_int_equal(q->held[0].loc.line, 5);
	assert_true(rc_plan_differs(q));
	assert_false(rc_plan_has_changes(q));
	assert_int_equal(rc_plan_to_json(q, &b, &err), 0);
	assert_string_equal(a.buf, b.buf);
	rc_plan_free(q);
	q = NULL;
	/* An unknown guard is refused. */
	buf_reset(&b);
	buf_addstr(&b, a.buf);
	memcpy(strstr(b.buf, "min_healthy"), "max_healthy", 11);
	assert_int_equal(rc_plan_from_json("p.json", b.buf, b.len, &q, &err),
			 UTIL_EINVAL);
	assert_string_equal(err.msg, "p.json: not a valid moor plan: guard "
				     "'max_healthy' is unknown");
	assert_null(q);
	rc_plan_free(p);
	spec_free(s);
	buf_release(&a);
	buf_release(&b);
}

static void test_json_round_trip(void **state)
{
	struct t_fx *f = *state;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	struct rc_plan *q = NULL;

	assert_int_equal(rc_plan_to_json(f->plan, &a, &err), 0);
	assert_true(rc_plan_is_json(a.buf, a.len));
	assert_false(rc_plan_is_json(t_fx_yaml, strlen(t_fx_yaml)));
	assert_int_equal(rc_plan_from_json("p.json", a.buf, a.len, &q, &err),
			 0);
	assert_int_equal(rc_plan_to_json(q, &b, &err), 0);
	assert_string_equal(a.buf, b.buf);
	/* Renders the same, too. */
	buf_reset(&a);
	buf_reset(&b);
	rc_render_text(f->plan, 0, &a);
	rc_render_text(q, 0, &b);
	assert_string_equal(a.buf, b.buf);
	assert_int_equal(q->n_steps, 8);
	assert_int_equal(q->steps[7].n_deps, 2);
	assert_string_equal(q->steps[2].tg_arn, memprov_tg_arn(f->m, "web-tg"));
	/* The enable-zones step, its zones and the registration after it. */
	assert_int_equal(q->steps[1].action, RC_ACT_ENABLE_ZONES);
	assert_int_equal(q->steps[1].phase, RC_PHASE_ENABLE_ZONES);
	assert_int_equal(q->steps[1].n_zones, 1);
	assert_string_equal(q->steps[1].zones[0], "us-east-1c");
	assert_int_equal(q->steps[3].n_deps, 1);
	assert_int_equal(q->steps[3].deps[0], 2);
	assert_string_equal(q->fingerprint, f->plan->fingerprint);
	rc_plan_free(q);
	buf_release(&a);
	buf_release(&b);
}

static void test_json_fields(void **state)
{
	struct t_fx *f = *state;
	struct buf a = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(rc_plan_to_json(f->plan, &a, &err), 0);
	assert_non_null(strstr(a.buf, "\"format_version\":\t2,"));
	assert_non_null(strstr(a.buf, "\"account\":\t\"123456789012\""));
	assert_non_null(strstr(a.buf, "\"phase\":\t\"wait-healthy\""));
	assert_non_null(strstr(a.buf, "\"has_changes\":\ttrue"));
	assert_non_null(strstr(a.buf, "\"key\":\t\"tg:web-tg\""));
	assert_non_null(strstr(a.buf, "\"phase\":\t\"enable-zones\",\n"
				      "\t\t\t\"phase_number\":\t2,\n"
				      "\t\t\t\"action\":\t\"enable-zones\""));
	assert_non_null(strstr(a.buf, "\"zones\":\t[\"us-east-1c\"]"));
	assert_non_null(strstr(a.buf, "\"enable_zones\":\t1,"));
	buf_release(&a);
}

static void expect_bad(const char *json, const char *msg)
{
	struct util_err err = UTIL_ERR_INIT;
	struct rc_plan *q = NULL;

	assert_int_equal(rc_plan_from_json("p.json", json, strlen(json), &q,
					   &err),
			 UTIL_EINVAL);
	assert_null(q);
	assert_string_equal(err.msg, msg);
}

static void test_json_malformed(void **state)
{
	struct t_fx *f = *state;
	struct buf a = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	char *p;

	(void)f;
	expect_bad("[1]", "p.json: not a valid moor plan: not a JSON object");
	expect_bad("{\"format_version\": 3}",
		   "p.json: plan format version 3 is not supported (this moor "
		   "reads version 2)");
	expect_bad("{\"format_version\": 2}",
		   "p.json: not a valid moor plan: spec is missing");
	/* Editing the observed set is caught. */
	assert_int_equal(rc_plan_to_json(f->plan, &a, &err), 0);
	p = strstr(a.buf, "\"resources\"");
	p = strstr(p, "\"fingerprint\":\t\"") + 16;
	*p = *p == 'a' ? 'b' : 'a';
	expect_bad(a.buf, "p.json: not a valid moor plan: observed fingerprint "
			  "does not match its resources");
	buf_release(&a);
}

static void test_saved_plan_applies_and_goes_stale(void **state)
{
	struct t_fx *f = *state;
	char path[] = "/tmp/planfile_test_XXXXXX";
	struct util_err err = UTIL_ERR_INIT;
	struct rc_apply_opts ao = { .check_stale = true,
				    .poll_min_ms = 1,
				    .poll_max_ms = 1,
				    .concurrency = 1 };
	struct rc_report rep;
	struct rc_plan *q = NULL;
	struct buf b = BUF_INIT;
	FILE *fp;
	int fd = mkstemp(path);
	long len;

	assert_true(fd >= 0);
	close(fd);
	memprov_set_healthy_after(f->m, 0);
	assert_int_equal(rc_plan_save(f->plan, path, &err), 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	assert_int_equal(buf_grow(&b, (size_t)len), 0);
	assert_int_equal(fread(b.buf, 1, (size_t)len, fp), (size_t)len);
	buf_setlen(&b, (size_t)len);
	fclose(fp);
	unlink(path);
	assert_int_equal(rc_plan_from_json(path, b.buf, b.len, &q, &err), 0);

	/* Stale: someone moved the address meanwhile. */
	memprov_bind(f->m, "eipalloc-0000000a", C, NULL);
	assert_int_equal(rc_apply(f->p, q, &ao, &rep, &err), UTIL_ECONFLICT);
	assert_int_equal(rep.n_stale, 1);
	assert_string_equal(rep.stale[0], "eip:ip:203.0.113.10");
	buf_reset(&b);
	rc_render_report(q, &rep, 0, &b);
	assert_string_equal(b.buf, "Stale plan: these changed since it was "
				   "made:\n  eip:ip:203.0.113.10\nNothing was "
				   "done. Run moor plan again.\n");
	rc_report_release(&rep);
	util_err_clear(&err);

	/* Put back: the saved plan applies exactly. */
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_clear_calls(f->m);
	assert_int_equal(rc_apply(f->p, q, &ao, &rep, &err), 0);
	{
		char *m = memprov_mutations(f->m);

		assert_string_equal(m,
				    "allocate Name=vip-db\n"
				    "classic_enable_zones web-classic "
				    "us-east-1c\n"
				    "tg_register web-tg " B ":8080\n"
				    "classic_register web-classic i-00000003\n"
				    "associate eipalloc-0000000a instance=" B
				    " reassoc=1\n"
				    "tg_deregister web-tg " C ":8080\n");
		free(m);
	}
	buf_reset(&b);
	rc_render_report(q, &rep, 0, &b);
	assert_non_null(strstr(b.buf, "done     * vip-db: allocate a VPC "
				      "address tagged Name=vip-db  # declared "
				      "with allocate, none found by its Name "
				      "tag => eipalloc-m"));
	assert_non_null(strstr(b.buf, "Apply complete: 8 done, 0 already in "
				      "place, 0 skipped, 0 failed.\n"));
	rc_report_release(&rep);
	rc_plan_free(q);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, t_fx_setup, t_fx_teardown)
		T(test_held_back_json_round_trip),
		T(test_json_round_trip),
		T(test_json_fields),
		T(test_json_malformed),
		T(test_saved_plan_applies_and_goes_stale),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
