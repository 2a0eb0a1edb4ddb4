/* report — what a run tells: the journal's run_start, step and run_end lines,
 * the human summary (the plan, in a dry run) and the Lambda result entry. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cli.h"
#include "journal.h"
#include "json_escape.h"
#include "run_int.h"

size_t report_output_limit(const runner *r)
{
	return r->o.output_limit ? r->o.output_limit : JOURNAL_RUN_LIMIT;
}

/* Code points a terminal acts on or that reorder or break what is shown:
 * C1 controls, line and paragraph separators, bidirectional controls. */
static int unsafe_code_point(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
	       cp == 0x200F || cp == 0x061C;
}

static unsigned code_point(const unsigned char *s, size_t len)
{
	if (len == 2)
		return (unsigned)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
	if (len == 3)
		return (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3F) << 12 |
	       (unsigned)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Appends text for a terminal: control characters as the journal writes
 * them (\n, \t, \u001b, \u007f), the code points above as \uXXXX, bytes
 * that are not UTF-8 as \xNN; everything else as it is. */
static void put_terminal_safe(buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : json_utf8_seq(s + i, n - i);
		if (s[i] == '\n')
			buf_puts(out, "\\n");
		else if (s[i] == '\r')
			buf_puts(out, "\\r");
		else if (s[i] == '\t')
			buf_puts(out, "\\t");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			buf_printf(out, "\\u%04x", s[i]);
		else if (len == 0)
			buf_printf(out, "\\x%02x", s[i]);
		else if (len > 1 && unsafe_code_point(code_point(s + i, len)))
			buf_printf(out, "\\u%04x", code_point(s + i, len));
		else
			buf_append(out, str + i, len);
		i += len ? len : 1;
	}
}

/* Summary lines: the text formatted, one trailing newline dropped, then
 * escaped whole (put_terminal_safe) with a newline added: the values in it
 * quote the finding or a playbook, both attacker controlled, and nothing in
 * them can forge another line or move the cursor. Past the finding's
 * output limit one line says the summary was cut and later lines are
 * dropped, except those written always (the head and the tail). */
static void vline(runner *r, int always, const char *fmt, va_list ap)
{
	buf b = BUF_INIT, out = BUF_INIT;
	size_t limit = report_output_limit(r);
	if (!r->o.summary || (r->summary_cut && !always))
		return;
	if (buf_vprintf(&b, fmt, ap) != 0)
		goto out;
	if (b.len && b.data[b.len - 1] == '\n')
		b.len--;
	put_terminal_safe(&out, b.data, b.len);
	if (buf_putc(&out, '\n') != 0)
		goto out;
	if (!always && r->summary_bytes + out.len > limit) {
		r->summary_cut = 1;
		fprintf(r->o.summary, "  ... output cut: this finding's summary passed %zu bytes\n", limit);
		goto out;
	}
	r->summary_bytes += out.len;
	fputs(out.data, r->o.summary);
out:
	buf_free(&b);
	buf_free(&out);
}

void report_line(runner *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(r, 0, fmt, ap);
	va_end(ap);
}

