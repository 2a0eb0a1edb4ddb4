/* deadbolt — contain what GuardDuty finds, destroy nothing.
 * The command line: dispatches to the subcommands, each of which answers
 * --help itself. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_call.h"
#include "cmd_chunks.h"
#include "cmd_primitives.h"
#include "cmd_restore.h"
#include "cmd_run.h"
#include "lambda.h"
#include "reloc_pages.h"

static const char USAGE[] =
	"usage: deadbolt COMMAND [ARGS]       (deadbolt COMMAND --help for each)\n"
	"\n"
	"  run [--dry-run] [--playbooks DIR] [--journal FILE] [--quiet] [--endpoint-url URL]\n"
	"      [--region R] [--profile P] [--include-samples] [--min-severity N] FINDING.json...\n"
	"                 respond to GuardDuty findings (exit 0 contained/skipped/planned,\n"
	"                 1 partial/failed, 2 bad input or usage)\n"
	"  check [DIR]    load every playbook in the sandbox and report structural errors\n"
	"  call SERVICE OPERATION [JSON] [--output json|text] [--endpoint-url URL] [--region R]\n"
	"       [--profile P]\n"
	"                 send one AWS call and print the result\n"
	"  restore JOURNAL|- [--finding ID] [--dry-run] [--force] [--journal FILE]\n"
	"                 undo what a live run changed, newest first, from its journal\n"
	"  primitives [--json]\n"
	"                 list the AWS operations a playbook may call, with their undo\n"
	"  chunks [--playbooks DIR] [--as DIR] -o FILE\n"
	"                 compile the playbooks into FILE (the Lambda package's playbooks.chunks)\n"
	"  lambda         serve the AWS Lambda Runtime API (also when run as 'bootstrap')\n"
	"  version        print the version\n";

static const char LAMBDA_USAGE[] =
	"usage: deadbolt lambda        (or the binary run under the name 'bootstrap')\n"
	"\n"
	"Serves the AWS Lambda Runtime API (provided.al2023): each invocation's event goes to\n"
	"the runner; the result, or an error type, goes back (docs/lambda.md). It needs the\n"
	"environment Lambda gives a function:\n"
	"  AWS_LAMBDA_RUNTIME_API   host:port of the Runtime API (required)\n"
	"  LAMBDA_TASK_ROOT         the package; playbooks in $LAMBDA_TASK_ROOT/playbooks\n"
	"and the function's settings (a bad value is an init error):\n"
	"  ARTIFACT_BUCKET, QUARANTINE_PROFILE_ARN, NOTIFICATION_TOPIC_ARN\n"
	"                           the stack's resources, seen by playbooks as ctx.env\n"
	"  DEADBOLT_PLAYBOOKS       another playbook directory\n"
	"  DEADBOLT_DRY_RUN=true    reads sent, writes planned only\n"
	"  DEADBOLT_INCLUDE_SAMPLES=true, DEADBOLT_MIN_SEVERITY=N\n"
	"  DEADBOLT_PARTIAL_IS_ERROR=true   a partly contained finding is an invocation error\n"
	"  DEADBOLT_CA_BUNDLE       a CA bundle instead of the system's (missing: init error)\n"
	"Credentials and region come from the AWS_* variables Lambda sets (deadbolt run --help\n"
	"lists every AWS setting read).\n";

static const char VERSION_USAGE[] = "usage: deadbolt version\n\nPrints the version.\n";

/* `deadbolt lambda [--help]`: no other argument, so a typo is not taken
 * for a request to serve. */
static int cmd_lambda(int argc, char **argv)
{
	if (argc > 1 && cli_is_help(argv[1])) {
		fputs(LAMBDA_USAGE, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "deadbolt lambda: unexpected argument %s\n%s", argv[1], LAMBDA_USAGE);
		return 2;
	}
	return lambda_main();
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && cli_is_help(argv[1])) {
		fputs(VERSION_USAGE, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "deadbolt version: unexpected argument %s\n%s", argv[1], VERSION_USAGE);
		return 2;
	}
	printf("deadbolt %s\n", DEADBOLT_VERSION);
	return 0;
}

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
} command;

static const command COMMANDS[] = {
	{"run", cmd_run},
	{"check", cmd_check},
	{"call", cmd_call},
	{"restore", cmd_restore},
	{"primitives", cmd_primitives},
	{"chunks", cmd_chunks},
	{"lambda", cmd_lambda},
	{"version", cmd_version},
};

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
		if (strcmp(COMMANDS[i].name, name) == 0)
			return &COMMANDS[i];
	return NULL;
}

/* `deadbolt help [COMMAND]`: the command's own --help. */
static int cmd_help(int argc, char **argv)
{
	const command *c = argc > 1 ? find_command(argv[1]) : NULL;
	char help[] = "--help";
	char *args[] = {argv[argc > 1 ? 1 : 0], help, NULL};

	if (argc > 1 && c == NULL) {
		fprintf(stderr, "deadbolt help: unknown command '%s'\n%s", argv[1], USAGE);
		return 2;
	}
	if (c == NULL) {
		fputs(USAGE, stdout);
		return 0;
	}
	return c->run(2, args);
}

static int invoked_as_bootstrap(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	return strcmp(base ? base + 1 : argv0, "bootstrap") == 0;
}

int main(int argc, char **argv)
{
	reloc_pages_release(); /* the loader is done with them: reloc_pages.h */
	if (argc > 0 && invoked_as_bootstrap(argv[0]))
		return lambda_main();
	if (argc < 2) {
		fputs(USAGE, stderr);
		return 2;
	}
	const char *name = argv[1];
	const command *c = find_command(name);
	if (c != NULL)
		return c->run(argc - 1, argv + 1);
	if (strcmp(name, "--version") == 0)
		return cmd_version(1, argv + 1);
	if (strcmp(name, "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (cli_is_help(name)) {
		fputs(USAGE, stdout);
		return 0;
	}
	fprintf(stderr, "deadbolt: unknown command '%s'\n%s", name, USAGE);
	return 2;
}
