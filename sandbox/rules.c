/* rules — the argument rules of the allow-list's writes. allowlist.c names
 * one rule per write with a line saying what it allows and why; this file
 * says what each one checks, and checks it in the sandbox, on the plain copy
 * of the parameters, before the host sees the call. A refused call raises
 * "<service>.<op> refused by rule <name>: <why>" and nothing is sent.
 *
 * The run's facts the rules compare with come from the host
 * (sandbox_set_run): the artifact bucket, the finding's account, region and
 * id (the run's evidence prefix), the quarantine profile, the notification
 * topic, and the forensic document and commands read from config.lua by the
 * host in a sandbox of their own (sandbox_config_read), never from the
 * playbook's copy of config.
 *
 * deadbolt's security groups are known by one tag, GROUP_TAG, whose value
 * says which group it is: "isolation" (no rules; during forensics tcp/443 out
 * to endpoints only) or "untrack" (the allow-all first step of the two-step
 * move). Only CreateSecurityGroup may set it, and only on the group it
 * creates; CreateTags and CreateSnapshot may not. The sandbox learns the
 * groups from AWS's own answers as they pass through it (a CreateSecurityGroup
 * that set the tag, a DescribeSecurityGroups that shows it), so the playbook's
 * usual find-or-create costs no extra round trip; a group it has not seen
 * costs one DescribeSecurityGroups, made by the sandbox itself. Anyone who can
 * tag groups in the account outside deadbolt can still make one pass: the
 * tag is trusted as AWS reports it.
 *
 * The allow-all (untrack) group is open to everything by design, for the
 * moment between the two moves of the isolation. So that no ENI stays in it
 * (a failed second move, a budget, a playbook that stops there), an ENI may
 * enter it only once the run has seen the ENI's own groups, and when a step
 * ends with an ENI still in it, rules_settle moves the ENI back there itself.
 *
 * Restore mode (sandbox_run.restore, set by engine/run/restore.c, whose calls
 * come through sandbox_host_call) is the one mode in which a write may
 * loosen, and only back to the state the journal recorded before the
 * containment: the host hands over, with each undo call, the journal's
 * record of the thing it puts back ({ [key] = { before, after } }, keys as
 * engine/run/undo.lua names them), and a rule with a restore variant (the
 * table at the end) lets the call through when its arguments put back
 * exactly that before-state, the key built from the call's own arguments
 * (an undo record whose call names another thing than its key, or another
 * value than its before-state, is refused). Otherwise the ordinary rule
 * decides, so tightening stays allowed. The undo-only writes
 * (allowlist_undo_find) have only a restore variant.
 *
 * rules_int.h says which of rules.c, rules_view.c and rules_restore.c does
 * what.
 *
 * Owner: sandbox module. Nothing here keeps memory across a Lua call that can
 * raise: the policy parser's tree is freed before any error is raised. */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_tree.h"
#include "model.h"

#define FORENSICS_ROOT "forensics"
#define POLICY_MAX ((size_t)128 << 10) /* IAM's own limit is 10,240 characters */

typedef int (*rule_fn)(view *v, int p);

/* ---- the rules ---- */

static int rule_any(view *v, int p)
{
	return 0;
}

static int one_mapping(view *v, int m)
{
	static const char *const mapping[] = {"DeviceName", "Ebs", NULL};
	static const char *const ebs[] = {"DeleteOnTermination", "VolumeId", NULL};
	lua_State *L = v->L;
	int r;
	if (rv_only_members(v, m, "BlockDeviceMappings", mapping) != 0)
		return -1;
	if ((r = rv_sub_table(v, m, "Ebs")) <= 0)
		return r;
	if (rv_only_members(v, lua_gettop(L), "Ebs", ebs) == 0) {
		rv_get(L, -1, "DeleteOnTermination");
		r = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)
			    ? 0
			    : rv_refuse(v, "Ebs.DeleteOnTermination may only be set to false");
		lua_pop(L, 1);
	} else {
		r = -1;
	}
	lua_pop(L, 1);
	return r;
}

/* Protections on: termination and stop protection, shutdown "stop",
 * volumes kept. Never user data, instance type, groups, source/dest check. */
static int rule_protect_only(view *v, int p)
{
	static const char *const allowed[] = {"InstanceId", "DisableApiTermination", "DisableApiStop",
					      "InstanceInitiatedShutdownBehavior", "BlockDeviceMappings",
					      "DryRun", NULL};
	int r;
	if (rv_only_members(v, p, "", allowed) != 0 ||
	    rv_value_is(v, p, "DisableApiTermination", 1, NULL) != 0 ||
	    rv_value_is(v, p, "DisableApiStop", 1, NULL) != 0 ||
	    rv_value_is(v, p, "InstanceInitiatedShutdownBehavior", 0, "stop") != 0)
		return -1;
	if ((r = rv_sub_table(v, p, "BlockDeviceMappings")) <= 0)
		return r;
	r = rv_each_item(v, lua_gettop(v->L), one_mapping);
	lua_pop(v->L, 1);
	return r;
}

