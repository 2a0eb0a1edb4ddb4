/* prims — the AWS primitives: one global table per service, one method per
 * allow-list entry, named as boto3 names it (CreateSnapshot ->
 * ec2.create_snapshot). Each method is a closure over its entry; a call
 * counts against the "aws calls" budget, is judged on a plain copy of the
 * parameters by its entry's rule (rules.c: a refusal raises "<name> refused
 * by rule <rule>: <why>" and nothing is sent), hands the host that copy, and
 * raises an AWS failure as an error table
 * { code, message, status, request_id, op } whose tostring is
 * "code: message (op)". The service tables are read-only. */
#include "sandbox_int.h"

#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#define PARAMS_DEPTH 64
#define PARAMS_MAX ((size_t)32 << 20) /* bytes of strings, plus 32 a value */

/* ---- boto3 names: botocore.xform_name ---- */

/* A trailing acronym plural, "ListARNs" -> "List_arns" ([A-Z]{2,}s$). */
static void split_plural(const char *in, char *out)
{
	size_t n = strlen(in), j = n > 0 ? n - 1 : 0, i;
	if (n >= 3 && in[n - 1] == 's') {
		while (j > 0 && isupper((unsigned char)in[j - 1]))
			j--;
		if (n - 1 - j >= 2) {
			memcpy(out, in, j);
			out[j] = '_';
			for (i = j; i < n; i++)
				out[i + 1] = (char)tolower((unsigned char)in[i]);
			out[n + 1] = '\0';
			return;
		}
	}
	memcpy(out, in, n + 1);
}