/* A line of the head or the tail: written whatever the limit. */
static void always_line(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void always_line(runner *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(r, 1, fmt, ap);
	va_end(ap);
}

void report_step(run *rn, const pb_step *st, size_t i, const char *status,
			 const char *err, double ms)
{
	jw *w = journal_line(rn->r->j, "step");
	const char *nl = err ? strchr(err, '\n') : NULL;
	jw_field_str(w, "step", st->name);
	jw_field_str(w, "why", st->why);
	jw_field_int(w, "index", (long long)i + 1);
	jw_field_str(w, "status", status);
	jw_field_bool(w, "critical", st->critical);
	if (st->undo) /* restore runs the step's own undo with its saved data */
		jw_field_bool(w, "undo", 1);
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

/* Prints each sep-terminated piece of text as a line of its own, indented. */
static void report_lines(runner *r, const char *indent, const char *text, size_t n,
			 char sep)
{
	const char *p = text, *end = text + n;
	while (p < end) {
		const char *nl = memchr(p, sep, (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		report_line(r, "%s%.*s", indent, (int)len, p);
		p += len + 1;
	}
}

void report_notes(run *rn)
{
	if (rn->notes.len)
		report_lines(rn->r, "           ", rn->notes.data, rn->notes.len, '\0');
	buf_reset(&rn->notes);
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
	if (rn->r->pbs.nbroken) { /* files that did not load: the others still run */
		jw_key(w, "playbook_problems");
		jw_arr(w);
		for (size_t i = 0; i < rn->r->pbs.nbroken; i++)
			jw_str(w, rn->r->pbs.broken[i]);
		jw_arr_end(w);
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
	if (journal_dropped(rn->r->j))
		jw_field_int(w, "journal_lines_dropped", (long long)journal_dropped(rn->r->j));
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
	if (rn->final)
		jw_field_bool(w, "retry", 0); /* a new delivery would fail alike */
	jw_key(w, "counts");
	write_counts(w, rn);
	jw_obj_end(w);
}

void report_head(const run *rn, int total)
{
	const finding_info *fi = &rn->fi;
	if (total > 1)
		always_line(rn->r, "finding %d: %s (%d of %d in its document)", rn->r->seen, fi->id,
			    fi->index + 1, total);
	else
		always_line(rn->r, "finding %d: %s", rn->r->seen, fi->id);
	always_line(rn->r, "  %s, severity %g, %s%s%s in account %s, %s", fi->type, fi->severity,
		    fi->resource_type, fi->resource_role[0] ? " " : "", fi->resource_role, fi->account,
		    rn->region);
	if (rn->pb)
		always_line(rn->r, "  playbook %s (%s, sha256 %.16s)", rn->pb->name, rn->pb->file,
			    rn->pb->sha256);
	for (size_t i = 0; i < rn->r->pbs.nbroken; i++)
		always_line(rn->r, "  warning: playbook file not used: %s", rn->r->pbs.broken[i]);
}

void report_tail(const run *rn)
{
	if (rn->plan.len || rn->plan_cut) {
		report_line(rn->r, "  plan (writes not sent, in order, under the step that makes them):");
		report_lines(rn->r, "", rn->plan.data ? rn->plan.data : "", rn->plan.len, '\0');
		if (rn->plan_cut)
			always_line(rn->r, "    ... and %d more planned write%s, not shown: the plan passed "
				    "%zu bytes", rn->plan_cut, rn->plan_cut == 1 ? "" : "s",
				    report_output_limit(rn->r));
	} else if (rn->r->o.dry_run && rn->outcome != OUTCOME_SKIPPED)
		always_line(rn->r, "  plan: no writes");
	always_line(rn->r, "  outcome: %s%s%s%s", runner_outcome_name(rn->outcome),
		    rn->reason[0] ? " (" : "", rn->reason, rn->reason[0] ? ")" : "");
	if (rn->ok + rn->failed + rn->skipped + rn->not_run)
		always_line(rn->r, "  steps: %d ok, %d failed, %d skipped, %d not run; %d AWS calls",
			    rn->ok, rn->failed, rn->skipped, rn->not_run, rn->calls);
	if (rn->r->o.dry_run && rn->writes)
		always_line(rn->r, "  %d write%s planned, none sent", rn->writes,
			    rn->writes == 1 ? "" : "s");
}

void report_input_error(runner *r, const char *err)
{
	journal_new_run(r->j);
	jw *w = journal_line(r->j, "input_error");
	jw_field_str(w, "error", err);
	journal_emit(r->j);
}

void report_totals(runner *r)
{
	static const runner_outcome order[] = {OUTCOME_CONTAINED, OUTCOME_PLANNED, OUTCOME_PARTIAL,
					       OUTCOME_FAILED,    OUTCOME_SKIPPED, OUTCOME_INVALID};
	char line[400];
	size_t n = 0;
	if (r->seen == 0)
		return;
	n += (size_t)snprintf(line, sizeof(line), "total: %d finding%s", r->seen, r->seen == 1 ? "" : "s");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && n < sizeof(line); i++)
		if (r->totals[order[i]])
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %d %s", n ? "," : "",
					      r->totals[order[i]], runner_outcome_name(order[i]));
	always_line(r, "%s", line);
}
