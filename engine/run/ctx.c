/* ctx — what a step sees: the finding, the run's settings, ctx.state,
 * ctx.steps, ctx.save (undo data, journaled with the step) and ctx.skip.
 * The contract is docs/playbook-api.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "clock.h"
#include "finding.h"
#include "journal.h"
#include "run_int.h"

void ctx_free_saves(run *rn)
{
	for (size_t i = 0; i < rn->nsaves; i++) {
		free(rn->saves[i].key);
		free(rn->saves[i].json);
		free(rn->saves[i].order);
		free(rn->saves[i].first);
	}
	rn->nsaves = 0;
	rn->save_bytes = 0;
}

/* Stores key -> json (taking json); replaces an earlier value of key.
 * Inside aws.all (order set), a value replaces only one that comes before
 * it in a sequential run, and the key takes the place of its first save
 * there. Returns NULL, or what is wrong. */
static const char *store_save(run *rn, const char *key, size_t kn, char *json, size_t jn,
			      const char *order)
{
	size_t i, old = 0;
	for (i = 0; i < rn->nsaves; i++)
		if (strcmp(rn->saves[i].key, key) == 0)
			break;
	if (i < rn->nsaves && order && rn->saves[i].order && strcmp(order, rn->saves[i].order) < 0) {
		/* a later place in a sequential run saved key already: keep its
		 * value, and take this earlier place */
		save_entry *s = &rn->saves[i];
		char *f = s->first && strcmp(order, s->first) < 0 ? strdup(order) : NULL;
		if (f) {
			free(s->first);
			s->first = f;
		}
		free(json);
		return NULL;
	}
	if (i == MAX_SAVES)
		return "too many keys (at most 64 a step)";
	if (i < rn->nsaves)
		old = strlen(rn->saves[i].json) + kn;
	if (rn->save_bytes - old + jn + kn > MAX_SAVE_BYTES)
		return "too much undo data in one step (more than 1 MiB of JSON)";
	save_entry *s = &rn->saves[i];
	int fresh = i == rn->nsaves;
	char *k = fresh ? strdup(key) : s->key;
	char *o = order ? strdup(order) : NULL;
	int first = order && (fresh || !s->first || strcmp(order, s->first) < 0);
	char *f = first ? strdup(order) : NULL;
	if (!k || (order && !o) || (first && !f)) {
		if (fresh)
			free(k);
		free(o);
		free(f);
		return "out of memory";
	}
	if (fresh) {
		memset(s, 0, sizeof(*s));
		rn->nsaves++;
	}
	free(s->json);
	free(s->order);
	s->key = k;
	s->json = json;
	s->order = o;
	if (first) {
		free(s->first);
		s->first = f;
	}
	rn->save_bytes = rn->save_bytes - old + jn + kn;
	return NULL;
}

/* ctx.save(key, value): the value as JSON now (the state before a change),
 * in the step's journal line; written exactly (jw_lua_exact) or refused
 * here, when the step runs, with what and where. The walk is charged to
 * the instruction budget by the values and bytes it took. */
