/* runner — findings in, routing, the step runner, the journal. See runner.h
 * and docs/playbook-api.md (the contract with the playbooks).
 *
 * Per runner: the playbooks are loaded, inspected and hashed once (catalog),
 * and every file they load is compiled once (sandbox_chunks).
 * Per finding: a fresh sandbox, only the routed playbook (and the modules it
 * requires) loaded in it from the compiled chunks, a ctx, and the steps run
 * one by one through sandbox_pcall. Every change to the
 * sandbox's lua_State happens inside a protected call (a C trampoline run by
 * sandbox_pcall), so a memory budget hit is an error, never a panic. */
#include "runner.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "catalog.h"
#include "cli.h"
#include "codec.h"
#include "finding.h"
#include "journal.h"
#include "model.h"
#include "ordered.h"

#define MAX_SAVES 64
#define MAX_SAVE_BYTES ((size_t)1 << 20)
#define PARAMS_MAX ((size_t)256 << 10)

static const char *const ENV_NAMES[] = {"ARTIFACT_BUCKET", "QUARANTINE_PROFILE_ARN",
					"NOTIFICATION_TOPIC_ARN"};
#define NENV (sizeof(ENV_NAMES) / sizeof(ENV_NAMES[0]))

typedef struct save_entry {
	char *key;
	char *json;
	char *order; /* inside aws.all: the save's order key (sandbox_order_key), else NULL */
} save_entry;

typedef struct run run;

struct runner {
	runner_options o;
	char *dir;
	char *region;
	char *env[NENV];
	catalog cat;
	sandbox_chunks *chunks; /* playbooks and modules, compiled once */
	lua_State *H; /* host state: decoding findings, routing patterns */
	journal *j;
	run *cur;     /* the run in progress, for the client's observer */
};

struct run {
	runner *r;
	sandbox *sb;
	const playbook_def *pb;
	const pb_handle *entry; /* the handles entry that routed the finding */
	finding_info fi;
	const char *region;
	int fidx;          /* the finding in r->H */
	const char *step;  /* the step running now, or NULL */
	save_entry saves[MAX_SAVES];
	size_t nsaves, save_bytes;
	int skip;
	int stop;
	runner_outcome outcome;
	char reason[512];
	int ok, failed, skipped, not_run, calls, writes;
	int observed;      /* the client's observer journaled the last call */
	buf params;        /* the last call's parameters, as JSON */
	buf plan;          /* the dry-run plan, for the summary */
	double t0;
	/* Inside aws.all (calls overlap): plan and summary text kept by order
	 * key (kind 0: plan, 1: summary), written sorted when it ends, as the
	 * journal's lines are; saves from saves_mark on are sorted then too. */
	int concurrent;
	ordered held;
	int plan_n;        /* plan lines written */
	size_t saves_mark;
};

/* One call started inside aws.all, until its answer is journaled. */
typedef struct run_call {
	run *rn;
	const allow_entry *e;
	const char *step;
	char label[200];
	char order[SANDBOX_ORDER_MAX];
	buf params;
	aws_pending *p;
} run_call;

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *runner_outcome_name(runner_outcome o)
{
	static const char *const names[] = {"contained", "planned", "skipped",
					    "partial",   "failed",  "invalid"};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "invalid";
}

int runner_exit_code(runner_outcome o)
{
	switch (o) {
	case OUTCOME_CONTAINED:
	case OUTCOME_PLANNED:
	case OUTCOME_SKIPPED: return 0;
	case OUTCOME_PARTIAL:
	case OUTCOME_FAILED: return 1;
	default: return 2;
	}
}

static int outcome_rank(runner_outcome o)
{
	static const int rank[] = {1, 1, 0, 3, 4, 5};
	return (unsigned)o < sizeof(rank) / sizeof(rank[0]) ? rank[o] : 5;
}

