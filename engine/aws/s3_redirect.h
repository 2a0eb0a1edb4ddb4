/* s3_redirect — S3's "wrong region" answers, read as botocore's
 * S3RegionRedirectorv2 (botocore/utils.py) reads them, and the buckets whose
 * region the client has learnt.
 *
 * An S3 request signed for, or sent to, a region other than the bucket's is
 * answered with one of:
 *   301 PermanentRedirect (the region in the x-amz-bucket-region header);
 *   any 301, 302 or 307;
 *   400 AuthorizationHeaderMalformed with <Region> in the error body;
 *   400 IllegalLocationConstraintException (opt-in regions);
 *   a HEAD answered 301 or 400 with no body (the header only).
 * A region that is not a region name (it would become part of a host name)
 * is never followed.
 * The region comes from the header, else the body's <Region>; when neither
 * has it, the caller may ask the bucket (a HEAD on it answers with the
 * header). The client then signs again for that region, sends once more,
 * and keeps the bucket's region for its later calls.
 *
 * Ownership: plain values, nothing allocated. */
#ifndef DEADBOLT_S3_REDIRECT_H
#define DEADBOLT_S3_REDIRECT_H

#include <stddef.h>

#include "error.h"
#include "http.h"

#define S3_REGION_MAX 32   /* a region name and its NUL: as aws_endpoint.signing_region */
#define S3_REGION_SLOTS 64 /* buckets remembered; the oldest is replaced */

typedef struct s3_region_cache {
	struct {
		char bucket[64];
		char region[S3_REGION_MAX];
	} slot[S3_REGION_SLOTS];
	size_t next;
} s3_region_cache;

/* The region learnt for bucket, or NULL. */
const char *s3_region_cache_get(const s3_region_cache *c, const char *bucket);
/* Remembers (or updates) bucket's region. */
void s3_region_cache_put(s3_region_cache *c, const char *bucket, const char *region);

typedef enum s3_redirect {
	S3_REDIRECT_NO = 0,   /* not a wrong-region answer */
	S3_REDIRECT_TO,       /* the bucket is in *region */
	S3_REDIRECT_ASK,      /* a wrong-region answer that names no region */
} s3_redirect;

/* Reads an S3 error answer: r the response, err as decoded from it (its
 * code), method the request's ("HEAD", ...), op the operation's name.
 * S3_REDIRECT_TO fills region (a valid region name, not signed_region:
 * going to the same region again would change nothing). */
s3_redirect s3_redirect_read(const char *op, const char *method, const http_response *r,
			     const aws_error *err, const char *signed_region, char *region, size_t n);

/* The region an answer's x-amz-bucket-region header names, when valid. */
int s3_region_from_header(const http_response *r, char *region, size_t n);

/* A region name as botocore's validate_region_name accepts it (it becomes
 * part of a host name): letters, digits and '-' inside, at most 31 bytes. */
int s3_region_valid(const char *region);

#endif
