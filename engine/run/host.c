/* host — the host side of the sandbox: each primitive call a playbook makes
 * (sent, or planned in a dry run), journaled with its parameters, and the
 * playbook's log lines. See run_int.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "journal.h"
#include "model.h"
#include "run_int.h"

static void op_label(const aws_operation *op, const allow_entry *e, char *out, size_t n)
{
	if (op)
		snprintf(out, n, "%s.%s", model_op_service(op), model_op_name(op));
	else
		snprintf(out, n, "%s.%s", e->service, e->operation);
}

static void journal_call_head(run *rn, jw *w, const char *op, int write)
{
	jw_field_str(w, "step", rn->step);
	jw_field_str(w, "op", op);
	jw_field_str(w, "access", write ? "write" : "read");
	jw_key(w, "params");
	jw_raw(w, rn->params.len ? rn->params.data : "null");
}

/* The client's observer: one line per call it sent. */
void host_observe(void *ud, const aws_call_record *rec)
{
	runner *r = ud;
	run *rn = r->cur;
	char op[200];
	if (!rn || !rec->op)
		return;
	rn->observed = 1;
	snprintf(op, sizeof(op), "%s.%s", model_op_service(rec->op), model_op_name(rec->op));
	jw *w = journal_line(r->j, "aws_call");
	const allow_entry *e = allowlist_find(model_op_service(rec->op), model_op_name(rec->op));
	journal_call_head(rn, w, op, e && e->access == ALLOW_WRITE);
	jw_field_int(w, "status", rec->status);
	jw_field_str(w, "request_id", rec->request_id);
	jw_field_int(w, "attempts", rec->attempts);
	jw_key(w, "ms");
	jw_num(w, round(rec->ms * 10) / 10);
	jw_field_str(w, "error", rec->error_code);
	journal_emit(r->j);
}

/* A call the observer did not see (a fake host, a validation error). */
static void journal_unobserved(run *rn, const char *op, const allow_entry *e, int rc,
			       const aws_error *err)
{
	jw *w = journal_line(rn->r->j, "aws_call");
	journal_call_head(rn, w, op, e->access == ALLOW_WRITE);
	jw_key(w, "status");
	if (rc != 0 && err->status)
		jw_int(w, err->status);
	else
		jw_null(w);
	jw_field_str(w, "request_id", rc != 0 ? err->request_id : "");
	jw_field_int(w, "attempts", rc != 0 ? err->attempts : 1);
	jw_field_str(w, "error", rc != 0 ? err->code : NULL);
	if (rc != 0) {
		jw_key(w, "message");
		jw_str(w, err->message);
	}
	journal_emit(rn->r->j);
}

/* The plan's heading for the step of the next write, once per step: its
 * name and why. */
static void plan_step_heading(run *rn)
{
	const pb_step *st = rn->cur;
	if (!st || st == rn->planned)
		return;
	rn->planned = st;
	buf_printf(&rn->plan, "    %s%s%s", st->name, st->why ? ": " : "", st->why ? st->why : "");
	buf_putc(&rn->plan, '\0'); /* lines end in NUL: a why may hold a newline */
}

/* A write not sent (dry run): journaled, and added to the plan with long
 * values shortened to their size and hash. */
static void plan_write(run *rn, const char *op, lua_State *L, int params)
{
	jw pw;
	rn->writes++;
	jw *w = journal_line(rn->r->j, "aws_call");
	journal_call_head(rn, w, op, 1);
	jw_field_bool(w, "dry_run", 1);
	journal_emit(rn->r->j);
	plan_step_heading(rn);
	buf_printf(&rn->plan, "      %d. %s ", rn->writes, op);
	jw_init(&pw, &rn->plan);
	pw.shorten = PLAN_MAX_VALUE;
	jw_lua(&pw, L, params, 1);
	buf_putc(&rn->plan, '\0');
}

static void capture_params(run *rn, lua_State *L, int params)
{
	jw w;
	buf_reset(&rn->params);
	jw_init(&w, &rn->params);
	jw_lua(&w, L, params, 1);
	if (jw_failed(&w)) {
		buf_reset(&rn->params);
		buf_puts(&rn->params, "\"<too large to journal>\"");
	}
}

int host_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	run *rn = ud;
	runner *r = rn->r;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	char label[200];
	int rc;
	op_label(op, e, label, sizeof(label));
	rn->calls++;
	capture_params(rn, L, params);
	if (r->o.dry_run && e->access == ALLOW_WRITE && op) {
		/* a planned write is validated as the live run would before sending it */
		if (codec_check_request(L, op, params, err) != 0) {
			journal_unobserved(rn, label, e, -1, err);
			return -1;
		}
		plan_write(rn, label, L, params);
		codec_push_placeholder(L, op, rn->writes);
		return 0;
	}
	rn->observed = 0;
	if (!op) {
		aws_error_set(err, "UnknownOperation", "%s is not in the service model", label);
		rc = -1;
	} else if (r->o.call_override) {
		rc = r->o.call_override(r->o.call_override_ud, L, e, params, err);
	} else if (r->o.client) {
		rc = aws_call(r->o.client, L, op, params, err);
		if (rc != 0)
			account_explain_error(rn, err);
	} else {
		aws_error_set(err, "NoClient", "no AWS client to send %s", label);
		rc = -1;
	}
	if (!rn->observed)
		journal_unobserved(rn, label, e, rc, err);
	return rc;
}

void host_log(void *ud, const char *level, const char *msg)
{
	run *rn = ud;
	jw *w = journal_line(rn->r->j, "log");
	jw_field_str(w, "step", rn->step);
	jw_field_str(w, "level", level);
	jw_field_str(w, "msg", msg);
	journal_emit(rn->r->j);
	if (rn->step) { /* shown under the step's status line, once it is known */
		buf_printf(&rn->notes, "[%s] %s", level, msg);
		buf_putc(&rn->notes, '\0'); /* msg is a C string: NUL ends it */
	}
	else
		report_line(rn->r, "      [%s] %s", level, msg);
}

int host_refuse_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	aws_error_set(err, "CallRefused", "%s.%s: no AWS call while loading playbooks", e->service,
		      e->operation);
	return -1;
}

void host_quiet_log(void *ud, const char *level, const char *msg)
{
}
