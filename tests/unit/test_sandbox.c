/* test_sandbox — sandbox/ against the tricks a hostile playbook would try,
 * and against normal use.
 *
 * Each trick is a file in tests/hostile/ and a test named for what it
 * defeats; every one must end within its budget plus a small margin, with
 * the right status and message, and leave the host able to run the next
 * finding. Normal use: computing, primitives through a fake host, AWS
 * errors, budgets, read-only views, json, require, compiled chunks, hash
 * and base64, boto3 names, and the sandbox's pattern matcher against Lua's own, case by case.
 * DEADBOLT_HOSTILE_DIR overrides where the corpus is. */
#include <check.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "allowlist.h"
#include "sandbox.h"
#include "sandbox_int.h" /* sandbox_snake_name */
#include "testutil.h"

static char hostile_dir[4096];

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- a fake host ---- */

typedef struct fake {
	int calls;
	int fail; /* calls fail with an AWS error */
	char op[96];
	int params_plain; /* the last parameters had no metatable */
	size_t ids;       /* #InstanceIds of the last call */
	char first_id[64];
	char log[4096];   /* "level:msg\n" lines */
} fake;

static void fake_log(void *ud, const char *level, const char *msg)
{
	fake *f = ud;
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, "%s:%s\n", level, msg);
}

static void record_params(fake *f, lua_State *L, int params)
{
	f->params_plain = lua_istable(L, params) && !lua_getmetatable(L, params);
	f->ids = 0;
	f->first_id[0] = '\0';
	if (lua_getfield(L, params, "InstanceIds") == LUA_TTABLE) {
		f->ids = lua_rawlen(L, -1);
		f->params_plain = f->params_plain && !lua_getmetatable(L, -1);
		if (lua_rawgeti(L, -1, 1) == LUA_TSTRING)
			snprintf(f->first_id, sizeof(f->first_id), "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* Answers { Reservations = { { Instances = { { InstanceId = first id } } } } } */
static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake *f = ud;
	f->calls++;
	snprintf(f->op, sizeof(f->op), "%s.%s", e->service, e->operation);
	record_params(f, L, params);
	if (f->fail) {
		aws_error_set(err, "UnauthorizedOperation", "You are not authorized to perform %s",
			      e->operation);
		err->status = 403;
		snprintf(err->request_id, sizeof(err->request_id), "req-42");
		snprintf(err->op, sizeof(err->op), "%s", f->op);
		return -1;
	}
	lua_newtable(L);
	lua_newtable(L);
	lua_newtable(L);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushstring(L, f->first_id[0] ? f->first_id : "i-none");
	lua_setfield(L, -2, "InstanceId");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Instances");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "Reservations");
	return 0;
}

static sandbox *new_sandbox(const sandbox_limits *lim, fake *f, const char *dir)
{
	char err[512] = "";
	sandbox_host host = {fake_call, fake_log, f};
	sandbox *sb = sandbox_new(lim, &host, dir, err, sizeof(err));
	ck_assert_msg(sb != NULL, "sandbox_new: %s", err);
	return sb;
}

static sandbox_limits small_limits(void)
{
	sandbox_limits l;
	sandbox_default_limits(&l);
	l.memory_bytes = (size_t)16 << 20;
	l.instructions = 20000000;
	l.wall_seconds = 1.0;
	l.aws_calls = 5;
	return l;
}

static void result_text(lua_State *L, int idx, char *out, size_t len)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
	case LUA_TNUMBER: snprintf(out, len, "%s", lua_tostring(L, idx)); break;
	case LUA_TBOOLEAN: snprintf(out, len, "%s", lua_toboolean(L, idx) ? "true" : "false"); break;
	default: snprintf(out, len, "%s", luaL_typename(L, idx)); break;
	}
}

/* Runs src in sb; on success its first result, as text, is in out. */
static sandbox_status run(sandbox *sb, const char *src, char *out, size_t outlen, char *err,
			  size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	sandbox_status st;
	ck_assert_msg(luaL_loadbufferx(L, src, strlen(src), "=test", "t") == LUA_OK, "%s",
		      lua_tostring(L, -1));
	st = sandbox_pcall(sb, 0, 1, err, errlen);
	if (st == SANDBOX_OK) {
		result_text(L, -1, out, outlen);
		lua_pop(L, 1);
	}
	return st;
}

/* Runs src in a fresh default sandbox and checks its result. */
static void expect_result(const char *src, const char *want)
{
	fake f = {0};
	char out[2048] = "", err[2048] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	sandbox_status st = run(sb, src, out, sizeof(out), err, sizeof(err));
	sandbox_free(sb);
	ck_assert_msg(st == SANDBOX_OK, "error: %s", err);
	ck_assert_str_eq(out, want);
}

static void expect_error(const char *src, const char *text)
{
	fake f = {0};
	char out[2048] = "", err[2048] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	sandbox_status st = run(sb, src, out, sizeof(out), err, sizeof(err));
	sandbox_free(sb);
	ck_assert_msg(st == SANDBOX_ERROR, "status %d (%s) for %s", st, out, src);
	ck_assert_msg(strstr(err, text), "error '%s' does not say '%s'", err, text);
}

/* The next finding still runs: compute and call a primitive. */
static void fresh_sandbox_works(void)
{
	fake f = {0};
	char out[256] = "", err[1024] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	sandbox_status st = run(sb,
				"local t = {} for i = 1, 100 do t[i] = i end "
				"local r = ec2.describe_instances{ InstanceIds = { 'i-9' } } "
				"return #t * 2 .. ':' .. r.Reservations[1].Instances[1].InstanceId",
				out, sizeof(out), err, sizeof(err));
	sandbox_free(sb);
	ck_assert_msg(st == SANDBOX_OK, "fresh sandbox failed: %s", err);
	ck_assert_str_eq(out, "200:i-9");
}

/* Loads tests/hostile/<file> under lim and checks how it ended. For OK,
 * text is the exact result; otherwise a part of the error. */
static void expect_hostile(const char *file, const sandbox_limits *lim, sandbox_status want,
			   const char *text, double max_seconds)
{
	fake f = {0};
	char err[4096] = "", out[1024] = "", again[256] = "";
	double t0 = mono(), took;
	sandbox *sb = new_sandbox(lim, &f, hostile_dir);
	sandbox_status st = sandbox_load_playbook(sb, file, err, sizeof(err)), st2 = SANDBOX_BUDGET;

	if (st == SANDBOX_OK) {
		result_text(sandbox_lua(sb), -1, out, sizeof(out));
		lua_pop(sandbox_lua(sb), 1);
	}
	if (st == SANDBOX_BUDGET) { /* every later call fails at once */
		lua_pushcfunction(sandbox_lua(sb), luaopen_base);
		st2 = sandbox_pcall(sb, 0, 0, again, sizeof(again));
	}
	sandbox_free(sb);
	took = mono() - t0;
	ck_assert_msg(st == want, "%s: status %d, want %d (%s%s)", file, st, want, err, out);
	if (want == SANDBOX_OK)
		ck_assert_msg(strcmp(out, text) == 0, "%s returned '%s', want '%s'", file, out, text);
	else
		ck_assert_msg(strstr(err, text), "%s: error '%s' does not say '%s'", file, err, text);
	ck_assert_msg(st != SANDBOX_BUDGET || (st2 == SANDBOX_BUDGET && strcmp(again, err) == 0),
		      "%s: a call after the budget ran: %s", file, again);
	ck_assert_msg(took < max_seconds, "%s took %.2fs (limit %.1fs)", file, took, max_seconds);
	fresh_sandbox_works();
}

static void expect_hostile_small(const char *file, sandbox_status want, const char *text)
{
	sandbox_limits lim = small_limits();
	double max = 3.0;
	if (strstr(text, "instructions")) { /* not a race with the wall clock on a busy machine */
		lim.wall_seconds = 10;
		max = 10.0;
	}
	expect_hostile(file, &lim, want, text, max);
}

/* ---- reaching what is not there ---- */

