/* fuzz_lua_value — the journal's Lua value walkers (jw_lua_exact, what
 * ctx.save writes, and jw_lua, what the journal writes for parameters)
 * against Lua values built from the input.
 *
 * The input is a small program for a stack machine that builds the value:
 * strings of any bytes, integers, floats (NaN and infinities included),
 * booleans, nil, json.null, tables with keys of every type, a table placed
 * twice (shared) or inside itself (a cycle), read-only views, functions.
 * What must hold: neither walker crashes, reads out of bounds or loops; the
 * exact walker either refuses or writes JSON that parses and holds exactly
 * the value (fuzz_same); the other always writes JSON that parses; the
 * exact walk's work stays within a bound of the value's size. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "journal.h"
#include "sandbox.h"

#define MAX_STACK 64

typedef struct input {
	const uint8_t *p, *end;
	sandbox *sb;
} input;

static int byte(input *in)
{
	return in->p < in->end ? *in->p++ : -1;
}

static int no_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	return -1;
}

/* Protected: arg the input. Builds values on the stack from the program
 * and leaves the first one built at index 2 (nil when none). */
static int build(lua_State *L)
{
	input *in = lua_touserdata(L, 1);
	int op, base = lua_gettop(L);
	lua_checkstack(L, MAX_STACK + 16);
	while ((op = byte(in)) >= 0) {
		int top = lua_gettop(L) - base, n, i;
		uint8_t raw[8];
		switch (op % 16) {
		case 0: /* a string of the next n bytes */
			n = byte(in);
			n = n < 0 ? 0 : n;
			if (in->end - in->p < n)
				n = (int)(in->end - in->p);
			lua_pushlstring(L, (const char *)in->p, (size_t)n);
			in->p += n;
			break;
		case 1: lua_pushinteger(L, (lua_Integer)(int8_t)byte(in) * (op >> 4 ? 1000003 : 1)); break;
		case 2: /* a double from 8 bytes: NaN, infinities, subnormals */
			for (i = 0; i < 8; i++)
				raw[i] = (uint8_t)byte(in);
			{
				double d;
				memcpy(&d, raw, sizeof(d));
				lua_pushnumber(L, d);
			}
			break;
		case 3: lua_pushboolean(L, op >> 4 & 1); break;
		case 4: lua_pushnil(L); break;
		case 5: lua_pushlightuserdata(L, NULL); break; /* json.null */
		case 6: lua_newtable(L); break;
		case 7: /* t[k] = v with t, k, v the top three (NaN and nil keys skipped) */
			if (top >= 3 && lua_istable(L, -3) && !lua_isnil(L, -2) &&
			    !(lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2)))
				lua_rawset(L, -3);
			else if (top >= 2)
				lua_pop(L, 2);
			break;
		case 8: /* t[#t+1] = v */
			if (top >= 2 && lua_istable(L, -2))
				lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
			else if (top >= 1)
				lua_pop(L, 1);
			break;
		case 9: /* the value k below the top, again: shared tables, cycles */
			n = byte(in);
			if (top >= 1)
				lua_pushvalue(L, -1 - (n < 0 ? 0 : n % top));
			break;
		case 10: /* a read-only view of the table on top */
			if (top >= 1 && lua_istable(L, -1))
				sandbox_make_readonly(in->sb, -1);
			break;
		case 11: lua_pushcfunction(L, build); break;
		case 12: if (top >= 1) lua_pop(L, 1); break;
		case 13: /* a long string: exercises the length paths */
			n = byte(in);
			lua_pushfstring(L, "%s", "");
			for (i = 0; i < (n < 0 ? 0 : n % 8); i++) {
				luaL_Buffer b;
				luaL_buffinit(L, &b);
				luaL_addvalue(&b);
				luaL_addlstring(&b, "AKIAabcdefghijklmnop0123456789+/ABCDEFGH", 40);
				luaL_pushresult(&b);
			}
			break;
		default: /* a key that looks secret, or PolicyDocument */
			lua_pushstring(L, op >> 4 & 1 ? "PolicyDocument" : "SecretAccessKey");
			break;
		}
		if (lua_gettop(L) - base > MAX_STACK)
			lua_pop(L, 1);
	}
	if (lua_gettop(L) == base)
		lua_pushnil(L);
	lua_settop(L, base + 1);
	return 1;
}

static void check_exact(lua_State *L, int idx)
{
	buf b;
	jw w;
	char err[300];
	size_t work = 0;
	buf_init(&b, (size_t)1 << 20);
	jw_init(&w, &b);
	if (jw_lua_exact(&w, L, idx, sandbox_view_data, &work, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(b.data != NULL, "exact writer wrote nothing");
		jt_doc *d = fuzz_parse(b.data, b.len, "jw_lua_exact");
		FUZZ_ASSERT(fuzz_same(L, idx, json_tree_root(d), 0), "jw_lua_exact is not exact");
		json_tree_free(d);
	} else {
		FUZZ_ASSERT(err[0] != '\0', "a refusal without a reason");
	}
	buf_free(&b);
}

static void check_redacted(lua_State *L, int idx)
{
	buf b;
	jw w;
	buf_init(&b, (size_t)1 << 20);
	jw_init(&w, &b);
	jw_lua(&w, L, idx, 1);
	if (!jw_failed(&w) && b.data) {
		jt_doc *d = fuzz_parse(b.data, b.len, "jw_lua");
		json_tree_free(d);
	}
	buf_free(&b);
}

/* One sandbox for many inputs (a fresh one costs more than most inputs):
 * made again every RENEW inputs, or once a budget ran out. */
#define RENEW 500

static sandbox *sb;
static int uses;

static sandbox *get_sandbox(void)
{
	char err[256];
	if (sb && (uses++ >= RENEW || sandbox_budget_hit(sb))) {
		sandbox_free(sb);
		sb = NULL;
	}
	if (!sb) {
		sandbox_host host = {no_call, NULL, NULL};
		sandbox_limits lim;
		sandbox_default_limits(&lim);
		lim.memory_bytes = (size_t)16 << 20;
		lim.instructions = (uint64_t)1 << 40;
		lim.wall_seconds = 1e6;
		sb = sandbox_new(&lim, &host, NULL, err, sizeof(err));
		FUZZ_ASSERT(sb != NULL, err);
		uses = 0;
	}
	return sb;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	input in = {data, data + size, get_sandbox()};
	lua_State *L = sandbox_lua(in.sb);
	lua_settop(L, 0);
	lua_pushcfunction(L, build);
	lua_pushlightuserdata(L, &in);
	if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
		check_exact(L, -1);
		check_redacted(L, -1);
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCCOLLECT); /* as many frees as mallocs: no leak check to run */
	return 0;
}
