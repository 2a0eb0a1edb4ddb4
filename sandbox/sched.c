/* sched — calls that overlap: aws.all and aws.each run their functions as
 * coroutines in one thread, and a primitive called in one of them starts
 * its request (sandbox_async.start) and yields; the scheduler drives the
 * requests (sandbox_async.wait) and resumes each coroutine with its answer.
 *
 *   aws.all { f1, f2, ... }   runs f1, f2, ... together; returns when all
 *                             are done: results, results[i] the first value
 *                             fi returned. If any raised, raises one error
 *                             after all are done (see below).
 *   aws.each(list, fn)        aws.all of fn(list[1]), fn(list[2]), ...
 *   aws.first(fn)             fn, marked first: run as a function of aws.all
 *                             (or called inside one), its calls, and those
 *                             of the aws.all it nests, start before any
 *                             other call waiting for a slot of its service
 *                             (a critical chain before what runs beside it);
 *                             elsewhere, fn itself
 *   aws.wait(s, every, check) a bounded wait (sandbox_lib.c, beside sleep)
 *
 * The aggregated error is a table { message, errors, results, failed,
 * total }: errors[i] is what fi raised (an AWS error table, a string...),
 * results[i] what the others returned, message reads "aws.all: 2 of 5
 * failed: [2] code: message (op); [4] ...", and tostring gives message.
 *
 * Everything else stays in order: a function runs until it makes a call,
 * and the others run only while it waits. The functions marked first are
 * resumed before the others that are ready (so their next call is asked
 * for first), and the host is told so for each of their calls
 * (sandbox_call_first); order keys, budgets and the sequential run of a
 * dry run do not change. Without an async host (a dry
 * run, `deadbolt check`), nothing waits: the functions run one after the
 * other, depth first, exactly as a sequential run.
 *
 * Inside an aws.all function, an aws.all nests (its functions join the
 * same scheduler). A primitive called where a yield cannot cross (a
 * coroutine of the playbook's own, a sort comparator, a metamethod called
 * from C) is sent synchronously through sandbox_host.call, which holds the
 * others for that call. A bare coroutine.yield in an aws.all function (not
 * inside a coroutine of its own) fails that function; only the scheduler
 * resumes or closes a function's coroutine (coroutine.resume and close
 * refuse it), so no answer can be forged.
 *
 * Budgets: every coroutine inherits the instruction hook and counts into
 * the same sandbox totals; the wait for answers stops at the wall-clock
 * deadline; a budget error or out of memory in any function stops all of
 * them (the calls in flight are cancelled) and is raised from the
 * outermost aws.all, never collected as an error value.
 *
 * Order: each function of an aws.all has a place in a sequential run
 * (sandbox_order_key): function i of an aws.all run by place P at its
 * event s is "P.s.i", its events "P.s.i.1", "P.s.i.2" ... (8 hex digits
 * each). The host keeps back what it journals inside the outermost aws.all
 * (sandbox_async.concurrent) and writes it sorted by these keys, which is
 * the order a sequential run would have produced.
 *
 * Memory: groups and tasks are userdata (under the memory cap), each
 * group anchored by a registry reference to its table (its coroutines,
 * results and errors) until it has been returned. The only resources
 * outside Lua are the host's calls in flight, listed in the groups and
 * cancelled on every exit path. */
#include "sandbox_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#define SCHED_MAX_TASKS 1000 /* functions in one aws.all, items in one aws.each */
#define SCHED_MAX_DEPTH 4    /* aws.all inside aws.all inside ... */
#define ALL_ERROR_KEY "deadbolt.all_error"
#define MESSAGE_MAX 2048
#define ONE_ERROR_MAX 400

typedef struct sched_group sched_group;
typedef struct sched_task sched_task;

struct sched_task {
	lua_State *co;
	sched_group *group;
	int index;                /* 1-based, in its group */
	char key[SANDBOX_ORDER_MAX - 24];
	unsigned seq;             /* its events so far */
	void *pending;            /* the host call it waits for */
	sched_group *child;       /* the nested aws.all it waits for */
	const allow_entry *entry; /* of the pending call */
	int first;                /* aws.first: its calls before the others' */
	sandbox_finish_fn finish;
	int params;               /* its parameters' index on co */
	int rc;                   /* of the pending call, when resumed */
	aws_error err;
	int nargs;                /* values on co to resume it with */
	sched_task *next_ready;
};

