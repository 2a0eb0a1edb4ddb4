/* playbook — what one playbook file returned, read as a playbook. See
 * playbook.h and docs/playbook-api.md. */
#include "playbook.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "finding.h"
#include "sandbox.h"
#include "suggest.h"

static char *dupstr(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* The string key at -2 during a lua_next loop, or NULL (no conversion). */
static const char *key_at(lua_State *L, size_t *n)
{
	return lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, n) : NULL;
}

static int key_is(const char *k, size_t n, const char *want)
{
	return k && strlen(want) == n && memcmp(k, want, n) == 0;
}

/* 1 when the table at t has exactly the keys 1..n (n may be 0). */
static int is_sequence(lua_State *L, int t, lua_Integer *len)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, t), count = 0;
	int ok = 1;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		count++;
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
			ok = 0;
	}
	*len = n;
	return ok && count == n;
}

typedef struct inspect {
	const char *file;
	problem_fn rep;
	void *ud;
	int problems;
	playbook_def *def;
	lua_State *H; /* checks finding_type patterns; NULL: not checked */
} inspect;

static void problem(inspect *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(inspect *in, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	in->problems++;
	if (in->rep)
		in->rep(in->ud, in->file, 0, msg);
}

static const char *const step_fields[] = {"name", "run", "when", "critical", "why", "undo", NULL};
static const char *const handle_fields[] = {"resource_type", "finding_type", "skip", NULL};

/* "unknown field 'x'", with the nearest field when there is one. */
static void unknown_field(inspect *in, const char *what, lua_Integer i, const char *k,
			  const char *const *fields)
{
	const char *near = k ? suggest_among(k, fields) : NULL;
	problem(in, "%s[%lld]: unknown field '%.60s'%s%s%s", what, (long long)i,
		k ? k : "(not a string)", near ? ": did you mean " : "", near ? near : "",
		near ? "?" : "");
}

static int step_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* One field of a step; the value is at -1, the key at -2. *has_run gets
 * bit 1 for a run function, bit 2 for a name field. */
static void inspect_step_field(lua_State *L, inspect *in, lua_Integer i, pb_step *st, int *has_run)
{
	size_t n, vn;
	const char *k = key_at(L, &n);
	int vt = lua_type(L, -1);
	if (key_is(k, n, "name")) {
		const char *v = vt == LUA_TSTRING ? lua_tolstring(L, -1, &vn) : NULL;
		*has_run |= 2; /* a name was given, good or not */
		if (!v || !step_name_ok(v, vn))
			problem(in, "steps[%lld]: name must be a string of a-z, 0-9 and _", (long long)i);
		else if (!st->name)
			st->name = dupstr(v, vn);
	} else if (key_is(k, n, "run")) {
		*has_run |= vt == LUA_TFUNCTION;
	} else if (key_is(k, n, "when")) {
		if (vt != LUA_TFUNCTION)
			problem(in, "steps[%lld]: when must be a function", (long long)i);
	} else if (key_is(k, n, "critical")) {
		if (vt != LUA_TBOOLEAN)
			problem(in, "steps[%lld]: critical must be true or false", (long long)i);
		st->critical = lua_toboolean(L, -1);
	} else if (key_is(k, n, "undo")) {
		if (vt != LUA_TFUNCTION)
			problem(in, "steps[%lld]: undo must be a function", (long long)i);
		st->undo = vt == LUA_TFUNCTION;
	} else if (key_is(k, n, "why")) {
		const char *v = vt == LUA_TSTRING ? lua_tolstring(L, -1, &vn) : NULL;
		if (!v)
			problem(in, "steps[%lld]: why must be a string", (long long)i);
		else if (!st->why)
			st->why = dupstr(v, vn < 400 ? vn : 400);
	} else {
		unknown_field(in, "steps", i, k, step_fields);
	}
}

static void inspect_step(lua_State *L, inspect *in, lua_Integer i, pb_step *st)
{
	int has_run = 0;
	int t = lua_gettop(L);
	if (!lua_istable(L, t)) {
		problem(in, "steps[%lld] is not a table", (long long)i);
		return;
	}
	lua_pushnil(L);
	while (lua_next(L, t)) {
		inspect_step_field(L, in, i, st, &has_run);
		lua_pop(L, 1);
	}
	if (!(has_run & 2))
		problem(in, "steps[%lld] has no name: add name = \"...\" (a-z, 0-9 and _; the "
			"journal and the summary show it)", (long long)i);
	if (!(has_run & 1))
		problem(in, "steps[%lld]%s%s%s has no run function", (long long)i, st->name ? " (" : "",
			st->name ? st->name : "", st->name ? ")" : "");
}

static void check_duplicates(inspect *in)
{
	playbook_def *d = in->def;
	for (size_t i = 0; i < d->nsteps; i++)
		for (size_t j = 0; j < i; j++)
			if (d->steps[i].name && d->steps[j].name &&
			    strcmp(d->steps[i].name, d->steps[j].name) == 0) {
				problem(in, "step name '%s' is used twice (steps[%zu] and steps[%zu])",
					d->steps[i].name, j + 1, i + 1);
				break;
			}
}

static void inspect_steps(lua_State *L, int t, inspect *in)
{
	lua_Integer n;
	if (!lua_istable(L, t) || !is_sequence(L, t, &n) || n == 0) {
		problem(in, "steps must be a non-empty list of steps");
		return;
	}
	if (n > PLAYBOOK_MAX_STEPS) { /* each is inspected, and checked against the others */
		problem(in, "%lld steps: at most %d", (long long)n, PLAYBOOK_MAX_STEPS);
		return;
	}
	in->def->steps = calloc((size_t)n, sizeof(pb_step));
	if (!in->def->steps) {
		problem(in, "out of memory");
		return;
	}
	in->def->nsteps = (size_t)n;
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		inspect_step(L, in, i, &in->def->steps[i - 1]);
		lua_pop(L, 1);
	}
	check_duplicates(in);
}