/* No tag in the list at t has deadbolt's group key, in any case. */
static int no_group_key(view *v, int t)
{
	lua_State *L = v->L;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		int bad = 0;
		const char *k = lua_istable(L, -1) ? rv_get_str(L, lua_gettop(L), "Key", &bad) : NULL;
		lua_pop(L, 1);
		if (k && strcasecmp(k, GROUP_TAG) == 0) {
			lua_pop(L, 1);
			return rv_refuse(v, "the tag %s is deadbolt's mark for its own groups: "
				      "only CreateSecurityGroup may set it", GROUP_TAG);
		}
	}
	return 0;
}

static int spec_no_group_key(view *v, int spec)
{
	int r = rv_sub_table(v, spec, "Tags");
	if (r <= 0)
		return r;
	r = no_group_key(v, lua_gettop(v->L));
	lua_pop(v->L, 1);
	return r;
}

/* CreateTags (Tags) and CreateSnapshot (TagSpecifications): never GROUP_TAG. */
static int rule_no_group_tag(view *v, int p)
{
	int r = rv_sub_table(v, p, "Tags");
	if (r < 0)
		return r;
	if (r == 1) {
		r = no_group_key(v, lua_gettop(v->L));
		lua_pop(v->L, 1);
		if (r != 0)
			return r;
	}
	if ((r = rv_sub_table(v, p, "TagSpecifications")) <= 0)
		return r;
	r = rv_each_item(v, lua_gettop(v->L), spec_no_group_key);
	lua_pop(v->L, 1);
	return r;
}

static int spec_group_tag(view *v, int spec)
{
	lua_State *L = v->L;
	int bad = 0, r = rv_sub_table(v, spec, "Tags");
	const char *type, *value;
	if (r <= 0)
		return r;
	r = no_group_key(v, lua_gettop(L));
	if (r == 0) { /* no group tag here */
		lua_pop(L, 1);
		return 0;
	}
	value = rv_group_tag_in(L, lua_gettop(L));
	lua_pop(L, 1);
	type = rv_get_str(L, spec, "ResourceType", &bad);
	if (!type || strcmp(type, "security-group") != 0)
		return rv_refuse(v, "the tag %s may be set on the security group only", GROUP_TAG);
	if (rv_role_of_tag(value) == GROUP_UNKNOWN)
		return rv_refuse(v, "the tag %s must be written so and be \"isolation\" or \"untrack\"",
			      GROUP_TAG);
	return 0;
}

/* CreateSecurityGroup: GROUP_TAG only on the group, with a known role. */
static int rule_new_group(view *v, int p)
{
	int r = rv_sub_table(v, p, "TagSpecifications");
	if (r <= 0)
		return r;
	r = rv_each_item(v, lua_gettop(v->L), spec_group_tag);
	lua_pop(v->L, 1);
	return r;
}

static int rule_ingress_own_group(view *v, int p)
{
	static const char *const allowed[] = {"GroupId", "IpPermissions", "DryRun", NULL};
	const char *id;
	int role;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "GroupId", &id) != 0)
		return -1;
	if (rv_is_static(v))
		return 0;
	role = rv_group_role(v, id);
	if (role == GROUP_UNKNOWN)
		return rv_not_ours(v, id);
	if (role != GROUP_UNTRACK)
		return rv_refuse(v, "group %.64s is deadbolt's isolation group: it never gets ingress", id);
	return 0;
}

static int listed(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* One destination of the isolation group's egress: { <key> = id, Description }
 * with id one config.forensics.egress names (config.lua as the host read it). */
static int configured_destination(view *v, int item, const char *key, int prefix_list)
{
	const char *const allowed[] = {key, "Description", NULL};
	const sandbox_config *c = v->run->config;
	const char *id;
	int bad = 0;
	if (rv_only_members(v, item, prefix_list ? "PrefixListIds" : "UserIdGroupPairs", allowed) != 0)
		return -1;
	id = rv_get_str(v->L, item, key, &bad);
	if (!id || bad)
		return rv_refuse(v, "%s is required", key);
	if (!c || !listed(prefix_list ? c->prefix_lists : c->endpoint_groups,
			  prefix_list ? c->nprefix_lists : c->nendpoint_groups, id))
		return rv_refuse(v, "%.64s is not an endpoint config.forensics.egress names", id);
	return 0;
}

static int configured_group(view *v, int item)
{
	return configured_destination(v, item, "GroupId", 0);
}

static int configured_prefix_list(view *v, int item)
{
	return configured_destination(v, item, "PrefixListId", 1);
}

static int endpoint_permission(view *v, int perm)
{
	static const char *const allowed[] = {"IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs",
					      "PrefixListIds", "IpRanges", "Ipv6Ranges", NULL};
	lua_State *L = v->L;
	int bad = 0, ok, targets = 0;
	const char *proto;
	if (rv_only_members(v, perm, "IpPermissions", allowed) != 0)
		return -1;
	proto = rv_get_str(L, perm, "IpProtocol", &bad);
	rv_get(L, perm, "FromPort");
	rv_get(L, perm, "ToPort");
	ok = proto && (strcmp(proto, "tcp") == 0 || strcmp(proto, "6") == 0) &&
	     lua_isinteger(L, -2) && lua_tointeger(L, -2) == 443 && lua_isinteger(L, -1) &&
	     lua_tointeger(L, -1) == 443;
	lua_pop(L, 2);
	if (!ok)
		return rv_refuse(v, "the isolation group's egress is tcp/443 only");
	for (int i = 0; i < 2; i++) {
		const char *k = i ? "Ipv6Ranges" : "IpRanges";
		if (rv_get(L, perm, k) != LUA_TNIL && !(lua_istable(L, -1) && lua_rawlen(L, -1) == 0)) {
			lua_pop(L, 1);
			return rv_refuse(v, "the isolation group's egress goes to endpoint groups or prefix "
				      "lists, never to an address range (%s)", k);
		}
		lua_pop(L, 1);
	}
	for (int i = 0; i < 2; i++) {
		int r = rv_sub_table(v, perm, i ? "PrefixListIds" : "UserIdGroupPairs");
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		targets += (int)lua_rawlen(L, -1);
		r = rv_each_item(v, lua_gettop(L), i ? configured_prefix_list : configured_group);
		lua_pop(L, 1);
		if (r != 0)
			return r;
	}
	return targets > 0 ? 0 : rv_refuse(v, "the isolation group's egress names no endpoint group or prefix list");
}

/* Egress: on the untrack group anything (it allows all by design); on the
 * isolation group tcp/443 to the endpoint groups and prefix lists that
 * config.forensics.egress names, nothing else (issue 7: never 0.0.0.0/0 or
 * ::/0, never an address range). */
static int rule_egress_own_group(view *v, int p)
{
	static const char *const allowed[] = {"GroupId", "IpPermissions", "DryRun", NULL};
	const char *id;
	int role, r;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "GroupId", &id) != 0)
		return -1;
	if (rv_is_static(v))
		return 0;
	role = rv_group_role(v, id);
	if (role == GROUP_UNKNOWN)
		return rv_not_ours(v, id);
	if (role == GROUP_UNTRACK)
		return 0;
	if ((r = rv_sub_table(v, p, "IpPermissions")) <= 0)
		return r < 0 ? r : rv_refuse(v, "IpPermissions is required");
	r = rv_each_item(v, lua_gettop(v->L), endpoint_permission);
	lua_pop(v->L, 1);
	return r;
}

