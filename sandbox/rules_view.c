/* rules_view — reading a call's plain parameters for the rules, and the
 * checks they share: the run's evidence and lock prefixes, deadbolt's groups
 * as AWS's answers show them, where each ENI was when the run first saw it
 * (rules_observe), and moving an ENI left in the allow-all group back there
 * (rules_settle). rules.c's head says why; rules_int.h declares what the
 * other rules files take from here.
 *
 * Owner: sandbox module; the groups and ENIs are kept in the sandbox struct. */
#include "rules_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EVIDENCE_ROOT "evidence"

int rv_refuse(view *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->why, v->n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- reading the plain parameters (raw: no metamethod runs) ---- */

/* Pushes t[k]; returns its type. */
int rv_get(lua_State *L, int t, const char *k)
{
	t = lua_absindex(L, t);
	lua_pushstring(L, k);
	return lua_rawget(L, t);
}

/* t[k] as a C string, NULL when absent; *bad set when present and not a
 * string (or holding a NUL). Pops what it pushed: the string stays
 * referenced by t. */
const char *rv_get_str(lua_State *L, int t, const char *k, int *bad)
{
	size_t len;
	const char *s = NULL;
	int type = rv_get(L, t, k);
	if (type == LUA_TSTRING) {
		s = lua_tolstring(L, -1, &len);
		if (strlen(s) != len) {
			s = NULL;
			*bad = 1;
		}
	} else if (type != LUA_TNIL) {
		*bad = 1;
	}
	lua_pop(L, 1);
	return s;
}

/* Whether k is a member of the operation's input in the model. */
static int in_model(const view *v, const char *k)
{
	for (size_t i = 0; v->input && i < v->input->nmembers; i++)
		if (strcmp(v->input->members[i].name, k) == 0)
			return 1;
	return 0;
}

/* Every key of the table at t is one of allowed (NULL-terminated). At the
 * top level (what ""), a name the model does not know is left to the
 * model's validation, which refuses it before anything is sent and says
 * what was meant. */
int rv_only_members(view *v, int t, const char *what, const char *const *allowed)
{
	lua_State *L = v->L;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		size_t i;
		lua_pop(L, 1);
		for (i = 0; k && allowed[i]; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (k && !allowed[i] && !what[0] && v->input && !in_model(v, k))
			continue;
		if (!k || !allowed[i]) {
			int r = rv_refuse(v, "%s%s%s is not allowed", what, what[0] ? " member " : "member ",
				       k ? k : "(not a name)");
			lua_pop(L, 1);
			return r;
		}
	}
	return 0;
}

int rv_is_static(const view *v)
{
	return v->run == NULL;
}

int rv_restore_mode(const view *v)
{
	return v->run && v->run->restore && v->sb;
}

/* A required string member: absent is refused at run time, not judged
 * statically. Returns 0 with *out set (NULL when statically absent). */
int rv_need_str(view *v, int t, const char *k, const char **out)
{
	int bad = 0;
	*out = rv_get_str(v->L, t, k, &bad);
	if (bad)
		return rv_refuse(v, "%s must be a string", k);
	if (!*out && !rv_is_static(v))
		return rv_refuse(v, "%s is required", k);
	return 0;
}

/* Pushes t[k] when it is a table (returns 1), else pushes nothing and returns
 * 0 when absent, -1 (refused) when it is something else. */
int rv_sub_table(view *v, int t, const char *k)
{
	int type = rv_get(v->L, t, k);
	if (type == LUA_TTABLE)
		return 1;
	lua_pop(v->L, 1);
	return type == LUA_TNIL ? 0 : rv_refuse(v, "%s must be a table", k);
}

/* t[k] absent, or { Value = want }: want_str when not NULL, else want_bool. */
int rv_value_is(view *v, int t, const char *k, int want_bool, const char *want_str)
{
	lua_State *L = v->L;
	static const char *const only_value[] = {"Value", NULL};
	int r = rv_sub_table(v, t, k), ok;
	if (r <= 0)
		return r;
	if (rv_only_members(v, lua_gettop(L), k, only_value) != 0) {
		lua_pop(L, 1);
		return -1;
	}
	rv_get(L, -1, "Value");
	if (want_str)
		ok = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), want_str) == 0;
	else
		ok = lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1) == want_bool;
	lua_pop(L, 2);
	if (ok)
		return 0;
	if (want_str)
		return rv_refuse(v, "%s may only be set to \"%s\"", k, want_str);
	return rv_refuse(v, "%s may only be set to %s", k, want_bool ? "true" : "false");
}

