/* host — the host side of the sandbox: each primitive call a playbook makes
 * (sent, or planned in a dry run, dry.c answering what a dry run cannot
 * read), journaled with its parameters, and the playbook's log lines. See
 * run_int.h.
 *
 * Inside aws.all (a live run), calls start on the client's multi handle
 * (host_async) and overlap; what is journaled meanwhile carries the order
 * key of its place in a sequential run (sandbox_order_key) and is written
 * in that order when the outermost aws.all ends (host_concurrent). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
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

/* One call started inside aws.all, until its answer is journaled. */
typedef struct run_call {
	run *rn;
	struct run_call *next; /* rn->live */
	const allow_entry *e;
	const char *step;
	char label[200];
	char order[SANDBOX_ORDER_MAX];
	buf params;
	int keep;  /* an aws.cached read: its answer goes to the memo */
	aws_pending *p;
} run_call;

static void journal_call_head(jw *w, const char *step, const char *op, int write, const buf *params)
{
	jw_field_str(w, "step", step);
	jw_field_str(w, "op", op);
	jw_field_str(w, "access", write ? "write" : "read");
	jw_key(w, "params");
	jw_raw(w, params->len ? params->data : "null");
}

/* The client's observer: one line per call it sent, with when it was
 * asked for (start_ms), when its first attempt was sent (sent_ms: later
 * when it waited for a slot of its service; null when nothing was sent)
 * and when it ended (end_ms), each in ms from the run's start. A call
 * started inside aws.all (call_ud) carries its own step, parameters and
 * order key. */
void host_observe(void *ud, const aws_call_record *rec)
{
	runner *r = ud;
	run *rn = r->cur;
	const run_call *c = rec->call_ud;
	char op[200];
	if (!rn || !rec->op)
		return;
	rn->observed = 1;
	snprintf(op, sizeof(op), "%s.%s", model_op_service(rec->op), model_op_name(rec->op));
	if (c)
		journal_set_order(r->j, c->order);
	jw *w = journal_line(r->j, "aws_call");
	const allow_entry *e = allowlist_find(model_op_service(rec->op), model_op_name(rec->op));
	journal_call_head(w, c ? c->step : rn->step, op, e && e->access == ALLOW_WRITE,
			  c ? &c->params : &rn->params);
	jw_field_int(w, "status", rec->status);
	jw_field_str(w, "request_id", rec->request_id);
	jw_field_int(w, "attempts", rec->attempts);
	jw_key(w, "ms");
	jw_num(w, round(rec->ms * 10) / 10);
	double start_ms = (rec->start - rn->t0) * 1000;
	jw_key(w, "start_ms");
	jw_num(w, round(start_ms * 10) / 10);
	jw_key(w, "sent_ms");
	if (rec->sent > 0)
		jw_num(w, round((rec->sent - rn->t0) * 10000) / 10);
	else
		jw_null(w);
	jw_key(w, "end_ms");
	jw_num(w, round((start_ms + rec->ms) * 10) / 10);
	jw_field_str(w, "error", rec->error_code);
	journal_emit(r->j);
}