static int rule_revoke_own_group(view *v, int p)
{
	static const char *const allowed[] = {"GroupId", "IpPermissions", "SecurityGroupRuleIds",
					      "DryRun", NULL};
	const char *id;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "GroupId", &id) != 0)
		return -1;
	if (!rv_is_static(v) && rv_group_role(v, id) == GROUP_UNKNOWN)
		return rv_not_ours(v, id);
	return 0;
}

/* Whether the list at t holds exactly the groups the run first saw on the
 * ENI (in any order). */
static int back_where_it_was(view *v, int t, const char *eni)
{
	const rules_eni *r = eni ? rv_known_eni(v->sb, eni) : NULL;
	lua_State *L = v->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	if (!r || n != r->ngroups)
		return 0;
	for (lua_Integer i = 1; i <= n; i++) {
		const char *g = lua_rawgeti(L, t, i) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int found = 0;
		for (int k = 0; g && k < r->ngroups && !found; k++)
			found = strcmp(r->groups[k], g) == 0;
		lua_pop(L, 1);
		if (!found)
			return 0;
	}
	return 1;
}

/* ModifyNetworkInterfaceAttribute: Groups only, every one deadbolt's, or
 * exactly the groups the run first saw on the ENI (a fallback that leaves it
 * no more open than before the run). */
static int rule_eni_own_groups(view *v, int p)
{
	static const char *const allowed[] = {"NetworkInterfaceId", "Groups", "DryRun", NULL};
	lua_State *L = v->L;
	const char *eni;
	int r = 0, bad = 0;
	if (rv_only_members(v, p, "", allowed) != 0)
		return -1;
	eni = rv_get_str(L, p, "NetworkInterfaceId", &bad);
	if ((r = rv_sub_table(v, p, "Groups")) <= 0)
		return r < 0 || rv_is_static(v) ? r : rv_refuse(v, "Groups is required");
	if (rv_is_static(v)) {
		lua_pop(L, 1);
		return 0;
	}
	int groups = lua_gettop(L), untrack = 0;
	if (lua_rawlen(L, groups) == 0)
		return rv_refuse(v, "Groups is empty");
	if (back_where_it_was(v, groups, eni))
		return 0;
	r = 0;
	for (lua_Integer i = 1; r == 0 && i <= (lua_Integer)lua_rawlen(L, groups); i++) {
		const char *id = lua_rawgeti(L, groups, i) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int role = id ? rv_group_role(v, id) : GROUP_UNKNOWN;
		lua_pop(L, 1);
		untrack |= role == GROUP_UNTRACK;
		if (!id)
			r = rv_refuse(v, "Groups holds something that is not a group id");
		else if (role == GROUP_UNKNOWN)
			r = rv_refuse(v, "group %.64s is not one deadbolt created, nor are these the groups "
				   "%.32s had when the run first saw it", id, eni ? eni : "the ENI");
	}
	/* Into the allow-all group only an ENI the sandbox can put back: its
	 * groups before the run are known (rules_settle). */
	if (r == 0 && untrack && (!eni || !rv_known_eni(v->sb, eni)))
		r = rv_refuse(v, "%.32s may enter the allow-all group only once the run has seen its groups "
			   "(describe the instance first)", eni ? eni : "the ENI");
	return r;
}

