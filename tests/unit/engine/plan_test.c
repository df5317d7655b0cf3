/*
 * The planner: desired (YAML) against observed (the in-memory provider),
 * asserting the exact step list, order and dependencies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/plan.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"
#define D  "i-0000000d"
#define E  "i-0000000e"
#define F  "i-0000000f"

struct fx {
	struct prov *p;
	struct memprov *m;
	struct spec *s;
	struct rc_plan *plan;
	char *errors;
	char *steps;
	char *notes;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	*state = f;
	return 0;
}

/* Drop the last plan and what came with it. */
static void reset(struct fx *f)
{
	rc_plan_free(f->plan);
	spec_free(f->s);
	free(f->errors);
	free(f->steps);
	free(f->notes);
	f->plan = NULL;
	f->s = NULL;
	f->steps = f->notes = f->errors = NULL;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	reset(f);
	prov_free(f->p);
	free(f);
	return 0;
}

/* Plan yaml with opts; on success fill f->steps and f->notes. */
static void plan(struct fx *f, const char *yaml, const struct rc_plan_opts *o)
{
	reset(f);
	f->s = t_spec(yaml);
	f->plan = t_plan(f->p, f->s, o, &f->errors);
	if (f->plan) {
		f->steps = t_steps(f->plan);
		f->notes = t_notes(f->plan);
	}
}

static void expect_plan(struct fx *f, const char *steps)
{
	if (!f->plan)
		print_error("unexpected errors:\n%s", f->errors);
	assert_non_null(f->plan);
	assert_string_equal(f->steps, steps);
}

static void expect_errors(struct fx *f, const char *errors)
{
	if (f->plan)
		print_error("unexpected plan:\n%s", f->steps);
	assert_null(f->plan);
	assert_string_equal(f->errors, errors);
}

static void healthy(struct fx *f, const char *group, const char *id, int port)
{
	memprov_set_member(f->m, group, id, port, PROV_HEALTH_HEALTHY);
}

/* --- tests -------------------------------------------------------------- */

static const char converge_yaml[] = V1 "load_balancers:\n"
				       "  - classic: web-classic\n"
				       "    members: [" A ", " B "]\n"
				       "  - target_group: web-tg\n"
				       "    members:\n"
				       "      - selector: {tags: {role: web}}\n"
				       "elastic_ips:\n"
				       "  - allocation_id: eipalloc-0000000a\n"
				       "    instance: " A "\n"
				       "  - name: vip-new\n"
				       "    allocate: true\n"
				       "    instance: " B "\n";

static void test_converge_from_empty(void **state)
{
	struct fx *f = *state;
	struct rc_plan_counts c;

	plan(f, converge_yaml, NULL);
	expect_plan(f, "1 allocate vip-new\n"
		       "2 register web-classic " A "," B "\n"
		       "3 register web-tg " A ":8080," B ":8080," C ":8080," D
		       ":8080\n"
		       "4 wait web-classic healthy " A "," B " <- 2\n"
		       "5 wait web-tg healthy " A ":8080," B ":8080," C
		       ":8080," D ":8080 <- 3\n"
		       "6 associate eipalloc-0000000a -> " A "\n"
		       "7 associate vip-new -> " B " <- 1\n");
	assert_string_equal(f->notes, "");
	rc_plan_count(f->plan, &c);
	assert_int_equal(c.changes, 1 + 2 + 4 + 1 + 1);
	assert_int_equal(c.register_members, 6);
	assert_int_equal(c.waits, 2);
	assert_true(rc_plan_has_changes(f->plan));
	assert_string_equal(f->plan->account, "123456789012");
	/* Preconditions: the group as observed, and each new member. */
	assert_int_equal(f->plan->steps[2].n_pre, 5);
	assert_string_equal(f->plan->steps[2].pre[0].key, "tg:web-tg");
	assert_string_equal(f->plan->steps[2].pre[1].key, "instance:" A);
	/* The wait is planned against the membership after registering. */
	assert_string_not_equal(f->plan->steps[4].pre[0].fp,
				f->plan->steps[2].pre[0].fp);
	assert_string_equal(f->plan->steps[2].pre[0].fp,
			    rc_plan_observed(f->plan, "tg:web-tg"));
	/* The allocation is planned against "absent". */
	assert_non_null(rc_plan_observed(f->plan, "eip:name:vip-new"));
}

static void test_noop(void **state)
{
	struct fx *f = *state;
	const char *ids[] = { A, B, C, D };

	healthy(f, "web-classic", A, 0);
	healthy(f, "web-classic", B, 0);
	for (int i = 0; i < 4; i++)
		healthy(f, "web-tg", ids[i], 8080);
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_add_address(f->m, "eipalloc-00000077", "198.51.100.7",
			    "vip-new", NULL);
	memprov_bind(f->m, "eipalloc-00000077", B, NULL);
	plan(f, converge_yaml, NULL);
	expect_plan(f, "");
	assert_false(rc_plan_has_changes(f->plan));
	assert_int_equal(f->plan->n_groups, 2);
	assert_int_equal(f->plan->groups[1].before, 4);
	assert_int_equal(f->plan->groups[1].after, 4);
	assert_int_equal(f->plan->groups[1].healthy, 4);
	assert_int_equal(f->plan->n_addresses, 2);
	/* Group, address, instance fingerprints are all recorded. */
	assert_non_null(rc_plan_observed(f->plan, "classic:web-classic"));
	assert_non_null(
		rc_plan_observed(f->plan, "eip:alloc:eipalloc-0000000a"));
	assert_int_equal(strlen(f->plan->fingerprint), 64);
}