/* A call the observer did not see (a fake host, a validation error). */
static void journal_unobserved(run *rn, const char *step, const char *op, const allow_entry *e,
			       int rc, const aws_error *err, const buf *params)
{
	jw *w = journal_line(rn->r->j, "aws_call");
	journal_call_head(w, step, op, e->access == ALLOW_WRITE, params);
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

/* ---- aws.cached: answers kept for the document (memo.h) ---- */

static void memo_scope_of(const run *rn, const allow_entry *e, char *out, size_t n)
{
	memo_scope(out, n, rn->fi.account, rn->region, e->service);
}

/* The memo's name for a call: the operation and its parameters. */
static void memo_call_of(const char *label, const buf *params, buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s ", label);
	buf_append(out, params->data ? params->data : "", params->len);
}

/* Whether the call being made is an aws.cached read (its answer may come
 * from the memo, and goes to it). */
static int cached_read(const run *rn, const allow_entry *e)
{
	return e->access == ALLOW_READ && sandbox_call_cached(rn->sb);
}

/* A write, sent or planned, answered or not: what it may change is read
 * again. */
static void memo_before(run *rn, const allow_entry *e)
{
	if (e->access == ALLOW_WRITE)
		memo_forget_after_write(rn->r->memo, rn->fi.account, rn->region, e->service);
}

/* An aws.cached read the memo answers: its answer pushed on L, journaled
 * as kept (no call was sent), seen by undo as a sent call's. 1, or 0 when
 * the memo has none (nothing pushed). */
static int memo_answer(run *rn, const allow_entry *e, const char *step, const char *label,
		       const buf *params, lua_State *L)
{
	char scope[200];
	buf call = BUF_INIT;
	int hit = 0;
	if (!cached_read(rn, e))
		return 0;
	memo_scope_of(rn, e, scope, sizeof(scope));
	memo_call_of(label, params, &call);
	if (call.data) /* memo_get may raise (memory): nothing malloc'd held then but call */
		hit = memo_get(rn->r->memo, scope, call.data, clock_mono(), L);
	buf_free(&call);
	if (!hit)
		return 0;
	jw *w = journal_line(rn->r->j, "aws_cached");
	journal_call_head(w, step, label, 0, params);
	journal_emit(rn->r->j);
	undo_observe(rn, step, e, params, L, 0, NULL);
	return 1;
}

/* A sent aws.cached read's answer (on top of L) kept. */
static void memo_keep(run *rn, const allow_entry *e, const char *label, const buf *params,
		      lua_State *L)
{
	char scope[200];
	buf call = BUF_INIT;
	memo_scope_of(rn, e, scope, sizeof(scope));
	memo_call_of(label, params, &call);
	if (call.data)
		memo_put(rn->r->memo, scope, call.data, clock_mono(), L, -1);
	buf_free(&call);
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
	journal_call_head(w, rn->step, op, 1, &rn->params);
	jw_field_bool(w, "dry_run", 1);
	journal_emit(rn->r->j);
	if (rn->plan_cut) { /* the plan is full: counted, said in the summary */
		rn->plan_cut++;
		return;
	}
	size_t before = rn->plan.len;
	plan_step_heading(rn);
	buf_printf(&rn->plan, "      %d. %s ", rn->writes, op);
	jw_init(&pw, &rn->plan);
	pw.shorten = PLAN_MAX_VALUE;
	jw_lua(&pw, L, params, 1);
	if (jw_failed(&pw) || buf_putc(&rn->plan, '\0') != 0) { /* past the output limit */
		rn->plan.len = before; /* whole entries only */
		if (rn->plan.data)
			rn->plan.data[before] = '\0';
		rn->plan_cut++;
	}
}

void host_plan_wait(run *rn, double seconds, double every, const char *reads)
{
	if (rn->plan_cut)
		return;
	size_t before = rn->plan.len;
	plan_step_heading(rn);
	if (every > 0)
		buf_printf(&rn->plan, "      (would wait up to %g s, checking every %g s%s%s; "
			   "planned as met)", seconds, every, reads ? ": " : "", reads ? reads : "");
	else
		buf_printf(&rn->plan, "      (would wait %g s)", seconds);
	if (buf_putc(&rn->plan, '\0') != 0) { /* past the output limit */
		rn->plan.len = before;
		if (rn->plan.data)
			rn->plan.data[before] = '\0';
	}
}

static void capture_params(buf *out, lua_State *L, int params)
{
	jw w;
	buf_reset(out);
	jw_init(&w, out);
	jw_lua(&w, L, params, 1);
	if (jw_failed(&w)) {
		buf_reset(out);
		buf_puts(out, "\"<too large to journal>\"");
	}
}

/* Inside aws.all: the order key of the next event, which the journal's
 * next lines are kept under. NULL outside. */
static const char *next_order(run *rn, char *key, size_t n)
{
	const char *k = rn->concurrent ? sandbox_order_key(rn->sb, key, n) : NULL;
	journal_set_order(rn->r->j, k);
	return k;
}

int host_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	run *rn = ud;
	runner *r = rn->r;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	char label[200], key[SANDBOX_ORDER_MAX];
	int rc;
	op_label(op, e, label, sizeof(label));
	rn->calls++;
	capture_params(&rn->params, L, params);
	next_order(rn, key, sizeof(key));
	if (r->o.dry_run && op && sandbox_dry_waiting(rn->sb) > 0) {
		/* a dry aws.wait's check tried again: no call at all, read or write */
		rn->calls--;
		codec_push_placeholder_variant(L, op, 0, sandbox_dry_waiting(rn->sb));
		return 0;
	}
	memo_before(rn, e);
	if (op && memo_answer(rn, e, rn->step, label, &rn->params, L)) {
		rn->calls--; /* answered from the memo: not sent */
		return 0;
	}
	if (r->o.dry_run && e->access == ALLOW_WRITE && op) {
		/* a planned write is validated as the live run would before sending it */
		if (codec_check_request(L, op, params, err) != 0) {
			journal_unobserved(rn, rn->step, label, e, -1, err, &rn->params);
			return -1;
		}
		plan_write(rn, label, L, params);
		codec_push_placeholder(L, op, rn->writes);
		dry_planned_write(rn, L, op, params);
		return 0;
	}
	int dry = r->o.dry_run && op ? dry_read(rn, L, op, params, label) : 0;
	if (dry == 1)
		return 0;
	if (dry == 2) /* sent for the real resources it names only */
		capture_params(&rn->params, L, params);
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
		journal_unobserved(rn, rn->step, label, e, rc, err, &rn->params);
	if (dry == 2)
		dry_read_done(L, rc);
	if (op)
		undo_observe(rn, rn->step, e, &rn->params, L, rc, err);
	if (rc == 0 && cached_read(rn, e))
		memo_keep(rn, e, label, &rn->params, L);
	return rc;
}

