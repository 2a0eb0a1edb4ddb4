/* lambda — the AWS Lambda custom runtime: the Runtime API loop (2018-06-01)
 * that feeds each invocation's event to the runner and posts back the result.
 * engine/main.c calls lambda_main when argv[0] is
 * "bootstrap" or the first argument is "lambda".
 *
 * Outcomes and what Lambda sees (see also template.yaml):
 *   contained, planned, skipped   -> .../response {"outcome":..,"result":..}
 *   partial                       -> .../response (critical steps held; the
 *                                    journal and notification say what did
 *                                    not), or .../error when
 *                                    DEADBOLT_PARTIAL_IS_ERROR=true
 *   failed                        -> .../error Deadbolt.ContainmentFailed, so
 *                                    the async retries and the DLQ see it
 *   invalid / malformed event     -> .../error Deadbolt.InvalidEvent
 *   too little time left          -> .../error Deadbolt.DeadlineExceeded
 *
 * Ownership: nothing here is allocated for the caller; the helpers below
 * work on caller-owned storage. */
#ifndef DEADBOLT_LAMBDA_H
#define DEADBOLT_LAMBDA_H

#include <stddef.h>

#include "runner.h"

/* Runs the runtime: init from the environment, then next/response forever.
 * Returns only when it cannot go on (init failed and was reported, or the
 * Runtime API stayed unreachable): the exit code, never 0. */
int lambda_main(void);

/* The CLOCK_MONOTONIC second by which a run must end, given the invocation's
 * Lambda-Runtime-Deadline-Ms and the current wall-clock and monotonic times:
 * the deadline less a margin for posting the result (10% of the time left,
 * at least 0.5 s, at most 2 s). */
double lambda_run_deadline(long long deadline_ms, double now_real, double now_mono);

/* 1 when a Lambda-Runtime-Trace-Id value is safe to pass on as an
 * environment variable and an HTTP header: 1..511 printable ASCII bytes. */
int lambda_trace_id_ok(const char *s);

/* The errorType to post for a worst outcome, or NULL when the outcome is a
 * success response. partial_is_error: DEADBOLT_PARTIAL_IS_ERROR.
 * failures_final: runner_failures_final, the failures are refusals a retry
 * would repeat (and notify again): failed is then a success response too. */
const char *lambda_error_type(runner_outcome worst, int partial_is_error, int failures_final);

/* The account field of a Lambda function ARN
 * (arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]),
 * 12 digits, into out (n >= 13). 0, or -1 when arn is not one. */
int lambda_arn_account(const char *arn, char *out, size_t n);

/* Parses a boolean setting: "", "0", "false", "no", "off" -> 0; "1", "true",
 * "yes", "on" -> 1 (any case). NULL counts as "". -1 for anything else. */
int lambda_parse_bool(const char *s);

#endif
