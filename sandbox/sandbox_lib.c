/* sandbox_lib — the globals a playbook gets, and nothing else.
 *
 * Lua's libraries are opened into scratch tables and only the names below
 * are copied into the playbook's globals. Every library table is a
 * read-only view, and so is the strings' __index (the same view as the
 * global string), behind a protected metatable.
 *
 * Deliberately absent:
 *   dofile, loadfile         read any file; require below reads playbook_dir only
 *   io, package, debug       files, native modules, and a way around everything
 *   os.execute, exit, getenv, remove, rename, tmpname, setlocale, difftime
 *                            processes, the environment (credentials), files;
 *                            difftime is subtraction
 *   string.dump              bytecode (load refuses it anyway) and function internals
 *   warn                     writes to the host's stderr
 *   collectgarbage           except "count": stopping or driving the collector
 *                            is a denial of service on the host
 *   print                    replaced: a line to the host's log at "info"
 *
 * Replaced to keep the budgets whole:
 *   pcall, xpcall            never catch a budget error (sandbox.c)
 *   coroutine.resume, wrap, close   the same, and a coroutine's out of memory
 *                            counts (hooks are inherited: lua_newthread copies
 *                            the creating thread's hook, so no wrapper is needed
 *                            for that)
 *   load                     text only; the chunk's globals are the env
 *                            argument, or a fresh empty table: never ours;
 *                            charged a unit a byte of text
 *   setmetatable             refuses __gc: Lua runs finalizers with hooks off
 *   rawset                   refuses read-only views
 *   string.rep               string.rep("", 1e15) loops in C with nothing to stop it
 *   string.find/match/gmatch/gsub   charge their steps (pattern.c)
 *   table.insert/remove/move/concat/sort   charge their loops (a __len or a
 *                            range can make them loop for ever in C); sort
 *                            without a comparator gets one that charges the
 *                            bytes it compares (a sort of long equal strings)
 *   log, print               charged a unit a byte (the host escapes and
 *                            writes every byte)
 *
 * Every other C function that builds a value is charged by the allocator
 * (alloc.c), and anything missed by the CPU floor (sandbox.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sandbox_int.h"

#include "base64.h"

#include <errno.h>
#include <math.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MAX 8192              /* bytes of one log line */
#define SLEEP_MAX 30.0            /* seconds of one sleep() */
#define JSON_DEPTH 64
#define JSON_ENCODE_MAX ((size_t)16 << 20) /* worst-case encoded bytes */
#define JSON_DECODE_FACTOR 32     /* Lua bytes per JSON byte, at worst */
#define MODULE_NAME_MAX 64
#define DIGEST_BYTES_PER_UNIT 64  /* bytes hashed or coded per instruction charged */
#define BASE64_MAX ((size_t)1 << 30) /* longest string base64.encode takes */
#define LOADED_KEY "deadbolt.loaded"

static const char *const base_names[] = {
	"assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal", "rawget",
	"rawlen", "select", "tonumber", "tostring", "type", "_VERSION", NULL,
};
static const char *const string_names[] = {
	"byte", "char", "format", "len", "lower", "pack", "packsize", "reverse", "sub",
	"unpack", "upper", "rep", NULL, /* rep: the wrapper's upvalue */
};
static const char *const table_names[] = {"concat", "pack", "sort", "unpack", NULL};
static const char *const math_names[] = {
	"abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge",
	"log", "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random",
	"randomseed", "sin", "sqrt", "tan", "tointeger", "type", "ult", NULL,
};
static const char *const utf8_names[] = {
	"char", "charpattern", "codepoint", "codes", "len", "offset", NULL,
};
static const char *const os_names[] = {"clock", "date", "time", NULL};
static const char *const coroutine_names[] = {
	"create", "isyieldable", "running", "status", "yield", "close", NULL,
};

/* ---- base ---- */

static int sb_collectgarbage(lua_State *L)
{
	const char *opt = luaL_optstring(L, 1, "collect");
	if (strcmp(opt, "count") != 0)
		return luaL_error(L, "collectgarbage: only \"count\" is allowed");
	lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
			  (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024);
	return 1;
}

static int sb_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc metamethods are not allowed");
		lua_pop(L, 1);
	}
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

static int sb_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	if (sandbox_is_readonly(L, 1))
		return luaL_error(L, "attempt to modify a read-only table");
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

