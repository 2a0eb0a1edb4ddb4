/* deadbolt — contain what GuardDuty finds, destroy nothing.
 * The command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_call.h"
#include "cmd_run.h"
#include "lambda.h"

static const char USAGE[] =
	"usage: deadbolt COMMAND [ARGS]\n"
	"\n"
	"  run [--dry-run] [--playbooks DIR] [--journal FILE] [--endpoint-url URL]\n"
	"      [--region R] [--profile P] [--include-samples] [--min-severity N] FINDING.json...\n"
	"                 respond to GuardDuty findings (exit 0 contained/skipped/planned,\n"
	"                 1 partial/failed, 2 bad input or usage)\n"
	"  check [DIR]    load every playbook in the sandbox and report structural errors\n"
	"  call SERVICE OPERATION [JSON] [--endpoint-url URL] [--region R] [--profile P]\n"
	"                 send one AWS call and print the result as JSON\n"
	"  lambda         serve the AWS Lambda Runtime API (also when run as 'bootstrap')\n"
	"  version        print the version\n";

static int invoked_as_bootstrap(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	return strcmp(base ? base + 1 : argv0, "bootstrap") == 0;
}

int main(int argc, char **argv)
{
	if (argc > 0 && invoked_as_bootstrap(argv[0]))
		return lambda_main();
	if (argc < 2) {
		fputs(USAGE, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "call") == 0)
		return cmd_call(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "lambda") == 0)
		return lambda_main();
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("deadbolt %s\n", DEADBOLT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(USAGE, stdout);
		return 0;
	}
	fprintf(stderr, "deadbolt: unknown command '%s'\n%s", cmd, USAGE);
	return 2;
}
