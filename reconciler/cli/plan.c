/*
 * moor plan SPEC: show what apply would change, in the chosen format,
 * and optionally save the plan for moor apply.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/engine_cmd.h"
#include "reconciler/cli/output.h"
#include "reconciler/engine/plan.h"
#include "reconciler/engine/planfile.h"
#include "reconciler/engine/render.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

enum {
	OPT_FORMAT = ENGINE_OPT_NEXT,
	OPT_DETAILED,
};

static const char plan_usage[] =
	"usage: moor plan SPEC [options]\n"
	"\n"
	"Show what apply would change, in order, without changing anything.\n"
	"\n"
	"  --format text|markdown|json   output format (default text)\n"
	"  -o, --out PLAN         also save the plan (JSON) for moor apply\n"
	"  --detailed-exitcode    exit 0 in sync, 2 differs, 1 error\n"
	"  --only NAME...         plan only these groups / addresses\n"
	"  --allow-mass-deregister  allow removing more than half a group\n"
	"  --max-changes N        refuse a plan with more than N changes\n"
	"\n" COMMON_AWS_USAGE;

/* What plan takes beyond what apply does. */
struct plan_args {
	const char *format;
	const char *save; /* -o */
	bool detailed;
};

static int plan_opt(void *ctx, int c, char *arg)
{
	struct plan_args *a = ctx;

	switch (c) {
	case OPT_FORMAT:
		a->format = arg;
		return 1;
	case 'o':
		a->save = arg;
		return 1;
	case OPT_DETAILED:
		a->detailed = true;
		return 1;
	}
	return 0;
}

/* The plan in the chosen format, into out; 0, or 1 (said). */
static int plan_render(const struct rc_plan *plan, const char *format,
		       struct buf *out)
{
	struct util_err err = UTIL_ERR_INIT;

	if (!strcmp(format, "json")) {
		if (rc_plan_to_json(plan, out, &err) < 0) {
			print_err(&err);
			return 1;
		}
	} else if (!strcmp(format, "markdown")) {
		rc_render_markdown(plan, out);
	} else {
		rc_render_text(plan, output_color(STDOUT_FILENO), out);
	}
	return 0;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "out", required_argument, NULL, 'o' },
		{ "detailed-exitcode", no_argument, NULL, OPT_DETAILED },
		ENGINE_CMD_LONGOPTS,
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_cmd ec = ENGINE_CMD_INIT("plan", plan_usage);
	struct plan_args a = { .format = "text" };
	struct util_err err = UTIL_ERR_INIT;
	struct buf out = BUF_INIT;
	int rc;

	rc = engine_cmd_parse(&ec, argc, argv, "-o:h", opts, plan_opt, &a);
	if (rc >= 0)
		goto out;
	if (strcmp(a.format, "text") && strcmp(a.format, "markdown") &&
	    strcmp(a.format, "json")) {
		fputs(plan_usage, stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = 1;
	ec.eo.identity = a.save || strcmp(a.format, "text");
	/* Markdown, JSON and a saved plan show each group's health. */
	ec.eo.health_as_needed = !ec.eo.identity;
	if (engine_cmd_read(&ec) || engine_make_plan(&ec) ||
	    plan_render(ec.plan, a.format, &out))
		goto out;
	fwrite(out.buf, 1, out.len, stdout);
	if (a.save && rc_plan_save(ec.plan, a.save, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (fflush(stdout) != 0)
		goto out;
	/* Held back by a guard is a difference too: a drift check sees it. */
	rc = a.detailed && rc_plan_differs(ec.plan) ? EXIT_CHANGES : 0;
out:
	buf_release(&out);
	engine_cmd_release(&ec);
	return rc;
}
