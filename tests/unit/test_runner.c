/* test_runner — engine/runner.c with the test playbooks of tests/playbooks
 * and a fake AWS host (runner_options.call_override): routing, guards, the
 * step runner (when, critical, save, skip, budgets), dry run and the plan,
 * the journal, and `deadbolt check`.
 *
 * The journal is checked by decoding every line with lua-cjson and asking
 * Lua expressions about it (find('step', 'tag').status == 'ok').
 * Run from the repository root. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "lint.h"
#include "playbooks.h"
#include "finding.h"
#include "runner.h"
#include "testutil.h"
#include "testutil_runner.h"

#define PLAYBOOKS "tests/playbooks"

/* ---- a fake AWS ---- */

typedef struct fake {
	int calls;
	char ops[4096];
} fake;

static void push_instance(lua_State *L, int params)
{
	lua_newtable(L); /* result */
	lua_newtable(L); /* Reservations */
	lua_newtable(L); /* reservation */
	lua_newtable(L); /* Instances */
	lua_newtable(L); /* instance */
	if (lua_istable(L, params) && lua_getfield(L, params, "InstanceIds") == LUA_TTABLE) {
		lua_rawgeti(L, -1, 1);
		lua_setfield(L, -3, "InstanceId");
	}
	lua_pop(L, lua_istable(L, params) ? 1 : 0);
	lua_newtable(L);
	lua_pushliteral(L, "running");
	lua_setfield(L, -2, "Name");
	lua_setfield(L, -2, "State");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Instances");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Reservations");
}

/* DescribeInstances answers one running instance; ModifyInstanceAttribute
 * with DisableApiStop is refused (403); everything else returns {}. */
static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake *f = ud;
	f->calls++;
	snprintf(f->ops + strlen(f->ops), sizeof(f->ops) - strlen(f->ops), "%s.%s;", e->service,
		 e->operation);
	if (strcmp(e->operation, "ModifyInstanceAttribute") == 0 && lua_istable(L, params) &&
	    lua_getfield(L, params, "DisableApiStop") != LUA_TNIL) {
		lua_pop(L, 1);
		aws_error_set(err, "UnauthorizedOperation", "You are not authorized to perform this operation.");
		err->status = 403;
		err->attempts = 1;
		snprintf(err->request_id, sizeof(err->request_id), "req-403");
		return -1;
	}
	if (lua_istable(L, params))
		lua_pop(L, 1);
	if (strcmp(e->operation, "DescribeInstances") == 0)
		push_instance(L, params);
	else
		lua_newtable(L);
	return 0;
}

/* ---- running documents (testutil_runner.h) ---- */

typedef tu_doc_run outcome;

/* The fake host of the latest run (each Check test is a process of its own). */
static fake fake_host;

static void base_options(runner_options *o, outcome *out, FILE *j, FILE *s)
{
	memset(o, 0, sizeof(*o));
	o->playbook_dir = PLAYBOOKS;
	o->journal = j;
	o->summary = s;
	o->call_override = fake_call;
	o->call_override_ud = &fake_host;
}

/* Runs json through a runner built from o (journal and summary captured),
 * with a fresh fake host. */
static void run_with(runner_options *o, outcome *out, const char *json)
{
	memset(&fake_host, 0, sizeof(fake_host));
	o->call_override_ud = &fake_host;
	tu_run_document(o, json, out);
}

static void run_doc(outcome *out, int dry_run, const char *json)
{
	runner_options o;
	base_options(&o, out, NULL, NULL);
	o.dry_run = dry_run;
	run_with(&o, out, json);
}

static char *read_finding(const char *name)
{
	char path[256], err[256];
	buf b = BUF_INIT;
	snprintf(path, sizeof(path), "tests/findings/%s", name);
	ck_assert_msg(finding_read_file(path, 0, &b, err, sizeof(err)) == 0, "%s: %s", path, err);
	return b.data;
}

static void outcome_free(outcome *out)
{
	tu_run_free(out);
}

/* ---- asking the journal ---- */

/* Beside find, all and count (testutil_runner.h): the calls and the steps
 * in order, as one line each. */
static const char PRELUDE[] =
	"function ops() local t = {}\n"
	"  for _, e in ipairs(all('aws_call')) do t[#t + 1] = e.op .. (e.dry_run and '(dry)' or '') end\n"
	"  return table.concat(t, ',') end\n"
	"function steps() local t = {}\n"
	"  for _, e in ipairs(all('step')) do t[#t + 1] = e.step .. '=' .. e.status end\n"
	"  return table.concat(t, ',') end\n";