static void test_fingerprint_stable(void **state)
{
	struct fx *f = *state;
	char first[UTIL_SHA256_HEX_SIZE];

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A ", " B "]\n",
	     NULL);
	memcpy(first, f->plan->fingerprint, sizeof(first));
	/* Health changes by itself: not part of the fingerprint. */
	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_UNHEALTHY);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" B ", " A "]\n",
	     NULL);
	assert_string_equal(first, f->plan->fingerprint);
	/* Membership is. */
	memprov_remove_member(f->m, "web-tg", A, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A ", " B "]\n",
	     NULL);
	assert_string_not_equal(first, f->plan->fingerprint);
}

static void test_replacement_make_before_break(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" B "]\n",
	     NULL);
	expect_plan(f, "1 register web-tg " B ":8080\n"
		       "2 wait web-tg healthy " B ":8080 <- 1\n"
		       "3 deregister web-tg " A ":8080 <- 1,2\n");
	assert_string_equal(f->plan->steps[0].reason,
			    "declared, not registered");
	assert_string_equal(f->plan->steps[2].reason,
			    "registered, not declared");
	/* Deregistration is planned against the membership incl. B. */
	assert_string_equal(f->plan->steps[2].pre[0].fp,
			    f->plan->steps[1].pre[0].fp);
}

static void test_replacement_waits_for_initial_members(void **state)
{
	struct fx *f = *state;

	/* B was registered by an interrupted apply and is still checking. */
	healthy(f, "web-tg", A, 8080);
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_INITIAL);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" B "]\n",
	     NULL);
	expect_plan(f, "1 wait web-tg healthy " B ":8080\n"
		       "2 deregister web-tg " A ":8080 <- 1\n");
}

static void test_replacement_waits_for_unhealthy_members(void **state)
{
	struct fx *f = *state;

	/*
	 * B and C were registered by an apply that was pre-empted (or timed
	 * out) and do not pass their checks yet: a Classic ELB reports a new
	 * member OutOfService until it does.  The old members stay until
	 * they are healthy.
	 */
	healthy(f, "web-tg", A, 8080);
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_UNHEALTHY);
	healthy(f, "web-classic", A, 0);
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_UNHEALTHY);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" B "]\n"
		"  - classic: web-classic\n"
		"    members: [" C "]\n",
	     NULL);
	expect_plan(f, "1 wait web-tg healthy " B ":8080\n"
		       "2 wait web-classic healthy " C "\n"
		       "3 deregister web-tg " A ":8080 <- 1\n"
		       "4 deregister web-classic " A " <- 2\n");
}

/*
 * A declared member whose instance is stopped cannot pass its checks:
 * waiting for it would only time out on every run.  min_healthy, not a
 * wait, is what keeps the old members then.
 */
static void test_stopped_member_is_not_waited_for(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", A, 0);
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_UNHEALTHY);
	memprov_set_instance_state(f->m, C, "stopped");
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    members: [" C "]\n",
	     NULL);
	expect_plan(f, "1 deregister web-classic " A "\n");
}

static void test_drift_member_removed(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", A, 0);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    members: [" A ", " B "]\n    wait: none\n",
	     NULL);
	expect_plan(f, "1 register web-classic " B "\n");
}

static void test_drift_member_added(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", A, 0);
	healthy(f, "web-classic", B, 0);
	healthy(f, "web-classic", C, 0);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    members: [" A ", " B "]\n",
	     NULL);
	expect_plan(f, "1 deregister web-classic " C "\n");
}

static void test_additive(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", E, 8080);
	healthy(f, "web-tg", F, 9000);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    ownership: additive\n"
		"    members: [" A ", " B "]\n",
	     NULL);
	expect_plan(f, "1 register web-tg " B ":8080\n"
		       "2 wait web-tg healthy " B ":8080 <- 1\n");
	assert_string_equal(f->notes,
			    "info: web-tg: 2 registered members not declared, "
			    "left alone (ownership: additive): " E ":8080, " F
			    ":9000\n");
	assert_int_equal(f->plan->groups[0].undeclared, 2);
	assert_int_equal(f->plan->groups[0].after, 4);
}

static void test_port_specific_targets(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", A, 7070);
	healthy(f, "web-tg", B, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    wait: registered\n"
		"    members:\n"
		"      - " A "\n"
		"      - {id: " A ", port: 9090}\n"
		"      - {id: " B ", port: 8080}\n",
	     NULL);
	expect_plan(f, "1 register web-tg " A ":9090\n"
		       "2 wait web-tg registered " A ":9090 <- 1\n"
		       "3 deregister web-tg " A ":7070 <- 1,2\n");
}

