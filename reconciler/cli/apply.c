/*
 * moor apply SPEC|PLAN: plan (or verify a saved plan), confirm, apply
 * with progress on a terminal, and print the report.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/engine/apply.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/engine_cmd.h"
#include "reconciler/cli/output.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "reconciler/engine/planfile.h"
#include "reconciler/engine/planverify.h"
#include "reconciler/engine/render.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/banned.h"

enum {
	OPT_CONCURRENCY = ENGINE_OPT_NEXT,
};

/* SIGINT/SIGTERM during apply: finish the steps in flight, stop. */
static volatile sig_atomic_t s_cancel;

static void on_cancel_signal(int sig)
{
	(void)sig;
	s_cancel = 1;
}

static void apply_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel_signal;
	/* A second signal kills at once. */
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* On a terminal, ask; without one, require --yes. 0 = go ahead. */
static int apply_confirm(const struct rc_plan *plan, bool yes)
{
	struct rc_plan_counts c;
	char line[64];

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fputs("moor apply: stdin is not a terminal; pass --yes "
		      "to apply without confirmation\n",
		      stderr);
		return 1;
	}
	rc_plan_count(plan, &c);
	fprintf(stderr,
		"\nApply these %zu change%s%s%s? Only 'yes' is accepted: ",
		c.changes, c.changes == 1 ? "" : "s",
		plan->account ? " to account " : "",
		plan->account ? plan->account : "");
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n")) {
		fputs("moor apply: not confirmed; nothing was done\n", stderr);
		return 1;
	}
	return 0;
}

/* The plan's account must be the credentials' account. */
static int apply_check_account(struct prov *p, const struct rc_plan *plan)
{
	struct util_err err = UTIL_ERR_INIT;
	struct prov_identity id = { 0 };
	int rc = 0;

	if (!plan->account || !p)
		return 0;
	if (p->ops->identity(p, &id, &err) < 0) {
		print_err(&err);
		return 1;
	}
	if (!util_streq(id.account, plan->account)) {
		fprintf(stderr,
			"moor apply: the plan was made for account %s; these "
			"credentials are for %s\n",
			plan->account, id.account ? id.account : "?");
		rc = 1;
	}
	prov_identity_release(&id);
	return rc;
}

/*
 * moor apply PLAN: read the saved plan and refuse it unless it is what
 * moor plans now (planverify.h), with apply's own guard flags.  Prints
 * every problem itself; returns 0, 1 or EXIT_USAGE (the exit code).
 */
