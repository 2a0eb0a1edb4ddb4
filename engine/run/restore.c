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

#include "account.h"
#include "allowlist.h"
#include "buf.h"
#include "creds.h"
#include "digest.h"
#include "model.h"
#include "undo.h"

#define JOURNAL_PREFIX "journal/by-finding/"
#define PLAYBOOK_MAX ((size_t)1 << 20) /* a playbook file hashed for a step's own undo */
#define RESTORE_SESSION_NAME "deadbolt-restore"
#define REGION_MAX 32

typedef struct restore_io {
	sandbox *sb;          /* restore mode */
	aws_client *store;    /* the journal's objects; NULL: none */
	const restore_opts *o;
	aws_client *acting;   /* the client the sandbox's calls go through; NULL: cannot assume */
	aws_credentials creds; /* the role the journal's runs assumed, once assumed; wiped at the end */
	int assumed;
	char region[REGION_MAX + 1]; /* where the journal's runs acted; "": the client's own */
	char home[64];        /* acting's region before: the journal's objects', and acting's after */
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
 * restore's bucket under journal/by-finding/; as call otherwise. The
 * journal's objects are the caller's own: with its own credentials, even
 * when the restore's calls act as a member account's role. */
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
	int own = io->assumed && io->store == io->acting, rc = -1;
	int home = io->region[0] && io->home[0] && io->store == io->acting;
	aws_error_clear(&err);
	if (own)
		aws_client_use_credentials(io->store, NULL);
	if (home)
		aws_client_set_region(io->store, io->home);
	if (!io->store)
		aws_error_set(&err, "NotConnected", "no AWS client for the artifact bucket");
	else if (op)
		rc = aws_call(io->store, L, op, 2, &err);
	if (own)
		aws_client_use_credentials(io->store, &io->creds);
	if (home)
		aws_client_set_region(io->store, io->region);
	if (rc == 0)
		return 1;
	lua_pushnil(L);
	lua_pushstring(L, err.message);
	lua_pushstring(L, err.code);
	return 3;
}

/* A region name's shape: lower-case words of letters and digits joined by
 * '-', the first two letters, the last digits ("us-east-1",
 * "us-gov-west-1", "cn-north-1"), at most REGION_MAX characters. */
static int region_shape_ok(const char *s, size_t n)
{
	size_t parts = 1;
	if (n < 4 || n > REGION_MAX || strlen(s) != n || strspn(s, "abcdefghijklmnopqrstuvwxyz") < 2 ||
	    s[2] != '-' || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] != '-')
			continue;
		if (s[i - 1] == '-' || i + 1 == n)
			return 0;
		parts++;
	}
	const char *last = strrchr(s, '-') + 1;
	return parts >= 3 && strspn(last, "0123456789") == strlen(last);
}

/* region(name): every later call of the restore (but the journal's own
 * objects, which stay in the client's own region) goes to name, the region
 * the journal's runs acted in; the role of assume is assumed there too.
 * true, or nil and why (not a region name, or a region set already).
 * Upvalue: the restore_io. */
