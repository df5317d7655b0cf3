/*
 * moor apply PLAN: a saved plan is input.  Reading refuses a file that is
 * too large, of an older format, or with a step that is not well formed;
 * verifying refuses one that is not what moor plans now from the spec it
 * carries (edited members, an extra step, a lying summary, a guard that
 * apply's own flags do not lift, a health change); an honest one applies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/apply.h"
#include "reconciler/engine/planfile.h"
#include "reconciler/engine/planverify.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

#define A "i-0000000a"
#define B "i-0000000b"
#define C "i-0000000c"

/* web-classic holds A, B, C; the spec keeps A and B: deregister C. */
static const char yaml[] = "version: 1\n"
			   "load_balancers:\n"
			   "  - classic: web-classic\n"
			   "    min_healthy: 2\n"
			   "    members: [" A ", " B "]\n";

struct fx {
	struct prov *p;
	struct memprov *m;
	char *json; /* the saved plan */
	struct util_err err;
	struct rc_report rep;
	struct rc_notes errors;
};

/* Plan spec text y with opts (may be NULL) and keep it as JSON. */
static char *save_plan(struct fx *f, const char *y, struct rc_plan_opts *o)
{
	struct rc_plan_opts none = { 0 };
	struct spec *s = t_spec(y);
	struct buf b = BUF_INIT;
	struct rc_plan *plan;
	char *errors = NULL;

	if (!o)
		o = &none;
	o->spec_content = y;
	o->spec_content_len = strlen(y);
	plan = t_plan(f->p, s, o, &errors);
	assert_non_null(plan);
	assert_int_equal(rc_plan_to_json(plan, &b, &f->err), 0);
	rc_plan_free(plan);
	spec_free(s);
	return buf_detach(&b, NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", B, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_HEALTHY);
	f->json = save_plan(f, yaml, NULL);
	memprov_clear_calls(f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->json);
	rc_report_release(&f->rep);
	rc_notes_release(&f->errors);
	prov_free(f->p);
	free(f);
	return 0;
}

/* Read and verify json with apply's flags; the verdict's code. */
static int verify(struct fx *f, const char *json, bool allow_mass,
		  unsigned max_changes, struct rc_plan **ret)
{
	struct rc_verify_opts vo = { .path = "s.plan",
				     .allow_mass_deregister = allow_mass,
				     .has_max_changes = max_changes > 0,
				     .max_changes = max_changes };
	struct rc_plan *q = NULL;
	int r;

	rc_report_release(&f->rep);
	rc_notes_release(&f->errors);
	memset(&f->errors, 0, sizeof(f->errors));
	util_err_clear(&f->err);
	r = rc_plan_from_json("s.plan", json, strlen(json), &q, &f->err);
	if (r == 0)
		r = rc_plan_verify(f->p, q, &vo, &f->rep, &f->errors, &f->err);
	if (r == 0 && ret)
		*ret = q;
	else
		rc_plan_free(q);
	return r;
}

/* The saved plan with edit applied to its parsed JSON (caller frees). */
static char *edited(const char *json, void (*edit)(cJSON *root))
{
	cJSON *root = cJSON_Parse(json);
	char *out;

	assert_non_null(root);
	edit(root);
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

static cJSON *step1(cJSON *root)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(root, "steps"), 0);
}

static void expect_refused(struct fx *f, void (*edit)(cJSON *root), int code,
			   const char *msg)
{
	char *json = edited(f->json, edit);

	assert_int_equal(verify(f, json, false, 0, NULL), code);
	assert_string_equal(f->err.msg, msg);
	/* Nothing was done: reading and verifying only read. */
	assert_int_equal(memprov_count(f->m, "classic_deregister"), 0);
	free(json);
}

static void test_honest_plan_applies(void **state)
{
	struct fx *f = *state;
	struct rc_apply_opts ao = { .check_stale = true, .concurrency = 1 };
	struct rc_plan *q = NULL;
	char *m;

	assert_int_equal(verify(f, f->json, false, 0, &q), 0);
	assert_int_equal(rc_apply(f->p, q, &ao, &f->rep, &f->err), 0);
	m = memprov_mutations(f->m);
	assert_string_equal(m, "classic_deregister web-classic " C "\n");
	free(m);
	rc_plan_free(q);
}

static void members_all(cJSON *root)
{
	cJSON *m = cJSON_CreateArray();

	cJSON_AddItemToArray(m, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(m, 0), "id", A);
	cJSON_AddItemToArray(m, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(m, 1), "id", B);
	cJSON_AddItemToArray(m, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(m, 2), "id", C);
	cJSON_ReplaceItemInObject(step1(root), "members", m);
}