/* load(chunk [, chunkname [, mode [, env]]]): chunk must be a string (no
 * reader functions), mode "t", and without env the chunk sees an empty
 * table. */
static int sb_load(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	const char *name = luaL_optstring(L, 2, s);
	const char *mode = luaL_optstring(L, 3, "t");
	int status;

	if (strcmp(mode, "t") != 0) {
		luaL_pushfail(L);
		lua_pushliteral(L, "load: only text chunks (mode \"t\") are allowed");
		return 2;
	}
	sandbox_charge(L, len + 1);
	status = luaL_loadbufferx(L, s, len, name, "t");
	sandbox_after_status(L, status);
	if (status != LUA_OK) {
		luaL_pushfail(L);
		lua_insert(L, -2);
		return 2; /* fail, message */
	}
	if (lua_isnone(L, 4))
		lua_newtable(L);
	else
		lua_pushvalue(L, 4);
	if (!lua_setupvalue(L, -2, 1)) /* the chunk's _ENV */
		lua_pop(L, 1);
	return 1;
}

/* ---- log, print, now, sleep ---- */

static void emit(lua_State *L, const char *level, const char *msg, size_t len)
{
	sandbox *sb = sandbox_of(L);
	sandbox_charge(L, (len > LOG_MAX ? LOG_MAX : len) + 1);
	if (len > LOG_MAX) {
		lua_pushlstring(L, msg, LOG_MAX);
		msg = lua_tostring(L, -1);
	}
	if (sb->host.log)
		sb->host.log(sb->host.ud, level, msg);
}

static int sb_log(lua_State *L)
{
	static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
	int lv = luaL_checkoption(L, 1, NULL, levels);
	size_t len;
	const char *msg = luaL_tolstring(L, 2, &len);
	emit(L, levels[lv], msg, len);
	return 0;
}

/* print(...): the arguments, tab-separated, to the host's log at "info". */
static int sb_print(lua_State *L)
{
	int i, n = lua_gettop(L);
	size_t len;
	const char *line;
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t'); /* before the push: the buffer must be on top */
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	line = lua_tolstring(L, -1, &len);
	emit(L, "info", line, len);
	return 0;
}

static int sb_now(lua_State *L)
{
	char out[32];
	time_t t = time(NULL);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return luaL_error(L, "now: clock unavailable");
	lua_pushstring(L, out);
	return 1;
}

static void sleep_until(double until)
{
	struct timespec ts;
	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Waits s seconds; never past the wall-clock deadline, where it raises
 * the budget error instead. */
static void wait_seconds(lua_State *L, sandbox *sb, double s)
{
	double until;
	sandbox_check_budget(L);
	until = sandbox_now() + s;
	if (until >= sb->deadline) {
		sleep_until(sb->deadline);
		sandbox_raise_budget(L, "wall clock");
	}
	sleep_until(until);
}

/* sleep(s): at most SLEEP_MAX. In a dry run the host plans it instead. */
static int sb_sleep(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	double s = luaL_checknumber(L, 1);

	luaL_argcheck(L, s >= 0 && s <= SLEEP_MAX, 1, "seconds must be between 0 and 30");
	if (sb->dry.wait) {
		sandbox_check_budget(L);
		sb->dry.wait(sb->host.ud, s, 0);
		return 0;
	}
	wait_seconds(L, sb, s);
	return 0;
}

const char sandbox_dry_answer_key[] = "deadbolt.dry_answer";

/* One try n of a dry run's check (at 3): pushes what it returned. An
 * error is raised on try 0; on a later try it pushes nil instead (try 0
 * stands). A budget error is always raised. */
static void dry_try(lua_State *L, sandbox *sb, int n)
{
	int outer = sb->dry_try; /* an aws.wait inside a check */
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, sandbox_dry_answer_key);
	sb->dry_waiting++;
	sb->dry_try = n;
	lua_pushvalue(L, 3);
	int status = lua_pcall(L, 0, 1, 0);
	sb->dry_waiting--;
	sb->dry_try = outer;
	if (status == LUA_OK)
		return;
	sandbox_after_status(L, status); /* a budget error stays one */
	if (n == 0)
		lua_error(L);
	lua_pop(L, 1);
	lua_pushnil(L);
}

