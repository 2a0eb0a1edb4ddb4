/* test_run_hostile — the run layer against hostile playbooks: each test
 * writes a playbook directory of its own (a temporary one), runs findings
 * through a runner with a fake AWS host, and checks the end: the outcome,
 * the time, that every journal line is JSON, what the summary shows.
 *
 *   one playbook's failure is its own (each file loaded alone)
 *   ctx.save writes exactly or fails the step
 *   output is bounded per finding (journal, summary, plan)
 *   the summary cannot be forged (newlines, escapes in names and texts)
 *   routing patterns are metered
 *
 * Run from the repository root. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finding.h"
#include "runner.h"
#include "testutil.h"
#include "testutil_runner.h"

/* ---- a fake AWS: every call answers {} ---- */

static int fake_calls;

static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake_calls++;
	if (lua_istable(L, params))
		lua_pop(L, 1);
	lua_newtable(L);
	return 0;
}

/* ---- a playbook directory ---- */

static char dir[256];

static void dir_new(void)
{
	tu_home_create(dir, sizeof(dir), "/tmp/deadbolt-hostile-XXXXXX");
}

static void put(const char *file, const char *text)
{
	tu_put_text(dir, file, text, 0644);
}

/* A playbook that answers AccessKey findings with one call and one save. */
static const char IAM_OK[] =
	"local t = {}\n"
	"for k, v in pairs({ a = 1 }) do t[k] = v end\n"
	"return { name = 'iam', handles = { { resource_type = 'AccessKey' } },\n"
	"  steps = { { name = 'list', run = function(ctx)\n"
	"    iam.list_access_keys{ UserName = 'u' }\n"
	"    ctx.save('keys', { 'AKIAEXAMPLE' })\n"
	"  end } } }\n";

/* ---- running (testutil_runner.h) ---- */

typedef tu_doc_run result;

/* A finding of type on the instance, with an IAM user's access key. */
static char *finding(char *out, size_t n, const char *type, const char *resource_type)
{
	return tu_finding(out, n, type, resource_type,
			  ",\"accessKeyDetails\":{\"userName\":\"u\",\"accessKeyId\":\"AKIAEXAMPLE\","
			  "\"userType\":\"IAMUser\"}", NULL);
}

static void options(runner_options *o)
{
	memset(o, 0, sizeof(*o));
	o->playbook_dir = dir;
	o->call_override = fake_call;
	o->limits.instructions = 20000000;
	o->limits.wall_seconds = 30;
}

/* Runs one finding document through a runner built from o: a hostile
 * playbook may fail its run, never the document. */
static void run(runner_options *o, const char *doc, result *res)
{
	tu_run_document(o, doc, res);
	ck_assert_msg(res->rc == 0, "runner_run_document: %s", res->err);
}

/* A Lua state with J = the journal's lines, each decoded (a line that is
 * not JSON fails the test). */
static lua_State *journal(const result *res)
{
	return tu_journal_lua(res, NULL);
}

/* The journal's events, each with its step or reason and status. */
#define JCHECK(L, expr) \
	tu_jcheck(L, expr, __LINE__, \
		  "(function() local t = {} for _, e in ipairs(J) do t[#t+1] = e.event .. " \
		  "'(' .. tostring(e.step or e.reason or '') .. ':' .. " \
		  "tostring(e.status or e.outcome or '') .. ' ' .. " \
		  "tostring(e.error or '') .. ')' end return table.concat(t, ' ') end)()")

/* ==== one playbook's failure is its own ==== */

static const char *const broken_ec2[] = {
	"return { name = 'ec2', handles = { { resource_type = 'Instance' } ", /* syntax */
	"while true do end",                                                 /* budget at load */
	"local t = {} while true do t[#t + 1] = string.rep('x', 1024) .. #t end", /* memory */
	"error('ec2.lua refuses to load')",
	"return 42",
	"pairs = nil; require = nil; string = nil; _G.iam = nil\n"
	"return { name = 'ec2', handles = { { resource_type = 'Instance' } }, steps = 'none' }",
	/* steps are checked pairwise, handles tried on every finding: both capped */
	"local s = {} for i = 1, 100000 do s[i] = { name = 's' .. i, run = print } end\n"
	"return { name = 'ec2', handles = { { resource_type = 'Instance' } }, steps = s }",
	"local h = {} for i = 1, 10000 do h[i] = { finding_type = string.rep('a*', 20) .. 'b' } end\n"
	"return { name = 'ec2', handles = h, steps = { { name = 'x', run = print } } }",
};

