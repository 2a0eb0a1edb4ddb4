/* journal_archive — keeps a copy of a run's journal while it is written to
 * its usual stream (CloudWatch, under Lambda), then stores the copy in the
 * artifact bucket, so the record of what was done outlives the log group's
 * retention.
 *
 * Ownership: a journal_tee owns its copy buffer; the FILE it opens must be
 * fclose'd before journal_tee_free. The out stream is borrowed. */
#ifndef DEADBOLT_JOURNAL_ARCHIVE_H
#define DEADBOLT_JOURNAL_ARCHIVE_H

#include <stdio.h>

#include "buf.h"
#include "client.h"

typedef struct journal_tee {
	FILE *out;     /* every byte goes here at once */
	buf copy;      /* and here, up to its maximum */
	int truncated; /* the copy passed its maximum */
} journal_tee;

/* A stream that writes to out and keeps a copy of at most max bytes.
 * NULL when the stream cannot be made (then journal to out directly). */
FILE *journal_tee_open(journal_tee *t, FILE *out, size_t max);
void journal_tee_free(journal_tee *t);

/* Stores data as s3://bucket/journal/YYYY-MM-DD/<name>.jsonl (UTC date).
 * name must be [A-Za-z0-9._-]+. 0, or -1 with err filled. */
int journal_archive_put(aws_client *c, const char *bucket, const char *name, const buf *data,
			aws_error *err);

#endif
