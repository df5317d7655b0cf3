#ifndef RECONCILER_CLI_ENGINE_CMD_H
#define RECONCILER_CLI_ENGINE_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "reconciler/cli/common.h"
#include "reconciler/engine/observe.h"
#include "util/buf.h"

struct prov;
struct rc_plan;
struct spec;

/*
 * What moor plan and moor apply share: their common options, the
 * SPEC|PLAN word, reading that file, and making a plan from a spec.
 */

/* The shared options; a command's own ones start at ENGINE_OPT_NEXT. */
enum {
	OPT_ONLY = 256,
	OPT_ALLOW_MASS,
	OPT_MAX_CHANGES,
	ENGINE_OPT_NEXT,
};

#define ENGINE_CMD_LONGOPTS                                             \
	{ "only", required_argument, NULL, OPT_ONLY },                  \
		{ "allow-mass-deregister", no_argument, NULL,           \
		  OPT_ALLOW_MASS },                                     \
	{                                                               \
		"max-changes", required_argument, NULL, OPT_MAX_CHANGES \
	}

/* The options that shape a plan; aws is COMMON_AWS_LONGOPTS. */
struct engine_plan_opts {
	struct common_opts aws;
	const char **only;
	size_t n_only;
	bool allow_mass;
	bool has_max_changes;
	unsigned max_changes;
	/*
	 * Read the caller identity: only when the output records the
	 * account (a saved plan, JSON, markdown); every read earns its place.
	 */
	bool identity;
	/*
	 * Read Classic member health only where a step needs it: the output
	 * (text) does not show it (rc_reads.health_as_needed).
	 */
	bool health_as_needed;
};

/* One run of moor plan or moor apply.  Initialise with ENGINE_CMD_INIT. */
struct engine_cmd {
	const char *name;  /* "plan" or "apply", in messages */
	const char *usage; /* its usage text */
	struct engine_plan_opts eo;
	const char *path; /* the SPEC or PLAN word */
	struct buf data;  /* its bytes (engine_cmd_read) */
	/* What the plan was made with and from (engine_make_plan). */
	struct spec *spec;
	struct prov *prov;
	struct rc_world world;
	struct rc_plan *plan;
};

#define ENGINE_CMD_INIT(cmd, text)                               \
	{                                                        \
		.name = (cmd), .usage = (text), .data = BUF_INIT \
	}

/*
 * A command's own option c with its value arg: 1 taken, 0 not its own
 * (a usage error), -1 a bad value (said on stderr).
 */
typedef int engine_own_opt_fn(void *ctx, int c, char *arg);

/*
 * Parse argv with getopt_long (shortopts must start with '-' and hold
 * 'h'; longopts hold ENGINE_CMD_LONGOPTS and COMMON_AWS_LONGOPTS); own
 * gets every other option.  Returns -1 to go on, with ec->path set, or
 * the exit code to return now (usage said; 0 for --help).
 */
int engine_cmd_parse(struct engine_cmd *ec, int argc, char **argv,
		     const char *shortopts, const struct option *longopts,
		     engine_own_opt_fn *own, void *ctx);

/* Read ec->path into ec->data; 0, or 1 (said). */
int engine_cmd_read(struct engine_cmd *ec);

/*
 * Load the spec in ec->data, open the provider, observe and plan into
 * ec->spec, ec->prov, ec->world and ec->plan.  Prints every problem
 * itself; returns 0 or 1 (the exit code).
 */
int engine_make_plan(struct engine_cmd *ec);

/* Free everything ec holds. */
void engine_cmd_release(struct engine_cmd *ec);

#endif