/* Calls each(v, item) for every value of the table at t (a list of tables). */
int rv_each_item(view *v, int t, int (*each)(view *, int))
{
	lua_State *L = v->L;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		int item = lua_gettop(L);
		int r = lua_istable(L, item) ? each(v, item) : rv_refuse(v, "a list item is not a table");
		lua_settop(L, item - 1);
		if (r != 0) {
			lua_pop(L, 1);
			return -1;
		}
	}
	return 0;
}

/* ---- the run's evidence prefix ---- */

/* A usable path segment of the run: not empty, no '/', not "." or "..". */
static int segment_ok(const char *s, size_t n)
{
	return n > 0 && !memchr(s, '/', n) && !(n == 1 && s[0] == '.') &&
	       !(n == 2 && s[0] == '.' && s[1] == '.');
}

int rv_run_part_ok(const char *s)
{
	return s && segment_ok(s, strlen(s));
}

/* key is want[0]/want[1]/.../want[n-1]/<rest>, every segment usable, rest
 * not empty, no control characters; a NULL in want is any usable segment.
 * shape names the prefix in the refusal. */
int rv_under_prefix(view *v, const char *what, const char *key, const char *const *want,
			size_t n, const char *shape)
{
	size_t len = strlen(key), seg = 0;
	const char *p = key;
	if (len > KEY_MAX)
		return rv_refuse(v, "%s is longer than %d bytes", what, KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return rv_refuse(v, "%s holds a control character", what);
	while (1) {
		const char *slash = strchr(p, '/');
		size_t m = slash ? (size_t)(slash - p) : strlen(p);
		if (!segment_ok(p, m))
			return rv_refuse(v, "%s \"%.200s\" has an empty, \".\" or \"..\" segment", what, key);
		if (seg < n && want[seg] && (strlen(want[seg]) != m || memcmp(p, want[seg], m) != 0))
			break;
		seg++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (seg < n + 1)
		return rv_refuse(v, "%s \"%.200s\" is not under this run's prefix %s", what, key, shape);
	return 0;
}

/* key is evidence/<account>/<region>/<resource>/<finding id>/<rest>.
 * Statically the run's values are not known: only the shape is judged. */
int rv_under_run_prefix(view *v, const char *what, const char *key)
{
	const char *want[5] = {EVIDENCE_ROOT, NULL, NULL, NULL, NULL};
	if (v->run) {
		if (!rv_run_part_ok(v->run->account) || !rv_run_part_ok(v->run->region) ||
		    !rv_run_part_ok(v->run->finding_id))
			return rv_refuse(v, "this run has no account, region or finding id for an evidence prefix");
		want[1] = v->run->account;
		want[2] = v->run->region;
		want[4] = v->run->finding_id;
	}
	return rv_under_prefix(v, what, key, want, 5,
			    "evidence/<account>/<region>/<resource>/<finding id>/");
}

/* key is locks/<account>/<region>/<resource>/<rest>: a lock on one
 * resource, shared by the runs of every finding about it (so outside any one
 * finding's evidence prefix). Written only as a new object, like evidence. */
int rv_under_lock_prefix(view *v, const char *what, const char *key)
{
	const char *want[4] = {LOCK_ROOT, NULL, NULL, NULL};
	if (v->run) {
		if (!rv_run_part_ok(v->run->account) || !rv_run_part_ok(v->run->region))
			return rv_refuse(v, "this run has no account or region for a lock prefix");
		want[1] = v->run->account;
		want[2] = v->run->region;
	}
	return rv_under_prefix(v, what, key, want, 4, "locks/<account>/<region>/<resource>/");
}

/* ---- deadbolt's groups ---- */

int rv_role_of_tag(const char *value)
{
	if (value && strcmp(value, "isolation") == 0)
		return GROUP_ISOLATION;
	if (value && strcmp(value, "untrack") == 0)
		return GROUP_UNTRACK;
	return GROUP_UNKNOWN;
}

static void remember(sandbox *sb, const char *id, int role)
{
	size_t i, n = strlen(id);
	if (role == GROUP_UNKNOWN || n == 0 || n >= RULES_GROUP_ID_MAX)
		return;
	for (i = 0; i < sb->ngroups; i++)
		if (strcmp(sb->groups[i].id, id) == 0)
			break;
	if (i == sb->ngroups) {
		if (sb->ngroups == RULES_GROUPS_MAX)
			return; /* unknown groups are refused: the safe side */
		sb->ngroups++;
	}
	memcpy(sb->groups[i].id, id, n + 1);
	sb->groups[i].role = role;
}

static int known_role(const sandbox *sb, const char *id)
{
	for (size_t i = 0; i < sb->ngroups; i++)
		if (strcmp(sb->groups[i].id, id) == 0)
			return sb->groups[i].role;
	return GROUP_UNKNOWN;
}

/* The value of GROUP_TAG in the tag list at t ({ {Key=, Value=} }), or NULL. */
const char *rv_group_tag_in(lua_State *L, int t)
{
	const char *value = NULL;
	lua_pushnil(L);
	while (!value && lua_next(L, t)) {
		int bad = 0;
		if (lua_type(L, -1) == LUA_TTABLE) {
			const char *k = rv_get_str(L, lua_gettop(L), "Key", &bad);
			if (k && strcmp(k, GROUP_TAG) == 0)
				value = rv_get_str(L, lua_gettop(L), "Value", &bad);
		}
		lua_pop(L, 1);
	}
	if (value)
		lua_pop(L, 1); /* the key lua_next left */
	return value;
}

/* The role CreateSecurityGroup's TagSpecifications give the new group. */
static int role_in_specs(lua_State *L, int p)
{
	int role = GROUP_UNKNOWN, top = lua_gettop(L);
	if (rv_get(L, p, "TagSpecifications") == LUA_TTABLE) {
		lua_pushnil(L);
		while (role == GROUP_UNKNOWN && lua_next(L, top + 1)) {
			int spec = lua_gettop(L);
			if (lua_istable(L, spec) && rv_get(L, spec, "Tags") == LUA_TTABLE)
				role = rv_role_of_tag(rv_group_tag_in(L, spec + 1));
			lua_settop(L, spec - 1);
		}
	}
	lua_settop(L, top);
	return role;
}

/* ---- ENIs: where each one was when the run first saw it ---- */

const rules_eni *rv_known_eni(const sandbox *sb, const char *id)
{
	for (size_t i = 0; i < sb->nenis; i++)
		if (strcmp(sb->enis[i].id, id) == 0)
			return &sb->enis[i];
	return NULL;
}

/* The ENI table at eni ({ NetworkInterfaceId, Groups = { {GroupId} } }):
 * kept the first time only, so a later answer showing deadbolt's groups on
 * it does not replace where it was. */
static void remember_eni(lua_State *L, int eni)
{
	sandbox *sb = sandbox_of(L);
	int bad = 0, top = lua_gettop(L);
	const char *id = rv_get_str(L, eni, "NetworkInterfaceId", &bad);
	rules_eni *r;
	if (!id || strlen(id) >= RULES_GROUP_ID_MAX || rv_known_eni(sb, id) ||
	    sb->nenis == RULES_ENIS_MAX || rv_get(L, eni, "Groups") != LUA_TTABLE) {
		lua_settop(L, top);
		return;
	}
	r = &sb->enis[sb->nenis];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, id, strlen(id) + 1);
	for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, top + 1); i++) {
		const char *g = NULL;
		if (lua_rawgeti(L, top + 1, i) == LUA_TTABLE)
			g = rv_get_str(L, top + 2, "GroupId", &bad);
		if (!g || strlen(g) >= RULES_GROUP_ID_MAX || r->ngroups == RULES_ENI_GROUPS_MAX) {
			lua_settop(L, top); /* an ENI not wholly known is not kept */
			return;
		}
		memcpy(r->groups[r->ngroups++], g, strlen(g) + 1);
		lua_pop(L, 1);
	}
	sb->nenis++;
	lua_settop(L, top);
}

