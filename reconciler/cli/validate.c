/*
 * moor validate FILE...: check spec files; contacts nothing.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/banned.h"

static const char validate_usage[] =
	"usage: moor validate [-q|--quiet] FILE...\n"
	"\n"
	"Check spec files without contacting anything.  Prints\n"
	"'FILE: ok (...)' per valid file and 'FILE:LINE:COL: message' per\n"
	"problem; exits 1 if any file is invalid.\n";

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
	if (r == 0 && cli_check_read_budget(s, NULL, 0))
		r = UTIL_EINVAL;
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

int cmd_validate(int argc, char **argv)
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
