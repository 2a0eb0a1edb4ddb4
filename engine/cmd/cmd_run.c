/* cmd_run — `deadbolt run` and `deadbolt check`. See cmd_run.h. */
#include "cmd_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "finding.h"
#include "runner.h"

static const char RUN_USAGE[] =
	"usage: deadbolt run [--dry-run] [--playbooks DIR] [--journal FILE] [--quiet]\n"
	"                    [--endpoint-url URL] [--region R] [--profile P] [--include-samples]\n"
	"                    [--min-severity N] [--chunks FILE] [--wall-seconds S]\n"
	"                    FINDING.json...\n"
	"\n"
	"Responds to GuardDuty findings: each file ('-' is stdin) holds an EventBridge event,\n"
	"a bare finding, {\"Findings\": [...]}, or a JSON array of these, replayed in order.\n"
	"\n"
	"  --dry-run          send reads, record writes without sending them; print the plan\n"
	"  --playbooks DIR    the playbook directory (default: $DEADBOLT_PLAYBOOKS, else playbooks)\n"
	"  --journal FILE     append the journal (JSON lines) to FILE ('-': stdout); the summary\n"
	"                     then goes to stderr\n"
	"  --quiet            no summary\n"
	"  --endpoint-url URL send every AWS call to URL (a moto server, say)\n"
	"  --region R         use R instead of each finding's region (env DEADBOLT_REGION)\n"
	"  --profile P        the AWS profile for credentials\n"
	"  --include-samples  respond to GuardDuty sample findings too\n"
	"                     (env DEADBOLT_INCLUDE_SAMPLES=true)\n"
	"  --min-severity N   skip findings below severity N (env DEADBOLT_MIN_SEVERITY; default 0)\n"
	"  --chunks FILE      the playbooks compiled by `deadbolt chunks`: each used while its file's\n"
	"                     text is unchanged. Bytecode is not verified: use only a file as trusted\n"
	"                     as this binary (the Lambda package reads its own playbooks.chunks)\n"
	"  --wall-seconds S   each run's wall clock (default 120; the Lambda's is its deadline):\n"
	"                     the run ends there, and its locks say so (ctx.deadline)\n"
	"\n"
	"Exit status: 0 contained, skipped or planned; 1 partial or failed; 2 bad input or usage.\n"
	"\n"
	"Environment (a flag wins over its variable):\n"
	"  ARTIFACT_BUCKET, QUARANTINE_PROFILE_ARN, NOTIFICATION_TOPIC_ARN\n"
	"                     the account's evidence bucket, quarantine instance profile and\n"
	"                     notification topic, seen by playbooks as ctx.env\n"
	"  DEADBOLT_PLAYBOOKS    the playbook directory (--playbooks)\n"
	"  DEADBOLT_REGION       as --region\n"
	"  DEADBOLT_MIN_SEVERITY as --min-severity\n"
	"  DEADBOLT_INCLUDE_SAMPLES=true  as --include-samples\n"
	"  LAMBDA_TASK_ROOT      where a Lambda package's own CA bundle is looked for\n";

/* After CLI_AWS_ENVIRONMENT. */
static const char RUN_USAGE_END[] =
	"\n"
	"`deadbolt run event.json` is what `sam local invoke -e event.json` would run: the same\n"
	"runner and playbooks on the same event, with the settings of this shell instead of the\n"
	"function's environment, and a summary instead of the Lambda result (docs/lambda.md).\n";

static const char CHECK_USAGE[] =
	"usage: deadbolt check [DIR]\n"
	"\n"
	"Loads every playbook of DIR (default: $DEADBOLT_PLAYBOOKS, else playbooks) in the\n"
	"sandbox, with AWS calls refused, and reports structural problems and calls to operations not on the allow-list.\n"
	"Exit status: 0 no problems, 1 problems, 2 usage or an unreadable directory.\n";

typedef struct run_args {
	runner_options o;
	aws_client_config cfg;
	const char *journal;
	int quiet;
	char **files;
	int nfiles;
} run_args;