static int rule_quarantine_profile(view *v, int p)
{
	static const char *const allowed[] = {"InstanceId", "IamInstanceProfile", NULL};
	static const char *const profile[] = {"Arn", NULL};
	const char *arn = NULL, *want = v->run ? v->run->quarantine_profile_arn : NULL;
	int bad = 0, r;
	if (rv_only_members(v, p, "", allowed) != 0)
		return -1;
	if ((r = rv_sub_table(v, p, "IamInstanceProfile")) <= 0)
		return r < 0 || rv_is_static(v) ? r : rv_refuse(v, "IamInstanceProfile is required");
	if (rv_only_members(v, lua_gettop(v->L), "IamInstanceProfile", profile) == 0)
		arn = rv_get_str(v->L, lua_gettop(v->L), "Arn", &bad);
	else
		r = -1;
	lua_pop(v->L, 1);
	if (r < 0 || bad)
		return bad ? rv_refuse(v, "IamInstanceProfile.Arn must be a string") : r;
	if (rv_is_static(v))
		return 0;
	if (!want || !*want)
		return rv_refuse(v, "no QUARANTINE_PROFILE_ARN in this run: no profile may be attached");
	if (!arn || strcmp(arn, want) != 0)
		return rv_refuse(v, "only the quarantine profile (QUARANTINE_PROFILE_ARN) may be attached");
	return 0;
}

static int rule_keep_capacity(view *v, int p)
{
	int type = rv_get(v->L, p, "ShouldDecrementDesiredCapacity");
	int ok = type == LUA_TBOOLEAN && !lua_toboolean(v->L, -1);
	lua_pop(v->L, 1);
	if (ok || (type == LUA_TNIL && rv_is_static(v)))
		return 0;
	return rv_refuse(v, "ShouldDecrementDesiredCapacity must be false: the group keeps its size");
}

static int listed_command(const sandbox_config *c, const char *cmd)
{
	for (size_t i = 0; c && i < c->ncommands; i++)
		if (strcmp(c->commands[i], cmd) == 0)
			return 1;
	return 0;
}

/* Parameters: commands (each one of config.forensics.commands), and
 * executionTimeout (one string of digits); nothing else. */
