/* test_sched — aws.all and aws.each (sandbox/sched.c) over a fake
 * asynchronous host: calls overlap, results come back in order, errors are
 * collected, order keys follow a sequential run, budgets hold across the
 * coroutines, and a yield works through pcall and beside the playbook's own
 * coroutines.
 *
 * The fake host answers each started call after the delay its parameters
 * ask for ({ delay = ms, tag = "x", fail = "Code" }), so what finishes
 * first is decided by the test, not by a network. Owner: sandbox. */
#include <check.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox.h"
#include "testutil.h"

#define MAX_CALLS 64

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct call {
	double due;
	char tag[32];
	char fail[64];
	char order[SANDBOX_ORDER_MAX];
	int live;
} call;

typedef struct fake {
	call calls[MAX_CALLS];
	int ncalls;
	int sync_calls;      /* through host.call */
	int in_flight, max_in_flight;
	int cancelled;
	int begins, ends;
	char started[512];   /* tags, in start order */
	char firsts[512];    /* the tags of the calls handed over as first (sandbox_call_first) */
	sandbox *sb;
	char orders[2048];   /* "tag=order\n" in start order */
	char log[1024];
} fake;

static void get_string(lua_State *L, int t, const char *k, char *out, size_t n)
{
	lua_getfield(L, t, k);
	snprintf(out, n, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
	lua_pop(L, 1);
}

static void push_answer(lua_State *L, const char *tag)
{
	lua_createtable(L, 0, 1);
	lua_pushstring(L, tag);
	lua_setfield(L, -2, "tag");
}

static int fake_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	fake *f = ud;
	char tag[32];
	f->sync_calls++;
	get_string(L, params, "tag", tag, sizeof(tag));
	push_answer(L, tag);
	return 0;
}

static void fake_log(void *ud, const char *level, const char *msg)
{
	fake *f = ud;
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, "%s\n", msg);
}

static int fake_start(void *ud, lua_State *L, const allow_entry *e, int params, const char *order,
		      aws_error *err, void **pending)
{
	fake *f = ud;
	ck_assert_int_lt(f->ncalls, MAX_CALLS);
	call *c = &f->calls[f->ncalls++];
	get_string(L, params, "tag", c->tag, sizeof(c->tag));
	get_string(L, params, "fail", c->fail, sizeof(c->fail));
	lua_getfield(L, params, "delay");
	c->due = mono() + lua_tonumber(L, -1) / 1000.0;
	lua_pop(L, 1);
	snprintf(c->order, sizeof(c->order), "%s", order ? order : "-");
	c->live = 1;
	size_t n = strlen(f->started);
	snprintf(f->started + n, sizeof(f->started) - n, "%s ", c->tag);
	n = strlen(f->orders);
	snprintf(f->orders + n, sizeof(f->orders) - n, "%s=%s\n", c->tag, c->order);
	if (sandbox_call_first(f->sb)) {
		n = strlen(f->firsts);
		snprintf(f->firsts + n, sizeof(f->firsts) - n, "%s ", c->tag);
	}
	if (++f->in_flight > f->max_in_flight)
		f->max_in_flight = f->in_flight;
	*pending = c;
	return 0;
}

static int fake_wait(void *ud, lua_State *L, double until, void **done, aws_error *err)
{
	fake *f = ud;
	call *next = NULL;
	for (int i = 0; i < f->ncalls; i++)
		if (f->calls[i].live && (!next || f->calls[i].due < next->due))
			next = &f->calls[i];
	ck_assert_ptr_nonnull(next);
	double wake = next->due < until ? next->due : until;
	double left = wake - mono();
	if (left > 0) {
		struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
		nanosleep(&ts, NULL);
	}
	if (next->due > until)
		return 1;
	next->live = 0;
	f->in_flight--;
	*done = next;
	if (next->fail[0]) {
		aws_error_set(err, next->fail, "%s failed", next->tag);
		snprintf(err->op, sizeof(err->op), "ec2.DescribeInstances");
		return -1;
	}
	push_answer(L, next->tag);
	return 0;
}

static void fake_cancel(void *ud, void *pending)
{
	fake *f = ud;
	call *c = pending;
	c->live = 0;
	f->in_flight--;
	f->cancelled++;
}

static void fake_concurrent(void *ud, int begin)
{
	fake *f = ud;
	if (begin)
		f->begins++;
	else
		f->ends++;
}