START_TEST(escape_through_globals_finds_nothing)
{
	expect_hostile_small("escape_globals.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(bytecode_cannot_be_loaded)
{
	expect_hostile_small("bytecode_load.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(load_without_env_sees_no_globals)
{
	expect_hostile_small("load_without_env.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(protected_metatables_cannot_be_changed)
{
	expect_hostile_small("protected_metatables.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(rawset_cannot_write_readonly_tables)
{
	expect_hostile_small("rawset_readonly.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(os_exit_and_friends_are_missing)
{
	expect_hostile_small("os_exit.lua", SANDBOX_OK, "");
}
END_TEST

START_TEST(require_cannot_leave_playbook_dir)
{
	expect_hostile_small("require_traversal.lua", SANDBOX_ERROR, "invalid module name");
}
END_TEST

START_TEST(require_cannot_load_stdlib)
{
	expect_hostile_small("require_os.lua", SANDBOX_ERROR, "module 'os' not found");
}
END_TEST

START_TEST(collectgarbage_cannot_stop_collector)
{
	expect_hostile_small("collectgarbage_stop.lua", SANDBOX_ERROR, "only \"count\" is allowed");
}
END_TEST

START_TEST(collectgarbage_cannot_drive_collections)
{
	expect_hostile_small("collectgarbage_collect.lua", SANDBOX_ERROR, "only \"count\" is allowed");
}
END_TEST

/* ---- running script code where no budget reaches ---- */

START_TEST(error_object_tostring_never_runs_in_host)
{
	expect_hostile_small("error_object_tostring.lua", SANDBOX_ERROR,
			     "(error object is a table value)");
}
END_TEST

START_TEST(gc_finalizer_is_refused)
{
	expect_hostile_small("gc_finalizer.lua", SANDBOX_ERROR, "__gc metamethods are not allowed");
}
END_TEST

START_TEST(gc_finalizer_added_late_never_runs)
{
	expect_hostile_small("gc_finalizer_late.lua", SANDBOX_OK, "ok");
}
END_TEST

/* ---- budgets that cannot be swallowed ---- */

START_TEST(infinite_loop_ends_by_instruction_budget)
{
	expect_hostile_small("infinite_loop.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(loop_in_pcall_is_not_swallowed)
{
	expect_hostile_small("loop_in_pcall.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(loop_in_xpcall_handler_is_not_swallowed)
{
	expect_hostile_small("loop_in_xpcall_handler.lua", SANDBOX_BUDGET,
			     "budget exceeded: instructions");
}
END_TEST

START_TEST(close_handler_cannot_outlive_budget)
{
	expect_hostile_small("close_handler_loop.lua", SANDBOX_BUDGET,
			     "budget exceeded: instructions");
}
END_TEST

START_TEST(coroutine_loop_is_not_swallowed_by_resume)
{
	expect_hostile_small("coroutine_loop.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(coroutine_wrap_loop_is_not_swallowed)
{
	expect_hostile_small("coroutine_wrap_loop.lua", SANDBOX_BUDGET,
			     "budget exceeded: instructions");
}
END_TEST

START_TEST(coroutine_out_of_memory_is_not_swallowed)
{
	expect_hostile_small("coroutine_memory.lua", SANDBOX_BUDGET, "budget exceeded: memory");
}
END_TEST

START_TEST(deep_recursion_ends_with_stack_overflow)
{
	sandbox_limits lim = small_limits();
	lim.memory_bytes = (size_t)64 << 20;
	lim.instructions = 200000000; /* the stack it grows is charged by the byte */
	lim.wall_seconds = 10;
	expect_hostile("deep_recursion.lua", &lim, SANDBOX_ERROR, "stack overflow", 10.0);
}
END_TEST

START_TEST(deep_recursion_ends_by_memory_cap)
{
	expect_hostile_small("deep_recursion.lua", SANDBOX_BUDGET, "budget exceeded: memory");
}
END_TEST

START_TEST(c_stack_recursion_ends)
{
	expect_hostile_small("c_stack_recursion.lua", SANDBOX_ERROR, "C stack overflow");
}
END_TEST

START_TEST(string_rep_bomb_hits_memory_cap)
{
	expect_hostile_small("string_rep_bomb.lua", SANDBOX_BUDGET, "budget exceeded: memory");
}
END_TEST

START_TEST(empty_string_rep_returns_at_once)
{
	expect_hostile_small("empty_rep_bomb.lua", SANDBOX_OK, "0");
}
END_TEST

START_TEST(table_bomb_hits_memory_cap)
{
	expect_hostile_small("table_bomb.lua", SANDBOX_BUDGET, "budget exceeded: memory");
}
END_TEST

START_TEST(concat_with_c_index_is_charged)
{
	expect_hostile_small("concat_bomb.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(c_len_bomb_is_charged)
{
	expect_hostile_small("len_bomb.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(table_move_bomb_is_charged)
{
	expect_hostile_small("move_bomb.lua", SANDBOX_BUDGET, "budget exceeded: instructions");
}
END_TEST

START_TEST(pattern_backtracking_ends_by_instruction_budget)
{
	sandbox_limits lim = small_limits();
	lim.wall_seconds = 10; /* not a race with the wall clock on a slow build */
	expect_hostile("pattern_backtracking.lua", &lim, SANDBOX_BUDGET,
		       "budget exceeded: instructions", 10.0);
}
END_TEST

START_TEST(pattern_backtracking_ends_by_wall_clock)
{
	sandbox_limits lim = small_limits();
	lim.instructions = (uint64_t)1 << 50;
	expect_hostile("pattern_backtracking.lua", &lim, SANDBOX_BUDGET,
		       "budget exceeded: wall clock", 3.0);
}
END_TEST

START_TEST(plain_find_bomb_is_charged)
{
	sandbox_limits lim = small_limits();
	lim.memory_bytes = (size_t)64 << 20;
	expect_hostile("plain_find_bomb.lua", &lim, SANDBOX_BUDGET, "budget exceeded: instructions",
		       3.0);
}
END_TEST

START_TEST(sleep_ends_at_the_deadline)
{
	sandbox_limits lim = small_limits();
	double t0 = mono();
	expect_hostile("sleep_past_deadline.lua", &lim, SANDBOX_BUDGET, "budget exceeded: wall clock",
		       3.0);
	ck_assert_msg(mono() - t0 >= 0.9, "sleep ended before the deadline");
}
END_TEST

START_TEST(json_of_shared_tables_is_bounded)
{
	expect_hostile_small("json_bomb.lua", SANDBOX_ERROR, "json.encode: value too large");
}
END_TEST

START_TEST(aws_call_loop_ends_by_call_budget)
{
	expect_hostile_small("aws_call_loop.lua", SANDBOX_BUDGET, "budget exceeded: aws calls");
}
END_TEST

/* ---- C work a script can cause without instructions: charged by the
 * bytes (allocator, load, log, sort) or by the CPU floor. Default budgets,
 * a wall clock far away: each must end by the instruction budget within
 * about two seconds of CPU, not at the wall clock. ---- */

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time, not wall time, is what the floor bounds: the wall limit only
 * says it did not end at the wall clock (a busy machine may be slower). */
static void expect_work_charged(const char *file)
{
	sandbox_limits lim;
	double c0 = cpu_seconds();
	sandbox_default_limits(&lim);
	lim.wall_seconds = 60;
	if (TU_SANITIZED) /* ten times slower, and the floor ten times wider */
		lim.instructions /= 10;
	expect_hostile(file, &lim, SANDBOX_BUDGET, "budget exceeded: instructions", 30.0);
	ck_assert_msg(cpu_seconds() - c0 < 4.5, "%s used %.2fs of CPU", file, cpu_seconds() - c0);
}

START_TEST(long_string_comparisons_are_charged)
{
	expect_work_charged("compare_long_strings_loop.lua");
}
END_TEST

START_TEST(allocating_calls_are_charged_by_the_byte)
{
	expect_work_charged("rep_alloc_loop.lua");
}
END_TEST

START_TEST(load_is_charged_by_the_byte)
{
	expect_work_charged("load_large_text_loop.lua");
}
END_TEST

START_TEST(format_and_concat_are_charged_by_the_byte)
{
	expect_work_charged("format_copy_loop.lua");
}
END_TEST

START_TEST(scans_that_allocate_nothing_are_charged)
{
	expect_work_charged("utf8_scan_loop.lua");
}
END_TEST

START_TEST(sort_of_long_strings_is_charged)
{
	expect_work_charged("sort_long_strings.lua");
}
END_TEST

START_TEST(log_flood_is_charged)
{
	expect_work_charged("log_flood.lua");
}
END_TEST

START_TEST(json_encode_of_shared_tables_is_charged)
{
	expect_work_charged("json_encode_shared_loop.lua");
}
END_TEST

/* Lua 5.4.4 crashes here (SIGSEGV); the sandbox refuses the nesting (and
 * 5.4.6 and later stop it at their C-stack limit). */
START_TEST(nested_coroutine_close_does_not_crash)
{
	sandbox_limits lim = small_limits();
	lim.memory_bytes = (size_t)64 << 20;
	lim.wall_seconds = 10;
	expect_hostile("close_nesting.lua", &lim, SANDBOX_OK, "false: refused", 10.0);
}
END_TEST

/* Routing patterns come from playbooks: the host matches them with the
 * metered matcher, never with the stock string.find. */
START_TEST(host_pattern_find_is_metered)
{
	char err[256] = "";
	char subject[200];
	double t0 = mono();
	memset(subject, 'a', sizeof(subject) - 1);
	subject[sizeof(subject) - 1] = '\0';
	ck_assert_int_eq(sandbox_pattern_find("UnauthorizedAccess:EC2/SSHBruteForce",
					      "^UnauthorizedAccess:EC2/", 0, NULL, err, sizeof(err)), 1);
	ck_assert_int_eq(sandbox_pattern_find("Recon:IAMUser/MaliciousIPCaller", "^Unauth", 0, NULL, err,
					      sizeof(err)), 0);
	ck_assert_int_eq(sandbox_pattern_find("x", "[a", 0, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "missing ']'"), "%s", err);
	ck_assert_int_eq(sandbox_pattern_find(subject, "a*a*a*a*a*a*a*a*a*a*a*a*b", 0, NULL, err,
					      sizeof(err)), -1);
	ck_assert_msg(strstr(err, "pattern too costly"), "%s", err);
	ck_assert_msg(mono() - t0 < 2.0, "metered patterns took %.2fs", mono() - t0);
}
END_TEST

/* ---- normal use ---- */

START_TEST(playbook_computes_and_calls_a_primitive)
{
	fake f = {0};
	char out[256] = "", err[1024] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	sandbox_status st = run(sb,
		"local ids = {}\n"
		"for id in ('i-1 i-2'):gmatch('%S+') do ids[#ids + 1] = id end\n"
		"local r = ec2.describe_instances{ InstanceIds = ids }\n"
		"local inst = r.Reservations[1].Instances[1]\n"
		"local doc = json.decode(json.encode{ n = math.floor(7.9), s = inst.InstanceId })\n"
		"return string.format('%s %d %s', doc.s, doc.n, utf8.char(72, 105))",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "i-1 7 Hi");
	ck_assert_int_eq(f.calls, 1);
	ck_assert_int_eq(sandbox_calls_made(sb), 1);
	ck_assert_str_eq(f.op, "ec2.DescribeInstances");
	ck_assert_int_eq((int)f.ids, 2);
	ck_assert_int_eq(f.params_plain, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(primitive_gets_plain_copy_of_readonly_view)
{
	fake f = {0};
	char out[256] = "", err[1024] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	lua_State *L = sandbox_lua(sb);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushstring(L, "i-abc");
	lua_rawseti(L, -2, 1);
	lua_pushstring(L, "i-def");
	lua_rawseti(L, -2, 2);
	lua_setfield(L, -2, "ids");
	sandbox_make_readonly(sb, -1);
	lua_setglobal(L, "finding");
	ck_assert_int_eq(run(sb, "ec2.describe_instances{ InstanceIds = finding.ids } return 1", out,
			     sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_int_eq((int)f.ids, 2);
	ck_assert_str_eq(f.first_id, "i-abc");
	ck_assert_int_eq(f.params_plain, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(aws_error_is_raised_with_fields)
{
	/* with the file and line of the call that raised it */
	const char *want = "test:1: UnauthorizedOperation: You are not authorized to perform "
			   "UpdateAccessKey (iam.UpdateAccessKey)\nstack traceback:";
	fake f = {0};
	char out[1024] = "", err[2048] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	f.fail = 1;
	ck_assert_int_eq(run(sb,
		"local ok, e = pcall(ec2.create_snapshot, { VolumeId = 'vol-1' })\n"
		"return table.concat({ tostring(ok), e.code, e.message, e.status, e.request_id, e.op,\n"
		"  tostring(e), tostring(getmetatable(e)) }, '|')",
		out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "false|UnauthorizedOperation|You are not authorized to perform "
			      "CreateSnapshot|403|req-42|ec2.CreateSnapshot|UnauthorizedOperation: "
			      "You are not authorized to perform CreateSnapshot (ec2.CreateSnapshot)|false");
	/* uncaught, the host gets the same line, not "(error object is a table value)" */
	ck_assert_int_eq(run(sb, "iam.update_access_key{ UserName = 'u', Status = 'Inactive' }", out, sizeof(out), err,
			     sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	sandbox_free(sb);
}
END_TEST

START_TEST(call_budget_counts_calls)
{
	fake f = {0};
	char out[256] = "", err[1024] = "";
	sandbox_limits lim;
	sandbox *sb;
	sandbox_default_limits(&lim);
	lim.aws_calls = 2;
	sb = new_sandbox(&lim, &f, hostile_dir);
	ck_assert_int_eq(run(sb, "ec2.describe_instances{} s3.head_object{ Bucket = 'b', Key = 'k' } "
			     "ssm.send_command{}", out, sizeof(out), err, sizeof(err)), SANDBOX_BUDGET);
	ck_assert_str_eq(err, "budget exceeded: aws calls");
	ck_assert_str_eq(sandbox_budget_hit(sb), "aws calls");
	ck_assert_int_eq(sandbox_calls_made(sb), 2);
	ck_assert_int_eq(f.calls, 2);
	sandbox_free(sb);
}
END_TEST

START_TEST(unlisted_operations_do_not_exist)
{
	expect_result("return tostring(ec2.terminate_instances) .. tostring(ec2.delete_snapshot) .. "
		      "tostring(ec2.revoke_security_group_ingress) .. tostring(ec2.delete_tags) .. "
		      "tostring(iam.delete_access_key) .. tostring(s3.delete_bucket) .. "
		      "tostring(autoscaling.attach_instances) .. tostring(sts) .. "
		      "tostring(ec2.DescribeInstances)",
		      "nilnilnilnilnilnilnilnilnil");
}
END_TEST

START_TEST(service_tables_are_readonly)
{
	char want[16];
	size_t i, n = 0;
	for (i = 0; i < allowlist_count(); i++)
		n += strcmp(allowlist_at(i)->service, "ec2") == 0;
	snprintf(want, sizeof(want), "%zu", n);
	expect_error("ec2.terminate_instances = function() end", "read-only");
	expect_error("s3.put_object = nil", "read-only");
	expect_error("table.insert(iam, 1)", "read-only");
	expect_error("rawset(sns, 'publish', print)", "read-only");
	expect_result("local n = 0 for k, v in pairs(ec2) do n = n + 1 end return n", want);
}
END_TEST

START_TEST(primitive_misuse_raises)
{
	expect_error("ec2:describe_instances{}", "call it with '.', not ':'");
	expect_error("ec2.describe_instances('i-1')", "parameters must be a table");
	expect_error("ec2.describe_instances{ f = print }", "cannot take a function value");
}
END_TEST

static const struct {
	const char *op, *snake;
} names[] = {
	/* every allow-list entry, from botocore.xform_name (botocore 1.43) */
	{"DescribeInstances", "describe_instances"},
	{"DescribeInstanceAttribute", "describe_instance_attribute"},
	{"AuthorizeSecurityGroupIngress", "authorize_security_group_ingress"},
	{"RevokeSecurityGroupIngress", "revoke_security_group_ingress"},
	{"DescribeSnapshots", "describe_snapshots"},
	{"DescribeIamInstanceProfileAssociations", "describe_iam_instance_profile_associations"},
	{"DescribeNetworkInterfaces", "describe_network_interfaces"},
	{"DescribeSecurityGroups", "describe_security_groups"},
	{"DescribeVolumes", "describe_volumes"},
	{"GetConsoleScreenshot", "get_console_screenshot"},
	{"DescribeAutoScalingInstances", "describe_auto_scaling_instances"},
	{"DescribeLoadBalancers", "describe_load_balancers"},
	{"DescribeInstanceHealth", "describe_instance_health"},
	{"DescribeTargetGroups", "describe_target_groups"},
	{"DescribeTargetHealth", "describe_target_health"},
	{"DescribeInstanceInformation", "describe_instance_information"},
	{"GetCommandInvocation", "get_command_invocation"},
	{"GetPublicAccessBlock", "get_public_access_block"},
	{"GetBucketPolicyStatus", "get_bucket_policy_status"},
	{"HeadObject", "head_object"},
	{"GetUserPolicy", "get_user_policy"},
	{"GetRolePolicy", "get_role_policy"},
	{"ListAccessKeys", "list_access_keys"},
	{"ModifyInstanceAttribute", "modify_instance_attribute"},
	{"CreateTags", "create_tags"},
	{"CreateSnapshot", "create_snapshot"},
	{"AssociateIamInstanceProfile", "associate_iam_instance_profile"},
	{"DisassociateIamInstanceProfile", "disassociate_iam_instance_profile"},
	{"ModifyNetworkInterfaceAttribute", "modify_network_interface_attribute"},
	{"CreateSecurityGroup", "create_security_group"},
	{"AuthorizeSecurityGroupEgress", "authorize_security_group_egress"},
	{"RevokeSecurityGroupEgress", "revoke_security_group_egress"},
	{"DetachInstances", "detach_instances"},
	{"DeregisterInstancesFromLoadBalancer", "deregister_instances_from_load_balancer"},
	{"DeregisterTargets", "deregister_targets"},
	{"SendCommand", "send_command"},
	{"PutPublicAccessBlock", "put_public_access_block"},
	{"PutObject", "put_object"},
	{"PutUserPolicy", "put_user_policy"},
	{"PutRolePolicy", "put_role_policy"},
	{"UpdateAccessKey", "update_access_key"},
	{"GetUser", "get_user"},
	{"GetRole", "get_role"},
	{"Publish", "publish"},
	/* botocore's harder cases */
	{"DescribeDBInstances", "describe_db_instances"},
	{"ListARNs", "list_arns"},
	{"GetHLSStreamingSessionURL", "get_hls_streaming_session_url"},
	{"CreateDBSubnetGroup", "create_db_subnet_group"},
	{"ListAWSServiceAccessForOrganization", "list_aws_service_access_for_organization"},
	{"GetIPSet", "get_ip_set"},
	{"CreateCSV", "create_csv"},
	{"PutBucketACL", "put_bucket_acl"},
	{"ListIPv6Addresses", "list_i_pv6_addresses"},
	{"Ec2InstanceConnect", "ec2_instance_connect"},
	{"AssignIpv6Addresses", "assign_ipv6_addresses"},
	{"GetEC2Region", "get_ec2_region"},
	{"already_snake", "already_snake"},
};

static const char *expected_snake(const char *op)
{
	size_t i;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].op, op) == 0)
			return names[i].snake;
	return NULL;
}

/* Each allow-list entry is a method of its service under botocore's name. */
START_TEST(every_allowlist_entry_has_its_boto3_name)
{
	fake f = {0};
	char src[256], out[64], err[1024];
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	size_t i;
	for (i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		const char *snake = expected_snake(e->operation);
		ck_assert_msg(snake != NULL, "no expected name for %s", e->operation);
		snprintf(src, sizeof(src), "return type(%s.%s)", e->service, snake);
		ck_assert_int_eq(run(sb, src, out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
		ck_assert_msg(strcmp(out, "function") == 0, "%s.%s is %s", e->service, snake, out);
		ck_assert_ptr_eq(allowlist_find(e->service, snake), e);
		ck_assert_ptr_eq(allowlist_find(e->service, e->operation), e);
	}
	ck_assert_ptr_null(allowlist_find("ec2", "TerminateInstances"));
	ck_assert_ptr_null(allowlist_find("s3", "DescribeInstances"));
	ck_assert_ptr_null(allowlist_at(allowlist_count()));
	sandbox_free(sb);
}
END_TEST

/* The names above are what botocore.xform_name gives; the sandbox's
 * conversion must agree on all of them. */

START_TEST(snake_names_match_botocore)
{
	char out[128];
	size_t i;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_int_eq(sandbox_snake_name(names[i].op, out, sizeof(out)), 0);
		ck_assert_msg(strcmp(out, names[i].snake) == 0, "%s -> %s, want %s", names[i].op,
			      out, names[i].snake);
	}
	ck_assert_int_eq(sandbox_snake_name("CreateSnapshot", out, 5), -1);
}
END_TEST

START_TEST(allowlist_writes_say_how_to_undo)
{
	size_t i;
	for (i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		ck_assert_msg(e->why && e->why[0], "%s has no why", e->operation);
		if (e->access == ALLOW_READ)
			ck_assert_msg(e->undo == NULL, "read %s has an undo", e->operation);
		else if (!e->undo)
			ck_assert_msg(strncmp(e->why, "no undo", 7) == 0,
				      "write %s: neither undo nor why not", e->operation);
	}
}
END_TEST

START_TEST(readonly_views_read_like_tables)
{
	fake f = {0};
	char out[512] = "", err[1024] = "";
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	lua_State *L = sandbox_lua(sb);
	ck_assert_int_eq(luaL_dostring(L, "return { id = 'f-1', list = { 10, 20, 30 }, "
					  "nested = { deep = { x = 1 } } }"), LUA_OK);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "self"); /* a cycle */
	sandbox_make_readonly(sb, -1);
	lua_setglobal(L, "finding");
	ck_assert_int_eq(run(sb,
		"local n, sum = 0, 0\n"
		"for k in pairs(finding) do n = n + 1 end\n"
		"for _, v in ipairs(finding.list) do sum = sum + v end\n"
		"local function fails(f) return not pcall(f) end\n"
		"return table.concat({ finding.id, n, sum, #finding.list, finding.nested.deep.x,\n"
		"  tostring(finding.self.self == finding),\n"
		"  tostring(fails(function() finding.id = 1 end)),\n"
		"  tostring(fails(function() finding.nested.deep.x = 2 end)),\n"
		"  tostring(fails(function() rawset(finding.list, 4, 1) end)),\n"
		"  tostring(fails(function() setmetatable(finding, nil) end)),\n"
		"  tostring(fails(function() table.insert(finding.list, 40) end)),\n"
		"  tostring(rawget(finding, 'id')), tostring(getmetatable(finding)),\n"
		"  table.concat(finding.list, ','), json.encode(finding.nested) }, ' ')",
		out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "f-1 4 60 3 1 true true true true true true nil false 10,20,30 "
			      "{\"deep\":{\"x\":1}}");
	sandbox_free(sb);
}
END_TEST

START_TEST(json_encodes_decodes_and_refuses_the_unbounded)
{
	expect_result("local t = json.decode('{\"a\":[1,2,{\"b\":null}],\"s\":\"x\\\\/y\"}')\n"
		      "return tostring(t.a[3].b == json.null) .. t.s .. #t.a .. "
		      "json.encode({ 1, 2, 3 }) .. json.encode('a\"b')",
		      "truex/y3[1,2,3]\"a\\\"b\"");
	expect_error("return json.encode({ f = print })", "cannot take a function value");
	expect_error("local t = {} t.t = t return json.encode(t)", "nested too deep");
	expect_error("return json.decode(string.rep('[', 100) .. string.rep(']', 100))", "too many nested");
	expect_error("return json.encode(0/0)", "Cannot serialise");
	expect_error("return json.decode(string.rep(' ', 3 << 20))", "document too large");
	expect_error("return json.decode('{')", "Expected");
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void make_playbook_dir(char *dir, size_t len)
{
	char sub[600];
	snprintf(dir, len, "/tmp/test_sandbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/lib", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file(dir, "helper.lua", "loads = (loads or 0) + 1\n"
				      "return { upper = function(s) return s:upper() end }\n");
	write_file(dir, "lib/tags.lua", "return { key = 'deadbolt:' .. ... }\n");
	write_file(dir, "ec2.lua", "local h = require 'helper'\n"
				   "return { name = h.upper('ec2'), steps = {} }\n");
	write_file(dir, "broken.lua", "return {\n");
}

static void remove_playbook_dir(const char *dir)
{
	static const char *const files[] = {"helper.lua", "lib/tags.lua", "ec2.lua", "broken.lua"};
	char path[600];
	size_t i;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/lib", dir);
	rmdir(path);
	rmdir(dir);
}

START_TEST(require_loads_playbook_modules_once)
{
	fake f = {0};
	char dir[64], out[256] = "", err[1024] = "";
	sandbox *sb;
	make_playbook_dir(dir, sizeof(dir));
	sb = new_sandbox(NULL, &f, dir);
	ck_assert_int_eq(run(sb,
		"local a, b = require 'helper', require('helper')\n"
		"return tostring(a == b) .. loads .. a.upper('x') .. require('lib.tags').key",
		out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "true1Xdeadbolt:lib.tags");
	ck_assert_int_eq(run(sb, "require 'broken'", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "broken.lua:2:"), "%s", err);
	ck_assert_int_eq(run(sb, "require 'Helper'", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_ERROR);
	ck_assert_int_eq(run(sb, "require 'lib..tags'", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_ERROR);
	ck_assert_int_eq(run(sb, "require '/etc/passwd'", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_ERROR);
	sandbox_free(sb);
	remove_playbook_dir(dir);
}
END_TEST

START_TEST(load_playbook_runs_a_named_file_only)
{
	fake f = {0};
	char dir[64], err[1024] = "";
	sandbox *sb;
	lua_State *L;
	make_playbook_dir(dir, sizeof(dir));
	sb = new_sandbox(NULL, &f, dir);
	L = sandbox_lua(sb);
	ck_assert_int_eq(sandbox_load_playbook(sb, "ec2.lua", err, sizeof(err)), SANDBOX_OK);
	ck_assert_int_eq(lua_getfield(L, -1, "name"), LUA_TSTRING);
	ck_assert_str_eq(lua_tostring(L, -1), "EC2");
	lua_pop(L, 2);
	ck_assert_int_eq(sandbox_load_playbook(sb, "../ec2.lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, "..lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, ".lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, "/etc/x.lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, "helper", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, "lib/tags.lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(sandbox_load_playbook(sb, "missing.lua", err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_int_eq(lua_gettop(L), 0);
	sandbox_free(sb);
	remove_playbook_dir(dir);
}
END_TEST

START_TEST(hash_and_base64_match_known_vectors)
{
	/* FIPS 180-4's examples; RFC 4648 section 10 */
	expect_result("return hash.sha256('')",
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_result("return hash.sha256('abc')",
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_result("return hash.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')",
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	expect_result("return hash.sha256(string.rep('a', 1000000))",
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	expect_result("local r = hash.sha256_raw('abc') return #r .. base64.encode(r)",
		      "32ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	expect_result("local t = {} for _, s in ipairs { '', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar' } do "
		      "t[#t + 1] = base64.encode(s) .. '=' .. base64.decode(base64.encode(s)) end "
		      "return table.concat(t, ',')",
		      "=,Zg===f,Zm8==fo,Zm9v=foo,Zm9vYg===foob,Zm9vYmE==fooba,Zm9vYmFy=foobar");
}
END_TEST

START_TEST(base64_round_trips_and_says_what_is_wrong)
{
	expect_result("local bad = 0 for n = 0, 130 do local t = {} "
		      "for i = 1, n do t[i] = string.char((i * 7 + n) % 256) end "
		      "local s = table.concat(t) local e = base64.encode(s) "
		      "if base64.decode(e) ~= s or base64.decode(e:gsub('(..)', '%1\\n ')) ~= s "
		      "or #e ~= (n + 2) // 3 * 4 then bad = bad + 1 end end "
		      "return bad .. base64.decode(' Zm9v\\r\\nYmFy\\t')",
		      "0foobar");
	expect_result("local t = {} for _, s in ipairs { 'Zm9', 'Zm=v', 'Zg==Zm9v', 'Zm9v!!!!', 'Z===', 'Zm9v Zg=' } do "
		      "local ok, why = base64.decode(s) t[#t + 1] = tostring(ok) .. ':' .. why end "
		      "return table.concat(t, ',')",
		      "nil:length is not a multiple of 4,nil:not base64 at character 1,"
		      "nil:not base64 at character 1,nil:not base64 at character 5,"
		      "nil:not base64 at character 1,nil:length is not a multiple of 4");
	expect_error("hash.sha256 = print", "read-only");
	expect_error("base64.decode = print", "read-only");
	expect_error("return hash.sha256({})", "bad argument #1");
}
END_TEST

START_TEST(hashing_is_charged_by_length)
{
	fake f = {0};
	char out[256] = "", err[1024] = "";
	sandbox_limits lim;
	sandbox_default_limits(&lim);
	lim.instructions = 100000;
	sandbox *sb = new_sandbox(&lim, &f, NULL);
	/* 8 MiB is 131072 units of 64 bytes: past the budget */
	sandbox_status st = run(sb, "local s = string.rep('a', 8 << 20) "
				"return pcall(hash.sha256, s)", out, sizeof(out), err, sizeof(err));
	sandbox_free(sb);
	ck_assert_msg(st == SANDBOX_BUDGET, "status %d (%s)", st, out);
	ck_assert_str_eq(err, "budget exceeded: instructions");
}
END_TEST

START_TEST(chunks_compile_once_and_keep_line_numbers)
{
	fake f = {0};
	char dir[64], path[600], out[256] = "", err[4096] = "";
	sandbox_chunks *chunks = sandbox_chunks_new();
	sandbox *sb;
	lua_State *L;
	ck_assert_ptr_nonnull(chunks);
	make_playbook_dir(dir, sizeof(dir));
	write_file(dir, "fails.lua", "local x = 1\n\nerror('line three ' .. x)\n");
	for (int round = 0; round < 3; round++) {
		if (round == 1) /* an edit after the first load: the chunks keep what they compiled */
			write_file(dir, "helper.lua", "return { upper = function() return 'edited' end }\n");
		sb = new_sandbox(NULL, &f, dir);
		L = sandbox_lua(sb);
		if (round < 2)
			sandbox_set_chunks(sb, chunks);
		ck_assert_int_eq(sandbox_load_playbook(sb, "ec2.lua", err, sizeof(err)), SANDBOX_OK);
		ck_assert_int_eq(lua_getfield(L, -1, "name"), LUA_TSTRING);
		ck_assert_str_eq(lua_tostring(L, -1), round < 2 ? "EC2" : "edited");
		lua_pop(L, 2);
		ck_assert_int_eq(sandbox_load_playbook(sb, "fails.lua", err, sizeof(err)), SANDBOX_ERROR);
		ck_assert_msg(strstr(err, "fails.lua:3: line three 1"), "round %d: %s", round, err);
		/* the compiled form is the host's: a playbook still cannot load bytecode */
		ck_assert_int_eq(run(sb, "return tostring(load('\\27Lua', 'x', 'b')) .. tostring(string.dump)",
				     out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
		ck_assert_str_eq(out, "nilnil");
		sandbox_free(sb);
	}
	sandbox_chunks_free(chunks);
	snprintf(path, sizeof(path), "%s/fails.lua", dir);
	unlink(path);
	remove_playbook_dir(dir);
}
END_TEST

/* Writes the chunks of dir's files (compiled as "/shipped/NAME") to file. */
static void ship_chunks(const char *dir, const char *file)
{
	static const char *const files[] = {"ec2.lua", "helper.lua", "fails.lua"};
	char err[1024] = "";
	FILE *f = fopen(file, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(sandbox_chunks_write(f, dir, "/shipped", files, 3, err, sizeof(err)) == 0, "%s", err);
	fclose(f);
}

/* The error fails.lua raises when loaded through chunks read from file. */
static void load_shipped(const char *dir, const char *file, const char *want_name, char *err, size_t errlen)
{
	fake f = {0};
	sandbox_chunks *chunks = sandbox_chunks_new();
	sandbox *sb;
	lua_State *L;
	ck_assert_ptr_nonnull(chunks);
	ck_assert_msg(sandbox_chunks_read(chunks, file, dir, err, errlen) == 0, "%s", err);
	sb = new_sandbox(NULL, &f, dir);
	L = sandbox_lua(sb);
	sandbox_set_chunks(sb, chunks);
	ck_assert_int_eq(sandbox_load_playbook(sb, "ec2.lua", err, errlen), SANDBOX_OK);
	ck_assert_int_eq(lua_getfield(L, -1, "name"), LUA_TSTRING);
	ck_assert_str_eq(lua_tostring(L, -1), want_name);
	lua_pop(L, 2);
	ck_assert_int_eq(sandbox_load_playbook(sb, "fails.lua", err, errlen), SANDBOX_ERROR);
	sandbox_free(sb);
	sandbox_chunks_free(chunks);
}

START_TEST(shipped_chunks_are_used_only_while_their_text_is_unchanged)
{
	char dir[64], file[600], path[600], err[4096] = "";
	sandbox_chunks *chunks;
	FILE *f;
	make_playbook_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/playbooks.chunks", dir);
	write_file(dir, "fails.lua", "local x = 1\n\nerror('line three ' .. x)\n");
	ship_chunks(dir, file);

	/* Unchanged: the shipped bytecode runs (its file name is the one it was
	 * compiled as, not the directory's). */
	load_shipped(dir, file, "EC2", err, sizeof(err));
	ck_assert_msg(strstr(err, "/shipped/fails.lua:3: line three 1"), "%s", err);

	/* Edited: each file whose text changed is compiled from its text; a
	 * stale chunk never shadows it. */
	write_file(dir, "helper.lua", "return { upper = function() return 'edited' end }\n");
	write_file(dir, "fails.lua", "local x = 2\n\nerror('line three ' .. x)\n");
	load_shipped(dir, file, "edited", err, sizeof(err));
	ck_assert_msg(strstr(err, "fails.lua:3: line three 2") && !strstr(err, "/shipped/"), "%s", err);

	/* A file that is not whole is refused whole. */
	f = fopen(file, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), 200), 0);
	fclose(f);
	chunks = sandbox_chunks_new();
	ck_assert_int_eq(sandbox_chunks_read(chunks, file, dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "malformed"), "%s", err);
	sandbox_chunks_free(chunks);

	unlink(file);
	snprintf(path, sizeof(path), "%s/fails.lua", dir);
	unlink(path);
	remove_playbook_dir(dir);
}
END_TEST

START_TEST(pcall_and_coroutines_behave_like_lua)
{
	expect_result(
		"local r = {}\n"
		"local ok, a, b = pcall(function(x) return x, 2 end, 1)\n"
		"r[#r + 1] = tostring(ok) .. a .. b\n"
		"local ok2, e = pcall(error, { code = 1 })\n"
		"r[#r + 1] = tostring(ok2) .. e.code\n"
		"local ok3, e3 = xpcall(function() error('x', 0) end, function(m) return 'handled ' .. m end)\n"
		"r[#r + 1] = tostring(ok3) .. e3\n"
		"local co = coroutine.wrap(function()\n"
		"  local ok4, v = pcall(coroutine.yield, 'y')\n"
		"  local ok5, w = xpcall(coroutine.yield, print, 'y2')\n"
		"  return tostring(ok4) .. v .. tostring(ok5) .. w end)\n"
		"r[#r + 1] = co() .. co('z') .. co('w')\n"
		"local co2 = coroutine.create(function() error('boom', 0) end)\n"
		"local ok6, e6 = coroutine.resume(co2)\n"
		"r[#r + 1] = tostring(ok6) .. e6 .. coroutine.status(co2)\n"
		"local ok7, e7 = pcall(coroutine.wrap(function() error('w', 0) end))\n"
		"r[#r + 1] = tostring(ok7) .. e7\n"
		"local ok8, e8 = coroutine.resume(coroutine.running())\n"
		"r[#r + 1] = tostring(ok8) .. e8\n"
		"return table.concat(r, ' ')",
		"true12 false1 falsehandled x yy2trueztruew falseboomdead falsew "
		"falsecannot resume non-suspended coroutine");
}
END_TEST

START_TEST(budget_hit_fails_every_later_call)
{
	fake f = {0};
	char out[64], err[256];
	sandbox_limits lim = small_limits();
	sandbox *sb = new_sandbox(&lim, &f, hostile_dir);
	double t0;
	ck_assert_ptr_null(sandbox_budget_hit(sb));
	ck_assert_int_eq(run(sb, "while true do end", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_BUDGET);
	t0 = mono();
	ck_assert_int_eq(run(sb, "return 1", out, sizeof(out), err, sizeof(err)), SANDBOX_BUDGET);
	ck_assert_str_eq(err, "budget exceeded: instructions");
	ck_assert_str_eq(sandbox_budget_hit(sb), "instructions");
	ck_assert_int_eq(lua_gettop(sandbox_lua(sb)), 0);
	ck_assert(mono() - t0 < 0.1);
	sandbox_free(sb);
}
END_TEST

START_TEST(print_and_log_reach_the_host)
{
	fake f = {0};
	char out[64], err[256];
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	ck_assert_int_eq(run(sb, "print('a', 1, nil) log('warn', 'careful') "
			     "log('error', setmetatable({}, { __tostring = function() return 'T' end })) "
			     "return pcall(log, 'loud', 'x')", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_OK);
	ck_assert_str_eq(out, "false");
	ck_assert_str_eq(f.log, "info:a\t1\tnil\nwarn:careful\nerror:T\n");
	f.log[0] = '\0';
	ck_assert_int_eq(run(sb, "local t = {} for i = 1, 300 do t[i] = i end "
			     "print(table.unpack(t)) return 1", out, sizeof(out), err, sizeof(err)),
			 SANDBOX_OK);
	ck_assert_msg(strncmp(f.log, "info:1\t2\t3\t", 11) == 0 && strstr(f.log, "\t299\t300\n"),
		      "%s", f.log);
	sandbox_free(sb);
}
END_TEST

START_TEST(now_sleep_and_os_time)
{
	double t0 = mono();
	expect_result("return tostring(now():match('^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$') ~= nil) "
		      ".. tostring(os.time() > 1.7e9) .. os.date('!%Y', 0) .. type(os.clock())",
		      "truetrue1970number");
	expect_result("sleep(0.05) return 'slept'", "slept");
	ck_assert(mono() - t0 >= 0.05);
	expect_error("sleep(31)", "between 0 and 30");
	expect_error("sleep(-1)", "between 0 and 30");
	expect_error("os.date('%Ez')", "invalid conversion specifier");
}
END_TEST

START_TEST(load_compiles_text_with_a_given_env)
{
	expect_result("local f = load('return a + 1', 'chunk', 't', { a = 41 }) return f()", "42");
	expect_result("local f, e = load('return +') return e", "[string \"return +\"]:1: "
		      "unexpected symbol near '+'");
	expect_result("return select('#', load('return 1', 'x', 'b'))", "2");
}
END_TEST

START_TEST(tiny_memory_cap_fails_cleanly)
{
	char err[256] = "";
	sandbox_limits lim;
	sandbox_default_limits(&lim);
	lim.memory_bytes = 8 << 10;
	ck_assert_ptr_null(sandbox_new(&lim, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(err[0] != '\0', "no reason given");
}
END_TEST

START_TEST(deadline_is_wall_seconds_from_now)
{
	fake f = {0};
	sandbox_limits lim = small_limits();
	double t0 = mono();
	sandbox *sb = new_sandbox(&lim, &f, hostile_dir);
	ck_assert(sandbox_deadline(sb) >= t0 + 1.0 && sandbox_deadline(sb) < mono() + 1.0 + 0.01);
	sandbox_free(sb);
}
END_TEST

/* ---- patterns: the sandbox's matcher against Lua's own ---- */

/* Runs the case in L, catching errors; pushes a text of every result. */
static const char case_runner[] =
	"local fn, s, p, a, b = ...\n"
	"local function show(...)\n"
	"  local t = table.pack(...)\n"
	"  for i = 1, t.n do t[i] = type(t[i]) .. ':' .. tostring(t[i]) end\n"
	"  return table.concat(t, ' ', 1, t.n)\n"
	"end\n"
	"local function go()\n"
	"  if fn == 'gmatch' then\n"
	"    local out = {}\n"
	"    for x, y in string.gmatch(s, p, a) do out[#out + 1] = show(x, y) end\n"
	"    return table.concat(out, ';')\n"
	"  elseif fn == 'gsubf' then\n"
	"    return show(string.gsub(s, p, function(...) return show(...) end, a))\n"
	"  elseif fn == 'gsubt' then\n"
	"    return show(string.gsub(s, p, { a = 'A', b = false, ['1'] = 'one' }, a))\n"
	"  end\n"
	"  return show(string[fn](s, p, a, b))\n"
	"end\n"
	"local ok, r = pcall(go)\n"
	"return (ok and 'ok ' or 'error ') .. tostring(r)\n";

typedef struct pcase {
	const char *fn, *s, *p, *a, *b; /* a, b: Lua expressions or NULL */
	size_t slen, plen;               /* literals may hold '\0' */
} pcase;

#define CASE(fn, s, p, a, b) {fn, s, p, a, b, sizeof(s) - 1, sizeof(p) - 1}

static const pcase pcases[] = {
	CASE("find", "hello world", "o w", NULL, NULL),
	CASE("find", "hello world", "l+", NULL, NULL),
	CASE("find", "hello world", "o", "6", NULL),
	CASE("find", "hello world", "o", "-3", NULL),
	CASE("find", "hello world", "o", "-30", NULL),
	CASE("find", "hello world", "o", "30", NULL),
	CASE("find", "hello", "", "6", NULL),
	CASE("find", "hello", "", "7", NULL),
	CASE("find", "a.b", ".", "1", "true"),
	CASE("find", "a+b", "+", "1", "true"),
	CASE("find", "a\0b\0c", "b\0c", NULL, NULL),
	CASE("find", "a\0b\0c", "\0c", NULL, NULL),
	CASE("match", "a\0b\0c", "%z(.)", NULL, NULL),
	CASE("match", "a\0b\0c", "[\0]+", NULL, NULL),
	CASE("find", "key=value", "(%w+)=(%w+)", NULL, NULL),
	CASE("find", "abc", "()b()", NULL, NULL),
	CASE("match", "  trim me  ", "^%s*(.-)%s*$", NULL, NULL),
	CASE("match", "arn:aws:iam::123456789012:user/alice", "^arn:([^:]*):iam::(%d+):user/(.+)$", NULL, NULL),
	CASE("match", "2026-11-27T19:04:05Z", "^(%d%d%d%d)%-(%d%d)%-(%d%d)T", NULL, NULL),
	CASE("match", "hello", "^(h)(e)(l)(l)(o)$", NULL, NULL),
	CASE("match", "xyz", "^abc", NULL, NULL),
	CASE("match", "abc", "b", "-1", NULL),
	CASE("match", "THE (quick) fox", "%((%a+)%)", NULL, NULL),
	CASE("match", "f(a(b)c)d", "%b()", NULL, NULL),
	CASE("match", "f(a(b c)d", "%b()", NULL, NULL),
	CASE("match", "THE (quick) fox", "%f[%a]%a+%f[%A]", NULL, NULL),
	CASE("match", "hello world", "%f[%w]%w+$", NULL, NULL),
	CASE("match", "abcabc", "(abc)%1", NULL, NULL),
	CASE("match", "abcabd", "(abc)%1", NULL, NULL),
	CASE("match", "[]]x", "[]]+", NULL, NULL),
	CASE("match", "a]^b", "[^]a]+", NULL, NULL),
	CASE("match", "a-z", "[a%-z]+", NULL, NULL),
	CASE("match", "q1-9", "[%d-]+", NULL, NULL),
	CASE("match", "m-z", "[z-]+", NULL, NULL),
	CASE("match", "aXb", "%u", NULL, NULL),
	CASE("match", "aXb1 \t!", "[%l%d%s%p]+$", NULL, NULL),
	CASE("match", "\x01\x7f\xff", "%c+", NULL, NULL),
	CASE("match", "0xFFg", "%x+", NULL, NULL),
	CASE("match", "ab$cd", "b$c", NULL, NULL),
	CASE("match", "abc", "c$", NULL, NULL),
	CASE("match", "abc", "^$", NULL, NULL),
	CASE("match", "", "^$", NULL, NULL),
	CASE("match", "aaa", "a-b", NULL, NULL),
	CASE("match", "aaab", "a-b", NULL, NULL),
	CASE("match", "ab", "a?b?c?", NULL, NULL),
	CASE("match", "<<a>>", "<(.*)>", NULL, NULL),
	CASE("match", "<<a>>", "<(.-)>", NULL, NULL),
	CASE("match", "x", "()", NULL, NULL),
	CASE("match", "hello", "(h)(e)(l)(l)(o)(x?)", NULL, NULL),
	CASE("match", "a.b", "%.", NULL, NULL),
	CASE("match", "abc", "%", NULL, NULL),
	CASE("match", "abc", "[a", NULL, NULL),
	CASE("match", "abc", "[a%", NULL, NULL),
	CASE("match", "abc", "%b", NULL, NULL),
	CASE("match", "abc", "%bx", NULL, NULL),
	CASE("match", "abc", "%fa", NULL, NULL),
	CASE("match", "abc", "(a", NULL, NULL),
	CASE("match", "abc", "a)", NULL, NULL),
	CASE("match", "abc", "%1", NULL, NULL),
	CASE("match", "abc", "(a%1)", NULL, NULL),
	CASE("match", "abc", "%0", NULL, NULL),
	CASE("match", "abc", "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))", NULL, NULL),
	CASE("gmatch", "one two  three", "%a+", NULL, NULL),
	CASE("gmatch", "k1=v1, k2=v2", "(%w+)=(%w+)", NULL, NULL),
	CASE("gmatch", "abc", "", NULL, NULL),
	CASE("gmatch", "abc", "x*", NULL, NULL),
	CASE("gmatch", "^a^a", "^a", NULL, NULL),
	CASE("gmatch", "hello world", "%a+", "3", NULL),
	CASE("gmatch", "hello", "()l", NULL, NULL),
	CASE("gsub", "hello world", "o", "'0'", NULL),
	CASE("gsub", "hello world", "(o)", "'[%1%0%%]'", NULL),
	CASE("gsub", "hello world", "o", "'x'", "1"),
	CASE("gsub", "hello", "", "'-'", NULL),
	CASE("gsub", "abc", "x*", "'-'", NULL),
	CASE("gsub", "abc", "^a", "'X'", NULL),
	CASE("gsub", "aaa", "^a", "'X'", NULL),
	CASE("gsub", "hello", "l", "'%2'", NULL),
	CASE("gsub", "hello", "l", "'%x'", NULL),
	CASE("gsub", "hello", "l", "'%'", NULL),
	CASE("gsub", "hello", "l", "'%1'", NULL),
	CASE("gsub", "hello", "()l", "'%1'", NULL),
	CASE("gsub", "abc", "%w", "7", NULL),
	CASE("gsub", "abc", "%w", "true", NULL),
	CASE("gsubf", "a=1, b=2", "(%w+)=(%w+)", NULL, NULL),
	CASE("gsubf", "abc", "()b()", NULL, NULL),
	CASE("gsubt", "a b c 1", "%w", NULL, NULL),
	CASE("gsubt", "a b c", "(%w)", "2", NULL),
};

static void push_case_args(lua_State *L, const pcase *c)
{
	lua_pushstring(L, c->fn);
	lua_pushlstring(L, c->s, c->slen);
	lua_pushlstring(L, c->p, c->plen);
}

/* a and b are Lua expressions, evaluated in L ("'x'", "3", "true"). */
static void push_expr(lua_State *L, const char *expr)
{
	char src[256];
	if (!expr) {
		lua_pushnil(L);
		return;
	}
	snprintf(src, sizeof(src), "return %s", expr);
	luaL_loadstring(L, src);
	lua_call(L, 0, 1);
}

static void run_case(lua_State *L, const pcase *c, char *out, size_t len)
{
	int top = lua_gettop(L);
	ck_assert_int_eq(luaL_loadstring(L, case_runner), LUA_OK);
	push_case_args(L, c);
	push_expr(L, c->a);
	push_expr(L, c->b);
	if (lua_pcall(L, 5, 1, 0) != LUA_OK)
		snprintf(out, len, "host error %s", lua_tostring(L, -1));
	else
		snprintf(out, len, "%s", lua_tostring(L, -1));
	lua_settop(L, top);
}

START_TEST(patterns_match_lua_case_by_case)
{
	fake f = {0};
	char ours[1024], lua[1024];
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	lua_State *ref = luaL_newstate();
	size_t i;
	luaL_openlibs(ref);
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		run_case(ref, &pcases[i], lua, sizeof(lua));
		run_case(sandbox_lua(sb), &pcases[i], ours, sizeof(ours));
		ck_assert_msg(strcmp(ours, lua) == 0, "%s('%s', '%s'):\n  ours %s\n  Lua's %s",
			      pcases[i].fn, pcases[i].s, pcases[i].p, ours, lua);
	}
	lua_close(ref);
	sandbox_free(sb);
}
END_TEST

/* Random patterns over a small alphabet of items, on short subjects: a
 * fixed-seed differential test of the whole pattern language. */
static unsigned next_rand(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

static void random_case(unsigned *seed, char *s, char *p, size_t len)
{
	static const char *const items[] = {
		"a", "b", ".", "%a", "%d", "[ab]", "[^a]", "[a-c]", "*", "+", "-", "?", "(", ")",
		"()", "%1", "%b()", "%f[%a]", "^", "$", "%", "]", "(a*)", "%s",
	};
	static const char subject_chars[] = "ab(1) a";
	size_t i, n = 1 + next_rand(seed) % 6, m = next_rand(seed) % 12;
	p[0] = '\0';
	for (i = 0; i < n && strlen(p) + 8 < len; i++)
		snprintf(p + strlen(p), len - strlen(p), "%s",
			 items[next_rand(seed) % (sizeof(items) / sizeof(items[0]))]);
	for (i = 0; i < m; i++)
		s[i] = subject_chars[next_rand(seed) % (sizeof(subject_chars) - 1)];
	s[m] = '\0';
}

START_TEST(patterns_match_lua_on_random_cases)
{
	static const char *const fns[] = {"find", "match", "gmatch", "gsub", "gsubf"};
	fake f = {0};
	char ours[2048], lua[2048], s[32], p[96];
	sandbox *sb = new_sandbox(NULL, &f, hostile_dir);
	lua_State *ref = luaL_newstate();
	unsigned seed = 20261127;
	int i;
	luaL_openlibs(ref);
	for (i = 0; i < 4000; i++) {
		pcase c = {fns[i % 5], s, p, i % 5 == 3 ? "'<%0>'" : NULL, NULL, 0, 0};
		random_case(&seed, s, p, sizeof(p));
		c.slen = strlen(s);
		c.plen = strlen(p);
		run_case(ref, &c, lua, sizeof(lua));
		run_case(sandbox_lua(sb), &c, ours, sizeof(ours));
		ck_assert_msg(strcmp(ours, lua) == 0, "%s('%s', '%s'):\n  ours %s\n  Lua's %s", c.fn,
			      s, p, ours, lua);
	}
	lua_close(ref);
	sandbox_free(sb);
}
END_TEST

/* ---- the suite ---- */

static void find_hostile_dir(void)
{
	const char *env = getenv("DEADBOLT_HOSTILE_DIR");
	char *cut;
	if (env) {
		snprintf(hostile_dir, sizeof(hostile_dir), "%s", env);
		return;
	}
	/* __FILE__ is .../tests/unit/test_sandbox.c */
	snprintf(hostile_dir, sizeof(hostile_dir), "%s", __FILE__);
	cut = strstr(hostile_dir, "unit/test_sandbox.c");
	if (cut)
		snprintf(cut, sizeof(hostile_dir) - (size_t)(cut - hostile_dir), "hostile");
	else
		snprintf(hostile_dir, sizeof(hostile_dir), "tests/hostile");
}

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tricks = tcase_create("hostile");
	TCase *use = tcase_create("use");

	tcase_set_timeout(tricks, 60);
	tcase_set_timeout(use, 30);
	tcase_add_test(tricks, escape_through_globals_finds_nothing);
	tcase_add_test(tricks, bytecode_cannot_be_loaded);
	tcase_add_test(tricks, load_without_env_sees_no_globals);
	tcase_add_test(tricks, protected_metatables_cannot_be_changed);
	tcase_add_test(tricks, rawset_cannot_write_readonly_tables);
	tcase_add_test(tricks, os_exit_and_friends_are_missing);
	tcase_add_test(tricks, require_cannot_leave_playbook_dir);
	tcase_add_test(tricks, require_cannot_load_stdlib);
	tcase_add_test(tricks, collectgarbage_cannot_stop_collector);
	tcase_add_test(tricks, collectgarbage_cannot_drive_collections);
	tcase_add_test(tricks, error_object_tostring_never_runs_in_host);
	tcase_add_test(tricks, gc_finalizer_is_refused);
	tcase_add_test(tricks, gc_finalizer_added_late_never_runs);
	tcase_add_test(tricks, infinite_loop_ends_by_instruction_budget);
	tcase_add_test(tricks, loop_in_pcall_is_not_swallowed);
	tcase_add_test(tricks, loop_in_xpcall_handler_is_not_swallowed);
	tcase_add_test(tricks, close_handler_cannot_outlive_budget);
	tcase_add_test(tricks, coroutine_loop_is_not_swallowed_by_resume);
	tcase_add_test(tricks, coroutine_wrap_loop_is_not_swallowed);
	tcase_add_test(tricks, coroutine_out_of_memory_is_not_swallowed);
	tcase_add_test(tricks, deep_recursion_ends_with_stack_overflow);
	tcase_add_test(tricks, deep_recursion_ends_by_memory_cap);
	tcase_add_test(tricks, c_stack_recursion_ends);
	tcase_add_test(tricks, string_rep_bomb_hits_memory_cap);
	tcase_add_test(tricks, empty_string_rep_returns_at_once);
	tcase_add_test(tricks, table_bomb_hits_memory_cap);
	tcase_add_test(tricks, concat_with_c_index_is_charged);
	tcase_add_test(tricks, c_len_bomb_is_charged);
	tcase_add_test(tricks, table_move_bomb_is_charged);
	tcase_add_test(tricks, pattern_backtracking_ends_by_instruction_budget);
	tcase_add_test(tricks, pattern_backtracking_ends_by_wall_clock);
	tcase_add_test(tricks, plain_find_bomb_is_charged);
	tcase_add_test(tricks, sleep_ends_at_the_deadline);
	tcase_add_test(tricks, json_of_shared_tables_is_bounded);
	tcase_add_test(tricks, aws_call_loop_ends_by_call_budget);
	tcase_add_test(tricks, long_string_comparisons_are_charged);
	tcase_add_test(tricks, host_pattern_find_is_metered);
	tcase_add_test(tricks, nested_coroutine_close_does_not_crash);
	tcase_add_test(tricks, allocating_calls_are_charged_by_the_byte);
	tcase_add_test(tricks, load_is_charged_by_the_byte);
	tcase_add_test(tricks, format_and_concat_are_charged_by_the_byte);
	tcase_add_test(tricks, scans_that_allocate_nothing_are_charged);
	tcase_add_test(tricks, sort_of_long_strings_is_charged);
	tcase_add_test(tricks, log_flood_is_charged);
	tcase_add_test(tricks, json_encode_of_shared_tables_is_charged);
	suite_add_tcase(s, tricks);

	tcase_add_test(use, playbook_computes_and_calls_a_primitive);
	tcase_add_test(use, primitive_gets_plain_copy_of_readonly_view);
	tcase_add_test(use, aws_error_is_raised_with_fields);
	tcase_add_test(use, call_budget_counts_calls);
	tcase_add_test(use, unlisted_operations_do_not_exist);
	tcase_add_test(use, service_tables_are_readonly);
	tcase_add_test(use, primitive_misuse_raises);
	tcase_add_test(use, every_allowlist_entry_has_its_boto3_name);
	tcase_add_test(use, snake_names_match_botocore);
	tcase_add_test(use, allowlist_writes_say_how_to_undo);
	tcase_add_test(use, readonly_views_read_like_tables);
	tcase_add_test(use, json_encodes_decodes_and_refuses_the_unbounded);
	tcase_add_test(use, require_loads_playbook_modules_once);
	tcase_add_test(use, load_playbook_runs_a_named_file_only);
	tcase_add_test(use, chunks_compile_once_and_keep_line_numbers);
	tcase_add_test(use, shipped_chunks_are_used_only_while_their_text_is_unchanged);
	tcase_add_test(use, hash_and_base64_match_known_vectors);
	tcase_add_test(use, base64_round_trips_and_says_what_is_wrong);
	tcase_add_test(use, hashing_is_charged_by_length);
	tcase_add_test(use, pcall_and_coroutines_behave_like_lua);
	tcase_add_test(use, budget_hit_fails_every_later_call);
	tcase_add_test(use, print_and_log_reach_the_host);
	tcase_add_test(use, now_sleep_and_os_time);
	tcase_add_test(use, load_compiles_text_with_a_given_env);
	tcase_add_test(use, tiny_memory_cap_fails_cleanly);
	tcase_add_test(use, deadline_is_wall_seconds_from_now);
	tcase_add_test(use, patterns_match_lua_case_by_case);
	tcase_add_test(use, patterns_match_lua_on_random_cases);
	suite_add_tcase(s, use);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;
	find_hostile_dir();
	sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