static int ctx_save(lua_State *L)
{
	run *rn = lua_touserdata(L, lua_upvalueindex(1));
	size_t kn, work = 0;
	const char *key = luaL_checklstring(L, 1, &kn);
	const char *bad = NULL;
	char why[300];
	buf b;
	jw w;
	luaL_argcheck(L, kn > 0 && kn <= 128 && strlen(key) == kn, 1, "a key of 1 to 128 characters");
	luaL_checkany(L, 2);
	buf_init(&b, MAX_SAVE_BYTES);
	jw_init(&w, &b);
	if (jw_lua_exact(&w, L, 2, sandbox_view_data, &work, why, sizeof(why)) != 0) {
		if (jw_failed(&w) && strcmp(why, "too large") == 0)
			snprintf(why, sizeof(why), "too much undo data (more than 1 MiB of JSON)");
		bad = why;
	} else if (!b.data) {
		bad = "out of memory";
	} else {
		char okey[SANDBOX_ORDER_MAX];
		const char *order = rn->concurrent ? sandbox_order_key(rn->sb, okey, sizeof(okey)) : NULL;
		bad = store_save(rn, key, kn, b.data, b.len, order);
	}
	if (bad)
		buf_free(&b);
	sandbox_charge_work(L, work); /* nothing malloc'd is held here */
	if (bad)
		return luaL_error(L, "ctx.save(\"%s\"): %s", key, bad);
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

/* ctx.not_contained(reason): this run answers the finding without containing
 * it (notify only, evidence only, nothing to do). The steps go on; the run
 * ends "skipped" with the first reason given, unless a step failed. */
static int ctx_not_contained(lua_State *L)
{
	run *rn = lua_touserdata(L, lua_upvalueindex(1));
	const char *why = luaL_checkstring(L, 1);
	if (!rn->not_contained[0])
		snprintf(rn->not_contained, sizeof(rn->not_contained), "%s", why[0] ? why : "not contained");
	return 0;
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
	lua_createtable(L, 0, (int)RUN_NENV);
	for (size_t i = 0; i < RUN_NENV; i++)
		set_string(L, RUN_ENV_NAMES[i], account_env(rn, i));
	sandbox_make_readonly(rn->sb, -1);
}

static void push_closure(lua_State *L, run *rn, lua_CFunction f, const char *name)
{
	lua_pushlightuserdata(L, rn);
	lua_pushcclosure(L, f, 1);
	lua_setfield(L, -2, name);
}

/* ctx.deadline: when the engine stops this run (the sandbox's wall clock,
 * the Lambda's deadline), in epoch seconds rounded up; absent without a
 * sandbox. */
static void push_deadline(lua_State *L, const run *rn)
{
	double left;
	if (!rn->sb || !(sandbox_deadline(rn->sb) > 0))
		return;
	left = sandbox_deadline(rn->sb) - clock_mono();
	lua_pushinteger(L, (lua_Integer)ceil(clock_wall() + (left > 0 ? left : 0)));
	lua_setfield(L, -2, "deadline");
}

/* Protected: args run, playbook table. Returns ctx and the steps table. */
int ctx_build(lua_State *L)
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
	push_deadline(L, rn);
	push_env(L, rn);
	lua_setfield(L, -2, "env");
	lua_newtable(L);
	lua_setfield(L, -2, "state");
	lua_newtable(L);
	lua_setfield(L, -2, "steps");
	push_closure(L, rn, ctx_save, "save");
	push_closure(L, rn, ctx_skip, "skip");
	push_closure(L, rn, ctx_not_contained, "not_contained");
	lua_pushliteral(L, "steps");
	lua_rawget(L, 2);
	return 2;
}

/* Where f (at idx) was defined, "ec2.lua:123", into out. */
static void defined_at(lua_State *L, int idx, char *out, size_t n)
{
	lua_Debug ar;
	lua_pushvalue(L, idx);
	if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0)
		snprintf(out, n, "%s:%d", ar.short_src, ar.linedefined);
	else
		snprintf(out, n, "?");
}

/* Protected: args steps, ctx, index, which (false: when, true: run). Calls
 * the step's function with ctx; returns whether it returned true (a step
 * without when applies) and, for a when that said no, why: the string it
 * returned second, else where the when is. */
int ctx_call_step(lua_State *L)
{
	int run_fn = lua_toboolean(L, 4);
	char at[200];
	lua_rawgeti(L, 1, lua_tointeger(L, 3));
	luaL_checktype(L, -1, LUA_TTABLE);
	lua_pushstring(L, run_fn ? "run" : "when");
	lua_rawget(L, -2);
	if (!run_fn && lua_isnil(L, -1)) {
		lua_pushboolean(L, 1);
		lua_pushnil(L);
		return 2;
	}
	int fn = lua_gettop(L);
	lua_pushvalue(L, fn);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 2); /* stack: fn, yes, why */
	int yes = lua_toboolean(L, -2);
	lua_pushboolean(L, yes);
	if (yes || run_fn || lua_type(L, -2) == LUA_TSTRING) {
		lua_pushvalue(L, -2);
	} else {
		defined_at(L, fn, at, sizeof(at));
		lua_pushfstring(L, "its condition (when, %s) does not hold", at);
	}
	return 2;
}

/* Protected: args ctx, step_note. Appends {name=, status=, error=} to
 * ctx.steps (recreated if a step replaced it). */
int ctx_note_step(lua_State *L)
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
