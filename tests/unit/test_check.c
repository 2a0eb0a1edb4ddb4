/* test_check — what `deadbolt check` finds without AWS, case by case: Lua
 * snippets and config files in, the expected messages with their line
 * numbers out. Covers the source lint (lint.c), the config schema
 * (config_schema.c), GuardDuty's finding types (gd_types.c), the source map
 * that gives lines (lua_lex.c) and did-you-mean (suggest.c); and that the
 * configuration the integration tests run with (tests/harness/config.lua)
 * has the keys of playbooks/config.lua. */
#include <check.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "gd_types.h"
#include "lint.h"
#include "lua_lex.h"
#include "suggest.h"
#include "testutil.h"

/* Every message reported, one "LINE: message" a line. */
typedef struct collected {
	char text[8192];
	int n;
} collected;

static void collect(void *ud, const char *file, int line, const char *problem)
{
	collected *c = ud;
	size_t used = strlen(c->text);
	snprintf(c->text + used, sizeof(c->text) - used, "%d: %s\n", line, problem);
	c->n++;
}

/* Each expected "LINE: start of message" must begin a line of got. */
static void expect_lines(const collected *got, const char *const *want, int count,
			 const char *what)
{
	for (int i = 0; i < count; i++) {
		char needle[600];
		snprintf(needle, sizeof(needle), "\n%s", want[i]);
		char hay[sizeof(got->text) + 2];
		snprintf(hay, sizeof(hay), "\n%s", got->text);
		ck_assert_msg(strstr(hay, needle) != NULL, "%s: missing \"%s\" in:\n%s", what,
			      want[i], got->text);
	}
	ck_assert_msg(got->n == count, "%s: %d messages, expected %d:\n%s", what, got->n, count,
		      got->text);
}

/* ---- suggest --------------------------------------------------------------- */

static const struct {
	const char *word, *candidates[6], *want;
} suggest_cases[] = {
	{"InstanceID", {"InstanceIds", "InstanceId", "DryRun"}, "InstanceId"},
	{"create_snapshots", {"create_tags", "create_snapshot"}, "create_snapshot"},
	{"critcal", {"name", "run", "when", "critical", "why"}, "critical"},
	{"evidance", {"contain", "evidence", "notify"}, "evidence"},
	{"Username", {"UserName", "PolicyName"}, "UserName"},
	{"recieve", {"receive"}, "receive"},          /* a swap of neighbours is one edit */
	{"xyz", {"contain", "notify"}, NULL},          /* nothing close: no suggestion */
	{"nom", {"name", "run"}, NULL},                /* two edits are too many for 3 letters */
	{"same", {"same"}, NULL},                      /* never the word itself */
};

START_TEST(test_suggest_names_the_nearest_candidate_or_nothing)
{
	const char *got = suggest_among(suggest_cases[_i].word, suggest_cases[_i].candidates);
	if (suggest_cases[_i].want)
		ck_assert_msg(got && strcmp(got, suggest_cases[_i].want) == 0, "%s: got %s",
			      suggest_cases[_i].word, got ? got : "NULL");
	else
		ck_assert_msg(got == NULL, "%s: got %s", suggest_cases[_i].word, got);
}
END_TEST

START_TEST(test_distance_counts_swaps_as_one_edit)
{
	ck_assert_uint_eq(suggest_distance("abcd", "abdc"), 1);
	ck_assert_uint_eq(suggest_distance("kitten", "sitting"), 3);
	ck_assert_uint_eq(suggest_distance("", "abc"), 3);
	ck_assert_uint_eq(suggest_distance("InstanceID", "InstanceId"), 1);
}
END_TEST

/* ---- the source lint ------------------------------------------------------- */

