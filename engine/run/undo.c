/* undo — the runner's side of the undo records: every call a live run sent
 * is shown to engine/run/undo.lua (in the runner's host state r->H), which
 * keeps the reads as the state before and turns each write into undo
 * records; each record becomes one journal line "undo". See undo.h. */
#include "undo.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "journal.h"
#include "model.h"
#include "run_int.h"

static const char module_key = 'u'; /* registry of r->H: the loaded module */

int undo_load(lua_State *L)
{
	if (luaL_loadbufferx(L, UNDO_LUA, UNDO_LUA_LEN, "=undo.lua", "t") != LUA_OK)
		return -1;
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, "cjson");
	lua_remove(L, -2);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK)
		return -1;
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_pushliteral(L, "undo.lua did not return a table");
		return -1;
	}
	return 0;
}

/* In the host state, protected: args run id, op, access, params, result,
 * error code; returns observe's list of JSON strings. */
static int observe_protected(lua_State *H)
{
	lua_rawgetp(H, LUA_REGISTRYINDEX, &module_key);
	if (!lua_istable(H, -1)) {
		lua_pop(H, 1);
		luaL_requiref(H, "table", luaopen_table, 1);
		lua_pop(H, 1);
		if (undo_load(H) != 0)
			return lua_error(H);
		lua_pushvalue(H, -1);
		lua_rawsetp(H, LUA_REGISTRYINDEX, &module_key);
	}
	lua_getfield(H, -1, "observe");
	for (int i = 1; i <= 6; i++)
		lua_pushvalue(H, i);
	lua_call(H, 6, 1);
	return 1;
}

static void journal_records(run *rn, const char *step, lua_State *H, int list)
{
	lua_Integer n = luaL_len(H, list);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(H, list, i);
		const char *rec = lua_tostring(H, -1);
		if (rec) {
			jw *w = journal_line(rn->r->j, "undo");
			jw_field_str(w, "step", step);
			jw_key(w, "undo");
			jw_raw(w, rec);
			journal_emit(rn->r->j);
		}
		lua_pop(H, 1);
	}
}

void undo_observe(run *rn, const char *step, const allow_entry *e, const buf *params, lua_State *L,
		  int rc, const aws_error *err)
{
	runner *r = rn->r;
	lua_State *H = r->H;
	buf result = BUF_INIT;
	char id[64], op[200];
	if (r->o.dry_run || !H)
		return;
	if (rc == 0 && lua_gettop(L) > 0) {
		jw w;
		jw_init(&w, &result);
		jw_lua(&w, L, -1, 1);
		if (jw_failed(&w))
			buf_reset(&result);
	}
	snprintf(id, sizeof(id), "%p:%d", (void *)rn, r->seen);
	snprintf(op, sizeof(op), "%s.%s", e->service, e->operation);
	int top = lua_gettop(H);
	lua_pushcfunction(H, observe_protected);
	lua_pushstring(H, id);
	lua_pushstring(H, op);
	lua_pushstring(H, e->access == ALLOW_WRITE ? "write" : "read");
	lua_pushstring(H, params->len ? params->data : "{}");
	if (result.len)
		lua_pushlstring(H, result.data, result.len);
	else
		lua_pushnil(H);
	if (rc != 0 && err && err->code[0])
		lua_pushstring(H, err->code);
	else if (rc != 0)
		lua_pushliteral(H, "error");
	else
		lua_pushnil(H);
	if (lua_pcall(H, 6, 1, 0) == LUA_OK && lua_istable(H, -1)) {
		journal_records(rn, step, H, lua_gettop(H));
	} else {
		jw *w = journal_line(r->j, "undo_error");
		jw_field_str(w, "step", step);
		jw_field_str(w, "op", op);
		jw_field_str(w, "error", lua_tostring(H, -1));
		journal_emit(r->j);
	}
	lua_settop(H, top);
	buf_free(&result);
}