static sandbox *new_sandbox(fake *f, const sandbox_limits *lim)
{
	char err[256] = "";
	sandbox_host host = {fake_call, fake_log, f};
	sandbox_async async = {fake_start, fake_wait, fake_cancel, fake_concurrent};
	memset(f, 0, sizeof(*f));
	sandbox *sb = sandbox_new(lim, &host, NULL, err, sizeof(err));
	ck_assert_msg(sb != NULL, "%s", err);
	sandbox_set_async(sb, &async);
	f->sb = sb;
	return sb;
}

static sandbox_limits limits(void)
{
	sandbox_limits l;
	sandbox_default_limits(&l);
	l.memory_bytes = (size_t)16 << 20;
	l.instructions = 5000000;
	l.wall_seconds = 5;
	l.aws_calls = 50;
	return l;
}

/* Runs src; its first result as a string in out (tostring'd by the chunk). */
static sandbox_status run(sandbox *sb, const char *src, char *out, size_t outlen, char *err, size_t errlen)
{
	lua_State *L = sandbox_lua(sb);
	ck_assert_msg(luaL_loadbufferx(L, src, strlen(src), "=test", "t") == LUA_OK, "%s", lua_tostring(L, -1));
	sandbox_status st = sandbox_pcall(sb, 0, 1, err, errlen);
	if (st == SANDBOX_OK) {
		snprintf(out, outlen, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)");
		lua_pop(L, 1);
	}
	return st;
}

#define CALL(tag, delay) "ec2.describe_instances{ tag = '" tag "', delay = " #delay " }"

START_TEST(calls_overlap_and_results_come_back_in_order)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[256], err[512];
	double t0 = mono();
	sandbox_status st = run(sb,
		"local r = aws.all {\n"
		"  function() return " CALL("a", 300) ".tag end,\n"
		"  function() return " CALL("b", 100) ".tag end,\n"
		"  function() return " CALL("c", 200) ".tag end,\n"
		"  function() return " CALL("d", 300) ".tag end,\n"
		"  function() return " CALL("e", 250) ".tag end,\n"
		"}\n"
		"return table.concat(r, ',')",
		out, sizeof(out), err, sizeof(err));
	double took = mono() - t0;
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "a,b,c,d,e");
	ck_assert_int_eq(f.max_in_flight, 5);
	ck_assert_msg(took < 0.5, "5 calls of at most 300 ms took %.3f s: they did not overlap", took);
	ck_assert_str_eq(f.started, "a b c d e ");
	ck_assert_int_eq(f.begins, 1);
	ck_assert_int_eq(f.ends, 1);
	ck_assert_int_eq(sandbox_calls_made(sb), 5);
	sandbox_free(sb);
}
END_TEST

START_TEST(each_runs_fn_per_item_concurrently)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[256], err[512];
	double t0 = mono();
	sandbox_status st = run(sb,
		"local r = aws.each({ 'x', 'y', 'z' }, function(v)\n"
		"  return ec2.describe_instances{ tag = v, delay = 200 }.tag .. '!'\n"
		"end)\n"
		"return table.concat(r, ',')",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "x!,y!,z!");
	ck_assert_msg(mono() - t0 < 0.35, "aws.each did not overlap");
	sandbox_free(sb);
}
END_TEST

START_TEST(errors_are_collected_after_all_are_done)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[512], err[512];
	sandbox_status st = run(sb,
		"local ok, e = pcall(aws.all, {\n"
		"  function() return " CALL("a", 50) ".tag end,\n"
		"  function() return ec2.describe_instances{ tag = 'b', delay = 10, fail = 'Boom' } end,\n"
		"  function() error('plain failure', 0) end,\n"
		"  function() return " CALL("d", 100) ".tag end,\n"
		"})\n"
		"assert(not ok)\n"
		"assert(e.failed == 2 and e.total == 4, 'counts')\n"
		"assert(e.errors[2].code == 'Boom', 'the AWS error kept as it was raised')\n"
		"assert(e.errors[3] == 'plain failure')\n"
		"assert(e.results[1] == 'a' and e.results[4] == 'd', 'the others finished')\n"
		"assert(e.errors[1] == nil and e.results[2] == nil)\n"
		"return tostring(e)",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "aws.all: 2 of 4 failed: [2] Boom: b failed (ec2.DescribeInstances); [3] plain failure");
	ck_assert_int_eq(f.ncalls, 3);
	sandbox_free(sb);
}
END_TEST

