#ifndef RECONCILER_CLI_COMMANDS_H
#define RECONCILER_CLI_COMMANDS_H

/*
 * The commands, one file each in reconciler/cli/ (as git keeps builtin/).
 * Each gets the command's own argv (argv[0] is its name), prints
 * everything it has to say and returns the exit code (common.h).
 */
int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_leases(int argc, char **argv);

#endif
