/* rules_restore — restore mode's variants of the rules: each lets an undo
 * call through only when its arguments put back exactly the before-state of
 * the journal record handed over with the call (rules_set_facts). rules.c's
 * head says when a variant is asked and what happens when it refuses.
 *
 * Owner: sandbox module. The facts are kept in L's registry, owned by L. */
#include "rules_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- restore mode: back to the journal's state before, nothing else ---- */

static const char facts_key = 'F'; /* registry: the facts of the undo call being judged */

void rules_set_facts(lua_State *L, int idx)
{
	if (idx)
		lua_pushvalue(L, idx);
	else
		lua_pushnil(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &facts_key);
}

/* The fact's key, "<kind>:<a>[:<b>[:<c>]]" (NULL parts end it); refused
 * when it does not fit. */
static int fact_key(view *v, char *out, size_t n, const char *kind, const char *a, const char *b,
		    const char *c)
{
	int w = snprintf(out, n, "%s:%s%s%s%s%s", kind, a, b ? ":" : "", b ? b : "", c ? ":" : "",
			 c ? c : "");
	if (w < 0 || (size_t)w >= n)
		return rv_refuse(v, "the names of this call are too long for a journal record");
	return 0;
}

/* Pushes facts[key][field] ("before", "after") and returns its type: nil
 * pushed when the journal record handed over with the call has none. */
static int fact(view *v, const char *key, const char *field)
{
	lua_State *L = v->L;
	int top = lua_gettop(L), t = LUA_TNIL;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &facts_key);
	if (lua_istable(L, -1) && rv_get(L, -1, key) == LUA_TTABLE)
		t = rv_get(L, -1, field);
	lua_settop(L, top);
	if (t == LUA_TNIL) {
		lua_pushnil(L);
		return LUA_TNIL;
	}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &facts_key);
	rv_get(L, -1, key);
	rv_get(L, -1, field);
	lua_replace(L, top + 1);
	lua_settop(L, top + 1);
	return t;
}

/* facts[key][field][member] is true (before.absent, before.member ...). */
static int fact_flag(view *v, const char *key, const char *field, const char *member)
{
	int ok = 0;
	if (fact(v, key, field) == LUA_TTABLE) {
		rv_get(v->L, -1, member);
		ok = lua_toboolean(v->L, -1);
		lua_pop(v->L, 1);
	}
	lua_pop(v->L, 1);
	return ok;
}

/* Two plain values equal, tables member by member (raw, bounded depth). */
static int same_value(lua_State *L, int a, int b, int depth)
{
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE)
		return lua_rawequal(L, a, b);
	if (depth > 8 || !lua_checkstack(L, 4))
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		int from = pass ? b : a, to = pass ? a : b;
		lua_pushnil(L);
		while (lua_next(L, from)) {
			lua_pushvalue(L, -2);
			lua_rawget(L, to);
			int eq = pass ? !lua_isnil(L, -1) : same_value(L, -2, -1, depth + 1);
			lua_pop(L, 2);
			if (!eq) {
				lua_pop(L, 1);
				return 0;
			}
		}
	}
	return 1;
}

/* The value at idx equals facts[key].before. */
static int is_before(view *v, const char *key, int idx)
{
	idx = lua_absindex(v->L, idx);
	fact(v, key, "before");
	int ok = !lua_isnil(v->L, -1) && same_value(v->L, idx, -1, 0);
	lua_pop(v->L, 1);
	return ok;
}

/* The list of strings at t is the set of strings at u. */
static int same_set(lua_State *L, int t, int u)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, t);
	if (lua_type(L, u) != LUA_TTABLE || n != (lua_Integer)lua_rawlen(L, u))
		return 0;
	for (lua_Integer i = 1; i <= n; i++) {
		int found = 0;
		if (lua_rawgeti(L, t, i) != LUA_TSTRING) {
			lua_pop(L, 1);
			return 0;
		}
		for (lua_Integer k = 1; k <= n && !found; k++) {
			lua_rawgeti(L, u, k);
			found = lua_rawequal(L, -1, -2);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		if (!found)
			return 0;
	}
	return 1;
}

