/* dry — what a dry run answers without AWS, so that a dry run runs the
 * playbooks' own code and decides as the live run would where it can:
 *
 *   waits        sleep(s) and aws.wait(seconds, every, check) do not wait
 *                (sandbox_dry): the plan says "would wait ..." under the
 *                step, the journal has a "wait" line; a wait's check runs
 *                with its reads answered as planned (placeholders of their
 *                answers, not sent; journaled once), its answers' enums
 *                tried in turn, and the wait answers as if its condition
 *                were met (sandbox_lib.c's dry_wait).
 *   planned      a read whose parameters name a resource a planned write
 *   resources    made (a placeholder id, "sg-dryrun4") is not sent for that
 *                resource: DescribeSecurityGroups answers a planned group as
 *                AWS documents a new VPC security group (no inbound rule,
 *                one outbound rule allowing all IPv4 traffic) with the
 *                plan's rule writes on it applied, so a later step sees it
 *                as the live run would; the real groups of the same call are
 *                read for real. Any other read of a planned resource answers
 *                a placeholder of its output (empty lists: nothing there).
 *   writes       stay planned and answer placeholders (host.c), conditional
 *                ones (PutObject If-None-Match) as succeeding.
 *
 * Every answer here is journaled as an aws_call with "dry_run": true and
 * access "read". What is kept (the planned groups) lives in the sandbox's
 * registry, so it goes with the sandbox; answers handed to the playbook
 * are copies. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "codec.h"
#include "journal.h"
#include "model.h"
#include "run_int.h"

#define GROUPS_KEY "deadbolt.planned_groups" /* GroupId -> group, as described */
#define MERGE_KEY "deadbolt.dry_merge"       /* planned ids to add to a real read's answer */
#define WALK_DEPTH 8
#define COPY_DEPTH 16

/* Whether s is a placeholder id a planned write answered: "<kind>-dryrun<n>"
 * or "dryrun-<Member>" (codec_push_placeholder). Real ids are hex. */
static int is_placeholder(const char *s)
{
	const char *p = strstr(s, "-dryrun");
	if (strncmp(s, "dryrun-", 7) == 0)
		return 1;
	if (!p)
		return 0;
	for (p += 7; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* Whether any string in the value at idx is a placeholder id. */
static int names_planned(lua_State *L, int idx, int depth)
{
	int found = 0;
	if (lua_type(L, idx) == LUA_TSTRING)
		return is_placeholder(lua_tostring(L, idx));
	if (!lua_istable(L, idx) || depth > WALK_DEPTH)
		return 0;
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 3, "dry run");
	lua_pushnil(L);
	while (!found && lua_next(L, idx)) {
		found = names_planned(L, -1, depth + 1);
		lua_pop(L, 1);
	}
	if (found)
		lua_pop(L, 1); /* the key lua_next left */
	return found;
}

/* Pushes a copy of the value at idx (tables copied, depth bounded). */
static void push_copy(lua_State *L, int idx, int depth)
{
	idx = lua_absindex(L, idx);
	if (!lua_istable(L, idx) || depth > COPY_DEPTH) {
		lua_pushvalue(L, idx);
		return;
	}
	luaL_checkstack(L, 4, "dry run");
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) { /* stack: copy, key, value */
		lua_pushvalue(L, -2);
		push_copy(L, -2, depth + 1);
		lua_rawset(L, -5);
		lua_pop(L, 1);
	}
}

/* Pushes the registry's planned groups, made on first use. */
static void push_groups(lua_State *L)
{
	if (lua_getfield(L, LUA_REGISTRYINDEX, GROUPS_KEY) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, GROUPS_KEY);
}

/* ---- the rules of planned groups ---- */

/* The kinds of destination a permission lists, and the member naming one. */
static const struct {
	const char *list, *key;
} RANGES[] = {
	{"IpRanges", "CidrIp"},
	{"Ipv6Ranges", "CidrIpv6"},
	{"PrefixListIds", "PrefixListId"},
	{"UserIdGroupPairs", "GroupId"},
};
#define NRANGES (sizeof(RANGES) / sizeof(RANGES[0]))