static int apply_load_saved(struct engine_cmd *ec)
{
	const struct engine_plan_opts *eo = &ec->eo;
	struct util_err err = UTIL_ERR_INIT;
	struct rc_notes errors = { 0 };
	struct rc_report rep = { 0 };
	struct rc_verify_opts vo = { 0 };
	struct rc_plan *plan = NULL;
	struct prov *p = NULL;
	struct buf out = BUF_INIT;
	int rc = 1;

	if (eo->n_only) {
		fputs("moor apply: --only applies to a spec, not to a saved "
		      "plan\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (rc_plan_from_json(ec->path, ec->data.buf, ec->data.len, &plan,
			      &err) < 0 ||
	    make_provider(&eo->aws, plan->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (apply_check_account(p, plan))
		goto out;
	vo.path = ec->path;
	vo.allow_mass_deregister = eo->allow_mass;
	vo.has_max_changes = eo->has_max_changes;
	vo.max_changes = eo->max_changes;
	vo.region = prov_aws_region(p, NULL);
	vo.moor_version = MOOR_VERSION;
	if (rc_plan_verify(p, plan, &vo, &rep, &errors, &err) < 0) {
		if (rep.n_stale) {
			rc_render_report(plan, &rep,
					 output_color(STDOUT_FILENO), &out);
			fwrite(out.buf, 1, out.len, stdout);
			fflush(stdout);
		}
		print_notes(&errors);
		print_err(&err);
		goto out;
	}
	ec->prov = p;
	ec->plan = plan;
	p = NULL;
	plan = NULL;
	rc = 0;
out:
	buf_release(&out);
	rc_report_release(&rep);
	rc_notes_release(&errors);
	rc_plan_free(plan);
	prov_free(p);
	return rc;
}

/*
 * Run plan, with progress on a terminal, and print the report.  fresh:
 * the world the plan was just made from, or NULL to re-read first (and
 * refuse a stale plan).  Returns the exit code.
 */
static int apply_run(struct prov *p, const struct rc_plan *plan,
		     const struct rc_world *fresh, unsigned concurrency,
		     unsigned color)
{
	struct util_err err = UTIL_ERR_INIT;
	struct rc_report rep = { 0 };
	struct output_progress prog;
	struct rc_apply_opts ao = { 0 };
	struct buf out = BUF_INIT;
	int rc = 1;

	apply_catch_signals();
	ao.concurrency = concurrency;
	ao.cancel = &s_cancel;
	ao.check_stale = !fresh;
	ao.fresh = fresh;
	output_progress_init(&prog, plan->n_steps);
	if (isatty(STDERR_FILENO))
		ao.progress = &prog.cb;
	fputc('\n', stderr);
	if (rc_apply(p, plan, &ao, &rep, &err) == 0)
		rc = 0;
	output_progress_end(&prog);
	rc_render_report(plan, &rep, color, &out);
	fwrite(out.buf, 1, out.len, stdout);
	if (rc)
		print_err(&err);
	rc_report_release(&rep);
	buf_release(&out);
	return rc;
}

static const char apply_usage[] =
	"usage: moor apply SPEC|PLAN [options]\n"
	"\n"
	"Make live state equal to the spec: plan, then apply (asking on a\n"
	"terminal).  With a plan saved by 'moor plan -o', apply exactly that\n"
	"plan, refusing it unless moor plans just that again now.\n"
	"\n"
	"  -y, --yes              do not ask (required without a terminal)\n"
	"  --concurrency N        steps run in parallel per phase (default 8)\n"
	"  --only NAME...         apply only these groups / addresses (SPEC)\n"
	"  --allow-mass-deregister  allow removing more than half a group\n"
	"  --max-changes N        refuse a plan with more than N changes\n"
	"\n" COMMON_AWS_USAGE;

/* What apply takes beyond what plan does. */
struct apply_args {
	bool yes;
	int concurrency;
};

static int apply_opt(void *ctx, int c, char *arg)
{
	struct apply_args *a = ctx;
	struct util_err err = UTIL_ERR_INIT;

	switch (c) {
	case 'y':
		a->yes = true;
		return 1;
	case OPT_CONCURRENCY:
		if (util_parse_int(arg, 1, 64, &a->concurrency, &err) < 0) {
			fprintf(stderr, "moor: --concurrency: %s\n", err.msg);
			return -1;
		}
		return 1;
	}
	return 0;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
		ENGINE_CMD_LONGOPTS,
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_cmd ec = ENGINE_CMD_INIT("apply", apply_usage);
	struct apply_args a = { .concurrency = 8 };
	struct buf out = BUF_INIT;
	bool saved;
	int rc;
	unsigned color = output_color(STDOUT_FILENO);

	rc = engine_cmd_parse(&ec, argc, argv, "-yh", opts, apply_opt, &a);
	if (rc >= 0)
		goto out;
	rc = engine_cmd_read(&ec);
	if (rc)
		goto out;
	saved = rc_plan_is_json(ec.data.buf, ec.data.len);
	/* Its plan is shown as text, which does not show health. */
	ec.eo.health_as_needed = true;
	rc = saved ? apply_load_saved(&ec) : engine_make_plan(&ec);
	if (rc)
		goto out;
	rc = 1;
	rc_render_text(ec.plan, color, &out);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	if (!rc_plan_has_changes(ec.plan)) {
		/* Nothing apply may do is left undone: not a failure. */
		if (ec.plan->n_held)
			fputs("moor apply: nothing to apply; the differences "
			      "left are held back by a guard\n",
			      stderr);
		rc = 0;
		goto out;
	}
	if (apply_confirm(ec.plan, a.yes))
		goto out;

	/* Time passed since observing when a plan was saved or confirmed. */
	rc = apply_run(ec.prov, ec.plan, saved || !a.yes ? NULL : &ec.world,
		       (unsigned)a.concurrency, color);
out:
	buf_release(&out);
	engine_cmd_release(&ec);
	return rc;
}