/* The strings of the list at t, comma-separated, for a refusal. */
static void list_text(lua_State *L, int t, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (lua_Integer i = 1; lua_type(L, t) == LUA_TTABLE && i <= (lua_Integer)lua_rawlen(L, t); i++) {
		const char *s = lua_rawgeti(L, t, i) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
		int w = snprintf(out + len, n - len, "%s%s", i > 1 ? ", " : "", s);
		lua_pop(L, 1);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

int restore_eni(view *v, int p)
{
	static const char *const allowed[] = {"NetworkInterfaceId", "Groups", "DryRun", NULL};
	lua_State *L = v->L;
	const char *eni;
	char key[KEY_MAX], had[200];
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "NetworkInterfaceId", &eni) != 0 ||
	    fact_key(v, key, sizeof(key), "eni", eni, NULL, NULL) != 0)
		return -1;
	if (rv_sub_table(v, p, "Groups") != 1)
		return rv_refuse(v, "Groups is required");
	int groups = lua_gettop(L);
	if (fact(v, key, "before") != LUA_TTABLE)
		return rv_refuse(v, "the journal recorded no groups of %.32s before the containment", eni);
	if (same_set(L, groups, groups + 1))
		return 0;
	list_text(L, groups + 1, had, sizeof(had));
	return rv_refuse(v, "%.32s may go back only to the groups the journal recorded on it before the "
		      "containment (%s)", eni, had);
}

/* One attribute of ModifyInstanceAttribute ({ Value = x }) back to the
 * journal's value before. */
static int restore_attribute(view *v, int p, const char *id, const char *member)
{
	char key[KEY_MAX];
	int r = rv_sub_table(v, p, member);
	if (r <= 0)
		return r;
	rv_get(v->L, -1, "Value");
	if (fact_key(v, key, sizeof(key), "attr", id, member, NULL) != 0)
		return -1;
	if (!is_before(v, key, -1))
		return rv_refuse(v, "%s of %.32s may go back only to the value the journal recorded before "
			      "the containment", member, id);
	lua_pop(v->L, 2);
	return 0;
}

static int restore_mapping(view *v, int list, lua_Integer i, const char *id)
{
	lua_State *L = v->L;
	char key[KEY_MAX];
	int bad = 0;
	const char *dev;
	if (lua_rawgeti(L, list, i) != LUA_TTABLE)
		return rv_refuse(v, "BlockDeviceMappings[%lld] is not a table", (long long)i);
	dev = rv_get_str(L, -1, "DeviceName", &bad);
	if (!dev || rv_get(L, -1, "Ebs") != LUA_TTABLE)
		return rv_refuse(v, "BlockDeviceMappings[%lld] needs DeviceName and Ebs", (long long)i);
	rv_get(L, -1, "DeleteOnTermination");
	if (fact_key(v, key, sizeof(key), "dot", id, dev, NULL) != 0)
		return -1;
	if (!is_before(v, key, -1))
		return rv_refuse(v, "DeleteOnTermination of %.32s may go back only to the value the journal "
			      "recorded before the containment", dev);
	lua_pop(L, 3);
	return 0;
}

int restore_protect(view *v, int p)
{
	static const char *const allowed[] = {"InstanceId", "DisableApiTermination", "DisableApiStop",
					      "InstanceInitiatedShutdownBehavior", "BlockDeviceMappings",
					      "DryRun", NULL};
	const char *id;
	int r;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "InstanceId", &id) != 0 ||
	    restore_attribute(v, p, id, "DisableApiTermination") != 0 ||
	    restore_attribute(v, p, id, "DisableApiStop") != 0 ||
	    restore_attribute(v, p, id, "InstanceInitiatedShutdownBehavior") != 0)
		return -1;
	if ((r = rv_sub_table(v, p, "BlockDeviceMappings")) <= 0)
		return r;
	int list = lua_gettop(v->L);
	for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(v->L, list); i++)
		if (restore_mapping(v, list, i, id) != 0)
			return -1;
	return 0;
}

int restore_profile(view *v, int p)
{
	static const char *const allowed[] = {"InstanceId", "IamInstanceProfile", NULL};
	lua_State *L = v->L;
	const char *id, *arn, *was;
	char key[KEY_MAX];
	int bad = 0;
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "InstanceId", &id) != 0 ||
	    fact_key(v, key, sizeof(key), "profile", id, NULL, NULL) != 0)
		return -1;
	if (rv_sub_table(v, p, "IamInstanceProfile") != 1)
		return rv_refuse(v, "IamInstanceProfile is required");
	arn = rv_get_str(L, -1, "Arn", &bad);
	if (fact(v, key, "before") != LUA_TTABLE)
		return rv_refuse(v, "the journal recorded no profile of %.32s before the containment", id);
	was = rv_get_str(L, -1, "arn", &bad);
	if (!arn || !was || strcmp(arn, was) != 0)
		return rv_refuse(v, "only the profile the journal recorded on %.32s before the containment "
			      "may be attached to it", id);
	return 0;
}

