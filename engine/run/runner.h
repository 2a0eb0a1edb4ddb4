/* runner — takes GuardDuty findings in, routes each to its playbook, runs the
 * playbook's steps in a fresh sandbox, and journals everything.
 *
 * The playbooks are loaded, checked
 * and hashed once, in runner_new (broken playbooks make it fail); each
 * finding then gets a fresh sandbox. ctx and the outcomes are as
 * docs/playbook-api.md says.
 *
 * Ownership: runner_new copies the options it needs; the aws_client in the
 * options is borrowed and must outlive the runner (the runner sets itself as
 * the client's observer and clears that in runner_free). The journal and
 * summary FILEs are borrowed too. */
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

/* Sends one call in place of the AWS client (tests, fakes): the contract of
 * sandbox_host.call. */
typedef int (*runner_call_fn)(void *ud, lua_State *L, const allow_entry *entry, int params,
			      aws_error *err);

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
	/* Added by the runner (backward-compatible: zero means "not used"). */
	runner_call_fn call_override; /* sends the calls the client would send; NULL: client */
	void *call_override_ud;
	/* Bytes one finding may write to the journal, and to the summary (the
	 * plan included); past it one line says what was cut. 0: 16 MiB. */
	size_t output_limit;
	/* Compiled playbooks shipped beside them (sandbox_chunks_read: the
	 * Lambda package's playbooks.chunks), trusted as the binary is; each
	 * taken only while its file's text matches. NULL: every file is
	 * compiled from its text once per process. */
	const char *chunks_file;
} runner_options;

typedef struct runner runner;

runner *runner_new(const runner_options *o, char *err, size_t errlen);
void runner_free(runner *r);

/* Runs every finding in one JSON document: an EventBridge event, a bare
 * finding, GetFindings' {"Findings":[...]}, or an array of these, in order.
 * A malformed document runs nothing (every finding is validated first). *worst gets the worst outcome
 * (INVALID > FAILED > PARTIAL > others). When result is not NULL it receives
 * a JSON summary ({"findings":[{"id":..,"outcome":..,...}]}) for Lambda.
 * Returns 0, or -1 when the document itself is malformed (err says what). */
int runner_run_document(runner *r, const char *json, size_t len, runner_outcome *worst,
			buf *result, char *err, size_t errlen);

/* For a long-lived runner (Lambda: one per process, so the playbooks are
 * loaded and compiled once): the deadline and the journal of the next runs,
 * as runner_options has them. */
void runner_set_run(runner *r, double deadline, FILE *journal_file);

const char *runner_outcome_name(runner_outcome o);

/* After runner_run_document: 1 when the document's findings that failed all
 * failed in a way a new delivery of it would only repeat, and notify again
 * (a member account's finding refused: no role named in config.lua, or one
 * AWS will not let the run assume), so a caller that retries failures
 * (Lambda's async invoke) should not; 0 when one failed otherwise (a
 * transient error), or none failed. */
int runner_failures_final(const runner *r);

/* Writes the summary's closing line over every finding run so far, numbered
 * over every document ("total: 5 findings, 2 contained, 3 skipped"). */
void runner_report_totals(runner *r);

/* `deadbolt check`: loads every playbook of dir in a sandbox whose AWS calls
 * are refused, checks its structure (a table with a name, handles and named
 * steps with run functions, no duplicate names, valid finding_type patterns)
 * and scans the sources (the .lua files of dir and of dir/lib) for calls to
 * operations that are not on the allow-list. Writes one line a problem to out ("DIR/
 * FILE[:LINE]: what"). Returns the number of problems, or -1 with err when
 * dir cannot be read. */
int runner_check(const char *dir, FILE *out, char *err, size_t errlen);

/* Process exit code for an outcome: 0 contained/skipped/planned, 1
 * partial/failed, 2 invalid. */
int runner_exit_code(runner_outcome o);

#endif