/* A Lua state with J = the journal's lines, decoded. */
static lua_State *journal_lua(const outcome *out)
{
	return tu_journal_lua(out, PRELUDE);
}

#define JCHECK(L, expr) \
	tu_jcheck(L, expr, __LINE__, \
		  "'steps: ' .. steps() .. '; calls: ' .. ops() .. '; end: ' .. " \
		  "tostring(find('run_end').outcome) .. ' ' .. tostring(find('run_end').reason)")

/* A small finding of the given type and resource type. */
static char *doc(char *out, size_t n, const char *type, const char *resource_type, const char *extra)
{
	return tu_finding(out, n, type, resource_type, NULL, extra);
}

/* ---- tests ---- */

START_TEST(test_dry_run_sends_reads_and_plans_writes_in_order)
{
	outcome out = {0};
	setenv("ARTIFACT_BUCKET", "evidence-bucket", 1);
	char *json = read_finding("ec2-ssh-bruteforce.event.json");
	run_doc(&out, 1, json);
	unsetenv("ARTIFACT_BUCKET");
	ck_assert_int_eq(out.rc, 0);
	ck_assert_str_eq(runner_outcome_name(out.worst), "planned");
	ck_assert_int_eq(runner_exit_code(out.worst), 0);
	/* the read went to AWS, no write did */
	ck_assert_str_eq(fake_host.ops, "ec2.DescribeInstances;");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "ops() == 'ec2.DescribeInstances,ec2.CreateTags(dry),ec2.ModifyInstanceAttribute(dry)'");
	JCHECK(L, "steps() == 'describe=ok,tag=ok,never=skipped,protect=ok,report=ok'");
	JCHECK(L, "find('step', 'never').reason == 'its condition (when, contain.lua:29) does not hold'");
	JCHECK(L, "find('step', 'never').why == 'a when guard that says no'");
	JCHECK(L, "find('aws_call', 'tag').params.Tags[1].Key == 'deadbolt:status'");
	JCHECK(L, "find('aws_call', 'tag').access == 'write'");
	JCHECK(L, "find('aws_call', 'describe').params.InstanceIds[1] == 'i-0a1b2c3d4e5f67890'");
	JCHECK(L, "find('run_start').mode == 'dry-run'");
	JCHECK(L, "find('run_start').finding.resource_type == 'Instance'");
	JCHECK(L, "find('run_start').playbook.name == 'contain'");
	JCHECK(L, "find('run_start').engine:match('^deadbolt %d')");
	JCHECK(L, "find('run_end').outcome == 'planned' and find('run_end').counts.writes_planned == 2");
	JCHECK(L, "find('run_end').counts.ok == 4 and find('run_end').counts.skipped == 1");
	/* undo data, with a secret-looking key redacted */
	JCHECK(L, "find('step', 'describe').saved.state_before.state == 'running'");
	JCHECK(L, "find('step', 'describe').saved.state_before.SecretAccessKey == '<redacted>'");
	JCHECK(L, "find('step', 'protect').saved.DisableApiTermination == false");
	/* what a step sees */
	JCHECK(L, "find('step', 'report').saved.ctx.id == 'a2c6b1f0e7d34c1b9a4f3e2d1c0b9a87'");
	JCHECK(L, "find('step', 'report').saved.ctx.type == 'UnauthorizedAccess:EC2/SSHBruteForce'");
	JCHECK(L, "find('step', 'report').saved.ctx.severity == 2");
	JCHECK(L, "find('step', 'report').saved.ctx.region == 'us-east-1'");
	JCHECK(L, "find('step', 'report').saved.ctx.account == '123456789012'");
	JCHECK(L, "find('step', 'report').saved.ctx.partition == 'aws'");
	JCHECK(L, "find('step', 'report').saved.ctx.dry_run == true");
	JCHECK(L, "find('step', 'report').saved.ctx.bucket == 'evidence-bucket'");
	JCHECK(L, "find('step', 'report').saved.ctx.path == 'none'");
	JCHECK(L, "find('step', 'report').saved.ctx.seen == 'describe=ok,tag=ok,never=skipped,protect=ok'");
	JCHECK(L, "find('step', 'report').saved.ctx.tag_result == 'table'");
	JCHECK(L, "find('log').msg == 'steps so far: describe=ok,tag=ok,never=skipped,protect=ok'");
	/* every line: a timestamp and this run's id */
	JCHECK(L, "(function() for _, e in ipairs(J) do if not (e.ts:match('^%d+%-%d+%-%d+T') and "
		  "e.run == J[1].run) then return false end end return #J >= 10 end)()");
	lua_close(L);
	/* the summary prints the plan: every write, in order, as JSON */
	char *one = strstr(out.summary, "1. ec2.CreateTags {\"Resources\":[\"i-0a1b2c3d4e5f67890\"]");
	char *two = strstr(out.summary, "2. ec2.ModifyInstanceAttribute {\"DisableApiTermination\":{\"Value\":true}");
	ck_assert_msg(one && two && one < two, "plan not in the summary:\n%s", out.summary);
	ck_assert_ptr_nonnull(strstr(out.summary, "outcome: planned"));
	free(json);
	outcome_free(&out);
}
END_TEST

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tests/playbooks/dry.lua, dry (1) or live (0): how long it took. */
static double run_dry_playbook(outcome *out, int dry_run)
{
	char d[1024];
	setenv("ARTIFACT_BUCKET", "evidence-bucket", 1);
	double t0 = now_s();
	run_doc(out, dry_run, doc(d, sizeof(d), "Impact:EC2/Test.Dry", "Instance", NULL));
	double took = now_s() - t0;
	unsetenv("ARTIFACT_BUCKET");
	ck_assert_int_eq(out->rc, 0);
	return took;
}