struct sched_group {
	sched_task *tasks;
	int n, left, failed, depth;
	int ref;             /* registry: { threads..., group =, results =, errors = } */
	sched_task *parent;  /* NULL: the outermost */
	sched_group *next;   /* the run's groups not yet returned */
};

typedef struct sched_run {
	sched_task *current; /* the task running now */
	sched_task *ready, *ready_tail;             /* the queue of the others */
	sched_task *ready_first, *ready_first_tail; /* of tasks marked first (not sequential) */
	sched_group *groups;
	int done;            /* the outermost group is complete */
	int sequential;      /* no async host: depth first, as a sequential run */
} sched_run;

static char yield_sentinel; /* what our yields carry */

/* ---- order keys ---- */

const char *sandbox_order_key(sandbox *sb, char *out, size_t outlen)
{
	sched_task *t = sb->sched ? sb->sched->current : NULL;
	if (!t || outlen < SANDBOX_ORDER_MAX)
		return NULL;
	int n = snprintf(out, outlen, "%s.%08x", t->key, ++t->seq);
	return n > 0 && (size_t)n < outlen ? out : NULL;
}

/* ---- the ready queues: first in, first out; the tasks marked first
 * before the others, except in a sequential run ---- */

static void make_ready(sched_run *run, sched_task *t, int nargs)
{
	int first = t->first && !run->sequential;
	sched_task **head = first ? &run->ready_first : &run->ready;
	sched_task **tail = first ? &run->ready_first_tail : &run->ready_tail;
	t->nargs = nargs;
	t->next_ready = NULL;
	if (*tail)
		(*tail)->next_ready = t;
	else
		*head = t;
	*tail = t;
}

/* Sequential runs: a nested group's functions, and then its caller, run
 * before anything already queued. */
static void make_ready_first(sched_run *run, sched_task *t, int nargs)
{
	t->nargs = nargs;
	t->next_ready = run->ready;
	run->ready = t;
	if (!run->ready_tail)
		run->ready_tail = t;
}

static sched_task *take_from(sched_task **head, sched_task **tail)
{
	sched_task *t = *head;
	if (t) {
		*head = t->next_ready;
		if (!*head)
			*tail = NULL;
	}
	return t;
}

static sched_task *take_ready(sched_run *run)
{
	sched_task *t = take_from(&run->ready_first, &run->ready_first_tail);
	return t ? t : take_from(&run->ready, &run->ready_tail);
}

/* ---- groups ---- */

static void check_functions(lua_State *L, int idx, int n)
{
	for (int i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TFUNCTION)
			luaL_error(L, "aws.all: item %d is a %s, not a function", i, luaL_typename(L, -1));
		lua_pop(L, 1);
	}
}

/* 8 + 18 a level: SCHED_MAX_DEPTH levels always fit. */
static void task_key(sched_task *t, const sched_task *parent, unsigned at)
{
	int n;
	if (parent)
		n = snprintf(t->key, sizeof(t->key), "%s.%08x.%08x", parent->key, at, (unsigned)t->index);
	else
		n = snprintf(t->key, sizeof(t->key), "%08x", (unsigned)t->index);
	if (n < 0 || (size_t)n >= sizeof(t->key))
		t->key[0] = '\0'; /* cannot happen within SCHED_MAX_DEPTH */
}

static int first_call(lua_State *L);

/* Puts task i's function (and item) on its coroutine. fn: the function of
 * aws.each, or 0 (aws.all: the i-th of the table at fns). A function made
 * by aws.first marks its task first from the start. */
static void load_task(lua_State *L, sched_task *t, int fns, int fn, int list)
{
	if (fn)
		lua_pushvalue(L, fn);
	else
		lua_rawgeti(L, fns, t->index);
	if (lua_tocfunction(L, -1) == first_call)
		t->first = 1;
	lua_xmove(L, t->co, 1);
	if (list) {
		lua_rawgeti(L, list, t->index);
		lua_xmove(L, t->co, 1);
	}
}

/* A group of n tasks, anchored in the registry, every task ready. fns: the
 * table of functions (aws.all); or fn and list (aws.each). */
