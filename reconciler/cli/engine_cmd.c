/*
 * What moor plan and moor apply share (engine_cmd.h): options, reading
 * the SPEC|PLAN file, making a plan from a spec.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/engine_cmd.h"
#include "reconciler/cli/output.h"
#include "reconciler/engine/engine.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "reconciler/engine/planfile.h"
#include "spec/spec.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

/*
 * Options common to plan and apply.  1 parsed, 0 not ours, -1 bad value.
 * Non-option words after --only are more names (only_mode).
 */
static int engine_plan_opt(int c, char *arg, struct engine_plan_opts *eo,
			   bool *only_mode)
{
	struct util_err err = UTIL_ERR_INIT;
	int r = parse_common_opt(c, arg, &eo->aws);

	if (r)
		return r;
	switch (c) {
	case OPT_ONLY:
		cli_add_names(&eo->only, &eo->n_only, arg);
		*only_mode = true;
		return 1;
	case OPT_ALLOW_MASS:
		eo->allow_mass = true;
		return 1;
	case OPT_MAX_CHANGES: {
		int v;

		/* 0 is "no change allowed", a no-op plan's drift check. */
		if (util_parse_int(arg, 0, 1000000000, &v, &err) < 0) {
			fprintf(stderr, "moor: --max-changes: %s\n", err.msg);
			return -1;
		}
		eo->has_max_changes = true;
		eo->max_changes = (unsigned)v;
		return 1;
	}
	}
	return 0;
}

/*
 * A word that is not an option: the file first, then more names when it
 * follows --only (only_mode).  -1 when it is neither (said for cmd).
 */
static int engine_plan_word(const char *cmd, char *arg, const char **path,
			    struct engine_plan_opts *eo, bool only_mode)
{
	if (!*path) {
		*path = arg;
	} else if (only_mode) {
		cli_add_names(&eo->only, &eo->n_only, arg);
	} else {
		fprintf(stderr, "moor %s: unexpected '%s'\n", cmd, arg);
		return -1;
	}
	return 0;
}

int engine_cmd_parse(struct engine_cmd *ec, int argc, char **argv,
		     const char *shortopts, const struct option *longopts,
		     engine_own_opt_fn *own, void *ctx)
{
	bool only_mode = false;
	int c;

	ec->eo.aws.default_max_attempts = CLI_ENGINE_MAX_ATTEMPTS;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = engine_plan_opt(c, optarg, &ec->eo, &only_mode);

		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		if (c == 1) {
			if (engine_plan_word(ec->name, optarg, &ec->path,
					     &ec->eo, only_mode) < 0)
				goto usage;
			continue;
		}
		if (c == 'h') {
			fputs(ec->usage, stdout);
			return 0;
		}
		r = own(ctx, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0)
			goto usage;
		only_mode = false;
	}
	if (ec->path)
		return -1;
usage:
	fputs(ec->usage, stderr);
	return EXIT_USAGE;
}

int engine_cmd_read(struct engine_cmd *ec)
{
	struct util_err err = UTIL_ERR_INIT;

	/* Read here: a saved plan carries the bytes it was made from. */
	if (util_read_file(ec->path, RC_PLAN_MAX_FILE_SIZE, &ec->data, NULL,
			   &err)) {
		print_err(&err);
		return 1;
	}
	return 0;
}

/*
 * Owns the CLI's spec -> observe -> plan pipeline: every step, its error
 * printing and who frees what when a step fails.
 */
int engine_make_plan(struct engine_cmd *ec)
{
	const struct engine_plan_opts *eo = &ec->eo;
	struct util_err err = UTIL_ERR_INIT;
	struct rc_engine_result er = RC_ENGINE_RESULT_INIT;
	struct rc_notes errors = { 0 };
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts o = { .plan = &po,
				    .identity = eo->identity,
				    .health_as_needed = eo->health_as_needed };
	struct spec *s = NULL;
	struct prov *p = NULL;
	bool *use_lb = NULL, *use_eip = NULL;
	int rc = 1;

	if (cli_load_spec(ec->path, ec->data.buf, ec->data.len, &s))
		goto out;
	if (eo->n_only &&
	    rc_select_only(s, eo->only, eo->n_only, &use_lb, &use_eip, &err)) {
		print_err(&err);
		goto out;
	}
	if (make_provider(&eo->aws, s->region, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	po.use_lb = use_lb;
	po.use_eip = use_eip;
	po.allow_mass_deregister = eo->allow_mass;
	po.has_max_changes = eo->has_max_changes;
	po.max_changes = eo->max_changes;
	po.region = prov_aws_region(p, NULL);
	po.moor_version = MOOR_VERSION;
	po.spec_content = ec->data.buf;
	po.spec_content_len = ec->data.len;
	po.only = eo->only;
	po.n_only = eo->n_only;
	if (rc_engine_plan(p, s, &o, &er, &errors, &err) < 0) {
		if (er.observed)
			print_notes(&errors);
		print_err(&err);
		goto out;
	}
	ec->world = er.world;
	ec->plan = er.plan;
	er.world = (struct rc_world){ 0 };
	er.plan = NULL;
	ec->spec = s;
	ec->prov = p;
	s = NULL;
	p = NULL;
	rc = 0;
out:
	free(use_lb);
	free(use_eip);
	rc_notes_release(&errors);
	rc_engine_result_release(&er);
	spec_free(s);
	prov_free(p);
	return rc;
}

void engine_cmd_release(struct engine_cmd *ec)
{
	buf_release(&ec->data);
	rc_plan_free(ec->plan);
	rc_world_release(&ec->world);
	spec_free(ec->spec);
	prov_free(ec->prov);
	free(ec->eo.only);
}
