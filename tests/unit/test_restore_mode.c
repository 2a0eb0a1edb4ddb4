/* restore through the sandbox's restore mode (engine/run/restore.c,
 * sandbox_host_call, sandbox_run_undo, sandbox/rules.c): a journal whose
 * undo calls ask for more than the state it recorded before is refused
 * before anything reaches AWS; a step's own undo runs in the sandbox with
 * its saved data, held to the records its step left. AWS is a fake host
 * that answers the checks' reads as the containment left the world. */
#include <check.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "restore.h"
#include "sandbox.h"
#include "testutil.h"

#define DOC "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}]}"

typedef struct fake {
	char sent[4096]; /* "ec2.ModifyNetworkInterfaceAttribute(sg-a);" per write that reached it */
} fake;

static void push_groups_answer(lua_State *L)
{
	/* { NetworkInterfaces = { { NetworkInterfaceId = 'eni-1', Groups = { { GroupId = 'sg-iso' } } } } } */
	lua_newtable(L);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "eni-1");
	lua_setfield(L, -2, "NetworkInterfaceId");
	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "sg-iso");
	lua_setfield(L, -2, "GroupId");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Groups");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "NetworkInterfaces");
}

static void push_block_answer(lua_State *L)
{
	static const char *const flags[] = {"BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
					    "RestrictPublicBuckets"};
	lua_newtable(L);
	lua_newtable(L);
	for (int i = 0; i < 4; i++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, flags[i]);
	}
	lua_setfield(L, -2, "PublicAccessBlockConfiguration");
}

static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake *f = ud;
	size_t n = strlen(f->sent);
	if (strcmp(e->operation, "DescribeNetworkInterfaces") == 0) {
		push_groups_answer(L);
	} else if (strcmp(e->operation, "GetPublicAccessBlock") == 0) {
		push_block_answer(L);
	} else if (strcmp(e->operation, "GetRolePolicy") == 0) {
		lua_newtable(L);
		lua_pushliteral(L, DOC);
		lua_setfield(L, -2, "PolicyDocument");
	} else {
		const char *g = "";
		if (lua_getfield(L, params, "Groups") == LUA_TTABLE && lua_rawgeti(L, -1, 1) == LUA_TSTRING)
			g = lua_tostring(L, -1);
		snprintf(f->sent + n, sizeof(f->sent) - n, "%s.%s(%s);", e->service, e->operation, g);
		lua_newtable(L);
	}
	return 0;
}

static void quiet(void *ud, const char *level, const char *msg)
{
}

typedef struct outcome {
	int rc;
	char *said;
	fake f;
} outcome;

/* The restore of journal; out->rc -1 with err when it could not run. */
static void restore_or_err(const char *dir, const char *journal, int dry_run, outcome *out, char *err,
			   size_t errlen)
{
	sandbox_host host = {fake_call, quiet, &out->f};
	restore_opts o;
	size_t len = 0;
	err[0] = '\0';
	memset(&o, 0, sizeof(o));
	memset(&out->f, 0, sizeof(out->f));
	o.text = journal;
	o.len = strlen(journal);
	o.source = "test";
	o.playbook_dir = dir;
	o.dry_run = dry_run;
	o.say = open_memstream(&out->said, &len);
	out->rc = restore_run_host(&host, NULL, &o, NULL, 0, err, errlen);
	fclose(o.say);
}

static void restore_with(const char *dir, const char *journal, int dry_run, outcome *out)
{
	char err[512];
	restore_or_err(dir, journal, dry_run, out, err, sizeof(err));
	ck_assert_msg(out->rc >= 0, "%s", err);
}

static void restore_text(const char *dir, const char *journal, outcome *out)
{
	restore_with(dir, journal, 0, out);
}

static const char CONFIG[] = "return { iam = { revoke_policy_name = 'AWSRevokeOlderSessions' } }\n";