START_TEST(broken_file_is_named_and_the_others_run)
{
	runner_options o;
	result res = {0};
	char doc[1024];
	dir_new();
	/* sorted by name, so the broken file loads before the good one */
	put("ec2.lua", broken_ec2[_i]);
	put("iam.lua", IAM_OK);
	options(&o);
	fake_calls = 0;
	run(&o, finding(doc, sizeof(doc), "Recon:IAMUser/MaliciousIPCaller", "AccessKey"), &res);
	ck_assert_msg(res.worst == OUTCOME_CONTAINED, "IAM finding: %s\n%s", runner_outcome_name(res.worst),
		      res.summary);
	ck_assert_int_eq(fake_calls, 1);
	lua_State *L = journal(&res);
	JCHECK(L, "find('step', 'list').status == 'ok'");
	JCHECK(L, "find('run_start').playbook_problems[1]:find('^ec2%.lua: ') ~= nil");
	lua_close(L);
	ck_assert_ptr_nonnull(strstr(res.summary, "warning: playbook file not used: ec2.lua"));
	ck_assert_msg(res.seconds < 10, "took %.1fs", res.seconds);
	tu_run_free(&res);

	/* an EC2 finding fails, naming the file, and nothing is called */
	fake_calls = 0;
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce", "Instance"), &res);
	ck_assert_str_eq(runner_outcome_name(res.worst), "failed");
	ck_assert_int_eq(fake_calls, 0);
	L = journal(&res);
	JCHECK(L, "find('run_end').reason:find('did not load %(ec2%.lua') ~= nil");
	lua_close(L);
	tu_run_free(&res);

	/* check names ec2.lua and only ec2.lua */
	char *out = NULL, err[256];
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int problems = runner_check(dir, f, err, sizeof(err));
	fclose(f);
	ck_assert_msg(problems >= 1, "check found nothing:\n%s", out);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		ck_assert_msg(strstr(line, "/ec2.lua") != NULL, "check blames another file: %s", line);
	free(out);
	tu_home_remove(dir);
}
END_TEST

/* ==== ctx.save is exact ==== */

static const char SAVER[] =
	"local function s(name, fn) return { name = name, run = fn } end\n"
	"local shared = { 1 }\n"
	"local cyc = {} cyc.me = cyc\n"
	"return { name = 'saver', handles = { { resource_type = 'Instance' } }, steps = {\n"
	"  s('keys', function(ctx) ctx.save('v', { [1] = 'one', [2.5] = 'half', [true] = 'yes',\n"
	"      [-3] = 'neg', name = 'n', f = 0.1, big = 2^60, tiny = 5e-324 }) end),\n"
	"  s('array', function(ctx) ctx.save('v', { 'a', 'b', { 'c' } }) end),\n"
	"  s('view', function(ctx) ctx.save('v', ctx.finding.resource) end),\n"
	"  s('shared', function(ctx) ctx.save('v', { a = shared, b = shared }) end),\n"
	"  s('cycle', function(ctx) ctx.save('v', cyc) end),\n"
	"  s('fn', function(ctx) ctx.save('v', { f = print }) end),\n"
	"  s('tkey', function(ctx) ctx.save('v', { [{}] = 1 }) end),\n"
	"  s('collide', function(ctx) ctx.save('v', { [1] = 'a', ['1'] = 'b', x = 1 }) end),\n"
	"  s('inf', function(ctx) ctx.save('v', { x = math.huge }) end),\n"
	"  s('bytes', function(ctx) ctx.save('v', '\\255\\254') end),\n"
	"  s('oversize', function(ctx) ctx.save('v', string.rep('x', 2 * 1024 * 1024)) end),\n"
	"  s('replace', function(ctx) for i = 1, 5 do ctx.save('v', string.rep('y', 600 * 1024)) end end),\n"
	"  s('bomb', function(ctx) local t = {} for i = 1, 25 do t = { t, t } end ctx.save('v', t) end),\n"
	"} }\n";

