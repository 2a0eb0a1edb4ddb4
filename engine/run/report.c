/* report — what a run tells: the journal's run_start, step and run_end lines,
 * the human summary (the plan, in a dry run) and the Lambda result entry. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cli.h"
#include "journal.h"
#include "run_int.h"

/* A line for the terminal. Messages can quote the finding (attacker
 * controlled), so control characters other than newline become '?'. */
void report_line(const runner *r, const char *fmt, ...)
{
	va_list ap;
	buf b = BUF_INIT;
	if (!r->o.summary)
		return;
	va_start(ap, fmt);
	int rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	for (size_t i = 0; rc == 0 && i < b.len; i++)
		if (((unsigned char)b.data[i] < 0x20 && b.data[i] != '\n') || b.data[i] == 0x7f)
			b.data[i] = '?';
	if (rc == 0)
		fputs(b.data, r->o.summary);
	buf_free(&b);
}

void report_step(run *rn, const pb_step *st, size_t i, const char *status,
			 const char *err, double ms)
{
	jw *w = journal_line(rn->r->j, "step");
	const char *nl = err ? strchr(err, '\n') : NULL;
	jw_field_str(w, "step", st->name);
	jw_field_int(w, "index", (long long)i + 1);
	jw_field_str(w, "status", status);
	jw_field_bool(w, "critical", st->critical);
	jw_key(w, "ms");
	jw_num(w, round(ms * 10) / 10);
	jw_key(w, strcmp(status, "skipped") == 0 ? "reason" : "error");
	if (err && *err)
		jw_strn(w, err, nl ? (size_t)(nl - err) : strlen(err));
	else
		jw_null(w);
	if (nl) {
		jw_key(w, "traceback");
		jw_str(w, nl + 1);
	}
	jw_key(w, "saved");
	jw_obj(w);
	for (size_t k = 0; k < rn->nsaves; k++) {
		jw_key(w, rn->saves[k].key);
		jw_raw(w, rn->saves[k].json);
	}
	jw_obj_end(w);
	journal_emit(rn->r->j);
}

static void write_finding(jw *w, const finding_info *fi)
{
	jw_obj(w);
	jw_field_str(w, "id", fi->id);
	jw_field_str(w, "type", fi->type);
	jw_field_num(w, "severity", fi->severity);
	jw_field_str(w, "resource_type", fi->resource_type);
	jw_field_str(w, "resource_role", fi->resource_role[0] ? fi->resource_role : NULL);
	jw_field_str(w, "account", fi->account);
	jw_field_str(w, "region", fi->region);
	jw_field_str(w, "partition", fi->partition);
	jw_field_int(w, "index", fi->index);
	jw_field_bool(w, "sample", fi->sample);
	jw_field_bool(w, "archived", fi->archived);
	jw_obj_end(w);
}

void report_run_start(run *rn)
{
	jw *w = journal_line(rn->r->j, "run_start");
	jw_key(w, "finding");
	write_finding(w, &rn->fi);
	jw_key(w, "playbook");
	if (rn->pb) {
		jw_obj(w);
		jw_field_str(w, "name", rn->pb->name);
		jw_field_str(w, "file", rn->pb->file);
		jw_field_str(w, "sha256", rn->pb->sha256);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_field_str(w, "engine", "deadbolt " DEADBOLT_VERSION);
	jw_field_str(w, "mode", rn->r->o.dry_run ? "dry-run" : "live");
	jw_field_str(w, "region", rn->region);
	journal_emit(rn->r->j);
}

static void write_counts(jw *w, const run *rn)
{
	jw_obj(w);
	jw_field_int(w, "steps", rn->ok + rn->failed + rn->skipped + rn->not_run);
	jw_field_int(w, "ok", rn->ok);
	jw_field_int(w, "failed", rn->failed);
	jw_field_int(w, "skipped", rn->skipped);
	jw_field_int(w, "not_run", rn->not_run);
	jw_field_int(w, "aws_calls", rn->calls);
	jw_field_int(w, "writes_planned", rn->writes);
	jw_obj_end(w);
}

void report_run_end(run *rn)
{
	jw *w = journal_line(rn->r->j, "run_end");
	jw_field_str(w, "outcome", runner_outcome_name(rn->outcome));
	jw_field_str(w, "reason", rn->reason[0] ? rn->reason : NULL);
	jw_key(w, "counts");
	write_counts(w, rn);
	jw_field_num(w, "ms", round((clock_mono() - rn->t0) * 10000) / 10);
	journal_emit(rn->r->j);
}

void report_result(jw *w, const run *rn)
{
	jw_obj(w);
	jw_field_str(w, "id", rn->fi.id);
	jw_field_str(w, "type", rn->fi.type);
	jw_field_str(w, "resource_type", rn->fi.resource_type);
	jw_field_str(w, "run", journal_run_id(rn->r->j));
	jw_field_str(w, "playbook", rn->pb ? rn->pb->name : NULL);
	jw_field_str(w, "outcome", runner_outcome_name(rn->outcome));
	jw_field_str(w, "reason", rn->reason[0] ? rn->reason : NULL);
	jw_key(w, "counts");
	write_counts(w, rn);
	jw_obj_end(w);
}

void report_head(const run *rn, int total)
{
	const finding_info *fi = &rn->fi;
	report_line(rn->r, "finding %s (%d of %d)\n", fi->id, fi->index + 1, total);
	report_line(rn->r, "  %s, severity %g, %s%s%s in account %s, %s\n", fi->type, fi->severity,
		fi->resource_type, fi->resource_role[0] ? " " : "", fi->resource_role, fi->account,
		rn->region);
	if (rn->pb)
		report_line(rn->r, "  playbook %s (%s, sha256 %.16s)\n", rn->pb->name, rn->pb->file,
			rn->pb->sha256);
}

void report_tail(const run *rn)
{
	if (rn->plan.len)
		report_line(rn->r, "  plan (writes not sent, in order):\n%s", rn->plan.data);
	else if (rn->r->o.dry_run && rn->outcome != OUTCOME_SKIPPED)
		report_line(rn->r, "  plan: no writes\n");
	report_line(rn->r, "  outcome: %s%s%s%s\n", runner_outcome_name(rn->outcome),
		rn->reason[0] ? " (" : "", rn->reason, rn->reason[0] ? ")" : "");
	if (rn->ok + rn->failed + rn->skipped + rn->not_run)
		report_line(rn->r, "  steps: %d ok, %d failed, %d skipped, %d not run; %d AWS calls%s\n",
			rn->ok, rn->failed, rn->skipped, rn->not_run, rn->calls,
			rn->r->o.dry_run ? "" : "");
	if (rn->r->o.dry_run && rn->writes)
		report_line(rn->r, "  %d write%s planned, none sent\n", rn->writes, rn->writes == 1 ? "" : "s");
}

void report_input_error(runner *r, const char *err)
{
	journal_new_run(r->j);
	jw *w = journal_line(r->j, "input_error");
	jw_field_str(w, "error", err);
	journal_emit(r->j);
}
