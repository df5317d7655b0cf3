/*
 * moor: the command line.  This is the only file that prints and chooses
 * exit codes; everything it calls returns values and errors.
 *
 * Exit codes: 0 success (plan: no changes), 1 error, 2 changes present
 * (plan --detailed-exitcode), 64 usage error.
 *
 * Layout: one cmd_*() per command, then the dispatch table.  Options shared
 * by the commands that talk to AWS live in struct common_opts and are
 * parsed by parse_common_opt().
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/provider.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/banned.h"

#define EXIT_CHANGES 2
#define EXIT_USAGE   64

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
	"\n"
	"See moor(1) and moor-spec(5).\n";

/* Options of every command that talks to AWS. */
struct common_opts {
	const char *region;  /* --region */
	const char *profile; /* --profile */
	int debug;	     /* --debug: log each HTTP exchange (redacted) */
	int max_attempts;    /* --max-attempts, 0 = default */
};

static void print_err(const struct util_err *err)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	fprintf(stderr, "moor: %s\n", b.buf);
	buf_release(&b);
}

/*
 * Open the AWS provider for the given options; spec_region is the spec's
 * `region:` (NULL if none).  Caller frees *ret with prov_free().
 */
static int make_provider(const struct common_opts *o, const char *spec_region,
			 struct prov **ret, struct util_err *err)
{
	(void)o;
	(void)spec_region;
	(void)ret;
	return util_err_set(err, UTIL_EFAIL,
			    "the AWS provider is not built yet");
}

/* --- moor validate ---------------------------------------------------- */

static int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor validate: not implemented yet\n", stderr);
	return 1;
}

/* --- moor plan / apply / import --------------------------------------- */

static int cmd_plan(int argc, char **argv)
{
	struct prov *p = NULL;
	struct util_err err = UTIL_ERR_INIT;

	(void)argc;
	(void)argv;
	if (make_provider(NULL, NULL, &p, &err) < 0) {
		print_err(&err);
		return 1;
	}
	prov_free(p);
	return 1;
}

static int cmd_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor apply: not implemented yet\n", stderr);
	return 1;
}

static int cmd_import(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor import: not implemented yet\n", stderr);
	return 1;
}

/* --- moor watch ------------------------------------------------------- */

static int cmd_watch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor watch: not implemented yet\n", stderr);
	return 1;
}

/* --- moor whoami ------------------------------------------------------ */

static int cmd_whoami(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor whoami: not implemented yet\n", stderr);
	return 1;
}

/* --- dispatch --------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "validate", cmd_validate }, { "plan", cmd_plan },
	{ "apply", cmd_apply },	      { "import", cmd_import },
	{ "watch", cmd_watch },	      { "whoami", cmd_whoami },
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "moor: unknown command '%s'\n\n%s", argv[1],
		usage_text);
	return EXIT_USAGE;
}
