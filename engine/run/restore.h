/* restore — a containment undone from its journal's undo records (see
 * undo.h), through the AWS client, in a host Lua state of its own: it sends
 * only the undo calls the journal holds, built from the states it recorded.
 * Used by `deadbolt restore` and by the Lambda's restore event.
 *
 * Ownership: everything is borrowed for the call; nothing is kept. */
#ifndef DEADBOLT_RESTORE_H
#define DEADBOLT_RESTORE_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "client.h"

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
} restore_opts;

/* 0 everything restored or already so, 1 something refused, changed since
 * or failed, -1 the restore could not run (why in err). summary gets the
 * outcome line. */
int restore_run(aws_client *c, const restore_opts *o, char *summary, size_t n, char *err,
		size_t errlen);

/* The Lambda's index: journal stored once more as
 * s3://bucket/journal/by-finding/<finding-id>/<UTC time>-<name>.jsonl for
 * every finding it holds undo records for. 0, or -1 with err filled (the
 * first failure; the others are still tried). */
int restore_index_journal(aws_client *c, const char *bucket, const char *name, const buf *journal,
			  aws_error *err);

#endif
