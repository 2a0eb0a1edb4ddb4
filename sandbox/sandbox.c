/* sandbox — one restricted lua_State per finding, and its budgets.
 *
 * Memory: the allocator (alloc.c) refuses any growth past the cap before
 * calling malloc; Lua turns the refusal into LUA_ERRMEM, which counts as the
 * "memory" budget wherever a protected call or a resume sees it.
 * Instructions: a hook every 1000 VM instructions and on every function
 * call (charged as CALL_COST); C loops whose length a script controls
 * (pattern matching, table.move, ...) charge their steps through
 * sandbox_charge; C functions that allocate are charged by the bytes they
 * ask the allocator for (alloc.c), load by the bytes it reads. A floor
 * catches the rest (a string comparison or a conversion that the VM does in
 * C in one instruction, a library call we did not wrap): at least one unit
 * is charged per CPU_NS_PER_UNIT of the thread's CPU time, so any loop of
 * uncharged work ends by the instruction budget after about
 * instructions * CPU_NS_PER_UNIT of CPU (2 s by default). Waiting on the
 * network or in sleep() uses no CPU and is not charged. Wall clock: read
 * every 1000 charged units and at every tick of the coarse clock, and by
 * sleep.
 *
 * A budget error is a light userdata sentinel raised after budget_hit is
 * set. The pcall, xpcall and coroutine wrappers look at budget_hit, not at
 * the error value, and raise again, so a script cannot swallow it; the
 * hook keeps raising on every event once it is set, so __close handlers and
 * message handlers stop at their next call or 1000 instructions. Finalizers
 * (which Lua runs with hooks off) cannot be written by a script:
 * setmetatable refuses __gc (sandbox_lib.c).
 *
 * Residual: one C library call runs to its end before the hook sees it;
 * the ones a script can make long are charged or bounded by the memory cap
 * (a sort or a compile of tens of MiB takes about a second). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sandbox_int.h"

#include <lauxlib.h>
#include <lualib.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define HOOK_EVERY 1000    /* VM instructions between two count hooks */
#define CLOCK_EVERY 1000   /* charged units between two wall clock reads */
#define CALL_COST 10       /* a call is charged as this many instructions */
/* The floor: CPU nanoseconds a charged unit may take; ten times more under
 * AddressSanitizer, which makes everything that much slower. */
#if defined(__SANITIZE_ADDRESS__)
#define CPU_NS_PER_UNIT 100
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CPU_NS_PER_UNIT 100
#endif
#endif
#ifndef CPU_NS_PER_UNIT
#define CPU_NS_PER_UNIT 10
#endif
#define CPU_SYNC_SECONDS 0.001 /* wall time between two reads of the CPU clock */

static char budget_sentinel; /* its address is the budget error value */
const char sandbox_aws_error_key[] = "deadbolt.aws_error";

void sandbox_default_limits(sandbox_limits *l)
{
	l->memory_bytes = (size_t)64 << 20;
	l->instructions = 200000000u;
	l->wall_seconds = 120;
	l->aws_calls = 500;
}

double sandbox_now(void)
{
	return clock_mono();
}

