/*
 * Rendering: text, markdown and the apply report.
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

#include "reconciler/engine/apply.h"
#include "reconciler/engine/render.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/buf.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"

static const char text_want[] =
	"* vip-db: allocate a VPC address tagged Name=vip-db  # declared "
	"with allocate, none found by its Name tag\n"
	"+ web-classic: enable zone us-east-1c  # enable_zones: new members "
	"sit in us-east-1c, which web-classic does not serve\n"
	"+ web-tg: register " B ":8080 (web)  # declared, not registered\n"
	"+ web-classic: register i-00000003  # declared, not registered\n"
	"  web-tg: wait until healthy (up to 5m): " B
	":8080 (web)  # new members must pass health checks\n"
	"  web-classic: wait until healthy (up to 5m): i-00000003  # new "
	"members must pass health checks\n"
	"~ 203.0.113.10: move " A " (private IP 10.0.0.10) -> " B
	"  # declared " B ", bound to " A "\n"
	"- web-tg: deregister " C ":8080  # registered, not declared\n"
	"\n"
	"spec.yaml:4:39: warning: web-tg: selector role=none|running matches "
	"no instance\n"
	"info: spec.yaml:5:5: web-classic: 1 registered member not declared, "
	"left alone (ownership: additive): i-0000000f\n"
	"\n"
	"Plan: 1 to allocate, 1 zone to enable, 2 to register, 1 to move, 1 "
	"to deregister (6 changes, 2 waits). 1 warning.\n";

static void test_text(void **state)
{
	struct t_fx *f = *state;
	struct buf b = BUF_INIT;

	rc_render_text(f->plan, 0, &b);
	assert_string_equal(b.buf, text_want);
	assert_null(strchr(b.buf, '\033'));
	buf_reset(&b);
	rc_render_text(f->plan, RC_RENDER_COLOR, &b);
	assert_non_null(strstr(b.buf, "\033[33m~\033[0m "));
	assert_non_null(strstr(b.buf, "\033[32m+\033[0m "));
	assert_non_null(strstr(b.buf, "\033[31m-\033[0m "));
	assert_non_null(strstr(b.buf, "\033[36m*\033[0m "));
	buf_release(&b);
}

static void test_text_no_changes(void **state)
{
	struct t_fx *f = *state;
	struct buf b = BUF_INIT;
	struct rc_plan *p;
	char *errors = NULL;
	struct spec *s = t_spec(V1 "load_balancers:\n"
				   "  - target_group: web-tg\n"
				   "    members: [" A ", " C "]\n");

	p = t_plan(f->p, s, NULL, &errors);
	assert_non_null(p);
	rc_render_text(p, 0, &b);
	assert_string_equal(b.buf,
			    "No changes: live state matches spec.yaml.\n");
	rc_plan_free(p);
	spec_free(s);
	buf_release(&b);
}

static const char held_line[] =
	"web-tg: held back by min_healthy: deregistering " C
	":8080 would leave 1 healthy, the floor is 2";

static void test_held_back_text(void **state)
{
	struct t_fx *f = *state;
	struct buf b = BUF_INIT, want = BUF_INIT;
	struct spec *s, *s2;
	struct rc_plan *p = t_held_plan(f, &s), *p2;
	char *errors = NULL;

	rc_render_text(p, 0, &b);
	buf_addf(&want,
		 "! %s\n\nPlan: 1 held back (0 changes): live state differs "
		 "from spec.yaml.\n",
		 held_line);
	assert_string_equal(b.buf, want.buf);
	buf_reset(&b);
	rc_render_text(p, RC_RENDER_COLOR, &b);
	assert_non_null(strstr(b.buf, "\033[33m!\033[0m "));
	/* With changes beside it, the summary counts both. */
	s2 = t_spec(V1 "load_balancers:\n"
		       "  - target_group: web-tg\n"
		       "    members: [" A ", " B ", i-0000000d]\n"
		       "    wait: registered\n"
		       "    min_healthy: 2\n");
	p2 = t_plan(f->p, s2, NULL, &errors);
	assert_non_null(p2);
	buf_reset(&b);
	rc_render_summary(p2, &b);
	assert_string_equal(b.buf, "Plan: 1 to register, 1 held back (1 "
				   "change, 1 wait).");
	rc_plan_free(p2);
	spec_free(s2);
	rc_plan_free(p);
	spec_free(s);
	buf_release(&b);
	buf_release(&want);
}

