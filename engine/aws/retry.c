#include "retry.h"

#include <string.h>

/* The throttling codes of botocore's standard retry mode
 * (botocore/retries/standard.py), plus S3's SlowDown. */
static const char *const THROTTLE_CODES[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
	"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const TRANSIENT_CODES[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
	"ServiceUnavailable", "TransportError", "Timeout", "IDPCommunicationError",
};

static const char *const SKEW_CODES[] = {
	"RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
	"SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture",
};

static const char *const EXPIRED_CODES[] = {
	"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired",
};

static int in(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return 1;
	return 0;
}

#define IN(code, list) in(code, list, sizeof(list) / sizeof(list[0]))

retry_kind retry_classify(const aws_error *e)
{
	if (IN(e->code, THROTTLE_CODES) || e->status == 429)
		return RETRY_THROTTLE;
	if (IN(e->code, EXPIRED_CODES))
		return RETRY_EXPIRED;
	if (IN(e->code, SKEW_CODES))
		return RETRY_SKEW;
	if (IN(e->code, TRANSIENT_CODES) || e->status >= 500 || e->status == 0)
		return RETRY_TRANSIENT;
	return RETRY_NO;
}

double retry_backoff(int attempt, double rand01)
{
	double cap = 1.0;
	for (int i = 1; i < attempt && cap < 20.0; i++)
		cap *= 2.0;
	if (cap > 20.0)
		cap = 20.0;
	return rand01 * cap;
}