static const char *field_text(lua_State *L, int t, const char *k, char *out, size_t n)
{
	lua_getfield(L, t, k);
	if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING)
		snprintf(out, n, "%s", lua_tostring(L, -1));
	else
		out[0] = '\0';
	lua_pop(L, 1);
	return out;
}

/* One rule's identity: protocol, ports, kind and destination of the
 * permission at perm with the destination at range (of kind r). */
static void rule_id(lua_State *L, int perm, size_t r, int range, char *out, size_t n)
{
	char proto[32], from[32], to[32], dest[200];
	field_text(L, perm, "IpProtocol", proto, sizeof(proto));
	field_text(L, perm, "FromPort", from, sizeof(from));
	field_text(L, perm, "ToPort", to, sizeof(to));
	field_text(L, range, RANGES[r].key, dest, sizeof(dest));
	if (strcmp(proto, "-1") == 0 || strcmp(proto, "all") == 0) /* ports do not apply */
		from[0] = to[0] = '\0';
	snprintf(out, n, "%s|%s|%s|%s|%s", proto, from, to, RANGES[r].list, dest);
}

/* The identity of a kept rule (one permission holding one destination). */
static int kept_id(lua_State *L, int perm, char *out, size_t n)
{
	for (size_t r = 0; r < NRANGES; r++) {
		int t = lua_getfield(L, perm, RANGES[r].list);
		if (t == LUA_TTABLE && lua_rawgeti(L, -1, 1) == LUA_TTABLE) {
			rule_id(L, perm, r, lua_gettop(L), out, n);
			lua_pop(L, 2);
			return 1;
		}
		lua_pop(L, t == LUA_TTABLE ? 2 : 1);
	}
	return 0;
}

/* Index in the list at rules of the kept rule with identity id, or 0. */
static lua_Integer find_rule(lua_State *L, int rules, const char *id)
{
	char other[400];
	lua_Integer n = (lua_Integer)lua_rawlen(L, rules);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, rules, i);
		int same = kept_id(L, lua_gettop(L), other, sizeof(other)) && strcmp(other, id) == 0;
		lua_pop(L, 1);
		if (same)
			return i;
	}
	return 0;
}

/* Appends the rule (permission at perm, destination at range of kind r). */
static void add_rule(lua_State *L, int rules, int perm, size_t r, int range)
{
	static const char *const keep[] = {"IpProtocol", "FromPort", "ToPort"};
	lua_createtable(L, 0, 4);
	for (size_t k = 0; k < 3; k++) {
		lua_getfield(L, perm, keep[k]);
		lua_setfield(L, -2, keep[k]);
	}
	lua_createtable(L, 1, 0);
	push_copy(L, range, 0);
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, RANGES[r].list);
	lua_rawseti(L, rules, (lua_Integer)lua_rawlen(L, rules) + 1);
}

static void remove_rule(lua_State *L, int rules, lua_Integer i)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, rules);
	for (; i < n; i++) {
		lua_rawgeti(L, rules, i + 1);
		lua_rawseti(L, rules, i);
	}
	lua_pushnil(L);
	lua_rawseti(L, rules, n);
}

/* Authorizes (add) or revokes one destination list (kind r, at list) of
 * the permission at perm on the kept rules at rules. */
