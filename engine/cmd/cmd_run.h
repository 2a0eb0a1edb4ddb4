/* cmd_run — the `deadbolt run` and `deadbolt check` subcommands.
 * engine/main.c dispatches
 * here with argv[0] being the subcommand's name. Each returns the process
 * exit code: run 0 contained/skipped/planned, 1 partial/failed, 2 bad input
 * or usage; check 0 clean, 1 problems, 2 usage. */
#ifndef DEADBOLT_CMD_RUN_H
#define DEADBOLT_CMD_RUN_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