START_TEST(test_dry_run_plans_sleeps_and_waits_without_waiting)
{
	outcome out = {0};
	double took = run_dry_playbook(&out, 1);
	/* sleep(0.5) and a wait of up to 1 s that is never met: nothing waited */
	ck_assert_msg(took < 0.5, "the dry run took %.2f s", took);
	lua_State *L = journal_lua(&out);
	JCHECK(L, "steps() == 'dwell=ok,wait_met=ok,wait_value=ok,group=ok,lock=ok,wait_write=ok'");
	JCHECK(L, "find('wait', 'dwell').seconds == 0.5 and find('wait', 'dwell').dry_run == true");
	JCHECK(L, "find('wait', 'dwell').every == nil");
	/* the wait's check ran once, its read planned, not sent; answered as met */
	JCHECK(L, "find('wait', 'wait_met').seconds == 1 and find('wait', 'wait_met').every == 0.5");
	JCHECK(L, "find('wait', 'wait_met')['until'] == 'ssm.GetCommandInvocation'");
	JCHECK(L, "find('aws_call', 'wait_met').op == 'ssm.GetCommandInvocation'");
	JCHECK(L, "find('aws_call', 'wait_met').dry_run == true and find('aws_call', 'wait_met').access == 'read'");
	JCHECK(L, "find('aws_call', 'wait_met', 2).op == nil");
	/* the check ran again with the answer's enums tried in turn (Pending,
	 * InProgress, Delayed, Success): the wait answers the one that meets it */
	JCHECK(L, "find('step', 'wait_met').saved.wait.polls == 4");
	JCHECK(L, "find('step', 'wait_met').saved.wait.got == true");
	JCHECK(L, "find('step', 'wait_met').saved.wait.status == 'Success'");
	JCHECK(L, "find('run_end').counts.aws_calls == #all('aws_call')");
	JCHECK(L, "find('step', 'wait_value').saved.value == 'ready'");
	ck_assert_ptr_null(strstr(fake_host.ops, "GetCommandInvocation"));
	/* the plan says what would have been waited, under its step */
	ck_assert_ptr_nonnull(strstr(out.summary, "    dwell: a sleep: planned, not slept, in a dry run\n"
					     "      (would wait 0.5 s)\n"));
	ck_assert_ptr_nonnull(strstr(out.summary, "      (would wait up to 1 s, checking every 0.5 s: "
					     "ssm.GetCommandInvocation; planned as met)\n"));
	/* a conditional write is planned as succeeding */
	JCHECK(L, "find('step', 'lock').saved.locked == true");
	/* a write in a check is planned once, however many tries it took
	 * (Failed is the 7th status) */
	JCHECK(L, "find('step', 'wait_write').saved.failed == 'Failed'");
	JCHECK(L, "find('aws_call', 'wait_write', 1).op == 'ec2.CreateTags'");
	JCHECK(L, "find('aws_call', 'wait_write', 1).dry_run == true");
	JCHECK(L, "find('aws_call', 'wait_write', 2).op == 'ssm.GetCommandInvocation'");
	JCHECK(L, "find('aws_call', 'wait_write', 3).op == nil");
	JCHECK(L, "find('run_end').counts.writes_planned == 5");
	lua_close(L);
	outcome_free(&out);
}
END_TEST

