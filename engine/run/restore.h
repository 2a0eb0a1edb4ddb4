/* restore — a containment undone from its journal's undo records (see
 * undo.h): engine/run/undo.lua's restore runs in a host Lua state of its
 * own and sends every AWS call through a sandbox in restore mode
 * (sandbox_host_call): only allow-listed reads and the undo calls the
 * journal holds, each judged by the allow-list's argument rules against the
 * journal's record of the thing it puts back (sandbox/rules.c), so a
 * journal cannot ask for more than the state it recorded before. Used by
 * `deadbolt restore` and by the Lambda's restore event.
 *
 * Ownership: everything is borrowed for the call; nothing is kept. */
#ifndef DEADBOLT_RESTORE_H
#define DEADBOLT_RESTORE_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "client.h"
#include "sandbox.h"

#define RESTORE_CALLS_MAX 5000     /* the restore sandbox's aws-calls budget */
#define RESTORE_WALL_SECONDS 900.0 /* and its wall clock (the Lambda's own deadline is shorter) */

typedef struct restore_opts {
	const char *text;     /* a journal (len bytes), or NULL: */
	size_t len;
	const char *bucket;   /*   the journals of finding in the artifact bucket */
	const char *finding;  /* only this finding's runs; required without text */
	const char *source;   /* where the journal came from, for the notification */
	const char *topic;    /* NOTIFICATION_TOPIC_ARN, or NULL */
	int dry_run, force;
	int remove_groups;    /* also delete deadbolt's groups the runs created, once no ENI uses them */
	FILE *journal;        /* the restore's own journal lines, or NULL */
	FILE *say;            /* the plan and the outcome for people, or NULL */
	const char *playbook_dir; /* where config.lua is (its iam.revoke_policy_name), or NULL */
} restore_opts;

/* 0 everything restored or already so, 1 something refused, changed since
 * or failed, -1 the restore could not run (why in err). summary gets the
 * outcome line. */
int restore_run(aws_client *c, const restore_opts *o, char *summary, size_t n, char *err,
		size_t errlen);
/* The same with the sandbox's calls going to host (tests: a fake AWS), and
 * the journal's objects in the artifact bucket read and written by store
 * (NULL: none). */
int restore_run_host(const sandbox_host *host, aws_client *store, const restore_opts *o,
		     char *summary, size_t n, char *err, size_t errlen);

/* The Lambda's index: journal stored once more as
 * s3://bucket/journal/by-finding/<finding-id>/<UTC time>-<name>.jsonl for
 * every finding it holds undo records for. 0, or -1 with err filled (the
 * first failure; the others are still tried). */
int restore_index_journal(aws_client *c, const char *bucket, const char *name, const buf *journal,
			  aws_error *err);

#endif
