/* client — one AWS call from a Lua table to a Lua table: validate, serialize,
 * resolve the endpoint, sign, send over one reused connection, retry, decode.
 *
 * Ownership: aws_client owns its HTTP handle and its credentials (wiped on
 * free), and a copy of the credentials a run uses in their place (wiped
 * too). aws_call borrows the lua_State. Credentials are resolved on the
 * first call that needs them, and again when they are about to expire. An
 * S3 call answered "the bucket is in another region" goes there once, and
 * the client keeps that bucket's region for its later calls (s3_redirect.h). */
#ifndef DEADBOLT_CLIENT_H
#define DEADBOLT_CLIENT_H

#include <lua.h>

#include "creds.h"
#include "error.h"
#include "model.h"

typedef struct aws_client_config {
	const char *region;       /* NULL: config_region() */
	const char *profile;      /* NULL: AWS_PROFILE or "default" */
	const char *endpoint_url; /* the --endpoint-url flag, or NULL */
	int max_attempts;         /* 0: AWS_MAX_ATTEMPTS or 3 (standard mode) */
	long connect_timeout_ms;  /* 0: 3000 */
	long timeout_ms;          /* per attempt; 0: 10000 */
	double max_total_s;       /* all attempts of one call; 0: 30 */
	int max_concurrent;       /* requests in flight to one service (calls that
				   * overlap); 0: DEADBOLT_MAX_CONCURRENT or 8 */
} aws_client_config;

/* What the client tells an observer (the journal) after every call. */
typedef struct aws_call_record {
	const aws_operation *op;
	long status;            /* last HTTP status, 0 when none */
	const char *request_id; /* "" when none */
	const char *error_code; /* NULL on success */
	int attempts;
	double ms;
	double start;  /* CLOCK_MONOTONIC seconds when the call was asked for */
	double sent;   /* CLOCK_MONOTONIC seconds when its first attempt was
			* handed to the transport (later than start when the
			* call waited for a slot of its service); 0 when no
			* attempt was (the call failed before sending) */
	void *call_ud; /* aws_call_start's ud; NULL for aws_call */
} aws_call_record;

typedef void (*aws_call_observer)(void *ud, const aws_call_record *rec);

typedef struct aws_client aws_client;

aws_client *aws_client_new(const aws_client_config *cfg, aws_error *err);
void aws_client_free(aws_client *c);

/* Overrides the region for later calls (a finding's region). */
void aws_client_set_region(aws_client *c, const char *region);
/* The region later calls go to ("" when none is set); the client's. */
const char *aws_client_region(const aws_client *c);
/* No attempt starts, and no backoff sleeps, past this CLOCK_MONOTONIC time
 * in seconds (0: none). The sandbox's wall-clock budget sets it. */
void aws_client_set_deadline(aws_client *c, double monotonic_deadline);
void aws_client_set_observer(aws_client *c, aws_call_observer fn, void *ud);

/* Calls op with the parameter table at index params of L. Two reserved
 * fields of that table are this call's own options, removed from it before
 * the model validates it: __deadline (seconds > 0: the call's attempts and
 * backoff end by then, as max_total_s for every call) and __attempts (an
 * integer 1 to 100: at most that many attempts; 1 means no retry of any
 * kind). Each can only lower the client's setting. On success pushes
 * the result table and returns 0; on failure pushes nothing and returns -1
 * with err filled (code, message, status, request_id, op, attempts).
 * May raise a Lua error only for out-of-memory in L. */
int aws_call(aws_client *c, lua_State *L, const aws_operation *op, int params, aws_error *err);

/* ---- accounts: a run answered in another account (engine/run/account.c) ---- */

/* The account of the client's own credentials (sts GetCallerIdentity),
 * asked once and remembered for the client's life. Fills out (a 12-digit
 * account id); 0, or -1 with err. */
int aws_client_caller_account(aws_client *c, char *out, size_t n, aws_error *err);

/* The account of the client's own credentials when the caller knows it
 * without asking (engine/cmd/lambda.c: its function's account, with the
 * execution role's credentials): aws_client_caller_account then answers it
 * with no call. A 12-digit account id, else ignored; "" forgets it. */
void aws_client_set_caller_account(aws_client *c, const char *account);

/* Where the client's own credentials come from (aws_credentials.source:
 * "env", "profile", "container", ...), resolving them when not yet done
 * (from the environment: no call). 0, or -1 with err. */
int aws_client_credentials_source(aws_client *c, char *out, size_t n, aws_error *err);

/* sts AssumeRole signed with the client's own credentials (never with the
 * ones of aws_client_use_credentials), in p->region when set. out is the
 * caller's, to wipe with creds_wipe. 0, or -1 with err. */
int aws_client_assume_role(aws_client *c, const creds_assume_role_params *p, aws_credentials *out,
			   aws_error *err);

/* Every later aws_call is signed with creds instead of the client's own
 * credentials, until called again with NULL. The client copies creds (and
 * wipes its copy when they are replaced or cleared, or the client freed). */
void aws_client_use_credentials(aws_client *c, const aws_credentials *creds);

/* ---- calls that overlap ----
 *
 * aws_call_start starts a call on the client's multi handle (multi.h) and
 * returns at once; aws_client_wait drives every call in flight (sends,
 * retries after their backoff, which is a timer, not a sleep) until one is
 * finished. The retry policy, credential refresh, clock-skew correction,
 * the deadline and the observer are those of aws_call. At most
 * max_concurrent requests to one service are in flight; the others wait
 * their turn: the calls started with first set before all others, and
 * within each of the two, in the order they were started (a retry keeps
 * its call's place). Connections to one host are capped too, at
 * max_concurrent times the model's services, so that with one endpoint
 * for every service (endpoint_url) that cap never binds first (libcurl
 * 8.21 does not apply it to the shared connection pool at all: multi.h).
 *
 * Ownership: the client owns every aws_pending until aws_client_wait
 * returns it; then the caller owns it and frees it with aws_pending_free,
 * which also abandons a call still in flight (its transfer is stopped and
 * the observer is not told). Credentials are resolved or refreshed
 * synchronously (rare: once, then when they expire), holding the other
 * calls for that time. */
typedef struct aws_pending aws_pending;

/* Starts op with the parameter table at index params of L (read only
 * during this call). Returns the call in flight, or NULL with err filled
 * when it failed before anything was sent (the observer is told then).
 * ud comes back in aws_pending_ud and in the observer's record. first
 * (0 or 1): while it waits for a slot of its service, the call goes before
 * every waiting call started without it (a critical chain's calls before
 * those made beside it). May raise only out of memory in L, after freeing
 * what it allocated. */
aws_pending *aws_call_start(aws_client *c, lua_State *L, const aws_operation *op, int params, void *ud,
			    int first, aws_error *err);

/* Drives the calls in flight until one is finished, or until the
 * CLOCK_MONOTONIC time until (0: no bound but the calls' own). Returns the
 * finished call: *rc 0 with its result pushed on L, or *rc -1 with err
 * filled; or NULL when none finished by then or none is in flight. The
 * observer is told of the call before it is returned. May raise only out
 * of memory in L; the call being decoded then stays in flight, failed, for
 * the caller to free with aws_pending_free as any other. */
aws_pending *aws_client_wait(aws_client *c, lua_State *L, double until, int *rc, aws_error *err);
void *aws_pending_ud(const aws_pending *p);
void aws_pending_free(aws_pending *p);
/* Calls started and not yet returned by aws_client_wait nor freed. */
int aws_client_in_flight(const aws_client *c);

/* Seconds on CLOCK_MONOTONIC. */
double aws_monotonic_now(void);

#endif
