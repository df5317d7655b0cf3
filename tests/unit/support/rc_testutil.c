#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/support/rc_testutil.h"

#include "reconciler/engine/engine.h"
#include "reconciler/engine/observe.h"
#include "tests/unit/support/memprov.h"
#include "util/buf.h"
#include "util/banned.h"

struct spec *t_spec(const char *yaml)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	if (spec_load_buffer("spec.yaml", yaml, strlen(yaml), &s, &d, &err) <
	    0) {
		struct buf b = BUF_INIT;

		for (size_t i = 0; i < d.n; i++) {
			spec_diag_format(&d, i, &b);
			buf_addch(&b, '\n');
		}
		print_error("spec does not load:\n%s", b.buf);
		buf_release(&b);
		spec_diags_release(&d);
		fail();
	}
	spec_diags_release(&d);
	return s;
}

struct prov *t_world(void)
{
	struct prov *p = memprov_new();
	struct memprov *m = memprov_of(p);
	char id[16], ip[16];

	for (int i = 0xa; i <= 0xf; i++) {
		snprintf(id, sizeof(id), "i-%08x", i);
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		memprov_add_instance(m, id, "running", "vpc-1",
				     i % 2 ? "us-east-1b" : "us-east-1a", ip,
				     i < 0xe ? "role=web,Name=web" : "role=db");
	}
	memprov_add_instance(m, "i-00000001", "stopped", "vpc-1", "us-east-1a",
			     "10.0.0.1", "role=old");
	memprov_add_instance(m, "i-00000002", "running", "vpc-2", "us-east-1a",
			     "10.1.0.2", NULL);
	memprov_add_instance(m, "i-00000003", "running", "vpc-1", "us-east-1c",
			     "10.0.0.3", NULL);
	memprov_add_eni(m, "eni-0000000e", "vpc-1", "10.0.9.9");
	memprov_add_classic(m, "web-classic", "vpc-1", "us-east-1a,us-east-1b");
	memprov_add_tg(m, "web-tg", "instance", 8080, "vpc-1", 30);
	memprov_add_tg(m, "ip-tg", "ip", 80, "vpc-1", 0);
	memprov_add_lb(m, "web-alb", "us-east-1a,us-east-1b");
	memprov_attach_tg(m, "web-tg", "web-alb");
	memprov_attach_tg(m, "ip-tg", "web-alb");
	memprov_add_address(m, "eipalloc-0000000a", "203.0.113.10", "vip-web",
			    NULL);
	memprov_add_address(m, "eipalloc-0000000b", "203.0.113.11", NULL, NULL);
	memprov_add_address(m, "eipalloc-0000000c", "203.0.113.12", NULL,
			    "standard");
	return p;
}

struct rc_plan *t_plan(struct prov *p, const struct spec *s,
		       const struct rc_plan_opts *o, char **ret_errors)
{
	static const struct rc_plan_opts none;
	struct rc_engine_opts eo = { .plan = o ? o : &none, .identity = true };
	struct rc_engine_result er = RC_ENGINE_RESULT_INIT;
	struct rc_notes errors = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct rc_plan *plan = NULL;
	struct buf b = BUF_INIT;

	*ret_errors = NULL;
	if (rc_engine_plan(p, s, &eo, &er, &errors, &err) < 0) {
		assert_true(er.observed);
		assert_int_equal(err.code, UTIL_EINVAL);
		for (size_t i = 0; i < errors.n; i++) {
			rc_note_format(&errors, i, &b);
			buf_addch(&b, '\n');
		}
		*ret_errors = buf_detach(&b, NULL);
	}
	plan = er.plan;
	er.plan = NULL;
	rc_notes_release(&errors);
	rc_engine_result_release(&er);
	return plan;
}

static void binding(struct buf *b, const struct rc_binding *bd)
{
	if (bd->instance)
		buf_addstr(b, bd->instance);
	else if (bd->eni)
		buf_addstr(b, bd->eni);
	else
		buf_addstr(b, "-");
	if (bd->private_ip)
		buf_addf(b, "/%s", bd->private_ip);
}