static void test_ip_targets(void **state)
{
	struct fx *f = *state;

	healthy(f, "ip-tg", "10.0.5.4", 80);
	plan(f,
	     V1 "load_balancers:\n  - target_group: ip-tg\n"
		"    wait: none\n"
		"    members:\n"
		"      - {ip: 10.0.5.4}\n"
		"      - {ip: 10.0.5.5, port: 81, az: us-east-1a}\n",
	     NULL);
	expect_plan(f, "1 register ip-tg 10.0.5.5:81\n");
	assert_string_equal(f->plan->steps[0].members[0].az, "us-east-1a");
	/* An ip target has no instance precondition. */
	assert_int_equal(f->plan->steps[0].n_pre, 1);
}

static void test_selector_states_and_dedup(void **state)
{
	struct fx *f = *state;

	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    wait: none\n"
		"    members:\n"
		"      - " A "\n"
		"      - selector: {tags: {role: db}}\n"
		"      - selector: {tags: {role: nothing}}\n",
	     NULL);
	expect_plan(f, "1 register web-classic " A "," E "," F "\n");
	assert_string_equal(
		f->notes, "warning: web-classic: selector role=nothing|running "
			  "matches no instance\n");
}

static void test_preconditions_all_reported(void **state)
{
	struct fx *f = *state;

	memprov_add_address(f->m, "eipalloc-0000000d", "203.0.113.13", NULL,
			    NULL);
	plan(f,
	     V1 "load_balancers:\n"
		"  - classic: web-classic\n"
		"    members:\n"
		"      - i-00000001\n"	    /* stopped */
		"      - i-00000002\n"	    /* other VPC */
		"      - i-00000099\n"	    /* missing */
		"      - i-00000003\n"	    /* AZ not served */
		"  - target_group: ip-tg\n" /* ip group, instance member */
		"    members: [" A "]\n"
		"  - target_group: web-tg\n"
		"    members: [{ip: 10.0.0.5}]\n"
		"  - target_group: nope-tg\n"
		"    members: [" A "]\n"
		"elastic_ips:\n"
		"  - allocation_id: eipalloc-0000000c\n" /* standard */
		"    instance: " B "\n"
		"  - allocation_id: eipalloc-00000099\n" /* missing */
		"    instance: " C "\n"
		"  - public_ip: 203.0.113.11\n"
		"    instance: i-00000001\n" /* stopped target */
		"  - name: vip-web\n"
		"    instance: " A "\n"
		"    private_ip: 10.9.9.9\n" /* not on the instance */
		"  - allocation_id: eipalloc-0000000d\n"
		"    network_interface: eni-00000099\n",
	     NULL);
	expect_errors(
		f,
		"spec.yaml:5:9: cannot register i-00000001 with web-classic: "
		"instance is stopped, not running\n"
		"spec.yaml:6:9: cannot register i-00000002 with web-classic: "
		"instance is in vpc-2, the load balancer in vpc-1\n"
		"spec.yaml:8:9: cannot register i-00000003 with web-classic: "
		"instance is in us-east-1c, which web-classic does not serve "
		"(it serves us-east-1a, us-east-1b); enable the zone on the "
		"load balancer, or set 'enable_zones: true' on this entry\n"
		"spec.yaml:7:9: instance i-00000099 does not exist\n"
		"spec.yaml:10:15: ip-tg has target type ip: declare members as "
		"ip addresses\n"
		"spec.yaml:12:15: web-tg takes instance targets, not ip "
		"addresses\n"
		"spec.yaml:13:5: target group 'nope-tg' does not exist\n"
		"spec.yaml:16:5: address eipalloc-0000000c is not a VPC "
		"address "
		"(domain standard)\n"
		"spec.yaml:18:5: address eipalloc-00000099 does not exist\n"
		"spec.yaml:20:5: cannot associate 203.0.113.11 with "
		"i-00000001: "
		"instance is stopped, not running\n"
		"spec.yaml:22:5: vip-web: instance " A " has no private IP "
		"10.9.9.9\n"
		"spec.yaml:25:5: eipalloc-0000000d: network interface "
		"eni-00000099 does not exist\n");
}

/*
 * An instance in a zone the Classic ELB does not serve would never turn
 * healthy: an error at its line, before any call, naming both fixes.
 */
static void test_classic_az_error(void **state)
{
	struct fx *f = *state;

	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    wait: none\n"
		"    members: [" A ", i-00000003]\n",
	     NULL);
	expect_errors(f, "spec.yaml:5:27: cannot register i-00000003 with "
			 "web-classic: instance is in us-east-1c, which "
			 "web-classic does not serve (it serves us-east-1a, "
			 "us-east-1b); enable the zone on the load balancer, "
			 "or set 'enable_zones: true' on this entry\n");
	assert_int_equal(memprov_count(f->m, "classic_register"), 0);
}

/*
 * enable_zones: one step per ELB, in its own phase before the
 * registrations, listing the missing zones sorted; the registration
 * depends on it and expects the group with the zones enabled.
 */
