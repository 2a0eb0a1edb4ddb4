/* aws_request — an AWS request as the codec builds it and the client sends it.
 *
 * Ownership: the request owns every buffer and header string in it;
 * aws_request_free releases them (safe on a zeroed or partly built request). */
#ifndef DEADBOLT_AWS_REQUEST_H
#define DEADBOLT_AWS_REQUEST_H

#include <stddef.h>

#include "buf.h"

#define AWS_REQUEST_MAX_HEADERS 48

typedef struct aws_request {
	const char *method; /* static string: "GET", "POST", "PUT", "DELETE", "HEAD" */
	buf path;           /* percent-encoded as sent, starts with '/' ("/" when empty).
			     * For S3, the bucket is NOT in the path: see bucket. */
	buf query;          /* percent-encoded "k=v&k2=v2" as sent, may be empty */
	buf body;
	char *header_names[AWS_REQUEST_MAX_HEADERS];  /* owned; canonical case, e.g. "Content-Type" */
	char *header_values[AWS_REQUEST_MAX_HEADERS]; /* owned */
	size_t nheaders;
	char bucket[64];    /* S3 only: the bucket ("" if none). The client puts it in
			     * the host (virtual-hosted) or in front of the path (path-style). */
	char host_prefix[128]; /* the operation's endpoint.hostPrefix with its labels filled
				* ("123456789012." for s3control), "" if none. The client
				* puts it in front of the host (see client.c, compose_url). */
} aws_request;

/* Adds (or replaces, case-insensitively) a header. 0 on success, -1 on OOM/full. */
int aws_request_set_header(aws_request *r, const char *name, const char *value);
const char *aws_request_header(const aws_request *r, const char *name);
void aws_request_free(aws_request *r);

#endif
