/* creds_internal — what creds.c, creds_json.c, creds_process.c and
 * creds_http.c share; not for use outside the credentials module.
 *
 * Providers return 0 with *out filled, 1 when they have nothing to offer
 * (not configured), or -1 with err set. Ownership: callers own every buffer;
 * providers wipe what they held of a secret before returning. */
#ifndef DEADBOLT_CREDS_INTERNAL_H
#define DEADBOLT_CREDS_INTERNAL_H

#include <stddef.h>

#include "creds.h"

#define CREDS_DEFAULT_TIMEOUT_MS 2000L
#define CREDS_IMDS_TIMEOUT_MS 1000L
#define CREDS_MAX_OUTPUT ((size_t)64 << 10) /* process output, HTTP bodies */

/* What a JSON document must hold. */
typedef struct creds_json_spec {
	const char *what;      /* "credential_process", "container", "IMDS": for messages */
	const char *token_key; /* "SessionToken" or "Token" */
	int need_version;      /* "Version": 1 required (credential_process) */
} creds_json_spec;

/* Fills out (keys, token, expiration) from a credentials JSON object. */
int creds_from_json(const char *json, size_t len, const creds_json_spec *spec,
		    aws_credentials *out, aws_error *err);

/* Splits a command line as Python's shlex.split (POSIX: quotes, backslash;
 * no shell). argv points into storage. argc, or -1 when malformed, too long
 * or when there are more than maxargs - 1 words (argv is NULL-terminated). */
int creds_split_command(const char *cmd, char *storage, size_t storage_len, char **argv,
			size_t maxargs);

/* Runs a credential_process command line. */
int creds_process(const char *profile, const char *cmd, long timeout_ms, aws_credentials *out,
		  aws_error *err);

/* Container credentials; 1 when neither AWS_CONTAINER_CREDENTIALS_* is set. */
int creds_container(long timeout_ms, aws_credentials *out, aws_error *err);

/* IMDSv2. 1 when disabled or unreachable (reason then says why, for the
 * NoCredentials message). */
int creds_imds(const char *endpoint, long timeout_ms, aws_credentials *out, aws_error *err,
	       char *reason, size_t reason_len);

/* Copies a credential value; -1 with err set when it does not fit. */
int creds_copy(char *dst, size_t dstlen, const char *src, const char *what, aws_error *err);

#endif