START_TEST(test_dry_run_reads_a_planned_group_as_new_with_the_planned_rules)
{
	outcome out = {0};
	run_dry_playbook(&out, 1);
	lua_State *L = journal_lua(&out);
	JCHECK(L, "find('step', 'group').status == 'ok'");
	/* read as AWS documents a new VPC group: nothing in, all IPv4 out */
	JCHECK(L, "find('step', 'group').saved.group.id == 'sg-dryrun1'");
	JCHECK(L, "find('step', 'group').saved.group.new_in == 0");
	JCHECK(L, "find('step', 'group').saved.group.new_out == '-1 0.0.0.0/0'");
	JCHECK(L, "find('step', 'group').saved.group.vpc == 'vpc-1'");
	JCHECK(L, "find('step', 'group').saved.group.tag == 'untrack'");
	/* the planned authorize and revoke applied; the real group read for real */
	JCHECK(L, "find('step', 'group').saved.group.groups == 1");
	JCHECK(L, "find('step', 'group').saved.group.last == 'sg-dryrun1'");
	JCHECK(L, "find('step', 'group').saved.group.out == 1");
	JCHECK(L, "find('step', 'group').saved.group.v6 == '::/0'");
	JCHECK(L, "find('step', 'group').saved.again == 0");
	/* the planned group alone: not sent; with a real one: sent for that one only */
	JCHECK(L, "find('aws_call', 'group', 2).op == 'ec2.DescribeSecurityGroups'");
	JCHECK(L, "find('aws_call', 'group', 2).dry_run == true");
	JCHECK(L, "find('aws_call', 'group', 5).op == 'ec2.DescribeSecurityGroups'");
	JCHECK(L, "find('aws_call', 'group', 5).dry_run == nil");
	JCHECK(L, "#find('aws_call', 'group', 5).params.GroupIds == 1");
	JCHECK(L, "find('aws_call', 'group', 5).params.GroupIds[1] == 'sg-0123456789abcdef0'");
	ck_assert_str_eq(fake_host.ops, "ec2.DescribeSecurityGroups;");
	lua_close(L);
	outcome_free(&out);
}
END_TEST

START_TEST(test_live_run_sleeps_and_polls_as_before)
{
	outcome out = {0};
	double took = run_dry_playbook(&out, 0);
	/* sleep(0.5), then a wait of 1 s every 0.5 s never met: 3 checks, 2 sleeps */
	ck_assert_msg(took >= 1.5, "the live run took %.2f s", took);
	lua_State *L = journal_lua(&out);
	JCHECK(L, "find('wait', 'dwell').seconds == nil");
	JCHECK(L, "find('step', 'wait_met').saved.wait.polls == 3");
	JCHECK(L, "find('step', 'wait_met').saved.wait.got == false");
	JCHECK(L, "find('step', 'wait_value').saved.value == 'ready'");
	ck_assert_ptr_nonnull(strstr(fake_host.ops, "ssm.GetCommandInvocation;ssm.GetCommandInvocation;"
					      "ssm.GetCommandInvocation;ec2.CreateSecurityGroup;"));
	lua_close(L);
	outcome_free(&out);
}
END_TEST

START_TEST(test_playbook_hash_is_the_file_sha256)
{
	outcome out = {0};
	char *json = read_finding("ec2-ssh-bruteforce.bare.json"), sha[65], expr[200];
	char *src = read_finding("../playbooks/contain.lua");
	digest_sha256_hex(src, strlen(src), sha);
	run_doc(&out, 1, json);
	lua_State *L = journal_lua(&out);
	snprintf(expr, sizeof(expr), "find('run_start').playbook.sha256 == '%s'", sha);
	JCHECK(L, expr);
	JCHECK(L, "find('run_start').playbook.file == 'contain.lua'");
	lua_close(L);
	free(src);
	free(json);
	outcome_free(&out);
}
END_TEST

START_TEST(test_live_run_sends_every_call_in_order_and_contains)
{
	outcome out = {0};
	char *json = read_finding("ec2-ssh-bruteforce.bare.json");
	run_doc(&out, 0, json);
	ck_assert_str_eq(runner_outcome_name(out.worst), "contained");
	ck_assert_str_eq(fake_host.ops, "ec2.DescribeInstances;ec2.CreateTags;ec2.ModifyInstanceAttribute;");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "ops() == 'ec2.DescribeInstances,ec2.CreateTags,ec2.ModifyInstanceAttribute'");
	JCHECK(L, "find('aws_call', 'protect').error == null and find('aws_call', 'protect').attempts == 1");
	JCHECK(L, "find('run_start').mode == 'live' and find('run_end').outcome == 'contained'");
	JCHECK(L, "find('step', 'report').saved.ctx.dry_run == false");
	lua_close(L);
	free(json);
	outcome_free(&out);
}
END_TEST