static void apply_list(lua_State *L, int rules, int perm, size_t r, int list, int add)
{
	char id[400];
	for (lua_Integer k = 1; lua_rawgeti(L, list, k) == LUA_TTABLE; k++) {
		rule_id(L, perm, r, lua_gettop(L), id, sizeof(id));
		lua_Integer at = find_rule(L, rules, id);
		if (add && !at)
			add_rule(L, rules, perm, r, lua_gettop(L));
		else if (!add && at)
			remove_rule(L, rules, at);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* Authorizes (add) or revokes the IpPermissions of params on the list at
 * rules, one destination at a time, as EC2 matches rules. */
static void apply_rules(lua_State *L, int rules, int params, int add)
{
	int top = lua_gettop(L);
	if (lua_getfield(L, params, "IpPermissions") == LUA_TTABLE)
		for (lua_Integer p = 1; lua_rawgeti(L, top + 1, p) == LUA_TTABLE; p++) {
			int perm = lua_gettop(L);
			for (size_t r = 0; r < NRANGES; r++) {
				if (lua_getfield(L, perm, RANGES[r].list) == LUA_TTABLE)
					apply_list(L, rules, perm, r, lua_gettop(L), add);
				lua_settop(L, perm);
			}
			lua_settop(L, top + 1);
		}
	lua_settop(L, top);
}

/* Pushes a copy of the Tags of params' security-group TagSpecification, or {}. */
static void push_tags(lua_State *L, int params)
{
	int top = lua_gettop(L);
	if (lua_getfield(L, params, "TagSpecifications") == LUA_TTABLE)
		for (lua_Integer i = 1; lua_rawgeti(L, top + 1, i) == LUA_TTABLE; i++) {
			lua_getfield(L, -1, "ResourceType");
			int ours = lua_type(L, -1) == LUA_TSTRING &&
				   strcmp(lua_tostring(L, -1), "security-group") == 0;
			if (ours && lua_getfield(L, -2, "Tags") == LUA_TTABLE) {
				push_copy(L, -1, 0);
				lua_replace(L, top + 1);
				lua_settop(L, top + 1);
				return;
			}
			lua_settop(L, top + 1);
		}
	lua_settop(L, top);
	lua_newtable(L);
}

/* { { IpProtocol = "-1", IpRanges = { { CidrIp = "0.0.0.0/0" } } } } */
static void push_all_ipv4(lua_State *L)
{
	lua_createtable(L, 1, 0);
	lua_createtable(L, 0, 2);
	lua_pushliteral(L, "-1");
	lua_setfield(L, -2, "IpProtocol");
	lua_createtable(L, 1, 0);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "0.0.0.0/0");
	lua_setfield(L, -2, "CidrIp");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "IpRanges");
	lua_rawseti(L, -2, 1);
}

/* A new VPC security group as AWS documents it: no inbound rule, one
 * outbound rule allowing all IPv4 traffic. Answer (with GroupId) at top. */
static void plan_group(run *rn, lua_State *L, int params)
{
	static const char *const from_params[] = {"GroupName", "Description", "VpcId"};
	int answer = lua_gettop(L);
	if (lua_getfield(L, answer, "GroupId") != LUA_TSTRING) {
		lua_settop(L, answer);
		return;
	}
	push_groups(L);
	lua_pushvalue(L, -2); /* stack: answer, id, groups, id */
	lua_createtable(L, 0, 8);
	lua_pushvalue(L, answer + 1);
	lua_setfield(L, -2, "GroupId");
	for (size_t i = 0; i < 3; i++) {
		lua_getfield(L, params, from_params[i]);
		lua_setfield(L, -2, from_params[i]);
	}
	lua_pushstring(L, rn->fi.account[0] ? rn->fi.account : "000000000000");
	lua_setfield(L, -2, "OwnerId");
	push_tags(L, params);
	lua_setfield(L, -2, "Tags");
	lua_newtable(L);
	lua_setfield(L, -2, "IpPermissions");
	push_all_ipv4(L);
	lua_setfield(L, -2, "IpPermissionsEgress");
	lua_rawset(L, -3);
	lua_settop(L, answer);
}

void dry_planned_write(run *rn, lua_State *L, const aws_operation *op, int params)
{
	const char *name = model_op_name(op);
	int egress = strstr(name, "Egress") != NULL;
	int add = strncmp(name, "Authorize", 9) == 0;
	if (strcmp(model_op_service(op), "ec2") != 0)
		return;
	if (strcmp(name, "CreateSecurityGroup") == 0) {
		plan_group(rn, L, params);
		return;
	}
	if (!add && strncmp(name, "Revoke", 6) != 0)
		return;
	int top = lua_gettop(L);
	push_groups(L);
	if (lua_getfield(L, params, "GroupId") == LUA_TSTRING && lua_rawget(L, -2) == LUA_TTABLE &&
	    lua_getfield(L, -1, egress ? "IpPermissionsEgress" : "IpPermissions") == LUA_TTABLE)
		apply_rules(L, lua_gettop(L), params, add);
	lua_settop(L, top);
}

/* ---- reads ---- */