static void test_held_back_markdown(void **state)
{
	struct t_fx *f = *state;
	struct buf b = BUF_INIT;
	struct spec *s;
	struct rc_plan *p = t_held_plan(f, &s);

	rc_render_markdown(p, &b);
	assert_non_null(strstr(b.buf, "**Plan: 1 held back (0 changes): live "
				      "state differs from spec.yaml.**"));
	assert_non_null(strstr(b.buf,
			       "**Held back** (live state differs; a guard "
			       "keeps moor from changing it)\n\n"
			       "- ⏸️ web-tg: held back by min\\_healthy: "
			       "deregistering " C ":8080 would leave 1 "
			       "healthy, the floor is 2 (`spec.yaml:5:18`)\n"));
	assert_non_null(strstr(b.buf, "<details><summary>0 steps</summary>"));
	assert_non_null(strstr(b.buf, "```diff\n! "));
	assert_non_null(strstr(b.buf, held_line));
	rc_plan_free(p);
	spec_free(s);
	buf_release(&b);
}

static void test_markdown(void **state)
{
	struct t_fx *f = *state;
	struct buf b = BUF_INIT;
	char want_tail[200];

	rc_render_markdown(f->plan, &b);
	assert_true(snprintf(want_tail, sizeof(want_tail),
			     "<sub>observed fingerprint `%.16s` · spec sha256 "
			     "`%.16s` · moor unknown</sub>\n",
			     f->plan->fingerprint, f->s->sha256) > 0);
	assert_non_null(strstr(b.buf, want_tail));
	b.buf[b.len - strlen(want_tail)] = '\0';
	assert_string_equal(
		b.buf,
		"### moor plan: `spec.yaml`\n\n"
		"**Plan: 1 to allocate, 1 zone to enable, 2 to register, 1 to "
		"move, 1 to deregister (6 changes, 2 waits). 1 warning.** "
		"(account "
		"`123456789012`)\n\n"
		"| load balancer | kind | members before → after | healthy now "
		"| register | deregister |\n"
		"|---|---|---|---|---|---|\n"
		"| web-tg | target group | 2 → 2 | 2 | 1 | 1 |\n"
		"| web-classic | classic, additive | 1 → 2 | 1 | 1 | 0 |\n\n"
		"**Elastic IPs**\n\n"
		"- `203.0.113.10`: " A " → " B "\n"
		"- `vip-db`: unbound → unbound (allocated)\n\n"
		"**Warnings**\n\n"
		"- ⚠️ spec.yaml:4:39: warning: web-tg: selector "
		"role=none\\|running matches no instance\n\n"
		"<details><summary>8 steps</summary>\n\n"
		"```diff\n"
		"* vip-db: allocate a VPC address tagged Name=vip-db  # "
		"declared with allocate, none found by its Name tag\n"
		"+ web-classic: enable zone us-east-1c  # enable_zones: new "
		"members sit in us-east-1c, which web-classic does not "
		"serve\n"
		"+ web-tg: register " B ":8080 (web)  # declared, not "
		"registered\n"
		"+ web-classic: register i-00000003  # declared, not "
		"registered\n"
		"  web-tg: wait until healthy (up to 5m): " B ":8080 (web)  # "
		"new members must pass health checks\n"
		"  web-classic: wait until healthy (up to 5m): i-00000003  # "
		"new members must pass health checks\n"
		"~ 203.0.113.10: move " A " (private IP 10.0.0.10) -> " B
		"  # declared " B ", bound to " A "\n"
		"- web-tg: deregister " C ":8080  # registered, not "
		"declared\n"
		"# info: spec.yaml:5:5: web-classic: 1 registered member not "
		"declared, left alone (ownership: additive): i-0000000f\n"
		"```\n\n</details>\n\n");
	buf_release(&b);
}

static void test_report_failure_lines(void **state)
{
	struct t_fx *f = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct rc_apply_opts ao = { .poll_min_ms = 1,
				    .poll_max_ms = 1,
				    .concurrency = 1 };
	struct rc_report rep;
	struct buf b = BUF_INIT;

	memprov_fail(f->m, "tg_register", NULL, -1, "InvalidTarget", 0, false);
	assert_int_equal(rc_apply(f->p, f->plan, &ao, &rep, &err), UTIL_EFAIL);
	rc_render_report(f->plan, &rep, 0, &b);
	assert_non_null(strstr(
		b.buf,
		"failed   + web-tg: register " B ":8080 (web)  # "
		"declared, not registered\n"
		"         error: InvalidTarget: register web-tg: injected "
		"fault "
		"(HTTP 400, request id req-fault)\n"));
	assert_non_null(strstr(b.buf, "skipped  - web-tg: deregister " C
				      ":8080  # registered, not "
				      "declared\n"
				      "         step 3 (register web-tg) "
				      "failed\n"));
	assert_non_null(strstr(b.buf, "Apply incomplete: 5 done, 0 already "
				      "in place, 2 skipped, 1 failed.\n"));
	rc_report_release(&rep);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, t_fx_setup, t_fx_teardown)
		T(test_text),		T(test_text_no_changes),
		T(test_held_back_text), T(test_held_back_markdown),
		T(test_markdown),	T(test_report_failure_lines),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