#define RUN_START(sha) \
	"{\"event\":\"run_start\",\"run\":\"r1\",\"finding\":{\"id\":\"f1\"}," \
	"\"playbook\":{\"name\":\"custom\",\"file\":\"custom.lua\",\"sha256\":\"" sha "\"}}\n"
#define UNDO(step, rec) "{\"event\":\"undo\",\"run\":\"r1\",\"step\":\"" step "\",\"undo\":" rec "}\n"
#define ENI_REC(groups) \
	"{\"key\":\"eni:eni-1\",\"op\":\"ec2.ModifyNetworkInterfaceAttribute\",\"source\":\"read\"," \
	"\"before\":[\"sg-a\"],\"after\":[\"sg-iso\"],\"undo\":{\"op\":\"ec2.ModifyNetworkInterfaceAttribute\"," \
	"\"params\":{\"NetworkInterfaceId\":\"eni-1\",\"Groups\":" groups "}}}"

/* Three records whose calls differ from their own before-states: an ENI
 * into a group it was never in, an unrelated policy deleted, a bucket
 * opened that had a block. */
START_TEST(test_a_tampered_journal_is_refused_before_anything_is_sent)
{
	char dir[256];
	outcome out;
	tu_home_create(dir, sizeof(dir), "/tmp/deadbolt-restore-XXXXXX");
	tu_put_text(dir, "config.lua", CONFIG, 0644);
	restore_text(dir,
		RUN_START("0") UNDO("isolate", ENI_REC("[\"sg-wide-open\"]"))
		UNDO("revoke", "{\"key\":\"role-policy:app:ProdAccess\",\"op\":\"iam.PutRolePolicy\",\"source\":\"read\","
			"\"before\":{\"absent\":true},\"after\":{\"document\":\"" "{\\\"Version\\\":\\\"2012-10-17\\\","
			"\\\"Statement\\\":[{\\\"Effect\\\":\\\"Deny\\\",\\\"Action\\\":\\\"*\\\",\\\"Resource\\\":\\\"*\\\"}]}"
			"\"},\"undo\":{\"op\":\"iam.DeleteRolePolicy\",\"params\":{\"RoleName\":\"app\",\"PolicyName\":\"ProdAccess\"}}}")
		UNDO("lockdown", "{\"key\":\"pab:b\",\"op\":\"s3.PutPublicAccessBlock\",\"source\":\"read\","
			"\"before\":{\"config\":{\"BlockPublicAcls\":true,\"IgnorePublicAcls\":true,\"BlockPublicPolicy\":false,"
			"\"RestrictPublicBuckets\":true}},\"after\":{\"config\":{\"BlockPublicAcls\":true,\"IgnorePublicAcls\":true,"
			"\"BlockPublicPolicy\":true,\"RestrictPublicBuckets\":true}},"
			"\"undo\":{\"op\":\"s3.DeletePublicAccessBlock\",\"params\":{\"Bucket\":\"b\"}}}"),
		&out);
	ck_assert_int_eq(out.rc, 1);
	ck_assert_str_eq(out.f.sent, "");
	ck_assert_msg(strstr(out.said, "refused  eni:eni-1: ec2.ModifyNetworkInterfaceAttribute refused by rule "
			    "eni-own-groups: eni-1 may go back only to the groups the journal recorded on it"),
		      "%s", out.said);
	ck_assert_msg(strstr(out.said, "iam.DeleteRolePolicy refused by rule undo-policy: only deadbolt's "
			    "policy AWSRevokeOlderSessions may be deleted, not ProdAccess"), "%s", out.said);
	ck_assert_msg(strstr(out.said, "s3.DeletePublicAccessBlock refused by rule undo-no-block: the block of "
			    "b may be deleted only when the journal recorded none"), "%s", out.said);
	ck_assert_msg(strstr(out.said, "3 without undo or refused"), "%s", out.said);
	free(out.said);
	/* a dry run's plan says so too, and sends nothing */
	restore_with(dir, RUN_START("0") UNDO("isolate", ENI_REC("[\"sg-wide-open\"]")), 1, &out);
	ck_assert_int_eq(out.rc, 1);
	ck_assert_str_eq(out.f.sent, "");
	ck_assert_msg(strstr(out.said, "refused  eni:eni-1: ec2.ModifyNetworkInterfaceAttribute refused by rule "
			    "eni-own-groups"), "%s", out.said);
	free(out.said);
	restore_with(dir, RUN_START("0") UNDO("isolate", ENI_REC("[\"sg-a\"]")), 1, &out);
	ck_assert_int_eq(out.rc, 0);
	ck_assert_str_eq(out.f.sent, "");
	ck_assert_msg(strstr(out.said, "ec2.ModifyNetworkInterfaceAttribute {"), "%s", out.said);
	free(out.said);
	/* the same ENI record, untampered: sent */
	restore_text(dir, RUN_START("0") UNDO("isolate", ENI_REC("[\"sg-a\"]")), &out);
	ck_assert_int_eq(out.rc, 0);
	ck_assert_str_eq(out.f.sent, "ec2.ModifyNetworkInterfaceAttribute(sg-a);");
	free(out.said);
	tu_home_remove(dir);
}
END_TEST