static void test_enable_zones(void **state)
{
	struct fx *f = *state;
	struct rc_plan_counts c;
	const struct rc_step *z, *reg;

	memprov_add_instance(f->m, "i-00000004", "running", "vpc-1",
			     "us-east-1d", "10.0.0.4", NULL);
	memprov_add_instance(f->m, "i-00000005", "running", "vpc-1",
			     "us-east-1c", "10.0.0.5", NULL);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    enable_zones: true\n"
		"    members: [" A ", i-00000004, i-00000003, i-00000005]\n"
		"  - target_group: web-tg\n"
		"    members: [" B "]\n",
	     NULL);
	expect_plan(f, "1 enable-zones web-classic us-east-1c,us-east-1d\n"
		       "2 register web-classic i-00000003,i-00000004,"
		       "i-00000005," A " <- 1\n"
		       "3 register web-tg " B ":8080\n"
		       "4 wait web-classic healthy i-00000003,i-00000004,"
		       "i-00000005," A " <- 2\n"
		       "5 wait web-tg healthy " B ":8080 <- 3\n");
	z = rc_plan_step(f->plan, 1);
	reg = rc_plan_step(f->plan, 2);
	assert_int_equal(z->phase, RC_PHASE_ENABLE_ZONES);
	assert_int_equal(reg->phase, RC_PHASE_REGISTER);
	assert_string_equal(rc_phase_name(z->phase), "enable-zones");
	assert_string_equal(rc_action_name(z->action), "enable-zones");
	/* The step depends on the group as observed ... */
	assert_int_equal(z->n_pre, 1);
	assert_string_equal(z->pre[0].key, "classic:web-classic");
	assert_string_equal(z->pre[0].fp,
			    rc_plan_observed(f->plan, "classic:web-classic"));
	/* ... the registration on the group once the zones are enabled. */
	assert_string_equal(reg->pre[0].key, "classic:web-classic");
	assert_string_not_equal(reg->pre[0].fp, z->pre[0].fp);
	/* The ELB's VPC was read, once, to learn that it is the default. */
	assert_int_equal(memprov_count(f->m, "vpcs"), 1);
	rc_plan_count(f->plan, &c);
	assert_int_equal(c.enable_zones, 2);
	assert_int_equal(c.changes, 1 + 4 + 1);
	assert_true(rc_plan_has_changes(f->plan));
	assert_string_equal(f->notes, "");

	/* It counts toward --max-changes. */
	{
		struct rc_plan_opts o = { .has_max_changes = true,
					  .max_changes = 4 };

		plan(f,
		     V1 "load_balancers:\n  - classic: web-classic\n"
			"    enable_zones: true\n"
			"    members: [" A ", i-00000004, i-00000003, "
			"i-00000005]\n",
		     &o);
		expect_errors(f, "spec.yaml: the plan makes 5 changes, more "
				 "than --max-changes 4 allows\n");
	}
}

/*
 * EnableAvailabilityZonesForLoadBalancer serves only the default VPC: in
 * another, enable_zones is an error at the member's line, before any
 * call, naming the fix moor leaves to the user.  The VPC is read (one
 * call) only when a zone would be enabled.
 */
static void test_enable_zones_nondefault_vpc(void **state)
{
	struct fx *f = *state;
	char *muts;

	memprov_set_vpc_nondefault(f->m, "vpc-1");
	memprov_clear_calls(f->m);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    enable_zones: true\n"
		"    members:\n"
		"      - " A "\n"
		"      - i-00000003\n",
	     NULL);
	expect_errors(f, "spec.yaml:7:9: cannot register i-00000003 with "
			 "web-classic: instance is in us-east-1c, which "
			 "web-classic does not serve (it serves us-east-1a, "
			 "us-east-1b); web-classic is in vpc-1, not the "
			 "default VPC, where a zone is enabled by attaching a "
			 "subnet in it (aws elb attach-load-balancer-to-"
			 "subnets), which moor leaves to you\n");
	assert_int_equal(memprov_count(f->m, "vpcs"), 1);
	muts = memprov_mutations(f->m);
	assert_string_equal(muts, "");
	free(muts);

	/* No zone to enable: the same VPC is fine, and not read. */
	memprov_clear_calls(f->m);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    enable_zones: true\n"
		"    wait: none\n"
		"    members: [" A "]\n",
	     NULL);
	expect_plan(f, "1 register web-classic " A "\n");
	assert_int_equal(memprov_count(f->m, "vpcs"), 0);

	/* Nothing to register (a no-op plan): no VPC read either. */
	healthy(f, "web-classic", "i-00000003", 0);
	memprov_clear_calls(f->m);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    enable_zones: true\n"
		"    ownership: additive\n"
		"    members: [i-00000003]\n",
	     NULL);
	expect_plan(f, "");
	assert_int_equal(memprov_count(f->m, "vpcs"), 0);
}

/*
 * A target group's instance targets must sit in a zone of every load
 * balancer it is attached to; there is no auto-enable.  The zones are
 * read in one call, only when a registration of instance targets is
 * coming.
 */