char *t_steps(const struct rc_plan *p)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < p->n_steps; i++) {
		const struct rc_step *s = &p->steps[i];

		buf_addf(&b, "%u %s %s", s->id, rc_action_name(s->action),
			 s->label);
		if (s->action == RC_ACT_WAIT)
			buf_addf(&b, " %s", rc_until_name(s->until));
		for (size_t k = 0; k < s->n_zones; k++)
			buf_addf(&b, "%s%s", k ? "," : " ", s->zones[k]);
		for (size_t k = 0; k < s->n_members; k++) {
			buf_addf(&b, "%s%s", k ? "," : " ", s->members[k].id);
			if (s->members[k].port)
				buf_addf(&b, ":%d", s->members[k].port);
		}
		if (s->action == RC_ACT_MOVE) {
			buf_addch(&b, ' ');
			binding(&b, &s->from);
			buf_addstr(&b, " -> ");
			binding(&b, &s->to);
		} else if (s->action == RC_ACT_ASSOCIATE) {
			buf_addstr(&b, " -> ");
			binding(&b, &s->to);
		} else if (s->action == RC_ACT_DISASSOCIATE) {
			buf_addch(&b, ' ');
			binding(&b, &s->from);
		}
		if (s->min_healthy)
			buf_addf(&b, " min=%u", s->min_healthy);
		for (size_t k = 0; k < s->n_deps; k++)
			buf_addf(&b, "%s%u", k ? "," : " <- ", s->deps[k]);
		buf_addch(&b, '\n');
	}
	return buf_detach(&b, NULL);
}

char *t_notes(const struct rc_plan *p)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < p->notes.n; i++) {
		const struct rc_note *n = &p->notes.v[i];

		buf_addf(&b, "%s: %s\n",
			 n->level == RC_NOTE_WARNING ? "warning" : "info",
			 n->msg);
	}
	return buf_detach(&b, NULL);
}

/* --- the plan fixture of the render and planfile suites --------------- */

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"

const char t_fx_yaml[] = V1 "load_balancers:\n"
			    "  - target_group: web-tg\n"
			    "    members: [" A ", " B
			    ", {selector: {tags: {role: none}}}]\n"
			    "  - classic: web-classic\n"
			    "    ownership: additive\n"
			    "    members: [i-00000003]\n"
			    "    enable_zones: true\n"
			    "elastic_ips:\n"
			    "  - public_ip: 203.0.113.10\n"
			    "    instance: " B "\n"
			    "  - name: vip-db\n"
			    "    allocate: true\n"
			    "    none: true\n";

int t_fx_setup(void **state)
{
	struct t_fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", "i-0000000f", 0,
			   PROV_HEALTH_HEALTHY);
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	f->s = t_spec(t_fx_yaml);
	f->plan = t_plan(f->p, f->s, NULL, &f->errors);
	assert_non_null(f->plan);
	*state = f;
	return 0;
}

int t_fx_teardown(void **state)
{
	struct t_fx *f = *state;

	rc_plan_free(f->plan);
	spec_free(f->s);
	free(f->errors);
	prov_free(f->p);
	free(f);
	return 0;
}

/*
 * Issue 10: min_healthy holds back the only difference (C healthy and
 * undeclared, B declared and down).  Not "No changes", in any format.
 */
static const char held_yaml[] = V1 "load_balancers:\n"
				   "  - target_group: web-tg\n"
				   "    members: [" A ", " B "]\n"
				   "    min_healthy: 2\n";

struct rc_plan *t_held_plan(struct t_fx *f, struct spec **s)
{
	char *errors = NULL;
	struct rc_plan *p;

	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_UNHEALTHY);
	*s = t_spec(held_yaml);
	p = t_plan(f->p, *s, NULL, &errors);
	assert_non_null(p);
	return p;
}