static double thread_cpu(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sandbox *sandbox_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* ---- budgets ---- */

int sandbox_raise_budget(lua_State *L, const char *which)
{
	sandbox *sb = sandbox_of(L);
	if (!sb->budget_hit)
		sb->budget_hit = which;
	lua_pushlightuserdata(L, &budget_sentinel);
	return lua_error(L);
}

void sandbox_check_budget(lua_State *L)
{
	if (sandbox_of(L)->budget_hit)
		sandbox_raise_budget(L, NULL);
}

/* Adds n to the count, saturating at the limit. */
static void add_units(sandbox *sb, uint64_t n)
{
	sb->instructions = n > sb->lim.instructions - sb->instructions ? sb->lim.instructions
								  : sb->instructions + n;
}

/* At most once per CPU_SYNC_SECONDS of wall time: charges what the CPU
 * time since the last reading costs beyond what was charged meanwhile. */
static void cpu_floor(sandbox *sb, double now)
{
	double cpu;
	uint64_t floor_units, charged;
	if (now - sb->sync_wall < CPU_SYNC_SECONDS)
		return;
	cpu = thread_cpu();
	floor_units = cpu > sb->sync_cpu ? (uint64_t)((cpu - sb->sync_cpu) * 1e9 / CPU_NS_PER_UNIT) : 0;
	charged = sb->instructions - sb->sync_units;
	if (floor_units > charged)
		add_units(sb, floor_units - charged);
	sb->sync_wall = now;
	sb->sync_cpu = cpu;
	sb->sync_units = sb->instructions;
}

/* CLOCK_MONOTONIC_COARSE: a few nanoseconds (no system call), advancing
 * every few milliseconds: read at every charge, so that a loop of few but
 * slow calls is still looked at every tick. */
static double coarse_now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
		return sandbox_now();
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sandbox_charge(lua_State *L, uint64_t n)
{
	sandbox *sb = sandbox_of(L);
	double tick;

	sandbox_check_budget(L);
	add_units(sb, n);
	sb->since_clock += n;
	tick = coarse_now();
	if (sb->since_clock >= CLOCK_EVERY || tick != sb->last_tick) {
		double now = sandbox_now();
		sb->since_clock = 0;
		sb->last_tick = tick;
		cpu_floor(sb, now);
		if (now >= sb->deadline)
			sandbox_raise_budget(L, "wall clock");
	}
	/* also what the allocator charged since the last call */
	if (sb->instructions >= sb->lim.instructions)
		sandbox_raise_budget(L, "instructions");
}

void sandbox_charge_work(lua_State *L, uint64_t units)
{
	sandbox_charge(L, units);
}

/* A call costs about ten instructions, and a C function called from C
 * (a metamethod called by table.concat) runs none: without the call hook
 * such a loop would only stop at the wall clock. Raising from a count or
 * call hook is allowed; the protected call that catches it restores the
 * thread's allowhook flag. */
static void hook(lua_State *L, lua_Debug *ar)
{
	sandbox_charge(L, ar->event == LUA_HOOKCOUNT ? HOOK_EVERY : CALL_COST);
}

void sandbox_after_status(lua_State *L, int status)
{
	sandbox *sb = sandbox_of(L);
	if (status == LUA_ERRMEM && !sb->budget_hit)
		sb->budget_hit = "memory";
	sandbox_check_budget(L);
}

/* ---- pcall and xpcall that do not catch budget errors ---- */

static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	sandbox_after_status(L, status);
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2; /* false, error */
	}
	return lua_gettop(L) - (int)extra; /* true, results */
}

/* Same as the base library's pcall (yieldable, through a continuation). */
int sandbox_lua_pcall(lua_State *L)
{
	int status;
	luaL_checkany(L, 1);
	sandbox_check_budget(L);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
	return finish_pcall(L, status, 0);
}

/* The message handler xpcall really installs: after a budget error the
 * script's handler is not run at all. */
static int xpcall_handler(lua_State *L)
{
	if (sandbox_of(L)->budget_hit)
		return 1;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

int sandbox_lua_xpcall(lua_State *L)
{
	int status, n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	sandbox_check_budget(L);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, xpcall_handler, 1);
	lua_replace(L, 2);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2); /* stack: f, handler, true, f, args... */
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
	return finish_pcall(L, status, 2);
}

/* ---- error values ---- */

static void copy_str(char *out, size_t len, const char *s)
{
	if (len)
		snprintf(out, len, "%s", s);
}

static const char *raw_string(lua_State *L, int t, const char *k)
{
	const char *s;
	lua_pushstring(L, k);
	s = lua_rawget(L, t) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
	lua_pop(L, 1); /* the table keeps the string alive */
	return s;
}

int sandbox_is_aws_error(lua_State *L, int idx)
{
	int ours;
	if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
		return 0;
	lua_getfield(L, LUA_REGISTRYINDEX, sandbox_aws_error_key);
	ours = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return ours;
}

void sandbox_error_text(lua_State *L, int idx, char *out, size_t len)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TSTRING) {
		copy_str(out, len, lua_tostring(L, idx));
	} else if (sandbox_is_all_error(L, idx) && lua_checkstack(L, 2)) {
		copy_str(out, len, raw_string(L, idx, "message"));
	} else if (sandbox_is_aws_error(L, idx) && lua_checkstack(L, 2)) {
		if (len)
			snprintf(out, len, "%s: %s (%s)", raw_string(L, idx, "code"),
				 raw_string(L, idx, "message"), raw_string(L, idx, "op"));
	} else if (len) {
		snprintf(out, len, "(error object is a %s value)",
			 lua_typename(L, lua_type(L, idx)));
	}
}

/* Whether an error message starts with "file:line: ", as Lua's error()
 * with a level puts it. */