static const struct {
	const char *name, *src;
	const char *want[4];
	int n;
} lint_cases[] = {
	{"a misspelt primitive names the nearest allowed one",
	 "local x = 1\nec2.create_snapshotz{ VolumeId = 'v' }\n",
	 {"2: ec2.create_snapshotz is not an operation of ec2: did you mean ec2.create_snapshot?"}, 1},
	{"a real operation off the allow-list is not allowed, with an allowed neighbour",
	 "ec2.create_snapshots{ Instance = 'i' }\n",
	 {"1: ec2.create_snapshots is not on the allow-list: a playbook may call only the "
	  "operations of sandbox/allowlist.c (deadbolt primitives lists them); did you mean "
	  "ec2.create_snapshot?"}, 1},
	{"destroying is not allowed",
	 "\n\nec2.terminate_instances{ InstanceIds = { 'i-1' } }\n",
	 {"3: ec2.terminate_instances is not on the allow-list"}, 1},
	{"the model's CamelCase name is not a primitive",
	 "ec2.CreateSnapshot{ VolumeId = 'v' }\n",
	 {"1: ec2.CreateSnapshot: a primitive has boto3's name: write ec2.create_snapshot"}, 1},
	{"a parameter in the wrong case",
	 "ec2.modify_instance_attribute{\n  InstanceID = 'i-1',\n  DisableApiStop = { Value = true } }\n",
	 {"2: ec2.modify_instance_attribute: unknown parameter InstanceID: did you mean InstanceId?"}, 1},
	{"a nested member, in a list of structures",
	 "ec2.create_tags{ Resources = { 'i-1' },\n  Tags = { { Key = 'a', Value = 'b' },\n"
	 "          { key = 'c', Value = 'd' } } }\n",
	 {"3: ec2.create_tags: unknown parameter Tags[2].key: did you mean Key?"}, 1},
	{"an enum value",
	 "iam.update_access_key{ UserName = 'u', AccessKeyId = 'k', Status = 'inactive' }\n",
	 {"1: iam.update_access_key: Status is \"inactive\": did you mean \"Inactive\"?"}, 1},
	{"a literal of the wrong type",
	 "ec2.describe_instances{ InstanceIds = 'i-1' }\nec2.create_snapshot{ VolumeId = 5 }\n",
	 {"1: ec2.describe_instances: InstanceIds must be a list, { ... }, not 'i-1'",
	  "2: ec2.create_snapshot: VolumeId must be a string, not 5"}, 2},
	{"a required member missing from a table whose keys are all literal",
	 "ec2.create_snapshot{ Description = 'evidence' }\n",
	 {"1: ec2.create_snapshot: VolumeId is required: add VolumeId = ..."}, 1},
	{"a function value passed on with its parameters (aws.try)",
	 "local r = aws.try(s3.get_public_access_block,\n  { Bukket = b, ExpectedBucketOwner = o })\n",
	 {"2: s3.get_public_access_block: unknown parameter Bukket: did you mean Bucket?"}, 1},
	{"computed keys and computed tables are left to the codec",
	 "ec2.modify_instance_attribute{ InstanceId = id, [w.member] = { Value = true } }\n"
	 "ec2.create_tags(params)\nec2.create_snapshot(build())\n",
	 {NULL}, 0},
	{"comments, strings and fields of other tables are not calls",
	 "-- ec2.terminate_instances{}\nlocal s = 'iam.delete_user{}'\n"
	 "--[==[ ec2.stop_instances{} ]==] local t = [[ iam.delete_role{} ]]\n"
	 "local u = {}; u.ec2.stop_instances{}\n",
	 {NULL}, 0},
	{"a local or a parameter named like a service is not the primitives' table",
	 "local cfg, s3 = {}, {}\nprint(s3.rules, 1)\nlocal function f(a, ec2) return ec2.x(a) end\n"
	 "f(x, sns.pubish)\n",
	 {"4: sns.pubish is not an operation of sns: did you mean sns.publish?"}, 1},
	{"a literal Allow in a written policy: the deny-only rule says so before any run",
	 "iam.put_user_policy{ UserName = 'u', PolicyName = 'AWSRevokeOlderSessions',\n"
	 "  PolicyDocument = '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
	 "\"Action\":\"*\",\"Resource\":\"*\"}]}' }\n",
	 {"1: iam.put_user_policy: the sandbox would refuse this call: rule deny-only"}, 1},
	{"a public-access block turned off, with the other members computed",
	 "s3.put_public_access_block{ Bucket = b,\n"
	 "  PublicAccessBlockConfiguration = { BlockPublicAcls = false, IgnorePublicAcls = true,\n"
	 "    BlockPublicPolicy = true, RestrictPublicBuckets = true } }\n",
	 {"1: s3.put_public_access_block: the sandbox would refuse this call: rule block-all"}, 1},
	{"what is not literal is not judged by the rules",
	 "s3.put_public_access_block{ Bucket = b, PublicAccessBlockConfiguration = cfg }\n"
	 "ssm.send_command{ DocumentName = 'AWS-RunShellScript', InstanceIds = { id },\n"
	 "  Parameters = { commands = cfg.commands } }\n"
	 "s3.put_public_access_block{ Bucket = b, PublicAccessBlockConfiguration = {\n"
	 "  BlockPublicAcls = x, IgnorePublicAcls = true, BlockPublicPolicy = true,\n"
	 "  RestrictPublicBuckets = true } }\n",
	 {NULL}, 0},
	{"every call syntax",
	 "ec2.terminate_instances{}\nec2.delete_volume(x)\ns3 . delete_bucket \"b\"\n"
	 "iam.create_user [[u]]\nec2.describe_instances{}\n",
	 {"1: ec2.terminate_instances", "2: ec2.delete_volume", "3: s3.delete_bucket",
	  "4: iam.create_user"}, 4},
};