/* (.)([A-Z][a-z]+) -> \1_\2, left to right, matches not overlapping. */
static void split_words(const char *in, char *out)
{
	size_t i = 0, o = 0;
	while (in[i]) {
		if (in[i + 1] && isupper((unsigned char)in[i + 1]) && islower((unsigned char)in[i + 2])) {
			out[o++] = in[i++];
			out[o++] = '_';
			out[o++] = in[i++];
			while (islower((unsigned char)in[i]))
				out[o++] = in[i++];
		} else {
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
}

/* ([a-z0-9])([A-Z]) -> \1_\2, then lower case. */
static void split_caps(const char *in, char *out)
{
	size_t i = 0, o = 0;
	while (in[i]) {
		int c = (unsigned char)in[i];
		if ((islower(c) || isdigit(c)) && isupper((unsigned char)in[i + 1])) {
			out[o++] = (char)c;
			out[o++] = '_';
			i++;
		} else {
			out[o++] = (char)tolower(c);
			i++;
		}
	}
	out[o] = '\0';
}

int sandbox_snake_name(const char *op, char *out, size_t outlen)
{
	char a[SANDBOX_NAME_MAX + 2], b[2 * SANDBOX_NAME_MAX + 4], c[4 * SANDBOX_NAME_MAX + 8];
	size_t n = strlen(op);

	if (n == 0 || n >= SANDBOX_NAME_MAX)
		return -1;
	if (strchr(op, '_')) { /* already transformed */
		memcpy(c, op, n + 1);
	} else {
		split_plural(op, a);
		split_words(a, b);
		split_caps(b, c);
	}
	if (strlen(c) >= outlen)
		return -1;
	memcpy(out, c, strlen(c) + 1);
	return 0;
}

/* ---- calls ---- */

static void set_string(lua_State *L, const char *k, const char *v)
{
	if (!v[0])
		return;
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

static int raise_aws_error(lua_State *L, const allow_entry *e, const aws_error *err)
{
	lua_createtable(L, 0, 5);
	set_string(L, "code", err->code[0] ? err->code : "UnknownError");
	set_string(L, "message", err->message[0] ? err->message : "no message");
	lua_pushinteger(L, err->status);
	lua_setfield(L, -2, "status");
	set_string(L, "request_id", err->request_id);
	if (err->op[0])
		lua_pushstring(L, err->op);
	else
		lua_pushfstring(L, "%s.%s", e->service, e->operation);
	lua_setfield(L, -2, "op");
	lua_getfield(L, LUA_REGISTRYINDEX, sandbox_aws_error_key);
	lua_setmetatable(L, -2);
	return lua_error(L);
}

/* After a call, params at index params and, when rc is 0, its result on
 * top: raises the AWS failure, or lets the rules see what the call made and
 * returns the result. Also the end of a call inside aws.all (sched.c). */
static int finish_call(lua_State *L, const allow_entry *e, int params, int rc, const aws_error *err)
{
	if (rc != 0)
		return raise_aws_error(L, e, err);
	rules_observe(L, e, params, lua_gettop(L));
	return 1;
}

/* upvalues: the entry (light userdata), "ec2.create_snapshot", and for
 * the variant aws.cached returns, true */
static int prim_call(lua_State *L)
{
	const allow_entry *e = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = lua_tostring(L, lua_upvalueindex(2));
	int cached = lua_toboolean(L, lua_upvalueindex(3));
	sandbox *sb = sandbox_of(L);
	size_t budget = PARAMS_MAX;
	aws_error err;
	char why[512];
	int t = lua_type(L, 1), params;

	if (lua_gettop(L) > 1)
		return luaL_error(L, "%s takes one table of parameters (call it with '.', not ':')", name);
	if (t != LUA_TTABLE && t != LUA_TNIL && t != LUA_TNONE)
		return luaL_error(L, "%s: parameters must be a table, not %s", name, luaL_typename(L, 1));
	sandbox_check_budget(L);
	if (sb->calls >= sb->lim.aws_calls)
		return sandbox_raise_budget(L, "aws calls");
	if (t == LUA_TTABLE)
		sandbox_push_plain(L, 1, name, PARAMS_DEPTH, 1, &budget);
	else
		lua_newtable(L);
	sb->calls++;
	params = lua_gettop(L);
	if (rules_check(L, e, params, why, sizeof(why)) != 0)
		return luaL_error(L, "%s refused by rule %s: %s", name, allow_rule_name(e->rule), why);
	aws_error_clear(&err);
	if (!sb->host.call) {
		aws_error_set(&err, "NotConnected", "no AWS client in this sandbox");
		return raise_aws_error(L, e, &err);
	}
	sb->cached = cached; /* read by the host while it starts this call */
	int n = sandbox_sched_call(L, e, params, finish_call);
	if (n >= 0) {
		sb->cached = 0;
		return n; /* started and answered inside aws.all (sched.c) */
	}
	int rc = sb->host.call(sb->host.ud, L, e, params, &err);
	sb->cached = 0;
	if (rc != 0)
		return raise_aws_error(L, e, &err);
	rules_observe(L, e, params, lua_gettop(L));
	if (sb->dry_waiting) { /* the answer a dry aws.wait may give back */
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, sandbox_dry_answer_key);
	}
	return 1;
}

/* aws.cached(prim): the read primitive prim, whose answers the host may
 * keep for the run and give again to the same call (the same parameters,
 * account and region) instead of sending it. A write cannot be cached. */
int sandbox_prim_cached(lua_State *L)
{
	const allow_entry *e = NULL;
	if (lua_tocfunction(L, 1) == prim_call && lua_getupvalue(L, 1, 1)) {
		e = lua_touserdata(L, -1);
		lua_pop(L, 1);
	}
	if (!e)
		return luaL_error(L, "aws.cached takes a primitive (aws.cached(elb.describe_load_balancers))");
	if (e->access != ALLOW_READ)
		return luaL_error(L, "aws.cached: %s.%s is a write: only a read's answer can be kept",
				  e->service, e->operation);
	lua_getupvalue(L, 1, 2);
	if (lua_getupvalue(L, 1, 3)) { /* cached already */
		lua_settop(L, 1);
		return 1;
	}
	lua_pushlightuserdata(L, (void *)e);
	lua_insert(L, -2);
	lua_pushboolean(L, 1);
	lua_pushcclosure(L, prim_call, 3);
	return 1;
}

static int aws_error_tostring(lua_State *L)
{
	char text[1024];
	sandbox_error_text(L, 1, text, sizeof(text));
	lua_pushstring(L, text);
	return 1;
}

static void open_aws_error(lua_State *L)
{
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, aws_error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setfield(L, LUA_REGISTRYINDEX, sandbox_aws_error_key);
}

/* How many operations of service the allow-list has. */
static int service_size(const char *service)
{
	int n = 0;
	for (size_t i = 0; i < allowlist_count(); i++)
		n += strcmp(allowlist_at(i)->service, service) == 0;
	return n;
}

/* Adds the entry's method to services[entry->service] (services at top). */
static void add_method(lua_State *L, const allow_entry *e)
{
	char snake[SANDBOX_NAME_MAX];
	if (sandbox_snake_name(e->operation, snake, sizeof(snake)) != 0)
		luaL_error(L, "allow-list: bad operation name %s", e->operation);
	if (lua_getfield(L, -1, e->service) == LUA_TNIL) {
		lua_pop(L, 1);
		lua_createtable(L, 0, service_size(e->service));
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, e->service);
	}
	lua_pushlightuserdata(L, (void *)e);
	lua_pushfstring(L, "%s.%s", e->service, snake);
	lua_pushcclosure(L, prim_call, 2);
	lua_setfield(L, -2, snake);
	lua_pop(L, 1);
}

void sandbox_open_prims(lua_State *L)
{
	size_t i;
	open_aws_error(L);
	lua_createtable(L, 0, 8); /* service name -> table of methods */
	for (i = 0; i < allowlist_count(); i++)
		add_method(L, allowlist_at(i));
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -3)) { /* stack: services, G, name, methods */
		sandbox_readonly(L, -1);
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	lua_pop(L, 2);
}