/* Calls fn(L, item) for every table in the list t[k]. */
static void each_in(lua_State *L, int t, const char *k, void (*fn)(lua_State *, int))
{
	int top = lua_gettop(L);
	if (lua_istable(L, t) && rv_get(L, t, k) == LUA_TTABLE)
		for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, top + 1); i++) {
			if (lua_rawgeti(L, top + 1, i) == LUA_TTABLE)
				fn(L, top + 2);
			lua_settop(L, top + 1);
		}
	lua_settop(L, top);
}

static void instance_enis(lua_State *L, int inst)
{
	each_in(L, inst, "NetworkInterfaces", remember_eni);
}

static void reservation_enis(lua_State *L, int res)
{
	each_in(L, res, "Instances", instance_enis);
}

/* A move succeeded: the ENI is in the allow-all group now, or out of it. */
static void note_move(lua_State *L, int params)
{
	sandbox *sb = sandbox_of(L);
	int bad = 0, untrack = 0, top = lua_gettop(L);
	const char *id = rv_get_str(L, params, "NetworkInterfaceId", &bad);
	rules_eni *r = id ? (rules_eni *)rv_known_eni(sb, id) : NULL;
	if (!r)
		return;
	if (rv_get(L, params, "Groups") == LUA_TTABLE)
		for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, top + 1); i++) {
			if (lua_rawgeti(L, top + 1, i) == LUA_TSTRING)
				untrack |= known_role(sb, lua_tostring(L, -1)) == GROUP_UNTRACK;
			lua_pop(L, 1);
		}
	lua_settop(L, top);
	r->in_untrack = untrack;
}