/* A dry run's aws.wait: nothing is polled and the host plans the wait. The
 * check runs with its reads answered as planned, on try 0 and then, while
 * it says the condition is not met, with the answers' enums taking their
 * other values (a status "Success" after "Pending"), at most
 * SANDBOX_DRY_TRIES times; the tries after the first are not AWS calls.
 * Returns the first value the check returned that is not nil or false,
 * else as if the condition were met: the answer of try 0's last read (a
 * placeholder of that operation's answer), or true when it read nothing. */
static int dry_wait(lua_State *L, sandbox *sb, double seconds, double every)
{
	dry_try(L, sb, 0); /* 4: what try 0's check returned */
	lua_getfield(L, LUA_REGISTRYINDEX, sandbox_dry_answer_key); /* 5: its last read's answer */
	sb->dry.wait(sb->host.ud, seconds, every);
	int calls = sb->calls;
	for (int n = 1; n < SANDBOX_DRY_TRIES && !lua_toboolean(L, 4); n++) {
		dry_try(L, sb, n);
		lua_replace(L, 4);
	}
	sb->calls = calls;
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, sandbox_dry_answer_key);
	if (lua_toboolean(L, 4))
		lua_settop(L, 4);
	else if (lua_isnil(L, 5))
		lua_pushboolean(L, 1);
	return 1;
}

/* aws.wait(seconds, every, check): calls check() until it returns a value
 * other than nil or false, every `every` seconds (at most SLEEP_MAX), for
 * at most `seconds`: that value, or nil when the time ran out. The first
 * check is at once, the last at or after `seconds`. The sleeps count
 * against the wall clock as sleep's do. In a dry run nothing is polled
 * (dry_wait). */
int sandbox_aws_wait(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	double seconds = luaL_checknumber(L, 1), every = luaL_checknumber(L, 2);
	luaL_argcheck(L, seconds >= 0, 1, "seconds must not be negative");
	luaL_argcheck(L, every > 0 && every <= SLEEP_MAX, 2, "every must be above 0 and at most 30");
	luaL_checktype(L, 3, LUA_TFUNCTION);
	lua_settop(L, 3);
	sandbox_check_budget(L);
	if (sb->dry.wait)
		return dry_wait(L, sb, seconds, every);
	double polls = ceil(seconds / every);
	if (polls < 1)
		polls = 1;
	for (double i = 1; i <= polls + 1; i++) {
		lua_pushvalue(L, 3);
		lua_call(L, 0, 1);
		if (lua_toboolean(L, -1))
			return 1;
		lua_pop(L, 1);
		if (i <= polls)
			wait_seconds(L, sb, every);
	}
	lua_pushnil(L);
	return 1;
}

/* ---- require: the playbook directory's own modules ---- */