static void test_edited_members_refused(void **state)
{
	expect_refused(*state, members_all, UTIL_EINVAL,
		       "s.plan: step 1 (deregister web-classic) is not what "
		       "moor plans from its spec and the live state: members "
		       "differ (the plan lists 3, moor plans 1); run moor plan "
		       "again");
}

static void reason_edited(cJSON *root)
{
	cJSON_ReplaceItemInObject(step1(root), "reason",
				  cJSON_CreateString("trust me"));
}

static void test_any_field_compared(void **state)
{
	expect_refused(*state, reason_edited, UTIL_EINVAL,
		       "s.plan: step 1 (deregister web-classic) is not what "
		       "moor plans from its spec and the live state: reason "
		       "differs (the plan says \"trust me\", moor plans "
		       "\"registered, not declared\"); run moor plan again");
}

static void summary_edited(cJSON *root)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "summary"),
				  "changes", cJSON_CreateNumber(5));
}

static void test_edited_summary_refused(void **state)
{
	expect_refused(*state, summary_edited, UTIL_EINVAL,
		       "s.plan: the summary says 5 changes, the steps make 1; "
		       "run moor plan again");
}

static void extra_step(cJSON *root)
{
	cJSON *s = cJSON_Duplicate(step1(root), true);

	cJSON_ReplaceItemInObject(s, "id", cJSON_CreateNumber(2));
	cJSON_AddItemToArray(cJSON_GetObjectItem(root, "steps"), s);
}

static void test_extra_step_refused(void **state)
{
	expect_refused(
		*state, extra_step, UTIL_EINVAL,
		"s.plan: step 2 (deregister web-classic) is not one moor "
		"plans from its spec and the live state; run moor plan "
		"again");
}

static void no_steps(cJSON *root)
{
	cJSON_ReplaceItemInObject(root, "steps", cJSON_CreateArray());
}

static void test_missing_step_refused(void **state)
{
	expect_refused(*state, no_steps, UTIL_EINVAL,
		       "s.plan: the plan lacks step 1 (deregister "
		       "web-classic), which moor plans from its spec and the "
		       "live state; run moor plan again");
}

static void phase_unknown(cJSON *root)
{
	cJSON_ReplaceItemInObject(step1(root), "phase",
				  cJSON_CreateString("teleport"));
}

static void phase_other(cJSON *root)
{
	cJSON_ReplaceItemInObject(step1(root), "phase",
				  cJSON_CreateString("register"));
}

static void phase_number_other(cJSON *root)
{
	cJSON_ReplaceItemInObject(step1(root), "phase_number",
				  cJSON_CreateNumber(2));
}

static void action_unknown(cJSON *root)
{
	cJSON_ReplaceItemInObject(step1(root), "action",
				  cJSON_CreateString("terminate"));
}

static void until_unknown(cJSON *root)
{
	cJSON *w = cJSON_CreateObject();

	cJSON_AddStringToObject(w, "until", "forever");
	cJSON_AddNumberToObject(w, "timeout_ms", 1);
	cJSON_AddItemToObject(step1(root), "wait", w);
}

static void set_key(cJSON *root, const char *key)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(step1(root), "resource"),
				  "key", cJSON_CreateString(key));
}

/* "eip:" alone is no kind: the three address kinds are spelled out. */
static void key_eip_unknown(cJSON *root)
{
	set_key(root, "eip:bogus:x");
}

static void key_empty_value(cJSON *root)
{
	set_key(root, "classic:");
}

/* Steps act on groups and addresses, never on an instance. */
static void key_instance(cJSON *root)
{
	set_key(root, "instance:i-0000000000000000a");
}

static void field_foreign(cJSON *root)
{
	cJSON_AddNumberToObject(step1(root), "timeout_ms", 1);
}

static void test_malformed_steps_refused(void **state)
{
	struct fx *f = *state;

	expect_refused(f, phase_unknown, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: phase "
		       "'teleport' is unknown");
	expect_refused(f, phase_other, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: action "
		       "'deregister' does not run in phase 'register'");
	expect_refused(f, phase_number_other, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: phase_number "
		       "does not agree with the rest of the step");
	expect_refused(f, action_unknown, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: action "
		       "'terminate' is unknown");
	expect_refused(f, until_unknown, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: until "
		       "'forever' is unknown");
	expect_refused(f, key_eip_unknown, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: resource key "
		       "'eip:bogus:x' is unknown");
	expect_refused(f, key_empty_value, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: resource key "
		       "'classic:' is unknown");
	expect_refused(f, key_instance, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: resource key "
		       "'instance:i-0000000000000000a' is unknown");
	expect_refused(f, field_foreign, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: step 1: timeout_ms does "
		       "not belong in a deregister step");
}

