/* route — which playbook answers a finding (the first `handles` entry that
 * matches), and the guards that skip a finding before any playbook runs. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "run_int.h"

/* Protected, on H: args type, pattern (light userdata C strings). */
static int match_type(lua_State *H)
{
	const char *type = lua_touserdata(H, 1), *pattern = lua_touserdata(H, 2);
	lua_getglobal(H, "string");
	lua_getfield(H, -1, "find");
	lua_pushstring(H, type);
	lua_pushstring(H, pattern);
	lua_call(H, 2, 1);
	lua_pushboolean(H, !lua_isnil(H, -1));
	return 1;
}

static int type_matches(runner *r, const char *type, const char *pattern)
{
	int yes = 0;
	lua_pushcfunction(r->H, match_type);
	lua_pushlightuserdata(r->H, (void *)type);
	lua_pushlightuserdata(r->H, (void *)pattern);
	if (lua_pcall(r->H, 2, 1, 0) == LUA_OK)
		yes = lua_toboolean(r->H, -1);
	lua_pop(r->H, 1);
	return yes;
}

/* The first matching handles entry over all playbooks; entries with a
 * finding_type pattern are tried before those without. *entry gets it. */
const playbook_def *route_finding(runner *r, const finding_info *fi, const pb_handle **entry)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t p = 0; p < r->pbs.n; p++)
			for (size_t h = 0; h < r->pbs.pbs[p].nhandles; h++) {
				const pb_handle *e = &r->pbs.pbs[p].handles[h];
				if ((e->finding_type != NULL) != (pass == 0))
					continue;
				if (e->resource_type && strcmp(e->resource_type, fi->resource_type) != 0)
					continue;
				if (e->finding_type && !type_matches(r, fi->type, e->finding_type))
					continue;
				*entry = e;
				return &r->pbs.pbs[p];
			}
	return NULL;
}

int route_guard(const runner *r, const run *rn, char *why, size_t n)
{
	const finding_info *fi = &rn->fi;
	if (fi->sample && !r->o.include_samples)
		snprintf(why, n, "sample finding: GuardDuty generated it as an example");
	else if (fi->archived)
		snprintf(why, n, "archived finding");
	else if (fi->severity < r->o.min_severity)
		snprintf(why, n, "severity %g is below the minimum %g", fi->severity, r->o.min_severity);
	else if (!rn->pb)
		snprintf(why, n, "unsupported resource type %s", fi->resource_type);
	else if (rn->entry->skip)
		snprintf(why, n, "unsupported finding type %s: %s", fi->type, rn->entry->skip);
	else
		return 0;
	return 1;
}