static void region_journal(char *out, size_t n, const char *region_json)
{
	snprintf(out, n,
		 "{\"event\":\"run_start\",\"run\":\"r1\",\"finding\":{\"id\":\"f1\"},\"region\":%s}\n"
		 UNDO("isolate", ENI_REC("[\"sg-a\"]")), region_json);
}

/* The restore acts in the region of the journal's runs (run_start's
 * region): a name of a region's shape, or nothing is sent. */
START_TEST(test_a_journal_region_that_is_not_a_region_name_is_refused)
{
	static const char *const good[] = {"\"us-east-1\"", "\"eu-west-1\"", "\"us-gov-west-1\"",
					   "\"cn-northwest-1\"", "\"ap-southeast-4\"", "null"};
	static const char *const bad[] = {
		"\"\"", "\"us-east-1.example.com\"", "\"US-EAST-1\"", "\"us-east-\"", "\"us--east-1\"",
		"\"../us-east-1\"", "\"us-east-1/\"", "\"us-east\"", "\"useast-1\"", "\"us-east-x\"", "12",
		"\"aa-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1\"", "\"us-east-1\\u0000\""};
	char dir[256], journal[2048], err[512];
	outcome out;
	tu_home_create(dir, sizeof(dir), "/tmp/deadbolt-restore-XXXXXX");
	tu_put_text(dir, "config.lua", CONFIG, 0644);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		region_journal(journal, sizeof(journal), good[i]);
		restore_or_err(dir, journal, 0, &out, err, sizeof(err));
		ck_assert_msg(out.rc == 0, "%s: %s %s", good[i], err, out.said);
		ck_assert_str_eq(out.f.sent, "ec2.ModifyNetworkInterfaceAttribute(sg-a);");
		ck_assert_msg(strcmp(good[i], "null") == 0 || strstr(out.said, "acting in "), "%s", out.said);
		free(out.said);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		region_journal(journal, sizeof(journal), bad[i]);
		restore_or_err(dir, journal, 0, &out, err, sizeof(err));
		ck_assert_msg(out.rc == -1, "%s accepted: %s", bad[i], out.said);
		ck_assert_msg(strstr(err, "is not a region name"), "%s: %s", bad[i], err);
		ck_assert_str_eq(out.f.sent, "");
		free(out.said);
	}
	/* runs in two regions are not restored together */
	region_journal(journal, sizeof(journal), "\"eu-west-1\"");
	snprintf(journal + strlen(journal), sizeof(journal) - strlen(journal),
		 "{\"event\":\"run_start\",\"run\":\"r2\",\"finding\":{\"id\":\"f2\"},\"region\":\"us-east-1\"}\n"
		 "{\"event\":\"undo\",\"run\":\"r2\",\"step\":\"isolate\",\"undo\":" ENI_REC("[\"sg-a\"]") "}\n");
	restore_or_err(dir, journal, 0, &out, err, sizeof(err));
	ck_assert_int_eq(out.rc, -1);
	ck_assert_msg(strstr(err, "acted in eu-west-1 and us-east-1"), "%s", err);
	ck_assert_str_eq(out.f.sent, "");
	free(out.said);
	tu_home_remove(dir);
}
END_TEST