static void spec_edited(cJSON *root)
{
	cJSON *s = cJSON_GetObjectItem(root, "spec");
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s      - " C "\n",
		 cJSON_GetObjectItem(s, "content")->valuestring);
	cJSON_ReplaceItemInObject(s, "content", cJSON_CreateString(b.buf));
	buf_release(&b);
}

static void format_1(cJSON *root)
{
	cJSON_ReplaceItemInObject(root, "format_version",
				  cJSON_CreateNumber(1));
}

static void test_format_and_spec_refused(void **state)
{
	struct fx *f = *state;

	expect_refused(f, format_1, UTIL_EINVAL,
		       "s.plan: plan format version 1 was made by an older "
		       "moor; run moor plan again");
	expect_refused(f, spec_edited, UTIL_EINVAL,
		       "s.plan: not a valid moor plan: spec content does not "
		       "match spec sha256");
}

static void test_oversized_refused(void **state)
{
	struct fx *f = *state;
	size_t n = RC_PLAN_MAX_FILE_SIZE + 1;
	char *big = malloc(n);
	struct rc_plan *q = NULL;

	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, f->json, strlen(f->json));
	assert_int_equal(rc_plan_from_json("s.plan", big, n, &q, &f->err),
			 UTIL_EINVAL);
	assert_null(q);
	assert_string_equal(f->err.msg, "s.plan: 67108865 bytes is more than a "
					"saved plan may have (64 MiB)");
	free(big);
}

/* The guards are apply's: a file cannot grant or lift them. */
static void test_guards_are_applys(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts o = { .allow_mass_deregister = true };
	char *mass;

	/* Deregister 2 of 3 (B, C): only with --allow-mass-deregister. */
	mass = save_plan(f,
			 "version: 1\n"
			 "load_balancers:\n"
			 "  - classic: web-classic\n"
			 "    members: [" A "]\n",
			 &o);
	assert_int_equal(verify(f, mass, false, 0, NULL), UTIL_EINVAL);
	assert_non_null(strstr(f->err.msg, "s.plan: moor would not make this "
					   "plan now: "));
	assert_int_equal(f->errors.n_errors, 1);
	assert_non_null(strstr(f->errors.v[0].msg,
			       "refusing to deregister 2 of 3 members"));
	assert_int_equal(verify(f, mass, true, 0, NULL), 0);
	/* --max-changes given to apply holds for a saved plan. */
	assert_int_equal(verify(f, mass, true, 1, NULL), UTIL_EINVAL);
	assert_string_equal(f->errors.v[0].msg, "the plan makes 2 changes, "
						"more than --max-changes 1 "
						"allows");
	assert_int_equal(verify(f, mass, true, 2, NULL), 0);
	assert_int_equal(memprov_count(f->m, "classic_deregister"), 0);
	free(mass);
}

static void test_stale_and_health(void **state)
{
	struct fx *f = *state;

	/* A member left behind the plan's back: stale, as apply says it. */
	memprov_remove_member(f->m, "web-classic", C, 0);
	assert_int_equal(verify(f, f->json, false, 0, NULL), UTIL_ECONFLICT);
	assert_int_equal(f->rep.n_stale, 1);
	assert_string_equal(f->rep.stale[0], "classic:web-classic");
	assert_string_equal(f->err.msg,
			    "stale plan: classic:web-classic changed since the "
			    "plan was made; nothing was done (run moor plan "
			    "again)");
	/*
	 * Back, but B is unhealthy now: taking C out would break
	 * min_healthy 2.  Health is no fingerprint, the step is refused.
	 */
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", B, 0, PROV_HEALTH_UNHEALTHY);
	assert_int_equal(verify(f, f->json, false, 0, NULL), UTIL_EINVAL);
	assert_string_equal(
		f->err.msg,
		"s.plan: step 1 (deregister web-classic) is not one "
		"moor plans from its spec and the live state; run "
		"moor plan again");
	assert_int_equal(memprov_count(f->m, "classic_deregister"), 0);
}

/* The selection is recorded and planned again the same. */
static void test_only_recorded(void **state)
{
	struct fx *f = *state;
	const char *names[] = { "web-classic" };
	struct rc_plan_opts o = { .only = names, .n_only = 1 };
	const char *y = "version: 1\n"
			"load_balancers:\n"
			"  - classic: web-classic\n"
			"    members: [" A ", " B "]\n"
			"  - target_group: web-tg\n"
			"    members: [" A "]\n";
	bool use_lb[] = { true, false };
	char *json;

	o.use_lb = use_lb;
	json = save_plan(f, y, &o);
	assert_non_null(strstr(json, "\"only\":\t[\"web-classic\"]"));
	assert_int_equal(verify(f, json, false, 0, NULL), 0);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_honest_plan_applies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_edited_members_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_field_compared, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_edited_summary_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_step_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_step_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_steps_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_and_spec_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_guards_are_applys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_health, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_only_recorded, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
