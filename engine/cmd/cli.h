/* cli — small shared helpers for the subcommands' argument parsing and
 * their help texts. Static data and stdio only; nothing here allocates. */
#ifndef DEADBOLT_CLI_H
#define DEADBOLT_CLI_H

/* If argv[*i] is "--name VALUE" or "--name=VALUE", stores VALUE, advances *i
 * past it and returns 1; returns -1 when the value is missing, 0 when argv[*i]
 * is another argument. */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* 1 when arg asks for help: "--help" or "-h". */
int cli_is_help(const char *arg);

/* The profile a client would use (explicit, else AWS_PROFILE, else
 * "default"): 0 when it exists in the config or credentials file, or is
 * "default"; else prints one line on stderr, "deadbolt CMD: the config
 * profile (P) could not be found ...", and returns -1. Called once at start,
 * so that a misspelt profile is not reported again by every AWS call. */
int cli_check_profile(const char *cmd, const char *explicit_profile);

/* DEADBOLT_CA_BUNDLE or SSL_CERT_FILE naming a file that cannot be read:
 * one line on stderr ("deadbolt CMD: DEADBOLT_CA_BUNDLE names ...") and -1,
 * before any call fails on it; else 0. */
int cli_check_ca_bundle(const char *cmd);

/* The help text's paragraph on the AWS settings the client reads from the
 * environment, as the AWS CLI and SDKs read them. */
extern const char CLI_AWS_ENVIRONMENT[];

#define DEADBOLT_VERSION "0.1.0"

#endif