START_TEST(test_lint_reports_each_call_problem_with_its_line)
{
	collected got = {"", 0};
	int n = lint_scan_source("x.lua", lint_cases[_i].src, strlen(lint_cases[_i].src), collect,
				 &got);
	expect_lines(&got, lint_cases[_i].want, lint_cases[_i].n, lint_cases[_i].name);
	ck_assert_int_eq(n, lint_cases[_i].n);
}
END_TEST

/* ---- config.lua against its schema ------------------------------------------ */

#define GOOD_EC2 \
	"  ec2 = {\n" \
	"    rules = {}, default = 'contain',\n" \
	"    exempt_tag = { key = 'deadbolt:exempt', value = 'true' },\n" \
	"    tags = { status = 'deadbolt:status', source = false },\n" \
	"    isolation_group_name = 'deadbolt-isolation-%s',\n" \
	"    untrack_group_name = 'deadbolt-untrack-%s',\n" \
	"    isolation_tag = 'deadbolt:isolation-for',\n" \
	"  },\n"

static const struct {
	const char *name, *src;
	const char *playbooks[4];
	const char *want[4];
	int n;
} config_cases[] = {
	{"a good ec2 section, no playbook needing the others", "return {\n" GOOD_EC2 "}\n", {NULL},
	 {NULL}, 0},
	{"an unknown setting, with the nearest",
	 "return {\n  s3 = {\n    rules = {},\n    defualt = 'notify',\n  },\n"
	 "  notify = { subject_prefix = 'x' },\n}\n", {"s3.lua"},
	 {"4: s3.defualt: unknown setting: did you mean default?",
	  "1: iam: the section is missing (s3.lua reads it)"}, 2},
	{"every response value, default included",
	 "return {\n  iam = {\n    revoke_policy_name = 'R',\n    default = 'contian',\n"
	 "    rules = {\n      { min_severity = 7, response = 'notfy' },\n"
	 "      { response = 'evidence' },\n    },\n  },\n  notify = { subject_prefix = 'x' },\n}\n",
	 {"iam.lua"},
	 {"4: iam.default: \"contian\" is not contain or notify: did you mean \"contain\"?",
	  "6: iam.rules[1].response: \"notfy\" is not contain or notify: did you mean \"notify\"?",
	  "7: iam.rules[2].response: \"evidence\" is EC2's only (here it would only notify): "
	  "write \"notify\""}, 3},
	{"a rule: pattern, role, severities",
	 "return {\n  s3 = {\n    rules = {\n"
	 "      { finding_type = '^Recon:Ec2/', resource_role = 'TARGTE', response = 'notify' },\n"
	 "      { min_severity = 8, max_severity = 2, response = 'notify' },\n"
	 "      { finding_type = '[', max_severity = 11, response = 'notify' },\n    },\n  },\n"
	 "  notify = { subject_prefix = 'x' },\n}\n",
	 {"s3.lua"},
	 {"4: s3.rules[1].finding_type: the resource part \"Ec2\" is not one GuardDuty sends: "
	  "did you mean \"EC2\"?",
	  "4: s3.rules[1].resource_role: \"TARGTE\" is not TARGET or ACTOR: did you mean \"TARGET\"?",
	  "5: s3.rules[2]: min_severity is above max_severity: the rule never matches",
	  "6: s3.rules[3].finding_type: is not a Lua pattern"}, 6}, /* and iam is missing */
	{"the principal settings of s3 and iam (lib/principal.lua)",
	 "return {\n  s3 = {\n    contain_principle = true,\n    principal_min_severity = 11,\n"
	 "    block_account_public_access = 'yes',\n  },\n"
	 "  iam = { revoke_policy_name = 'R', deactivate_new_access_key = true },\n"
	 "  notify = { subject_prefix = 'x' },\n}\n",
	 {"s3.lua"},
	 {"3: s3.contain_principle: unknown setting: did you mean contain_principal?",
	  "4: s3.principal_min_severity: must be a number from 0 to 10",
	  "5: s3.block_account_public_access: must be true or false",
	  "7: iam.deactivate_new_access_key: unknown setting: did you mean deactivate_new_access_keys?"}, 4},
	{"required settings and sections, by the playbooks present",
	 "return {\n  ec2 = {\n    isolation_tag = 'x',\n  },\n  forensic = {},\n  custom = { x = 1 },\n}\n",
	 {"ec2.lua"},
	 {"2: ec2: exempt_tag is missing", "5: forensic: unknown section: did you mean forensics?",
	  "1: evidence: the section is missing (ec2.lua reads it)"}, 8},
	{"names, prefixes, tags and the egress rule",
	 "return {\n  ec2 = {\n    exempt_tag = { key = 'aws:exempt', value = 'true' },\n"
	 "    tags = { status = 'deadbolt:status' },\n"
	 "    isolation_group_name = 'iso-%d', untrack_group_name = 'u-%s',\n"
	 "    isolation_tag = 't', snapshots = 'yes',\n  },\n"
	 "  evidence = { prefix = 'e/{acount}/{finding}/', manifest = 'm' },\n"
	 "  forensics = { document = 'd', commands = { 'ls' }, execution_timeout_seconds = 1,\n"
	 "    agent_wait_seconds = 1, command_wait_seconds = 1, poll_seconds = 0,\n"
	 "    egress = { IpRanges = { { CidrIP = '0.0.0.0/0' } } } },\n"
	 "  notify = { subject_prefix = 'x' },\n}\n",
	 {"ec2.lua"},
	 {"3: ec2.exempt_tag.key: \"aws:exempt\": tag keys starting with aws: are AWS's own",
	  "5: ec2.isolation_group_name: must be a name with one %s",
	  "8: evidence.prefix: {acount} is not filled in (it becomes \"\"): did you mean {account}?",
	  "11: forensics.egress.IpRanges[1].CidrIP: is no member of IpRange: did you mean CidrIp?"}, 7},
	{"the accounts section: a good one",
	 "return {\n  accounts = { role_name = 'deadbolt-response', external_id = 'ab:c/1',\n"
	 "    session_seconds = 900, quarantine_profile_name = 'q' },\n}\n", {NULL}, {NULL}, 0},
	{"the accounts section: each setting's rule",
	 "return {\n  accounts = {\n    role_name = 'a role',\n    external_id = 'x',\n"
	 "    session_seconds = 600,\n    quarantine_profile_name = '',\n    role = 'r',\n  },\n}\n",
	 {NULL},
	 {"3: accounts.role_name: must be an IAM role name: 1 to 64 of A-Z a-z 0-9 +=,.@_-",
	  "4: accounts.external_id: must be an external id: 2 to 1224 of A-Z a-z 0-9 +=,.@:/_-",
	  "5: accounts.session_seconds: must be a whole number from 900 to 43200",
	  "7: accounts.role: unknown setting (the settings here are: role_name, external_id, "
	  "session_seconds, quarantine_profile_name)"}, 5},
};

