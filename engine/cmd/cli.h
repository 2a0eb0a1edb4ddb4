/* cli — small shared helpers for the subcommands' argument parsing. */
#ifndef DEADBOLT_CLI_H
#define DEADBOLT_CLI_H

/* If argv[*i] is "--name VALUE" or "--name=VALUE", stores VALUE, advances *i
 * past it and returns 1; returns -1 when the value is missing, 0 when argv[*i]
 * is another argument. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

#define DEADBOLT_VERSION "0.1.0"

#endif
