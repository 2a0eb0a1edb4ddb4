/* readonly — read-only views of tables, and plain copies of them.
 *
 * A view is an empty table whose protected metatable holds the data:
 *
 *   { __index = data, __newindex = refuse, __len = #data,
 *     __pairs = iterate data, __metatable = false }
 *
 * The data table is never handed out (pairs gives a C iterator, not
 * next+data), so nothing can write to it, and rawset on the view itself is
 * refused by the sandbox's rawset. Normal indexing, pairs, ipairs and #
 * work; rawget, rawlen and next see an empty table: playbooks use normal
 * indexing on what the host gives them.
 *
 * A plain copy is what json.encode and the primitives hand to C code that
 * reads tables raw: views unwrapped, metatables dropped, size bounded. */
#include "sandbox_int.h"

#include <lauxlib.h>

#define RO_MAX_DEPTH 100
#define PLAIN_BYTES_PER_UNIT 4

static int ro_newindex(lua_State *L)
{
	return luaL_error(L, "attempt to modify a read-only table");
}

int sandbox_is_readonly(lua_State *L, int idx)
{
	int ro;
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return 0;
	lua_pushliteral(L, "__newindex");
	lua_rawget(L, -2);
	ro = lua_tocfunction(L, -1) == ro_newindex;
	lua_pop(L, 2);
	return ro;
}

/* Pushes the data behind the view at idx (which must be one). */
static void push_data(lua_State *L, int idx)
{
	lua_getmetatable(L, idx);
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_remove(L, -2);
}

int sandbox_view_data(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (!lua_checkstack(L, 3) || !sandbox_is_readonly(L, idx))
		return 0;
	push_data(L, idx);
	return 1;
}

static int ro_len(lua_State *L)
{
	push_data(L, 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
	return 1;
}

/* The iterator pairs returns: next over the data, given the view. */
static int ro_next(lua_State *L)
{
	luaL_argexpected(L, sandbox_is_readonly(L, 1), 1, "read-only table");
	lua_settop(L, 2);
	push_data(L, 1);
	lua_insert(L, 2); /* stack: view, data, key */
	if (lua_next(L, 2))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int ro_pairs(lua_State *L)
{
	lua_pushcfunction(L, ro_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* Pushes an empty view of the table at t. */
static void push_view(lua_State *L, int t)
{
	static const luaL_Reg meta[] = {
		{"__newindex", ro_newindex},
		{"__len", ro_len},
		{"__pairs", ro_pairs},
		{NULL, NULL},
	};
	lua_newtable(L);
	lua_createtable(L, 0, 5);
	luaL_setfuncs(L, meta, 0);
	lua_pushvalue(L, t);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

/* Pushes the view of table t, its nested tables made views first; memo
 * maps a table to its view (shared and cyclic tables). */
static void wrap(lua_State *L, int t, int memo, int depth)
{
	if (sandbox_is_readonly(L, t)) {
		lua_pushvalue(L, t);
		return;
	}
	lua_pushvalue(L, t);
	if (lua_rawget(L, memo) != LUA_TNIL)
		return;
	lua_pop(L, 1);
	if (depth > RO_MAX_DEPTH)
		luaL_error(L, "read-only view: tables nested too deep");
	luaL_checkstack(L, 8, "read-only view");
	push_view(L, t);
	lua_pushvalue(L, t);
	lua_pushvalue(L, -2);
	lua_rawset(L, memo);
	lua_pushnil(L);
	while (lua_next(L, t)) { /* stack: view, key, value */
		if (lua_type(L, -1) == LUA_TTABLE) {
			wrap(L, lua_gettop(L), memo, depth + 1);
			lua_pushvalue(L, -3);
			lua_insert(L, -2);
			lua_rawset(L, t); /* an existing field: allowed during lua_next */
		}
		lua_pop(L, 1);
	}
}

void sandbox_readonly(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_newtable(L);
	wrap(L, idx, lua_gettop(L), 0);
	lua_replace(L, idx);
	lua_pop(L, 1);
}

void sandbox_make_readonly(sandbox *sb, int idx)
{
	sandbox_readonly(sb->L, idx);
}

/* ---- plain copies ---- */

/* Charges n bytes of the copy, and a unit of instructions every
 * PLAIN_BYTES_PER_UNIT of them: what the C code given the copy (cjson, the
 * host's JSON writer) will spend on it. */
static void spend(lua_State *L, const char *what, size_t *budget, size_t n)
{
	sandbox_charge(L, n / PLAIN_BYTES_PER_UNIT + 1);
	if (n > *budget)
		luaL_error(L, "%s: value too large", what);
	*budget -= n;
}

typedef struct plain_ctx {
	const char *what;
	int max_depth;
	size_t str_factor;
	size_t *budget;
} plain_ctx;

static void plain(lua_State *L, int idx, const plain_ctx *c, int depth);

static void plain_table(lua_State *L, int idx, const plain_ctx *c, int depth)
{
	int src = idx, dst;

	if (depth >= c->max_depth)
		luaL_error(L, "%s: tables nested too deep (or a cycle)", c->what);
	luaL_checkstack(L, 6, c->what);
	if (sandbox_is_readonly(L, idx)) {
		push_data(L, idx);
		src = lua_gettop(L);
	}
	lua_newtable(L);
	dst = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, src)) { /* stack: [data], copy, key, value */
		int t = lua_type(L, -2);
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			luaL_error(L, "%s: table keys must be strings or numbers", c->what);
		plain(L, lua_gettop(L) - 1, c, depth + 1);
		plain(L, lua_gettop(L) - 1, c, depth + 1);
		lua_rawset(L, dst);
		lua_pop(L, 1);
	}
	if (src != idx)
		lua_remove(L, src);
}

static void plain(lua_State *L, int idx, const plain_ctx *c, int depth)
{
	size_t len;
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		lua_tolstring(L, idx, &len);
		spend(L, c->what, c->budget, len * c->str_factor + 2);
		lua_pushvalue(L, idx);
		return;
	case LUA_TNIL:
	case LUA_TBOOLEAN:
	case LUA_TNUMBER:
	case LUA_TLIGHTUSERDATA: /* json.null */
		spend(L, c->what, c->budget, 32);
		lua_pushvalue(L, idx);
		return;
	case LUA_TTABLE:
		spend(L, c->what, c->budget, 32);
		plain_table(L, idx, c, depth);
		return;
	default:
		luaL_error(L, "%s: cannot take a %s value", c->what, luaL_typename(L, idx));
	}
}

void sandbox_push_plain(lua_State *L, int idx, const char *what, int max_depth,
			size_t str_factor, size_t *budget)
{
	plain_ctx c = {what, max_depth, str_factor, budget};
	plain(L, lua_absindex(L, idx), &c, 0);
}