static const char PLAYBOOK[] =
	"return { name = 'custom', handles = { { resource_type = 'Instance' } }, steps = {\n"
	"  { name = 'isolate', run = function(ctx) end,\n"
	"    undo = function(ctx, saved)\n"
	"      ec2.modify_network_interface_attribute{ NetworkInterfaceId = saved.eni, Groups = saved.groups }\n"
	"    end },\n"
	"} }\n";

static void step_journal(char *out, size_t n, const char *sha, const char *saved_groups)
{
	snprintf(out, n,
		 "{\"event\":\"run_start\",\"run\":\"r1\",\"finding\":{\"id\":\"f1\"},"
		 "\"playbook\":{\"name\":\"custom\",\"file\":\"custom.lua\",\"sha256\":\"%s\"}}\n"
		 UNDO("isolate", ENI_REC("[\"sg-a\"]"))
		 "{\"event\":\"step\",\"run\":\"r1\",\"step\":\"isolate\",\"status\":\"ok\",\"undo\":true,"
		 "\"saved\":{\"eni\":\"eni-1\",\"groups\":%s}}\n", sha, saved_groups);
}

START_TEST(test_a_steps_own_undo_runs_in_restore_mode_with_its_saved_data)
{
	char dir[256], sha[65], journal[4096];
	outcome out;
	tu_home_create(dir, sizeof(dir), "/tmp/deadbolt-restore-XXXXXX");
	tu_put_text(dir, "config.lua", CONFIG, 0644);
	tu_put_text(dir, "custom.lua", PLAYBOOK, 0644);
	digest_sha256_hex(PLAYBOOK, strlen(PLAYBOOK), sha);
	/* its undo, not the record's replay: one move, back where it was */
	step_journal(journal, sizeof(journal), sha, "[\"sg-a\"]");
	restore_text(dir, journal, &out);
	ck_assert_msg(out.rc == 0, "%s", out.said);
	ck_assert_str_eq(out.f.sent, "ec2.ModifyNetworkInterfaceAttribute(sg-a);");
	ck_assert_msg(strstr(out.said, "restored step isolate: its own undo"), "%s", out.said);
	free(out.said);
	/* saved data that asks for more than the step's records: refused */
	step_journal(journal, sizeof(journal), sha, "[\"sg-wide-open\"]");
	restore_text(dir, journal, &out);
	ck_assert_int_eq(out.rc, 1);
	ck_assert_str_eq(out.f.sent, "");
	ck_assert_msg(strstr(out.said, "refused by rule eni-own-groups"), "%s", out.said);
	free(out.said);
	/* another playbook than the containment ran: not run */
	step_journal(journal, sizeof(journal), "00ff", "[\"sg-a\"]");
	restore_text(dir, journal, &out);
	ck_assert_int_eq(out.rc, 1);
	ck_assert_str_eq(out.f.sent, "");
	ck_assert_msg(strstr(out.said, "is not the one the containment ran"), "%s", out.said);
	free(out.said);
	tu_home_remove(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("restore_mode");
	TCase *t = tcase_create("core");
	tcase_add_test(t, test_a_tampered_journal_is_refused_before_anything_is_sent);
	tcase_add_test(t, test_a_steps_own_undo_runs_in_restore_mode_with_its_saved_data);
	tcase_add_test(t, test_a_journal_region_that_is_not_a_region_name_is_refused);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
