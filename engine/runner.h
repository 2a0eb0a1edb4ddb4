/* runner — takes GuardDuty findings in, routes each to its playbook, runs the
 * playbook's steps in a fresh sandbox, and journals everything.
 *
 * Ownership: runner_new copies the options it needs; the aws_client in the
 * options is borrowed and must outlive the runner. The journal FILE is
 * borrowed too. */
#ifndef DEADBOLT_RUNNER_H
#define DEADBOLT_RUNNER_H

#include <stdio.h>

#include "buf.h"
#include "client.h"
#include "sandbox.h"

typedef enum runner_outcome {
	OUTCOME_CONTAINED = 0,
	OUTCOME_PLANNED,  /* dry run */
	OUTCOME_SKIPPED,  /* guard, exemption, unsupported resource */
	OUTCOME_PARTIAL,  /* a non-critical step failed */
	OUTCOME_FAILED,   /* a critical step failed, or the playbook could not run */
	OUTCOME_INVALID,  /* malformed input: nothing ran */
} runner_outcome;

typedef struct runner_options {
	const char *playbook_dir;  /* default "playbooks" */
	int dry_run;
	int include_samples;       /* respond to GuardDuty sample findings */
	double min_severity;       /* default 0 */
	const char *region;        /* overrides the finding's region when set */
	sandbox_limits limits;
	aws_client *client;        /* borrowed */
	FILE *journal;             /* JSON lines; NULL: none */
	FILE *summary;             /* human summary (the plan, in a dry run); NULL: none */
	double deadline;           /* CLOCK_MONOTONIC seconds (Lambda); 0: limits.wall_seconds */
} runner_options;

typedef struct runner runner;

runner *runner_new(const runner_options *o, char *err, size_t errlen);
void runner_free(runner *r);

/* Runs every finding in one JSON document: an EventBridge event, a bare
 * finding, or an array of either, in order. *worst gets the worst outcome
 * (INVALID > FAILED > PARTIAL > others). When result is not NULL it receives
 * a JSON summary ({"findings":[{"id":..,"outcome":..,...}]}) for Lambda.
 * Returns 0, or -1 when the document itself is malformed (err says what). */
int runner_run_document(runner *r, const char *json, size_t len, runner_outcome *worst,
			buf *result, char *err, size_t errlen);

const char *runner_outcome_name(runner_outcome o);

/* Process exit code for an outcome: 0 contained/skipped/planned, 1
 * partial/failed, 2 invalid. */
int runner_exit_code(runner_outcome o);

#endif