START_TEST(uncaught_aggregated_error_reads_as_its_message)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[1024];
	sandbox_status st = run(sb, "aws.all { function() error('x failed', 0) end, function() end }",
				out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "aws.all: 1 of 2 failed: [1] x failed") != NULL, "%s", err);
	sandbox_free(sb);
}
END_TEST

START_TEST(order_keys_follow_a_sequential_run)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	/* b1 is started first in time after a and b0, but a2 comes first in a
	 * sequential run: the keys say so. */
	sandbox_status st = run(sb,
		"aws.all {\n"
		"  function() " CALL("a1", 200) "; " CALL("a2", 10) " end,\n"
		"  function() " CALL("b1", 10) "; " CALL("b2", 10) " end,\n"
		"}\n"
		"return 'ok'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(f.started, "a1 b1 b2 a2 ");
	ck_assert_msg(strstr(f.orders, "a1=00000001.00000001\n") && strstr(f.orders, "a2=00000001.00000002\n") &&
			      strstr(f.orders, "b1=00000002.00000001\n") && strstr(f.orders, "b2=00000002.00000002\n"),
		      "%s", f.orders);
	sandbox_free(sb);
}
END_TEST

START_TEST(nested_all_joins_the_same_scheduler)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[128], err[512];
	double t0 = mono();
	sandbox_status st = run(sb,
		"local r = aws.all {\n"
		"  function()\n"
		"    local inner = aws.all { function() return " CALL("x", 200) ".tag end,\n"
		"                            function() return " CALL("y", 200) ".tag end }\n"
		"    return inner[1] .. inner[2] .. " CALL("z", 10) ".tag\n"
		"  end,\n"
		"  function() return " CALL("w", 200) ".tag end,\n"
		"}\n"
		"return r[1] .. ',' .. r[2]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "xyz,w");
	ck_assert_int_eq(f.max_in_flight, 3);
	ck_assert_msg(mono() - t0 < 0.35, "the nested calls did not overlap with the outer ones");
	ck_assert_msg(strstr(f.orders, "x=00000001.00000001.00000001.00000001\n") &&
			      strstr(f.orders, "z=00000001.00000002\n"),
		      "%s", f.orders);
	ck_assert_int_eq(f.begins, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(yielded_call_inside_pcall_returns_its_answer_and_error)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[128], err[512];
	sandbox_status st = run(sb,
		"local r = aws.all {\n"
		"  function()\n"
		"    local ok, v = pcall(function() return " CALL("p", 50) " end)\n"
		"    local ok2, e = pcall(ec2.describe_instances, { tag = 'q', delay = 20, fail = 'Nope' })\n"
		"    return tostring(ok) .. v.tag .. tostring(ok2) .. e.code\n"
		"  end,\n"
		"  function() return " CALL("o", 30) ".tag end,\n"
		"}\n"
		"return r[1] .. ',' .. r[2]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "truepfalseNope,o");
	ck_assert_int_eq(f.max_in_flight, 2); /* the call in pcall yielded: o overlapped */
	sandbox_free(sb);
}
END_TEST

START_TEST(coroutine_wrap_inside_all_keeps_its_own_yields)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[128], err[512];
	sandbox_status st = run(sb,
		"local r = aws.all {\n"
		"  function()\n"
		"    local gen = coroutine.wrap(function()\n"
		"      coroutine.yield(1)\n"
		"      coroutine.yield(ec2.describe_instances{ tag = 'inwrap' }.tag)\n"
		"    end)\n"
		"    return gen() .. gen()\n"
		"  end,\n"
		"  function() return " CALL("o", 30) ".tag end,\n"
		"}\n"
		"return r[1] .. ',' .. r[2]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "1inwrap,o");
	ck_assert_int_eq(f.sync_calls, 1); /* inside the playbook's own coroutine: synchronous */
	sandbox_free(sb);
}
END_TEST

START_TEST(bare_yield_in_all_fails_that_function_only)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[256], err[512];
	sandbox_status st = run(sb,
		"local ok, e = pcall(aws.all, { function() coroutine.yield('sneaky') end,\n"
		"                               function() return " CALL("o", 10) ".tag end })\n"
		"return tostring(ok) .. ' ' .. e.results[2] .. ' ' .. e.errors[1]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_msg(strncmp(out, "false o coroutine.yield in a function of aws.all", 48) == 0, "%s", out);
	sandbox_free(sb);
}
END_TEST

START_TEST(spinning_function_ends_by_the_instruction_budget)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	double t0 = mono();
	sandbox_status st = run(sb,
		"local ok = pcall(aws.all, {\n"
		"  function() return " CALL("slow", 2000) " end,\n"
		"  function() while true do end end,\n"
		"})\n"
		"return 'swallowed'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	ck_assert_str_eq(sandbox_budget_hit(sb), "instructions");
	ck_assert_msg(mono() - t0 < 1.5, "the budget did not stop the run at once");
	ck_assert_int_eq(f.cancelled, 1); /* the call in flight was abandoned */
	ck_assert_int_eq(f.ends, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(instructions_are_counted_across_coroutines)
{
	fake f;
	sandbox_limits l = limits();
	l.instructions = 3000000;
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	/* Each function alone stays under the budget; together they do not. */
	sandbox_status st = run(sb,
		"local function burn() " CALL("c", 1) "; local x = 0 for i = 1, 300000 do x = x + i end return x end\n"
		"aws.all { burn, burn, burn, burn, burn, burn, burn, burn, burn, burn }\n"
		"return 'done'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	ck_assert_str_eq(sandbox_budget_hit(sb), "instructions");
	sandbox_free(sb);
}
END_TEST

START_TEST(call_budget_is_exact_under_overlap)
{
	fake f;
	sandbox_limits l = limits();
	l.aws_calls = 3;
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	sandbox_status st = run(sb,
		"aws.each({ 1, 2, 3, 4, 5 }, function(i) ec2.describe_instances{ tag = tostring(i), delay = 50 } end)\n"
		"return 'done'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	ck_assert_str_eq(sandbox_budget_hit(sb), "aws calls");
	ck_assert_int_eq(f.ncalls, 3);
	ck_assert_int_eq(sandbox_calls_made(sb), 3);
	ck_assert_int_eq(f.cancelled, 3);
	sandbox_free(sb);
}
END_TEST

START_TEST(waiting_stops_at_the_wall_clock_budget)
{
	fake f;
	sandbox_limits l = limits();
	l.wall_seconds = 0.3;
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	double t0 = mono();
	sandbox_status st = run(sb, "aws.all { function() " CALL("late", 5000) " end } return 'x'",
				out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	ck_assert_str_eq(sandbox_budget_hit(sb), "wall clock");
	ck_assert_msg(mono() - t0 < 0.6, "waited past the deadline");
	ck_assert_int_eq(f.cancelled, 1);
	sandbox_free(sb);
}
END_TEST

START_TEST(misuse_is_refused_clearly)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[256], err[512];
	ck_assert_int_eq(run(sb, "aws.all { 1 }", out, sizeof(out), err, sizeof(err)), SANDBOX_ERROR);
	ck_assert_msg(strstr(err, "item 1 is a number, not a function"), "%s", err);
	ck_assert_int_eq(run(sb,
		"local ok, e = pcall(aws.all, { function()\n"
		"  local co = coroutine.wrap(function() aws.all { function() end } end)\n"
		"  co()\n"
		"end })\n"
		"return tostring(e.errors[1])", out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_msg(strstr(out, "aws.all cannot run here"), "%s", out);
	ck_assert_int_eq(run(sb, "return #aws.all {} == 0 and 'empty' or 'no'", out, sizeof(out), err,
			     sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "empty");
	ck_assert_int_eq(run(sb, "aws.all = nil", out, sizeof(out), err, sizeof(err)), SANDBOX_ERROR);
	sandbox_free(sb);
}
END_TEST

START_TEST(without_async_host_all_runs_in_order)
{
	fake f;
	sandbox_limits l = limits();
	char out[64], err[512];
	sandbox_host host = {fake_call, fake_log, &f};
	memset(&f, 0, sizeof(f));
	sandbox *sb = sandbox_new(&l, &host, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(sb);
	ck_assert_int_eq(run(sb,
		"local r = aws.all { function() return " CALL("a", 0) ".tag end, function() return " CALL("b", 0) ".tag end }\n"
		"return r[1] .. r[2]", out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "ab");
	ck_assert_int_eq(f.sync_calls, 2);
	sandbox_free(sb);
}
END_TEST

START_TEST(without_async_host_nested_all_runs_depth_first)
{
	fake f;
	sandbox_limits l = limits();
	char out[64], err[512];
	sandbox_host host = {fake_call, fake_log, &f};
	memset(&f, 0, sizeof(f));
	sandbox *sb = sandbox_new(&l, &host, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(sb);
	ck_assert_int_eq(run(sb,
		"local seen = {}\n"
		"aws.all {\n"
		"  function() seen[#seen+1] = 'a1'\n"
		"    aws.all { function() seen[#seen+1] = 'x' end, function() seen[#seen+1] = 'y' end }\n"
		"    seen[#seen+1] = 'a2' end,\n"
		"  function() seen[#seen+1] = 'b' end,\n"
		"}\n"
		"return table.concat(seen, ' ')", out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "a1 x y a2 b");
	sandbox_free(sb);
}
END_TEST

/* aws.first: the chain's calls are handed over as first, with those of
 * the aws.all it nests; a function marked when it runs aws.first inline is
 * marked only while fn runs; the functions marked from the start are
 * resumed first; order keys do not change. */
START_TEST(first_marks_its_calls_and_those_of_its_nested_all)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[128], err[512];
	sandbox_status st = run(sb,
		"local r = aws.all {\n"
		"  function() return " CALL("a", 50) ".tag end,\n"
		"  aws.first(function()\n"
		"    local b = " CALL("b", 50) ".tag\n"
		"    local inner = aws.all { function() return " CALL("c", 10) ".tag end,\n"
		"                            function() return " CALL("d", 10) ".tag end }\n"
		"    return b .. inner[1] .. inner[2]\n"
		"  end),\n"
		"  function()\n"
		"    local e = aws.first(function(x) return " CALL("e", 10) ".tag .. x, 'more' end)('!')\n"
		"    return e .. " CALL("f", 10) ".tag\n"
		"  end,\n"
		"}\n"
		"return r[1] .. ',' .. r[2] .. ',' .. r[3]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "a,bcd,e!f");
	ck_assert_msg(strncmp(f.started, "b a e ", 6) == 0, "the function marked first runs first: %s", f.started);
	ck_assert_str_eq(f.firsts, "b e c d ");
	ck_assert_msg(strstr(f.orders, "b=00000002.00000001\n") && strstr(f.orders, "a=00000001.00000001\n") &&
			      strstr(f.orders, "c=00000002.00000002.00000001.00000001\n"),
		      "%s", f.orders);
	sandbox_free(sb);
}
END_TEST

/* Outside aws.all, aws.first(fn) is fn: arguments, results and errors go
 * through, the call is sent as any other. */
START_TEST(first_outside_all_is_fn_itself)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[128], err[512];
	sandbox_status st = run(sb,
		"local one, two = aws.first(function(x, y) return " CALL("g", 0) ".tag .. x, y end)('1', 2)\n"
		"local ok, e = pcall(aws.first(function() error('boom', 0) end))\n"
		"local bad = pcall(aws.first, 5)\n"
		"return one .. two .. tostring(ok) .. e .. tostring(bad)",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_str_eq(out, "g12falseboomfalse");
	ck_assert_int_eq(f.sync_calls, 1);
	ck_assert_str_eq(f.firsts, "");
	sandbox_free(sb);
}
END_TEST

/* A dry run (no async host): aws.first changes nothing of the sequential
 * order. */
START_TEST(without_async_host_first_runs_in_order)
{
	fake f;
	sandbox_limits l = limits();
	char out[64], err[512];
	sandbox_host host = {fake_call, fake_log, &f};
	memset(&f, 0, sizeof(f));
	sandbox *sb = sandbox_new(&l, &host, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(sb);
	ck_assert_int_eq(run(sb,
		"local seen = {}\n"
		"aws.all {\n"
		"  function() seen[#seen+1] = 'a' end,\n"
		"  aws.first(function() seen[#seen+1] = 'b1'\n"
		"    aws.all { function() seen[#seen+1] = 'x' end, aws.first(function() seen[#seen+1] = 'y' end) }\n"
		"    seen[#seen+1] = 'b2' end),\n"
		"  function() seen[#seen+1] = 'c' end,\n"
		"}\n"
		"return table.concat(seen, ' ')", out, sizeof(out), err, sizeof(err)), SANDBOX_OK);
	ck_assert_str_eq(out, "a b1 x y b2 c");
	sandbox_free(sb);
}
END_TEST

/* A budget error inside fn is still a budget error, in or out of aws.all. */
START_TEST(first_does_not_catch_a_budget)
{
	fake f;
	sandbox_limits l = limits();
	l.instructions = 200000;
	sandbox *sb = new_sandbox(&f, &l);
	char out[64], err[512];
	sandbox_status st = run(sb,
		"pcall(aws.all, { aws.first(function() while true do end end) })\n"
		"return 'not reached'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	ck_assert_msg(strstr(err, "instructions"), "%s", err);
	sandbox_free(sb);
	sb = new_sandbox(&f, &l);
	st = run(sb,
		"pcall(aws.all, { function() pcall(aws.first(function() while true do end end)) end })\n"
		"return 'not reached'",
		out, sizeof(out), err, sizeof(err));
	ck_assert_int_eq(st, SANDBOX_BUDGET);
	sandbox_free(sb);
}
END_TEST

/* A function of aws.all waiting for its answer, resumed or closed by
 * another one, would run on with a made-up answer: refused. */
START_TEST(another_function_cannot_resume_or_close_a_waiting_one)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char out[512], err[512];
	sandbox_status st = run(sb,
		"local waiting\n"
		"local r = aws.all {\n"
		"  function() waiting = coroutine.running(); return " CALL("real", 100) ".tag end,\n"
		"  function()\n"
		"    local ok1, e1 = pcall(coroutine.resume, waiting, { tag = 'forged' })\n"
		"    local ok2, e2 = pcall(coroutine.close, waiting)\n"
		"    return tostring(ok1) .. ' ' .. tostring(ok2) .. ' ' .. e1\n"
		"  end,\n"
		"}\n"
		"return r[1] .. ' | ' .. r[2]",
		out, sizeof(out), err, sizeof(err));
	ck_assert_msg(st == SANDBOX_OK, "%s", err);
	ck_assert_msg(strncmp(out, "real | false false ", 19) == 0 && strstr(out, "runs only under aws.all"), "%s", out);
	sandbox_free(sb);
}
END_TEST

START_TEST(log_order_keys_are_given_inside_all_only)
{
	fake f;
	sandbox_limits l = limits();
	sandbox *sb = new_sandbox(&f, &l);
	char key[SANDBOX_ORDER_MAX];
	ck_assert_ptr_null(sandbox_order_key(sb, key, sizeof(key)));
	sandbox_free(sb);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("all");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, calls_overlap_and_results_come_back_in_order);
	tcase_add_test(tc, each_runs_fn_per_item_concurrently);
	tcase_add_test(tc, errors_are_collected_after_all_are_done);
	tcase_add_test(tc, uncaught_aggregated_error_reads_as_its_message);
	tcase_add_test(tc, order_keys_follow_a_sequential_run);
	tcase_add_test(tc, nested_all_joins_the_same_scheduler);
	tcase_add_test(tc, yielded_call_inside_pcall_returns_its_answer_and_error);
	tcase_add_test(tc, coroutine_wrap_inside_all_keeps_its_own_yields);
	tcase_add_test(tc, bare_yield_in_all_fails_that_function_only);
	tcase_add_test(tc, spinning_function_ends_by_the_instruction_budget);
	tcase_add_test(tc, instructions_are_counted_across_coroutines);
	tcase_add_test(tc, call_budget_is_exact_under_overlap);
	tcase_add_test(tc, waiting_stops_at_the_wall_clock_budget);
	tcase_add_test(tc, misuse_is_refused_clearly);
	tcase_add_test(tc, without_async_host_all_runs_in_order);
	tcase_add_test(tc, without_async_host_nested_all_runs_depth_first);
	tcase_add_test(tc, another_function_cannot_resume_or_close_a_waiting_one);
	tcase_add_test(tc, log_order_keys_are_given_inside_all_only);
	tcase_add_test(tc, first_marks_its_calls_and_those_of_its_nested_all);
	tcase_add_test(tc, first_outside_all_is_fn_itself);
	tcase_add_test(tc, without_async_host_first_runs_in_order);
	tcase_add_test(tc, first_does_not_catch_a_budget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
