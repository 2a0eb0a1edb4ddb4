/* retry — the SDKs' "standard" retry policy: which failures are retried and
 * how long to wait. Pure functions; the caller owns the loop and the clock. */
#ifndef DEADBOLT_RETRY_H
#define DEADBOLT_RETRY_H

#include "error.h"

typedef enum retry_kind {
	RETRY_NO = 0,
	RETRY_THROTTLE,  /* throttling codes, 429 */
	RETRY_TRANSIENT, /* 5xx, transport failures, timeouts */
	RETRY_SKEW,      /* the request's clock was off: correct and retry once */
	RETRY_EXPIRED,   /* the token expired: refresh the credentials and retry once */
} retry_kind;

/* What kind of failure e is (code and status filled). */
retry_kind retry_classify(const aws_error *e);

/* Seconds to wait before attempt number `attempt` (1 = the first retry):
 * full jitter, random in [0, min(20, 2^(attempt-1))) as the SDKs do.
 * rand01 is a random number in [0, 1) supplied by the caller. */
double retry_backoff(int attempt, double rand01);

#endif
