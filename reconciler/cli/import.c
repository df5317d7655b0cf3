/*
 * moor import: print a spec that declares the live state of the named
 * load balancers, target groups and elastic IPs.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "reconciler/engine/import.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/banned.h"

enum {
	OPT_CLASSIC = 256,
	OPT_TG,
	OPT_EIP,
};

static const char import_usage[] =
	"usage: moor import [--classic NAME...] [--target-group NAME...]\n"
	"                   [--eip ID|IP|NAME...] [-o FILE] [AWS options]\n"
	"\n"
	"Print a spec that declares exactly the live state of these load\n"
	"balancers and elastic IPs (moor plan against it shows no changes).\n"
	"\n" COMMON_AWS_USAGE;

/* What moor import was asked for. */
struct import_args {
	struct common_opts aws;
	const char **classic, **tgs, **eips;
	size_t n_classic, n_tgs, n_eips;
	const char *save; /* -o */
};

/*
 * Parse argv into a; -1 to go on, else the exit code to return now
 * (usage said; 0 for --help).  A word that is not an option is one more
 * name for the last of --classic, --target-group and --eip.
 */
static int import_parse(int argc, char **argv, struct import_args *a)
{
	static const struct option opts[] = {
		{ "classic", required_argument, NULL, OPT_CLASSIC },
		{ "target-group", required_argument, NULL, OPT_TG },
		{ "eip", required_argument, NULL, OPT_EIP },
		{ "out", required_argument, NULL, 'o' },
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, mode = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "-o:h", opts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &a->aws);

		if (r < 0)
			return EXIT_USAGE;
		if (r > 0) {
			mode = 0;
			continue;
		}
		if (c == 1)
			c = mode; /* more names for the last option */
		switch (c) {
		case OPT_CLASSIC:
			cli_add_names(&a->classic, &a->n_classic, optarg);
			break;
		case OPT_TG:
			cli_add_names(&a->tgs, &a->n_tgs, optarg);
			break;
		case OPT_EIP:
			cli_add_names(&a->eips, &a->n_eips, optarg);
			break;
		case 'o':
			a->save = optarg;
			break;
		case 'h':
			fputs(import_usage, stdout);
			return 0;
		case 0:
			fprintf(stderr, "moor import: unexpected '%s'\n",
				optarg);
			goto usage;
		default:
			goto usage;
		}
		mode = c == 'o' ? 0 : c;
	}
	if (a->n_classic || a->n_tgs || a->n_eips)
		return -1;
usage:
	fputs(import_usage, stderr);
	return EXIT_USAGE;
}

int cmd_import(int argc, char **argv)
{
	struct import_args a = { 0 };
	struct rc_import_opts io = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct buf out = BUF_INIT;
	struct prov *p = NULL;
	int rc = import_parse(argc, argv, &a);

	if (rc >= 0)
		goto out;
	rc = 1;
	a.aws.default_max_attempts = CLI_ENGINE_MAX_ATTEMPTS;
	if (make_provider(&a.aws, NULL, &p, &err) < 0) {
		print_err(&err);
		goto out;
	}
	io.classic = a.classic;
	io.n_classic = a.n_classic;
	io.tgs = a.tgs;
	io.n_tgs = a.n_tgs;
	io.eips = a.eips;
	io.n_eips = a.n_eips;
	io.region = prov_aws_region(p, NULL);
	io.moor_version = MOOR_VERSION;
	if (rc_import(p, &io, &out, &err) < 0) {
		print_err(&err);
		goto out;
	}
	if (a.save) {
		/* As plan -o: a failed write leaves the old file whole. */
		if (util_write_file_atomic(a.save, out.buf, out.len, 0644,
					   &err) < 0) {
			print_err(&err);
			goto out;
		}
	} else {
		fwrite(out.buf, 1, out.len, stdout);
	}
	rc = 0;
out:
	buf_release(&out);
	prov_free(p);
	free(a.classic);
	free(a.tgs);
	free(a.eips);
	return rc;
}