static sched_group *new_group(lua_State *L, sched_run *run, int fns, int fn, int list, int n,
			      sched_task *parent)
{
	sched_group *g = lua_newuserdatauv(L, sizeof(*g) + (size_t)n * sizeof(sched_task), 0);
	memset(g, 0, sizeof(*g) + (size_t)n * sizeof(sched_task));
	g->tasks = (sched_task *)(g + 1);
	g->n = g->left = n;
	g->parent = parent;
	g->depth = parent ? parent->group->depth + 1 : 1;
	lua_createtable(L, n, 3); /* stack: group, anchor */
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "group");
	lua_newtable(L);
	lua_setfield(L, -2, "results");
	lua_newtable(L);
	lua_setfield(L, -2, "errors");
	unsigned at = parent ? ++parent->seq : 0;
	for (int i = 0; i < n; i++) {
		sched_task *t = &g->tasks[i];
		t->group = g;
		t->index = i + 1;
		t->first = parent && parent->first; /* the chain's nested calls are the chain's */
		task_key(t, parent, at);
		t->co = lua_newthread(L);
		lua_rawseti(L, -2, i + 1);
		load_task(L, t, fns, fn, list);
	}
	g->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	g->next = run->groups;
	run->groups = g;
	if (run->sequential && parent) {
		for (int i = n - 1; i >= 0; i--)
			make_ready_first(run, &g->tasks[i], list ? 1 : 0);
	} else {
		for (int i = 0; i < n; i++)
			make_ready(run, &g->tasks[i], list ? 1 : 0);
	}
	return g;
}

static void drop_group(lua_State *L, sched_run *run, sched_group *g)
{
	for (sched_group **p = &run->groups; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	luaL_unref(L, LUA_REGISTRYINDEX, g->ref);
	g->ref = LUA_NOREF;
}

/* Appends "[i] text; " for every error of the group to out. */
static void describe_errors(lua_State *L, const sched_group *g, int errors, char *out, size_t len)
{
	size_t used = strlen(out);
	for (int i = 1; i <= g->n && used + 8 < len; i++) {
		char one[ONE_ERROR_MAX];
		if (lua_rawgeti(L, errors, i) != LUA_TNIL) {
			sandbox_error_text(L, -1, one, sizeof(one));
			snprintf(out + used, len - used, "%s[%d] %s", used && out[used - 1] != ' ' ? "; " : "", i, one);
			used = strlen(out);
		}
		lua_pop(L, 1);
	}
}

/* Pushes the aggregated error of group g (anchor at idx). */
static void push_all_error(lua_State *L, const sched_group *g, int anchor)
{
	char msg[MESSAGE_MAX];
	snprintf(msg, sizeof(msg), "aws.all: %d of %d failed: ", g->failed, g->n);
	lua_createtable(L, 0, 5);
	lua_getfield(L, anchor, "errors");
	describe_errors(L, g, lua_gettop(L), msg, sizeof(msg));
	lua_setfield(L, -2, "errors");
	lua_getfield(L, anchor, "results");
	lua_setfield(L, -2, "results");
	lua_pushinteger(L, g->failed);
	lua_setfield(L, -2, "failed");
	lua_pushinteger(L, g->n);
	lua_setfield(L, -2, "total");
	lua_pushstring(L, msg);
	lua_setfield(L, -2, "message");
	lua_getfield(L, LUA_REGISTRYINDEX, ALL_ERROR_KEY);
	lua_setmetatable(L, -2);
}

/* What a complete group gives back: pushes its results and returns 1, or
 * pushes its aggregated error and returns 0. The group is released. */
static int push_group_result(lua_State *L, sched_run *run, sched_group *g)
{
	int failed = g->failed;
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref); /* stack: anchor */
	if (failed)
		push_all_error(L, g, lua_gettop(L));
	else
		lua_getfield(L, -1, "results");
	lua_remove(L, -2);
	drop_group(L, run, g);
	return !failed;
}

/* ---- running tasks ---- */

/* Records the value on top of L as task t's result or error (popped). */
static void task_done(lua_State *L, sched_run *run, sched_task *t, int failed)
{
	sched_group *g = t->group;
	lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref);
	lua_getfield(L, -1, failed ? "errors" : "results");
	lua_pushvalue(L, -3);
	lua_rawseti(L, -2, t->index);
	lua_pop(L, 3);
	g->failed += failed;
	if (--g->left > 0)
		return;
	if (g->parent && run->sequential)
		make_ready_first(run, g->parent, 0);
	else if (g->parent)
		make_ready(run, g->parent, 0);
	else
		run->done = 1;
}