static void test_tg_zone_error(void **state)
{
	struct fx *f = *state;

	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members:\n"
		"      - " A "\n"
		"      - {id: i-00000003, port: 9090}\n",
	     NULL);
	expect_errors(f, "spec.yaml:6:9: cannot register i-00000003 with "
			 "web-tg: instance is in us-east-1c, where its load "
			 "balancer web-alb has no subnet (it serves "
			 "us-east-1a, us-east-1b); add a subnet in that zone "
			 "to web-alb, or declare an instance in a zone it "
			 "serves\n");
	assert_int_equal(memprov_count(f->m, "lbs_v2"), 1);

	/* A second load balancer without us-east-1b: A is fine, B is not. */
	memprov_add_lb(f->m, "nlb", "us-east-1a");
	memprov_attach_tg(f->m, "web-tg", "nlb");
	memprov_clear_calls(f->m);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A ", " B "]\n",
	     NULL);
	expect_errors(f, "spec.yaml:4:27: cannot register " B " with web-tg: "
			 "instance is in us-east-1b, where its load balancer "
			 "nlb has no subnet (it serves us-east-1a); add a "
			 "subnet in that zone to nlb, or declare an instance "
			 "in a zone it serves\n");
	assert_int_equal(memprov_count(f->m, "lbs_v2"), 1);
	{
		char *calls = memprov_calls(f->m);

		/* Both load balancers, in one call. */
		assert_non_null(strstr(calls, "lbs_v2 "));
		assert_non_null(strstr(calls, "loadbalancer/app/nlb/"));
		assert_non_null(strstr(calls, "loadbalancer/app/web-alb/"));
		free(calls);
	}

	/* Nothing to register: the zones are not read at all. */
	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_clear_calls(f->m);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A "]\n",
	     NULL);
	expect_plan(f, "");
	assert_int_equal(memprov_count(f->m, "lbs_v2"), 0);
}

/* ip targets and groups attached to no load balancer: no zone check. */
static void test_tg_zone_no_check(void **state)
{
	struct fx *f = *state;

	memprov_add_tg(f->m, "lone-tg", "instance", 80, "vpc-1", 0);
	plan(f,
	     V1 "load_balancers:\n  - target_group: lone-tg\n"
		"    wait: none\n"
		"    members: [i-00000003]\n"
		"  - target_group: ip-tg\n"
		"    wait: none\n"
		"    members: [{ip: 10.0.7.7, az: us-east-1c}]\n",
	     NULL);
	expect_plan(f, "1 register lone-tg i-00000003:80\n"
		       "2 register ip-tg 10.0.7.7:80\n");
	assert_int_equal(memprov_count(f->m, "lbs_v2"), 0);
}

static void test_min_healthy_holds_back(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	/* C will only be registered (not waited healthy): 0 healthy stay. */
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    wait: registered\n"
		"    min_healthy: 1\n"
		"    members: [" C "]\n",
	     NULL);
	expect_plan(f, "1 register web-tg " C ":8080\n"
		       "2 wait web-tg registered " C ":8080 <- 1\n"
		       "3 deregister web-tg " B ":8080 min=1 <- 1,2\n");
	assert_int_equal(f->plan->n_held, 1);
	assert_string_equal(f->plan->held[0].reason,
			    "deregistering " A ":8080 would leave 0 healthy, "
			    "the floor is 1");
	assert_int_equal(f->plan->held[0].loc.line, 5);
}

/*
 * Issue 10: min_healthy 3, a declared member down (its instance stopped),
 * an undeclared one healthy.  Nothing may be done, yet live state differs
 * from the spec: the plan must say so, not "no changes".
 */
static void test_min_healthy_held_back_is_a_difference(void **state)
{
	struct fx *f = *state;
	const struct rc_held *h;
	struct rc_plan_counts c;

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_UNHEALTHY);
	memprov_set_instance_state(f->m, C, "stopped");
	healthy(f, "web-tg", D, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A ", " B ", " C "]\n"
		"    min_healthy: 3\n",
	     NULL);
	expect_plan(f, "");
	assert_false(rc_plan_has_changes(f->plan)); /* apply calls nothing */
	assert_true(rc_plan_differs(f->plan));
	assert_int_equal(f->plan->n_held, 1);
	h = &f->plan->held[0];
	assert_int_equal(h->action, RC_ACT_DEREGISTER);
	assert_string_equal(h->key, "tg:web-tg");
	assert_string_equal(h->label, "web-tg");
	assert_string_equal(h->guard, "min_healthy");
	assert_int_equal(h->n_members, 1);
	assert_string_equal(h->members[0].id, D);
	assert_int_equal(h->members[0].port, 8080);
	assert_int_equal(h->floor, 3);
	assert_int_equal(h->healthy, 2);
	assert_string_equal(h->reason, "deregistering " D ":8080 would leave "
				       "2 healthy, the floor is 3");
	assert_int_equal(h->loc.line, 5);
	assert_int_equal(h->loc.col, 18);
	rc_plan_count(f->plan, &c);
	assert_int_equal(c.held_back, 1);
	assert_int_equal(c.changes, 0);
	/* The member really is needed: with it healthy, nothing differs. */
	healthy(f, "web-tg", C, 8080);
	memprov_set_instance_state(f->m, C, "running");
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" A ", " B ", " C "]\n"
		"    min_healthy: 3\n",
	     NULL);
	expect_plan(f, "1 deregister web-tg " D ":8080 min=3\n");
}