START_TEST(test_failed_steps_make_partial_and_the_rest_still_runs)
{
	outcome out = {0};
	char json[1024];
	run_doc(&out, 0, doc(json, sizeof(json), "Impact:EC2/Test.Partial", "Instance", NULL));
	ck_assert_str_eq(runner_outcome_name(out.worst), "partial");
	ck_assert_int_eq(runner_exit_code(out.worst), 1);
	lua_State *L = journal_lua(&out);
	JCHECK(L, "steps() == 'first=ok,boom=failed,write_finding=failed,raw_write_finding=failed,check_finding=ok'");
	JCHECK(L, "find('step', 'boom').error:find('boom') ~= nil");
	JCHECK(L, "find('step', 'boom').traceback ~= nil");
	JCHECK(L, "find('step', 'first').saved.n == 1");
	JCHECK(L, "#find('step', 'check_finding').saved.statuses == 4");
	JCHECK(L, "find('step', 'check_finding').saved.statuses[2].status == 'failed'");
	JCHECK(L, "find('run_end').outcome == 'partial' and find('run_end').counts.failed == 3");
	JCHECK(L, "find('run_start').playbook.name == 'partial'");
	JCHECK(L, "find('log').level == 'warn' and find('log').msg:find('\\27%[31m') ~= nil");
	lua_close(L);
	/* the terminal summary does not pass escapes through */
	ck_assert_ptr_nonnull(strstr(out.summary, "carry \\u001b[31mterminal escapes\\u001b[0m"));
	ck_assert_ptr_null(strchr(out.summary, '\033'));
	/* nor newlines: a log line cannot forge a line of the summary */
	ck_assert_ptr_nonnull(strstr(out.summary, "escapes\\u001b[0m\\n  outcome: contained (forged)"));
	ck_assert_ptr_null(strstr(out.summary, "\n  outcome: contained"));
	outcome_free(&out);
}
END_TEST

START_TEST(test_critical_failure_fails_the_run_and_stops_it)
{
	outcome out = {0};
	char json[1024];
	run_doc(&out, 0, doc(json, sizeof(json), "Impact:EC2/Test.Critical", "Instance", NULL));
	ck_assert_str_eq(runner_outcome_name(out.worst), "failed");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "steps() == 'before=ok,caught=ok,isolate=failed'");
	JCHECK(L, "find('step', 'caught').saved.caught == 'UnauthorizedOperation'");
	JCHECK(L, "find('step', 'isolate').critical == true");
	JCHECK(L, "find('step', 'isolate').error:find('UnauthorizedOperation') ~= nil");
	JCHECK(L, "find('aws_call', 'isolate').status == 403 and find('aws_call', 'isolate').error == 'UnauthorizedOperation'");
	JCHECK(L, "find('aws_call', 'isolate').request_id == 'req-403'");
	JCHECK(L, "find('run_end').outcome == 'failed' and find('run_end').counts.not_run == 1");
	JCHECK(L, "find('run_end').reason:find('critical step isolate failed') ~= nil");
	lua_close(L);
	outcome_free(&out);
}
END_TEST

START_TEST(test_ctx_skip_ends_the_run_even_when_caught)
{
	outcome out = {0};
	char json[1024];
	run_doc(&out, 0, doc(json, sizeof(json), "Policy:S3/BucketAnonymousAccessGranted", "S3Bucket", NULL));
	ck_assert_str_eq(runner_outcome_name(out.worst), "skipped");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "steps() == 'exempt=skipped'");
	JCHECK(L, "find('step', 'exempt').reason == 'bucket is exempt'");
	JCHECK(L, "find('run_end').outcome == 'skipped' and find('run_end').reason == 'bucket is exempt'");
	JCHECK(L, "find('run_end').counts.not_run == 1");
	lua_close(L);
	outcome_free(&out);
}
END_TEST