static void add_note(run *rn, const char *text, size_t len)
{
	buf_append(&rn->notes, text, len);
	buf_putc(&rn->notes, '\0'); /* the text is a C string: NUL ends it */
}

void host_log(void *ud, const char *level, const char *msg)
{
	run *rn = ud;
	char key[SANDBOX_ORDER_MAX];
	const char *order = next_order(rn, key, sizeof(key));
	jw *w = journal_line(rn->r->j, "log");
	jw_field_str(w, "step", rn->step);
	jw_field_str(w, "level", level);
	jw_field_str(w, "msg", msg);
	journal_emit(rn->r->j);
	if (rn->step) { /* shown under the step's status line, once it is known */
		buf note = BUF_INIT;
		if (buf_printf(&note, "[%s] %s", level, msg) == 0 &&
		    (!order || ordered_add(&rn->held, order, 0, note.data, note.len) != 0))
			add_note(rn, note.data, note.len);
		buf_free(&note);
	}
	else
		report_line(rn->r, "      [%s] %s", level, msg);
}

/* ---- calls that overlap (host_async) ---- */

static void free_run_call(run_call *c)
{
	if (!c)
		return;
	for (run_call **p = &c->rn->live; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	aws_pending_free(c->p);
	buf_free(&c->params);
	free(c);
}

/* Inside aws.all: started on the client's multi handle. A fake host
 * (call_override), an operation without a model or no client go through
 * host_call at once, in the same order. */
static int host_start(void *ud, lua_State *L, const allow_entry *e, int params, const char *order,
		      aws_error *err, void **pending)
{
	run *rn = ud;
	runner *r = rn->r;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	*pending = NULL;
	if (!op || !r->o.client || r->o.call_override || r->o.dry_run)
		return host_call(ud, L, e, params, err);
	run_call *c = calloc(1, sizeof(*c));
	if (!c) {
		aws_error_set(err, "InternalError", "out of memory");
		return -1;
	}
	c->rn = rn;
	c->next = rn->live; /* freed by host_free_calls if nothing else does */
	rn->live = c;
	c->e = e;
	c->step = rn->step;
	op_label(op, e, c->label, sizeof(c->label));
	snprintf(c->order, sizeof(c->order), "%s", order ? order : "");
	buf_init(&c->params, PARAMS_MAX);
	capture_params(&c->params, L, params);
	memo_before(rn, e);
	if (sandbox_call_cached(rn->sb)) /* an answer from the memo is journaled now, in its place */
		journal_set_order(r->j, order);
	if (memo_answer(rn, e, c->step, c->label, &c->params, L)) {
		free_run_call(c); /* answered now: *pending stays NULL */
		return 0;
	}
	c->keep = cached_read(rn, e);
	rn->calls++;
	/* aws_call_start raises only out of memory; the sandbox stops then */
	c->p = aws_call_start(r->o.client, L, op, params, c, sandbox_call_first(rn->sb), err);
	if (!c->p) {
		free_run_call(c); /* the observer journaled the failure */
		account_explain_error(rn, err);
		return -1;
	}
	*pending = c;
	return 0;
}

static int host_wait(void *ud, lua_State *L, double until, void **done, aws_error *err)
{
	run *rn = ud;
	int rc = 0;
	aws_pending *p = aws_client_wait(rn->r->o.client, L, until, &rc, err);
	if (!p)
		return 1;
	run_call *c = aws_pending_ud(p);
	*done = c; /* the sandbox only compares the pointer */
	journal_set_order(rn->r->j, c->order); /* its undo lines go where the call is */
	undo_observe(rn, c->step, c->e, &c->params, L, rc, err);
	if (rc == 0 && c->keep)
		memo_keep(rn, c->e, c->label, &c->params, L);
	free_run_call(c);
	if (rc != 0)
		account_explain_error(rn, err);
	return rc;
}

/* A call abandoned because the run stops (a budget ran out): journaled. */
static void host_cancel(void *ud, void *pending)
{
	run *rn = ud;
	run_call *c = pending;
	aws_error e;
	aws_error_clear(&e);
	aws_error_set(&e, "Cancelled", "%s: abandoned, the run stopped", c->label);
	journal_set_order(rn->r->j, c->order);
	journal_unobserved(rn, c->step, c->label, c->e, -1, &e, &c->params);
	free_run_call(c);
}

static void held_note(void *ud, int kind, const char *text, size_t len)
{
	(void)kind;
	add_note(ud, text, len);
}

static int by_order(const void *a, const void *b)
{
	const save_entry *x = a, *y = b;
	return strcmp(x->first ? x->first : "", y->first ? y->first : "");
}

/* The outermost aws.all begins (1) or ends (0): what was kept back is
 * written in a sequential run's order. */
static void host_concurrent(void *ud, int begin)
{
	run *rn = ud;
	rn->concurrent = begin;
	if (begin) {
		journal_hold(rn->r->j);
		rn->saves_mark = rn->nsaves;
		return;
	}
	journal_release(rn->r->j);
	ordered_take(&rn->held, held_note, rn);
	if (rn->nsaves > rn->saves_mark)
		qsort(rn->saves + rn->saves_mark, rn->nsaves - rn->saves_mark, sizeof(save_entry), by_order);
	for (size_t i = 0; i < rn->nsaves; i++) {
		free(rn->saves[i].order);
		free(rn->saves[i].first);
		rn->saves[i].order = rn->saves[i].first = NULL;
	}
}

const sandbox_async host_async = {host_start, host_wait, host_cancel, host_concurrent};

void host_free_calls(run *rn)
{
	while (rn->live)
		free_run_call(rn->live);
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