/* [a-z0-9_]+ words joined by '.', as in "lib.tags" -> lib/tags.lua */
static int valid_module_name(const char *name)
{
	size_t i, n = strlen(name);
	if (n == 0 || n > MODULE_NAME_MAX || name[0] == '.' || name[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (c == '.' && name[i + 1] == '.')
			return 0;
		if (c != '.' && c != '_' && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static void module_path(const sandbox *sb, const char *name, char *path, size_t len)
{
	size_t dir = strlen(sb->playbook_dir) + 1, i;
	snprintf(path, len, "%s/%s.lua", sb->playbook_dir, name);
	for (i = dir; path[i] && i < dir + strlen(name); i++)
		if (path[i] == '.')
			path[i] = '/';
}

static int sb_require(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	const char *name = luaL_checkstring(L, 1);
	char path[4096 + MODULE_NAME_MAX + 8];
	int status;

	if (!valid_module_name(name))
		return luaL_error(L, "require: invalid module name '%s' "
				  "(playbook modules: [a-z0-9_] words joined by '.')", name);
	if (!sb->playbook_dir || strlen(sb->playbook_dir) > 4096)
		return luaL_error(L, "require: no playbook directory");
	lua_settop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY); /* stack: name, loaded */
	if (lua_getfield(L, 2, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	module_path(sb, name, path, sizeof(path));
	status = sandbox_load_file(L, path);
	sandbox_after_status(L, status);
	if (status == LUA_ERRFILE)
		return luaL_error(L, "require: module '%s' not found in the playbook directory", name);
	if (status != LUA_OK)
		return lua_error(L);
	lua_pushvalue(L, 1);
	lua_call(L, 1, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, name);
	return 1;
}

/* ---- string.rep, table.insert/remove/move ---- */

/* Calls the function this one wraps (upvalue 1) with the same arguments. */
static int call_wrapped(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static void charge_span(lua_State *L, lua_Integer from, lua_Integer to)
{
	if (to > from)
		sandbox_charge(L, (uint64_t)to - (uint64_t)from);
}

static int sb_rep(lua_State *L)
{
	size_t l, lsep = 0;
	lua_Integer n;
	luaL_checklstring(L, 1, &l);
	n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (l + lsep == 0 || n <= 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	return call_wrapped(L);
}

/* table.concat and table.sort loop in C over a length the script controls
 * (a __len, an explicit j), maybe calling a C __index each time: charged
 * for that length first. */
static int sb_concat(lua_State *L)
{
	lua_Integer i, j;
	luaL_checktype(L, 1, LUA_TTABLE);
	i = luaL_optinteger(L, 3, 1);
	j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
	charge_span(L, i, j);
	lua_settop(L, 2);
	lua_pushinteger(L, i);
	lua_pushinteger(L, j);
	return call_wrapped(L);
}

/* The comparator sort gets when the script gives none: a C function, so
 * each comparison is a call the hook sees, and charged by the bytes two
 * strings can make strcoll compare. */
static int sort_less(lua_State *L)
{
	size_t la = 0, lb = 0;
	if (lua_type(L, 1) == LUA_TSTRING && lua_type(L, 2) == LUA_TSTRING) {
		lua_tolstring(L, 1, &la);
		lua_tolstring(L, 2, &lb);
		sandbox_charge(L, (la < lb ? la : lb) / 8 + 1);
	}
	lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
	return 1;
}

static int sb_sort(lua_State *L)
{
	lua_Integer n;
	luaL_checktype(L, 1, LUA_TTABLE);
	n = luaL_len(L, 1);
	charge_span(L, 0, n);
	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_pushcfunction(L, sort_less);
	}
	return call_wrapped(L);
}

static int sb_insert(lua_State *L)
{
	lua_Integer pos, i, e;
	luaL_checktype(L, 1, LUA_TTABLE);
	e = luaL_len(L, 1);
	luaL_argcheck(L, e < LUA_MAXINTEGER, 1, "table too large");
	e++; /* the first empty slot */
	switch (lua_gettop(L)) {
	case 2:
		pos = e;
		break;
	case 3:
		pos = luaL_checkinteger(L, 2);
		luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
		charge_span(L, pos, e);
		for (i = e; i > pos; i--) { /* t[i] = t[i - 1] */
			lua_geti(L, 1, i - 1);
			lua_seti(L, 1, i);
		}
		break;
	default:
		return luaL_error(L, "wrong number of arguments to 'insert'");
	}
	lua_seti(L, 1, pos);
	return 0;
}

static int sb_remove(lua_State *L)
{
	lua_Integer size, pos;
	luaL_checktype(L, 1, LUA_TTABLE);
	size = luaL_len(L, 1);
	pos = luaL_optinteger(L, 2, size);
	if (pos != size)
		luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
	charge_span(L, pos, size);
	lua_geti(L, 1, pos);
	for (; pos < size; pos++) { /* t[pos] = t[pos + 1] */
		lua_geti(L, 1, pos + 1);
		lua_seti(L, 1, pos);
	}
	lua_pushnil(L);
	lua_seti(L, 1, pos);
	return 1;
}

static int sb_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
	lua_Integer t = luaL_checkinteger(L, 4), n, i;
	int tt = lua_isnoneornil(L, 5) ? 1 : 5;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, tt, LUA_TTABLE);
	if (e >= f) {
		luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
		n = e - f + 1;
		luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
		sandbox_charge(L, (uint64_t)n);
		if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
			for (i = 0; i < n; i++) {
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		} else {
			for (i = n - 1; i >= 0; i--) {
				lua_geti(L, 1, f + i);
				lua_seti(L, tt, t + i);
			}
		}
	}
	lua_pushvalue(L, tt);
	return 1;
}

/* ---- coroutines: a budget error or out of memory inside one is not a
 * value for resume to return ---- */

static void reset_thread(lua_State *L, lua_State *co);

/* Moves narg values from L to co and resumes it; leaves its results (the
 * count returned) or its error (-1) on L. */
static int resume_co(lua_State *L, lua_State *co, int narg)
{
	int status, nres;
	if (!lua_checkstack(co, narg)) {
		lua_pushliteral(L, "too many arguments to resume");
		return -1;
	}
	lua_xmove(L, co, narg);
	status = lua_resume(co, L, narg, &nres);
	sandbox_after_status(L, status);
	if (status == LUA_OK || status == LUA_YIELD) {
		if (!lua_checkstack(L, nres + 1)) {
			lua_pop(co, nres);
			lua_pushliteral(L, "too many results to resume");
			return -1;
		}
		lua_xmove(co, L, nres);
		return nres;
	}
	lua_xmove(co, L, 1);
	return -1;
}

static int sb_resume(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);
	int r;
	luaL_argexpected(L, co, 1, "coroutine");
	if (sandbox_sched_is_task(L, co))
		return luaL_error(L, "coroutine.resume: a function of aws.all runs only under aws.all");
	r = resume_co(L, co, lua_gettop(L) - 1);
	lua_pushboolean(L, r >= 0);
	lua_insert(L, r >= 0 ? -(r + 1) : -2);
	return r >= 0 ? r + 1 : 2;
}

static int wrap_next(lua_State *L)
{
	lua_State *co = lua_tothread(L, lua_upvalueindex(1));
	int r = resume_co(L, co, lua_gettop(L));
	if (r >= 0)
		return r;
	if (lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD) {
		reset_thread(L, co); /* run its pending __close handlers */
		sandbox_check_budget(L);
	}
	if (lua_type(L, -1) == LUA_TSTRING) { /* add where, as Lua's wrap does */
		luaL_where(L, 1);
		lua_insert(L, -2);
		lua_concat(L, 2);
	}
	return lua_error(L);
}

static int sb_wrap(lua_State *L)
{
	lua_State *co;
	luaL_checktype(L, 1, LUA_TFUNCTION);
	co = lua_newthread(L);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	lua_pushcclosure(L, wrap_next, 1);
	return 1;
}

/* coroutine.close runs __close handlers and returns their error. Lua
 * 5.4.4's lua_resetthread counts the C calls of the closed coroutine from
 * zero, so a __close handler that closes another coroutine, whose handler
 * closes another, ... recurses in C with no limit until the process dies
 * (a bug fixed upstream in 5.4.6 by lua_closethread): the sandbox counts
 * the closes in progress itself and refuses past CLOSE_DEPTH. */
#define CLOSE_DEPTH 100

static int enter_close(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	if (sb->closing >= CLOSE_DEPTH) {
		lua_pushfstring(L, "coroutine.close: closes nested more than %d deep", CLOSE_DEPTH);
		return lua_error(L);
	}
	sb->closing++;
	return 0;
}

/* Protected: the wrapped close with the arguments. */
static int close_call(lua_State *L)
{
	return call_wrapped(L);
}

static int sb_close(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	lua_State *co = lua_tothread(L, 1);
	int status, n = lua_gettop(L);
	if (co && sandbox_sched_is_task(L, co))
		return luaL_error(L, "coroutine.close: a function of aws.all runs only under aws.all");
	enter_close(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, close_call, 1);
	lua_insert(L, 1);
	status = lua_pcall(L, n, LUA_MULTRET, 0);
	sb->closing--;
	sandbox_after_status(L, status);
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L);
}

/* lua_resetthread on co, under the same count. */
static void reset_thread(lua_State *L, lua_State *co)
{
	sandbox *sb = sandbox_of(L);
	enter_close(L);
	lua_resetthread(co);
	sb->closing--;
}

/* ---- json (lua-cjson) ---- */

/* cjson writes into a malloc'd buffer outside the memory cap, and exits
 * the process if malloc fails: the value is first copied plain with a
 * bound on its worst-case encoded size (every byte escaped as \u00XX). */
static int json_encode(lua_State *L)
{
	size_t budget = JSON_ENCODE_MAX;
	luaL_checkany(L, 1);
	lua_settop(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	sandbox_push_plain(L, 1, "json.encode", JSON_DEPTH, 6, &budget);
	lua_call(L, 1, 1);
	return 1;
}

/* cjson's scratch buffer (malloc'd, the document's size) leaks if the
 * capped allocator refuses a table while decoding: refuse documents that
 * could need more than the memory left. */
static int json_decode(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	size_t len, room = sb->lim.memory_bytes - sb->mem_used;
	luaL_checklstring(L, 1, &len);
	if (len > room / JSON_DECODE_FACTOR)
		return luaL_error(L, "json.decode: document too large (%d bytes) for the memory left",
				  (int)(len > 0x7fffffff ? 0x7fffffff : len));
	lua_settop(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 1, 1);
	return 1;
}

static void cjson_set(lua_State *L, int cjson, const char *fn, int arg)
{
	lua_getfield(L, cjson, fn);
	if (arg < 0)
		lua_pushboolean(L, 0);
	else
		lua_pushinteger(L, arg);
	lua_call(L, 1, 0);
}

static void open_json(lua_State *L)
{
	int cjson;
	lua_pushcfunction(L, luaopen_cjson);
	lua_call(L, 0, 1);
	cjson = lua_gettop(L);
	cjson_set(L, cjson, "encode_max_depth", JSON_DEPTH);
	cjson_set(L, cjson, "decode_max_depth", JSON_DEPTH);
	cjson_set(L, cjson, "encode_invalid_numbers", -1);
	cjson_set(L, cjson, "decode_invalid_numbers", -1);
	lua_createtable(L, 0, 3);
	lua_getfield(L, cjson, "encode");
	lua_pushcclosure(L, json_encode, 1);
	lua_setfield(L, -2, "encode");
	lua_getfield(L, cjson, "decode");
	lua_pushcclosure(L, json_decode, 1);
	lua_setfield(L, -2, "decode");
	lua_getfield(L, cjson, "null");
	lua_setfield(L, -2, "null");
	lua_remove(L, cjson);
}

/* ---- hash and base64: native, for the evidence manifest ---- */

/* In C for speed: SHA-256 in plain Lua costs about 3,500 VM instructions
 * a 64-byte block (5 ms of a dry run). Each charges the instruction budget
 * one unit per DIGEST_BYTES_PER_UNIT bytes, about what the C loop costs;
 * results are built through the capped allocator. */

static void digest_arg(lua_State *L, unsigned char md[32])
{
	size_t len;
	unsigned int n = 0;
	const char *s = luaL_checklstring(L, 1, &len);
	sandbox_charge(L, len / DIGEST_BYTES_PER_UNIT + 1);
	if (EVP_Digest(s, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		luaL_error(L, "hash.sha256: the digest failed");
}

/* hash.sha256(s): 64 lowercase hex digits. */
static int sb_sha256(lua_State *L)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	char out[64];
	digest_arg(L, md);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	lua_pushlstring(L, out, sizeof(out));
	return 1;
}

/* hash.sha256_raw(s): the 32 bytes of the digest (S3's ChecksumSHA256 is
 * their base64). */
static int sb_sha256_raw(lua_State *L)
{
	unsigned char md[32];
	digest_arg(L, md);
	lua_pushlstring(L, (const char *)md, sizeof(md));
	return 1;
}

/* base64.encode(s): RFC 4648, with padding. */
static int sb_b64_encode(lua_State *L)
{
	size_t len;
	luaL_Buffer b;
	const char *s = luaL_checklstring(L, 1, &len);
	luaL_argcheck(L, len <= BASE64_MAX, 1, "string too long");
	sandbox_charge(L, len / DIGEST_BYTES_PER_UNIT + 1);
	char *out = luaL_buffinitsize(L, &b, BASE64_ENCODED_SIZE(len));
	luaL_pushresultsize(&b, base64_encode(s, len, out));
	return 1;
}

/* base64.decode(text): the bytes, or nil and why. Strict (base64.h):
 * whitespace is ignored; characters are counted without it. */
static int sb_b64_decode(lua_State *L)
{
	size_t len, size = 0, done = 0, where = 0;
	const char *s = luaL_checklstring(L, 1, &len);
	luaL_Buffer b;
	sandbox_charge(L, len / DIGEST_BYTES_PER_UNIT + 1);
	if (base64_strict_size(s, len, &size) != BASE64_OK) {
		luaL_pushfail(L);
		lua_pushliteral(L, "length is not a multiple of 4");
		return 2;
	}
	char *out = luaL_buffinitsize(L, &b, size + 1);
	if (base64_decode_strict(s, len, out, &done, &where) != BASE64_OK) {
		luaL_pushfail(L);
		lua_pushfstring(L, "not base64 at character %d", (int)where);
		return 2;
	}
	luaL_pushresultsize(&b, done);
	return 1;
}

/* ---- assembling the globals ---- */

/* Calls open (a luaopen_*), and pushes a new table with only the listed
 * fields of what it returned, sized for extra more (no rehash as the
 * sandbox adds its own). */
static void open_allowed(lua_State *L, lua_CFunction open, const char *const *names, int extra)
{
	int n = 0;
	while (names[n])
		n++;
	lua_pushcfunction(L, open);
	lua_call(L, 0, 1);
	lua_createtable(L, 0, n + extra);
	for (; *names; names++) {
		lua_getfield(L, -2, *names);
		lua_setfield(L, -2, *names);
	}
	lua_remove(L, -2);
}

/* Sets the function t.name (t at the top) to f, with t.name's old value as
 * upvalue when wrap is set. */
static void replace(lua_State *L, const char *name, lua_CFunction f, int wrap)
{
	if (wrap)
		lua_getfield(L, -1, name);
	lua_pushcclosure(L, f, wrap ? 1 : 0);
	lua_setfield(L, -2, name);
}

/* Makes the table at the top read-only and sets it as G.name. */
static void set_library(lua_State *L, int G, const char *name)
{
	sandbox_readonly(L, -1);
	lua_setfield(L, G, name);
}

static void open_codecs(lua_State *L, int G)
{
	static const luaL_Reg hash[] = {
		{"sha256", sb_sha256},
		{"sha256_raw", sb_sha256_raw},
		{NULL, NULL},
	};
	static const luaL_Reg base64[] = {
		{"encode", sb_b64_encode},
		{"decode", sb_b64_decode},
		{NULL, NULL},
	};
	luaL_newlib(L, hash);
	set_library(L, G, "hash");
	luaL_newlib(L, base64);
	set_library(L, G, "base64");
}

static void open_string(lua_State *L, int G)
{
	open_allowed(L, luaopen_string, string_names, 4); /* + patterns */
	replace(L, "rep", sb_rep, 1);
	sandbox_open_patterns(L);
	sandbox_readonly(L, -1);
	lua_pushliteral(L, ""); /* the strings' metatable, made by luaopen_string */
	lua_getmetatable(L, -1);
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
	lua_setfield(L, G, "string");
}

static void open_libraries(lua_State *L, int G)
{
	open_string(L, G);
	open_allowed(L, luaopen_table, table_names, 3);
	replace(L, "concat", sb_concat, 1);
	replace(L, "sort", sb_sort, 1);
	replace(L, "insert", sb_insert, 0);
	replace(L, "remove", sb_remove, 0);
	replace(L, "move", sb_move, 0);
	set_library(L, G, "table");
	open_allowed(L, luaopen_math, math_names, 0);
	set_library(L, G, "math");
	open_allowed(L, luaopen_utf8, utf8_names, 0);
	set_library(L, G, "utf8");
	open_allowed(L, luaopen_os, os_names, 0);
	set_library(L, G, "os");
	open_allowed(L, luaopen_coroutine, coroutine_names, 2);
	replace(L, "resume", sb_resume, 0);
	replace(L, "wrap", sb_wrap, 0);
	replace(L, "close", sb_close, 1);
	set_library(L, G, "coroutine");
	open_json(L);
	set_library(L, G, "json");
	open_codecs(L, G);
}

int sandbox_open_libs(lua_State *L)
{
	static const luaL_Reg globals[] = {
		{"collectgarbage", sb_collectgarbage},
		{"load", sb_load},
		{"log", sb_log},
		{"now", sb_now},
		{"pcall", sandbox_lua_pcall},
		{"print", sb_print},
		{"rawset", sb_rawset},
		{"require", sb_require},
		{"setmetatable", sb_setmetatable},
		{"sleep", sb_sleep},
		{"xpcall", sandbox_lua_xpcall},
		{NULL, NULL},
	};
	int G;

	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
	/* + the functions above, _G, 9 libraries and the services (prims.c) */
	open_allowed(L, luaopen_base, base_names, 11 + 1 + 9 + 8);
	G = lua_gettop(L);
	luaL_setfuncs(L, globals, 0);
	lua_pushvalue(L, G);
	lua_setfield(L, G, "_G");
	open_libraries(L, G);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); /* G replaces Lua's globals */
	return 0;
}
