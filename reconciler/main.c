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

static const char validate_usage[] =
	"usage: moor validate [-q|--quiet] FILE...\n"
	"\n"
	"Check spec files without contacting anything.  Prints\n"
	"'FILE: ok (...)' per valid file and 'FILE:LINE:COL: message' per\n"
	"problem; exits 1 if any file is invalid.\n";

static void print_spec_diags(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		fprintf(stderr, "%s\n", b.buf);
	}
	buf_release(&b);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* One file: 0 valid, 1 invalid or unreadable. */
static int validate_one(const char *path, int quiet)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	size_t lbs, members, eips;
	int r;

	r = spec_load_file(path, &s, &d, &err);
	if (r == UTIL_EIO)
		print_err(&err);
	else
		print_spec_diags(&d);
	if (r == 0 && !quiet) {
		spec_counts(s, &lbs, &members, &eips);
		printf("%s: ok (%zu %s, %zu %s, %zu %s)\n", path, lbs,
		       plural(lbs, "load balancer", "load balancers"), members,
		       plural(members, "member", "members"), eips,
		       plural(eips, "elastic IP", "elastic IPs"));
	}
	spec_free(s);
	spec_diags_release(&d);
	return r == 0 ? 0 : 1;
}

static int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int quiet = 0, rc = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(validate_usage, stdout);
			return 0;
		default:
			fputs(validate_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(validate_usage, stderr);
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (validate_one(argv[i], quiet))
			rc = 1;
	return rc;
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