/* Protected, on the sandbox's state: arg the ENI. Sends the move back. */
static int move_back(lua_State *L)
{
	sandbox *sb = sandbox_of(L);
	rules_eni *r = lua_touserdata(L, 1);
	aws_error *err = lua_touserdata(L, 2);
	const allow_entry *e = allowlist_find("ec2", "ModifyNetworkInterfaceAttribute");
	lua_createtable(L, 0, 2);
	lua_pushstring(L, r->id);
	lua_setfield(L, -2, "NetworkInterfaceId");
	lua_createtable(L, r->ngroups, 0);
	for (int i = 0; i < r->ngroups; i++) {
		lua_pushstring(L, r->groups[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "Groups");
	lua_pushboolean(L, e && sb->host.call && sb->host.call(sb->host.ud, L, e, 3, err) == 0);
	return 1;
}

static void settle_log(sandbox *sb, const char *level, const char *msg)
{
	if (sb->host.log)
		sb->host.log(sb->host.ud, level, msg);
}

void rules_settle(sandbox *sb)
{
	lua_State *L = sb->L;
	for (size_t i = 0; i < sb->nenis; i++) {
		rules_eni *r = &sb->enis[i];
		char msg[512];
		aws_error err;
		int top = lua_gettop(L), sent;
		if (!r->in_untrack)
			continue;
		r->in_untrack = 0;
		aws_error_clear(&err);
		if (!lua_checkstack(L, 8))
			return;
		lua_pushcfunction(L, move_back);
		lua_pushlightuserdata(L, r);
		lua_pushlightuserdata(L, &err);
		sent = lua_pcall(L, 2, 1, 0) == LUA_OK && lua_toboolean(L, -1);
		lua_settop(L, top);
		if (sent)
			snprintf(msg, sizeof(msg), "%s was left in deadbolt's allow-all group: the sandbox "
				 "moved it back to the groups it had before the run", r->id);
		else
			snprintf(msg, sizeof(msg), "%s was left in deadbolt's allow-all group and could not "
				 "be moved back: %.64s: %.200s", r->id, err.code[0] ? err.code : "error",
				 err.message[0] ? err.message : "out of memory");
		settle_log(sb, sent ? "warn" : "error", msg);
	}
}

void rules_observe(lua_State *L, const allow_entry *e, int params, int result)
{
	sandbox *sb = sandbox_of(L);
	int top = lua_gettop(L), bad = 0;
	if (strcmp(e->service, "ec2") != 0 || !lua_istable(L, result))
		return;
	if (strcmp(e->operation, "ModifyNetworkInterfaceAttribute") == 0)
		note_move(L, params);
	else if (strcmp(e->operation, "DescribeInstances") == 0)
		each_in(L, result, "Reservations", reservation_enis);
	else if (strcmp(e->operation, "DescribeNetworkInterfaces") == 0)
		each_in(L, result, "NetworkInterfaces", remember_eni);
	else if (strcmp(e->operation, "CreateSecurityGroup") == 0) {
		int role = role_in_specs(L, params);
		lua_settop(L, top);
		const char *id = rv_get_str(L, result, "GroupId", &bad);
		if (id)
			remember(sb, id, role);
	} else if (strcmp(e->operation, "DescribeSecurityGroups") == 0 &&
		   rv_get(L, result, "SecurityGroups") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, top + 1)) { /* stack: groups, i, group */
			int g = lua_gettop(L);
			if (lua_type(L, g) == LUA_TTABLE) {
				const char *id = rv_get_str(L, g, "GroupId", &bad);
				const char *value = NULL;
				if (rv_get(L, g, "Tags") == LUA_TTABLE)
					value = rv_group_tag_in(L, g + 1);
				if (id)
					remember(sb, id, rv_role_of_tag(value));
			}
			lua_settop(L, g - 1);
		}
	}
	lua_settop(L, top);
}