static int command_parameters(view *v, int params)
{
	static const char *const allowed[] = {"commands", "executionTimeout", NULL};
	lua_State *L = v->L;
	const sandbox_config *c = v->run ? v->run->config : NULL;
	int r = 0;
	if (rv_only_members(v, params, "Parameters", allowed) != 0)
		return -1;
	if (rv_get(L, params, "commands") != LUA_TTABLE || lua_rawlen(L, -1) == 0) {
		lua_pop(L, 1);
		return rv_refuse(v, "Parameters.commands must be a list of the configured commands");
	}
	for (lua_Integer i = 1; r == 0 && i <= (lua_Integer)lua_rawlen(L, -1); i++) {
		const char *cmd = lua_rawgeti(L, -1, i) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		if (!cmd)
			r = rv_refuse(v, "Parameters.commands[%lld] is not a string", (long long)i);
		else if (!rv_is_static(v) && !listed_command(c, cmd))
			r = rv_refuse(v, "command \"%.80s\" is not one of config.forensics.commands", cmd);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (r != 0)
		return r;
	if (rv_get(L, params, "executionTimeout") != LUA_TNIL) {
		const char *t = NULL;
		if (lua_istable(L, -1) && lua_rawlen(L, -1) == 1 && lua_rawgeti(L, -1, 1) == LUA_TSTRING) {
			t = lua_tostring(L, -1);
			lua_pop(L, 1);
		} else if (lua_istable(L, -1)) {
			lua_pop(L, 1);
		}
		if (!t || !*t || strlen(t) > 6 || strspn(t, "0123456789") != strlen(t))
			r = rv_refuse(v, "Parameters.executionTimeout must be one string of digits");
	}
	lua_pop(L, 1);
	return r;
}

static int instance_id_shape(const char *id)
{
	size_t n = strlen(id);
	return n >= 10 && n <= 19 && strncmp(id, "i-", 2) == 0 &&
	       strspn(id + 2, "0123456789abcdef") == n - 2;
}

static int command_targets(view *v, int p)
{
	lua_State *L = v->L;
	int r = 0;
	lua_Integer n;
	if (rv_get(L, p, "InstanceIds") != LUA_TTABLE) {
		lua_pop(L, 1);
		return rv_refuse(v, "InstanceIds must list the instances (Targets are not allowed)");
	}
	n = (lua_Integer)lua_rawlen(L, -1);
	if (n < 1 || n > 50)
		r = rv_refuse(v, "InstanceIds must hold 1 to 50 instance ids");
	for (lua_Integer i = 1; r == 0 && i <= n; i++) {
		const char *id = lua_rawgeti(L, -1, i) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		if (!id || !instance_id_shape(id))
			r = rv_refuse(v, "InstanceIds[%lld] is not an instance id", (long long)i);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return r;
}

/* The one instance InstanceIds names, or NULL when it names none or
 * several. The string belongs to the parameters table, which stays on the
 * stack while the rule runs. */
static const char *only_instance(view *v, int p)
{
	lua_State *L = v->L;
	const char *id = NULL;
	if (rv_get(L, p, "InstanceIds") == LUA_TTABLE && lua_rawlen(L, -1) == 1) {
		if (lua_rawgeti(L, -1, 1) == LUA_TSTRING)
			id = lua_tostring(L, -1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return id;
}

/* key is forensics/<role id>:<instance id>/<finding id>/<rest>: the prefix
 * the quarantine role lets an instance's session write under (template.yaml:
 * the session's aws:userid is "<role id>:<instance id>"). The instance is
 * the command's one target, the finding the run's. */
static int under_forensic_prefix(view *v, int p, const char *key)
{
	const char *want[3] = {FORENSICS_ROOT, NULL, NULL};
	const char *seg, *slash, *colon, *id;
	if (v->run) {
		if (!rv_run_part_ok(v->run->finding_id))
			return rv_refuse(v, "this run has no finding id for a forensic output prefix");
		want[2] = v->run->finding_id;
	}
	if (rv_under_prefix(v, "OutputS3KeyPrefix", key, want, 3,
			 "forensics/<role id>:<instance id>/<finding id>/") != 0)
		return -1;
	seg = key + strlen(FORENSICS_ROOT) + 1;
	slash = strchr(seg, '/');
	colon = memchr(seg, ':', (size_t)(slash - seg));
	if (!colon || colon == seg)
		return rv_refuse(v, "OutputS3KeyPrefix: forensics/ is followed by <role id>:<instance id>");
	for (const char *c = seg; c < colon; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return rv_refuse(v, "OutputS3KeyPrefix: the role id is upper-case letters and digits");
	if (rv_is_static(v))
		return 0;
	id = only_instance(v, p);
	if (!id)
		return rv_refuse(v, "output under forensics/ is one instance's: InstanceIds must name one");
	if (strlen(id) != (size_t)(slash - colon - 1) || memcmp(colon + 1, id, strlen(id)) != 0)
		return rv_refuse(v, "OutputS3KeyPrefix names another instance than InstanceIds");
	return 0;
}

/* The output, when there is one, goes to the run's prefix in the artifact
 * bucket, as the evidence does, or to the instance's forensic prefix, the
 * one place the quarantine role may write. */
static int command_output(view *v, int p)
{
	const char *bucket, *prefix;
	int bad = 0;
	bucket = rv_get_str(v->L, p, "OutputS3BucketName", &bad);
	prefix = rv_get_str(v->L, p, "OutputS3KeyPrefix", &bad);
	if (bad)
		return rv_refuse(v, "OutputS3BucketName and OutputS3KeyPrefix must be strings");
	if (!bucket && !prefix)
		return 0;
	if (!rv_is_static(v)) {
		const char *want = v->run->artifact_bucket;
		if (!bucket || !want || strcmp(bucket, want) != 0)
			return rv_refuse(v, "OutputS3BucketName must be the artifact bucket (ARTIFACT_BUCKET)");
		if (!prefix)
			return rv_refuse(v, "OutputS3KeyPrefix is required with an output bucket");
	}
	if (prefix && strncmp(prefix, FORENSICS_ROOT "/", strlen(FORENSICS_ROOT) + 1) == 0)
		return under_forensic_prefix(v, p, prefix);
	return prefix ? rv_under_run_prefix(v, "OutputS3KeyPrefix", prefix) : 0;
}

/* SendCommand: config's document and commands, to listed instances, output
 * to the run's prefix. No member can carry text of the finding into a shell:
 * every command is a string of config.lua, compared whole. */
static int rule_config_commands(view *v, int p)
{
	static const char *const allowed[] = {"DocumentName", "InstanceIds", "Comment", "Parameters",
					      "OutputS3BucketName", "OutputS3KeyPrefix",
					      "OutputS3Region", "TimeoutSeconds", "MaxConcurrency",
					      "MaxErrors", NULL};
	const sandbox_config *c = v->run ? v->run->config : NULL;
	const char *doc;
	int r;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "DocumentName", &doc) != 0)
		return -1;
	if (!rv_is_static(v) && (!c || !c->document || c->ncommands == 0))
		return rv_refuse(v, "config.lua names no forensic document and commands");
	if (!rv_is_static(v) && strcmp(doc, c->document) != 0)
		return rv_refuse(v, "document %.80s is not config.forensics.document", doc);
	if ((r = rv_sub_table(v, p, "Parameters")) < 0)
		return r;
	if (r == 0 && !rv_is_static(v))
		return rv_refuse(v, "Parameters.commands is required");
	if (r == 1) {
		r = command_parameters(v, lua_gettop(v->L));
		lua_pop(v->L, 1);
		if (r != 0)
			return r;
	}
	if ((rv_is_static(v) ? 0 : command_targets(v, p)) != 0)
		return -1;
	return command_output(v, p);
}

/* PublicAccessBlockConfiguration present (at run time) with all four flags true. */
static int all_four_flags(view *v, int p)
{
	static const char *const flags[] = {"BlockPublicAcls", "IgnorePublicAcls",
					    "BlockPublicPolicy", "RestrictPublicBuckets", NULL};
	lua_State *L = v->L;
	int r;
	if ((r = rv_sub_table(v, p, "PublicAccessBlockConfiguration")) <= 0)
		return r < 0 || rv_is_static(v) ? r : rv_refuse(v, "PublicAccessBlockConfiguration is required");
	for (int i = 0; r >= 0 && flags[i]; i++) {
		int type = rv_get(L, -1, flags[i]);
		if (!(type == LUA_TBOOLEAN && lua_toboolean(L, -1)))
			r = rv_refuse(v, "%s must be true: a public access block is only ever tightened",
				   flags[i]);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return r < 0 ? r : 0;
}

static int rule_block_all(view *v, int p)
{
	static const char *const allowed[] = {"Bucket", "PublicAccessBlockConfiguration",
					      "ExpectedBucketOwner", "ContentMD5", "ChecksumAlgorithm",
					      NULL};
	if (rv_only_members(v, p, "", allowed) != 0)
		return -1;
	return all_four_flags(v, p);
}

/* s3control PutPublicAccessBlock: the account's block, all four flags true,
 * and only the run's own account (the finding's, compared with the
 * caller's by the host): never another account's. */
static int rule_account_block_all(view *v, int p)
{
	static const char *const allowed[] = {"AccountId", "PublicAccessBlockConfiguration", NULL};
	const char *account;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "AccountId", &account) != 0)
		return -1;
	if (!rv_is_static(v)) {
		const char *want = v->run->account;
		if (!want || !*want)
			return rv_refuse(v, "this run has no account: no account setting may be changed");
		if (strcmp(account, want) != 0)
			return rv_refuse(v, "AccountId must be the run's account (%.12s)", want);
	}
	return all_four_flags(v, p);
}

/* PutObject: a new object in the artifact bucket under the run's evidence
 * prefix, or a per-resource lock under locks/<account>/<region>/<resource>/,
 * never an overwrite (IfNoneMatch "*", which S3 answers with 412 when the key
 * exists), never public (no ACL or grant members). */
static int rule_evidence_object(view *v, int p)
{
	static const char *const allowed[] = {
		"Bucket", "Key", "Body", "ContentType", "ContentLength", "ContentMD5",
		"ContentEncoding", "ContentDisposition", "ChecksumAlgorithm", "ChecksumSHA256",
		"ChecksumSHA1", "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "IfNoneMatch",
		"ExpectedBucketOwner", "Metadata", "ServerSideEncryption", "SSEKMSKeyId",
		"BucketKeyEnabled", NULL};
	const char *bucket, *key, *inm;
	int bad = 0;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "Bucket", &bucket) != 0 ||
	    rv_need_str(v, p, "Key", &key) != 0)
		return -1;
	inm = rv_get_str(v->L, p, "IfNoneMatch", &bad);
	if (bad || (inm && strcmp(inm, "*") != 0) || (!inm && !rv_is_static(v)))
		return rv_refuse(v, "IfNoneMatch must be \"*\": evidence is never overwritten");
	if (!rv_is_static(v)) {
		const char *want = v->run->artifact_bucket;
		if (!want || !*want)
			return rv_refuse(v, "no ARTIFACT_BUCKET in this run: no object may be written");
		if (strcmp(bucket, want) != 0)
			return rv_refuse(v, "bucket %.64s is not the artifact bucket (ARTIFACT_BUCKET)", bucket);
	}
	if (key && strncmp(key, LOCK_ROOT "/", sizeof(LOCK_ROOT)) == 0)
		return rv_under_lock_prefix(v, "Key", key);
	return key ? rv_under_run_prefix(v, "Key", key) : 0;
}