START_TEST(ctx_save_is_exact_or_fails_the_step)
{
	runner_options o;
	result res = {0};
	char doc[1024];
	dir_new();
	put("saver.lua", SAVER);
	options(&o);
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce", "Instance"), &res);
	ck_assert_msg(res.seconds < 10, "took %.1fs", res.seconds);
	lua_State *L = journal(&res);
	JCHECK(L, "count('step') == 13"); /* no step line dropped */
	JCHECK(L, "find('step', 'keys').status == 'ok'");
	JCHECK(L, "find('step', 'keys').saved.v['1'] == 'one'");
	JCHECK(L, "find('step', 'keys').saved.v['2.5'] == 'half'");
	JCHECK(L, "find('step', 'keys').saved.v['true'] == 'yes'");
	JCHECK(L, "find('step', 'keys').saved.v['-3'] == 'neg'");
	JCHECK(L, "find('step', 'keys').saved.v.f == 0.1");
	JCHECK(L, "find('step', 'keys').saved.v.big == 2^60");
	JCHECK(L, "find('step', 'keys').saved.v.tiny == 5e-324");
	JCHECK(L, "find('step', 'array').saved.v[3][1] == 'c'");
	JCHECK(L, "find('step', 'view').saved.v.resourceType == 'Instance'");
	JCHECK(L, "find('step', 'shared').error:find('appears twice') ~= nil");
	JCHECK(L, "find('step', 'cycle').error:find('appears twice') ~= nil");
	JCHECK(L, "find('step', 'fn').error:find('at %.f: a function value') ~= nil");
	JCHECK(L, "find('step', 'tkey').error:find('a key of type table') ~= nil");
	JCHECK(L, "find('step', 'collide').error:find('both written \"1\"') ~= nil");
	JCHECK(L, "find('step', 'inf').error:find('cannot hold') ~= nil");
	JCHECK(L, "find('step', 'bytes').error:find('not UTF%-8') ~= nil");
	JCHECK(L, "find('step', 'oversize').error:find('too much undo data') ~= nil");
	JCHECK(L, "find('step', 'replace').status == 'ok'");
	JCHECK(L, "#find('step', 'replace').saved.v == 600 * 1024");
	JCHECK(L, "find('step', 'bomb').error:find('appears twice') ~= nil");
	JCHECK(L, "count('journal_error') == 0");
	lua_close(L);
	tu_run_free(&res);
	tu_home_remove(dir);
}
END_TEST

/* A loop of ctx.save calls of a large value ends by the instruction
 * budget, not the wall clock. */
START_TEST(ctx_save_loop_is_charged)
{
	runner_options o;
	result res = {0};
	char doc[1024];
	dir_new();
	put("saver.lua",
	    "local v = {} for i = 1, 2000 do v[i] = { k = string.rep('x', 200) } end\n"
	    "return { name = 'saver', handles = { { resource_type = 'Instance' } }, steps = {\n"
	    "  { name = 'loop', run = function(ctx) while true do ctx.save('v', v) end end } } }\n");
	options(&o);
	o.limits.instructions = TU_SANITIZED ? 20000000 : 200000000;
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce", "Instance"), &res);
	ck_assert_msg(res.seconds < 15, "took %.1fs", res.seconds);
	lua_State *L = journal(&res);
	JCHECK(L, "find('run_end').reason:find('budget exceeded: instructions') ~= nil");
	lua_close(L);
	tu_run_free(&res);
	tu_home_remove(dir);
}
END_TEST

/* ==== bounded output ==== */

static const char FLOOD[] =
	"return { name = 'flood', handles = { { resource_type = 'Instance' } }, steps = {\n"
	"  { name = 'logs', run = function(ctx)\n"
	"      for i = 1, 3000 do log('info', string.rep('L', 1000)) end end },\n"
	"  { name = 'writes', run = function(ctx)\n"
	"      for i = 1, 400 do ec2.create_tags{ Resources = { 'i-1' },\n"
	"        Tags = { { Key = 'k', Value = string.rep('v', 200) } } } end end },\n"
	"} }\n";

