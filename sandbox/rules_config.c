/* rules_config — what the argument rules take from config.lua, read by the
 * host: the forensic document and commands (the only ones SendCommand may
 * send), the endpoint groups and prefix lists of the forensic egress (the
 * only places the isolation group may open to), and the name of the revoke
 * policy (the only inline policy a playbook may write).
 *
 * config.lua is run in a sandbox of its own, made for this read and freed
 * after it: a playbook's `require "config"` returns a table the playbook can
 * change, so the rules never read that one. The values are copied out of the
 * Lua state after the protected call, with no Lua call in between that could
 * raise while C memory is held.
 *
 * Owner: sandbox module; the sandbox_config belongs to the caller. */
#include "sandbox_int.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMANDS_MAX 64
#define COMMAND_MAX 4096

/* Pushes t[k], raw, or nil when t is not a table. */
static void sub(lua_State *L, int t, const char *k)
{
	t = lua_absindex(L, t);
	if (!lua_istable(L, t)) {
		lua_pushnil(L);
		return;
	}
	lua_pushstring(L, k);
	lua_rawget(L, t);
}

/* Raises unless the value at idx is nil or a string without NULs. */
static void check_text(lua_State *L, int idx, const char *what)
{
	size_t len;
	if (lua_isnil(L, idx))
		return;
	if (lua_type(L, idx) != LUA_TSTRING || strlen(lua_tolstring(L, idx, &len)) != len)
		luaL_error(L, "config.lua: %s must be a string", what);
}

/* Pushes a fresh list of the strings list[i][member] (member NULL: list[i])
 * of the table at list (nil: an empty list); raises on anything else. */
static void strings_of(lua_State *L, int list, const char *member, const char *what)
{
	list = lua_absindex(L, list);
	lua_newtable(L);
	if (lua_isnil(L, list))
		return;
	lua_Integer n = lua_istable(L, list) ? (lua_Integer)lua_rawlen(L, list) : -1;
	if (n < 0 || n > COMMANDS_MAX)
		luaL_error(L, "config.lua: %s must be a list of at most %d items", what, COMMANDS_MAX);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, list, i);
		if (member) {
			sub(L, -1, member);
			lua_remove(L, -2);
		}
		check_text(L, -1, what);
		if (lua_isnil(L, -1) || lua_rawlen(L, -1) > COMMAND_MAX)
			luaL_error(L, "config.lua: every item of %s must be a string of at most %d bytes",
				   what, COMMAND_MAX);
		lua_rawseti(L, -2, i);
	}
}

/* Protected: require "config" in the fresh sandbox; returns document, policy
 * name (strings or nil) and fresh lists of the commands, the endpoint groups
 * and the prefix lists. */
static int collect(lua_State *L)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "config");
	lua_call(L, 1, 1);
	if (!lua_istable(L, -1))
		return luaL_error(L, "config.lua returned a %s, not a table", luaL_typename(L, -1));
	int cfg = lua_gettop(L);
	sub(L, cfg, "forensics"); /* cfg+1 */
	sub(L, cfg + 1, "document");
	check_text(L, -1, "forensics.document");
	sub(L, cfg, "iam");
	sub(L, -1, "revoke_policy_name");
	check_text(L, -1, "iam.revoke_policy_name");
	lua_remove(L, -2); /* stack: cfg, forensics, document, policy */
	sub(L, cfg + 1, "commands");
	strings_of(L, -1, NULL, "forensics.commands");
	lua_remove(L, -2);
	sub(L, cfg + 1, "egress");
	sub(L, -1, "UserIdGroupPairs");
	strings_of(L, -1, "GroupId", "forensics.egress.UserIdGroupPairs[].GroupId");
	lua_remove(L, -2);
	sub(L, -2, "PrefixListIds");
	strings_of(L, -1, "PrefixListId", "forensics.egress.PrefixListIds[].PrefixListId");
	lua_remove(L, -2);
	lua_remove(L, -3); /* the egress table */
	return 5;
}

static char *dup_at(lua_State *L, int idx, int *oom)
{
	char *s;
	if (lua_type(L, idx) != LUA_TSTRING)
		return NULL;
	if (!(s = strdup(lua_tostring(L, idx))))
		*oom = 1;
	return s;
}

/* Copies the strings of the list at idx into a new array. */
static int copy_list(lua_State *L, int idx, char ***out, size_t *n)
{
	int oom = 0;
	size_t len = lua_rawlen(L, idx);
	if (len > 0 && !(*out = calloc(len, sizeof(char *))))
		return -1;
	for (size_t i = 0; !oom && i < len; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i + 1); /* a string: cannot raise */
		(*out)[*n] = dup_at(L, -1, &oom);
		*n += (*out)[*n] != NULL;
		lua_pop(L, 1);
	}
	return oom ? -1 : 0;
}

/* Copies the five values collect left at the top of L. */
static int copy_out(lua_State *L, sandbox_config *out)
{
	int oom = 0, base = lua_gettop(L) - 4;
	out->document = dup_at(L, base, &oom);
	out->policy_name = dup_at(L, base + 1, &oom);
	if (oom || copy_list(L, base + 2, &out->commands, &out->ncommands) != 0 ||
	    copy_list(L, base + 3, &out->endpoint_groups, &out->nendpoint_groups) != 0 ||
	    copy_list(L, base + 4, &out->prefix_lists, &out->nprefix_lists) != 0)
		return -1;
	return 0;
}

int sandbox_config_read(const sandbox_limits *lim, const char *playbook_dir, sandbox_chunks *chunks,
			sandbox_config *out, char *err, size_t errlen)
{
	sandbox_host host = {NULL, NULL, NULL};
	char path[4200];
	sandbox *sb = NULL;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/config.lua", playbook_dir ? playbook_dir : ".");
	if (!playbook_dir || access(path, F_OK) != 0)
		return 0;
	if (!(sb = sandbox_new(lim, &host, playbook_dir, err, errlen)))
		goto out;
	if (chunks)
		sandbox_set_chunks(sb, chunks);
	lua_pushcfunction(sb->L, collect);
	if (sandbox_pcall(sb, 0, 5, err, errlen) != SANDBOX_OK)
		goto out;
	if (copy_out(sb->L, out) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sandbox_config_free(out);
	sandbox_free(sb);
	return rc;
}

void sandbox_config_free(sandbox_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncommands; i++)
		free(c->commands[i]);
	for (size_t i = 0; i < c->nendpoint_groups; i++)
		free(c->endpoint_groups[i]);
	for (size_t i = 0; i < c->nprefix_lists; i++)
		free(c->prefix_lists[i]);
	free(c->commands);
	free(c->endpoint_groups);
	free(c->prefix_lists);
	free(c->document);
	free(c->policy_name);
	memset(c, 0, sizeof(*c));
}
