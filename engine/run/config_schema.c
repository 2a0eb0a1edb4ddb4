/* config_schema — the settings of playbooks/config.lua. See config_schema.h.
 *
 * THE SCHEMA is the tables below, one per section of config.lua; a field is
 *   { key, type, required, sub-fields, what it is }.
 * "required" means the playbook raises without it; an optional boolean left
 * out means "off". Keep this in step with the playbooks that read the
 * settings (and with the comments of config.lua). */
#include "config_schema.h"

#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "account.h"
#include "gd_types.h"
#include "model.h"
#include "model_types.h"
#include "suggest.h"

typedef enum cs_type {
	CS_TABLE,      /* a table with the sub-fields */
	CS_LIST,       /* a list of tables with the sub-fields */
	CS_BOOL,
	CS_STRING,     /* a non-empty string */
	CS_TAG_KEY,    /* an EC2 tag key: 1-128 characters, not starting "aws:" */
	CS_TAG_KEY_OFF,/* a tag key, or false to leave the tag out */
	CS_SECONDS,    /* a number > 0 */
	CS_SEVERITY,   /* a number from 0 to 10 */
	CS_RESPONSE,   /* "contain", "evidence" or "notify" */
	CS_RESPONSE_NE,/* "contain" or "notify" ("evidence" is EC2's only) */
	CS_ROLE,       /* "TARGET" or "ACTOR" */
	CS_TYPE_PATTERN, /* a Lua pattern on the finding type */
	CS_STRINGS,    /* a non-empty list of strings */
	CS_PATTERNS,   /* a list of Lua patterns */
	CS_NAME_FORMAT,/* a string.format with one %s (the instance id) */
	CS_PREFIX,     /* an S3 key prefix with {account} {region} {resource} {finding} */
	CS_EGRESS,     /* boto3's IpPermission destinations, without protocol and ports */
	CS_ROLE_NAME,  /* an IAM role name (account.h) */
	CS_PROFILE_NAME, /* an IAM instance profile name */
	CS_EXTERNAL_ID,/* an STS external id */
	CS_SESSION,    /* AssumeRole's DurationSeconds: a whole number from 900 to 43200 */
} cs_type;

enum { OPT = 0, REQ = 1 };

#define CS_PATH 256 /* "ec2.rules[2].finding_type"; longer paths are cut */

typedef struct cs_field {
	const char *key;
	cs_type type;
	int required;
	const struct cs_field *fields; /* CS_TABLE, CS_LIST */
	const char *what;
} cs_field;

/* ---- THE SCHEMA ---- */