static void test_min_healthy_unhealthy_extras_go(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_UNHEALTHY);
	healthy(f, "web-tg", D, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    min_healthy: 100%\n"
		"    members: [" D ", " E "]\n",
	     NULL);
	/*
	 * Floor = 100% of 2 declared = 2; D healthy + E once healthy = 2:
	 * every undeclared member may go.
	 */
	expect_plan(f,
		    "1 register web-tg " E ":8080\n"
		    "2 wait web-tg healthy " E ":8080 <- 1\n"
		    "3 deregister web-tg " A ":8080," C ":8080 min=2 <- 1,2\n");
	/* Without waiting for health, E does not count: keep A. */
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    min_healthy: 100%\n"
		"    wait: none\n"
		"    members: [" D ", " E "]\n",
	     NULL);
	expect_plan(f, "1 register web-tg " E ":8080\n"
		       "2 deregister web-tg " C ":8080 min=2 <- 1\n");
}

static void test_min_healthy_refuses_all(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    wait: none\n"
		"    min_healthy: 1\n"
		"    members: [" B "]\n",
	     NULL);
	expect_plan(f, "1 register web-tg " B ":8080\n");
	assert_int_equal(f->plan->groups[0].after, 2);
}

static void test_mass_deregister(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts o = { .allow_mass_deregister = true };

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	healthy(f, "web-tg", C, 8080);
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" D "]\n",
	     NULL);
	expect_errors(f, "spec.yaml:3:5: refusing to deregister 3 of 4 "
			 "members of web-tg (more than half); if this "
			 "is intended, run moor apply "
			 "--allow-mass-deregister\n");
	plan(f,
	     V1 "load_balancers:\n  - target_group: web-tg\n"
		"    members: [" D "]\n",
	     &o);
	expect_plan(f, "1 register web-tg " D ":8080\n"
		       "2 wait web-tg healthy " D ":8080 <- 1\n"
		       "3 deregister web-tg " A ":8080," B ":8080," C
		       ":8080 <- 1,2\n");
}

static void test_mass_deregister_all(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", A, 0);
	/* A selector with a typo would empty the group. */
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    members:\n      - selector: {tags: {role: wbe}}\n",
	     NULL);
	expect_errors(f, "spec.yaml:3:5: refusing to deregister 1 of 1 "
			 "members of web-classic (more than half); if this "
			 "is intended, run moor apply "
			 "--allow-mass-deregister\n"
			 "spec.yaml:5:9: warning: web-classic: selector "
			 "role=wbe|running matches no instance\n");
}

static void test_max_changes(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts o = { .has_max_changes = true, .max_changes = 8 };

	plan(f, converge_yaml, &o);
	expect_errors(f, "spec.yaml: the plan makes 9 changes, more than "
			 "--max-changes 8 allows\n");
	o.max_changes = 9;
	plan(f, converge_yaml, &o);
	assert_non_null(f->plan);
	/* 0 allows no change at all, not "no cap". */
	o.max_changes = 0;
	plan(f, converge_yaml, &o);
	expect_errors(f, "spec.yaml: the plan makes 9 changes, more than "
			 "--max-changes 0 allows\n");
	/* A no-op plan passes a cap of 0. */
	healthy(f, "web-classic", A, 0);
	plan(f,
	     V1 "load_balancers:\n  - classic: web-classic\n"
		"    members: [" A "]\n",
	     &o);
	expect_plan(f, "");
}

static const char eip_yaml[] = V1 "load_balancers:\n"
				  "  - classic: web-classic\n"
				  "    ownership: additive\n"
				  "    members: [" B "]\n"
				  "elastic_ips:\n"
				  "  - allocation_id: eipalloc-0000000a\n"
				  "    instance: " A "\n";

static void test_address_hijack(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", B, 0);
	memprov_bind(f->m, "eipalloc-0000000a", "i-00000003", NULL);
	plan(f, eip_yaml, NULL);
	expect_plan(f,
		    "1 move eipalloc-0000000a i-00000003/10.0.0.3 -> " A "\n");
	assert_true(f->plan->steps[0].hijack);
	assert_string_equal(f->plan->steps[0].reason,
			    "drift: moved to i-00000003 out of band");
	assert_string_equal(f->notes,
			    "warning: hijack: eipalloc-0000000a is bound to "
			    "i-00000003, which the spec does not name; moving "
			    "it back to " A "\n");
	/* The move depends on the address and on its new holder. */
	assert_int_equal(f->plan->steps[0].n_pre, 2);
	assert_string_equal(f->plan->steps[0].pre[0].key,
			    "eip:alloc:eipalloc-0000000a");
	assert_string_equal(f->plan->steps[0].pre[1].key, "instance:" A);
}

static void test_address_move_declared(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-classic", B, 0);
	memprov_bind(f->m, "eipalloc-0000000a", B, NULL);
	plan(f, eip_yaml, NULL);
	expect_plan(f, "1 move eipalloc-0000000a " B "/10.0.0.11 -> " A "\n");
	assert_false(f->plan->steps[0].hijack);
	assert_string_equal(f->plan->steps[0].reason,
			    "declared " A ", bound to " B);
	assert_string_equal(f->notes, "");
	assert_string_equal(f->plan->addresses[0].from, B);
	assert_string_equal(f->plan->addresses[0].to, A);
	assert_string_equal(f->plan->addresses[0].public_ip, "203.0.113.10");
}