/* A public access block put back: the one the journal recorded before. */
static int restore_put_block(view *v, int p, const char *member, const char *kind)
{
	const char *who;
	char key[KEY_MAX];
	if (rv_need_str(v, p, member, &who) != 0 || fact_key(v, key, sizeof(key), kind, who, NULL, NULL) != 0)
		return -1;
	if (rv_sub_table(v, p, "PublicAccessBlockConfiguration") != 1)
		return rv_refuse(v, "PublicAccessBlockConfiguration is required");
	int config = lua_gettop(v->L);
	if (fact(v, key, "before") == LUA_TTABLE && rv_get(v->L, -1, "config") == LUA_TTABLE &&
	    same_value(v->L, config, -1, 0))
		return 0;
	return rv_refuse(v, "the block of %.64s may be loosened only to the one the journal recorded "
		      "before the containment", who);
}

int restore_bucket_block(view *v, int p)
{
	return restore_put_block(v, p, "Bucket", "pab");
}

int restore_account_block(view *v, int p)
{
	static const char *const allowed[] = {"AccountId", "PublicAccessBlockConfiguration", NULL};
	if (rv_only_members(v, p, "", allowed) != 0)
		return -1;
	return restore_put_block(v, p, "AccountId", "apab");
}

/* DeletePublicAccessBlock: only where the journal recorded none before. */
int restore_no_block(view *v, int p)
{
	int bad = 0;
	const char *bucket = rv_get_str(v->L, p, "Bucket", &bad);
	const char *account = rv_get_str(v->L, p, "AccountId", &bad);
	char key[KEY_MAX];
	if (bad || (!bucket == !account))
		return rv_refuse(v, "one Bucket or one AccountId is required");
	if (fact_key(v, key, sizeof(key), bucket ? "pab" : "apab", bucket ? bucket : account, NULL,
		     NULL) != 0)
		return -1;
	if (fact_flag(v, key, "before", "absent"))
		return 0;
	return rv_refuse(v, "the block of %.64s may be deleted only when the journal recorded none before "
		      "the containment", bucket ? bucket : account);
}

/* The policy key of Put/Delete{User,Role}Policy: kind and whose name. */
static int policy_key(view *v, int p, char *key, size_t n, const char **name)
{
	int bad = 0;
	const char *user = rv_get_str(v->L, p, "UserName", &bad);
	const char *role = rv_get_str(v->L, p, "RoleName", &bad);
	if (bad || (!user == !role))
		return rv_refuse(v, "one UserName or one RoleName is required");
	if (rv_need_str(v, p, "PolicyName", name) != 0)
		return -1;
	return fact_key(v, key, n, user ? "user-policy" : "role-policy", user ? user : role, *name, NULL);
}

/* Put{User,Role}Policy: an earlier inline policy of that name put back,
 * exactly the document the journal recorded before. */
int restore_put_policy(view *v, int p)
{
	static const char *const allowed[] = {"UserName", "RoleName", "PolicyName", "PolicyDocument",
					      NULL};
	const char *name;
	char key[KEY_MAX];
	if (rv_only_members(v, p, "", allowed) != 0 || policy_key(v, p, key, sizeof(key), &name) != 0)
		return -1;
	rv_get(v->L, p, "PolicyDocument");
	if (fact(v, key, "before") == LUA_TTABLE && rv_get(v->L, -1, "document") == LUA_TSTRING &&
	    lua_rawequal(v->L, -1, -3))
		return 0;
	return rv_refuse(v, "policy %.64s may be put back only as the document the journal recorded "
		      "before the containment", name);
}

/* Delete{User,Role}Policy: the revoke policy only, absent before. */
int restore_delete_policy(view *v, int p)
{
	static const char *const allowed[] = {"UserName", "RoleName", "PolicyName", NULL};
	const sandbox_config *c = v->run->config;
	const char *name;
	char key[KEY_MAX];
	if (rv_only_members(v, p, "", allowed) != 0 || policy_key(v, p, key, sizeof(key), &name) != 0)
		return -1;
	if (!c || !c->policy_name)
		return rv_refuse(v, "config.lua names no iam.revoke_policy_name: no inline policy may be deleted");
	if (strcmp(name, c->policy_name) != 0)
		return rv_refuse(v, "only deadbolt's policy %.64s may be deleted, not %.64s", c->policy_name, name);
	if (!fact_flag(v, key, "before", "absent"))
		return rv_refuse(v, "%.64s may be deleted only where the journal recorded none before the "
			      "containment", name);
	return 0;
}

