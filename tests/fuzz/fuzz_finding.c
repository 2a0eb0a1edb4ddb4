/* fuzz_finding — the finding decoder (engine/run/finding.c) against any
 * bytes: EventBridge events, bare findings, GetFindings answers, arrays.
 *
 * What must hold: no crash, no read out of bounds, no leak; a document is
 * either refused with a reason or gives findings whose fields are
 * NUL-terminated text within their sizes; each finding copies into a
 * sandbox as ctx.finding does (a read-only view) and the journal's exact
 * writer writes that copy as JSON that parses and holds it exactly. */
#include <lauxlib.h>
#include <stdint.h>

#include "finding.h"
#include "fuzz_common.h"
#include "journal.h"
#include "sandbox.h"

static lua_State *H;

static int no_call(void *ud, lua_State *L, const allow_entry *e, int params, aws_error *err)
{
	return -1;
}

static void check_info(const finding_info *fi)
{
	FUZZ_ASSERT(memchr(fi->id, 0, sizeof(fi->id)) != NULL, "id");
	FUZZ_ASSERT(memchr(fi->type, 0, sizeof(fi->type)) != NULL, "type");
	FUZZ_ASSERT(memchr(fi->resource_type, 0, sizeof(fi->resource_type)) != NULL, "resource_type");
	FUZZ_ASSERT(memchr(fi->region, 0, sizeof(fi->region)) != NULL, "region");
	FUZZ_ASSERT(memchr(fi->account, 0, sizeof(fi->account)) != NULL, "account");
	FUZZ_ASSERT(fi->resource_type[0] != '\0', "a finding without a resource type");
}

typedef struct copy_args {
	lua_State *H;
	int idx;
	sandbox *sb;
} copy_args;

/* Protected, in the sandbox: the finding as ctx.finding has it. */
static int copy_in(lua_State *L)
{
	copy_args *a = lua_touserdata(L, 1);
	finding_copy(a->H, a->idx, L);
	sandbox_make_readonly(a->sb, -1);
	return 1;
}

/* One sandbox for many findings, made again every RENEW of them or once a
 * budget ran out. */
#define RENEW 500

static sandbox *get_sandbox(void)
{
	static sandbox *sb;
	static int uses;
	char err[256];
	if (sb && (uses++ >= RENEW || sandbox_budget_hit(sb))) {
		sandbox_free(sb);
		sb = NULL;
	}
	if (!sb) {
		sandbox_host host = {no_call, NULL, NULL};
		sandbox_limits lim;
		sandbox_default_limits(&lim);
		lim.instructions = (uint64_t)1 << 40;
		lim.wall_seconds = 1e6;
		sb = sandbox_new(&lim, &host, NULL, err, sizeof(err));
		FUZZ_ASSERT(sb != NULL, err);
		uses = 0;
	}
	return sb;
}

static void check_copy(int idx)
{
	char err[300];
	sandbox *sb = get_sandbox();
	lua_State *L = sandbox_lua(sb);
	lua_settop(L, 0);
	copy_args a = {H, idx, sb};
	lua_pushcfunction(L, copy_in);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
		buf b;
		jw w;
		buf_init(&b, (size_t)16 << 20);
		jw_init(&w, &b);
		if (jw_lua_exact(&w, L, -1, sandbox_view_data, NULL, err, sizeof(err)) == 0) {
			jt_doc *d = fuzz_parse(b.data, b.len, "jw_lua_exact of a finding");
			FUZZ_ASSERT(fuzz_same(L, -1, json_tree_root(d), 0), "a finding not written exactly");
			json_tree_free(d);
		}
		buf_free(&b);
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCCOLLECT); /* as many frees as mallocs: no leak check to run */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	if (!H)
		H = finding_state_new(0);
	FUZZ_ASSERT(H != NULL, "finding_state_new");
	int base = lua_gettop(H);
	int n = finding_decode(H, (const char *)data, size, err, sizeof(err));
	if (n < 0) {
		FUZZ_ASSERT(err[0] != '\0' && lua_gettop(H) == base, "a refusal without a reason");
	} else {
		int list = lua_gettop(H);
		for (int i = 0; i < n; i++) {
			finding_info fi;
			lua_rawgeti(H, list, i + 1);
			finding_info_get(H, lua_gettop(H), i, &fi);
			check_info(&fi);
			check_copy(lua_gettop(H));
			lua_pop(H, 1);
		}
	}
	lua_settop(H, base);
	lua_gc(H, LUA_GCCOLLECT);
	return 0;
}