static void test_address_private_ip(void **state)
{
	struct fx *f = *state;

	memprov_add_secondary_ip(f->m, A, "10.0.0.200");
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	plan(f,
	     V1 "elastic_ips:\n  - allocation_id: eipalloc-0000000a\n"
		"    instance: " A "\n    private_ip: 10.0.0.200\n",
	     NULL);
	expect_plan(f, "1 move eipalloc-0000000a " A "/10.0.0.10 -> " A
		       "/10.0.0.200\n");
	memprov_bind(f->m, "eipalloc-0000000a", A, "10.0.0.200");
	plan(f,
	     V1 "elastic_ips:\n  - allocation_id: eipalloc-0000000a\n"
		"    instance: " A "\n    private_ip: 10.0.0.200\n",
	     NULL);
	expect_plan(f, "");
}

static void test_address_eni(void **state)
{
	struct fx *f = *state;

	plan(f,
	     V1 "elastic_ips:\n  - public_ip: 203.0.113.11\n"
		"    network_interface: eni-0000000e\n",
	     NULL);
	expect_plan(f, "1 associate 203.0.113.11 -> eni-0000000e\n");
	assert_string_equal(f->plan->steps[0].pre[1].key, "eni:eni-0000000e");
	memprov_bind_eni(f->m, "eipalloc-0000000b", "eni-0000000e", "10.0.9.9");
	plan(f,
	     V1 "elastic_ips:\n  - public_ip: 203.0.113.11\n"
		"    network_interface: eni-0000000e\n",
	     NULL);
	expect_plan(f, "");
}

static void test_address_none(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000b", C, NULL);
	plan(f,
	     V1 "elastic_ips:\n"
		"  - allocation_id: eipalloc-0000000b\n    none: true\n"
		"  - allocation_id: eipalloc-0000000a\n    none: true\n",
	     NULL);
	expect_plan(f, "1 disassociate eipalloc-0000000b " C "/10.0.0.12\n");
	assert_true(f->plan->steps[0].hijack);
	assert_string_equal(f->plan->steps[0].reason,
			    "declared none, associated with " C);
}

static void test_allocate_only_when_absent(void **state)
{
	struct fx *f = *state;

	plan(f,
	     V1 "elastic_ips:\n  - name: vip-db\n    allocate: true\n"
		"    none: true\n",
	     NULL);
	expect_plan(f, "1 allocate vip-db\n");
	memprov_add_address(f->m, "eipalloc-00000042", "198.51.100.42",
			    "vip-db", NULL);
	plan(f,
	     V1 "elastic_ips:\n  - name: vip-db\n    allocate: true\n"
		"    none: true\n",
	     NULL);
	expect_plan(f, "");
	/* Two addresses with the same Name: refuse to guess. */
	memprov_add_address(f->m, "eipalloc-00000043", "198.51.100.43",
			    "vip-db", NULL);
	plan(f,
	     V1 "elastic_ips:\n  - name: vip-db\n    allocate: true\n"
		"    none: true\n",
	     NULL);
	expect_errors(f, "spec.yaml:3:5: 2 addresses are named 'vip-db'; the "
			 "Name tag must be unique\n");
}

static const char failover_yaml[] = V1 "elastic_ips:\n"
				       "  - allocation_id: eipalloc-0000000a\n"
				       "    failover:\n"
				       "      candidates: [" A ", " B ", " C
				       "]\n"
				       "      probe: {tcp: 22}\n";

static void test_failover(void **state)
{
	struct fx *f = *state;

	/* Unbound: the first running candidate. */
	plan(f, failover_yaml, NULL);
	expect_plan(f, "1 associate eipalloc-0000000a -> " A "\n");
	/* Held by a healthy candidate: stay. */
	memprov_bind(f->m, "eipalloc-0000000a", B, NULL);
	plan(f, failover_yaml, NULL);
	expect_plan(f, "");
	/* Holder stops: move to the first running candidate. */
	memprov_set_instance_state(f->m, B, "stopped");
	memprov_set_instance_state(f->m, A, "stopped");
	plan(f, failover_yaml, NULL);
	expect_plan(f, "1 move eipalloc-0000000a " B "/10.0.0.11 -> " C "\n");
	assert_string_equal(f->plan->steps[0].reason,
			    "failover: " B " is not available; " C
			    " is the first available candidate");
	/* Nobody runs: leave it, with a warning. */
	memprov_set_instance_state(f->m, C, "stopped");
	plan(f, failover_yaml, NULL);
	expect_plan(f, "");
	assert_string_equal(f->notes,
			    "warning: eipalloc-0000000a: no failover candidate "
			    "is running; leaving it on " B "\n");
}