static void summary(const runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line for the terminal. Messages can quote the finding (attacker
 * controlled), so control characters other than newline become '?'. */
static void summary(const runner *r, const char *fmt, ...)
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

static void op_label(const aws_operation *op, const allow_entry *e, char *out, size_t n)
{
	if (op)
		snprintf(out, n, "%s.%s", model_op_service(op), model_op_name(op));
	else
		snprintf(out, n, "%s.%s", e->service, e->operation);
}

/* ---- the host side of the sandbox: calls, logs ---- */

static void journal_call_head(jw *w, const char *step, const char *op, int write, const buf *params)
{
	jw_field_str(w, "step", step);
	jw_field_str(w, "op", op);
	jw_field_str(w, "access", write ? "write" : "read");
	jw_key(w, "params");
	jw_raw(w, params->len ? params->data : "null");
}

/* The client's observer: one line per call it sent. A call started inside
 * aws.all (call_ud) carries its own step, parameters and order key; its
 * line says when it started and ended (ms from the run's start). */
static void observe(void *ud, const aws_call_record *rec)
{
	runner *r = ud;
	run *rn = r->cur;
	const run_call *rc = rec->call_ud;
	char op[200];
	if (!rn || !rec->op)
		return;
	rn->observed = 1;
	snprintf(op, sizeof(op), "%s.%s", model_op_service(rec->op), model_op_name(rec->op));
	if (rc)
		journal_set_order(r->j, rc->order);
	jw *w = journal_line(r->j, "aws_call");
	const allow_entry *e = allowlist_find(model_op_service(rec->op), model_op_name(rec->op));
	journal_call_head(w, rc ? rc->step : rn->step, op, e && e->access == ALLOW_WRITE,
			  rc ? &rc->params : &rn->params);
	jw_field_int(w, "status", rec->status);
	jw_field_str(w, "request_id", rec->request_id);
	jw_field_int(w, "attempts", rec->attempts);
	jw_key(w, "ms");
	jw_num(w, round(rec->ms * 10) / 10);
	jw_key(w, "start_ms");
	jw_num(w, round((rec->start - rn->t0) * 10000) / 10);
	jw_key(w, "end_ms");
	jw_num(w, round(((rec->start - rn->t0) * 1000 + rec->ms) * 10) / 10);
	jw_field_str(w, "error", rec->error_code);
	journal_emit(r->j);
}

/* A call the observer did not see (a fake host, a validation error). */
static void journal_unobserved(run *rn, const char *op, const allow_entry *e, int rc,
			       const aws_error *err, const buf *params)
{
	jw *w = journal_line(rn->r->j, "aws_call");
	journal_call_head(w, rn->step, op, e->access == ALLOW_WRITE, params);
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

static void add_plan_line(run *rn, const char *text, size_t len)
{
	buf_printf(&rn->plan, "    %d. %.*s", ++rn->plan_n, (int)len, text);
}

/* order: the write's order key inside aws.all, else NULL. */
static void plan_write(run *rn, const char *op, const buf *params, const char *order)
{
	buf line = BUF_INIT;
	rn->writes++;
	jw *w = journal_line(rn->r->j, "aws_call");
	journal_call_head(w, rn->step, op, 1, params);
	jw_field_bool(w, "dry_run", 1);
	journal_emit(rn->r->j);
	if (buf_printf(&line, "%s %s\n", op, params->len ? params->data : "{}") != 0)
		goto out;
	if (!order || ordered_add(&rn->held, order, 0, line.data, line.len) != 0)
		add_plan_line(rn, line.data, line.len);
out:
	buf_free(&line);
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

/* The order key of the next event inside aws.all (journal lines of it
 * kept back by that key), or NULL. */
static const char *next_order(run *rn, char *key, size_t n)
{
	const char *k = rn->concurrent ? sandbox_order_key(rn->sb, key, n) : NULL;
	journal_set_order(rn->r->j, k);
	return k;
}

static int host_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	run *rn = ud;
	runner *r = rn->r;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	char label[200], key[SANDBOX_ORDER_MAX];
	int rc;
	op_label(op, e, label, sizeof(label));
	rn->calls++;
	capture_params(&rn->params, L, params);
	const char *order = next_order(rn, key, sizeof(key));
	if (r->o.dry_run && e->access == ALLOW_WRITE && op) {
		plan_write(rn, label, &rn->params, order);
		codec_push_placeholder(L, op);
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
	} else {
		aws_error_set(err, "NoClient", "no AWS client to send %s", label);
		rc = -1;
	}
	if (!rn->observed)
		journal_unobserved(rn, label, e, rc, err, &rn->params);
	return rc;
}

/* ---- calls that overlap (sandbox_async) ---- */

static void free_run_call(run_call *c)
{
	if (!c)
		return;
	aws_pending_free(c->p);
	buf_free(&c->params);
	free(c);
}

/* Inside aws.all: started on the client's multi handle. A dry-run write,
 * a fake host (call_override) or a call that cannot start are done at once
 * through host_call, in the same order. */
static int host_start(void *ud, lua_State *L, const allow_entry *e, int params, const char *order,
		      aws_error *err, void **pending)
{
	run *rn = ud;
	runner *r = rn->r;
	const aws_operation *op = model_find_operation(e->service, e->operation);
	*pending = NULL;
	if (!op || !r->o.client || r->o.call_override || (r->o.dry_run && e->access == ALLOW_WRITE))
		return host_call(ud, L, e, params, err); /* keys its lines itself */
	run_call *c = calloc(1, sizeof(*c));
	if (!c) {
		aws_error_set(err, "InternalError", "out of memory");
		return -1;
	}
	c->rn = rn;
	c->e = e;
	c->step = rn->step;
	op_label(op, e, c->label, sizeof(c->label));
	snprintf(c->order, sizeof(c->order), "%s", order ? order : "");
	buf_init(&c->params, PARAMS_MAX);
	capture_params(&c->params, L, params);
	rn->calls++;
	c->p = aws_call_start(r->o.client, L, op, params, c, err); /* may raise: c is lost then */
	if (!c->p) {
		free_run_call(c); /* the observer journaled the failure */
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
	*done = c;
	free_run_call(c); /* the sandbox only compares the pointer */
	return rc;
}

/* A call abandoned because the run stops: journaled as such. */
static void host_cancel(void *ud, void *pending)
{
	run *rn = ud;
	run_call *c = pending;
	aws_error e;
	aws_error_clear(&e);
	aws_error_set(&e, "Cancelled", "%s: abandoned, the run stopped (a budget ran out)", c->label);
	journal_set_order(rn->r->j, c->order);
	const char *step = rn->step;
	rn->step = c->step;
	journal_unobserved(rn, c->label, c->e, -1, &e, &c->params);
	rn->step = step;
	free_run_call(c);
}

static void write_held(void *ud, int kind, const char *text, size_t len)
{
	run *rn = ud;
	if (kind == 0)
		add_plan_line(rn, text, len);
	else
		summary(rn->r, "%.*s", (int)len, text);
}

static int by_order(const void *a, const void *b)
{
	const save_entry *x = a, *y = b;
	return strcmp(x->order ? x->order : "", y->order ? y->order : "");
}

/* The outermost aws.all begins (1) or ends (0). */
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
	ordered_take(&rn->held, write_held, rn);
	if (rn->nsaves > rn->saves_mark)
		qsort(rn->saves + rn->saves_mark, rn->nsaves - rn->saves_mark, sizeof(save_entry), by_order);
	for (size_t i = 0; i < rn->nsaves; i++) {
		free(rn->saves[i].order);
		rn->saves[i].order = NULL;
	}
}

static void host_log(void *ud, const char *level, const char *msg)
{
	run *rn = ud;
	char key[SANDBOX_ORDER_MAX];
	const char *order = next_order(rn, key, sizeof(key));
	jw *w = journal_line(rn->r->j, "log");
	jw_field_str(w, "step", rn->step);
	jw_field_str(w, "level", level);
	jw_field_str(w, "msg", msg);
	journal_emit(rn->r->j);
	buf line = BUF_INIT;
	if (order && buf_printf(&line, "      [%s] %s\n", level, msg) == 0 &&
	    ordered_add(&rn->held, order, 1, line.data, line.len) == 0) {
		buf_free(&line);
		return;
	}
	buf_free(&line);
	summary(rn->r, "      [%s] %s\n", level, msg);
}

static int refuse_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	aws_error_set(err, "CallRefused", "%s.%s: no AWS call while loading playbooks", e->service,
		      e->operation);
	return -1;
}

static void quiet_log(void *ud, const char *level, const char *msg)
{
}

/* ---- ctx ---- */

static void free_saves(run *rn)
{
	for (size_t i = 0; i < rn->nsaves; i++) {
		free(rn->saves[i].key);
		free(rn->saves[i].json);
		free(rn->saves[i].order);
	}
	rn->nsaves = 0;
	rn->save_bytes = 0;
}

/* Stores key -> json (taking json); replaces an earlier value of key.
 * Inside aws.all (order set) a value replaces only one that comes before
 * it in a sequential run. Returns NULL, or what is wrong. */
static const char *store_save(run *rn, const char *key, size_t kn, char *json, size_t jn,
			      const char *order)
{
	size_t i;
	for (i = 0; i < rn->nsaves; i++)
		if (strcmp(rn->saves[i].key, key) == 0)
			break;
	if (i < rn->nsaves && order && rn->saves[i].order && strcmp(order, rn->saves[i].order) < 0) {
		free(json); /* a later place in a sequential run already saved key */
		return NULL;
	}
	if (i == MAX_SAVES)
		return "too many keys";
	if (rn->save_bytes + jn + kn > MAX_SAVE_BYTES)
		return "too much undo data";
	char *k = i < rn->nsaves ? rn->saves[i].key : strdup(key);
	char *o = order ? strdup(order) : NULL;
	if (!k || (order && !o)) {
		if (i == rn->nsaves)
			free(k);
		free(o);
		return "out of memory";
	}
	if (i < rn->nsaves) {
		free(rn->saves[i].json);
		free(rn->saves[i].order);
	} else {
		rn->nsaves++;
	}
	rn->saves[i].key = k;
	rn->saves[i].json = json;
	rn->saves[i].order = o;
	rn->save_bytes += jn + kn;
	return NULL;
}

/* ctx.save(key, value): the value as JSON now (the state before a change),
 * in the step's journal line. */
static int ctx_save(lua_State *L)
{
	run *rn = lua_touserdata(L, lua_upvalueindex(1));
	size_t kn;
	const char *key = luaL_checklstring(L, 1, &kn);
	const char *bad = NULL;
	buf b;
	jw w;
	luaL_argcheck(L, kn > 0 && kn <= 128 && strlen(key) == kn, 1, "a key of 1 to 128 characters");
	buf_init(&b, MAX_SAVE_BYTES);
	jw_init(&w, &b);
	jw_lua(&w, L, 2, 1);
	if (jw_failed(&w) || !b.data)
		bad = "too much undo data";
	else {
		char okey[SANDBOX_ORDER_MAX];
		const char *order = rn->concurrent ? sandbox_order_key(rn->sb, okey, sizeof(okey)) : NULL;
		bad = store_save(rn, key, kn, b.data, b.len, order);
	}
	if (bad) {
		buf_free(&b);
		return luaL_error(L, "ctx.save: %s", bad);
	}
	return 0;
}

/* ctx.skip(reason): ends the run as skipped. The flag holds even if the
 * playbook catches the error. */
static int ctx_skip(lua_State *L)
{
	run *rn = lua_touserdata(L, lua_upvalueindex(1));
	const char *why = luaL_optstring(L, 1, "skipped by the playbook");
	if (!rn->skip) {
		rn->skip = 1;
		snprintf(rn->reason, sizeof(rn->reason), "%s", why);
	}
	return luaL_error(L, "skipped: %s", why);
}

static void set_string(lua_State *L, const char *k, const char *v)
{
	if (v && *v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, k);
	}
}