START_TEST(test_budget_ends_the_run_and_the_runner_goes_on)
{
	outcome out = {0};
	runner_options o;
	char json[1024], err[256], two[2200];
	base_options(&o, &out, NULL, NULL);
	o.limits.instructions = 2000000;
	doc(json, sizeof(json), "Impact:EC2/Test.Budget", "Instance", NULL);
	snprintf(two, sizeof(two), "[%s,%s]", json, doc(err, sizeof(err), "Impact:EC2/Test.Partial", "Instance", NULL));
	run_with(&o, &out, two);
	ck_assert_str_eq(runner_outcome_name(out.worst), "failed");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "find('step', 'spin').error:find('budget exceeded: instructions') ~= nil");
	JCHECK(L, "find('run_end').outcome == 'failed' and find('run_end').reason:find('budget exceeded: instructions') ~= nil");
	JCHECK(L, "find('step', 'after').status == nil");
	/* the next finding, in a fresh sandbox, runs normally */
	JCHECK(L, "find('run_end', nil, 2).outcome == 'partial'");
	JCHECK(L, "find('step', 'check_finding').status == 'ok'");
	lua_close(L);
	outcome_free(&out);
}
END_TEST

typedef struct guard_case {
	const char *finding;  /* a file in tests/findings */
	int include_samples;
	double min_severity;
	const char *outcome;
	const char *reason;   /* part of the run_end reason; NULL: none expected */
} guard_case;

static const guard_case guard_cases[] = {
	{"ec2-sample.event.json", 0, 0, "skipped", "sample finding"},
	{"iam-sample.getfindings.json", 0, 0, "skipped", "sample finding"},
	{"ec2-sample.event.json", 1, 0, "planned", NULL},
	{"ec2-portprobe.archived.json", 1, 0, "skipped", "archived finding"},
	{"ec2-ssh-bruteforce.bare.json", 0, 5, "skipped", "severity 2 is below the minimum 5"},
	{"ec2-backdoor-cc-dns.event.json", 0, 5, "planned", NULL},
	{"unsupported-eks.event.json", 0, 0, "skipped", "unsupported resource type EKSCluster"},
	{"unsupported-ecs.bare.json", 0, 0, "skipped", "unsupported resource type ECSCluster"},
	{"unsupported-lambda.event.json", 0, 0, "skipped", "unsupported resource type Lambda"},
	{"unsupported-rds.bare.json", 0, 0, "skipped", "unsupported resource type RDSDBInstance"},
	{"unsupported-container.bare.json", 0, 0, "skipped", "unsupported resource type Container"},
	{"unsupported-ec2-malware-scan.bare.json", 0, 0, "skipped",
	 "unsupported finding type Execution:EC2/MaliciousFile: malware scan findings are answered by hand"},
	{"iam-pentest-kali.event.json", 0, 0, "skipped", "unsupported resource type AccessKey"},
};

START_TEST(test_guards_skip_and_journal_why)
{
	const guard_case *c = &guard_cases[_i];
	outcome out = {0};
	runner_options o;
	char expr[512];
	char *json = read_finding(c->finding);
	base_options(&o, &out, NULL, NULL);
	o.dry_run = 1;
	o.include_samples = c->include_samples;
	o.min_severity = c->min_severity;
	run_with(&o, &out, json);
	ck_assert_msg(strcmp(runner_outcome_name(out.worst), c->outcome) == 0, "%s: %s", c->finding,
		      runner_outcome_name(out.worst));
	lua_State *L = journal_lua(&out);
	JCHECK(L, "find('run_start').finding.id ~= nil");
	snprintf(expr, sizeof(expr), "find('run_end').outcome == '%s'", c->outcome);
	JCHECK(L, expr);
	if (c->reason) {
		snprintf(expr, sizeof(expr), "find('run_end').reason:find('%s', 1, true) ~= nil", c->reason);
		JCHECK(L, expr);
		JCHECK(L, "#all('step') == 0");
		ck_assert_int_eq(fake_host.calls, 0);
	}
	lua_close(L);
	free(json);
	outcome_free(&out);
}
END_TEST

START_TEST(test_region_comes_from_the_finding_unless_overridden)
{
	outcome a = {0}, b = {0};
	runner_options o;
	char *json = read_finding("ec2-bitcointool.bare.json");
	run_doc(&a, 1, json);
	lua_State *L = journal_lua(&a);
	JCHECK(L, "find('step', 'report').saved.ctx.region == 'eu-west-1'");
	JCHECK(L, "find('run_start').region == 'eu-west-1'");
	lua_close(L);
	base_options(&o, &b, NULL, NULL);
	o.dry_run = 1;
	o.region = "ap-southeast-2";
	run_with(&o, &b, json);
	L = journal_lua(&b);
	JCHECK(L, "find('step', 'report').saved.ctx.region == 'ap-southeast-2'");
	JCHECK(L, "find('run_start').finding.region == 'eu-west-1'");
	lua_close(L);
	free(json);
	outcome_free(&a);
	outcome_free(&b);
}
END_TEST

