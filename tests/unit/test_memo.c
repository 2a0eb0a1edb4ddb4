/* test_memo — the answers aws.cached keeps for a document
 * (engine/run/memo.c): given again as copies, only to the same call in the
 * same scope, forgotten after a write that can change them, never older
 * than MEMO_MAX_AGE_S. */
#include <check.h>
#include <lauxlib.h>
#include <string.h>

#include "memo.h"
#include "sandbox.h"
#include "testutil.h"

#define CALL "elb.DescribeLoadBalancers {}"

static sandbox *sb;
static lua_State *L;

static void setup(void)
{
	sandbox_limits lim;
	sandbox_host host = {NULL, NULL, NULL};
	char err[256];
	sandbox_default_limits(&lim);
	sb = sandbox_new(&lim, &host, NULL, err, sizeof(err));
	ck_assert_msg(sb != NULL, "%s", err);
	L = sandbox_lua(sb);
}

static void teardown(void)
{
	sandbox_free(sb);
}

/* { LoadBalancerDescriptions = { { LoadBalancerName = name, Port = 80 } }, Ok = true } */
static void push_answer(const char *name)
{
	lua_createtable(L, 0, 2);
	lua_createtable(L, 1, 0);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, name);
	lua_setfield(L, -2, "LoadBalancerName");
	lua_pushinteger(L, 80);
	lua_setfield(L, -2, "Port");
	lua_rawseti(L, -2, 1);
	lua_setfield(L, -2, "LoadBalancerDescriptions");
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "Ok");
}

/* The first load balancer's name in the answer on top (popped), or NULL. */
static const char *first_name(char *out, size_t n)
{
	out[0] = '\0';
	if (lua_getfield(L, -1, "LoadBalancerDescriptions") == LUA_TTABLE &&
	    lua_rawgeti(L, -1, 1) == LUA_TTABLE && lua_getfield(L, -1, "LoadBalancerName") == LUA_TSTRING)
		snprintf(out, n, "%s", lua_tostring(L, -1));
	lua_settop(L, 0);
	return out[0] ? out : NULL;
}

static char scope_elb[64], scope_elbv2[64], scope_other[64];

static void scopes(void)
{
	memo_scope(scope_elb, sizeof(scope_elb), "111111111111", "us-east-1", "elb");
	memo_scope(scope_elbv2, sizeof(scope_elbv2), "111111111111", "us-east-1", "elbv2");
	memo_scope(scope_other, sizeof(scope_other), "222222222222", "us-east-1", "elb");
}

START_TEST(an_answer_is_given_again_as_a_fresh_copy)
{
	memo *m = memo_new();
	char name[64];
	scopes();
	push_answer("web");
	memo_put(m, scope_elb, CALL, 100.0, L, -1);
	lua_settop(L, 0);
	ck_assert_int_eq((int)memo_count(m), 1);
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 101.0, L), 1);
	lua_getfield(L, -1, "LoadBalancerDescriptions");
	lua_rawgeti(L, -1, 1);
	lua_getfield(L, -1, "Port");
	ck_assert(lua_isinteger(L, -1)); /* an integer stays one */
	lua_pop(L, 1);
	lua_pushstring(L, "changed"); /* the playbook changes its copy ... */
	lua_setfield(L, -2, "LoadBalancerName");
	lua_settop(L, 0);
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 101.0, L), 1);
	ck_assert_str_eq(first_name(name, sizeof(name)), "web"); /* ... not the kept one */
	memo_free(m);
}
END_TEST

START_TEST(only_the_same_call_in_the_same_scope_within_the_age)
{
	memo *m = memo_new();
	scopes();
	push_answer("web");
	memo_put(m, scope_elb, CALL, 100.0, L, -1);
	lua_settop(L, 0);
	ck_assert_int_eq(memo_get(m, scope_elb, "elb.DescribeLoadBalancers {\"Marker\":\"x\"}", 101.0, L), 0);
	ck_assert_int_eq(memo_get(m, scope_other, CALL, 101.0, L), 0); /* another account */
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 100.0 + MEMO_MAX_AGE_S + 1, L), 0);
	ck_assert_int_eq(lua_gettop(L), 0);
	memo_free(m);
}
END_TEST

START_TEST(a_write_forgets_its_service_and_what_it_changes)
{
	memo *m = memo_new();
	scopes();
	push_answer("web");
	memo_put(m, scope_elb, CALL, 100.0, L, -1);
	memo_put(m, scope_elbv2, "elbv2.DescribeTargetGroups {}", 100.0, L, -1);
	memo_put(m, scope_other, CALL, 100.0, L, -1);
	lua_settop(L, 0);
	memo_forget_after_write(m, "111111111111", "us-east-1", "ec2");
	ck_assert_int_eq((int)memo_count(m), 3);
	memo_forget_after_write(m, "111111111111", "us-east-1", "elbv2");
	ck_assert_int_eq(memo_get(m, scope_elbv2, "elbv2.DescribeTargetGroups {}", 101.0, L), 0);
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 101.0, L), 1);
	lua_settop(L, 0);
	/* DetachInstances deregisters from the group's load balancers */
	memo_forget_after_write(m, "111111111111", "us-east-1", "autoscaling");
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 101.0, L), 0);
	ck_assert_int_eq(memo_get(m, scope_other, CALL, 101.0, L), 1); /* the other account's stays */
	lua_settop(L, 0);
	ck_assert_int_eq((int)memo_count(m), 1);
	memo_clear(m);
	ck_assert_int_eq(memo_get(m, scope_other, CALL, 101.0, L), 0);
	memo_free(m);
}
END_TEST

START_TEST(what_is_not_plain_data_is_not_kept)
{
	memo *m = memo_new();
	scopes();
	push_answer("web");
	lua_pushcfunction(L, lua_gettop);
	lua_setfield(L, -2, "Fn");
	lua_pushinteger(L, 7);
	memo_put(m, scope_elb, CALL, 100.0, L, -2);
	ck_assert_int_eq(lua_gettop(L), 2); /* the caller's stack as it was */
	ck_assert_int_eq((int)lua_tointeger(L, -1), 7);
	lua_settop(L, 0);
	ck_assert_int_eq(memo_get(m, scope_elb, CALL, 101.0, L), 0);
	memo_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("memo");
	TCase *tc = tcase_create("memo");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, an_answer_is_given_again_as_a_fresh_copy);
	tcase_add_test(tc, only_the_same_call_in_the_same_scope_within_the_age);
	tcase_add_test(tc, a_write_forgets_its_service_and_what_it_changes);
	tcase_add_test(tc, what_is_not_plain_data_is_not_kept);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