static lua_State *config_state(const char *src)
{
	lua_State *L = luaL_newstate();
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	ck_assert_msg(luaL_dostring(L, src) == LUA_OK, "bad Lua in test: %s", lua_tostring(L, -1));
	return L;
}

START_TEST(test_config_reports_each_setting_problem_with_its_line)
{
	collected got = {"", 0};
	lua_toks k;
	lua_srcmap map;
	const char *src = config_cases[_i].src;
	lua_State *L = config_state(src);
	ck_assert_int_eq(lua_lex_scan(src, strlen(src), &k), 0);
	ck_assert_int_eq(lua_srcmap_build(&k, &map), 0);
	int n = config_schema_check(L, -1, "config.lua", &map, L, config_cases[_i].playbooks,
				    collect, &got);
	if (config_cases[_i].n == 0)
		ck_assert_msg(n == 0, "%s:\n%s", config_cases[_i].name, got.text);
	for (int w = 0; w < 4 && config_cases[_i].want[w]; w++) {
		const char *one[1] = {config_cases[_i].want[w]};
		collected only = got;
		only.n = 1; /* each listed message must be there; the count is checked below */
		expect_lines(&only, one, 1, config_cases[_i].name);
	}
	ck_assert_msg(n == config_cases[_i].n, "%s: %d messages, expected %d:\n%s",
		      config_cases[_i].name, n, config_cases[_i].n, got.text);
	lua_srcmap_free(&map);
	lua_toks_free(&k);
	lua_close(L);
}
END_TEST

