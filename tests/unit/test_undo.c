/* test_undo — engine/run/undo.lua as compiled in (UNDO_LUA): every write of
 * the allow-list that names an undo has an undo builder and no other write
 * does; the state before comes from the run's own reads; two writes to one
 * thing collapse to the earliest before-state and the latest after-state;
 * a write with nothing read before gets no undo, and says so. */
#include <check.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "allowlist.h"
#include "testutil.h"
#include "undo.h"

static lua_State *module_state(void)
{
	lua_State *L = luaL_newstate();
	ck_assert_ptr_nonnull(L);
	luaL_openlibs(L);
	luaL_requiref(L, "cjson", luaopen_cjson, 1);
	lua_pop(L, 1);
	ck_assert_msg(undo_load(L) == 0, "%s", lua_tostring(L, -1));
	lua_setglobal(L, "undo");
	return L;
}

static void run_lua(lua_State *L, const char *code)
{
	ck_assert_msg(luaL_dostring(L, code) == LUA_OK, "%s", lua_tostring(L, -1));
}

START_TEST(test_every_undo_of_the_allow_list_has_a_builder)
{
	lua_State *L = module_state();
	run_lua(L, "ops = {} for _, op in ipairs(undo.builder_ops()) do ops[op] = true end");
	lua_getglobal(L, "ops");
	int ops = lua_gettop(L);
	size_t with_undo = 0;
	for (size_t i = 0; i < allowlist_count(); i++) {
		const allow_entry *e = allowlist_at(i);
		char name[160];
		snprintf(name, sizeof(name), "%s.%s", e->service, e->operation);
		lua_getfield(L, ops, name);
		int has = lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (e->access == ALLOW_WRITE && e->undo) {
			with_undo++;
			ck_assert_msg(has, "%s names the undo %s but has no undo builder", name, e->undo);
		} else {
			ck_assert_msg(!has, "%s has an undo builder but the allow-list names no undo", name);
		}
	}
	run_lua(L, "return #undo.builder_ops()");
	ck_assert_int_eq((size_t)lua_tointeger(L, -1), with_undo);
	lua_close(L);
}
END_TEST

/* The two-step ENI move: the groups read first, two writes, one change. */
START_TEST(test_two_writes_collapse_to_the_first_state)
{
	lua_State *L = module_state();
	run_lua(L,
		"local json = require('cjson')\n"
		"local function obs(op, access, p, r, err)\n"
		"  return undo.observe('run-1', op, access, json.encode(p), r and json.encode(r), err)\n"
		"end\n"
		"obs('ec2.DescribeNetworkInterfaces', 'read', {}, { NetworkInterfaces = {\n"
		"  { NetworkInterfaceId = 'eni-1', Groups = { { GroupId = 'sg-b' }, { GroupId = 'sg-a' } } } } })\n"
		"local recs = {}\n"
		"for _, g in ipairs({ 'sg-untrack', 'sg-isolation' }) do\n"
		"  for _, s in ipairs(obs('ec2.ModifyNetworkInterfaceAttribute', 'write',\n"
		"      { NetworkInterfaceId = 'eni-1', Groups = { g } }, {})) do\n"
		"    local r = json.decode(s); r.run = 'run-1'; recs[#recs + 1] = r\n"
		"  end\n"
		"end\n"
		"assert(#recs == 2, 'one record a write')\n"
		"assert(recs[1].source == 'read', recs[1].source)\n"
		"local plan = undo.plan(recs)\n"
		"assert(#plan == 1, 'one change')\n"
		"assert(plan[1].before[1] == 'sg-a' and plan[1].before[2] == 'sg-b', json.encode(plan[1].before))\n"
		"assert(plan[1].after[1] == 'sg-isolation', json.encode(plan[1].after))\n"
		"assert(plan[1].undo.params.Groups[1] == 'sg-a')\n");
	lua_close(L);
}
END_TEST

START_TEST(test_a_write_with_nothing_read_before_has_no_undo)
{
	lua_State *L = module_state();
	run_lua(L,
		"local json = require('cjson')\n"
		"local out = undo.observe('run-2', 'iam.UpdateAccessKey', 'write',\n"
		"  json.encode({ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Inactive' }), '{}')\n"
		"local r = json.decode(out[1])\n"
		"assert(r.source == 'none' and r.undo == nil and r.why, out[1])\n"
		"-- a new run forgets the last one's reads\n"
		"undo.observe('run-3', 'iam.ListAccessKeys', 'read', json.encode({ UserName = 'u' }),\n"
		"  json.encode({ AccessKeyMetadata = { { UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Active' } } }))\n"
		"out = undo.observe('run-3', 'iam.UpdateAccessKey', 'write',\n"
		"  json.encode({ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Inactive' }), '{}')\n"
		"r = json.decode(out[1])\n"
		"assert(r.source == 'read' and r.undo.params.Status == 'Active', out[1])\n"
		"out = undo.observe('run-4', 'iam.UpdateAccessKey', 'write',\n"
		"  json.encode({ UserName = 'u', AccessKeyId = 'AKIA1', Status = 'Inactive' }), '{}')\n"
		"assert(json.decode(out[1]).source == 'none', 'run-4 read nothing')\n");
	lua_close(L);
}
END_TEST

/* Tags: the containment's marks removed (with their value), an existing tag
 * of that key put back, tags on what the run never read (evidence) kept. */
START_TEST(test_tags_undo_only_what_was_read)
{
	lua_State *L = module_state();
	run_lua(L,
		"local json = require('cjson')\n"
		"undo.observe('run-5', 'ec2.DescribeInstances', 'read', '{}', json.encode({ Reservations = { { Instances = { {\n"
		"  InstanceId = 'i-1', Tags = { { Key = 'Name', Value = 'web' }, { Key = 'team', Value = 'a' } } } } } } }))\n"
		"local out = undo.observe('run-5', 'ec2.CreateTags', 'write', json.encode({ Resources = { 'i-1', 'snap-1' },\n"
		"  Tags = { { Key = 'deadbolt:status', Value = 'contained' }, { Key = 'team', Value = 'quarantine' } } }), '{}')\n"
		"assert(#out == 2, 'two tags of i-1, none of the snapshot: ' .. #out)\n"
		"local a, b = json.decode(out[1]), json.decode(out[2])\n"
		"assert(a.undo.op == 'ec2.DeleteTags' and a.undo.params.Tags[1].Value == 'contained', out[1])\n"
		"assert(b.undo.op == 'ec2.CreateTags' and b.undo.params.Tags[1].Value == 'a', out[2])\n");
	lua_close(L);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("undo");
	TCase *tc = tcase_create("undo");
	tcase_add_test(tc, test_every_undo_of_the_allow_list_has_a_builder);
	tcase_add_test(tc, test_two_writes_collapse_to_the_first_state);
	tcase_add_test(tc, test_a_write_with_nothing_read_before_has_no_undo);
	tcase_add_test(tc, test_tags_undo_only_what_was_read);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