static void push_env(lua_State *L, run *rn)
{
	lua_createtable(L, 0, (int)NENV);
	for (size_t i = 0; i < NENV; i++)
		set_string(L, ENV_NAMES[i], rn->r->env[i]);
	sandbox_make_readonly(rn->sb, -1);
}

static void push_closure(lua_State *L, run *rn, lua_CFunction f, const char *name)
{
	lua_pushlightuserdata(L, rn);
	lua_pushcclosure(L, f, 1);
	lua_setfield(L, -2, name);
}

/* Protected: args run, playbook table. Returns ctx and the steps table. */
static int build_ctx(lua_State *L)
{
	run *rn = lua_touserdata(L, 1);
	double sev = rn->fi.severity;
	lua_createtable(L, 0, 16);
	finding_copy(rn->r->H, rn->fidx, L);
	sandbox_make_readonly(rn->sb, -1);
	lua_setfield(L, -2, "finding");
	set_string(L, "id", rn->fi.id);
	set_string(L, "type", rn->fi.type);
	set_string(L, "region", rn->region);
	set_string(L, "account", rn->fi.account);
	set_string(L, "partition", rn->fi.partition);
	if (sev == floor(sev))
		lua_pushinteger(L, (lua_Integer)sev);
	else
		lua_pushnumber(L, sev);
	lua_setfield(L, -2, "severity");
	lua_pushboolean(L, rn->r->o.dry_run);
	lua_setfield(L, -2, "dry_run");
	push_env(L, rn);
	lua_setfield(L, -2, "env");
	lua_newtable(L);
	lua_setfield(L, -2, "state");
	lua_newtable(L);
	lua_setfield(L, -2, "steps");
	push_closure(L, rn, ctx_save, "save");
	push_closure(L, rn, ctx_skip, "skip");
	lua_pushliteral(L, "steps");
	lua_rawget(L, 2);
	return 2;
}

