/* restore — see restore.h. The logic is engine/run/undo.lua's M.main; this
 * file gives it the two ways out: call, every AWS call of the restore, which
 * goes through a sandbox in restore mode (sandbox_host_call: the allow-list,
 * the undo-only writes, the argument rules, each undo judged against the
 * journal's record of the thing it puts back), and store, the journal's own
 * objects in the artifact bucket (journal/by-finding/ only), which the host
 * reads and writes as it archives a run's journal. */
#include "restore.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"
#include "buf.h"
#include "digest.h"
#include "model.h"
#include "undo.h"

#define JOURNAL_PREFIX "journal/by-finding/"
#define PLAYBOOK_MAX ((size_t)1 << 20) /* a playbook file hashed for a step's own undo */

typedef struct restore_io {
	sandbox *sb;          /* restore mode */
	aws_client *store;    /* the journal's objects; NULL: none */
	const restore_opts *o;
} restore_io;

/* "svc.Op" split into service (n bytes) and the operation; NULL when bad. */
static const char *split_name(lua_State *L, const char *name, char *service, size_t n)
{
	const char *dot = strchr(name, '.');
	if (!dot || (size_t)(dot - name) >= n)
		return NULL;
	memcpy(service, name, (size_t)(dot - name));
	service[dot - name] = '\0';
	return dot + 1;
}

/* call(op, params[, facts]): the result, or nil, message, code (code
 * "Deadbolt.Refused" when the sandbox refused it). facts: the journal's
 * records of the thing an undo puts back, { [key] = { before, after } }.
 * Upvalue: the restore_io. */
static int call_or_judge(lua_State *L, int judge)
{
	restore_io *io = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	char service[64], why[768];
	aws_error err;
	const char *op = split_name(L, name, service, sizeof(service));
	luaL_checktype(L, 2, LUA_TTABLE);
	if (!op)
		return luaL_error(L, "bad operation %s", name);
	lua_settop(L, 3);
	aws_error_clear(&err);
	int facts = lua_istable(L, 3) ? 3 : 0;
	int rc = judge ? sandbox_host_judge(io->sb, service, op, L, 2, facts, &err, why, sizeof(why))
		       : sandbox_host_call(io->sb, service, op, L, 2, facts, &err, why, sizeof(why));
	if (rc == 0 && judge)
		lua_pushboolean(L, 1);
	if (rc == 0)
		return 1;
	lua_pushnil(L);
	lua_pushstring(L, rc == -2 ? why : err.message);
	lua_pushstring(L, rc == -2 ? "Deadbolt.Refused" : err.code);
	return 3;
}

static int l_call(lua_State *L)
{
	return call_or_judge(L, 0);
}

/* judge(op, params[, facts]): as call, but the call is only judged (a dry
 * run's plan): true, or nil, message, code. */
static int l_judge(lua_State *L)
{
	return call_or_judge(L, 1);
}

/* store(op, params): s3 ListObjectsV2, GetObject or PutObject of the
 * restore's bucket under journal/by-finding/; as call otherwise. */
static int l_store(lua_State *L)
{
	restore_io *io = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	aws_error err;
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	int list = strcmp(name, "s3.ListObjectsV2") == 0;
	if (!list && strcmp(name, "s3.GetObject") != 0 && strcmp(name, "s3.PutObject") != 0)
		return luaL_error(L, "store: %s is not a journal read or write", name);
	lua_getfield(L, 2, "Bucket");
	lua_getfield(L, 2, list ? "Prefix" : "Key");
	const char *bucket = lua_tostring(L, -2), *key = lua_tostring(L, -1);
	if (!io->o->bucket || !bucket || strcmp(bucket, io->o->bucket) != 0 || !key ||
	    strncmp(key, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) != 0 || strstr(key, ".."))
		return luaL_error(L, "store: only the artifact bucket's " JOURNAL_PREFIX);
	lua_settop(L, 2);
	const aws_operation *op = model_find_operation("s3", name + 3);
	aws_error_clear(&err);
	if (!io->store)
		aws_error_set(&err, "NotConnected", "no AWS client for the artifact bucket");
	else if (op && aws_call(io->store, L, op, 2, &err) == 0)
		return 1;
	lua_pushnil(L);
	lua_pushstring(L, err.message);
	lua_pushstring(L, err.code);
	return 3;
}