START_TEST(test_documents_with_several_findings_run_in_order)
{
	outcome out = {0};
	char *json = read_finding("mixed-array.json");
	run_doc(&out, 1, json);
	ck_assert_str_eq(runner_outcome_name(out.worst), "planned");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "#all('run_start') == 3 and #all('run_end') == 3");
	JCHECK(L, "find('run_end', nil, 1).outcome == 'planned'");
	JCHECK(L, "find('run_end', nil, 2).outcome == 'skipped'");
	JCHECK(L, "find('run_end', nil, 3).reason == 'unsupported resource type RDSDBInstance'");
	JCHECK(L, "find('run_start', nil, 1).run ~= find('run_start', nil, 2).run");
	lua_close(L);
	/* the result for Lambda lists them in order */
	ck_assert_ptr_nonnull(strstr(out.result.data, "\"findings\":["));
	char *p1 = strstr(out.result.data, "d6f0e5c4b3a24f8e0d9c8b7a6f5e4d3c");
	char *p2 = strstr(out.result.data, "3e9a8f7e6d5c4a4b3c2d1e0f9a8b7c6d");
	ck_assert_msg(p1 && p2 && p1 < p2, "%s", out.result.data);
	free(json);
	outcome_free(&out);
}
END_TEST

START_TEST(test_worst_outcome_over_a_document)
{
	outcome out = {0};
	char a[1024], b[1024], both[2200];
	snprintf(both, sizeof(both), "[%s,%s]", doc(a, sizeof(a), "Impact:EC2/Test.Critical", "Instance", NULL),
		 doc(b, sizeof(b), "Impact:EC2/Test.Partial", "Instance", NULL));
	run_doc(&out, 0, both);
	ck_assert_str_eq(runner_outcome_name(out.worst), "failed");
	outcome_free(&out);
}
END_TEST

START_TEST(test_malformed_document_is_invalid_and_journaled)
{
	outcome out = {0};
	run_doc(&out, 1, "[{\"id\":\"x\"}]");
	ck_assert_int_eq(out.rc, -1);
	ck_assert_str_eq(runner_outcome_name(out.worst), "invalid");
	ck_assert_int_eq(runner_exit_code(out.worst), 2);
	ck_assert_str_eq(out.err, "finding[0]: type is missing");
	lua_State *L = journal_lua(&out);
	JCHECK(L, "find('input_error').error == 'finding[0]: type is missing'");
	JCHECK(L, "#all('run_start') == 0");
	lua_close(L);
	ck_assert_int_eq(fake_host.calls, 0);
	outcome_free(&out);
}
END_TEST

/* Each file is loaded alone: the broken ones are named (test_run_hostile.c
 * runs findings past them), the runner stops only when none loads. */
