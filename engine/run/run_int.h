/* run_int — what the files of the run layer share, and nothing else needs.
 *
 * runner.c   a runner (options, the playbooks, the host Lua state) and one
 *            finding's run from routing to outcome
 * route.c    which playbook answers a finding; the guards
 * steps.c    the step loop: when/run, critical steps, outcomes
 * ctx.c      ctx: the finding, env, state, save, skip
 * host.c     the sandbox's host: primitive calls (sent or planned), logs
 * dry.c      what a dry run answers without AWS: waits, reads of planned
 *            resources
 * account.c  which account a run answers in, with which credentials
 * memo.c     the answers of aws.cached reads, kept for one document
 * report.c   the journal lines, the human summary and plan, the Lambda result
 * check.c    `deadbolt check`
 *
 * Ownership: a runner owns its runs' strings; a run lives on run_one's
 * stack for one finding and borrows everything from its runner. */
#ifndef DEADBOLT_RUN_INT_H
#define DEADBOLT_RUN_INT_H

#include <stddef.h>

#include "account.h"
#include "buf.h"
#include "finding.h"
#include "journal.h"
#include "memo.h"
#include "ordered.h"
#include "playbooks.h"
#include "runner.h"

#define MAX_SAVES 64
#define MAX_SAVE_BYTES ((size_t)1 << 20)
#define PARAMS_MAX ((size_t)256 << 10)
#define NOTES_MAX ((size_t)64 << 10)   /* one step's log lines kept for the summary */
#define PLAN_MAX_VALUE 1024            /* longer strings are shortened in the plan */

/* The environment settings a playbook sees as ctx.env. */
#define RUN_NENV 3
extern const char *const RUN_ENV_NAMES[RUN_NENV];

typedef struct save_entry {
	char *key;
	char *json;
	/* Saved inside aws.all: the order keys (sandbox_order_key) of the first
	 * save of key, which places it, and of the one whose value is kept. */
	char *first;
	char *order;
} save_entry;

typedef struct run run;

struct runner {
	runner_options o;
	char *dir;
	char *region;
	char *env[RUN_NENV];
	playbook_set pbs;
	sandbox_chunks *chunks; /* playbooks and modules, compiled once */
	sandbox_config rules_config; /* what the allow-list's rules take from config.lua */
	lua_State *H; /* host state: decoding findings, routing patterns */
	journal *j;
	account_state *accounts; /* member accounts: the role, assumed credentials */
	memo *memo;   /* aws.cached answers, for the document being run (memo.c) */
	run *cur;     /* the run in progress, for the client's observer */
	size_t summary_bytes; /* written to the summary for the current finding */
	int summary_cut;      /* the summary's cut line was written */
	int seen;     /* findings run so far, over every document */
	int totals[OUTCOME_INVALID + 1]; /* how many ended each way */
	/* The current document's failed findings: those a new delivery would
	 * only fail again (run.final), and the others. */
	int doc_failed_final, doc_failed_other;
};

struct run {
	runner *r;
	sandbox *sb;
	const playbook_def *pb;
	const pb_handle *entry; /* the handles entry that routed the finding */
	finding_info fi;
	const char *region;
	char role_arn[300];    /* the member account's role assumed for the run, or "" */
	char profile_arn[300]; /* QUARANTINE_PROFILE_ARN in that account, or "" */
	int fidx;          /* the finding in r->H */
	const char *step;  /* the step running now, or NULL */
	const pb_step *cur;      /* the same step, whole */
	const pb_step *planned;  /* the step of the last planned write */
	buf notes;         /* the running step's log lines, shown under its status */
	save_entry saves[MAX_SAVES];
	size_t nsaves, save_bytes;
	int skip;
	int stop;
	char not_contained[512]; /* ctx.not_contained's reason: the run ends skipped */
	runner_outcome outcome;
	char reason[512];
	int final;         /* failed, and a new delivery would fail alike (account.c) */
	int ok, failed, skipped, not_run, calls, writes;
	int observed;      /* the client's observer journaled the last call */
	buf params;        /* the last call's parameters, as JSON */
	buf plan;          /* the dry-run plan, for the summary (at most output_limit) */
	int plan_cut;      /* planned writes left out of plan: it was full */
	buf wait_reads;    /* a dry aws.wait's reads, for its plan line */
	double t0;
	/* Inside the outermost aws.all (calls overlap): log lines for the
	 * notes kept by order key, and the saves from saves_mark on, put in a
	 * sequential run's order when it ends (the journal's lines too). */
	int concurrent;
	ordered held;
	size_t saves_mark;
	struct run_call *live; /* calls started and not yet answered or cancelled */
};