START_TEST(output_is_cut_at_the_limit_with_one_line)
{
	runner_options o;
	result res = {0};
	char doc[1024];
	const size_t limit = 64 << 10;
	dir_new();
	put("flood.lua", FLOOD);
	options(&o);
	o.dry_run = 1;
	o.output_limit = limit;
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce", "Instance"), &res);
	/* the limit, plus run_start/run_end and the one line about the cut */
	ck_assert_msg(res.journal_len < limit + 8192, "journal of %zu bytes", res.journal_len);
	ck_assert_msg(res.summary_len < 2 * limit + 8192, "summary of %zu bytes", res.summary_len);
	lua_State *L = journal(&res);
	JCHECK(L, "count('output_cut') == 1");
	JCHECK(L, "find('run_end').outcome == 'planned'");
	JCHECK(L, "find('run_end').journal_lines_dropped > 0");
	JCHECK(L, "find('run_end').counts.writes_planned == 400");
	lua_close(L);
	ck_assert_ptr_nonnull(strstr(res.summary, "output cut: this finding's summary passed"));
	ck_assert_ptr_nonnull(strstr(res.summary, "outcome: planned"));
	tu_run_free(&res);

	/* the plan alone passes the limit: the summary says how much is left out */
	put("flood.lua",
	    "return { name = 'flood', handles = { { resource_type = 'Instance' } }, steps = {\n"
	    "  { name = 'writes', run = function(ctx)\n"
	    "      for i = 1, 400 do ec2.create_tags{ Resources = { 'i-1' },\n"
	    "        Tags = { { Key = 'k', Value = string.rep('v', 1000) } } } end end } } }\n");
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce", "Instance"), &res);
	ck_assert_msg(res.summary_len < 2 * limit + 8192, "summary of %zu bytes", res.summary_len);
	ck_assert_ptr_nonnull(strstr(res.summary, "more planned writes, not shown"));
	ck_assert_ptr_nonnull(strstr(res.summary, "400 writes planned, none sent"));
	tu_run_free(&res);
	tu_home_remove(dir);
}
END_TEST

/* ==== the summary cannot be forged ==== */

static const char FORGER[] =
	"return { name = 'forger', handles = { { resource_type = 'Instance' } },\n"
	"  steps = {\n"
	"    { name = 'a', run = function(ctx)\n"
	"        log('info', 'x\\n  ok       forged_log\\r\\27[2K\\194\\155') end },\n"
	"    { name = 'b', run = function(ctx) error('boom\\n  ok       forged_error', 0) end },\n"
	"    { name = 'c', run = function(ctx) ctx.skip('why\\n  outcome: contained') end },\n"
	"  } }\n";

START_TEST(summary_escapes_what_a_playbook_writes)
{
	runner_options o;
	result res = {0};
	char doc[1024];
	dir_new();
	put("forger.lua", FORGER);
	options(&o);
	run(&o, finding(doc, sizeof(doc), "UnauthorizedAccess:EC2/SSHBruteForce",
			"Instance"), &res);
	ck_assert_ptr_null(strstr(res.summary, "\n  ok       forged"));
	ck_assert_ptr_null(strstr(res.summary, "\n  outcome: contained"));
	ck_assert_ptr_null(strchr(res.summary, '\033'));
	ck_assert_ptr_null(strchr(res.summary, '\r'));
	ck_assert_ptr_null(strstr(res.summary, "\xc2\x9b"));
	ck_assert_ptr_nonnull(strstr(res.summary, "x\\n  ok       forged_log\\r\\u001b[2K\\u009b"));
	/* an error's first line is shown; what follows is its traceback */
	ck_assert_ptr_nonnull(strstr(res.summary, "boom\n"));
	lua_State *L = journal(&res);
	JCHECK(L, "find('run_end').outcome == 'skipped'");
	lua_close(L);
	tu_run_free(&res);
	tu_home_remove(dir);
}
END_TEST

/* ==== routing patterns are metered ==== */

START_TEST(costly_routing_pattern_ends_quickly)
{
	runner_options o;
	result res = {0};
	char doc[1024], type[128];
	dir_new();
	/* cheap on check's probe ("G..." fails at once), costly on a long run of a */
	put("costly.lua",
	    "return { name = 'costly', handles = { { finding_type = '^' .. string.rep('a*', 20) .. 'b' } },\n"
	    "  steps = { { name = 'x', run = function(ctx) end } } }\n");
	put("iam.lua", IAM_OK);
	options(&o);
	memset(type, 'a', 60);
	type[60] = '\0';
	run(&o, finding(doc, sizeof(doc), type, "AccessKey"), &res);
	ck_assert_msg(res.seconds < 3, "routing took %.1fs", res.seconds);
	/* the costly entry matches nothing; the IAM playbook answers */
	ck_assert_str_eq(runner_outcome_name(res.worst), "contained");
	tu_run_free(&res);
	tu_home_remove(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("run_hostile");
	TCase *tc = tcase_create("run_hostile");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, broken_file_is_named_and_the_others_run, 0, NROWS(broken_ec2));
	tcase_add_test(tc, ctx_save_is_exact_or_fails_the_step);
	tcase_add_test(tc, ctx_save_loop_is_charged);
	tcase_add_test(tc, output_is_cut_at_the_limit_with_one_line);
	tcase_add_test(tc, summary_escapes_what_a_playbook_writes);
	tcase_add_test(tc, costly_routing_pattern_ends_quickly);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	tu_clear_aws_env();
	return tu_run(suite());
}