static int l_region(lua_State *L)
{
	restore_io *io = lua_touserdata(L, lua_upvalueindex(1));
	size_t n;
	const char *name = luaL_checklstring(L, 1, &n);
	lua_pushnil(L);
	if (io->region[0] || io->assumed) {
		lua_pushliteral(L, "the region is set once, before a role is assumed");
		return 2;
	}
	if (!region_shape_ok(name, n)) {
		lua_pushfstring(L, "the journal's region \"%s\" is not a region name, so nothing is restored",
				n > REGION_MAX ? "(too long)" : name);
		return 2;
	}
	lua_pop(L, 1);
	memcpy(io->region, name, n + 1);
	if (io->acting)
		aws_client_set_region(io->acting, io->region);
	lua_pushboolean(L, 1);
	return 1;
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

/* The role name of arn:PARTITION:iam::ACCOUNT:role/NAME (a 12-digit
 * account, no path), or NULL. */
static const char *role_name_of(const char *arn)
{
	const char *s = arn;
	if (strncmp(s, "arn:", 4) != 0)
		return NULL;
	s = strchr(s + 4, ':');
	if (!s || strncmp(s, ":iam::", 6) != 0)
		return NULL;
	s += 6;
	for (int i = 0; i < 12; i++, s++)
		if (*s < '0' || *s > '9')
			return NULL;
	if (strncmp(s, ":role/", 6) != 0 || strchr(s + 6, '/'))
		return NULL;
	return s + 6;
}

/* Checks that role is config.lua's accounts.role_name in some account and
 * fills the AssumeRole parameters from the settings. 0, or -1 with why. */
static int assume_params(restore_io *io, const char *role, account_state *a,
			 creds_assume_role_params *p, char *why, size_t n)
{
	const char *name = role_name_of(role);
	if (!io->o->playbook_dir ||
	    account_load_settings(a, io->sb, io->o->playbook_dir, why, n) != 0) {
		if (!io->o->playbook_dir)
			snprintf(why, n, "no playbook directory: config.lua's accounts section is unknown");
		return -1;
	}
	const account_settings *set = account_get_settings(a);
	if (!name || !set->role_name[0] || strcmp(name, set->role_name) != 0) {
		snprintf(why, n, "the journal's runs acted as %s, which is not config.lua's "
				 "accounts.role_name (%s): not assumed", role,
			 set->role_name[0] ? set->role_name : "none");
		return -1;
	}
	p->role_arn = role;
	p->session_name = RESTORE_SESSION_NAME;
	p->external_id = set->external_id[0] ? set->external_id : NULL;
	p->region = io->region[0] ? io->region : NULL; /* STS where the runs acted */
	p->duration_seconds = set->session_seconds;
	return 0;
}

/* assume(role): every later call of the restore (but the journal's own
 * objects) acts as role, the one the journal's runs assumed in their
 * finding's account, as config.lua's accounts section assumes it. true, or
 * nil and why. Upvalue: the restore_io. */
static int l_assume(lua_State *L)
{
	restore_io *io = lua_touserdata(L, lua_upvalueindex(1));
	const char *role = luaL_checkstring(L, 1);
	char why[768];
	aws_error err;
	creds_assume_role_params p;
	account_state *a = NULL;
	memset(&p, 0, sizeof(p));
	aws_error_clear(&err);
	if (io->assumed || !io->acting)
		snprintf(why, sizeof(why), "cannot act as %s: %s", role,
			 io->assumed ? "a role is assumed already" : "no AWS client to assume it with");
	else if (!(a = account_state_new()))
		snprintf(why, sizeof(why), "out of memory");
	else if (assume_params(io, role, a, &p, why, sizeof(why)) == 0) {
		if (aws_client_assume_role(io->acting, &p, &io->creds, &err) != 0) {
			creds_wipe(&io->creds);
			snprintf(why, sizeof(why), "cannot assume %s (%s: %.300s), so nothing is restored",
				 role, err.code, err.message);
		} else {
			aws_client_use_credentials(io->acting, &io->creds);
			io->assumed = 1;
			why[0] = '\0';
		}
	}
	account_state_free(a);
	if (io->assumed && !why[0]) {
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
	set_fn(L, "assume", l_assume, io);
	set_fn(L, "region", l_region, io);
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
	sandbox_run sr;
	sandbox_default_limits(&lim);
	lim.aws_calls = RESTORE_CALLS_MAX;
	lim.wall_seconds = RESTORE_WALL_SECONDS;
	sandbox *sb = sandbox_new(&lim, host, o->playbook_dir, err, errlen);
	if (!sb)
		return NULL;
	memset(&sr, 0, sizeof(sr));
	sr.artifact_bucket = o->bucket;
	sr.finding_id = o->finding;
	sr.topic_arn = o->topic;
	sr.config = config;
	sr.restore = 1;
	sandbox_set_run(sb, &sr);
	return sb;
}

/* restore_run_host, with acting the client host's calls go through (NULL:
 * none), whose credentials switch to the role the journal's runs assumed. */
static int restore_acting(const sandbox_host *host, aws_client *store, aws_client *acting,
			  const restore_opts *o, char *summary, size_t n, char *err, size_t errlen)
{
	int rc = -1;
	sandbox_config config;
	sandbox_limits lim;
	restore_io io;
	lua_State *L = NULL;
	memset(&io, 0, sizeof(io));
	io.store = store;
	io.o = o;
	io.acting = acting;
	if (acting)
		snprintf(io.home, sizeof(io.home), "%s", aws_client_region(acting));
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
	if (io.assumed)
		aws_client_use_credentials(acting, NULL);
	if (io.region[0] && acting)
		aws_client_set_region(acting, io.home); /* a Lambda's client serves later events */
	creds_wipe(&io.creds);
	sandbox_free(io.sb);
	sandbox_config_free(&config);
	return rc;
}

int restore_run_host(const sandbox_host *host, aws_client *store, const restore_opts *o,
		     char *summary, size_t n, char *err, size_t errlen)
{
	return restore_acting(host, store, NULL, o, summary, n, err, errlen);
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
	return restore_acting(&host, c, c, o, summary, n, err, errlen);
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