static void run_usage(FILE *f)
{
	fputs(RUN_USAGE, f);
	fputs(CLI_AWS_ENVIRONMENT, f);
	fputs(RUN_USAGE_END, f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("deadbolt run: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	run_usage(stderr);
	return 2;
}

/* "1", "true", "yes", "on" -> 1; "", "0", "false", "no", "off" -> 0; else -1. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"", "0", "false", "no", "off"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

static int parse_severity(const char *s, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || errno || *end || !(v >= 0 && v <= 10))
		return -1;
	*out = v;
	return 0;
}

/* DEADBOLT_PLAYBOOKS, else "playbooks" (as the Lambda runtime, which
 * defaults to $LAMBDA_TASK_ROOT/playbooks instead). */
static const char *default_playbooks(void)
{
	const char *v = getenv("DEADBOLT_PLAYBOOKS");
	return v && *v ? v : "playbooks";
}

/* The environment first; flags override it. */
static int read_env(run_args *a)
{
	const char *v = getenv("DEADBOLT_INCLUDE_SAMPLES");
	if (v && (a->o.include_samples = parse_bool(v)) < 0)
		return usage_error("DEADBOLT_INCLUDE_SAMPLES must be true or false, not \"%s\"", v);
	v = getenv("DEADBOLT_MIN_SEVERITY");
	if (v && *v && parse_severity(v, &a->o.min_severity) != 0)
		return usage_error("DEADBOLT_MIN_SEVERITY must be a number from 0 to 10, not \"%s\"", v);
	v = getenv("DEADBOLT_REGION");
	if (v && *v)
		a->o.region = v;
	a->o.playbook_dir = default_playbooks();
	return 0;
}

/* --wall-seconds: 1 to 900 seconds (Lambda's longest timeout). 0, or -1. */
static int parse_wall(const char *v, double *out)
{
	char *end = NULL;
	double d;
	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= 1 && d <= 900))
		return -1;
	*out = d;
	return 0;
}

/* One option at argv[*i]: 1 taken, 0 not an option, 2 exit with usage. */
static int parse_option(int argc, char **argv, int *i, run_args *a)
{
	const char *v = NULL;
	int r;
	if (strcmp(argv[*i], "--dry-run") == 0) {
		a->o.dry_run = 1;
		return 1;
	}
	if (strcmp(argv[*i], "--include-samples") == 0) {
		a->o.include_samples = 1;
		return 1;
	}
	if (strcmp(argv[*i], "--quiet") == 0) {
		a->quiet = 1;
		return 1;
	}
	if ((r = cli_opt(argc, argv, i, "--playbooks", &a->o.playbook_dir)) ||
	    (r = cli_opt(argc, argv, i, "--journal", &a->journal)) ||
	    (r = cli_opt(argc, argv, i, "--endpoint-url", &a->cfg.endpoint_url)) ||
	    (r = cli_opt(argc, argv, i, "--profile", &a->cfg.profile)) ||
	    (r = cli_opt(argc, argv, i, "--chunks", &a->o.chunks_file)))
		return r < 0 ? usage_error("%s needs a value", argv[*i]) : 1;
	if ((r = cli_opt(argc, argv, i, "--region", &a->o.region)) != 0)
		return r < 0 ? usage_error("%s needs a value", argv[*i]) : 1;
	if ((r = cli_opt(argc, argv, i, "--wall-seconds", &v)) != 0) {
		if (r < 0 || parse_wall(v, &a->o.limits.wall_seconds) != 0)
			return usage_error("--wall-seconds needs a number of seconds from 1 to 900");
		return 1;
	}
	if ((r = cli_opt(argc, argv, i, "--min-severity", &v)) != 0) {
		if (r < 0 || parse_severity(v, &a->o.min_severity) != 0)
			return usage_error("--min-severity needs a number from 0 to 10");
		return 1;
	}
	return 0;
}

