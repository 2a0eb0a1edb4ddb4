/* creds — the credential provider chain, in the AWS SDKs' order:
 *   1. environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
 *   2. the profile (config.h): role_arn + source_profile (or credential_source)
 *      via STS AssumeRole; static keys in credentials/config; credential_process
 *   3. container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI,
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN / _TOKEN_FILE)
 *   4. EC2 instance metadata, IMDSv2 (token PUT, then role credentials)
 *
 * Ownership: aws_credentials is a plain struct of fixed arrays, owned by the
 * caller; creds_wipe cleanses it. Nothing here logs a secret. */
#ifndef DEADBOLT_CREDS_H
#define DEADBOLT_CREDS_H

#include <time.h>

#include "error.h"

typedef struct aws_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096]; /* "" when none */
	time_t expiration;        /* 0 when they do not expire */
	char source[32];          /* "env", "profile", "process", "assume-role",
				   * "container", "imds": for messages, never secret */
} aws_credentials;

/* Performs STS AssumeRole with the source credentials. Supplied by the client
 * (which owns the STS model and HTTP) so that this module does not depend on it. */
typedef int (*creds_assume_role_fn)(void *ud, const aws_credentials *source,
				    const char *role_arn, const char *session_name,
				    const char *external_id, const char *region,
				    aws_credentials *out, aws_error *err);

/* Added with creds.c (backward-compatible): AssumeRole with everything the
 * profile says, including duration_seconds, which creds_assume_role_fn cannot
 * pass on. The strings are borrowed for the call; external_id is NULL when the
 * profile has none; region is the STS region (options.region, else the
 * profile's, else "us-east-1"); duration_seconds is 0 for STS's default. */
typedef struct creds_assume_role_params {
	const char *role_arn;
	const char *session_name;
	const char *external_id;
	const char *region;
	int duration_seconds;
} creds_assume_role_params;

typedef int (*creds_assume_role_ex_fn)(void *ud, const aws_credentials *source,
				       const creds_assume_role_params *p,
				       aws_credentials *out, aws_error *err);

/* About profile below: as in the AWS CLI, a profile given explicitly (the
 * --profile flag) takes the environment provider out of the chain (its keys
 * stay usable through credential_source = Environment). A profile counts as
 * explicit when it differs from config_profile_name(NULL), so a caller may
 * pass the already-resolved name. A named profile (not "default") that
 * neither file has is an error ("ProfileNotFound"). */
typedef struct creds_options {
	const char *profile;   /* NULL: config_profile_name(NULL) */
	const char *region;    /* for STS; NULL: config_region */
	creds_assume_role_fn assume_role;
	void *assume_role_ud;
	long timeout_ms;       /* per HTTP/process step; 0: 2000 (IMDS: 1000) */
	const char *imds_endpoint; /* NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT or
				    * http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true skips it */
	creds_assume_role_ex_fn assume_role_ex; /* optional; used instead of
						  * assume_role, with assume_role_ud */
} creds_options;

/* Resolves credentials through the chain. 0 on success; -1 with err set
 * ("NoCredentials" when no provider had any, else the failing provider's error). */
int creds_resolve(const creds_options *o, aws_credentials *out, aws_error *err);

/* True when c expires within margin_s seconds of now (never for static keys). */
int creds_expiring(const aws_credentials *c, time_t now, int margin_s);

void creds_wipe(aws_credentials *c);

/* Parses an ISO-8601 UTC time ("2026-11-27T19:04:05Z", optional fraction) to
 * time_t. 0 on success, -1 when malformed. Shared by the chain's providers. */
int creds_parse_time(const char *s, time_t *out);

#endif