/* UpdateAccessKey Active: only a key the journal recorded Active before and
 * deadbolt made Inactive. */
int restore_key(view *v, int p)
{
	int bad = 0;
	const char *user = rv_get_str(v->L, p, "UserName", &bad), *id, *status;
	char key[KEY_MAX];
	if (bad || rv_need_str(v, p, "AccessKeyId", &id) != 0 || rv_need_str(v, p, "Status", &status) != 0 ||
	    fact_key(v, key, sizeof(key), "key", user ? user : "nil", id, NULL) != 0)
		return -1;
	int was = fact(v, key, "before") == LUA_TSTRING && strcmp(lua_tostring(v->L, -1), "Active") == 0;
	int made = fact(v, key, "after") == LUA_TSTRING && strcmp(lua_tostring(v->L, -1), "Inactive") == 0;
	if (strcmp(status, "Active") == 0 && was && made)
		return 0;
	return rv_refuse(v, "key %.32s may be made %.16s only when the journal recorded deadbolt "
		      "deactivating it", id, status);
}

/* DeleteTags: one tag the journal recorded absent before, with the value
 * deadbolt set. */
int restore_tag(view *v, int p)
{
	static const char *const allowed[] = {"Resources", "Tags", "DryRun", NULL};
	lua_State *L = v->L;
	const char *res, *k, *val;
	char key[KEY_MAX];
	int bad = 0;
	if (rv_only_members(v, p, "", allowed) != 0)
		return -1;
	if (rv_get(L, p, "Resources") != LUA_TTABLE || lua_rawlen(L, -1) != 1 ||
	    lua_rawgeti(L, -1, 1) != LUA_TSTRING)
		return rv_refuse(v, "Resources must name one resource");
	res = lua_tostring(L, -1);
	if (rv_get(L, p, "Tags") != LUA_TTABLE || lua_rawlen(L, -1) != 1 || lua_rawgeti(L, -1, 1) != LUA_TTABLE)
		return rv_refuse(v, "Tags must hold one tag");
	k = rv_get_str(L, -1, "Key", &bad);
	val = rv_get_str(L, -1, "Value", &bad);
	if (bad || !k || !val)
		return rv_refuse(v, "the tag needs a Key and the Value deadbolt set");
	if (strcasecmp(k, GROUP_TAG) == 0)
		return rv_refuse(v, "the tag %s is never removed", GROUP_TAG);
	if (fact_key(v, key, sizeof(key), "tag", res, k, NULL) != 0)
		return -1;
	if (!fact_flag(v, key, "before", "absent"))
		return rv_refuse(v, "tag %.64s of %.32s may be removed only when the journal recorded it absent "
			      "before the containment", k, res);
	if (fact(v, key, "after") != LUA_TTABLE || rv_get(L, -1, "value") != LUA_TSTRING ||
	    strcmp(lua_tostring(L, -1), val) != 0)
		return rv_refuse(v, "tag %.64s of %.32s may be removed only with the value deadbolt set", k, res);
	return 0;
}

/* The list at p[list] holds one item whose field is a string; pushes it. */
static const char *one_of(view *v, int p, const char *list, const char *field)
{
	lua_State *L = v->L;
	if (rv_get(L, p, list) != LUA_TTABLE || lua_rawlen(L, -1) != 1)
		return NULL;
	int t = lua_rawgeti(L, -1, 1);
	if (field && t == LUA_TTABLE)
		t = rv_get(L, -1, field);
	return t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
}

