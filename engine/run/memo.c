/* memo — read answers kept for one document of findings. See memo.h. */
#include "memo.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

#define COPY_DEPTH 64

/* M's stack slot 1: { [scope "\n" call] = { scope =, at =, size =, v = } } */
struct memo {
	lua_State *M; /* NULL until the first answer is kept */
	size_t n;
};

memo *memo_new(void)
{
	return calloc(1, sizeof(memo));
}

void memo_clear(memo *m)
{
	if (m && m->M) {
		lua_close(m->M);
		m->M = NULL;
	}
	if (m)
		m->n = 0;
}

void memo_free(memo *m)
{
	memo_clear(m);
	free(m);
}

size_t memo_count(const memo *m)
{
	return m ? m->n : 0;
}

void memo_scope(char *out, size_t n, const char *account, const char *region, const char *service)
{
	snprintf(out, n, "%s %s %s", account ? account : "", region ? region : "", service);
}

/* Copies the value at idx of from onto to's stack; *size grows by about
 * the bytes it holds. 0, or -1 (nothing left pushed) for a value that is
 * not plain data, too deep, or a full stack. May raise in to (memory). */
static int copy_value(lua_State *from, int idx, lua_State *to, int depth, size_t *size)
{
	size_t len;
	const char *s;
	*size += 16;
	switch (lua_type(from, idx)) {
	case LUA_TBOOLEAN: lua_pushboolean(to, lua_toboolean(from, idx)); return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(from, idx))
			lua_pushinteger(to, lua_tointeger(from, idx));
		else
			lua_pushnumber(to, lua_tonumber(from, idx));
		return 0;
	case LUA_TSTRING:
		s = lua_tolstring(from, idx, &len);
		lua_pushlstring(to, s, len);
		*size += len;
		return 0;
	case LUA_TTABLE: break;
	default: return -1;
	}
	if (depth <= 0 || !lua_checkstack(from, 3) || !lua_checkstack(to, 3))
		return -1;
	idx = lua_absindex(from, idx);
	lua_newtable(to);
	lua_pushnil(from);
	while (lua_next(from, idx)) { /* from: ..., key, value */
		if (copy_value(from, -2, to, depth - 1, size) != 0) {
			lua_pop(from, 2);
			lua_pop(to, 1);
			return -1;
		}
		if (copy_value(from, -1, to, depth - 1, size) != 0) {
			lua_pop(from, 2);
			lua_pop(to, 2);
			return -1;
		}
		lua_rawset(to, -3);
		lua_pop(from, 1);
	}
	return 0;
}

typedef struct put_job {
	lua_State *L;
	int idx;
	const char *scope, *key;
	double now;
	int added; /* a new key */
} put_job;

/* In M, protected; arguments: the job, the entries.
 * entries[key] = { scope, at, size, v = copy of L[idx] }. */
static int put_protected(lua_State *M)
{
	put_job *j = lua_touserdata(M, 1);
	size_t size = 0;
	lua_createtable(M, 0, 4);
	if (copy_value(j->L, j->idx, M, COPY_DEPTH, &size) != 0)
		return 0; /* not plain data: not kept */
	lua_setfield(M, -2, "v");
	lua_pushstring(M, j->scope);
	lua_setfield(M, -2, "scope");
	lua_pushnumber(M, j->now);
	lua_setfield(M, -2, "at");
	lua_pushinteger(M, (lua_Integer)size);
	lua_setfield(M, -2, "size");
	j->added = lua_getfield(M, 2, j->key) == LUA_TNIL;
	lua_pop(M, 1);
	lua_setfield(M, 2, j->key);
	return 0;
}