static void inspect_handle_field(lua_State *L, inspect *in, lua_Integer i, pb_handle *h)
{
	size_t n, vn;
	const char *k = key_at(L, &n);
	const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &vn) : NULL;
	char **slot = key_is(k, n, "resource_type") ? &h->resource_type
		      : key_is(k, n, "finding_type") ? &h->finding_type
		      : key_is(k, n, "skip")	      ? &h->skip
						      : NULL;
	if (!slot) {
		unknown_field(in, "handles", i, k, handle_fields);
		return;
	}
	if (!v || vn == 0 || vn > 256) {
		problem(in, "handles[%lld]: %.20s must be a non-empty string", (long long)i, k);
		return;
	}
	if (!*slot)
		*slot = dupstr(v, vn);
}

/* finding_type must be a Lua pattern: the sandbox's metered matcher tries it
 * (H set: checked; NULL: not). */
static void check_pattern(inspect *in, lua_Integer i, const char *pattern)
{
	char err[300];
	if (!in->H)
		return;
	if (sandbox_pattern_find("GuardDuty:Pattern/Check", pattern, SANDBOX_PATTERN_STEPS, NULL, err,
				 sizeof(err)) < 0)
		problem(in, "handles[%lld]: finding_type is not a Lua pattern: %s", (long long)i, err);
}

static void inspect_handles(lua_State *L, int t, inspect *in)
{
	lua_Integer n;
	if (!lua_istable(L, t) || !is_sequence(L, t, &n) || n == 0) {
		problem(in, "handles must be a non-empty list of {resource_type=, finding_type=}");
		return;
	}
	if (n > PLAYBOOK_MAX_HANDLES) { /* each is tried on every finding */
		problem(in, "%lld handles entries: at most %d", (long long)n, PLAYBOOK_MAX_HANDLES);
		return;
	}
	in->def->handles = calloc((size_t)n, sizeof(pb_handle));
	if (!in->def->handles) {
		problem(in, "out of memory");
		return;
	}
	in->def->nhandles = (size_t)n;
	for (lua_Integer i = 1; i <= n; i++) {
		pb_handle *h = &in->def->handles[i - 1];
		int e = (lua_rawgeti(L, t, i), lua_gettop(L));
		if (!lua_istable(L, e)) {
			problem(in, "handles[%lld] is not a table", (long long)i);
			lua_pop(L, 1);
			continue;
		}
		lua_pushnil(L);
		while (lua_next(L, e)) {
			inspect_handle_field(L, in, i, h);
			lua_pop(L, 1);
		}
		if (!h->resource_type && !h->finding_type)
			problem(in, "handles[%lld] needs resource_type or finding_type", (long long)i);
		if (h->finding_type)
			check_pattern(in, i, h->finding_type);
		lua_pop(L, 1);
	}
}

/* Finds the top-level fields; returns 1 when steps or handles is present. */
static int top_fields(lua_State *L, int t, inspect *in, int *steps, int *handles)
{
	size_t n, vn;
	*steps = *handles = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = key_at(L, &n);
		if (key_is(k, n, "steps"))
			*steps = lua_gettop(L);
		else if (key_is(k, n, "handles"))
			*handles = lua_gettop(L);
		if (key_is(k, n, "name") && lua_type(L, -1) == LUA_TSTRING && !in->def->name) {
			const char *v = lua_tolstring(L, -1, &vn);
			if (vn > 0 && vn <= 64)
				in->def->name = dupstr(v, vn);
		}
		if (key_is(k, n, "steps") || key_is(k, n, "handles"))
			lua_pushvalue(L, -2); /* keep the value; continue from a copy of the key */
		else
			lua_pop(L, 1);
	}
	return *steps || *handles;
}

int playbook_inspect(lua_State *L, int idx, const char *file, lua_State *H, playbook_def *def,
		     problem_fn rep, void *ud)
{
	inspect in = {file, rep, ud, 0, def, H};
	int top = lua_gettop(L), t = lua_absindex(L, idx), steps, handles, rc = -1;
	memset(def, 0, sizeof(*def));
	if (!lua_checkstack(L, 16)) {
		problem(&in, "out of stack");
		goto out;
	}
	if (!lua_istable(L, t)) {
		problem(&in, "does not return a table (it returns %s)", luaL_typename(L, t));
		goto out;
	}
	if (!top_fields(L, t, &in, &steps, &handles)) {
		rc = 0;
		goto out;
	}
	if (!def->name)
		problem(&in, "has no name (a string of 1 to 64 characters)");
	if (!steps)
		problem(&in, "has no steps");
	else
		inspect_steps(L, steps, &in);
	if (!handles)
		problem(&in, "has no handles: it would never run");
	else
		inspect_handles(L, handles, &in);
	def->file = dupstr(file, strlen(file));
	rc = in.problems ? -1 : 1;
out:
	lua_settop(L, top);
	if (rc != 1)
		playbook_def_free(def);
	return rc;
}

void playbook_def_free(playbook_def *def)
{
	for (size_t i = 0; i < def->nhandles; i++) {
		free(def->handles[i].resource_type);
		free(def->handles[i].finding_type);
		free(def->handles[i].skip);
	}
	for (size_t i = 0; i < def->nsteps; i++) {
		free(def->steps[i].name);
		free(def->steps[i].why);
	}
	free(def->handles);
	free(def->steps);
	free(def->file);
	free(def->name);
	memset(def, 0, sizeof(*def));
}