/* ---- the host's own calls through the gate (sandbox_host_call) ---- */

#define COPY_DEPTH 32
#define COPY_ITEMS ((size_t)1 << 20)

/* Pushes on L a copy of the plain value at idx of from (nil, booleans,
 * numbers, strings, tables of them; anything else becomes nil). Raises in
 * L when too deep or too large, or out of memory; only reads from. */
static void copy_value(lua_State *L, lua_State *from, int idx, int depth, size_t *items)
{
	size_t n;
	const char *s;
	if (depth > COPY_DEPTH || *items == 0)
		luaL_error(L, "host call: a value too deep or too large to copy");
	(*items)--;
	switch (lua_type(from, idx)) {
	case LUA_TBOOLEAN:
		lua_pushboolean(L, lua_toboolean(from, idx));
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(from, idx))
			lua_pushinteger(L, lua_tointeger(from, idx));
		else
			lua_pushnumber(L, lua_tonumber(from, idx));
		break;
	case LUA_TSTRING:
		s = lua_tolstring(from, idx, &n);
		lua_pushlstring(L, s, n);
		break;
	case LUA_TTABLE:
		luaL_checkstack(L, 4, "host call: copy");
		if (!lua_checkstack(from, 4))
			luaL_error(L, "host call: out of stack copying");
		idx = lua_absindex(from, idx);
		lua_newtable(L);
		lua_pushnil(from);
		while (lua_next(from, idx)) { /* from: key, value */
			copy_value(L, from, -2, depth + 1, items);
			copy_value(L, from, -1, depth + 1, items);
			lua_pop(from, 1);
			if (lua_isnil(L, -2) || lua_isnil(L, -1))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
		break;
	default:
		lua_pushnil(L);
	}
}

typedef struct host_gate {
	const allow_entry *e;
	lua_State *from;
	int params, facts;
	aws_error *err;
	char *why;
	size_t n;
	int rc;
	int judge_only; /* a dry run: judged, not sent */
} host_gate;

/* In the sandbox, protected: arg the gate. Pushes the result, or nil with
 * g->rc set. */
static int gate_call(lua_State *L)
{
	host_gate *g = lua_touserdata(L, 1);
	sandbox *sb = sandbox_of(L);
	size_t items = COPY_ITEMS;
	char why[512];
	lua_settop(L, 0);
	rules_set_facts(L, 0);
	sandbox_check_budget(L);
	if (sb->calls >= sb->lim.aws_calls)
		return sandbox_raise_budget(L, "aws calls");
	copy_value(L, g->from, g->params, 0, &items); /* stack: params */
	if (!lua_istable(L, 1))
		return luaL_error(L, "%s.%s: parameters must be a table", g->e->service, g->e->operation);
	if (g->facts) {
		copy_value(L, g->from, g->facts, 0, &items);
		rules_set_facts(L, 2);
		lua_settop(L, 1);
	}
	sb->calls++;
	int refused = rules_check(L, g->e, 1, why, sizeof(why));
	rules_set_facts(L, 0);
	lua_settop(L, 1);
	if (refused) {
		snprintf(g->why, g->n, "%s.%s refused by rule %s: %s", g->e->service, g->e->operation,
			 allow_rule_name(g->e->rule), why);
		g->rc = -2;
		return 0;
	}
	if (g->judge_only) {
		g->rc = 0;
		return 0;
	}
	if (!sb->host.call) {
		aws_error_set(g->err, "NotConnected", "no AWS client in this sandbox");
		g->rc = -1;
		return 0;
	}
	if (sb->host.call(sb->host.ud, L, g->e, 1, g->err) != 0) {
		g->rc = -1;
		return 0;
	}
	rules_observe(L, g->e, 1, lua_gettop(L));
	g->rc = 0;
	return 1;
}

