/* sigv4 — AWS Signature Version 4 for request headers.
 *
 * Pure: the time and the credentials are inputs, nothing is read from the
 * environment or the clock. Borrows everything it is given; the output is
 * plain fixed-size strings. Intermediate keys are wiped before returning.
 * The rules are botocore's SigV4Auth / S3SigV4Auth; tests/unit/test_sigv4.c
 * checks them against vectors from botocore and libcurl.
 *
 * Headers the signer owns: it signs X-Amz-Date (always), X-Amz-Security-Token
 * (when session_token is not empty) and X-Amz-Content-Sha256 (when s3) with
 * its own values, and ignores any copy of them, or of Authorization, among the
 * headers given (so a retried request carrying the previous attempt's headers
 * signs correctly). After signing, the caller sets on the request, replacing
 * any older copy: Authorization = out.authorization, X-Amz-Date =
 * out.amz_date, X-Amz-Security-Token = p.session_token when not empty, and for
 * S3 X-Amz-Content-Sha256 = out.content_sha256. Do not give a Date header. */
#ifndef DEADBOLT_SIGV4_H
#define DEADBOLT_SIGV4_H

#include <stddef.h>
#include <time.h>

typedef struct sigv4_header {
	const char *name;  /* any case; signed lower-cased, values trimmed and
			    * inner runs of white space folded, per the SigV4 spec */
	const char *value;
} sigv4_header;

typedef struct sigv4_request {
	const char *method;
	const char *path;  /* as sent on the wire, percent-encoded ("/a%20b") */
	const char *query; /* as sent on the wire, percent-encoded, may be "" or NULL.
			    * Canonicalised: each k=v decoded ('+' is a space) and
			    * re-encoded per RFC 3986, sorted by key then value,
			    * "k" signed as "k=" */
	const sigv4_header *headers; /* must include Host; every header given is signed,
				      * except those the signer owns (see above);
				      * repeated names are joined with ',' */
	size_t nheaders;
	const void *payload;
	size_t payload_len;
} sigv4_request;

typedef struct sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when none */
	const char *region;        /* signing region, e.g. "us-east-1" */
	const char *service;       /* signing name, e.g. "ec2", "s3", "iam" */
	time_t now;                /* seconds since the epoch, UTC */
	int s3;                    /* S3 rules: the path is not encoded twice nor
				    * normalised, and x-amz-content-sha256 is signed.
				    * Otherwise "."/".."/empty segments are removed
				    * and the path is percent-encoded again. */
} sigv4_params;

typedef struct sigv4_output {
	char authorization[1024];   /* value of the Authorization header */
	char amz_date[17];          /* value of X-Amz-Date: 20150830T123600Z */
	char content_sha256[65];    /* hex SHA-256 of the payload (X-Amz-Content-Sha256 for S3) */
	/* The caller adds X-Amz-Date, X-Amz-Security-Token (when a token was given)
	 * and, for S3, X-Amz-Content-Sha256 to the request after signing, with
	 * these values: the signature covers them (see the top of this file). */
} sigv4_output;

/* Signs req. Returns 0, or -1 with a reason in errbuf (too long, OOM, no Host,
 * CR/LF in a header, more than 64 headers or 1024 query parameters, a
 * canonical request over 256 KiB, an Authorization over 1023 bytes). When
 * canonical/string_to_sign are not NULL they receive those texts (for tests
 * and --debug), truncated to their sizes. */
int sigv4_sign(const sigv4_request *req, const sigv4_params *p, sigv4_output *out,
	       char *canonical, size_t canonical_len, char *string_to_sign, size_t sts_len,
	       char *errbuf, size_t errlen);

/* Hex SHA-256 of data into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