START_TEST(test_broken_playbooks_stop_the_runner)
{
	runner_options o;
	char err[512];
	memset(&o, 0, sizeof(o));
	o.playbook_dir = PLAYBOOKS "/bad";
	runner *r = runner_new(&o, err, sizeof(err)); /* dup_name.lua loads */
	ck_assert_msg(r != NULL, "%s", err);
	runner_free(r);
	o.playbook_dir = PLAYBOOKS "/lib"; /* modules only */
	ck_assert_ptr_null(runner_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no playbook in the directory") != NULL, "%s", err);
	o.playbook_dir = "tests/no-such-dir";
	ck_assert_ptr_null(runner_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "cannot list") != NULL, "%s", err);
	o.playbook_dir = PLAYBOOKS;
	o.region = "us-east-1.evil.example";
	ck_assert_ptr_null(runner_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a region") != NULL, "%s", err);
}
END_TEST

static const char *const check_problems[] = {
	"bad/not_table.lua: does not return a table (it returns number)",
	"bad/no_name.lua:2: has no name",
	"bad/no_steps.lua:2: has no steps",
	"bad/syntax_error.lua: does not load:",
	"bad/bad_steps.lua:7: step name 'twice' is used twice",
	"bad/bad_steps.lua:8: steps[3] has no name: add name = ",
	"bad/bad_steps.lua:9: steps[4] (no_run) has no run function",
	"bad/bad_steps.lua:10: steps[5]: unknown field 'critcal': did you mean critical?",
	"bad/bad_steps.lua:11: steps[6]: name must be a string",
	"bad/bad_steps.lua:12: steps[7]: when must be a function",
	"bad/bad_handles.lua:5: handles[1]: unknown field 'resourceType': did you mean resource_type?",
	"bad/bad_handles.lua:6: handles[2]: finding_type is not a Lua pattern",
	"bad/bad_handles.lua:7: handles[3] is not a table",
	"bad/forbidden.lua:5: playbook name 'forbidden' is also used by dup_name.lua",
	"bad/forbidden.lua:11: ec2.terminate_instances is not on the allow-list",
	"bad/forbidden.lua:13: iam.delete_user is not on the allow-list",
};

START_TEST(test_check_reports_each_structural_problem)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = runner_check(PLAYBOOKS "/bad", f, err, sizeof(err));
	fclose(f);
	for (size_t i = 0; i < sizeof(check_problems) / sizeof(check_problems[0]); i++)
		ck_assert_msg(strstr(text, check_problems[i]) != NULL, "missing \"%s\" in:\n%s",
			      check_problems[i], text);
	ck_assert_int_eq(n, (int)sizeof(check_problems) / (int)sizeof(check_problems[0]) + 1);
	/* comments and strings are not calls */
	ck_assert_ptr_null(strstr(text, "forbidden.lua:2:"));
	ck_assert_ptr_null(strstr(text, "forbidden.lua:3:"));
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	ck_assert_int_eq(runner_check(PLAYBOOKS, f, err, sizeof(err)), 0);
	fclose(f);
	ck_assert_msg(strstr(text, "6 playbooks, 1 module: no problems") != NULL, "%s", text);
	free(text);
	ck_assert_int_eq(runner_check("tests/no-such-dir", stderr, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_scan_finds_calls_in_every_call_syntax)
{
	static const char src[] =
		"ec2.terminate_instances{}\n"
		"ec2.delete_volume(x)\n"
		"s3 . delete_bucket \"b\"\n"
		"iam.create_user [[u]]\n"
		"local t = {}; t.ec2.stop_instances{}\n"
		"--[==[ ec2.stop_instances{} ]==] x = [[ iam.delete_role{} ]]\n"
		"ec2.describe_instances{}\n";
	ck_assert_int_eq(lint_scan_source("x.lua", src, strlen(src), NULL, NULL), 4);
}
END_TEST

START_TEST(test_many_findings_do_not_grow_memory)
{
	outcome out = {0};
	runner_options o;
	char err[512];
	char *json = read_finding("ec2-ssh-bruteforce.event.json");
	base_options(&o, &out, NULL, NULL);
	o.dry_run = 1;
	runner *r = runner_new(&o, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	size_t after_warmup = 0;
	for (int i = 0; i < 400; i++) {
		runner_outcome worst;
		ck_assert_int_eq(runner_run_document(r, json, strlen(json), &worst, NULL, err, sizeof(err)), 0);
		ck_assert_int_eq(worst, OUTCOME_PLANNED);
		if (i == 50)
			after_warmup = mallinfo2().uordblks;
	}
	size_t end = mallinfo2().uordblks;
	ck_assert_msg(end < after_warmup + (256u << 10), "heap grew from %zu to %zu bytes", after_warmup, end);
	runner_free(r);
	free(json);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("runner");
	TCase *tc = tcase_create("runner");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dry_run_sends_reads_and_plans_writes_in_order);
	tcase_add_test(tc, test_dry_run_plans_sleeps_and_waits_without_waiting);
	tcase_add_test(tc, test_dry_run_reads_a_planned_group_as_new_with_the_planned_rules);
	tcase_add_test(tc, test_live_run_sleeps_and_polls_as_before);
	tcase_add_test(tc, test_playbook_hash_is_the_file_sha256);
	tcase_add_test(tc, test_live_run_sends_every_call_in_order_and_contains);
	tcase_add_test(tc, test_failed_steps_make_partial_and_the_rest_still_runs);
	tcase_add_test(tc, test_critical_failure_fails_the_run_and_stops_it);
	tcase_add_test(tc, test_ctx_skip_ends_the_run_even_when_caught);
	tcase_add_test(tc, test_budget_ends_the_run_and_the_runner_goes_on);
	tcase_add_loop_test(tc, test_guards_skip_and_journal_why, 0,
			    sizeof(guard_cases) / sizeof(guard_cases[0]));
	tcase_add_test(tc, test_region_comes_from_the_finding_unless_overridden);
	tcase_add_test(tc, test_documents_with_several_findings_run_in_order);
	tcase_add_test(tc, test_worst_outcome_over_a_document);
	tcase_add_test(tc, test_malformed_document_is_invalid_and_journaled);
	tcase_add_test(tc, test_broken_playbooks_stop_the_runner);
	tcase_add_test(tc, test_check_reports_each_structural_problem);
	tcase_add_test(tc, test_scan_finds_calls_in_every_call_syntax);
	tcase_add_test(tc, test_many_findings_do_not_grow_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