/* The shipped config and the one the integration tests run the playbooks
 * with (tests/harness/config.lua): both pass the schema. */
static const char *const config_files[] = {"playbooks/config.lua", "tests/harness/config.lua"};

/* The text of the file at path into src (size bytes), NUL-terminated;
 * returns its length. */
static size_t read_source(const char *path, char *src, size_t size)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: cannot open (run from the source tree)", path);
	size_t len = fread(src, 1, size - 1, f);
	fclose(f);
	ck_assert_msg(len < size - 1, "%s: larger than the test's buffer", path);
	src[len] = '\0';
	return len;
}

START_TEST(test_the_shipped_and_the_tests_configs_are_clean)
{
	collected got = {"", 0};
	static char src[1 << 16];
	size_t len = read_source(config_files[_i], src, sizeof(src));
	const char *const playbooks[] = {"ec2.lua", "iam.lua", "s3.lua", NULL};
	lua_toks k;
	lua_srcmap map;
	lua_State *L = config_state(src);
	ck_assert_int_eq(lua_lex_scan(src, len, &k), 0);
	ck_assert_int_eq(lua_srcmap_build(&k, &map), 0);
	ck_assert_msg(config_schema_check(L, -1, "config.lua", &map, L, playbooks, collect, &got) == 0,
		      "%s:\n%s", config_files[_i], got.text);
	ck_assert_int_gt(lua_srcmap_line(&map, "forensics.egress"), 1);
	lua_srcmap_free(&map);
	lua_toks_free(&k);
	lua_close(L);
}
END_TEST

/* ---- the tests' config has the shipped config's shape ----------------------- */

/* One line "PATH: WHAT" into c. */
static void diff_line(collected *c, const char *path, const char *what)
{
	size_t used = strlen(c->text);
	snprintf(c->text + used, sizeof(c->text) - used, "%s: %s\n", path, what);
	c->n++;
}