static int gate(sandbox *sb, const char *service, const char *operation, lua_State *from, int params,
		int facts, aws_error *err, char *why, size_t whylen, int judge_only)
{
	lua_State *L = sb->L;
	char msg[512];
	host_gate g = {NULL, from, lua_absindex(from, params), facts ? lua_absindex(from, facts) : 0,
		       err, why, whylen, -2, judge_only};
	why[0] = '\0';
	g.e = allowlist_find(service, operation);
	if (!g.e && sb->run.restore)
		g.e = allowlist_undo_find(service, operation);
	if (!g.e) {
		snprintf(why, whylen, "%s.%s is not on the allow-list%s", service, operation,
			 sb->run.restore ? " nor an undo-only write" : "");
		return -2;
	}
	lua_settop(L, 0); /* whatever an earlier call left when its copy back raised */
	lua_pushcfunction(L, gate_call);
	lua_pushlightuserdata(L, &g);
	sandbox_status st = sandbox_pcall(sb, 1, 1, msg, sizeof(msg));
	if (st != SANDBOX_OK) {
		aws_error_set(err, st == SANDBOX_BUDGET ? "Deadbolt.Budget" : "Deadbolt.HostCall", "%s.%s: %s",
			      service, operation, msg);
		return -1;
	}
	if (g.rc == 0 && !judge_only) {
		size_t items = COPY_ITEMS;
		copy_value(from, L, -1, 0, &items);
	}
	lua_settop(L, 0);
	return g.rc;
}

int sandbox_host_call(sandbox *sb, const char *service, const char *operation, lua_State *from,
		      int params, int facts, aws_error *err, char *why, size_t whylen)
{
	return gate(sb, service, operation, from, params, facts, err, why, whylen, 0);
}

int sandbox_host_judge(sandbox *sb, const char *service, const char *operation, lua_State *from,
		       int params, int facts, aws_error *err, char *why, size_t whylen)
{
	return gate(sb, service, operation, from, params, facts, err, why, whylen, 1);
}

/* ---- a step's own undo (sandbox_run_undo) ---- */

typedef struct undo_call {
	const char *step;
	lua_State *from;
	int saved, facts;
} undo_call;

/* In the sandbox, protected: args the undo_call, the playbook's table.
 * Pushes the step's undo, ctx and saved, with the facts set. */
static int undo_prepare(lua_State *L)
{
	undo_call *u = lua_touserdata(L, 1);
	size_t items = COPY_ITEMS;
	lua_Integer i, n;
	lua_settop(L, 2);
	if (lua_type(L, 2) != LUA_TTABLE || lua_getfield(L, 2, "steps") != LUA_TTABLE)
		return luaL_error(L, "the playbook has no steps");
	n = (lua_Integer)lua_rawlen(L, 3);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 3, i);
		if (lua_istable(L, -1) && lua_getfield(L, -1, "name") == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -1), u->step) == 0)
			break;
		lua_settop(L, 3);
	}
	if (i > n || lua_getfield(L, 4, "undo") != LUA_TFUNCTION)
		return luaL_error(L, "the playbook has no step %s with an undo function", u->step);
	lua_createtable(L, 0, 1); /* ctx */
	lua_pushstring(L, u->step);
	lua_setfield(L, -2, "step");
	sandbox_readonly(L, -1);
	copy_value(L, u->from, u->saved, 0, &items);
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		lua_newtable(L);
	}
	sandbox_readonly(L, -1);
	if (u->facts) {
		copy_value(L, u->from, u->facts, 0, &items);
		rules_set_facts(L, lua_gettop(L));
		lua_pop(L, 1);
	}
	return 3;
}

int sandbox_run_undo(sandbox *sb, const char *file, const char *step, lua_State *from, int saved,
		     int facts, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	undo_call u = {step, from, lua_absindex(from, saved), facts ? lua_absindex(from, facts) : 0};
	int rc = -1;
	lua_settop(L, 0);
	rules_set_facts(L, 0);
	if (sandbox_load_playbook(sb, file, err, errlen) != SANDBOX_OK)
		goto out;
	lua_pushcfunction(L, undo_prepare);
	lua_insert(L, -2);
	lua_pushlightuserdata(L, &u);
	lua_insert(L, -2); /* stack: prepare, u, playbook */
	if (sandbox_pcall(sb, 2, 3, err, errlen) != SANDBOX_OK)
		goto out;
	if (sandbox_pcall(sb, 2, 0, err, errlen) != SANDBOX_OK)
		goto out;
	rc = 0;
out:
	rules_set_facts(L, 0);
	lua_settop(L, 0);
	return rc;
}