typedef struct step_frame {
	int steps, ctx;  /* stack indexes in the sandbox */
	playbook_def def; /* the steps as loaded for this finding */
} step_frame;

typedef struct step_note {
	const char *name, *status, *error;
} step_note;

/* host.c: the sandbox_host of a run (ud: the run), and of a load (no calls). */
int host_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err);
void host_log(void *ud, const char *level, const char *msg);
int host_refuse_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err);
void host_quiet_log(void *ud, const char *level, const char *msg);
/* The AWS client's observer (ud: the runner): one journal line per call sent. */
void host_observe(void *ud, const aws_call_record *rec);
/* Calls that overlap, inside aws.all (ud: the run): the sandbox_async of a
 * live run. A dry run has none, so its plan is a sequential run's. */
extern const sandbox_async host_async;
/* Frees what host_async still holds (a run stopped by out of memory). */
void host_free_calls(run *rn);

/* The plan's line for a wait not waited (dry.c): every 0 for a sleep;
 * reads: what a bounded wait's check read, or NULL. */
void host_plan_wait(run *rn, double seconds, double every, const char *reads);

/* dry.c, a dry run only. */
extern const sandbox_dry host_dry; /* the sandbox's waits (ud: the run) */
/* After a planned write (its placeholder answer on top of L): the planned
 * security groups and their rules, for the reads that name them. */
void dry_planned_write(run *rn, lua_State *L, const aws_operation *op, int params);
/* Before a read (label: "ec2.DescribeSecurityGroups"; not on a dry
 * aws.wait's later tries, which host_call answers): 0 to send it as it
 * is; 1 when answered here (answer pushed, journaled); 2 to send it with
 * params narrowed to the real resources it names, then dry_read_done with
 * its rc (the answer on top when 0) adds the planned ones. */
int dry_read(run *rn, lua_State *L, const aws_operation *op, int params, const char *label);
void dry_read_done(lua_State *L, int rc);

/* undo.c: after each call a live run sent, at once or inside aws.all (step
 * and params: the call's; rc its result, the answer on top of L when 0):
 * the reads kept as the state before, each write's undo records journaled.
 * Nothing in a dry run. */
void undo_observe(run *rn, const char *step, const allow_entry *e, const buf *params, lua_State *L,
		  int rc, const aws_error *err);

/* ctx.c. Protected (run by sandbox_pcall) unless said otherwise. */
int ctx_build(lua_State *L);     /* args run, playbook table: pushes ctx, steps */
int ctx_call_step(lua_State *L); /* args steps, ctx, index, run?: pushes its truth */
int ctx_note_step(lua_State *L); /* args ctx, step_note: appends to ctx.steps */
void ctx_free_saves(run *rn);    /* not protected: frees the step's undo data */

/* steps.c */
void steps_run(run *rn, step_frame *f);

/* route.c */
const playbook_def *route_finding(runner *r, const finding_info *fi, const pb_handle **entry);
/* 1 with why filled when the finding is skipped before any playbook runs;
 * 2 when it fails before: no playbook answers it and some playbook files
 * did not load (one of them might have). */
int route_guard(const runner *r, const run *rn, char *why, size_t n);

/* report.c */
/* The output limit of one finding (runner_options.output_limit or 16 MiB). */
size_t report_output_limit(const runner *r);
/* One line of the human summary: the text formatted, one trailing newline
 * dropped, then everything a terminal would act on escaped (report.c says
 * how) and a newline added, so no value can start a line of its own. Past
 * the finding's output limit one line says the summary was cut and later
 * lines are dropped; report_head and report_tail are always written. */
void report_line(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_step(run *rn, const pb_step *st, size_t i, const char *status, const char *err,
		 double ms);
void report_notes(run *rn); /* the step's log lines, under its status line */
void report_run_start(run *rn);
void report_run_end(run *rn);
void report_head(const run *rn, int total);
void report_tail(const run *rn);
void report_result(jw *w, const run *rn);
void report_input_error(runner *r, const char *err);
void report_totals(runner *r); /* "total: 5 findings, 2 contained, ..." */

#endif