/* The read not sent: journaled as planned, a placeholder of its answer. */
static void journal_planned_read(run *rn, const char *label)
{
	jw *w = journal_line(rn->r->j, "aws_call");
	jw_field_str(w, "step", rn->step);
	jw_field_str(w, "op", label);
	jw_field_str(w, "access", "read");
	jw_key(w, "params");
	jw_raw(w, rn->params.len ? rn->params.data : "null");
	jw_field_bool(w, "dry_run", 1);
	journal_emit(rn->r->j);
}

/* DescribeSecurityGroups with GroupIds: the planned ones set aside under
 * MERGE_KEY and taken out of the parameters. Returns how many real ids
 * are left to read (-1: GroupIds names no planned group). */
static int split_group_ids(lua_State *L, int params)
{
	int real = 0, planned = 0;
	if (lua_getfield(L, params, "GroupIds") != LUA_TTABLE) {
		lua_pop(L, 1);
		return -1;
	}
	int ids = lua_gettop(L);
	lua_newtable(L); /* the real ones */
	lua_newtable(L); /* the planned ones */
	for (lua_Integer i = 1; lua_rawgeti(L, ids, i) == LUA_TSTRING; i++) {
		int p = is_placeholder(lua_tostring(L, -1));
		lua_rawseti(L, p ? -2 : -3, p ? ++planned : ++real);
	}
	lua_pop(L, 1);
	if (!planned) {
		lua_settop(L, ids - 1);
		return -1;
	}
	lua_setfield(L, LUA_REGISTRYINDEX, MERGE_KEY);
	lua_setfield(L, params, "GroupIds");
	lua_pop(L, 1);
	return real;
}

/* Appends the groups set aside under MERGE_KEY to SecurityGroups of the
 * answer on top (a new answer when answer is 0), and forgets them. */
static void merge_groups(lua_State *L, int answer)
{
	if (!answer) {
		lua_createtable(L, 0, 2);
		lua_newtable(L);
		lua_setfield(L, -2, "SecurityGroups");
	}
	int top = lua_gettop(L);
	if (lua_getfield(L, top, "SecurityGroups") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, top, "SecurityGroups");
	}
	int list = lua_gettop(L);
	push_groups(L);
	lua_getfield(L, LUA_REGISTRYINDEX, MERGE_KEY);
	for (lua_Integer i = 1; lua_istable(L, -1) && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
		if (lua_rawget(L, -3) == LUA_TTABLE) { /* a group this plan made */
			push_copy(L, -1, 0);
			lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
		}
		lua_pop(L, 1);
	}
	lua_settop(L, top);
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, MERGE_KEY);
}

int dry_read(run *rn, lua_State *L, const aws_operation *op, int params, const char *label)
{
	if (sandbox_dry_waiting(rn->sb) == 0) { /* a dry aws.wait's check: nothing polled */
		journal_planned_read(rn, label);
		buf_printf(&rn->wait_reads, "%s%s", rn->wait_reads.len ? ", " : "", label);
		codec_push_placeholder(L, op, 0);
		return 1;
	}
	if (!names_planned(L, params, 0))
		return 0;
	if (strcmp(model_op_name(op), "DescribeSecurityGroups") == 0) {
		int real = split_group_ids(L, params);
		if (real > 0)
			return 2; /* the real groups are read; dry_read_done adds the others */
		if (real == 0) {
			journal_planned_read(rn, label);
			merge_groups(L, 0);
			return 1;
		}
	}
	journal_planned_read(rn, label);
	codec_push_placeholder(L, op, 0);
	return 1;
}

void dry_read_done(lua_State *L, int rc)
{
	if (rc == 0)
		merge_groups(L, lua_gettop(L));
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, MERGE_KEY);
}

/* ---- waits ---- */

void dry_wait(void *ud, double seconds, double every)
{
	run *rn = ud;
	jw *w = journal_line(rn->r->j, "wait");
	jw_field_str(w, "step", rn->step);
	jw_field_num(w, "seconds", seconds);
	if (every > 0) {
		jw_field_num(w, "every", every);
		jw_field_str(w, "until", rn->wait_reads.len ? rn->wait_reads.data : "");
	}
	jw_field_bool(w, "dry_run", 1);
	journal_emit(rn->r->j);
	host_plan_wait(rn, seconds, every, rn->wait_reads.len ? rn->wait_reads.data : NULL);
	buf_reset(&rn->wait_reads);
}

const sandbox_dry host_dry = {dry_wait};
