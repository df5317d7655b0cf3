/*
 * moor: the command line.  This is the only file that prints and chooses
 * exit codes; everything it calls returns values and errors.
 *
 * Exit codes: 0 success (plan: no changes), 1 error, 2 changes present
 * (plan --detailed-exitcode), 64 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "spec/spec.h"
#include "util/banned.h"

#define EXIT_USAGE 64

static const char usage_text[] =
	"usage: moor [--version] [--help] <command> [<args>]\n"
	"\n"
	"commands:\n"
	"  validate FILE...   check spec files; contacts nothing\n"
	"\n"
	"See moor(1) and moor-spec(5).\n";

/* --- moor validate ---------------------------------------------------- */

static int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("moor validate: not implemented yet\n", stderr);
	return 1;
}

/* --- dispatch --------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "validate", cmd_validate },
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