/* Back into the ASG, load balancer or target group (port) it was in. */
int restore_member(view *v, int p)
{
	lua_State *L = v->L;
	const char *where, *id, *kind = NULL, *port = NULL;
	char key[KEY_MAX];
	int bad = 0;
	if ((where = rv_get_str(L, p, "AutoScalingGroupName", &bad))) {
		kind = "asg";
		id = one_of(v, p, "InstanceIds", NULL);
	} else if ((where = rv_get_str(L, p, "LoadBalancerName", &bad))) {
		kind = "elb";
		id = one_of(v, p, "Instances", "InstanceId");
	} else if ((where = rv_get_str(L, p, "TargetGroupArn", &bad))) {
		kind = "tg";
		id = one_of(v, p, "Targets", "Id");
		rv_get(L, -2, "Port");
		port = luaL_tolstring(L, -1, NULL);
	} else {
		return rv_refuse(v, "no group, load balancer or target group named");
	}
	if (bad || !id)
		return rv_refuse(v, "one instance or target is required");
	if (fact_key(v, key, sizeof(key), kind, where, id, port) != 0)
		return -1;
	if (fact_flag(v, key, "before", "member"))
		return 0;
	return rv_refuse(v, "%.32s may go back only where the journal recorded it before the containment "
		      "(not %.64s%s%s)", id, where, port ? " port " : "", port ? port : "");
}

/* --remove-groups: a group deadbolt made (its tag) that the journal says
 * the run created. */
int restore_delete_group(view *v, int p)
{
	static const char *const allowed[] = {"GroupId", "DryRun", NULL};
	const char *id;
	char key[KEY_MAX];
	if (rv_only_members(v, p, "", allowed) != 0 || rv_need_str(v, p, "GroupId", &id) != 0 ||
	    fact_key(v, key, sizeof(key), "created", id, NULL, NULL) != 0)
		return -1;
	if (fact(v, key, "after") == LUA_TNIL)
		return rv_refuse(v, "the journal does not say the run created group %.64s", id);
	if (rv_group_role(v, id) == GROUP_UNKNOWN)
		return rv_not_ours(v, id);
	return 0;
}

/* The rule's atom of IpPermissions (one permission, one destination), as
 * undo.lua's rule_atoms names it: proto/from/to/list/value. Pushes it. */
static const char *egress_atom(view *v, int p)
{
	static const char *const lists[][2] = {{"IpRanges", "CidrIp"}, {"Ipv6Ranges", "CidrIpv6"},
					       {"PrefixListIds", "PrefixListId"},
					       {"UserIdGroupPairs", "GroupId"}};
	lua_State *L = v->L;
	const char *found = NULL, *dest = NULL;
	if (rv_get(L, p, "IpPermissions") != LUA_TTABLE || lua_rawlen(L, -1) != 1 ||
	    lua_rawgeti(L, -1, 1) != LUA_TTABLE)
		return NULL;
	int perm = lua_gettop(L);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (rv_get(L, perm, lists[i][0]) != LUA_TTABLE || lua_rawlen(L, -1) == 0) {
			lua_pop(L, 1);
			continue;
		}
		if (found || lua_rawlen(L, -1) != 1 || lua_rawgeti(L, -1, 1) != LUA_TTABLE)
			return NULL;
		rv_get(L, -1, lists[i][1]);
		dest = luaL_tolstring(L, -1, NULL);
		found = lists[i][0];
	}
	if (!found)
		return NULL;
	rv_get(L, perm, "IpProtocol");
	const char *proto = luaL_tolstring(L, -1, NULL);
	rv_get(L, perm, "FromPort");
	const char *from = luaL_tolstring(L, -1, NULL);
	rv_get(L, perm, "ToPort");
	const char *to = luaL_tolstring(L, -1, NULL);
	lua_pushfstring(L, "%s/%s/%s/%s/%s", proto, from, to, found, dest);
	return lua_tostring(L, -1);
}

/* AuthorizeSecurityGroupEgress: a rule of deadbolt's group that the
 * containment revoked, back as the journal recorded it present before. */
int restore_egress(view *v, int p)
{
	const char *id, *atom;
	char key[KEY_MAX];
	if (rv_need_str(v, p, "GroupId", &id) != 0)
		return -1;
	if (!(atom = egress_atom(v, p)))
		return rv_refuse(v, "IpPermissions must hold one rule to one destination");
	if (fact_key(v, key, sizeof(key), "sg", id, "egress", atom) != 0)
		return -1;
	if (!fact_flag(v, key, "before", "present"))
		return rv_refuse(v, "egress %.120s of %.32s may be put back only when the journal recorded it "
			      "before the containment", atom, id);
	if (rv_group_role(v, id) == GROUP_UNKNOWN)
		return rv_not_ours(v, id);
	return 0;
}

/* An undo-only write outside restore mode. */
int rule_restore_only(view *v, int p)
{
	(void)p;
	return rv_refuse(v, "only restore may send it, back to a state the journal recorded");
}