static void task_ended(lua_State *L, sched_run *run, sched_task *t, int status, int nres)
{
	lua_State *co = t->co;
	if (status == LUA_OK) {
		if (nres > 0)
			lua_pushvalue(co, -nres);
		else
			lua_pushnil(co);
		lua_xmove(co, L, 1);
		lua_settop(co, 0);
		task_done(L, run, t, 0);
		return;
	}
	lua_xmove(co, L, 1); /* the error value */
	lua_resetthread(co); /* its pending __close handlers */
	sandbox_check_budget(L);
	task_done(L, run, t, 1);
}

static void resume_task(lua_State *L, sched_run *run, sched_task *t)
{
	int nres = 0, status;
	run->current = t;
	status = lua_resume(t->co, L, t->nargs, &nres);
	run->current = NULL;
	sandbox_after_status(L, status); /* a budget or out of memory: raises */
	if (status != LUA_YIELD) {
		task_ended(L, run, t, status, nres);
		return;
	}
	int ours = nres == 1 && lua_touserdata(t->co, -1) == &yield_sentinel && (t->pending || t->child);
	lua_pop(t->co, nres);
	if (ours)
		return;
	lua_resetthread(t->co);
	lua_pushliteral(L, "coroutine.yield in a function of aws.all (yield only inside a "
			   "coroutine of its own)");
	task_done(L, run, t, 1);
}

static sched_task *task_waiting_for(sched_run *run, void *pending)
{
	for (sched_group *g = run->groups; g; g = g->next)
		for (int i = 0; i < g->n; i++)
			if (g->tasks[i].pending == pending)
				return &g->tasks[i];
	return NULL;
}

/* Waits for one call's answer and makes its task ready. */
static void wait_one(lua_State *L, sandbox *sb, sched_run *run)
{
	void *done = NULL;
	aws_error err;
	aws_error_clear(&err);
	if (!sb->async.wait)
		luaL_error(L, "aws.all: nothing left to run and no call to wait for");
	int rc = sb->async.wait(sb->host.ud, L, sb->deadline, &done, &err);
	if (rc > 0)
		sandbox_raise_budget(L, "wall clock");
	sched_task *t = done ? task_waiting_for(run, done) : NULL;
	if (!t) {
		if (rc == 0)
			lua_pop(L, 1);
		luaL_error(L, "aws.all: an answer for no waiting function");
	}
	t->pending = NULL;
	t->rc = rc;
	t->err = err;
	if (rc == 0) {
		if (!lua_checkstack(t->co, 2))
			luaL_error(L, "aws.all: out of stack");
		lua_xmove(L, t->co, 1);
	}
	make_ready(run, t, rc == 0 ? 1 : 0);
}

/* Protected: args run (light userdata), fns, fn, list (nil when absent),
 * n. Builds the outermost group and runs until it is complete; returns its
 * results or raises its error. */
static int run_outer(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	sched_run *run = lua_touserdata(L, 1);
	int fn = lua_isnil(L, 3) ? 0 : 3, list = lua_isnil(L, 4) ? 0 : 4;
	sched_group *g = new_group(L, run, 2, fn, list, (int)lua_tointeger(L, 5), NULL);
	while (!run->done) {
		sched_task *t = take_ready(run);
		if (t)
			resume_task(L, run, t);
		else
			wait_one(L, sb, run);
	}
	if (!push_group_result(L, run, g))
		return lua_error(L);
	return 1;
}

/* Cancels the calls still in flight and releases the groups. */
static void clean_up(lua_State *L, sandbox *sb, sched_run *run)
{
	while (run->groups) {
		sched_group *g = run->groups;
		for (int i = 0; i < g->n; i++)
			if (g->tasks[i].pending && sb->async.cancel)
				sb->async.cancel(sb->host.ud, g->tasks[i].pending);
		drop_group(L, run, g);
	}
}

/* ---- aws.all and aws.each ---- */

/* The outermost aws.all: the group is built and run under a protected call,
 * so that whatever ends it (an error, a budget) first cancels the calls in
 * flight. Stack: fns, fn, list (0: absent). */
