/*
 * moor: the command line.  Only the files of reconciler/cli/ print and
 * choose exit codes; everything they call returns values and errors.
 *
 * Exit codes: 0 success (plan: no changes), 1 error, 2 changes present
 * (plan --detailed-exitcode), 64 usage error.
 *
 * Layout (as git's git.c and builtin/): this file parses the global
 * options and dispatches; each command is one file (validate.c, plan.c,
 * apply.c, import.c, watch.c, whoami.c, leases.c).  common.[ch] holds the options
 * of the commands that talk to AWS, engine_cmd.[ch] what plan and apply
 * share, output.[ch] the terminal output (log sinks, progress display).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "util/array.h"
#include "util/alloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: moor [--version] [--help] <command> [<args>]\n"
	"\n"
	"commands:\n"
	"  validate FILE...       check spec files; contacts nothing\n"
	"  plan SPEC              show what apply would change\n"
	"  apply SPEC|PLAN        make live state equal to the spec\n"
	"  import ...             print a spec that declares the live state\n"
	"  watch SPEC             daemon: apply every edit, correct drift,\n"
	"                         fail floating IPs over\n"
	"  whoami                 show the AWS identity, region and endpoints\n"
	"  leases TABLE           show the leases of watch --lease-table\n"
	"\n"
	"See moor(1) and moor-spec(5).\n";

/* --- dispatch --------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "validate", cmd_validate }, { "plan", cmd_plan },
	{ "apply", cmd_apply },	      { "import", cmd_import },
	{ "watch", cmd_watch },	      { "whoami", cmd_whoami },
	{ "leases", cmd_leases },
};

int main(int argc, char **argv)
{
	util_alloc_install_hooks();
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("moor %s\n", MOOR_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "moor: unknown command '%s'\n\n%s", argv[1],
		usage_text);
	return EXIT_USAGE;
}