/* A group id worth asking AWS about: sg- and letters or digits. */
static int group_id_shape(const char *id)
{
	size_t n = strlen(id);
	if (n < 4 || n >= RULES_GROUP_ID_MAX || strncmp(id, "sg-", 3) != 0)
		return 0;
	for (size_t i = 3; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			return 0;
	return 1;
}

/* Learns id's role with one DescribeSecurityGroups through the host (it
 * counts as a call, and is journaled as one). */
static void learn_group(view *v, const char *id)
{
	sandbox *sb = v->sb;
	lua_State *L = v->L;
	const allow_entry *e = allowlist_find("ec2", "DescribeSecurityGroups");
	int top = lua_gettop(L);
	aws_error err;
	if (!e || !sb->host.call || sb->calls >= sb->lim.aws_calls || !group_id_shape(id))
		return;
	lua_createtable(L, 0, 1);
	lua_createtable(L, 1, 0);
	lua_pushstring(L, id);
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "GroupIds");
	sb->calls++;
	aws_error_clear(&err);
	if (sb->host.call(sb->host.ud, L, e, top + 1, &err) == 0)
		rules_observe(L, e, top + 1, lua_gettop(L));
	lua_settop(L, top);
}

/* The role of the group id, learning it if needed; statically unknown. */
int rv_group_role(view *v, const char *id)
{
	int role;
	if (rv_is_static(v) || !id)
		return GROUP_UNKNOWN;
	role = known_role(v->sb, id);
	if (role == GROUP_UNKNOWN) {
		learn_group(v, id);
		role = known_role(v->sb, id);
	}
	return role;
}

int rv_not_ours(view *v, const char *id)
{
	return rv_refuse(v, "group %.64s is not one deadbolt created (no %s tag in AWS's answers)", id,
		      GROUP_TAG);
}