/* Reports into c each string key of the table at a (its path under prefix)
 * that the table at b lacks, "only in <names[0]>", and when types is set
 * each key that holds a table in one and something else in the other. The
 * elements of lists (integer keys) are values, which may differ. */
static void keys_missing(lua_State *L, int a, int b, const char *prefix,
			 const char *const names[2], int types, collected *c)
{
	char what[128];
	a = lua_absindex(L, a);
	b = lua_absindex(L, b);
	lua_pushnil(L);
	while (lua_next(L, a)) { /* stack: key, value in a */
		if (lua_type(L, -2) == LUA_TSTRING) {
			char path[256];
			snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
				 lua_tostring(L, -2));
			lua_pushvalue(L, -2);
			lua_rawget(L, b); /* stack: key, value in a, value in b */
			int ta = lua_istable(L, -2), tb = lua_istable(L, -1);
			if (lua_isnil(L, -1)) {
				snprintf(what, sizeof(what), "only in %s", names[0]);
				diff_line(c, path, what);
			} else if (ta != tb && types) {
				snprintf(what, sizeof(what), "a table in %s only", names[ta ? 0 : 1]);
				diff_line(c, path, what);
			} else if (ta && tb) {
				keys_missing(L, -2, -1, path, names, types, c);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
}

/* The keys of the tables at a and b that are not in both, as lines of c;
 * names[0] names a, names[1] b. */
static void key_diff(lua_State *L, int a, int b, const char *const names[2], collected *c)
{
	const char *const swapped[2] = {names[1], names[0]};
	keys_missing(L, a, b, "", names, 1, c);
	keys_missing(L, b, a, "", swapped, 0, c);
}

static const struct {
	const char *name, *a, *b, *want[3];
	int n;
} shape_cases[] = {
	{"the same keys, other values and list lengths",
	 "return { ec2 = { rules = {}, lock = { wait_seconds = 60 } }, f = { 'a', 'b' } }",
	 "return { ec2 = { rules = { { response = 'notify' } }, lock = { wait_seconds = 1 } },"
	 " f = { 'c' } }", {NULL}, 0},
	{"a section only in one",
	 "return { ec2 = {}, notify = { subject_prefix = 'x' } }", "return { ec2 = {} }",
	 {"notify: only in shipped"}, 1},
	{"a nested setting only in the other",
	 "return { ec2 = { lock = { enabled = true } } }",
	 "return { ec2 = { lock = { enabled = true, poll_seconds = 1 } } }",
	 {"ec2.lock.poll_seconds: only in tests"}, 1},
	{"a table in one, a value in the other; missing keys both ways",
	 "return { ec2 = { screenshot = { deadline_seconds = 2 }, snapshots = true } }",
	 "return { ec2 = { screenshot = 2, snapshot = true } }",
	 {"ec2.screenshot: a table in shipped only", "ec2.snapshots: only in shipped",
	  "ec2.snapshot: only in tests"}, 3},
};

static const char *const shape_names[2] = {"shipped", "tests"};

START_TEST(test_a_key_in_one_config_and_not_the_other_is_reported)
{
	collected got = {"", 0};
	lua_State *L = config_state(shape_cases[_i].a);
	ck_assert_msg(luaL_dostring(L, shape_cases[_i].b) == LUA_OK, "%s", lua_tostring(L, -1));
	key_diff(L, -2, -1, shape_names, &got);
	expect_lines(&got, shape_cases[_i].want, shape_cases[_i].n, shape_cases[_i].name);
	lua_close(L);
}
END_TEST

/* tests/harness/config.lua keeps playbooks/config.lua's keys (values may
 * differ): a setting added to one only is caught here, not by a playbook
 * reading nil in the integration tests. */
START_TEST(test_the_tests_config_has_the_shipped_configs_keys)
{
	collected got = {"", 0};
	static char src[2][1 << 16];
	const char *const names[2] = {config_files[0], config_files[1]};
	read_source(config_files[0], src[0], sizeof(src[0]));
	read_source(config_files[1], src[1], sizeof(src[1]));
	lua_State *L = config_state(src[0]);
	ck_assert_msg(luaL_dostring(L, src[1]) == LUA_OK, "%s", lua_tostring(L, -1));
	key_diff(L, -2, -1, names, &got);
	ck_assert_msg(got.n == 0, "the two configs differ in their keys:\n%s", got.text);
	lua_close(L);
}
END_TEST

/* ---- settings read by the playbooks ----------------------------------------- */

static const struct {
	const char *name, *src, *want[3];
	int n;
} read_cases[] = {
	{"through a local alias of a section, and a nested table",
	 "local config = require \"config\"\nlocal cfg = config.ec2\n"
	 "if cfg.snapshot then end\nlocal t = cfg.tags.findingid\nlocal ok = cfg.snapshots\n",
	 {"3: ec2.snapshot is no setting of config.lua (it reads nil): did you mean ec2.snapshots?",
	  "4: ec2.tags.findingid is no setting of config.lua (it reads nil): did you mean "
	  "ec2.tags.finding_id?"}, 2},
	{"through the module, and policy.setting",
	 "local config = require(\"config\")\nlocal w = config.forensics.agent_wait_secs\n"
	 "local g = policy.setting(\"iam\", \"revoke_session\")\nlocal p = config.evidence.prefix:gsub('x', 'y')\n",
	 {"2: forensics.agent_wait_secs is no setting", "3: iam.revoke_session is no setting"}, 2},
	{"a team's own section and a far-off key are theirs",
	 "local config = require \"config\"\nlocal a = config.guardrails.anything\n"
	 "local b = config.ec2.my_own_setting\n",
	 {NULL}, 0},
};

START_TEST(test_misspelt_setting_reads_are_reported)
{
	collected got = {"", 0};
	int n = config_schema_lint_reads("x.lua", read_cases[_i].src, strlen(read_cases[_i].src),
					 collect, &got);
	expect_lines(&got, read_cases[_i].want, read_cases[_i].n, read_cases[_i].name);
	ck_assert_int_eq(n, read_cases[_i].n);
}
END_TEST

/* ---- GuardDuty's types ------------------------------------------------------ */

static const struct {
	const char *pattern;
	const char *want; /* NULL: nothing wrong */
} type_cases[] = {
	{"^Recon:EC2/PortProbe", NULL},
	{"^AttackSequence:", NULL},
	{"^[%w]+:S3/", NULL},
	{"^Recon", NULL},
	{"IAMUser/", NULL},
	{"^UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration%.OutsideAWS", NULL},
	{"^Recn:EC2/", "the threat purpose \"Recn\" is not one GuardDuty sends: did you mean \"Recon\"?"},
	{"^Recn", "the threat purpose \"Recn\""},
	{"^Recon:Ec2/", "the resource part \"Ec2\" is not one GuardDuty sends: did you mean \"EC2\"?"},
	{"^[%w]+:S4/", "the resource part \"S4\""},
	{"^Pentest:IAMUser/", "the threat purpose \"Pentest\" is not one GuardDuty sends: did you mean \"PenTest\"?"},
};

START_TEST(test_finding_type_patterns_match_what_guardduty_sends)
{
	char msg[600] = "";
	int r = gd_check_type_pattern(type_cases[_i].pattern, msg, sizeof(msg));
	if (!type_cases[_i].want) {
		ck_assert_msg(r == 0, "%s: %s", type_cases[_i].pattern, msg);
		return;
	}
	ck_assert_msg(r == 1 && strncmp(msg, type_cases[_i].want, strlen(type_cases[_i].want)) == 0,
		      "%s: got \"%s\"", type_cases[_i].pattern, msg);
}
END_TEST

START_TEST(test_resource_types_are_those_guardduty_sends)
{
	char msg[600];
	static const char *const good[] = {"Instance", "AccessKey", "S3Bucket", "EKSCluster",
					   "ECSCluster", "Container", "RDSDBInstance", "Lambda"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(gd_check_resource_type(good[i], msg, sizeof(msg)) == 0, "%s", good[i]);
	ck_assert_int_eq(gd_check_resource_type("S3bucket", msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "resource_type \"S3bucket\" is not one GuardDuty sends: did you mean "
			      "\"S3Bucket\"?");
	ck_assert_int_eq(gd_check_resource_type("EC2Instance", msg, sizeof(msg)), 1);
}
END_TEST

/* ---- the source map --------------------------------------------------------- */

START_TEST(test_source_map_gives_the_line_of_each_field)
{
	static const char src[] =
		"local M = require 'x'\n"                       /* 1 */
		"local cfg = { a = 1 }\n"                       /* 2 */
		"return {\n"                                    /* 3 */
		"  name = 'p',\n"                               /* 4 */
		"  handles = { { resource_type = 'S3Bucket' },\n" /* 5 */
		"    { finding_type = '^Recon:' } },\n"         /* 6 */
		"  steps = {\n"                                 /* 7 */
		"    { name = 'one', run = function(ctx)\n"     /* 8 */
		"        local t = { x = 1, y = 2 }\n"          /* 9 */
		"        return t, { 'a', 'b' }\n"              /* 10 */
		"      end },\n"                                /* 11 */
		"    M.step(),\n"                               /* 12 */
		"    {\n"                                       /* 13 */
		"      why = [[no name]],\n"                    /* 14 */
		"    },\n"                                      /* 15 */
		"  },\n"                                        /* 16 */
		"}\n";
	static const struct {
		const char *path;
		int line;
	} want[] = {
		{"name", 4}, {"handles[1].resource_type", 5}, {"handles[2]", 6},
		{"handles[2].finding_type", 6}, {"steps[1].run", 8}, {"steps[2]", 12},
		{"steps[3]", 13}, {"steps[3].why", 14}, {"steps[3].name", 13},
		{"nothing", 3}, /* not a field: the line of the returned table */
	};
	lua_toks k;
	lua_srcmap map;
	ck_assert_int_eq(lua_lex_scan(src, strlen(src), &k), 0);
	ck_assert_int_eq(lua_srcmap_build(&k, &map), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(lua_srcmap_line(&map, want[i].path) == want[i].line, "%s: line %d, not %d",
			      want[i].path, lua_srcmap_line(&map, want[i].path), want[i].line);
	lua_srcmap_free(&map);
	lua_toks_free(&k);
}
END_TEST

static Suite *check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *t = tcase_create("suggest");
	tcase_add_loop_test(t, test_suggest_names_the_nearest_candidate_or_nothing, 0,
			    NROWS(suggest_cases));
	tcase_add_test(t, test_distance_counts_swaps_as_one_edit);
	suite_add_tcase(s, t);
	t = tcase_create("lint");
	tcase_add_loop_test(t, test_lint_reports_each_call_problem_with_its_line, 0, NROWS(lint_cases));
	suite_add_tcase(s, t);
	t = tcase_create("config");
	tcase_add_loop_test(t, test_config_reports_each_setting_problem_with_its_line, 0,
			    NROWS(config_cases));
	tcase_add_loop_test(t, test_the_shipped_and_the_tests_configs_are_clean, 0,
			    NROWS(config_files));
	tcase_add_loop_test(t, test_a_key_in_one_config_and_not_the_other_is_reported, 0,
			    NROWS(shape_cases));
	tcase_add_test(t, test_the_tests_config_has_the_shipped_configs_keys);
	tcase_add_loop_test(t, test_misspelt_setting_reads_are_reported, 0, NROWS(read_cases));
	suite_add_tcase(s, t);
	t = tcase_create("guardduty");
	tcase_add_loop_test(t, test_finding_type_patterns_match_what_guardduty_sends, 0,
			    NROWS(type_cases));
	tcase_add_test(t, test_resource_types_are_those_guardduty_sends);
	suite_add_tcase(s, t);
	t = tcase_create("lines");
	tcase_add_test(t, test_source_map_gives_the_line_of_each_field);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run(check_suite());
}
