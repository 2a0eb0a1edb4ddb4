/* fuzz_common — what the fuzz targets share: the exactness oracle that
 * compares a Lua value with the JSON the journal wrote for it.
 *
 * Header-only (static functions): each target is one translation unit
 * built with libFuzzer (make fuzz). */
#ifndef DEADBOLT_FUZZ_COMMON_H
#define DEADBOLT_FUZZ_COMMON_H

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"
#include "sandbox.h"

/* Aborts (libFuzzer reports the input) when cond does not hold. */
#define FUZZ_ASSERT(cond, what)                                                        \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "fuzz: %s: %s (%s:%d)\n", what, #cond, __FILE__, \
				__LINE__);                                             \
			abort();                                                       \
		}                                                                      \
	} while (0)

static int fuzz_same(lua_State *L, int idx, const jt_node *n, int depth);

/* Pushes the Lua key whose JSON text is k (a string key first, then the
 * number or boolean it spells), or returns 0. */
static int fuzz_push_key(lua_State *L, int t, const char *k, size_t kn)
{
	lua_pushlstring(L, k, kn);
	if (lua_rawget(L, t) != LUA_TNIL) {
		lua_pushlstring(L, k, kn);
		lua_insert(L, -2);
		return 1;
	}
	lua_pop(L, 1);
	if (kn == 4 && memcmp(k, "true", 4) == 0)
		lua_pushboolean(L, 1);
	else if (kn == 5 && memcmp(k, "false", 5) == 0)
		lua_pushboolean(L, 0);
	else if ((kn == 3 && memcmp(k, "inf", 3) == 0) || (kn == 4 && memcmp(k, "-inf", 4) == 0))
		lua_pushnumber(L, k[0] == '-' ? -HUGE_VAL : HUGE_VAL);
	else if (kn < 64 && strlen(k) == kn && lua_stringtonumber(L, k) == kn + 1)
		; /* pushed the number */
	else
		return 0;
	lua_pushvalue(L, -1);
	if (lua_rawget(L, t) == LUA_TNIL) {
		lua_pop(L, 2);
		return 0;
	}
	return 1; /* stack: key, value */
}

static size_t fuzz_count_keys(lua_State *L, int t)
{
	size_t n = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		n++;
		lua_pop(L, 1);
	}
	return n;
}

/* 1 when the JSON node n holds exactly the Lua value at idx (secrets the
 * journal redacts compare equal to "<redacted>"). */
static int fuzz_same(lua_State *L, int idx, const jt_node *n, int depth)
{
	size_t len;
	const char *s;
	int t, ok = 1;
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 8, "fuzz");
	switch (lua_type(L, idx)) {
	case LUA_TNIL: return n->type == JT_NULL;
	case LUA_TBOOLEAN: return n->type == (lua_toboolean(L, idx) ? JT_TRUE : JT_FALSE);
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return n->type == JT_INT && n->i == (long long)lua_tointeger(L, idx);
		return (n->type == JT_INT || n->type == JT_NUMBER) && n->d == lua_tonumber(L, idx);
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &len);
		if (n->type != JT_STRING)
			return 0;
		if (n->len == 10 && memcmp(n->str, "<redacted>", 10) == 0)
			return 1;
		return n->len == len && memcmp(n->str, s, len) == 0;
	case LUA_TLIGHTUSERDATA: return n->type == JT_NULL && !lua_touserdata(L, idx);
	case LUA_TTABLE: break;
	default: return 0;
	}
	t = idx;
	if (sandbox_view_data(L, idx))
		t = lua_gettop(L);
	if (n->type == JT_ARRAY) {
		const jt_node *c = n->first;
		ok = fuzz_count_keys(L, t) == n->n;
		for (size_t i = 1; ok && c; i++, c = c->next) {
			lua_rawgeti(L, t, (lua_Integer)i);
			ok = fuzz_same(L, -1, c, depth + 1);
			lua_pop(L, 1);
		}
	} else if (n->type == JT_OBJECT) {
		ok = fuzz_count_keys(L, t) == n->n;
		for (const jt_node *c = n->first; ok && c; c = c->next) {
			if (!fuzz_push_key(L, t, c->key, c->key_len)) {
				ok = 0;
				break;
			}
			/* a redacted secret-named member */
			ok = (c->type == JT_STRING && c->len == 10 && memcmp(c->str, "<redacted>", 10) == 0) ||
			     fuzz_same(L, -1, c, depth + 1);
			lua_pop(L, 2);
		}
	} else {
		ok = 0;
	}
	if (t != idx)
		lua_pop(L, 1);
	return ok;
}

/* Parses json (len bytes) strictly, or aborts; the caller frees it. */
static jt_doc *fuzz_parse(const char *json, size_t len, const char *what)
{
	char err[256];
	jt_limits lim = {(size_t)64 << 20, 128, 10000000};
	jt_doc *d = json_tree_parse(json, len, &lim, err, sizeof(err));
	if (!d)
		fprintf(stderr, "fuzz: %s wrote JSON that does not parse: %s\n%.400s\n", what, err, json);
	FUZZ_ASSERT(d != NULL, what);
	return d;
}

#endif