/* Protected: args steps, ctx, index, which (false: when, true: run). Calls
 * the step's function with ctx; returns whether it returned true (a step
 * without when applies). */
static int call_step(lua_State *L)
{
	int run_fn = lua_toboolean(L, 4);
	lua_rawgeti(L, 1, lua_tointeger(L, 3));
	luaL_checktype(L, -1, LUA_TTABLE);
	lua_pushstring(L, run_fn ? "run" : "when");
	lua_rawget(L, -2);
	if (!run_fn && lua_isnil(L, -1)) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	lua_pushboolean(L, lua_toboolean(L, -1));
	return 1;
}

typedef struct step_note {
	const char *name, *status, *error;
} step_note;

/* Protected: args ctx, step_note. Appends {name=, status=, error=} to
 * ctx.steps (recreated if a step replaced it). */
static int note_step(lua_State *L)
{
	const step_note *n = lua_touserdata(L, 2);
	lua_pushliteral(L, "steps");
	if (lua_rawget(L, 1) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushliteral(L, "steps");
		lua_pushvalue(L, -2);
		lua_rawset(L, 1);
	}
	lua_createtable(L, 0, 3);
	set_string(L, "name", n->name);
	set_string(L, "status", n->status);
	set_string(L, "error", n->error);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

/* ---- steps ---- */

typedef struct step_frame {
	int steps, ctx;  /* stack indexes in the sandbox */
	playbook_def def; /* the steps as loaded for this finding */
} step_frame;

/* Runs the step's when (which = 0) or run (1) under sandbox_pcall.
 * Returns the status and leaves whether it returned true in *yes. */
static sandbox_status call_fn(run *rn, const step_frame *f, size_t i, int which, int *yes,
			      char *err, size_t errlen)
{
	lua_State *L = sandbox_lua(rn->sb);
	if (!lua_checkstack(L, 8)) {
		snprintf(err, errlen, "out of Lua stack");
		return SANDBOX_ERROR;
	}
	lua_pushcfunction(L, call_step);
	lua_pushvalue(L, f->steps);
	lua_pushvalue(L, f->ctx);
	lua_pushinteger(L, (lua_Integer)i + 1);
	lua_pushboolean(L, which);
	sandbox_status st = sandbox_pcall(rn->sb, 4, 1, err, errlen);
	if (st == SANDBOX_OK) {
		*yes = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	return st;
}

static const char *exec_step(run *rn, const step_frame *f, size_t i, char *err, size_t errlen)
{
	int yes = 0;
	char msg[2048];
	if (call_fn(rn, f, i, 0, &yes, msg, sizeof(msg)) != SANDBOX_OK) {
		snprintf(err, errlen, "when: %.1900s", msg);
		return "failed";
	}
	if (!yes) {
		snprintf(err, errlen, "when returned false");
		return "skipped";
	}
	if (call_fn(rn, f, i, 1, &yes, err, errlen) != SANDBOX_OK)
		return "failed";
	err[0] = '\0';
	return "ok";
}

static void journal_step(run *rn, const pb_step *st, size_t i, const char *status,
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

static void note(run *rn, const step_frame *f, const char *name, const char *status,
		 const char *err)
{
	char e[1024], ignored[256];
	step_note n = {name, status, e};
	lua_State *L = sandbox_lua(rn->sb);
	snprintf(e, sizeof(e), "%.1000s", err ? err : "");
	if (!lua_checkstack(L, 4))
		return;
	lua_pushcfunction(L, note_step);
	lua_pushvalue(L, f->ctx);
	lua_pushlightuserdata(L, &n);
	sandbox_pcall(rn->sb, 2, 0, ignored, sizeof(ignored));
}

/* What a step's end means for the run. */
static void step_outcome(run *rn, const pb_step *st, const char *status, const char *err)
{
	const char *budget = sandbox_budget_hit(rn->sb);
	if (strcmp(status, "ok") == 0)
		rn->ok++;
	else if (strcmp(status, "skipped") == 0)
		rn->skipped++;
	else
		rn->failed++;
	if (rn->skip) {
		rn->stop = 1;
	} else if (budget) {
		rn->stop = 1;
		rn->outcome = OUTCOME_FAILED;
		snprintf(rn->reason, sizeof(rn->reason), "budget exceeded: %s (in step %s)", budget,
			 st->name);
	} else if (strcmp(status, "failed") == 0 && st->critical) {
		rn->stop = 1;
		rn->outcome = OUTCOME_FAILED;
		snprintf(rn->reason, sizeof(rn->reason), "critical step %s failed: %.400s", st->name,
			 err);
	}
}

static void one_step(run *rn, const step_frame *f, size_t i)
{
	const pb_step *st = &f->def.steps[i];
	char err[2048] = "";
	double t = mono_now();
	rn->step = st->name;
	free_saves(rn);
	const char *status = exec_step(rn, f, i, err, sizeof(err));
	if (rn->skip) {
		status = "skipped";
		snprintf(err, sizeof(err), "%s", rn->reason);
	}
	journal_step(rn, st, i, status, err, (mono_now() - t) * 1000);
	char *nl = strchr(err, '\n');
	if (nl)
		*nl = '\0';
	summary(rn->r, "  %-8s %s%s%s\n", status, st->name, err[0] ? ": " : "", err);
	step_outcome(rn, st, status, err);
	note(rn, f, st->name, status, err);
	free_saves(rn);
	rn->step = NULL;
}

static void run_steps(run *rn, step_frame *f)
{
	for (size_t i = 0; i < f->def.nsteps; i++) {
		if (rn->stop) {
			rn->not_run++;
			continue;
		}
		one_step(rn, f, i);
	}
}

/* ---- one finding ---- */

static void fail_run(run *rn, const char *what, const char *err)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", err);
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	rn->outcome = OUTCOME_FAILED;
	snprintf(rn->reason, sizeof(rn->reason), "%s: %.480s", what, msg);
}

static void resolve_limits(const runner *r, sandbox_limits *lim)
{
	sandbox_default_limits(lim);
	if (r->o.limits.memory_bytes)
		lim->memory_bytes = r->o.limits.memory_bytes;
	if (r->o.limits.instructions)
		lim->instructions = r->o.limits.instructions;
	if (r->o.limits.wall_seconds > 0)
		lim->wall_seconds = r->o.limits.wall_seconds;
	if (r->o.limits.aws_calls)
		lim->aws_calls = r->o.limits.aws_calls;
}

/* Loads the routed playbook in the run's sandbox and runs its steps. */
static void load_and_run(run *rn)
{
	lua_State *L = sandbox_lua(rn->sb);
	step_frame f;
	char err[1024];
	int top = lua_gettop(L);
	memset(&f, 0, sizeof(f));
	if (sandbox_load_playbook(rn->sb, rn->pb->file, err, sizeof(err)) != SANDBOX_OK) {
		fail_run(rn, "the playbook does not load", err);
		goto out;
	}
	if (lua_gettop(L) <= top) {
		fail_run(rn, "the playbook", "returned nothing");
		goto out;
	}
	if (playbook_inspect(L, top + 1, rn->pb->file, NULL, &f.def, NULL, NULL) != 1) {
		fail_run(rn, "the playbook", "is no longer a valid playbook");
		goto out;
	}
	lua_pushcfunction(L, build_ctx);
	lua_pushlightuserdata(L, rn);
	lua_pushvalue(L, top + 1);
	if (sandbox_pcall(rn->sb, 2, 2, err, sizeof(err)) != SANDBOX_OK) {
		fail_run(rn, "building ctx", err);
		goto out;
	}
	f.ctx = lua_gettop(L) - 1;
	f.steps = lua_gettop(L);
	run_steps(rn, &f);
out:
	playbook_def_free(&f.def);
	lua_settop(L, top);
}

static void execute(run *rn)
{
	runner *r = rn->r;
	sandbox_limits lim;
	sandbox_host host = {host_call, host_log, rn};
	sandbox_async async = {host_start, host_wait, host_cancel, host_concurrent};
	char err[512];
	resolve_limits(r, &lim);
	if (r->o.deadline > 0) {
		lim.wall_seconds = r->o.deadline - mono_now();
		if (lim.wall_seconds <= 0.05) {
			fail_run(rn, "deadline", "no time left to run the playbook");
			return;
		}
	}
	rn->sb = sandbox_new(&lim, &host, r->dir, err, sizeof(err));
	if (!rn->sb) {
		fail_run(rn, "sandbox", err);
		return;
	}
	sandbox_set_chunks(rn->sb, r->chunks);
	sandbox_set_async(rn->sb, &async);
	if (r->o.client) {
		aws_client_set_region(r->o.client, rn->region);
		aws_client_set_deadline(r->o.client, sandbox_deadline(rn->sb));
	}
	r->cur = rn;
	load_and_run(rn);
	r->cur = NULL;
	if (r->o.client)
		aws_client_set_deadline(r->o.client, 0);
	sandbox_free(rn->sb);
	rn->sb = NULL;
	ordered_free(&rn->held); /* empty unless the run stopped inside aws.all */
}

/* Protected, on H: args type, pattern (light userdata C strings). */
static int match_type(lua_State *H)
{
	const char *type = lua_touserdata(H, 1), *pattern = lua_touserdata(H, 2);
	lua_getglobal(H, "string");
	lua_getfield(H, -1, "find");
	lua_pushstring(H, type);
	lua_pushstring(H, pattern);
	lua_call(H, 2, 1);
	lua_pushboolean(H, !lua_isnil(H, -1));
	return 1;
}

static int type_matches(runner *r, const char *type, const char *pattern)
{
	int yes = 0;
	lua_pushcfunction(r->H, match_type);
	lua_pushlightuserdata(r->H, (void *)type);
	lua_pushlightuserdata(r->H, (void *)pattern);
	if (lua_pcall(r->H, 2, 1, 0) == LUA_OK)
		yes = lua_toboolean(r->H, -1);
	lua_pop(r->H, 1);
	return yes;
}

/* The first matching handles entry over all playbooks; entries with a
 * finding_type pattern are tried before those without. *entry gets it. */
static const playbook_def *route(runner *r, const finding_info *fi, const pb_handle **entry)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t p = 0; p < r->cat.n; p++)
			for (size_t h = 0; h < r->cat.pbs[p].nhandles; h++) {
				const pb_handle *e = &r->cat.pbs[p].handles[h];
				if ((e->finding_type != NULL) != (pass == 0))
					continue;
				if (e->resource_type && strcmp(e->resource_type, fi->resource_type) != 0)
					continue;
				if (e->finding_type && !type_matches(r, fi->type, e->finding_type))
					continue;
				*entry = e;
				return &r->cat.pbs[p];
			}
	return NULL;
}