/* ---- deny-only policies ---- */

/* Whether the JSON node is the string want exactly (a JSON string may hold
 * a NUL: "Deny\u0000Allow" is not "Deny"). */
static int json_is(const jt_node *n, const char *want)
{
	return n && n->type == JT_STRING && n->len == strlen(want) && memcmp(n->str, want, n->len) == 0;
}

/* Index of key in names, or -1. */
static int name_index(const jt_node *m, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == m->key_len && memcmp(m->key, names[i], m->key_len) == 0)
			return i;
	return -1;
}

/* Every member of obj is one of names, none twice; *seen gets a bit each. */
static int members_once(view *v, const jt_node *obj, const char *where, const char *const *names,
			unsigned *seen)
{
	*seen = 0;
	for (const jt_node *m = obj->first; m; m = m->next) {
		int i = name_index(m, names);
		if (i < 0)
			return rv_refuse(v, "%s: member \"%.40s\" is not allowed", where, m->key);
		if (*seen & (1u << i))
			return rv_refuse(v, "%s: member %s appears twice", where, names[i]);
		*seen |= 1u << i;
	}
	return 0;
}

static int strings_or_list(const jt_node *n)
{
	if (n->type == JT_STRING)
		return 1;
	if (n->type != JT_ARRAY || n->n == 0)
		return 0;
	for (const jt_node *e = n->first; e; e = e->next)
		if (e->type != JT_STRING)
			return 0;
	return 1;
}

