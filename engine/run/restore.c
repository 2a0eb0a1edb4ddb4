/* restore — see restore.h. The logic is engine/run/undo.lua's M.main; this
 * file gives it the AWS client and the output streams. */
#include "restore.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"
#include "model.h"
#include "undo.h"

/* call(op, params): the result, or nil, message, code. Upvalue: the client. */
static int l_call(lua_State *L)
{
	aws_client *c = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	const char *dot = strchr(name, '.');
	char service[64];
	aws_error err;
	luaL_checktype(L, 2, LUA_TTABLE);
	if (!dot || (size_t)(dot - name) >= sizeof(service))
		return luaL_error(L, "bad operation %s", name);
	memcpy(service, name, (size_t)(dot - name));
	service[dot - name] = '\0';
	const aws_operation *op = model_find_operation(service, dot + 1);
	if (!op)
		return luaL_error(L, "%s is not in the service model", name);
	aws_error_clear(&err);
	lua_settop(L, 2);
	if (aws_call(c, L, op, 2, &err) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, err.message);
		lua_pushstring(L, err.code);
		return 3;
	}
	return 1;
}

/* emit(line) and say(text): a line to the FILE upvalue, if any. */
static int l_line(lua_State *L)
{
	FILE *f = lua_touserdata(L, lua_upvalueindex(1));
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (f) {
		fwrite(s, 1, n, f);
		fputc('\n', f);
		fflush(f);
	}
	return 0;
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn, void *up)
{
	lua_pushlightuserdata(L, up);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, -2, name);
}

static void set_str(lua_State *L, const char *name, const char *v)
{
	if (v && *v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, name);
	}
}

/* Protected: args the options (light), the client (light); pushes the
 * counts table. */
static int main_protected(lua_State *L)
{
	const restore_opts *o = lua_touserdata(L, 1);
	aws_client *c = lua_touserdata(L, 2);
	if (undo_load(L) != 0)
		return lua_error(L);
	lua_getfield(L, -1, "main");
	lua_newtable(L);
	set_fn(L, "call", l_call, c);
	set_fn(L, "emit", l_line, o->journal);
	set_fn(L, "say", l_line, o->say);
	lua_pushboolean(L, o->dry_run);
	lua_setfield(L, -2, "dry_run");
	lua_pushboolean(L, o->force);
	lua_setfield(L, -2, "force");
	lua_pushboolean(L, o->remove_groups);
	lua_setfield(L, -2, "remove_groups");
	if (o->text) {
		lua_pushlstring(L, o->text, o->len);
		lua_setfield(L, -2, "text");
	}
	set_str(L, "bucket", o->bucket);
	set_str(L, "finding", o->finding);
	set_str(L, "topic", o->topic);
	set_str(L, "source", o->source);
	/* What a journal's undo may call: each write's undo as the allow-list
	 * names it, the write itself (putting back an earlier value: a tag, a
	 * policy, a block) and, where the write's "why" says "or deletes",
	 * DeletePublicAccessBlock (no block at all before). */
	lua_newtable(L);
	for (size_t i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		if (e->access != ALLOW_WRITE || !e->undo)
			continue;
		lua_pushfstring(L, "%s.%s", e->service, e->undo);
		lua_pushboolean(L, 1);
		lua_settable(L, -3);
		lua_pushfstring(L, "%s.%s", e->service, e->operation);
		lua_pushboolean(L, 1);
		lua_settable(L, -3);
	}
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "s3.DeletePublicAccessBlock");
	lua_setfield(L, -2, "allowed");
	lua_call(L, 1, 1);
	return 1;
}

static lua_State *host_state(void)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	luaL_openlibs(L);
	luaL_requiref(L, "cjson", luaopen_cjson, 1);
	lua_pop(L, 1);
	return L;
}

static int counts_ok(lua_State *L, int t)
{
	static const char *const bad[] = {"changed", "refused", "failed"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lua_getfield(L, t, bad[i]);
		lua_Integer v = lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (v > 0)
			return 0;
	}
	return 1;
}

int restore_run(aws_client *c, const restore_opts *o, char *summary, size_t n, char *err,
		size_t errlen)
{
	int rc = -1;
	lua_State *L = host_state();
	if (summary && n)
		summary[0] = '\0';
	if (!L) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!o->text && (!o->bucket || !o->finding)) {
		snprintf(err, errlen, "a journal, or an artifact bucket and a finding id, are needed");
		goto out;
	}
	lua_pushcfunction(L, main_protected);
	lua_pushlightuserdata(L, (void *)o);
	lua_pushlightuserdata(L, c);
	if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		goto out;
	}
	lua_getfield(L, -1, "summary");
	if (summary && n)
		snprintf(summary, n, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
	lua_pop(L, 1);
	rc = counts_ok(L, lua_gettop(L)) ? 0 : 1;
out:
	lua_close(L);
	return rc;
}

static int put_object(aws_client *c, const char *bucket, const char *key, const buf *data,
		      lua_State *L, aws_error *err)
{
	const aws_operation *op = model_find_operation("s3", "PutObject");
	if (!op) {
		aws_error_set(err, "UnknownOperation", "s3.PutObject is not in the model");
		return -1;
	}
	lua_createtable(L, 0, 4);
	lua_pushstring(L, bucket);
	lua_setfield(L, -2, "Bucket");
	lua_pushstring(L, key);
	lua_setfield(L, -2, "Key");
	lua_pushlstring(L, data->data ? data->data : "", data->len);
	lua_setfield(L, -2, "Body");
	lua_pushliteral(L, "application/x-ndjson");
	lua_setfield(L, -2, "ContentType");
	int rc = aws_call(c, L, op, lua_gettop(L), err);
	lua_settop(L, 0);
	return rc;
}

/* Protected: arg the journal; pushes the list of finding ids. */
static int findings_protected(lua_State *L)
{
	if (undo_load(L) != 0)
		return lua_error(L);
	lua_getfield(L, -1, "findings_changed");
	lua_pushvalue(L, 1);
	lua_call(L, 1, 1);
	return 1;
}

int restore_index_journal(aws_client *c, const char *bucket, const char *name, const buf *journal,
			  aws_error *err)
{
	char key[512], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc = 0;
	lua_State *L = host_state();
	if (!L) {
		aws_error_set(err, "InternalError", "journal index: out of memory");
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	lua_pushcfunction(L, findings_protected);
	lua_pushlstring(L, journal->data ? journal->data : "", journal->len);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		aws_error_set(err, "InternalError", "journal index: %s", lua_tostring(L, -1));
		lua_close(L);
		return -1;
	}
	lua_State *P = luaL_newstate(); /* the calls' own state: the list stays in L */
	lua_Integer count = P ? luaL_len(L, -1) : 0;
	if (!P) {
		aws_error_set(err, "InternalError", "journal index: out of memory");
		rc = -1;
	}
	for (lua_Integer i = 1; i <= count; i++) {
		aws_error one;
		lua_rawgeti(L, -1, i);
		snprintf(key, sizeof(key), "journal/by-finding/%s/%s-%s.jsonl", lua_tostring(L, -1), when,
			 name);
		lua_pop(L, 1);
		aws_error_clear(&one);
		if (put_object(c, bucket, key, journal, P, &one) != 0 && rc == 0) {
			*err = one;
			rc = -1;
		}
	}
	if (P)
		lua_close(P);
	lua_close(L);
	return rc;
}