static int guard(const runner *r, const run *rn, char *why, size_t n)
{
	const finding_info *fi = &rn->fi;
	if (fi->sample && !r->o.include_samples)
		snprintf(why, n, "sample finding: GuardDuty generated it as an example");
	else if (fi->archived)
		snprintf(why, n, "archived finding");
	else if (fi->severity < r->o.min_severity)
		snprintf(why, n, "severity %g is below the minimum %g", fi->severity, r->o.min_severity);
	else if (!rn->pb)
		snprintf(why, n, "unsupported resource type %s", fi->resource_type);
	else if (rn->entry->skip)
		snprintf(why, n, "unsupported finding type %s: %s", fi->type, rn->entry->skip);
	else
		return 0;
	return 1;
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

static void journal_start(run *rn)
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

static void journal_end(run *rn)
{
	jw *w = journal_line(rn->r->j, "run_end");
	jw_field_str(w, "outcome", runner_outcome_name(rn->outcome));
	jw_field_str(w, "reason", rn->reason[0] ? rn->reason : NULL);
	jw_key(w, "counts");
	write_counts(w, rn);
	jw_field_num(w, "ms", round((mono_now() - rn->t0) * 10000) / 10);
	journal_emit(rn->r->j);
}

static void result_entry(jw *w, const run *rn)
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

static void final_outcome(run *rn)
{
	if (rn->skip)
		rn->outcome = OUTCOME_SKIPPED;
	else if (rn->outcome == OUTCOME_FAILED)
		return;
	else if (rn->failed)
		rn->outcome = OUTCOME_PARTIAL;
	else
		rn->outcome = rn->r->o.dry_run ? OUTCOME_PLANNED : OUTCOME_CONTAINED;
	if (rn->outcome == OUTCOME_PARTIAL)
		snprintf(rn->reason, sizeof(rn->reason), "%d step%s failed", rn->failed,
			 rn->failed == 1 ? "" : "s");
}

static void summary_head(const run *rn, int total)
{
	const finding_info *fi = &rn->fi;
	summary(rn->r, "finding %s (%d of %d)\n", fi->id, fi->index + 1, total);
	summary(rn->r, "  %s, severity %g, %s%s%s in account %s, %s\n", fi->type, fi->severity,
		fi->resource_type, fi->resource_role[0] ? " " : "", fi->resource_role, fi->account,
		rn->region);
	if (rn->pb)
		summary(rn->r, "  playbook %s (%s, sha256 %.16s)\n", rn->pb->name, rn->pb->file,
			rn->pb->sha256);
}

static void summary_tail(const run *rn)
{
	if (rn->plan.len)
		summary(rn->r, "  plan (writes not sent, in order):\n%s", rn->plan.data);
	else if (rn->r->o.dry_run && rn->outcome != OUTCOME_SKIPPED)
		summary(rn->r, "  plan: no writes\n");
	summary(rn->r, "  outcome: %s%s%s%s\n", runner_outcome_name(rn->outcome),
		rn->reason[0] ? " (" : "", rn->reason, rn->reason[0] ? ")" : "");
	if (rn->ok + rn->failed + rn->skipped + rn->not_run)
		summary(rn->r, "  steps: %d ok, %d failed, %d skipped, %d not run; %d AWS calls%s\n",
			rn->ok, rn->failed, rn->skipped, rn->not_run, rn->calls,
			rn->r->o.dry_run ? "" : "");
	if (rn->r->o.dry_run && rn->writes)
		summary(rn->r, "  %d write%s planned, none sent\n", rn->writes, rn->writes == 1 ? "" : "s");
}

static runner_outcome run_one(runner *r, int fidx, int index, int total, jw *result)
{
	run rn;
	char why[256];
	memset(&rn, 0, sizeof(rn));
	rn.r = r;
	rn.t0 = mono_now();
	rn.fidx = fidx;
	buf_init(&rn.params, PARAMS_MAX);
	buf_init(&rn.plan, 0);
	finding_info_get(r->H, fidx, index, &rn.fi);
	rn.region = r->region ? r->region : rn.fi.region;
	journal_new_run(r->j);
	rn.pb = route(r, &rn.fi, &rn.entry);
	journal_start(&rn);
	summary_head(&rn, total);
	if (guard(r, &rn, why, sizeof(why))) {
		rn.outcome = OUTCOME_SKIPPED;
		snprintf(rn.reason, sizeof(rn.reason), "%s", why);
	} else {
		execute(&rn);
		final_outcome(&rn);
	}
	journal_end(&rn);
	summary_tail(&rn);
	if (result)
		result_entry(result, &rn);
	free_saves(&rn);
	buf_free(&rn.params);
	buf_free(&rn.plan);
	return rn.outcome;
}

/* ---- documents ---- */

static void journal_input_error(runner *r, const char *err)
{
	journal_new_run(r->j);
	jw *w = journal_line(r->j, "input_error");
	jw_field_str(w, "error", err);
	journal_emit(r->j);
}

int runner_run_document(runner *r, const char *json, size_t len, runner_outcome *worst,
			buf *result, char *err, size_t errlen)
{
	int base = lua_gettop(r->H), rc = -1;
	jw w;
	*worst = OUTCOME_INVALID;
	int n = finding_decode(r->H, json, len, err, errlen);
	if (n < 0) {
		journal_input_error(r, err);
		goto out;
	}
	int list = lua_gettop(r->H);
	if (result) {
		jw_init(&w, result);
		jw_obj(&w);
		jw_key(&w, "findings");
		jw_arr(&w);
	}
	for (int i = 0; i < n; i++) {
		lua_rawgeti(r->H, list, i + 1);
		runner_outcome o = run_one(r, lua_gettop(r->H), i, n, result ? &w : NULL);
		if (i == 0 || outcome_rank(o) > outcome_rank(*worst))
			*worst = o;
		lua_settop(r->H, list);
	}
	if (result) {
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	rc = 0;
out:
	lua_settop(r->H, base);
	lua_gc(r->H, LUA_GCCOLLECT);
	return rc;
}

/* ---- the runner ---- */

typedef struct first_problem {
	const char *dir;
	char msg[400];
	int count;
} first_problem;

static void keep_first(void *ud, const char *file, int line, const char *problem)
{
	first_problem *fp = ud;
	if (fp->count++ == 0)
		snprintf(fp->msg, sizeof(fp->msg), "%s/%s: %s", fp->dir, file, problem);
}

static int region_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int copy_options(runner *r, const runner_options *o, char *err, size_t errlen)
{
	r->o = *o;
	r->dir = strdup(o->playbook_dir && *o->playbook_dir ? o->playbook_dir : "playbooks");
	if (o->region && *o->region) {
		if (!region_ok(o->region)) {
			snprintf(err, errlen, "region \"%.64s\" is not a region name", o->region);
			return -1;
		}
		r->region = strdup(o->region);
	}
	for (size_t i = 0; i < NENV; i++) {
		const char *v = getenv(ENV_NAMES[i]);
		if (v && *v && !(r->env[i] = strdup(v)))
			goto oom;
	}
	if (!r->dir || (o->region && *o->region && !r->region))
		goto oom;
	r->o.playbook_dir = r->dir;
	r->o.region = r->region;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Loads the catalog in a sandbox whose calls are refused. */
static int load_catalog(runner *r, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {refuse_call, quiet_log, NULL};
	first_problem fp = {r->dir, "", 0};
	resolve_limits(r, &lim);
	sandbox *sb = sandbox_new(&lim, &host, r->dir, err, errlen);
	if (!sb)
		return -1;
	sandbox_set_chunks(sb, r->chunks);
	int problems = catalog_load(&r->cat, sb, r->H, r->dir, keep_first, &fp, err, errlen);
	sandbox_free(sb);
	if (problems < 0)
		return -1;
	if (problems > 0) {
		snprintf(err, errlen, "%s%s", fp.msg,
			 problems > 1 ? " (and more: run deadbolt check)" : "");
		return -1;
	}
	return 0;
}

runner *runner_new(const runner_options *o, char *err, size_t errlen)
{
	runner *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (copy_options(r, o, err, errlen) != 0)
		goto fail;
	r->H = finding_state_new(0);
	r->j = journal_new(o->journal);
	r->chunks = sandbox_chunks_new();
	if (!r->H || !r->j || !r->chunks) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (load_catalog(r, err, errlen) != 0)
		goto fail;
	if (r->o.client)
		aws_client_set_observer(r->o.client, observe, r);
	return r;
fail:
	runner_free(r);
	return NULL;
}

void runner_set_run(runner *r, double deadline, FILE *journal_file)
{
	r->o.deadline = deadline;
	r->o.journal = journal_file;
	journal_set_file(r->j, journal_file);
}

void runner_free(runner *r)
{
	if (!r)
		return;
	if (r->o.client)
		aws_client_set_observer(r->o.client, NULL, NULL);
	catalog_free(&r->cat);
	sandbox_chunks_free(r->chunks);
	finding_state_free(r->H);
	journal_free(r->j);
	for (size_t i = 0; i < NENV; i++)
		free(r->env[i]);
	free(r->dir);
	free(r->region);
	free(r);
}

/* ---- deadbolt check ---- */

typedef struct check_out {
	FILE *out;
	const char *dir;
} check_out;

static void print_problem(void *ud, const char *file, int line, const char *problem)
{
	check_out *c = ud;
	if (strcmp(file, c->dir) == 0)
		fprintf(c->out, "%s: %s\n", file, problem);
	else if (line > 0)
		fprintf(c->out, "%s/%s:%d: %s\n", c->dir, file, line, problem);
	else
		fprintf(c->out, "%s/%s: %s\n", c->dir, file, problem);
}

int runner_check(const char *dir, FILE *out, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_host host = {refuse_call, quiet_log, NULL};
	check_out co = {out, dir};
	catalog cat;
	int problems = -1;
	lua_State *H = finding_state_new(0);
	sandbox *sb = NULL;
	if (!H) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	sandbox_default_limits(&lim);
	if ((sb = sandbox_new(&lim, &host, dir, err, errlen)) == NULL)
		goto out;
	problems = catalog_load(&cat, sb, H, dir, print_problem, &co, err, errlen);
	if (problems < 0)
		goto out;
	int scanned = catalog_scan_dir(dir, print_problem, &co, err, errlen);
	problems = scanned < 0 ? -1 : problems + scanned;
	if (problems == 0)
		fprintf(out, "%s: %zu playbook%s, %zu module%s: no problems\n", dir, cat.n,
			cat.n == 1 ? "" : "s", cat.modules, cat.modules == 1 ? "" : "s");
	catalog_free(&cat);
out:
	sandbox_free(sb);
	finding_state_free(H);
	return problems;
}