static int deny_statement(view *v, const jt_node *s, size_t i)
{
	static const char *const names[] = {"Sid", "Effect", "Action", "NotAction",
					    "Resource", "NotResource", "Condition", NULL};
	char where[48];
	unsigned seen;
	const jt_node *effect;
	snprintf(where, sizeof(where), "statement %zu", i);
	if (s->type != JT_OBJECT)
		return rv_refuse(v, "%s is not an object", where);
	if (members_once(v, s, where, names, &seen) != 0)
		return -1;
	effect = json_tree_get(s, "Effect");
	if (!json_is(effect, "Deny"))
		return rv_refuse(v, "%s: Effect is %s%.20s%s, and a policy written by a playbook may only "
			      "deny", where, effect && effect->type == JT_STRING ? "\"" : "",
			      effect && effect->type == JT_STRING ? effect->str : "not \"Deny\"",
			      effect && effect->type == JT_STRING ? "\"" : "");
	if (!(seen & (3u << 2)) || !(seen & (3u << 4)) || (seen & (3u << 2)) == (3u << 2) ||
	    (seen & (3u << 4)) == (3u << 4))
		return rv_refuse(v, "%s needs one of Action/NotAction and one of Resource/NotResource", where);
	for (const jt_node *m = s->first; m; m = m->next) {
		int k = name_index(m, names);
		if (k >= 2 && k <= 5 && !strings_or_list(m))
			return rv_refuse(v, "%s: %s must be a string or a list of strings", where, names[k]);
		if (k == 6 && m->type != JT_OBJECT)
			return rv_refuse(v, "%s: Condition must be an object", where);
	}
	return 0;
}

static int deny_document(view *v, const jt_node *root)
{
	static const char *const names[] = {"Version", "Id", "Statement", NULL};
	const jt_node *st, *ver;
	unsigned seen;
	size_t i = 1;
	if (!root || root->type != JT_OBJECT)
		return rv_refuse(v, "the PolicyDocument is not a JSON object");
	if (members_once(v, root, "the PolicyDocument", names, &seen) != 0)
		return -1;
	ver = json_tree_get(root, "Version");
	if (ver && !json_is(ver, "2012-10-17") && !json_is(ver, "2008-10-17"))
		return rv_refuse(v, "the PolicyDocument's Version is not an IAM policy version");
	st = json_tree_get(root, "Statement");
	if (!st)
		return rv_refuse(v, "the PolicyDocument has no Statement");
	if (st->type == JT_OBJECT)
		return deny_statement(v, st, 1);
	if (st->type != JT_ARRAY || st->n == 0)
		return rv_refuse(v, "the PolicyDocument's Statement is not a list of statements");
	for (const jt_node *s = st->first; s; s = s->next, i++)
		if (deny_statement(v, s, i) != 0)
			return -1;
	return 0;
}

/* Parses the document (strict JSON, bounded) and judges it; the tree is
 * freed before returning, so the caller may raise. */
static int deny_only_text(view *v, const char *doc, size_t len)
{
	jt_limits lim = {POLICY_MAX, 16, 10000};
	char perr[128];
	jt_doc *d;
	int r;
	if (len > POLICY_MAX)
		return rv_refuse(v, "the PolicyDocument is larger than %zu bytes", POLICY_MAX);
	if (v->sb)
		sandbox_charge(v->L, len / 4 + 1);
	d = json_tree_parse(doc, len, &lim, perr, sizeof(perr));
	if (!d)
		return rv_refuse(v, "the PolicyDocument is not valid JSON (%s)", perr);
	r = deny_document(v, json_tree_root(d));
	json_tree_free(d);
	return r;
}

static int rule_deny_only(view *v, int p)
{
	static const char *const allowed[] = {"UserName", "RoleName", "PolicyName", "PolicyDocument",
					      NULL};
	const sandbox_config *c = v->run ? v->run->config : NULL;
	const char *name;
	size_t len;
	int r;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "PolicyName", &name) != 0)
		return -1;
	if (!rv_is_static(v) && c && c->policy_name && strcmp(name, c->policy_name) != 0)
		return rv_refuse(v, "policy name %.64s is not config.iam.revoke_policy_name (%.64s)", name,
			      c->policy_name);
	int type = rv_get(v->L, p, "PolicyDocument");
	if (type == LUA_TNIL && rv_is_static(v)) {
		lua_pop(v->L, 1);
		return 0;
	}
	if (type != LUA_TSTRING) {
		lua_pop(v->L, 1);
		return rv_refuse(v, "PolicyDocument must be a JSON string");
	}
	const char *doc = lua_tolstring(v->L, -1, &len);
	r = deny_only_text(v, doc, len);
	lua_pop(v->L, 1);
	return r;
}

static int rule_deactivate_only(view *v, int p)
{
	const char *status;
	if (rv_need_str(v, p, "Status", &status) != 0)
		return -1;
	if (status && strcmp(status, "Inactive") != 0)
		return rv_refuse(v, "Status may only be \"Inactive\": a key is only ever deactivated");
	return 0;
}

static int rule_own_topic(view *v, int p)
{
	static const char *const allowed[] = {"TopicArn", "Subject", "Message", "MessageStructure",
					      NULL};
	const char *topic, *want = v->run ? v->run->topic_arn : NULL;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "TopicArn", &topic) != 0)
		return -1;
	if (rv_is_static(v))
		return 0;
	if (!want || strcmp(topic, want) != 0)
		return rv_refuse(v, "only the notification topic (NOTIFICATION_TOPIC_ARN) may be sent to");
	return 0;
}

/* ---- the table: rule -> name, check ---- */

/* restore: the rule's restore variant (restore mode: a write back to the
 * journal's state before), or NULL. */