/* The SHA-256 (hex) of dir/file, a plain file name. 0, or -1. */
static int file_sha(const char *dir, const char *file, char out[65])
{
	char path[4096], chunk[8192];
	buf text = BUF_INIT;
	size_t n;
	int rc = -1;
	FILE *f = NULL;
	if (!file[0] || file[0] == '.' || strchr(file, '/') ||
	    snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	if (!(f = fopen(path, "rb")))
		goto out;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (text.len + n > PLAYBOOK_MAX || buf_append(&text, chunk, n) != 0)
			goto out;
	if (ferror(f))
		goto out;
	digest_sha256_hex(text.data ? text.data : "", text.len, out);
	rc = out[0] ? 0 : -1;
out:
	if (f)
		fclose(f);
	buf_free(&text);
	return rc;
}

/* custom(file, sha256, step, saved, facts): a step's own undo, in the
 * sandbox in restore mode (sandbox_run_undo), from the playbook file the
 * containment ran (the same SHA-256, else it is not run). true, or nil and
 * why. Upvalue: the restore_io. */
static int l_custom(lua_State *L)
{
	restore_io *io = lua_touserdata(L, lua_upvalueindex(1));
	const char *file = luaL_checkstring(L, 1), *sha = luaL_checkstring(L, 2);
	const char *step = luaL_checkstring(L, 3);
	char why[768], now[65];
	luaL_checktype(L, 4, LUA_TTABLE);
	luaL_checktype(L, 5, LUA_TTABLE);
	lua_settop(L, 5);
	if (!io->o->playbook_dir)
		snprintf(why, sizeof(why), "no playbook directory: step %s's own undo cannot run", step);
	else if (file_sha(io->o->playbook_dir, file, now) != 0 || strcmp(now, sha) != 0)
		snprintf(why, sizeof(why), "playbook %s is not the one the containment ran (sha256 %.16s): "
			 "step %s's own undo is not run", file, sha, step);
	else if (sandbox_run_undo(io->sb, file, step, L, 4, 5, why, sizeof(why)) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, why);
	return 2;
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

static void allow(lua_State *L, const char *service, const char *op)
{
	lua_pushfstring(L, "%s.%s", service, op);
	lua_pushboolean(L, 1);
	lua_settable(L, -3);
}

/* What a journal's undo may name: each write's undo as the allow-list
 * names it, the write itself (putting back an earlier value: a tag, a
 * policy, a block) and the undo-only writes. The sandbox then judges each
 * call's arguments. */
static void push_allowed(lua_State *L)
{
	lua_newtable(L);
	for (size_t i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		if (e->access != ALLOW_WRITE || !e->undo)
			continue;
		allow(L, e->service, e->undo);
		allow(L, e->service, e->operation);
	}
	for (size_t i = 0; i < allowlist_undo_count(); i++)
		allow(L, allowlist_undo_at(i)->service, allowlist_undo_at(i)->operation);
}

/* Protected: args the options (light), the restore_io (light); pushes the
 * counts table. */
static int main_protected(lua_State *L)
{
	const restore_opts *o = lua_touserdata(L, 1);
	restore_io *io = lua_touserdata(L, 2);
	if (undo_load(L) != 0)
		return lua_error(L);
	lua_getfield(L, -1, "main");
	lua_newtable(L);
	set_fn(L, "call", l_call, io);
	set_fn(L, "store", l_store, io);
	set_fn(L, "judge", l_judge, io);
	set_fn(L, "custom", l_custom, io);
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
	push_allowed(L);
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

/* The restore's sandbox: restore mode, the notification topic, config.lua's
 * revoke policy name (config: may be empty). NULL with err on failure. */
static sandbox *restore_sandbox(const sandbox_host *host, const restore_opts *o,
				const sandbox_config *config, char *err, size_t errlen)
{
	sandbox_limits lim;
	sandbox_run run;
	sandbox_default_limits(&lim);
	lim.aws_calls = RESTORE_CALLS_MAX;
	lim.wall_seconds = RESTORE_WALL_SECONDS;
	sandbox *sb = sandbox_new(&lim, host, o->playbook_dir, err, errlen);
	if (!sb)
		return NULL;
	memset(&run, 0, sizeof(run));
	run.artifact_bucket = o->bucket;
	run.finding_id = o->finding;
	run.topic_arn = o->topic;
	run.config = config;
	run.restore = 1;
	sandbox_set_run(sb, &run);
	return sb;
}

int restore_run_host(const sandbox_host *host, aws_client *store, const restore_opts *o,
		     char *summary, size_t n, char *err, size_t errlen)
{
	int rc = -1;
	sandbox_config config;
	sandbox_limits lim;
	restore_io io = {NULL, store, o};
	lua_State *L = NULL;
	memset(&config, 0, sizeof(config));
	if (summary && n)
		summary[0] = '\0';
	if (!o->text && (!o->bucket || !o->finding)) {
		snprintf(err, errlen, "a journal, or an artifact bucket and a finding id, are needed");
		goto out;
	}
	sandbox_default_limits(&lim);
	if (o->playbook_dir && sandbox_config_read(&lim, o->playbook_dir, NULL, &config, err, errlen) != 0)
		goto out;
	if (!(io.sb = restore_sandbox(host, o, &config, err, errlen)))
		goto out;
	if (!(L = host_state())) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	lua_pushcfunction(L, main_protected);
	lua_pushlightuserdata(L, (void *)o);
	lua_pushlightuserdata(L, &io);
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
	if (L)
		lua_close(L);
	sandbox_free(io.sb);
	sandbox_config_free(&config);
	return rc;
}

/* The sandbox's host of a restore: each call sent by the client. */
static int client_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	const aws_operation *op = model_find_operation(e->service, e->operation);
	if (!op) {
		aws_error_set(err, "UnknownOperation", "%s.%s is not in the service model", e->service,
			      e->operation);
		return -1;
	}
	return aws_call(ud, L, op, params, err);
}

static void quiet_log(void *ud, const char *level, const char *msg)
{
	(void)ud, (void)level, (void)msg;
}

int restore_run(aws_client *c, const restore_opts *o, char *summary, size_t n, char *err,
		size_t errlen)
{
	sandbox_host host = {client_call, quiet_log, c};
	return restore_run_host(&host, c, o, summary, n, err, errlen);
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