/* Returns 0, 2 (usage error, printed) or 3 (--help, printed). */
static int parse_run(int argc, char **argv, run_args *a)
{
	int only_files = 0;
	if (read_env(a) != 0)
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!only_files && cli_is_help(s)) {
			run_usage(stdout);
			return 3;
		}
		if (!only_files && strcmp(s, "--") == 0) {
			only_files = 1;
			continue;
		}
		int r = only_files || s[0] != '-' || strcmp(s, "-") == 0 ? 0 : parse_option(argc, argv, &i, a);
		if (r == 2)
			return 2;
		if (r == 1)
			continue;
		if (!only_files && s[0] == '-' && s[1])
			return usage_error("unknown option %s", s);
		a->files[a->nfiles++] = argv[i];
	}
	if (a->nfiles == 0)
		return usage_error("no finding file given");
	return 0;
}

static FILE *open_journal(const char *path)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

static int worse(int code, runner_outcome o)
{
	int c = runner_exit_code(o);
	return c > code ? c : code;
}

static int run_file(runner *r, const char *path, buf *doc)
{
	char err[600];
	runner_outcome worst;
	int rc = strcmp(path, "-") == 0 ? finding_read_fd(0, 0, doc, err, sizeof(err))
					 : finding_read_file(path, 0, doc, err, sizeof(err));
	if (rc == 0)
		rc = runner_run_document(r, doc->data ? doc->data : "", doc->len, &worst, NULL, err,
					 sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "deadbolt: %s: %s\n", strcmp(path, "-") == 0 ? "stdin" : path, err);
		return OUTCOME_INVALID;
	}
	return worst;
}

static int run_all(run_args *a)
{
	aws_error aerr;
	char err[600];
	buf doc = BUF_INIT;
	runner *r = NULL;
	int code = 2;
	aws_error_clear(&aerr);
	a->cfg.region = a->o.region;
	if (cli_check_profile("run", a->cfg.profile) != 0 || cli_check_ca_bundle("run") != 0)
		goto out;
	if ((a->o.client = aws_client_new(&a->cfg, &aerr)) == NULL) {
		fprintf(stderr, "deadbolt: AWS client: %s: %s\n", aerr.code, aerr.message);
		goto out;
	}
	if ((r = runner_new(&a->o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "deadbolt: %s\n", err);
		goto out;
	}
	code = 0;
	for (int i = 0; i < a->nfiles; i++) {
		if (i > 0 && a->o.summary)
			fputc('\n', a->o.summary);
		code = worse(code, (runner_outcome)run_file(r, a->files[i], &doc));
	}
	if (a->o.summary)
		runner_report_totals(r);
out:
	runner_free(r);
	aws_client_free(a->o.client);
	buf_free(&doc);
	return code;
}

int cmd_run(int argc, char **argv)
{
	run_args a;
	int code;
	memset(&a, 0, sizeof(a));
	sandbox_default_limits(&a.o.limits);
	a.files = calloc((size_t)argc + 1, sizeof(*a.files));
	if (!a.files)
		return 2;
	code = parse_run(argc, argv, &a);
	if (code != 0) {
		code = code == 3 ? 0 : code;
		goto out;
	}
	if (a.journal && (a.o.journal = open_journal(a.journal)) == NULL) {
		fprintf(stderr, "deadbolt run: %s: %s\n", a.journal, strerror(errno));
		code = 2;
		goto out;
	}
	/* The summary never shares a stream with the journal's JSON lines. */
	a.o.summary = a.quiet ? NULL : a.o.journal ? stderr : stdout;
	code = run_all(&a);
out:
	if (a.o.journal == stdout && fflush(stdout) != 0 && code == 0)
		code = 2;
	else if (a.o.journal && a.o.journal != stdout && fclose(a.o.journal) != 0 && code == 0)
		code = 2;
	free(a.files);
	fflush(stdout);
	return code;
}

int cmd_check(int argc, char **argv)
{
	const char *dir = NULL;
	char err[600];
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(CHECK_USAGE, stdout);
			return 0;
		}
		if ((argv[i][0] == '-' && argv[i][1]) || dir) {
			fprintf(stderr, "deadbolt check: unexpected argument %s\n%s", argv[i], CHECK_USAGE);
			return 2;
		}
		dir = argv[i];
	}
	int problems = runner_check(dir ? dir : default_playbooks(), stdout, err, sizeof(err));
	fflush(stdout);
	if (problems < 0) {
		fprintf(stderr, "deadbolt check: %s\n", err);
		return 2;
	}
	return problems ? 1 : 0;
}