static int all_outer(lua_State *L, int fns, int fn, int list, int n)
{
	sandbox *sb = sandbox_of(L);
	sched_run run;
	memset(&run, 0, sizeof(run));
	run.sequential = !sb->async.start;
	luaL_checkstack(L, 6, "aws.all");
	lua_pushcfunction(L, run_outer);
	lua_pushlightuserdata(L, &run);
	lua_pushvalue(L, fns);
	if (fn)
		lua_pushvalue(L, fn);
	else
		lua_pushnil(L);
	if (list)
		lua_pushvalue(L, list);
	else
		lua_pushnil(L);
	lua_pushinteger(L, n);
	/* nothing below raises until the protected call returns */
	sb->sched = &run;
	if (sb->async.concurrent)
		sb->async.concurrent(sb->host.ud, 1);
	int status = lua_pcall(L, 5, 1, 0);
	clean_up(L, sb, &run);
	sb->sched = NULL;
	if (sb->async.concurrent)
		sb->async.concurrent(sb->host.ud, 0);
	sandbox_after_status(L, status);
	if (status != LUA_OK)
		return lua_error(L);
	return 1;
}

/* The continuation of a nested aws.all: its group is complete. */
static int all_k(lua_State *L, int status, lua_KContext ctx)
{
	sandbox *sb = sandbox_of(L);
	sched_group *g = (sched_group *)ctx;
	(void)status;
	sandbox_check_budget(L);
	if (!sb->sched || !sb->sched->current || sb->sched->current->co != L || g->left > 0)
		return luaL_error(L, "aws.all: a function resumed out of turn");
	if (g->parent)
		g->parent->child = NULL;
	if (!push_group_result(L, sb->sched, g))
		return lua_error(L);
	return 1;
}

/* The running task when L is its own coroutine and can yield, else NULL. */
static sched_task *yieldable_task(lua_State *L)
{
	sched_run *run = sandbox_of(L)->sched;
	sched_task *t = run ? run->current : NULL;
	return t && t->co == L && lua_isyieldable(L) ? t : NULL;
}

/* aws.all inside a function of aws.all: its functions join the scheduler,
 * and this one waits for them. */
static int all_nested(lua_State *L, int fns, int fn, int list, int n)
{
	sandbox *sb = sandbox_of(L);
	sched_task *t = yieldable_task(L);
	if (!t)
		return luaL_error(L, "aws.all cannot run here: inside aws.all, call it from the function "
				  "itself, not from a coroutine, a metamethod or a sort comparator");
	if (t->group->depth >= SCHED_MAX_DEPTH)
		return luaL_error(L, "aws.all: nested more than %d deep", SCHED_MAX_DEPTH);
	sched_group *g = new_group(L, sb->sched, fns, fn, list, n, t);
	t->child = g;
	lua_pushlightuserdata(L, &yield_sentinel);
	return lua_yieldk(L, 1, (lua_KContext)g, all_k);
}

static int start_all(lua_State *L, int fns, int fn, int list, int n)
{
	sandbox *sb = sandbox_of(L);
	sandbox_check_budget(L);
	if (n == 0) {
		lua_newtable(L);
		return 1;
	}
	return sb->sched ? all_nested(L, fns, fn, list, n) : all_outer(L, fns, fn, list, n);
}

/* aws.all { f1, f2, ... } */
static int aws_all(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_Unsigned n = lua_rawlen(L, 1);
	luaL_argcheck(L, n <= SCHED_MAX_TASKS, 1, "at most 1000 functions");
	check_functions(L, 1, (int)n);
	return start_all(L, 1, 0, 0, (int)n);
}

/* aws.each(list, fn) */
static int aws_each(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_settop(L, 2);
	lua_Unsigned n = lua_rawlen(L, 1);
	luaL_argcheck(L, n <= SCHED_MAX_TASKS, 1, "at most 1000 items");
	return start_all(L, 1, 2, 1, (int)n);
}

/* ---- aws.first ---- */

/* The task running now when L is its coroutine, else NULL. */
static sched_task *running_task(lua_State *L)
{
	sched_run *run = sandbox_of(L)->sched;
	sched_task *t = run ? run->current : NULL;
	return t && t->co == L ? t : NULL;
}

/* After fn: a task this call marked is unmarked, and an error goes on (a
 * budget's as a budget's). The results are all on the stack. */