static const struct {
	allow_rule rule;
	const char *name;
	rule_fn check;
	rule_fn restore;
} rules[] = {
	{RULE_NONE, "none", rule_any, NULL},
	{RULE_ANY, "any", rule_any, NULL},
	{RULE_PROTECT_ONLY, "protect-only", rule_protect_only, restore_protect},
	{RULE_NO_GROUP_TAG, "no-group-tag", rule_no_group_tag, NULL},
	{RULE_NEW_GROUP, "new-group", rule_new_group, NULL},
	{RULE_INGRESS_OWN_GROUP, "ingress-own-group", rule_ingress_own_group, NULL},
	{RULE_EGRESS_OWN_GROUP, "egress-own-group", rule_egress_own_group, restore_egress},
	{RULE_REVOKE_OWN_GROUP, "revoke-own-group", rule_revoke_own_group, NULL},
	{RULE_ENI_OWN_GROUPS, "eni-own-groups", rule_eni_own_groups, restore_eni},
	{RULE_QUARANTINE_PROFILE, "quarantine-profile", rule_quarantine_profile, restore_profile},
	{RULE_KEEP_CAPACITY, "keep-capacity", rule_keep_capacity, NULL},
	{RULE_CONFIG_COMMANDS, "config-commands", rule_config_commands, NULL},
	{RULE_BLOCK_ALL, "block-all", rule_block_all, restore_bucket_block},
	{RULE_ACCOUNT_BLOCK_ALL, "account-block-all", rule_account_block_all, restore_account_block},
	{RULE_EVIDENCE_OBJECT, "evidence-object", rule_evidence_object, NULL},
	{RULE_DENY_ONLY, "deny-only", rule_deny_only, restore_put_policy},
	{RULE_DEACTIVATE_ONLY, "deactivate-only", rule_deactivate_only, restore_key},
	{RULE_OWN_TOPIC, "own-topic", rule_own_topic, NULL},
	{RULE_UNDO_TAG, "undo-tag", rule_restore_only, restore_tag},
	{RULE_UNDO_MEMBER, "undo-member", rule_restore_only, restore_member},
	{RULE_UNDO_NO_BLOCK, "undo-no-block", rule_restore_only, restore_no_block},
	{RULE_UNDO_POLICY, "undo-policy", rule_restore_only, restore_delete_policy},
	{RULE_DELETE_OWN_GROUP, "delete-own-group", rule_restore_only, restore_delete_group},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

const char *allow_rule_name(allow_rule r)
{
	for (size_t i = 0; i < NRULES; i++)
		if (rules[i].rule == r)
			return rules[i].name;
	return "unknown";
}

static rule_fn rule_check_of(allow_rule r, int restore)
{
	for (size_t i = 0; i < NRULES; i++)
		if (rules[i].rule == r)
			return restore ? rules[i].restore : rules[i].check;
	return NULL;
}

/* Restore mode: the restore variant first (back to the journal's state
 * before); when it refuses, the ordinary rule (tightening stays allowed),
 * and when both refuse, the variant's reason. */
static int judge_restore(view *v, rule_fn variant, rule_fn f, int p, int top)
{
	char first[512];
	int r = variant(v, p);
	lua_settop(v->L, top);
	if (r == 0)
		return 0;
	snprintf(first, sizeof(first), "%s", v->why[0] ? v->why : "the arguments are not the journal's");
	v->why[0] = '\0';
	r = f(v, p);
	lua_settop(v->L, top);
	if (r == 0)
		return 0;
	snprintf(v->why, v->n, "%s", first);
	return -1;
}

/* A write with no known rule is refused; a read has none. */
static int judge(view *v, const allow_entry *e, int p)
{
	rule_fn f = rule_check_of(e->rule, 0);
	rule_fn variant = rv_restore_mode(v) ? rule_check_of(e->rule, 1) : NULL;
	int top = lua_gettop(v->L), r;
	if (e->access == ALLOW_READ)
		return 0;
	if (!f || e->rule == RULE_NONE)
		return rv_refuse(v, "this write has no rule in the allow-list");
	if (!lua_checkstack(v->L, 48))
		return rv_refuse(v, "out of Lua stack");
	v->why[0] = '\0';
	if (variant)
		return judge_restore(v, variant, f, lua_absindex(v->L, p), top);
	r = f(v, lua_absindex(v->L, p));
	lua_settop(v->L, top);
	if (r != 0 && !v->why[0])
		snprintf(v->why, v->n, "the arguments do not follow the rule");
	return r != 0 ? -1 : 0;
}

static const aws_shape *input_of(const allow_entry *e)
{
	const aws_operation *op = model_find_operation(e->service, e->operation);
	return op ? op->input : NULL;
}

int rules_check(lua_State *L, const allow_entry *e, int params, char *why, size_t n)
{
	sandbox *sb = sandbox_of(L);
	view v = {input_of(e), L, sb, &sb->run, why, n};
	return judge(&v, e, params);
}

int allow_rule_check_static(const allow_entry *e, lua_State *L, int idx, char *err, size_t errlen)
{
	char why[512];
	view v = {input_of(e), L, NULL, NULL, why, sizeof(why)};
	if (!e || !lua_istable(L, idx))
		return 0;
	if (judge(&v, e, idx) == 0)
		return 0;
	snprintf(err, errlen, "rule %s: %s", allow_rule_name(e->rule), why);
	return -1;
}

void sandbox_set_run(sandbox *sb, const sandbox_run *run)
{
	sb->run = *run;
}