static void test_failover_hijack_and_failback(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", "i-00000003", NULL);
	plan(f, failover_yaml, NULL);
	expect_plan(f,
		    "1 move eipalloc-0000000a i-00000003/10.0.0.3 -> " A "\n");
	assert_true(f->plan->steps[0].hijack);
	memprov_bind(f->m, "eipalloc-0000000a", B, NULL);
	plan(f,
	     V1 "elastic_ips:\n"
		"  - allocation_id: eipalloc-0000000a\n"
		"    failover:\n"
		"      candidates: [" A ", " B "]\n"
		"      probe: {tcp: 22}\n"
		"      failback: prefer_first\n",
	     NULL);
	expect_plan(f, "1 move eipalloc-0000000a " B "/10.0.0.11 -> " A "\n");
	assert_string_equal(f->plan->steps[0].reason,
			    "failback: " A
			    " is the first candidate and is available");
}

static bool veto_a(void *ctx, const struct spec_eip *e, size_t i,
		   const struct prov_instance *in)
{
	(void)ctx;
	(void)e;
	(void)i;
	return strcmp(in->id, A) != 0;
}

static void test_failover_probe_verdicts(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts o = { .candidate_ok = veto_a };

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	plan(f, failover_yaml, &o);
	expect_plan(f, "1 move eipalloc-0000000a " A "/10.0.0.10 -> " B "\n");
}

static void test_address_read_filtered_when_one_kind(void **state)
{
	struct fx *f = *state;
	char *calls;

	plan(f,
	     V1 "elastic_ips:\n"
		"  - allocation_id: eipalloc-0000000a\n    none: true\n"
		"  - allocation_id: eipalloc-0000000b\n    none: true\n",
	     NULL);
	calls = memprov_calls(f->m);
	assert_non_null(strstr(calls, "addresses alloc=eipalloc-0000000a,"
				      "eipalloc-0000000b\n"));
	free(calls);
}

static void test_only(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts o = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const char *names[] = { "web-tg" };
	bool *lb = NULL, *eip = NULL;
	struct spec *s = t_spec(converge_yaml);

	assert_int_equal(rc_select_only(s, names, 1, &lb, &eip, &err), 0);
	o.use_lb = lb;
	o.use_eip = eip;
	plan(f, converge_yaml, &o);
	expect_plan(f, "1 register web-tg " A ":8080," B ":8080," C ":8080," D
		       ":8080\n"
		       "2 wait web-tg healthy " A ":8080," B ":8080," C
		       ":8080," D ":8080 <- 1\n");
	/* Only what was planned is read. */
	assert_int_equal(memprov_count(f->m, "classic_lbs"), 0);
	names[0] = "nope";
	free(lb);
	free(eip);
	assert_int_equal(rc_select_only(s, names, 1, &lb, &eip, &err),
			 UTIL_EINVAL);
	assert_string_equal(err.msg, "--only: 'nope' is not declared in "
				     "spec.yaml");
	spec_free(s);
}

static void test_reads_are_batched(void **state)
{
	struct fx *f = *state;

	plan(f, converge_yaml, NULL);
	/*
	 * One call per kind, one per selector: instances by id (A, B from
	 * the members and addresses, de-duplicated), the selector, classic,
	 * target groups, addresses, identity, the Classic ELB's health (a
	 * saved plan shows it); then, as web-tg gets new instance targets,
	 * the zones of its load balancer.
	 */
	assert_int_equal(memprov_n_calls(f->m), 8);
	assert_int_equal(memprov_count(f->m, "classic_health"), 1);
	assert_int_equal(memprov_count(f->m, "lbs_v2"), 1);
	assert_int_equal(memprov_count(f->m, "instances_by_id"), 1);
	assert_int_equal(memprov_count(f->m, "addresses"), 1);
	{
		char *calls = memprov_calls(f->m);

		assert_non_null(strstr(calls, "instances_by_id " A "," B "\n"));
		/* By allocation id and by name: one unfiltered read. */
		assert_non_null(strstr(calls, "addresses\n"));
		free(calls);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_converge_from_empty),
		T(test_noop),
		T(test_fingerprint_stable),
		T(test_replacement_make_before_break),
		T(test_replacement_waits_for_initial_members),
		T(test_replacement_waits_for_unhealthy_members),
		T(test_stopped_member_is_not_waited_for),
		T(test_drift_member_removed),
		T(test_drift_member_added),
		T(test_additive),
		T(test_port_specific_targets),
		T(test_ip_targets),
		T(test_selector_states_and_dedup),
		T(test_preconditions_all_reported),
		T(test_classic_az_error),
		T(test_enable_zones),
		T(test_enable_zones_nondefault_vpc),
		T(test_tg_zone_error),
		T(test_tg_zone_no_check),
		T(test_min_healthy_holds_back),
		T(test_min_healthy_unhealthy_extras_go),
		T(test_min_healthy_refuses_all),
		T(test_mass_deregister),
		T(test_mass_deregister_all),
		T(test_max_changes),
		T(test_min_healthy_held_back_is_a_difference),
		T(test_address_hijack),
		T(test_address_move_declared),
		T(test_address_private_ip),
		T(test_address_eni),
		T(test_address_none),
		T(test_allocate_only_when_absent),
		T(test_failover),
		T(test_failover_hijack_and_failback),
		T(test_failover_probe_verdicts),
		T(test_address_read_filtered_when_one_kind),
		T(test_only),
		T(test_reads_are_batched),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