static int has_location(const char *msg)
{
	size_t i = strcspn(msg, ": \n");
	if (msg[i] != ':' || !isdigit((unsigned char)msg[i + 1]))
		return 0;
	for (i++; isdigit((unsigned char)msg[i]); i++)
		;
	return msg[i] == ':';
}

/* "file:line: " of the innermost Lua function on the stack: where the
 * playbook raised the error (an AWS error, error(x, 0), a table). */
static void where_raised(lua_State *L, char *out, size_t len)
{
	lua_Debug ar;
	out[0] = '\0';
	for (int level = 1; level < 64 && lua_getstack(L, level, &ar); level++)
		if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
			snprintf(out, len, "%s:%d: ", ar.short_src, ar.currentline);
			return;
		}
}

/* sandbox_pcall's message handler: a string with a traceback, made without
 * calling any of the script's metamethods. A message without a location
 * gets the file and line of the playbook code that raised it. */
static int traceback_handler(lua_State *L)
{
	char msg[1024], where[256] = "", full[1280];
	if (sandbox_of(L)->budget_hit)
		return 1;
	sandbox_error_text(L, 1, msg, sizeof(msg));
	if (!has_location(msg))
		where_raised(L, where, sizeof(where));
	snprintf(full, sizeof(full), "%s%s", where, msg);
	luaL_traceback(L, L, full, 1);
	return 1;
}

/* ---- the state ---- */

static int setup(lua_State *L)
{
	lua_pushcfunction(L, sandbox_open_libs);
	lua_call(L, 0, 0);
	sandbox_open_prims(L);
	sandbox_open_sched(L);
	return 0;
}

static void init_limits(sandbox *sb, const sandbox_limits *lim)
{
	sandbox_limits d;
	sandbox_default_limits(&d);
	sb->lim = lim ? *lim : d;
	if (!sb->lim.memory_bytes)
		sb->lim.memory_bytes = d.memory_bytes;
	if (!sb->lim.instructions)
		sb->lim.instructions = d.instructions;
	if (!(sb->lim.wall_seconds > 0))
		sb->lim.wall_seconds = d.wall_seconds;
	if (sb->lim.aws_calls <= 0)
		sb->lim.aws_calls = d.aws_calls;
}

sandbox *sandbox_new(const sandbox_limits *lim, const sandbox_host *host,
		     const char *playbook_dir, char *err, size_t errlen)
{
	sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		goto fail;
	init_limits(sb, lim);
	if (host)
		sb->host = *host;
	if (playbook_dir && !(sb->playbook_dir = strdup(playbook_dir)))
		goto fail;
	sb->deadline = sandbox_now() + sb->lim.wall_seconds;
	sb->sync_wall = sandbox_now();
	sb->sync_cpu = thread_cpu();
	sb->L = lua_newstate(sandbox_alloc, sb);
	if (!sb->L)
		goto fail;
	lua_pushcfunction(sb->L, setup);
	if (lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
		sandbox_error_text(sb->L, -1, err, errlen);
		sandbox_free(sb);
		return NULL;
	}
	lua_sethook(sb->L, hook, LUA_MASKCOUNT | LUA_MASKCALL, HOOK_EVERY);
	return sb;
fail:
	copy_str(err, errlen, "sandbox: out of memory");
	sandbox_free(sb);
	return NULL;
}

void sandbox_free(sandbox *sb)
{
	if (!sb)
		return;
	if (sb->L)
		lua_close(sb->L); /* runs only our own finalizers (cjson's) */
	sandbox_pool_free(sb);
	free(sb->playbook_dir);
	free(sb);
}

void sandbox_set_async(sandbox *sb, const sandbox_async *a)
{
	if (a)
		sb->async = *a;
	else
		memset(&sb->async, 0, sizeof(sb->async));
}

void sandbox_set_dry(sandbox *sb, const sandbox_dry *d)
{
	if (d)
		sb->dry = *d;
	else
		memset(&sb->dry, 0, sizeof(sb->dry));
}

int sandbox_dry_waiting(const sandbox *sb)
{
	return sb->dry_waiting ? sb->dry_try : -1;
}

lua_State *sandbox_lua(sandbox *sb)
{
	return sb->L;
}

static sandbox_status budget_status(sandbox *sb, char *err, size_t errlen)
{
	if (errlen)
		snprintf(err, errlen, "budget exceeded: %s", sb->budget_hit);
	return SANDBOX_BUDGET;
}