static int make_key(char *out, size_t n, const char *scope, const char *call)
{
	int w = snprintf(out, n, "%s\n%s", scope, call);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int entries_protected(lua_State *M)
{
	lua_newtable(M);
	return 1;
}

void memo_put(memo *m, const char *scope, const char *call, double now, lua_State *L, int idx)
{
	char *key;
	size_t n = strlen(scope) + strlen(call) + 2;
	if (!m || !(key = malloc(n)))
		return;
	if (make_key(key, n, scope, call) != 0)
		goto out;
	if (m->n >= MEMO_MAX_ENTRIES)
		memo_clear(m);
	if (!m->M) {
		m->M = luaL_newstate();
		if (!m->M)
			goto out;
		lua_pushcfunction(m->M, entries_protected);
		if (lua_pcall(m->M, 0, 1, 0) != LUA_OK) { /* slot 1: the entries */
			memo_clear(m);
			goto out;
		}
	}
	put_job j = {L, lua_absindex(L, idx), scope, key, now, 0};
	lua_State *M = m->M;
	int ltop = lua_gettop(L);
	lua_settop(M, 1);
	lua_pushcfunction(M, put_protected);
	lua_pushlightuserdata(M, &j);
	lua_pushvalue(M, 1); /* M: entries, fn, job, entries */
	int st = lua_pcall(M, 2, 0, 0);
	lua_settop(L, ltop); /* what a copy cut short left of its walk of L */
	if (st != LUA_OK) { /* out of memory: start again empty */
		memo_clear(m);
		goto out;
	}
	m->n += j.added;
out:
	free(key);
}

/* In M, protected; arguments: the entries, the key (a light userdata: a
 * key pushed as a string would allocate unprotected). Returns entries[key]. */
static int lookup_protected(lua_State *M)
{
	lua_getfield(M, 1, lua_touserdata(M, 2));
	return 1;
}

int memo_get(memo *m, const char *scope, const char *call, double now, lua_State *L)
{
	char *key;
	size_t n = strlen(scope) + strlen(call) + 2, size = 0;
	int found = 0;
	if (!m || !m->M || !(key = malloc(n)))
		return 0;
	lua_State *M = m->M;
	lua_settop(M, 1);
	lua_pushcfunction(M, lookup_protected);
	lua_pushvalue(M, 1);
	lua_pushlightuserdata(M, key);
	/* the key's string is made in M: out of memory there is a miss, not a
	 * panic (the fields read below are keys every entry holds: no allocation) */
	if (make_key(key, n, scope, call) == 0 && lua_pcall(M, 2, 1, 0) == LUA_OK && lua_istable(M, -1)) {
		lua_getfield(M, -1, "at");
		double at = lua_tonumber(M, -1);
		lua_getfield(M, -2, "size");
		uint64_t units = (uint64_t)lua_tointeger(M, -1);
		lua_pop(M, 2);
		found = now - at <= MEMO_MAX_AGE_S && now >= at;
		if (found) {
			lua_getfield(M, -1, "v");
			free(key);
			key = NULL;
			/* raises in L only out of memory or budget; M is left as is */
			sandbox_charge_work(L, units);
			found = copy_value(M, -1, L, COPY_DEPTH, &size) == 0;
		}
	}
	lua_settop(M, 1);
	free(key);
	return found;
}

static void forget_scope(memo *m, const char *scope)
{
	lua_State *M = m->M;
	lua_settop(M, 1);
	lua_pushnil(M);
	while (lua_next(M, 1)) { /* M: entries, key, entry */
		lua_getfield(M, -1, "scope");
		int hit = lua_isstring(M, -1) && strcmp(lua_tostring(M, -1), scope) == 0;
		lua_pop(M, 2);
		if (hit) { /* clearing a field met by lua_next is allowed and allocates nothing */
			lua_pushvalue(M, -1);
			lua_pushnil(M);
			lua_rawset(M, 1);
			m->n--;
		}
	}
	lua_settop(M, 1);
}

/* What a write to one service changes in the answers of another. */
static const struct {
	const char *writer, *changes;
} SIDE_EFFECTS[] = {
	/* DetachInstances (and the Auto Scaling writes that take an instance
	 * out of service) deregister it from the group's classic load
	 * balancers and target groups. */
	{"autoscaling", "elb"},
	{"autoscaling", "elbv2"},
};

void memo_forget_after_write(memo *m, const char *account, const char *region, const char *service)
{
	char scope[200];
	if (!m || !m->M)
		return;
	memo_scope(scope, sizeof(scope), account, region, service);
	forget_scope(m, scope);
	for (size_t i = 0; i < sizeof(SIDE_EFFECTS) / sizeof(SIDE_EFFECTS[0]); i++)
		if (strcmp(SIDE_EFFECTS[i].writer, service) == 0) {
			memo_scope(scope, sizeof(scope), account, region, SIDE_EFFECTS[i].changes);
			forget_scope(m, scope);
		}
}