static const cs_field rule[] = {
	{"finding_type", CS_TYPE_PATTERN, OPT, NULL, "a Lua pattern on the finding's type"},
	{"resource_role", CS_ROLE, OPT, NULL, "TARGET or ACTOR (service.resourceRole)"},
	{"min_severity", CS_SEVERITY, OPT, NULL, "the lowest severity the rule applies to"},
	{"max_severity", CS_SEVERITY, OPT, NULL, "the highest severity the rule applies to"},
	{"response", CS_RESPONSE, REQ, NULL, "contain, evidence or notify"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field rule_ne[] = {
	{"finding_type", CS_TYPE_PATTERN, OPT, NULL, "a Lua pattern on the finding's type"},
	{"resource_role", CS_ROLE, OPT, NULL, "TARGET or ACTOR (service.resourceRole)"},
	{"min_severity", CS_SEVERITY, OPT, NULL, "the lowest severity the rule applies to"},
	{"max_severity", CS_SEVERITY, OPT, NULL, "the highest severity the rule applies to"},
	{"response", CS_RESPONSE_NE, REQ, NULL, "contain or notify"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field exempt_tag[] = {
	{"key", CS_TAG_KEY, REQ, NULL, "the tag key that exempts an instance"},
	{"value", CS_STRING, REQ, NULL, "the tag value that exempts an instance"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field ec2_tags[] = {
	{"status", CS_TAG_KEY_OFF, OPT, NULL, "\"contained\" or \"evidence-collected\""},
	{"contained_at", CS_TAG_KEY_OFF, OPT, NULL, "the time of the response"},
	{"finding_id", CS_TAG_KEY_OFF, OPT, NULL, "the finding's id"},
	{"finding_type", CS_TAG_KEY_OFF, OPT, NULL, "the finding's type"},
	{"source", CS_TAG_KEY_OFF, OPT, NULL, "ec2.source"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field ec2_screenshot[] = {
	{"deadline_seconds", CS_SECONDS, OPT, NULL, "the one attempt beside isolation ends by then (default 2)"},
	{"retry_after_isolation", CS_BOOL, OPT, NULL, "after a transient failure, again after isolation"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field lock[] = {
	{"enabled", CS_BOOL, OPT, NULL, "one run at a time per instance (a lock object in the artifact bucket)"},
	{"window_seconds", CS_SECONDS, REQ, NULL, "the lock's time window: at least the longest run"},
	{"wait_seconds", CS_SECONDS, REQ, NULL, "the longest wait for another run's lock"},
	{"poll_seconds", CS_SECONDS, REQ, NULL, "the polling interval while waiting"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field ec2[] = {
	{"rules", CS_LIST, OPT, rule, "response rules, the first that matches wins"},
	{"default", CS_RESPONSE, OPT, NULL, "the response when no rule matches"},
	{"exempt_tag", CS_TABLE, REQ, exempt_tag, "the tag that exempts an instance"},
	{"tags", CS_TABLE, REQ, ec2_tags, "the tags put on a contained instance"},
	{"source", CS_STRING, OPT, NULL, "the value of the source tag"},
	{"termination_protection", CS_BOOL, OPT, NULL, "set termination protection"},
	{"stop_protection", CS_BOOL, OPT, NULL, "set stop protection"},
	{"shutdown_behavior_stop", CS_BOOL, OPT, NULL, "set the shutdown behaviour to stop"},
	{"keep_volumes_on_termination", CS_BOOL, OPT, NULL, "DeleteOnTermination = false"},
	{"isolation_group_name", CS_NAME_FORMAT, REQ, NULL, "the isolation group's name"},
	{"untrack_group_name", CS_NAME_FORMAT, REQ, NULL, "the allow-all group's name (one per VPC: %s is the VPC id)"},
	{"isolation_tag", CS_TAG_KEY, REQ, NULL, "the tag on both groups"},
	{"untrack_dwell_seconds", CS_SECONDS, OPT, NULL, "the wait in the allow-all group between the two moves"},
	{"second_move_rounds", CS_SECONDS, OPT, NULL, "rounds of the move into the isolation group before the fallback"},
	{"second_move_pause_seconds", CS_SECONDS, OPT, NULL, "the pause between those rounds"},
	{"screenshot", CS_TABLE, OPT, ec2_screenshot, "the console screenshot beside isolation"},
	{"lock", CS_TABLE, OPT, lock, "one run at a time per instance"},
	{"snapshots", CS_BOOL, OPT, NULL, "snapshot every volume"},
	{"detach_from_auto_scaling", CS_BOOL, OPT, NULL, "detach from Auto Scaling"},
	{"deregister_from_load_balancers", CS_BOOL, OPT, NULL, "deregister from load balancers"},
	{"remove_instance_profile", CS_BOOL, OPT, NULL, "remove the instance profile"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field forensics[] = {
	{"enabled", CS_BOOL, OPT, NULL, "run forensic commands over SSM"},
	{"document", CS_STRING, REQ, NULL, "the SSM document"},
	{"commands", CS_STRINGS, REQ, NULL, "the commands"},
	{"execution_timeout_seconds", CS_SECONDS, REQ, NULL, "the commands' timeout"},
	{"agent_wait_seconds", CS_SECONDS, REQ, NULL, "the wait for the SSM agent"},
	{"command_wait_seconds", CS_SECONDS, REQ, NULL, "the wait for the commands"},
	{"poll_seconds", CS_SECONDS, REQ, NULL, "the polling interval"},
	{"egress", CS_EGRESS, REQ, NULL, "where the agent may reach on tcp/443"},
	{"egress_description", CS_STRING, OPT, NULL, "the egress rule's description"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field evidence[] = {
	{"prefix", CS_PREFIX, REQ, NULL, "the evidence prefix in the artifact bucket"},
	{"manifest", CS_STRING, REQ, NULL, "the manifest's object name"},
	{NULL, 0, 0, NULL, NULL},
};


static const cs_field s3[] = {
	{"rules", CS_LIST, OPT, rule_ne, "response rules, the first that matches wins"},
	{"default", CS_RESPONSE_NE, OPT, NULL, "the response when no rule matches"},
	{"contain_principal", CS_BOOL, OPT, NULL, "contain the IAM principal of the finding's key too"},
	{"principal_min_severity", CS_SEVERITY, OPT, NULL, "the lowest severity that contains it"},
	{"block_account_public_access", CS_BOOL, OPT, NULL, "turn the account's block back on"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field iam[] = {
	{"rules", CS_LIST, OPT, rule_ne, "response rules, the first that matches wins"},
	{"default", CS_RESPONSE_NE, OPT, NULL, "the response when no rule matches"},
	{"revoke_policy_name", CS_STRING, REQ, NULL, "the inline policy that revokes sessions"},
	{"revoke_sessions", CS_BOOL, OPT, NULL, "revoke sessions issued before the response"},
	{"deactivate_access_key", CS_BOOL, OPT, NULL, "deactivate the finding's access key"},
	{"deactivate_new_access_keys", CS_BOOL, OPT, NULL, "deactivate keys made since eventFirstSeen"},
	{"protected_roles", CS_PATTERNS, OPT, NULL, "roles never changed (Lua patterns)"},
	{NULL, 0, 0, NULL, NULL},
};

static const cs_field notify[] = {
	{"subject_prefix", CS_STRING, REQ, NULL, "the start of the notification's subject"},
	{NULL, 0, 0, NULL, NULL},
};

/* Read by the run layer (engine/run/account.c), not by a playbook. */
static const cs_field accounts[] = {
	{"role_name", CS_ROLE_NAME, OPT, NULL, "the role assumed in a member account"},
	{"external_id", CS_EXTERNAL_ID, OPT, NULL, "the external id the member role requires"},
	{"session_seconds", CS_SESSION, OPT, NULL, "the assumed role's session length"},
	{"quarantine_profile_name", CS_PROFILE_NAME, OPT, NULL,
	 "the quarantine instance profile's name in a member account"},
	{NULL, 0, 0, NULL, NULL},
};

typedef struct cs_section {
	const char *key;
	const cs_field *fields;
	const char *const *read_by; /* the playbooks that need it (any of them) */
} cs_section;

static const char *const by_ec2[] = {"ec2.lua", NULL};
static const char *const by_s3[] = {"s3.lua", NULL};
static const char *const by_iam[] = {"iam.lua", "s3.lua", NULL}; /* lib/principal.lua */
static const char *const by_all[] = {"ec2.lua", "s3.lua", "iam.lua", NULL}; /* lib/notify.lua */
static const char *const by_engine[] = {NULL}; /* optional: no section means no member accounts */

static const cs_section sections[] = {
	{"ec2", ec2, by_ec2},
	{"forensics", forensics, by_ec2},
	{"evidence", evidence, by_ec2},
	{"s3", s3, by_s3},
	{"iam", iam, by_iam},
	{"notify", notify, by_all},
	{"accounts", accounts, by_engine},
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static const char *const responses[] = {"contain", "evidence", "notify", NULL};
static const char *const responses_ne[] = {"contain", "notify", NULL};
static const char *const roles[] = {"TARGET", "ACTOR", NULL};
static const char *const prefix_fields[] = {"account", "region", "resource", "finding", NULL};
static const char *const egress_keys[] = {"IpRanges", "Ipv6Ranges", "PrefixListIds",
					  "UserIdGroupPairs", NULL};

/* ---- the check ---- */

typedef struct cs_ctx {
	lua_State *L, *H;
	const char *file;
	const lua_srcmap *map;
	problem_fn rep;
	void *ud;
	int problems;
} cs_ctx;

static void problem(cs_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(cs_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[700], full[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", path, msg);
	c->problems++;
	if (c->rep)
		c->rep(c->ud, c->file, lua_srcmap_line(c->map, path), full);
}

static void check_table(cs_ctx *c, int t, const cs_field *fields, const char *path);

/* A string value at idx, or NULL. */
static const char *str_at(cs_ctx *c, int idx)
{
	return lua_type(c->L, idx) == LUA_TSTRING ? lua_tostring(c->L, idx) : NULL;
}

static void check_choice(cs_ctx *c, int idx, const char *path, const char *const *choices,
			 const char *what)
{
	const char *v = str_at(c, idx);
	if (!v) {
		problem(c, path, "must be %s, not a %s", what, luaL_typename(c->L, idx));
		return;
	}
	for (size_t i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return;
	const char *near = suggest_among(v, choices);
	if (strcmp(v, "evidence") == 0 && choices == responses_ne)
		problem(c, path, "\"evidence\" is EC2's only (here it would only notify): write "
			"\"notify\"");
	else if (near)
		problem(c, path, "\"%s\" is not %s: did you mean \"%s\"?", v, what, near);
	else
		problem(c, path, "\"%s\" is not %s", v, what);
}

/* finding_type and protected_roles must compile as Lua patterns. */
static int check_pattern(cs_ctx *c, const char *pattern, const char *path)
{
	lua_State *H = c->H;
	int ok = 1;
	if (!H)
		return 1;
	lua_getglobal(H, "string");
	lua_getfield(H, -1, "find");
	lua_pushliteral(H, "");
	lua_pushstring(H, pattern);
	if (lua_pcall(H, 2, 0, 0) != LUA_OK) {
		problem(c, path, "is not a Lua pattern: %s", lua_tostring(H, -1));
		lua_pop(H, 1);
		ok = 0;
	}
	lua_pop(H, 1);
	return ok;
}

static void check_type_pattern(cs_ctx *c, int idx, const char *path)
{
	char msg[600];
	const char *v = str_at(c, idx);
	if (!v) {
		problem(c, path, "must be a Lua pattern (a string) on the finding type, such as "
			"\"^Recon:EC2/\"");
		return;
	}
	if (check_pattern(c, v, path) && gd_check_type_pattern(v, msg, sizeof(msg)))
		problem(c, path, "%s", msg);
}

static void check_tag_key(cs_ctx *c, int idx, const char *path, int may_be_false)
{
	size_t n = 0;
	if (may_be_false && lua_type(c->L, idx) == LUA_TBOOLEAN && !lua_toboolean(c->L, idx))
		return;
	const char *v = lua_type(c->L, idx) == LUA_TSTRING ? lua_tolstring(c->L, idx, &n) : NULL;
	if (!v || n == 0 || n > 128)
		problem(c, path, "must be a tag key (1 to 128 characters)%s",
			may_be_false ? ", or false to leave the tag out" : "");
	else if (strncasecmp(v, "aws:", 4) == 0)
		problem(c, path, "\"%s\": tag keys starting with aws: are AWS's own; choose "
			"another prefix", v);
}

static void check_name_format(cs_ctx *c, int idx, const char *path)
{
	const char *v = str_at(c, idx);
	int s = 0, other = 0;
	for (const char *p = v; p && *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%')
			p++;
		else if (p[1] == 's')
			s++, p++;
		else
			other++;
	}
	if (!v || s != 1 || other)
		problem(c, path, "must be a name with one %%s (the instance id) and no other %% "
			"directive, such as \"deadbolt-isolation-%%s\"");
}

static void check_prefix(cs_ctx *c, int idx, const char *path)
{
	const char *v = str_at(c, idx);
	char name[64];
	if (!v || !*v) {
		problem(c, path, "must be a non-empty S3 key prefix");
		return;
	}
	for (const char *p = strchr(v, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = strcspn(p + 1, "}");
		if (p[1 + n] != '}' || n == 0 || n >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		int known = 0;
		for (size_t i = 0; prefix_fields[i]; i++)
			known |= strcmp(name, prefix_fields[i]) == 0;
		if (known)
			continue;
		const char *near = suggest_among(name, prefix_fields);
		if (near)
			problem(c, path, "{%s} is not filled in (it becomes \"\"): did you mean {%s}?",
				name, near);
		else
			problem(c, path, "{%s} is not filled in (it becomes \"\"): the fields are "
				"{account}, {region}, {resource}, {finding}", name);
	}
}

static int is_list(lua_State *L, int t, lua_Integer *len)
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

static void check_strings(cs_ctx *c, int idx, const char *path, int patterns)
{
	lua_Integer n;
	char p[CS_PATH];
	if (!lua_istable(c->L, idx) || !is_list(c->L, idx, &n) || (!patterns && n == 0)) {
		problem(c, path, "must be a %slist of strings, { \"...\", ... }",
			patterns ? "" : "non-empty ");
		return;
	}
	for (lua_Integer i = 1; i <= n; i++) {
		snprintf(p, sizeof(p), "%.200s[%lld]", path, (long long)i);
		lua_rawgeti(c->L, idx, i);
		if (lua_type(c->L, -1) != LUA_TSTRING)
			problem(c, p, "must be a string");
		else if (patterns)
			check_pattern(c, lua_tostring(c->L, -1), p);
		lua_pop(c->L, 1);
	}
}

/* The model's shape of one kind of egress destination ("IpRanges" ->
 * IpRange), from AuthorizeSecurityGroupEgress's IpPermissions. */
static const aws_shape *destination_shape(const char *key)
{
	const aws_operation *op = model_find_operation("ec2", "AuthorizeSecurityGroupEgress");
	const aws_member *perms = op && op->input ? model_member_find(op->input, "IpPermissions")
						  : NULL;
	if (!perms || perms->shape->type != AWS_SHAPE_LIST)
		return NULL;
	const aws_member *m = model_member_find(perms->shape->list_member->shape, key);
	return m && m->shape->type == AWS_SHAPE_LIST ? m->shape->list_member->shape : NULL;
}

static void check_destination(cs_ctx *c, int idx, const aws_shape *s, const char *path)
{
	const char *names[32];
	size_t n = 0;
	for (size_t i = 0; i < s->nmembers && n + 1 < 32; i++)
		names[n++] = s->members[i].name;
	names[n] = NULL;
	if (!lua_istable(c->L, idx)) {
		problem(c, path, "must be a table such as { %s = ... }", names[0]);
		return;
	}
	lua_pushnil(c->L);
	while (lua_next(c->L, idx)) {
		const char *k = lua_type(c->L, -2) == LUA_TSTRING ? lua_tostring(c->L, -2) : NULL;
		if (k && !model_member_find(s, k)) {
			char p[CS_PATH];
			const char *near = suggest_among(k, names);
			snprintf(p, sizeof(p), "%.180s.%.60s", path, k);
			problem(c, p, "is no member of %s%s%s%s", s->name, near ? ": did you mean " : "",
				near ? near : "", near ? "?" : "");
		}
		lua_pop(c->L, 1);
	}
}

static void check_egress(cs_ctx *c, int idx, const char *path)
{
	char p[CS_PATH];
	if (!lua_istable(c->L, idx)) {
		problem(c, path, "must be a table such as { UserIdGroupPairs = { { GroupId = \"sg-...\" } } }");
		return;
	}
	lua_pushnil(c->L);
	while (lua_next(c->L, idx)) {
		const char *k = lua_type(c->L, -2) == LUA_TSTRING ? lua_tostring(c->L, -2) : "?";
		const aws_shape *s = destination_shape(k);
		int in = 0;
		lua_Integer n = 0;
		for (size_t i = 0; egress_keys[i]; i++)
			in |= strcmp(k, egress_keys[i]) == 0;
		snprintf(p, sizeof(p), "%.180s.%.60s", path, k);
		if (!in || !s) {
			const char *near = suggest_among(k, egress_keys);
			problem(c, p, "is not used (the rule takes IpRanges, Ipv6Ranges, PrefixListIds, "
				"UserIdGroupPairs)%s%s%s", near ? ": did you mean " : "", near ? near : "",
				near ? "?" : "");
		} else if (!lua_istable(c->L, -1) || !is_list(c->L, lua_gettop(c->L), &n)) {
			problem(c, p, "must be a list of %s, { { ... } }", s->name);
		} else {
			for (lua_Integer i = 1; i <= n; i++) {
				char q[CS_PATH];
				snprintf(q, sizeof(q), "%.200s[%lld]", p, (long long)i);
				lua_rawgeti(c->L, -1, i);
				check_destination(c, lua_gettop(c->L), s, q);
				lua_pop(c->L, 1);
			}
			if (n > 0 && (strcmp(k, "IpRanges") == 0 || strcmp(k, "Ipv6Ranges") == 0))
				problem(c, p, "is an address range: the sandbox opens the isolation group "
					"only to endpoint groups (UserIdGroupPairs) and prefix lists "
					"(PrefixListIds), rule egress-own-group");
		}
		lua_pop(c->L, 1);
	}
	/* No destination at all is fine: forensics on a contained instance is
	 * then skipped, and says why. */
}

static void check_list(cs_ctx *c, int idx, const cs_field *f, const char *path)
{
	lua_Integer n;
	char p[CS_PATH];
	if (!lua_istable(c->L, idx) || !is_list(c->L, idx, &n)) {
		problem(c, path, "must be a list, { {...}, {...} } (%s)", f->what);
		return;
	}
	for (lua_Integer i = 1; i <= n; i++) {
		snprintf(p, sizeof(p), "%.200s[%lld]", path, (long long)i);
		lua_rawgeti(c->L, idx, i);
		if (lua_istable(c->L, -1))
			check_table(c, lua_gettop(c->L), f->fields, p);
		else
			problem(c, p, "must be a table, { response = ..., ... }");
		lua_pop(c->L, 1);
	}
}

static void check_number(cs_ctx *c, int idx, const char *path, double lo, double hi, int open_lo)
{
	double v = lua_tonumber(c->L, idx);
	if (lua_type(c->L, idx) != LUA_TNUMBER || v < lo || (open_lo && v == lo) || v > hi)
		problem(c, path, "must be a number %s %g%s", open_lo ? "above" : "from",
			lo, hi < 1e9 ? (hi == 10 ? " to 10" : "") : "");
}

static void check_iam_string(cs_ctx *c, int idx, cs_type t, const char *path)
{
	const char *s = lua_type(c->L, idx) == LUA_TSTRING ? lua_tostring(c->L, idx) : NULL;
	if (t == CS_EXTERNAL_ID && !(s && account_valid_external_id(s)))
		problem(c, path, "must be an external id: 2 to 1224 of A-Z a-z 0-9 +=,.@:/_-");
	else if (t == CS_ROLE_NAME && !(s && account_valid_iam_name(s, 64)))
		problem(c, path, "must be an IAM role name: 1 to 64 of A-Z a-z 0-9 +=,.@_-");
	else if (t == CS_PROFILE_NAME && !(s && account_valid_iam_name(s, 128)))
		problem(c, path, "must be an instance profile name: 1 to 128 of A-Z a-z 0-9 +=,.@_-");
}

static void check_value(cs_ctx *c, int idx, const cs_field *f, const char *path)
{
	lua_State *L = c->L;
	switch (f->type) {
	case CS_TABLE:
		if (lua_istable(L, idx))
			check_table(c, idx, f->fields, path);
		else
			problem(c, path, "must be a table (%s)", f->what);
		break;
	case CS_LIST: check_list(c, idx, f, path); break;
	case CS_BOOL:
		if (lua_type(L, idx) != LUA_TBOOLEAN)
			problem(c, path, "must be true or false (%s), not %s \"%s\"", f->what,
				luaL_typename(L, idx), lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "");
		break;
	case CS_STRING:
		if (lua_type(L, idx) != LUA_TSTRING || lua_rawlen(L, idx) == 0)
			problem(c, path, "must be a non-empty string (%s)", f->what);
		break;
	case CS_TAG_KEY: check_tag_key(c, idx, path, 0); break;
	case CS_TAG_KEY_OFF: check_tag_key(c, idx, path, 1); break;
	case CS_SECONDS: check_number(c, idx, path, 0, 1e18, 1); break;
	case CS_ROLE_NAME:
	case CS_PROFILE_NAME:
	case CS_EXTERNAL_ID: check_iam_string(c, idx, f->type, path); break;
	case CS_SESSION:
		if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 900 || lua_tointeger(L, idx) > 43200)
			problem(c, path, "must be a whole number from 900 to 43200 (%s)", f->what);
		break;
	case CS_SEVERITY: check_number(c, idx, path, 0, 10, 0); break;
	case CS_RESPONSE: check_choice(c, idx, path, responses, "contain, evidence or notify"); break;
	case CS_RESPONSE_NE: check_choice(c, idx, path, responses_ne, "contain or notify"); break;
	case CS_ROLE: check_choice(c, idx, path, roles, "TARGET or ACTOR"); break;
	case CS_TYPE_PATTERN: check_type_pattern(c, idx, path); break;
	case CS_STRINGS: check_strings(c, idx, path, 0); break;
	case CS_PATTERNS: check_strings(c, idx, path, 1); break;
	case CS_NAME_FORMAT: check_name_format(c, idx, path); break;
	case CS_PREFIX: check_prefix(c, idx, path); break;
	case CS_EGRESS: check_egress(c, idx, path); break;
	}
}

static const cs_field *find_field(const cs_field *fields, const char *key)
{
	for (size_t i = 0; fields[i].key; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* Reports an unknown key; returns the field it is a near miss of, or NULL. */
static const cs_field *unknown_key(cs_ctx *c, const cs_field *fields, const char *key,
				   const char *path)
{
	suggest s;
	char list[500];
	size_t used = 0;
	suggest_init(&s, key);
	for (size_t i = 0; fields[i].key; i++)
		suggest_offer(&s, fields[i].key);
	const char *near = suggest_best(&s);
	if (near) {
		problem(c, path, "unknown setting: did you mean %s?", near);
		return find_field(fields, near);
	}
	list[0] = '\0';
	for (size_t i = 0; fields[i].key && used + 1 < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", fields[i].key);
		used += w > 0 ? (size_t)w : 0;
	}
	problem(c, path, "unknown setting (the settings here are: %s)", list);
	return NULL;
}

static void check_table(cs_ctx *c, int t, const cs_field *fields, const char *path)
{
	lua_State *L = c->L;
	char p[CS_PATH];
	const cs_field *missed[16]; /* near misses already reported */
	size_t nmissed = 0;
	if (!lua_checkstack(L, 8))
		return;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		const cs_field *f = k ? find_field(fields, k) : NULL;
		snprintf(p, sizeof(p), "%.180s%s%.60s", path, path[0] ? "." : "", k ? k : "[?]");
		const cs_field *near = NULL;
		if (!k)
			problem(c, path, "has a key that is not a name");
		else if (f)
			check_value(c, lua_gettop(L), f, p);
		else if ((near = unknown_key(c, fields, k, p)) != NULL && nmissed < 16)
			missed[nmissed++] = near;
		lua_pop(L, 1);
	}
	for (size_t i = 0; fields[i].key; i++) {
		int was_missed = 0;
		for (size_t j = 0; j < nmissed; j++)
			was_missed |= missed[j] == &fields[i];
		if (!fields[i].required || was_missed)
			continue;
		lua_pushstring(L, fields[i].key);
		if (lua_rawget(L, t) == LUA_TNIL)
			problem(c, path[0] ? path : "config", "%s is missing (%s)", fields[i].key,
				fields[i].what);
		lua_pop(L, 1);
	}
	lua_pushliteral(L, "min_severity");
	lua_rawget(L, t);
	lua_pushliteral(L, "max_severity");
	lua_rawget(L, t);
	if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER &&
	    lua_tonumber(L, -2) > lua_tonumber(L, -1))
		problem(c, path, "min_severity is above max_severity: the rule never matches");
	lua_pop(L, 2);
}

static int has(const char *const *playbooks, const char *file)
{
	for (size_t i = 0; playbooks && playbooks[i]; i++)
		if (strcmp(playbooks[i], file) == 0)
			return 1;
	return 0;
}

static void check_sections(cs_ctx *c, int t, const char *const *playbooks)
{
	lua_State *L = c->L;
	const char *names[NSECTIONS + 1];
	for (size_t i = 0; i < NSECTIONS; i++)
		names[i] = sections[i].key;
	names[NSECTIONS] = NULL;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		const char *near = k ? suggest_among(k, names) : NULL;
		for (size_t i = 0; k && i < NSECTIONS; i++)
			if (strcmp(k, sections[i].key) == 0) {
				if (lua_istable(L, -1))
					check_table(c, lua_gettop(L), sections[i].fields, k);
				else
					problem(c, k, "must be a table of settings");
				near = NULL;
			}
		if (near)
			problem(c, k, "unknown section: did you mean %s?", near);
		lua_pop(L, 1);
	}
	for (size_t i = 0; i < NSECTIONS; i++) {
		const char *by = NULL;
		for (size_t j = 0; !by && sections[i].read_by[j]; j++)
			if (has(playbooks, sections[i].read_by[j]))
				by = sections[i].read_by[j];
		if (!by)
			continue;
		lua_pushstring(L, sections[i].key);
		if (lua_rawget(L, t) == LUA_TNIL)
			problem(c, sections[i].key, "the section is missing (%s reads it)", by);
		lua_pop(L, 1);
	}
}

int config_schema_check(lua_State *L, int idx, const char *file, const lua_srcmap *map,
			lua_State *H, const char *const *playbooks, problem_fn rep, void *ud)
{
	cs_ctx c = {L, H, file, map, rep, ud, 0};
	int top = lua_gettop(L), t = lua_absindex(L, idx);
	if (!lua_istable(L, t)) {
		c.problems++;
		if (rep)
			rep(ud, file, 0, "must return a table of settings");
		return c.problems;
	}
	if (lua_checkstack(L, 16))
		check_sections(&c, t, playbooks);
	lua_settop(L, top);
	return c.problems;
}

/* ---- reads of the settings in the playbooks' source ---- */

typedef struct reads {
	const char *file;
	problem_fn rep;
	void *ud;
	int problems;
	const lua_toks *k;
	char config[64];      /* the local that holds require "config" */
	struct {
		char name[64];
		const cs_section *section;
	} alias[16];          /* local cfg = config.ec2 */
	size_t nalias;
} reads;

static int tok_eq(const lua_tok *t, const char *s)
{
	return t->type == LT_NAME && t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

static const cs_section *section_named(const lua_tok *t)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (tok_eq(t, sections[i].key))
			return &sections[i];
	return NULL;
}

static const cs_field *field_named(const cs_field *fields, const lua_tok *t)
{
	for (size_t i = 0; fields && fields[i].key; i++)
		if (tok_eq(t, fields[i].key))
			return &fields[i];
	return NULL;
}

/* A key t that is not among fields: reported when a near one exists. */
static void misread(reads *r, const lua_tok *t, const cs_field *fields, const char *where)
{
	char key[64];
	suggest s;
	if (t->n >= sizeof(key))
		return;
	snprintf(key, sizeof(key), "%.*s", (int)t->n, t->s);
	suggest_init(&s, key);
	for (size_t i = 0; fields[i].key; i++)
		suggest_offer(&s, fields[i].key);
	const char *near = suggest_best(&s);
	if (!near)
		return;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s.%s is no setting of config.lua (it reads nil): did you mean "
		 "%s.%s?", where, key, where, near);
	r->problems++;
	if (r->rep)
		r->rep(r->ud, r->file, t->line, msg);
}

/* The fields after a section at i ("." NAME ["." NAME]). */
static void check_path(reads *r, size_t i, const cs_section *sec)
{
	const lua_toks *k = r->k;
	char where[96];
	if (i + 1 >= k->n || !lua_tok_is(&k->t[i], ".") || k->t[i + 1].type != LT_NAME)
		return;
	const cs_field *f = field_named(sec->fields, &k->t[i + 1]);
	if (!f) {
		snprintf(where, sizeof(where), "%s", sec->key);
		misread(r, &k->t[i + 1], sec->fields, where);
		return;
	}
	if (f->type == CS_TABLE && i + 3 < k->n && lua_tok_is(&k->t[i + 2], ".") &&
	    k->t[i + 3].type == LT_NAME && !field_named(f->fields, &k->t[i + 3])) {
		snprintf(where, sizeof(where), "%s.%s", sec->key, f->key);
		misread(r, &k->t[i + 3], f->fields, where);
	}
}

/* `local NAME = require "config"` / `local NAME = CONFIG.SECTION` at i. */
static void note_local(reads *r, size_t i)
{
	const lua_toks *k = r->k;
	const lua_tok *name = &k->t[i + 1];
	if (i + 4 >= k->n || name->type != LT_NAME || !lua_tok_is(&k->t[i + 2], "=") ||
	    name->n >= sizeof(r->config))
		return;
	const lua_tok *v = &k->t[i + 3];
	char s[16];
	size_t arg = i + 4 + (lua_tok_is(&k->t[i + 4], "(") ? 1 : 0); /* require "x" or ("x") */
	if (tok_eq(v, "require") && arg < k->n && lua_tok_string(&k->t[arg], s, sizeof(s)) >= 0 &&
	    strcmp(s, "config") == 0) {
		snprintf(r->config, sizeof(r->config), "%.*s", (int)name->n, name->s);
		return;
	}
	if (r->config[0] && tok_eq(v, r->config) && i + 5 < k->n && lua_tok_is(&k->t[i + 4], ".")) {
		const cs_section *sec = section_named(&k->t[i + 5]);
		if (sec && r->nalias < sizeof(r->alias) / sizeof(r->alias[0])) {
			snprintf(r->alias[r->nalias].name, sizeof(r->alias[0].name), "%.*s",
				 (int)name->n, name->s);
			r->alias[r->nalias++].section = sec;
		}
	}
}

static const cs_section *alias_of(const reads *r, const lua_tok *t)
{
	for (size_t i = 0; i < r->nalias; i++)
		if (tok_eq(t, r->alias[i].name))
			return r->alias[i].section;
	return NULL;
}

/* policy.setting("ec2", "snapshots") at i (the name "setting"). */
static void check_setting_call(reads *r, size_t i)
{
	const lua_toks *k = r->k;
	char section[64];
	if (i + 5 >= k->n || !lua_tok_is(&k->t[i + 1], "(") || !lua_tok_is(&k->t[i + 3], ",") ||
	    lua_tok_string(&k->t[i + 2], section, sizeof(section)) < 0 ||
	    k->t[i + 4].type != LT_STRING)
		return;
	for (size_t s = 0; s < NSECTIONS; s++) {
		if (strcmp(sections[s].key, section) != 0)
			continue;
		lua_tok key = k->t[i + 4];
		key.type = LT_NAME; /* the string's contents, for the lookups */
		key.s++;
		key.n = key.n >= 2 ? key.n - 2 : 0;
		if (!field_named(sections[s].fields, &key))
			misread(r, &key, sections[s].fields, section);
	}
}

int config_schema_lint_reads(const char *file, const char *text, size_t n, problem_fn rep,
			     void *ud)
{
	lua_toks k;
	reads r;
	memset(&r, 0, sizeof(r));
	r.file = file;
	r.rep = rep;
	r.ud = ud;
	r.k = &k;
	if (lua_lex_scan(text, n, &k) != 0)
		return 0;
	for (size_t i = 0; i + 2 < k.n; i++) {
		const lua_tok *t = &k.t[i];
		const cs_section *sec;
		if (lua_tok_is(t, "local"))
			note_local(&r, i);
		if (tok_eq(t, "setting")) /* policy.setting("ec2", "snapshots") */
			check_setting_call(&r, i);
		if (i > 0 && (lua_tok_is(&k.t[i - 1], ".") || lua_tok_is(&k.t[i - 1], ":")))
			continue; /* a field of something else */
		if (r.config[0] && tok_eq(t, r.config) && lua_tok_is(&k.t[i + 1], ".") &&
			 (sec = section_named(&k.t[i + 2])) != NULL)
			check_path(&r, i + 3, sec);
		else if ((sec = alias_of(&r, t)) != NULL)
			check_path(&r, i + 1, sec);
	}
	lua_toks_free(&k);
	return r.problems;
}