sandbox_status sandbox_pcall(sandbox *sb, int nargs, int nresults, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs; /* the function */
	int status;

	if (sb->budget_hit || !lua_checkstack(L, 2)) {
		lua_settop(L, base - 1);
		if (!sb->budget_hit)
			sb->budget_hit = "memory";
		return budget_status(sb, err, errlen);
	}
	lua_pushcfunction(L, traceback_handler);
	lua_insert(L, base);
	status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	rules_settle(sb); /* no ENI stays in the allow-all group past a step */
	if (status == LUA_OK)
		return SANDBOX_OK;
	if (status == LUA_ERRMEM && !sb->budget_hit)
		sb->budget_hit = "memory";
	if (sb->budget_hit) {
		lua_pop(L, 1);
		return budget_status(sb, err, errlen);
	}
	sandbox_error_text(L, -1, err, errlen);
	lua_pop(L, 1);
	return SANDBOX_ERROR;
}

/* "ec2.lua": one file name of letters, digits, '_', '-' and '.', ending
 * in ".lua", not starting with '.': never a path. */
static int valid_playbook_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".lua") == 0 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

static int load_and_run(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	const char *name = lua_tostring(L, 1);
	lua_pushfstring(L, "%s/%s", sb->playbook_dir, name);
	if (sandbox_load_file(L, lua_tostring(L, -1)) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	return 1;
}

sandbox_status sandbox_load_playbook(sandbox *sb, const char *name, char *err, size_t errlen)
{
	if (!sb->playbook_dir || !name || !valid_playbook_name(name)) {
		if (errlen)
			snprintf(err, errlen, "invalid playbook name '%s'", name ? name : "(null)");
		return SANDBOX_ERROR;
	}
	if (!lua_checkstack(sb->L, 3)) {
		sb->budget_hit = sb->budget_hit ? sb->budget_hit : "memory";
		return budget_status(sb, err, errlen);
	}
	lua_pushcfunction(sb->L, load_and_run);
	lua_pushstring(sb->L, name);
	return sandbox_pcall(sb, 1, 1, err, errlen);
}

/* ---- patterns for the host ---- */

/* Protected: args subject, pattern. Pushes whether find found it. */
static int pattern_probe(lua_State *L)
{
	lua_newtable(L);
	sandbox_open_patterns(L);
	lua_getfield(L, -1, "find");
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_call(L, 2, 1);
	lua_pushboolean(L, !lua_isnil(L, -1));
	return 1;
}

int sandbox_pattern_find(const char *subject, const char *pattern, uint64_t steps,
			 uint64_t *used, char *err, size_t errlen)
{
	sandbox sb;
	int rc = -1;
	memset(&sb, 0, sizeof(sb));
	sb.lim.memory_bytes = SANDBOX_PATTERN_MEMORY;
	sb.lim.instructions = steps ? steps : SANDBOX_PATTERN_STEPS;
	sb.lim.wall_seconds = 10;
	sb.deadline = sandbox_now() + sb.lim.wall_seconds;
	sb.sync_wall = sandbox_now();
	sb.sync_cpu = thread_cpu();
	if (!(sb.L = lua_newstate(sandbox_alloc, &sb))) {
		copy_str(err, errlen, "pattern: out of memory");
		goto out;
	}
	lua_pushcfunction(sb.L, pattern_probe);
	lua_pushstring(sb.L, subject);
	lua_pushstring(sb.L, pattern);
	if (lua_pcall(sb.L, 2, 1, 0) == LUA_OK) {
		rc = lua_toboolean(sb.L, -1);
	} else if (sb.budget_hit && strcmp(sb.budget_hit, "instructions") == 0) {
		if (errlen)
			snprintf(err, errlen, "pattern too costly (more than %llu steps)",
				 (unsigned long long)sb.lim.instructions);
	} else if (sb.budget_hit) {
		if (errlen)
			snprintf(err, errlen, "pattern: budget exceeded: %s", sb.budget_hit);
	} else {
		sandbox_error_text(sb.L, -1, err, errlen);
	}
out:
	if (used)
		*used = sb.instructions;
	if (sb.L)
		lua_close(sb.L);
	sandbox_pool_free(&sb);
	return rc;
}

const char *sandbox_budget_hit(const sandbox *sb)
{
	return sb->budget_hit;
}

int sandbox_calls_made(const sandbox *sb)
{
	return sb->calls;
}

int sandbox_call_cached(const sandbox *sb)
{
	return sb->cached;
}

double sandbox_deadline(const sandbox *sb)
{
	return sb->deadline;
}
