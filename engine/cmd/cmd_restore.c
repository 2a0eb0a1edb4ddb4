/* cmd_restore — `deadbolt restore JOURNAL`: reads the "undo" lines a live
 * run journaled and undoes them in reverse order (engine/run/restore.c):
 * every call goes through a sandbox in restore mode, which lets an undo
 * loosen only back to the state the journal recorded before. Writes its own
 * journal and one notification.
 *
 * Ownership: everything is owned by cmd_restore's frame and freed at out. */
#include "cmd_restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "client.h"
#include "restore.h"

#define RESTORE_USAGE \
	"usage: deadbolt restore JOURNAL|- [--finding ID] [--dry-run] [--force] [--remove-groups]\n" \
	"       deadbolt restore --finding ID [--dry-run] [--force] [--remove-groups]\n" \
	"                        [--journal FILE] [--endpoint-url URL] [--region R] [--profile P]\n"

static const char RESTORE_HELP[] =
	RESTORE_USAGE
	"\n"
	"Undoes what a live `deadbolt run` changed, from the journal it wrote (JOURNAL, or '-'\n"
	"for standard input): each \"undo\" line names a change, the call that undoes it and\n"
	"the state before. Changes are undone newest first; two changes of one thing (an\n"
	"ENI moved twice) go back to the state before the first. Before each undo the thing\n"
	"is read: still as the containment left it, it is undone; already as before, it is\n"
	"left alone (restoring twice is harmless); anything else was changed since and is\n"
	"refused, named, unless --force. Evidence (snapshots, objects) is kept.\n"
	"\n"
	"  --finding ID       only the runs of that finding in JOURNAL; without JOURNAL, every\n"
	"                     journal the Lambda kept for it in ARTIFACT_BUCKET (under\n"
	"                     journal/by-finding/ID/), the restore's own journal stored beside\n"
	"  --dry-run          print the restore plan; send no write\n"
	"  --force            undo changes made since the containment too\n"
	"  --remove-groups    also delete the security groups the containment created, once no\n"
	"                     ENI uses them (the one delete restore does)\n"
	"  --journal FILE     the restore's own journal (default: JOURNAL.restore.jsonl beside\n"
	"                     JOURNAL; none for '-')\n"
	"  --endpoint-url URL, --region R, --profile P   as for `deadbolt run`; the undo\n"
	"                     calls go to the region the journal's runs acted in (its\n"
	"                     run_start lines' region), --region only to the journals'\n"
	"                     objects in ARTIFACT_BUCKET\n"
	"\n"
	"NOTIFICATION_TOPIC_ARN, when set, gets one message with the outcome. Every call goes\n"
	"through the sandbox in restore mode: an undo may loosen only back to the state the\n"
	"journal recorded before (config.lua of $DEADBOLT_PLAYBOOKS, else playbooks, names the\n"
	"one inline policy restore may delete).\n"
	"Exit status: 0 everything restored (or already), 1 something refused or failed,\n"
	"2 usage or an unreadable journal.\n";

typedef struct restore_args {
	const char *journal, *finding, *own_journal;
	int dry_run, force, remove_groups, help;
	aws_client_config cfg;
	char why[160];
} restore_args;

static int parse_args(int argc, char **argv, restore_args *a)
{
	for (int i = 1; i < argc; i++) {
		int r;
		if (cli_is_help(argv[i])) {
			a->help = 1;
			return 0;
		}
		const char *opt = argv[i];
		if ((r = cli_opt(argc, argv, &i, "--finding", &a->finding)) ||
		    (r = cli_opt(argc, argv, &i, "--journal", &a->own_journal)) ||
		    (r = cli_opt(argc, argv, &i, "--endpoint-url", &a->cfg.endpoint_url)) ||
		    (r = cli_opt(argc, argv, &i, "--region", &a->cfg.region)) ||
		    (r = cli_opt(argc, argv, &i, "--profile", &a->cfg.profile))) {
			if (r < 0) {
				snprintf(a->why, sizeof(a->why), "%s needs a value", opt);
				return -1;
			}
			continue;
		}
		if (strcmp(argv[i], "--dry-run") == 0)
			a->dry_run = 1;
		else if (strcmp(argv[i], "--force") == 0)
			a->force = 1;
		else if (strcmp(argv[i], "--remove-groups") == 0)
			a->remove_groups = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			snprintf(a->why, sizeof(a->why), "unknown option %s", argv[i]);
			return -1;
		} else if (a->journal) {
			snprintf(a->why, sizeof(a->why), "unexpected argument %s", argv[i]);
			return -1;
		} else
			a->journal = argv[i];
	}
	if (!a->journal && !a->finding)
		snprintf(a->why, sizeof(a->why), "a journal (a file, or '-') or --finding ID is needed");
	return a->journal || a->finding ? 0 : -1;
}