static int first_done(lua_State *L, int status, lua_KContext marked)
{
	sched_task *t = marked ? running_task(L) : NULL;
	if (t)
		t->first = 0;
	if (status != LUA_OK && status != LUA_YIELD) {
		sandbox_after_status(L, status);
		return lua_error(L);
	}
	return lua_gettop(L);
}

static int first_plain(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	return lua_gettop(L);
}

/* What aws.first returns: its upvalue fn, called with the arguments. In a
 * function of aws.all not yet marked, the function is marked first while
 * fn runs (yields go through, as anywhere in that function); elsewhere
 * fn is called as is, so an error keeps its traceback. */
static int first_call(lua_State *L)
{
	sched_task *t = running_task(L);
	int n = lua_gettop(L), marked = t && !t->first;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	if (!marked) {
		lua_callk(L, n, LUA_MULTRET, 0, first_plain);
		return lua_gettop(L);
	}
	t->first = 1;
	return first_done(L, lua_pcallk(L, n, LUA_MULTRET, 0, 1, first_done), 1);
}

/* aws.first(fn) */
static int aws_first(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_pushcclosure(L, first_call, 1);
	return 1;
}

int sandbox_call_first(const sandbox *sb)
{
	const sched_task *t = sb->sched ? sb->sched->current : NULL;
	return t && t->first;
}

/* The task whose coroutine L is, or NULL. */
static sched_task *task_of(sched_run *run, lua_State *L)
{
	for (sched_group *g = run ? run->groups : NULL; g; g = g->next)
		for (int i = 0; i < g->n; i++)
			if (g->tasks[i].co == L)
				return &g->tasks[i];
	return NULL;
}

int sandbox_sched_is_task(lua_State *L, lua_State *co)
{
	return task_of(sandbox_of(L)->sched, co) != NULL;
}

/* ---- a primitive inside aws.all ---- */

static int call_k(lua_State *L, int status, lua_KContext ctx)
{
	sched_run *run = sandbox_of(L)->sched;
	sched_task *t = run ? run->current : NULL;
	(void)status;
	(void)ctx;
	if (!t || t->co != L || !t->finish) /* only the scheduler resumes a task */
		return luaL_error(L, "aws.all: a function resumed out of turn");
	sandbox_finish_fn finish = t->finish;
	t->finish = NULL;
	/* the result, when rc is 0, was passed by the resume: on top */
	return finish(L, t->entry, t->params, t->rc, &t->err);
}

int sandbox_sched_call(lua_State *L, const allow_entry *e, int params, sandbox_finish_fn finish)
{
	sandbox *sb = sandbox_of(L);
	sched_task *t = yieldable_task(L);
	char key[SANDBOX_ORDER_MAX];
	void *pending = NULL;
	aws_error err;
	if (!t || !sb->async.start)
		return -1;
	aws_error_clear(&err);
	sandbox_order_key(sb, key, sizeof(key));
	if (sb->async.start(sb->host.ud, L, e, params, key, &err, &pending) != 0)
		return finish(L, e, params, -1, &err);
	if (!pending)
		return finish(L, e, params, 0, &err); /* answered at once: result on top */
	t->pending = pending;
	t->entry = e;
	t->params = params;
	t->finish = finish;
	lua_pushlightuserdata(L, &yield_sentinel);
	return lua_yieldk(L, 1, 0, call_k);
}

/* ---- the aggregated error, and the global ---- */

int sandbox_is_all_error(lua_State *L, int idx)
{
	int ours;
	if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
		return 0;
	lua_getfield(L, LUA_REGISTRYINDEX, ALL_ERROR_KEY);
	ours = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return ours;
}

static int all_error_tostring(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushliteral(L, "message");
	if (lua_rawget(L, 1) != LUA_TSTRING)
		lua_pushliteral(L, "aws.all: some functions failed");
	return 1;
}

void sandbox_open_sched(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"all", aws_all},
		{"each", aws_each},
		{"first", aws_first},
		{"wait", sandbox_aws_wait},
		{"cached", sandbox_prim_cached},
		{NULL, NULL},
	};
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, all_error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setfield(L, LUA_REGISTRYINDEX, ALL_ERROR_KEY);
	luaL_newlib(L, fns);
	sandbox_readonly(L, -1);
	lua_setglobal(L, "aws");
}