static int read_all(FILE *f, buf *out)
{
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(out, chunk, n) != 0)
			return -1;
	return ferror(f) ? -1 : 0;
}

static FILE *open_own_journal(const restore_args *a, char *path, size_t n)
{
	if (a->own_journal)
		snprintf(path, n, "%s", a->own_journal);
	else if (a->journal && strcmp(a->journal, "-") != 0)
		snprintf(path, n, "%s.restore.jsonl", a->journal);
	else
		return NULL;
	if (strcmp(path, "-") == 0)
		return stdout;
	return fopen(path, "a");
}

int cmd_restore(int argc, char **argv)
{
	restore_args a;
	restore_opts o;
	buf text = BUF_INIT;
	FILE *in = NULL, *own = NULL;
	aws_client *c = NULL;
	aws_error err;
	char path[4096], why[512];
	int rc = 2;
	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "%sdeadbolt restore: %s\n", RESTORE_USAGE, a.why);
		return 2;
	}
	if (a.help) {
		fputs(RESTORE_HELP, stdout);
		return 0;
	}
	o.bucket = getenv("ARTIFACT_BUCKET");
	if (!a.journal && (!o.bucket || !*o.bucket)) {
		fprintf(stderr, "deadbolt restore: --finding without a JOURNAL reads the artifact bucket: "
				"set ARTIFACT_BUCKET\n");
		goto out;
	}
	if (a.journal) {
		in = strcmp(a.journal, "-") == 0 ? stdin : fopen(a.journal, "r");
		if (!in || read_all(in, &text) != 0 || buf_putc(&text, '\0') != 0) {
			fprintf(stderr, "deadbolt restore: %s: %s\n", a.journal, strerror(errno));
			goto out;
		}
		o.text = text.data;
		o.len = text.len - 1;
	}
	aws_error_clear(&err);
	if ((c = aws_client_new(&a.cfg, &err)) == NULL) {
		fprintf(stderr, "deadbolt restore: AWS client: %s: %s\n", err.code, err.message);
		goto out;
	}
	if (!a.dry_run && (own = open_own_journal(&a, path, sizeof(path))) == NULL &&
	    (a.own_journal || (a.journal && strcmp(a.journal, "-") != 0))) {
		fprintf(stderr, "deadbolt restore: %s: %s\n", path, strerror(errno));
		goto out;
	}
	o.finding = a.finding;
	o.source = a.journal ? a.journal : "the artifact bucket";
	o.topic = getenv("NOTIFICATION_TOPIC_ARN");
	o.dry_run = a.dry_run;
	o.force = a.force;
	o.remove_groups = a.remove_groups;
	o.journal = own;
	o.say = stdout;
	o.playbook_dir = getenv("DEADBOLT_PLAYBOOKS") && *getenv("DEADBOLT_PLAYBOOKS")
				 ? getenv("DEADBOLT_PLAYBOOKS")
				 : "playbooks";
	rc = restore_run(c, &o, NULL, 0, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "deadbolt restore: %s\n", why);
		rc = 2;
	}
out:
	if (in && in != stdin)
		fclose(in);
	if (own && own != stdout)
		fclose(own);
	aws_client_free(c);
	buf_free(&text);
	return rc;
}
